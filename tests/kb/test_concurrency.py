"""No edit is lost: every write through kb.services counts a version, a writer who read an older
version is refused (naming who changed it and when), status changes re-read the row under a lock,
and the admin form carries the version it was drawn from."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from console.models import Mention
from kb import services
from kb.models import Brand, Example, Issue, Response
from tests.factories import BrandFactory, ExampleFactory, IssueFactory, ResponseFactory, UserFactory

pytestmark = pytest.mark.django_db

TEXT = "Sorry {{ customer_name|default:'there' }}, please DM us. ^{{ agent_initials }}"


@pytest.fixture
def other_editor(db):
    user = UserFactory(username="olga", first_name="Olga", last_name="Other", is_staff=True)
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def approved(db):
    return ResponseFactory(key="bag-sorry", text=TEXT, status=Response.Status.APPROVED)


def stale_copy(instance: Any) -> Any:
    """The row as another editor's page (or request) read it before someone else saved."""
    return type(instance).objects.get(pk=instance.pk)


# ---- versions ---------------------------------------------------------------------------------


def test_every_write_through_the_services_counts_one_version(editor):
    brand = services.brand_create(key="bolt", name="Bolt", handle="@Bolt")
    issue = services.issue_create(key="flat", title="Flat tyre", brand=brand)
    example = services.example_create(issue=issue, text="my tyre went flat")
    response = services.response_create(issue=issue, key="flat-dm", text=TEXT)
    assert [row.version for row in (brand, issue, example, response)] == [1, 1, 1, 1]

    services.brand_update(brand=brand, name="Bolt Bikes", updated_by=editor)
    services.issue_update(issue=issue, title="Flat tyres", updated_by=editor)
    services.issue_update(issue=issue, tags=["tyres"], updated_by=editor)
    services.example_retire(example=example, retired_by=editor)
    services.response_submit(response=response, user=editor)
    services.response_approve(response=response, approved_by=editor)

    versions = [type(row).objects.get(pk=row.pk).version for row in (brand, issue, example, response)]
    assert versions == [2, 3, 2, 3]


def test_a_write_that_changes_nothing_keeps_the_version(approved, editor):
    services.response_update(response=approved, text=approved.text, updated_by=editor)

    assert Response.objects.get(pk=approved.pk).version == 1


def test_a_writer_who_read_an_older_version_is_refused_with_who_changed_it_and_when(
    approved, editor, other_editor
):
    services.response_update(response=stale_copy(approved), text=TEXT + " Thanks!", updated_by=other_editor)

    with pytest.raises(services.StaleVersion) as refused:
        services.response_update(
            response=stale_copy(approved), channel="facebook", updated_by=editor, expected_version=1
        )

    stored = Response.objects.get(pk=approved.pk)
    assert (stored.channel, stored.text, stored.version) == ("twitter", TEXT + " Thanks!", 2)
    error = refused.value
    assert isinstance(error, ValidationError)
    assert (error.current, error.expected, error.changed_by) == (2, 1, "Olga Other")
    assert error.changed_at == stored.history.first().history_date
    assert [change.field for change in error.changes] == ["text"]
    message = error.message_dict["version"][0]
    assert message.startswith("bag-sorry: Olga Other changed this response at ")
    assert "now version 2, you had version 1" in message


@pytest.mark.parametrize("kind", ["brand", "issue", "example"])
def test_brands_issues_and_examples_refuse_a_stale_writer_too(kind, editor, other_editor):
    example = ExampleFactory(text="my bag never arrived")
    row, update = {
        "brand": (example.issue.brand, lambda row, **kw: services.brand_update(brand=row, **kw)),
        "issue": (example.issue, lambda row, **kw: services.issue_update(issue=row, **kw)),
        "example": (example, lambda row, **kw: services.example_update(example=row, **kw)),
    }[kind]
    field = {"brand": "name", "issue": "title", "example": "text"}[kind]
    update(stale_copy(row), updated_by=other_editor, **{field: "First"})

    with pytest.raises(services.StaleVersion, match="Olga Other changed this"):
        update(stale_copy(row), updated_by=editor, expected_version=1, **{field: "Second"})
    assert getattr(type(row).objects.get(pk=row.pk), field) == "First"


def test_the_current_version_is_accepted(approved, editor):
    services.response_update(response=approved, text=TEXT + " Thanks!", updated_by=editor, expected_version=1)

    assert Response.objects.get(pk=approved.pk).version == 2


# ---- status changes re-read the row -------------------------------------------------------------


def test_an_edit_from_a_page_read_before_a_retirement_leaves_it_retired(approved, editor, other_editor):
    page = stale_copy(approved)
    services.response_retire(response=stale_copy(approved), retired_by=other_editor)

    services.response_update(response=page, text=TEXT + " Thanks!", updated_by=editor)

    stored = Response.objects.get(pk=approved.pk)
    assert (stored.status, stored.text) == ("retired", TEXT + " Thanks!")


