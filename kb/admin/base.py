"""What every library admin shares: forms validated by the services, writes made by the services,
history with a revert that goes through them too, and no hard deletes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from simple_history.admin import SimpleHistoryAdmin

from kb.admin.history import ReadableHistory
from kb.models import Brand, Issue
from kb.rendering import SAMPLE_CONTEXT, RenderedReply, render_reply
from kb.selectors import brand_of, brands_served_by, may_edit_for, served_rows
from kb.services import StaleVersion

ADMIN_CSS = "kb/admin.css"


class ServiceRefused(Exception):
    """A service refused a write the form had already accepted (a race, or an edge the dry run
    could not see). Raised out of the admin's transaction so everything rolls back."""

    def __init__(self, error: ValidationError | PermissionDenied) -> None:
        self.error = error
        super().__init__(str(error))


class _DryRun(Exception):
    pass


def dry_run(write: Callable[[], object]) -> None:
    """Run a service write and roll it back: the service is the validation, nothing is kept."""
    try:
        with transaction.atomic():
            write()
            raise _DryRun
    except _DryRun:
        pass


def form_problems(form: forms.Form) -> str:
    """A bound, invalid form's errors as one line naming each field: "channel: Select a valid…"."""
    return "; ".join(
        f"{field}: {' '.join(item['message'] for item in errors)}"
        for field, errors in form.errors.get_json_data().items()
    )


def error_lines(error: ValidationError | PermissionDenied) -> list[str]:
    if isinstance(error, PermissionDenied):
        return [str(error) or "Permission denied."]
    return list(error.messages)


def report_outcome(
    request: HttpRequest, modeladmin: admin.ModelAdmin, *, done: str, succeeded: int, failed: list[str]
) -> None:
    """One success line with the count, one error line per refusal (each names its entry)."""
    noun = modeladmin.model._meta.verbose_name
    plural = modeladmin.model._meta.verbose_name_plural
    if succeeded:
        modeladmin.message_user(
            request, f"{succeeded} {noun if succeeded == 1 else plural} {done}.", messages.SUCCESS
        )
    for line in failed[:20]:
        modeladmin.message_user(request, f"Not {done}: {line}", messages.ERROR)
    if len(failed) > 20:
        modeladmin.message_user(request, f"… and {len(failed) - 20} more not {done}.", messages.ERROR)


def apply_each(objects: Iterable[models.Model], step: Callable[[Any], object]) -> tuple[int, list[str]]:
    """Apply a service to each object in its own savepoint; one refusal does not stop the rest."""
    succeeded, failed = 0, []
    for obj in objects:
        try:
            with transaction.atomic():
                step(obj)
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(error_lines(exc))
            name = getattr(obj, "key", None) or Truncator(str(obj)).chars(40)
            failed.append(message if message.startswith(f"{name}:") else f"{name}: {message}")
        else:
            succeeded += 1
    return succeeded, failed


def rendered_sample(response: Any) -> RenderedReply | None:
    """The reply rendered for the sample customer, as approval measures it (cached per row)."""
    if not getattr(response, "text", ""):
        return None
    cached = response.__dict__.get("_kb_rendered", ...)
    if cached is ...:
        try:
            cached = render_reply(response.text, SAMPLE_CONTEXT, response.channel)
        except (ValidationError, KeyError):
            cached = None
        response.__dict__["_kb_rendered"] = cached
    return cached


def length_label(response: Any) -> str:
    rendered = rendered_sample(response)
    if rendered is None:
        return "—"
    return f"{rendered.length} / {rendered.limit}" if rendered.limit else str(rendered.length)


def adopt(target: models.Model, saved: models.Model) -> None:
    """Make the admin's in-memory object the row the service saved (the admin goes on using it:
    inlines point at it, the redirect needs its pk)."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def stale_message(stale: StaleVersion) -> SafeString:
    """The refusal of a stale save, with the other editor's change and a link to the history."""
    row = stale.row
    history = reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_history", args=[row.pk])
    changes = format_html_join(
        "",
        "<li>{}: “{}” → “{}”</li>",
        (
            (change.field, Truncator(str(change.old)).chars(300), Truncator(str(change.new)).chars(300))
            for change in stale.changes
        ),
    )
    return format_html(
        '{} <a href="{}">See the history</a>.{}',
        " ".join(stale.messages),
        history,
        format_html("<ul>{}</ul>", changes) if stale.changes else "",
    )


def stored(obj: models.Model) -> models.Model:
    """A fresh copy of the row (the form has already assigned its values to `obj`, so a service
    handed `obj` would see no change; a history version is not the row at all)."""
    return type(obj)._default_manager.get(pk=obj.pk)


