"""An issue's severity and owning department: set in the admin, the library file and the issues
API (department by name), and refused with the field named when unknown."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from kb.library_file import FORMAT, LibraryFileError, library_export, library_import
from kb.models import Department, Issue

Severity = Issue.Severity


def _file(**issue: Any) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "brands": [{"key": "acme-air", "name": "Acme Air", "handle": "@AcmeAir"}],
        "issues": [{"key": "smoke-onboard", "brand": "acme-air", "title": "Smoke on board", **issue}],
    }


@pytest.fixture
def safety_team(db):
    return Department.objects.create(name="Safety", digest_recipients="safety@example.com")


def test_the_library_file_sets_severity_and_department_and_exports_them_back(editor, safety_team):
    library_import(data=_file(severity="safety", department="Safety"), user=editor)

    issue = Issue.objects.get(key="smoke-onboard")
    assert (issue.severity, issue.department) == (Severity.SAFETY, safety_team)
    entry = library_export()["issues"][0]
    assert (entry["severity"], entry["department"]) == ("safety", "Safety")
    assert library_import(data=library_export(), user=editor).changed is False


def test_a_file_without_them_keeps_what_the_issue_has_and_null_clears_the_department(editor, safety_team):
    library_import(data=_file(severity="high", department="Safety"), user=editor)

    library_import(data=_file(), user=editor)
    issue = Issue.objects.get(key="smoke-onboard")
    assert (issue.severity, issue.department) == (Severity.HIGH, safety_team)

    library_import(data=_file(department=None, severity="normal"), user=editor)
    issue.refresh_from_db()
    assert (issue.severity, issue.department) == (Severity.NORMAL, None)
    assert "severity" not in library_export()["issues"][0]  # the default is not written


def test_an_unknown_department_or_severity_rejects_the_file_naming_the_field(editor):
    with pytest.raises(LibraryFileError) as caught:
        library_import(data=_file(severity="dire", department="Baggage"), user=editor)

    errors = caught.value.errors
    assert any("department: unknown department 'Baggage'" in error for error in errors), errors
    assert any("severity: must be one of low, normal, high, privacy, safety" in error for error in errors)
    assert not Issue.objects.filter(key="smoke-onboard").exists()


def test_the_issues_api_sets_severity_and_department_by_name(library, editor_client, safety_team):
    created = editor_client.post(
        "/api/v1/issues/",
        {"key": "smoke-onboard", "title": "Smoke on board", "severity": "safety", "department": "Safety"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert (created.json()["severity"], created.json()["department"]) == ("safety", "Safety")

    changed = editor_client.patch(
        f"/api/v1/issues/{created.json()['id']}/", {"severity": "high", "department": None}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    issue = Issue.objects.get(key="smoke-onboard")
    assert (issue.severity, issue.department) == (Severity.HIGH, None)


def test_the_issues_api_refuses_an_unknown_department_or_severity_naming_the_field(library, editor_client):
    answer = editor_client.post(
        "/api/v1/issues/",
        {"key": "smoke-onboard", "title": "Smoke", "severity": "dire", "department": "Baggage"},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["department"] == ["Unknown department 'Baggage'."]
    assert "severity" in answer.json()


def test_the_issue_admin_shows_and_filters_severity_and_department(client, editor, library, safety_team):
    lost = library.issues["lost-baggage"]
    Issue.objects.filter(pk=lost.pk).update(severity=Severity.SAFETY, department=safety_team)
    client.force_login(editor)
    changelist = reverse("admin:kb_issue_changelist")

    page = client.get(changelist, {"severity__exact": "safety"})
    assert [issue.key for issue in page.context["cl"].result_list] == ["lost-baggage"]
    assert "Safety" in page.content.decode()
    by_team = client.get(changelist, {"department__id__exact": safety_team.pk})
    assert [issue.key for issue in by_team.context["cl"].result_list] == ["lost-baggage"]
    form = client.get(reverse("admin:kb_issue_change", args=[lost.pk])).context["adminform"].form
    assert {"severity", "department"} <= set(form.fields)
