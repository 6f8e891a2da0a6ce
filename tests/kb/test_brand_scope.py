"""The library for someone who serves particular brands (``Brand.members``): they read their
brands' rows and the ones every brand shares, and change only their brands', in the services, the
REST API and the admin alike. Everyone else, and the system itself, reads and changes it all."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from console.models import Mention
from kb import services
from kb.models import Brand, Issue

ISSUES = "/api/v1/issues/"
RESPONSES = "/api/v1/responses/"


@pytest.fixture
def acme_editor(library, editor):
    """Edith serves Acme Air only."""
    library.brands["acme-air"].members.add(editor)
    return editor


# ---- services ---------------------------------------------------------------------------------


def test_an_editor_changes_their_brands_library(library, acme_editor):
    issue = services.issue_create(
        key="seat-upgrade", title="Seat upgrade", brand=library.brands["acme-air"], created_by=acme_editor
    )
    services.example_create(issue=issue, text="can I upgrade my seat", created_by=acme_editor)
    services.issue_update(issue=issue, title="Seat upgrades", updated_by=acme_editor)

    assert Issue.objects.get(key="seat-upgrade").title == "Seat upgrades"


def test_an_editor_cannot_write_another_brands_library(library, acme_editor):
    with pytest.raises(
        PermissionDenied,
        match=r"The library of brand 'globex-bank' is not yours to change: you serve acme-air\.",
    ):
        services.issue_create(
            key="loans", title="Loans", brand=library.brands["globex-bank"], created_by=acme_editor
        )
    with pytest.raises(PermissionDenied):
        services.example_create(
            issue=library.issues["card-declined"], text="card refused", created_by=acme_editor
        )
    with pytest.raises(PermissionDenied):
        services.response_retire(response=library.responses["card-declined-twitter"], retired_by=acme_editor)


def test_an_editor_cannot_change_what_every_brand_shares(library, acme_editor):
    shared = library.issues["password-reset"]

    with pytest.raises(PermissionDenied, match="The library of every brand is not yours to change"):
        services.issue_update(issue=shared, title="Passwords", updated_by=acme_editor)
    with pytest.raises(PermissionDenied):
        services.issue_create(key="generic", title="Generic", brand=None, created_by=acme_editor)


def test_an_editor_cannot_move_an_issue_to_another_brand(library, acme_editor):
    issue = library.issues["lost-baggage"]

    with pytest.raises(PermissionDenied):
        services.issue_update(issue=issue, brand=library.brands["globex-bank"], updated_by=acme_editor)

    issue.refresh_from_db()
    assert issue.brand.key == "acme-air"


def test_an_editor_who_serves_no_brand_and_the_system_change_everything(library, editor):
    services.issue_update(issue=library.issues["card-declined"], title="Card declined!", updated_by=editor)
    services.issue_update(issue=library.issues["password-reset"], title="Passwords", updated_by=None)


# ---- REST API ---------------------------------------------------------------------------------


def keys(client, url, **filters):
    answer = client.get(url, filters)
    assert answer.status_code == 200, answer.content
    return {item["key"] for item in answer.json()["results"]}


def test_the_api_lists_their_brands_and_the_shared_library(library, acme_editor, editor_client):
    issues = keys(editor_client, ISSUES)

    assert "lost-baggage" in issues and "password-reset" in issues
    assert "card-declined" not in issues
    assert "card-declined-twitter" not in keys(editor_client, RESPONSES)
    assert keys(editor_client, "/api/v1/brands/") == {"acme-air"}
    assert editor_client.get(f"{ISSUES}{library.issues['card-declined'].pk}/").status_code == 404


def test_the_api_refuses_their_writes_elsewhere_with_403(library, acme_editor, editor_client):
    shared = library.issues["password-reset"]

    edit = editor_client.patch(f"{ISSUES}{shared.pk}/", {"title": "Passwords"}, format="json")
    create = editor_client.post(
        ISSUES, {"key": "loans", "title": "Loans", "brand": "globex-bank"}, format="json"
    )
    own = editor_client.post(ISSUES, {"key": "seats", "title": "Seats", "brand": "acme-air"}, format="json")

    assert edit.status_code == 403
    assert edit.json() == {"detail": "The library of every brand is not yours to change: you serve acme-air."}
    assert create.status_code == 403
    assert own.status_code == 201


# ---- admin ------------------------------------------------------------------------------------


def test_the_admin_lists_their_brands_and_the_shared_library(library, acme_editor, client):
    client.force_login(acme_editor)

    html = client.get("/admin/kb/issue/").content.decode()

    assert "lost-baggage" in html and "password-reset" in html
    assert "card-declined" not in html


def test_the_admin_shows_shared_issues_read_only_and_offers_only_their_brands(library, acme_editor, client):
    client.force_login(acme_editor)
    shared = library.issues["password-reset"]

    view = client.get(f"/admin/kb/issue/{shared.pk}/change/").content.decode()
    add = client.get("/admin/kb/issue/add/")
    refused = client.post(f"/admin/kb/issue/{shared.pk}/change/", {"key": shared.key, "title": "Passwords"})

    assert 'name="title"' not in view  # no form field: read-only
    offered = add.context["adminform"].form.fields["brand"].queryset
    assert [brand.key for brand in offered] == ["acme-air"]
    assert refused.status_code == 403
    shared.refresh_from_db()
    assert shared.title != "Passwords"


def test_the_request_log_shows_their_brands(library, acme_editor, agent_client, client):
    for text, brand in [("my card was declined", "globex-bank"), ("lost my bag", "acme-air")]:
        assert (
            agent_client.post(
                "/api/v1/suggestions/", {"text": text, "brand": brand}, format="json"
            ).status_code
            == 200
        )
    client.force_login(acme_editor)

    html = client.get("/admin/suggestions/suggestionrequest/").content.decode()

    assert "lost my bag" in html
    assert "my card was declined" not in html


def test_the_inbox_admin_shows_their_brands(library, acme_editor, client):
    for text, brand in [("my card was declined", "globex-bank"), ("lost my bag", "acme-air")]:
        Mention.objects.create(
            text=text,
            external_id=text,
            channel="twitter",
            brand=library.brands[brand],
            received_at=timezone.now(),
        )
    client.force_login(acme_editor)

    html = client.get("/admin/console/mention/").content.decode()

    assert "lost my bag" in html
    assert "my card was declined" not in html


def test_only_someone_serving_every_brand_changes_who_serves_a_brand(library, acme_editor, editor_client):
    acme = library.brands["acme-air"]

    with pytest.raises(PermissionDenied, match="The library of every brand is not yours to change"):
        services.brand_update(brand=acme, members=[], updated_by=acme_editor)  # would see every brand
    with pytest.raises(PermissionDenied):
        services.brand_create(key="initech", name="Initech", handle="@Initech", created_by=acme_editor)
    services.brand_update(brand=acme, name="Acme Airlines", members=[acme_editor], updated_by=acme_editor)

    assert list(acme.members.all()) == [acme_editor]
    assert Brand.objects.get(key="acme-air").name == "Acme Airlines"


def test_the_brand_admin_shows_members_read_only_to_a_member(library, acme_editor, client):
    client.force_login(acme_editor)

    form = client.get(f"/admin/kb/brand/{library.brands['acme-air'].pk}/change/").context["adminform"].form

    assert "members" not in form.fields
    assert "name" in form.fields