def test_approving_a_copy_read_before_it_was_retired_is_refused(editor, other_editor):
    response = ResponseFactory(key="in-review", text=TEXT, status=Response.Status.IN_REVIEW)
    page = stale_copy(response)
    services.response_retire(response=stale_copy(response), retired_by=other_editor)

    with pytest.raises(ValidationError, match="cannot go from retired to approved"):
        services.response_approve(response=page, approved_by=editor)
    assert Response.objects.get(pk=response.pk).status == "retired"


def test_a_status_change_takes_the_expected_version_too(approved, editor, other_editor):
    services.response_update(response=stale_copy(approved), text=TEXT + " Thanks!", updated_by=other_editor)

    with pytest.raises(services.StaleVersion):
        services.response_retire(response=stale_copy(approved), retired_by=editor, expected_version=1)
    assert Response.objects.get(pk=approved.pk).status == "approved"


# ---- creation follows the lifecycle ---------------------------------------------------------------


@pytest.mark.parametrize("status", ["approved", "retired"])
def test_a_new_response_is_never_created_approved_or_retired(status, editor):
    issue = IssueFactory()

    with pytest.raises(ValidationError) as refused:
        services.response_create(issue=issue, key="new", text=TEXT, status=status, created_by=editor)

    assert "submit it for review" in refused.value.message_dict["status"][0]
    assert not Response.objects.filter(key="new").exists()


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_a_new_response_starts_as_a_draft_or_in_review(status, editor):
    response = services.response_create(
        issue=IssueFactory(), key="new", text=TEXT, status=status, created_by=editor
    )
    assert Response.objects.get(pk=response.pk).status == status


# ---- deleting a brand ---------------------------------------------------------------------------------


def test_only_someone_serving_every_brand_deletes_a_brand(editor):
    empty = BrandFactory(key="empty", name="Empty", handle="@Empty")
    empty.members.add(editor)

    with pytest.raises(PermissionDenied):
        services.brand_delete(brand=empty, deleted_by=editor)
    assert Brand.objects.filter(pk=empty.pk).exists()


def test_a_brand_with_issues_or_mentions_is_not_deleted(editor):
    with_issue = IssueFactory().brand
    with_mention = BrandFactory(key="quiet", name="Quiet", handle="@Quiet")
    Mention.objects.create(
        brand=with_mention, channel="twitter", external_id="1", text="hello", received_at=timezone.now()
    )

    with pytest.raises(services.LibraryConflict, match="still has issues"):
        services.brand_delete(brand=with_issue, deleted_by=editor)
    with pytest.raises(services.LibraryConflict, match="still has mentions"):
        services.brand_delete(brand=with_mention, deleted_by=editor)
    assert Brand.objects.filter(pk__in=[with_issue.pk, with_mention.pk]).count() == 2


def test_an_empty_brand_is_deleted_by_someone_serving_every_brand(editor):
    empty = BrandFactory(key="empty", name="Empty", handle="@Empty")

    services.brand_delete(brand=empty, deleted_by=editor)

    assert not Brand.objects.filter(key="empty").exists()


# ---- the admin --------------------------------------------------------------------------------------


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:kb_{name}", args=args)


def notes(page: Any) -> list[str]:
    return [str(message) for message in get_messages(page.wsgi_request)]


def response_form(response: Response, **changes: Any) -> dict[str, Any]:
    """What a response's change page posts, drawn when the page was read."""
    return {
        "issue": response.issue_id,
        "key": response.key,
        "channel": response.channel,
        "language": response.language,
        "text": response.text,
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "version": response.version,
        **changes,
    }


def hidden_version(page: Any) -> str:
    return page.context["adminform"].form["version"].value()


def test_the_change_form_carries_the_version_it_was_drawn_from(client, editor, approved):
    client.force_login(editor)
    page = client.get(url("response_change", approved.pk))

    assert '<input type="hidden" name="version" value="1"' in page.content.decode()


def test_two_admin_forms_the_second_save_is_refused_showing_the_first(client, editor, other_editor, approved):
    first, second = client, client.__class__()
    first.force_login(other_editor)
    second.force_login(editor)
    drawn = stale_copy(approved)

    saved = first.post(url("response_change", approved.pk), response_form(drawn, text=TEXT + " Thanks!"))
    refused = second.post(url("response_change", approved.pk), response_form(drawn, channel="facebook"))

    assert saved.status_code == 302
    assert refused.status_code == 200
    stored = Response.objects.get(pk=approved.pk)
    assert (stored.text, stored.channel) == (TEXT + " Thanks!", "twitter")
    page = refused.content.decode()
    assert "Olga Other changed this response at" in page
    assert "Thanks!" in page  # their change, shown
    assert url("response_history", approved.pk) in page
    # The editor's own change is still on the form, now drawn from the current version.
    assert refused.context["adminform"].form["channel"].value() == "facebook"
    assert hidden_version(refused) == "2"