class ServiceModelForm(forms.ModelForm):
    """A model form whose validation ends with a dry run of the service that will save it, so
    whatever the service refuses (an approved reply grown too long, an invalid tag, ...) is a
    form error and never a 500."""

    # Set per request by LibraryAdmin.get_form / LibraryInline.get_formset on the class they build.
    service_admin: ServiceWrites | None = None
    request: HttpRequest | None = None
    # Service error keys that a differently named form field stands for.
    service_error_fields: dict[str, str] = {}
    # Inline rows nobody touched need no dry run; a main form (or a revert) always gets one.
    skip_unchanged = False
    # The version of the row the form was drawn from: a save from an older one is refused.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial.setdefault("version", self._stored_version())

    def _stored_version(self) -> int | None:
        # On the revert page the instance is an earlier version; the save replaces the current one.
        if getattr(self.instance, "_history", None) is None:
            return self.instance.version  # type: ignore[attr-defined]
        rows = type(self.instance)._default_manager.filter(pk=self.instance.pk)
        return rows.values_list("version", flat=True).first()

    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version") if hasattr(self, "cleaned_data") else None

    def service_values(self) -> dict[str, Any]:
        fields = self.service_admin.service_fields if self.service_admin else ()
        return {name: self.cleaned_data[name] for name in fields if name in self.cleaned_data}

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if self.errors or self.service_admin is None or self.request is None:
            return
        if self.skip_unchanged and self.instance.pk is not None and not self.has_changed():
            return
        values = self.service_values()
        # A parent created in this same save (an inline on the add page) cannot be referenced
        # yet; the model validation above has run, the real write follows.
        if any(isinstance(value, models.Model) and value.pk is None for value in values.values()):
            return
        writer, request = self.service_admin, self.request
        if self.instance.pk is None:
            write: Callable[[], object] = lambda: writer.service_create(request, dict(values))  # noqa: E731
        else:
            current = stored(self.instance)
            expected = {"expected_version": self.expected_version()}
            write = lambda: writer.service_update(request, current, {**values, **expected})  # noqa: E731
        try:
            dry_run(write)
        except StaleVersion as stale:
            self._refuse_stale(stale)
        except ValidationError as exc:
            self._add_service_error(exc)
        except PermissionDenied as exc:
            self.add_error(None, str(exc))

    def _refuse_stale(self, stale: StaleVersion) -> None:
        """Refuse the save, show what the other editor changed, and draw the form again from the
        current version: the editor's own changes stay on it, and saving once more, having seen
        theirs, is a decision rather than an accident."""
        self.add_error(None, stale_message(stale))
        data = cast(QueryDict, self.data).copy()
        data[self.add_prefix("version")] = str(stale.current)
        self.data = data

    def _add_service_error(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            name = self.service_error_fields.get(key, key)
            self.add_error(name if name in self.fields else None, errors)


class ServiceWrites:
    """Creates and edits go through `service_create` / `service_update` (kb.services)."""

    service_fields: tuple[str, ...] = ()
    form = ServiceModelForm

    def service_create(self, request: HttpRequest, values: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def service_update(self, request: HttpRequest, obj: Any, values: dict[str, Any]) -> models.Model:
        raise NotImplementedError

    def write(self, request: HttpRequest, obj: models.Model, form: ServiceModelForm, change: bool) -> None:
        values = form.service_values()
        try:
            if change:
                values["expected_version"] = form.expected_version()
                saved = self.service_update(request, stored(obj), values)
            else:
                saved = self.service_create(request, values)
        except (ValidationError, PermissionDenied) as exc:
            raise ServiceRefused(exc) from exc
        adopt(obj, saved)


def may_edit_row(request: HttpRequest, obj: Any) -> bool:
    """Whether the person asking may change ``obj`` (a library row; None: rows in general)."""
    return obj is None or may_edit_for(request.user, brand_of(obj))


def may_see_row(request: HttpRequest, obj: Any) -> bool:
    """Whether the person asking may read ``obj``: a row of a brand they serve, or a shared one."""
    brand = brand_of(obj)
    return brand is None or may_edit_for(request.user, brand)


class ServedBrandsOnly:
    """An admin list for someone who serves particular brands: their brands' rows and the ones
    every brand shares (``brand_path`` leads from a row to its brand)."""

    brand_path = "brand"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        rows = super().get_queryset(request)  # type: ignore[misc]
        return rows.filter(served_rows(request.user, self.brand_path))


class ServedBrandsLibrary(ServedBrandsOnly):
    """A library admin for someone who serves particular brands: they see their brands' rows and
    the shared ones, and their history, change only their brands' (the services refuse the rest
    too), and are offered only their brands and issues to file rows under."""

    def get_history_queryset(
        self, request: HttpRequest, history_manager: Any, pk_name: str, object_id: Any
    ) -> Any:
        records = super().get_history_queryset(request, history_manager, pk_name, object_id)  # type: ignore[misc]
        return records.filter(served_rows(request.user, self._history_brand_path()))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._served_row_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        row = self._served_row_or_404(request, object_id, version_id)
        if request.method == "POST" and row is not None and not self.has_change_permission(request, row):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[misc]

    def _history_brand_path(self) -> str:
        # On a historical row "pk" is the history id; the row's own id is a plain field there.
        return "id" if self.brand_path == "pk" else self.brand_path

    def _served_row_or_404(self, request: HttpRequest, object_id: str, version_id: str | None = None) -> Any:
        """The row whose history is asked for (None if it is gone), if the person asking may see
        it and the version asked for; otherwise 404, as for a row that does not exist."""
        model: Any = self.model  # type: ignore[attr-defined]
        versions = model.history.filter(id=unquote(object_id))
        if version_id is not None:
            versions = versions.filter(history_id=version_id)
        try:
            row = model._default_manager.filter(pk=unquote(object_id)).first()
            visible = versions.filter(served_rows(request.user, self._history_brand_path())).exists()
        except (ValueError, ValidationError):
            raise Http404 from None
        if not visible or (row is not None and not may_see_row(request, row)):
            raise Http404
        return row

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)  # type: ignore[misc]
        return bool(allowed) and may_edit_row(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        served = brands_served_by(request.user)
        if served is not None and db_field.name == "brand":
            kwargs["queryset"] = Brand.objects.filter(pk__in=[brand.pk for brand in served])
        elif served is not None and db_field.name == "issue":
            kwargs["queryset"] = Issue.objects.filter(brand__in=served)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class LibraryInline(ServiceWrites):
    """An inline whose rows are written by the services; rows are retired, never deleted."""

    can_delete = False
    show_change_link = True

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        """Each row carries its version (a hidden field) for those who may change it."""
        fields = list(super().get_fields(request, obj))  # type: ignore[misc]
        return [*fields, "version"] if self.has_change_permission(request, obj) else fields

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # The version is the form's own field, not the model's (which no form may edit).
        fields = flatten_fieldsets(self.get_fieldsets(request, obj))  # type: ignore[attr-defined]
        kwargs.setdefault("fields", [name for name in fields if name != "version"])
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
        formset.form.service_admin = self
        formset.form.request = request
        formset.form.skip_unchanged = True
        return formset

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # ``obj`` is the issue the rows belong to: only its brand's people change or add them.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)  # type: ignore[misc]
        return bool(allowed) and may_edit_row(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_add_permission(request, obj)  # type: ignore[misc]
        return bool(allowed) and may_edit_row(request, obj)


class LibraryAdmin(ServiceWrites, SimpleHistoryAdmin):
    """History and revert, writes through the services, no deletes (retiring is the way out)."""

    list_per_page = 50
    history_list_per_page = 50

    def get_historical_record_context_helper(self, request: HttpRequest, historical_record: Any) -> Any:
        return ReadableHistory(self.model, historical_record)

    class Media:
        css = {"all": [ADMIN_CSS]}

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.service_admin = self
        form.request = request
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self.write(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        writer: ServiceWrites = formset.form.service_admin
        fk_name = formset.fk.name
        # What construct_change_message reads; Django's formset.save() would have filled these.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed():
                continue
            inline_form.cleaned_data[fk_name] = form.instance
            is_new = inline_form.instance.pk is None
            writer.write(request, inline_form.instance, inline_form, change=not is_new)
            if is_new:
                formset.new_objects.append(inline_form.instance)
            else:
                formset.changed_objects.append((inline_form.instance, inline_form.changed_data))

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            return self._refused(request, refused)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        try:
            with transaction.atomic():
                return super().history_form_view(request, object_id, version_id, extra_context)
        except ServiceRefused as refused:
            return self._refused(request, refused)

    def _refused(self, request: HttpRequest, refused: ServiceRefused) -> HttpResponse:
        self.message_user(
            request, "Nothing was saved: " + " ".join(error_lines(refused.error)), messages.ERROR
        )
        return HttpResponseRedirect(request.get_full_path())
