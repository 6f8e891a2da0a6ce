"""Admin history pages for someone who serves particular brands: the history (list, a version, the
revert) of their brands' rows and the shared ones, nothing of another brand's."""

from __future__ import annotations

import pytest

from kb import services
from kb.models import Issue, Response


@pytest.fixture
def acme_editor(library, editor):
    """Edith serves Acme Air only."""
    library.brands["acme-air"].members.add(editor)
    return editor


@pytest.fixture
def globex_secrets(library):
    """Globex Bank's issue and reply, each with an earlier version holding internal text."""
    issue = library.issues["card-declined"]
    services.issue_update(issue=issue, description="INTERNAL: fraud team extension 4711")
    services.issue_update(issue=issue, description="")
    response = library.responses["card-declined-twitter"]
    services.response_update(response=response, text="Globex draft wording {{ agent_initials }}")
    return issue, response


def _oldest_version(row: Issue | Response) -> int:
    return row.history.order_by("history_id").values_list("history_id", flat=True)[0]


def test_another_brands_history_is_not_found(acme_editor, globex_secrets, client):
    issue, response = globex_secrets
    client.force_login(acme_editor)

    pages = {
        "issue history": f"/admin/kb/issue/{issue.pk}/history/",
        "issue version": f"/admin/kb/issue/{issue.pk}/history/{_oldest_version(issue)}/",
        "response history": f"/admin/kb/response/{response.pk}/history/",
        "response version": f"/admin/kb/response/{response.pk}/history/{_oldest_version(response)}/",
    }
    answers = {name: client.get(url) for name, url in pages.items()}

    assert {name: answer.status_code for name, answer in answers.items()} == dict.fromkeys(pages, 404)
    for answer in answers.values():
        assert b"fraud team" not in answer.content and b"Globex draft" not in answer.content


def test_another_brands_version_cannot_be_reverted(acme_editor, globex_secrets, client):
    issue, response = globex_secrets
    client.force_login(acme_editor)
    version = response.history.order_by("history_id").first()

    answer = client.post(
        f"/admin/kb/response/{response.pk}/history/{version.history_id}/",
        {"key": response.key, "issue": issue.pk, "channel": "twitter", "text": version.text},
    )

    assert answer.status_code in (403, 404)
    assert Response.objects.get(pk=response.pk).text == "Globex draft wording {{ agent_initials }}"


def test_their_brands_and_the_shared_history_stay_open(library, acme_editor, client):
    own, shared = library.issues["lost-baggage"], library.issues["password-reset"]
    services.issue_update(issue=own, title="Bag lost", updated_by=acme_editor)
    client.force_login(acme_editor)

    own_list = client.get(f"/admin/kb/issue/{own.pk}/history/")
    own_version = client.get(f"/admin/kb/issue/{own.pk}/history/{_oldest_version(own)}/")
    shared_list = client.get(f"/admin/kb/issue/{shared.pk}/history/")
    shared_version = client.get(f"/admin/kb/issue/{shared.pk}/history/{_oldest_version(shared)}/")

    assert [own_list.status_code, own_version.status_code] == [200, 200]
    assert [shared_list.status_code, shared_version.status_code] == [200, 200]
    assert "Bag lost" in own_list.content.decode()
    assert shared_version.context["revert_disabled"]  # the shared library is read-only to them


def test_a_version_of_one_row_is_not_shown_under_another(library, acme_editor, globex_secrets, client):
    issue, _ = globex_secrets
    own = library.issues["lost-baggage"]
    client.force_login(acme_editor)

    answer = client.get(f"/admin/kb/issue/{own.pk}/history/{_oldest_version(issue)}/")

    assert answer.status_code == 404


def test_someone_serving_every_brand_sees_all_history(editor, globex_secrets, client):
    issue, response = globex_secrets
    client.force_login(editor)

    version = client.get(f"/admin/kb/issue/{issue.pk}/history/{_oldest_version(issue)}/")
    listing = client.get(f"/admin/kb/response/{response.pk}/history/")

    assert [version.status_code, listing.status_code] == [200, 200]
    assert "Globex draft" in listing.content.decode()
