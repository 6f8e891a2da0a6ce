"""Import and export of the library file from the issue list, through kb.library_file (the same
functions as `manage.py import_library` / `export_library`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from kb import services
from kb.library_file import (
    FORMAT,
    LibraryFileError,
    library_dumps,
    library_export,
    library_import,
    library_parse,
)

MAX_FILE_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False, help_text=f"A JSON library file ({FORMAT}), as written by Export or export_library."
    )
    # After a dry run the page offers to apply exactly what was previewed, without a new upload.
    content = forms.CharField(required=False, widget=forms.HiddenInput)
    dry_run = forms.BooleanField(
        required=False, initial=True, help_text="Show what would change and write nothing."
    )
    prune = forms.BooleanField(
        required=False,
        label="Retire what the file no longer names",
        help_text="Issues, responses and examples missing from the file are retired (never deleted).",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise forms.ValidationError(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
            cleaned["raw"] = upload.read()
        elif cleaned.get("content"):
            cleaned["raw"] = cleaned["content"].encode("utf-8")
        else:
            raise forms.ValidationError("Choose a library file to import.")
        return cleaned


def can_import(request: HttpRequest) -> bool:
    # A file can approve responses, so importing takes an editor (library_import checks it too).
    return services.can_approve(request.user)


def import_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not can_import(request):
        raise PermissionDenied
    context: dict[str, Any] = {}
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            context = _run_import(model_admin, request, form.cleaned_data)
            form = ImportForm(initial={"dry_run": True, "prune": form.cleaned_data["prune"]})
    else:
        form = ImportForm()
    context.update(
        model_admin.admin_site.each_context(request),
        title="Import library",
        form=form,
        opts=model_admin.model._meta,
        media=model_admin.media + form.media,
    )
    return TemplateResponse(request, "admin/kb/issue/import_library.html", context)


def _run_import(model_admin: admin.ModelAdmin, request: HttpRequest, data: dict[str, Any]) -> dict[str, Any]:
    dry_run, prune = data["dry_run"], data["prune"]
    try:
        report = library_import(
            data=library_parse(data["raw"]), prune=prune, dry_run=dry_run, user=request.user
        )
    except LibraryFileError as exc:
        model_admin.message_user(request, "The file was not imported; nothing changed.", messages.ERROR)
        return {"import_errors": exc.errors}
    except PermissionDenied as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return {}
    lines = report.summary().splitlines()
    if not dry_run:
        model_admin.message_user(request, lines[0], messages.SUCCESS)
    return {
        "report": report,
        "report_title": lines[0],
        "report_lines": [_change_line(line.strip()) for line in lines[1:]],
        "prune": prune,
        "apply_content": _resendable(data["raw"]) if dry_run and report.changed else None,
    }


def _resendable(raw: bytes) -> str | None:
    """The file as text to post back with "Apply these changes", if it fits in an ordinary form post."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return text if limit is None or len(raw) < limit - 10_000 else None


def _change_line(line: str) -> dict[str, str]:
    kind = {"+": "add", "~": "change", "-": "remove"}.get(line[:1], "other")
    return {"kind": kind, "text": line}


def export_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    response = HttpResponse(library_dumps(library_export()), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="careline-library-{timezone.localdate():%Y%m%d}.json"'
    )
    return response