def test_saving_again_after_seeing_the_other_change_goes_through(client, editor, other_editor, approved):
    services.response_update(response=stale_copy(approved), text=TEXT + " Thanks!", updated_by=other_editor)
    client.force_login(editor)
    refused = client.post(url("response_change", approved.pk), response_form(approved, channel="facebook"))

    again = client.post(
        url("response_change", approved.pk),
        response_form(approved, channel="facebook", version=hidden_version(refused)),
    )

    assert again.status_code == 302
    assert Response.objects.get(pk=approved.pk).channel == "facebook"


def test_a_stale_brand_form_is_refused(client, editor, other_editor):
    brand = BrandFactory()
    services.brand_update(brand=stale_copy(brand), name="Acme Airways", updated_by=other_editor)
    client.force_login(editor)

    page = client.post(
        url("brand_change", brand.pk),
        {"key": brand.key, "name": "Acme", "handle": brand.handle, "version": 1},
    )

    assert page.status_code == 200
    assert "Olga Other changed this brand" in page.content.decode()
    assert Brand.objects.get(pk=brand.pk).name == "Acme Airways"


def test_a_stale_inline_example_on_the_issue_form_is_refused(client, editor, other_editor):
    example = ExampleFactory(text="my bag never arrived")
    issue = example.issue
    services.example_update(example=stale_copy(example), text="my bag is lost", updated_by=other_editor)
    client.force_login(editor)
    data = {
        "key": issue.key,
        "brand": issue.brand_id,
        "title": issue.title,
        "description": issue.description,
        "tag_names": "",
        "is_active": "on",
        "version": issue.version,
        "examples-TOTAL_FORMS": "1",
        "examples-INITIAL_FORMS": "1",
        "examples-MIN_NUM_FORMS": "0",
        "examples-MAX_NUM_FORMS": "1000",
        "examples-0-id": example.pk,
        "examples-0-issue": issue.pk,
        "examples-0-text": "my suitcase never arrived",
        "examples-0-status": "active",
        "examples-0-version": 1,
        "responses-TOTAL_FORMS": "0",
        "responses-INITIAL_FORMS": "0",
        "responses-MIN_NUM_FORMS": "0",
        "responses-MAX_NUM_FORMS": "1000",
    }

    page = client.post(url("issue_change", issue.pk), data)

    assert page.status_code == 200
    assert "Olga Other changed this example" in page.content.decode()
    assert Example.objects.get(pk=example.pk).text == "my bag is lost"


def test_the_issue_form_inlines_carry_their_versions(client, editor):
    example = ExampleFactory(text="my bag never arrived")
    ResponseFactory(issue=example.issue, key="bag-dm", text=TEXT)
    client.force_login(editor)

    page = client.get(url("issue_change", example.issue.pk)).content.decode()

    assert '<input type="hidden" name="examples-0-version" value="1"' in page
    assert '<input type="hidden" name="responses-0-version" value="1"' in page


def test_a_transition_button_on_a_stale_page_is_refused(client, editor, other_editor, approved):
    services.response_update(response=stale_copy(approved), text=TEXT + " Thanks!", updated_by=other_editor)
    client.force_login(editor)

    page = client.post(url("response_transition", approved.pk, "retired"), {"version": 1}, follow=True)

    assert Response.objects.get(pk=approved.pk).status == "approved"
    assert any("Olga Other changed this response" in note for note in notes(page))


def test_the_add_form_creates_a_draft_whatever_status_is_posted(client, editor):
    issue = IssueFactory()
    client.force_login(editor)

    page = client.post(
        url("response_add"),
        {
            "issue": issue.pk,
            "key": "new-dm",
            "channel": "twitter",
            "language": "en",
            "text": TEXT,
            "status": "approved",
            "valid_from_0": "",
            "valid_from_1": "",
            "valid_until_0": "",
            "valid_until_1": "",
        },
    )

    assert page.status_code == 302
    assert Response.objects.get(key="new-dm").status == "draft"


def test_unchanged_issue_keeps_its_version_when_saved_from_the_admin(client, editor):
    issue = IssueFactory()
    client.force_login(editor)
    page = client.post(
        url("issue_change", issue.pk),
        {
            "key": issue.key,
            "brand": issue.brand_id,
            "title": issue.title,
            "description": issue.description,
            "tag_names": "",
            "is_active": "on",
            "version": 1,
            "examples-TOTAL_FORMS": "0",
            "examples-INITIAL_FORMS": "0",
            "examples-MIN_NUM_FORMS": "0",
            "examples-MAX_NUM_FORMS": "1000",
            "responses-TOTAL_FORMS": "0",
            "responses-INITIAL_FORMS": "0",
            "responses-MIN_NUM_FORMS": "0",
            "responses-MAX_NUM_FORMS": "1000",
        },
    )
    assert page.status_code == 302
    assert Issue.objects.get(pk=issue.pk).version == 1
