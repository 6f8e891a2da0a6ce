"""Departments in the admin: who owns issues, and who gets each department's digest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from kb.departments import recipients_parse
from kb.models import Department


class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = ["name", "digest_recipients"]
        widgets = {
            "digest_recipients": forms.Textarea(attrs={"rows": 5, "placeholder": "baggage-team@example.com"})
        }

    def clean_digest_recipients(self) -> str:
        # Stored trimmed, one address per line and each once.
        addresses = recipients_parse(self.cleaned_data.get("digest_recipients", ""))
        return "\n".join(addresses)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    form = DepartmentForm
    list_display = ["name", "recipient_count", "issue_count"]
    search_fields = ["name", "digest_recipients"]
    ordering = ["name"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).annotate(issue_count=Count("issues"))

    @admin.display(description="issues", ordering="issue_count")
    def issue_count(self, department: Department) -> int:
        return department.issue_count  # type: ignore[attr-defined]

    @admin.display(description="digest recipients")
    def recipient_count(self, department: Department) -> int:
        return len([line for line in department.digest_recipients.splitlines() if line.strip()])

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "digest_recipients", *(["created_at", "updated_at"] if obj else [])]
