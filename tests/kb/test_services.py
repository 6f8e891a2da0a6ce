"""Library services: the response lifecycle, who may approve, validation, history and announcements."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kb import services
from kb.models import Brand, Example, Issue, Response
from tests.factories import BrandFactory, ExampleFactory, IssueFactory, ResponseFactory, UserFactory

DRAFT, IN_REVIEW, APPROVED, RETIRED = "draft", "in_review", "approved", "retired"
TOO_LONG_FOR_TWITTER = "We are so sorry. " * 20  # 340 characters before the customer's handle


def _stored_status(response: Response) -> str:
    return Response.objects.get(pk=response.pk).status


@pytest.fixture
def draft(db):
    return ResponseFactory(
        status=DRAFT, text="Sorry {{ customer_name }}, please DM us. ^{{ agent_initials }}"
    )


@pytest.fixture
def approved(db):
    return ResponseFactory(
        status=APPROVED, text="Sorry {{ customer_name }}, please DM us. ^{{ agent_initials }}"
    )


# ---- the lifecycle --------------------------------------------------------------------------------


def test_response_goes_through_its_whole_lifecycle_and_back(editor, draft):
    services.response_submit(response=draft, user=editor)
    assert _stored_status(draft) == IN_REVIEW
    services.response_approve(response=draft, approved_by=editor)
    assert _stored_status(draft) == APPROVED
    services.response_retire(response=draft, retired_by=editor)
    assert _stored_status(draft) == RETIRED

    services.response_transition(response=draft, to_status=DRAFT, user=editor)
    assert _stored_status(draft) == DRAFT
    services.response_submit(response=draft, user=editor)
    services.response_approve(response=draft, approved_by=editor)
    assert _stored_status(draft) == APPROVED


def test_retired_response_may_go_straight_back_to_review(editor, approved):
    services.response_retire(response=approved, retired_by=editor)

    services.response_submit(response=approved, user=editor)
    services.response_approve(response=approved, approved_by=editor)

    assert _stored_status(approved) == APPROVED


def test_draft_cannot_be_approved_without_review(editor, draft):
    with pytest.raises(ValidationError) as caught:
        services.response_approve(response=draft, approved_by=editor)

    assert "review" in " ".join(caught.value.messages)
    assert _stored_status(draft) == DRAFT


def test_retired_response_never_returns_to_approved_without_review(editor, approved):
    services.response_retire(response=approved, retired_by=editor)

    with pytest.raises(ValidationError):
        services.response_approve(response=approved, approved_by=editor)

    assert _stored_status(approved) == RETIRED


def test_an_unknown_status_is_refused_as_invalid(editor, draft):
    with pytest.raises(ValidationError):
        services.response_transition(response=draft, to_status="published", user=editor)

    assert _stored_status(draft) == DRAFT


def test_approved_response_can_be_withdrawn_to_draft(editor, approved):
    services.response_transition(response=approved, to_status=DRAFT, user=editor)

    assert _stored_status(approved) == DRAFT


def test_response_update_with_a_status_moves_it_through_the_lifecycle(editor, draft):
    services.response_update(response=draft, updated_by=editor, status=IN_REVIEW)
    services.response_update(response=draft, updated_by=editor, status=APPROVED)

    assert _stored_status(draft) == APPROVED
    with pytest.raises(ValidationError):
        services.response_update(response=draft, updated_by=editor, status=IN_REVIEW)


# ---- who may approve ------------------------------------------------------------------------------


def test_author_may_submit_but_not_approve(author, draft):
    services.response_submit(response=draft, user=author)

    with pytest.raises(PermissionDenied):
        services.response_approve(response=draft, approved_by=author)

    assert _stored_status(draft) == IN_REVIEW


def test_agent_may_not_approve(agent, draft):
    draft.status = IN_REVIEW
    draft.save()

    with pytest.raises(PermissionDenied):
        services.response_approve(response=draft, approved_by=agent)


def test_a_user_given_the_approve_permission_directly_may_approve(draft):
    reviewer = UserFactory(username="reviewer")
    reviewer.user_permissions.add(Permission.objects.get(codename="approve_response"))
    services.response_submit(response=draft, user=reviewer)

    services.response_approve(response=draft, approved_by=reviewer)

    assert _stored_status(draft) == APPROVED


def test_approval_records_who_approved_and_when(editor, draft):
    services.response_submit(response=draft, user=editor)

    services.response_approve(response=draft, approved_by=editor)

    stored = Response.objects.get(pk=draft.pk)
    assert stored.approved_by == editor
    assert stored.approved_at is not None
    assert stored.is_live


def test_approving_a_twitter_response_too_long_for_280_characters_is_refused(editor):
    response = ResponseFactory(status=IN_REVIEW, channel="twitter", text=TOO_LONG_FOR_TWITTER)

    with pytest.raises(ValidationError) as caught:
        services.response_approve(response=response, approved_by=editor)

    message = " ".join(caught.value.messages)
    assert response.key in message
    assert "280" in message
    assert _stored_status(response) == IN_REVIEW


def test_the_same_long_text_may_be_approved_for_email(editor):
    response = ResponseFactory(status=IN_REVIEW, channel="email", text=TOO_LONG_FOR_TWITTER)

    services.response_approve(response=response, approved_by=editor)

    assert _stored_status(response) == APPROVED


def test_length_check_uses_a_sample_customer_so_long_names_still_fit(editor):
    # 255 characters with every variable empty, 283 for "@alexandra_travels Hi Alexandra, ...".
    response = ResponseFactory(
        status=IN_REVIEW, channel="twitter", text="Hi {{ customer_name }}, " + "x" * 250
    )

    with pytest.raises(ValidationError):
        services.response_approve(response=response, approved_by=editor)


# ---- editing approved responses -------------------------------------------------------------------


def test_author_editing_an_approved_response_sends_it_back_to_review(author, approved):
    services.response_update(response=approved, updated_by=author, text="Sorry! Please DM us.")

    stored = Response.objects.get(pk=approved.pk)
    assert stored.text == "Sorry! Please DM us."
    assert stored.status == IN_REVIEW
    assert not stored.is_live


def test_author_editing_an_approved_response_cannot_keep_it_approved_by_restating_the_status(
    author, approved
):
    # An API client sends the whole object back, status included, with only the text changed.
    services.response_update(
        response=approved, updated_by=author, text="Sorry! Please DM us.", status=APPROVED
    )

    assert _stored_status(approved) == IN_REVIEW


def test_editor_editing_an_approved_response_keeps_it_approved(editor, approved):
    services.response_update(response=approved, updated_by=editor, text="Sorry! Please DM us.")

    stored = Response.objects.get(pk=approved.pk)
    assert stored.text == "Sorry! Please DM us."
    assert stored.status == APPROVED
    assert stored.approved_by == editor


def test_editor_cannot_make_an_approved_twitter_response_too_long(editor, approved):
    with pytest.raises(ValidationError):
        services.response_update(response=approved, updated_by=editor, text=TOO_LONG_FOR_TWITTER)

    stored = Response.objects.get(pk=approved.pk)
    assert stored.text != TOO_LONG_FOR_TWITTER
    assert stored.status == APPROVED


def test_editor_cannot_make_an_approved_response_too_long_by_restating_the_status(editor, approved):
    with pytest.raises(ValidationError):
        services.response_update(
            response=approved, updated_by=editor, text=TOO_LONG_FOR_TWITTER, status=APPROVED
        )

    assert Response.objects.get(pk=approved.pk).text != TOO_LONG_FOR_TWITTER


def test_author_editing_a_draft_keeps_it_a_draft(author, draft):
    services.response_update(response=draft, updated_by=author, text="New wording")

    stored = Response.objects.get(pk=draft.pk)
    assert (stored.text, stored.status) == ("New wording", DRAFT)


def test_saving_a_template_with_an_unknown_variable_is_refused(editor, draft):
    with pytest.raises(ValidationError) as caught:
        services.response_update(response=draft, updated_by=editor, text="Hi {{ first_name }}")

    assert "first_name" in str(caught.value.message_dict["text"])
    assert Response.objects.get(pk=draft.pk).text != "Hi {{ first_name }}"


def test_unknown_fields_are_refused(editor, draft):
    with pytest.raises(TypeError):
        services.response_update(response=draft, updated_by=editor, approved_by=editor)


# ---- creating responses ---------------------------------------------------------------------------


def test_the_command_line_may_create_a_response_directly_as_approved(db):
    issue = IssueFactory()

    response = services.response_create(
        issue=issue, key="sorry-dm", text="Sorry, please DM us.", channel="twitter", status=APPROVED
    )

    stored = Response.objects.get(pk=response.pk)
    assert stored.status == APPROVED
    assert stored.approved_at is not None


def test_author_may_not_create_a_response_directly_as_approved(author):
    issue = IssueFactory()

    with pytest.raises(ValidationError, match="submit it for review"):
        services.response_create(
            issue=issue, key="sorry-dm", text="Sorry!", status=APPROVED, created_by=author
        )

    assert not Response.objects.filter(key="sorry-dm").exists()


def test_author_creates_a_draft_by_default(author):
    response = services.response_create(
        issue=IssueFactory(), key="sorry-dm", text="Sorry!", created_by=author
    )

    assert _stored_status(response) == DRAFT


def test_creating_an_approved_response_too_long_for_twitter_is_refused(editor):
    with pytest.raises(ValidationError):
        services.response_create(
            issue=IssueFactory(), key="long", text=TOO_LONG_FOR_TWITTER, channel="twitter", status=APPROVED
        )

    assert not Response.objects.filter(key="long").exists()


# ---- model validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("handle", ["AcmeAir", "@Acme Air", "@acme-air", "@", "@" + "a" * 31])
def test_brand_handle_must_be_an_at_handle(db, handle):
    with pytest.raises(ValidationError) as caught:
        services.brand_create(key="acme", name="Acme", handle=handle)

    assert "handle" in caught.value.message_dict
    assert not Brand.objects.filter(key="acme").exists()


@pytest.mark.parametrize("key", ["Cancelled Flight", "cancelled/flight", "", "tab\tkey"])
def test_issue_key_has_no_spaces_or_slashes(db, key):
    with pytest.raises(ValidationError) as caught:
        services.issue_create(key=key, title="Cancelled flight")

    assert "key" in caught.value.message_dict
    assert not Issue.objects.exists()


def test_keys_from_other_systems_are_accepted(db):
    issue = services.issue_create(key="reverted_card_payment?", title="Reverted card payment")
    response = services.response_create(issue=issue, key="reverted_card_payment?-reply", text="Sorry!")

    assert Issue.objects.get(key="reverted_card_payment?") == issue
    assert response.key == "reverted_card_payment?-reply"


def test_response_key_has_no_spaces(db):
    with pytest.raises(ValidationError) as caught:
        services.response_create(issue=IssueFactory(), key="sorry dm", text="Sorry!")

    assert "key" in caught.value.message_dict


def test_valid_until_must_be_after_valid_from(db):
    with pytest.raises(ValidationError) as caught:
        services.response_create(
            issue=IssueFactory(),
            key="promo",
            text="Sorry!",
            valid_from=datetime(2025, 6, 1, tzinfo=UTC),
            valid_until=datetime(2025, 5, 1, tzinfo=UTC),
        )

    assert "valid_until" in caught.value.message_dict
    assert not Response.objects.filter(key="promo").exists()


@pytest.mark.parametrize("language", ["English", "EN", "e", "pt_BR", ""])
def test_language_must_be_a_language_tag(db, language):
    with pytest.raises(ValidationError) as caught:
        services.response_create(issue=IssueFactory(), key="sorry", text="Sorry!", language=language)

    assert "language" in caught.value.message_dict


@pytest.mark.parametrize("language", ["en", "de", "pt-BR", "zh-Hant"])
def test_common_language_tags_are_accepted(db, language):
    response = services.response_create(issue=IssueFactory(), key="sorry", text="Sorry!", language=language)

    assert Response.objects.get(pk=response.pk).language == language


def test_the_same_example_twice_for_one_issue_is_refused(db):
    issue = IssueFactory()
    services.example_create(issue=issue, text="my flight got cancelled")

    with pytest.raises(ValidationError):
        services.example_create(issue=issue, text="  my flight got cancelled  ")

    assert issue.examples.count() == 1


def test_the_same_example_may_belong_to_two_issues(db):
    services.example_create(issue=IssueFactory(), text="my flight got cancelled")
    services.example_create(issue=IssueFactory(), text="my flight got cancelled")

    assert Example.objects.filter(text="my flight got cancelled").count() == 2


def test_an_empty_example_is_refused(db):
    issue = IssueFactory()

    with pytest.raises(ValidationError):
        services.example_create(issue=issue, text="   ")

    assert not issue.examples.exists()


def test_bad_tag_is_refused_and_nothing_of_the_edit_is_kept(editor):
    issue = IssueFactory(title="Old title")

    with pytest.raises(ValidationError) as caught:
        services.issue_update(issue=issue, updated_by=editor, title="New title", tags=["not a tag!"])

    assert "tags" in caught.value.message_dict
    assert Issue.objects.get(pk=issue.pk).title == "Old title"


# ---- history --------------------------------------------------------------------------------------


def test_every_response_change_writes_a_history_row_with_the_user_and_reason(author, editor):
    issue = IssueFactory()
    response = services.response_create(
        issue=issue, key="sorry", text="Sorry!", channel="twitter", created_by=author
    )
    services.response_update(response=response, updated_by=author, text="Sorry about that!")
    services.response_submit(response=response, user=author)
    services.response_approve(response=response, approved_by=editor)

    rows = list(response.history.order_by("history_date", "history_id"))

    assert [(row.history_user, row.status, row.text) for row in rows] == [
        (author, DRAFT, "Sorry!"),
        (author, DRAFT, "Sorry about that!"),
        (author, IN_REVIEW, "Sorry about that!"),
        (editor, APPROVED, "Sorry about that!"),
    ]
    assert [row.history_change_reason for row in rows] == [
        "created",
        "edited text",
        "submit for review",
        "approve",
    ]


def test_unchanged_update_writes_no_history_row(editor, approved):
    issue, brand = approved.issue, approved.issue.brand
    before = (approved.history.count(), issue.history.count(), brand.history.count())

    services.response_update(
        response=approved, updated_by=editor, text=approved.text, channel=approved.channel
    )
    services.issue_update(issue=issue, updated_by=editor, title=issue.title, tags=[])
    services.brand_update(brand=brand, updated_by=editor, name=brand.name, handle=brand.handle)

    assert (approved.history.count(), issue.history.count(), brand.history.count()) == before


def test_unchanged_update_announces_nothing(
    editor, approved, announcements, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.response_update(response=approved, updated_by=editor, text=approved.text)
        services.issue_update(issue=approved.issue, updated_by=editor, title=approved.issue.title)

    assert announcements == []


def test_issue_tag_change_writes_a_history_row_with_the_user(editor):
    issue = services.issue_create(key="cancelled", title="Cancelled flight", tags=["irregular-ops"])
    before = issue.history.count()

    services.issue_update(issue=Issue.objects.get(pk=issue.pk), updated_by=editor, tags=["refunds"])

    latest = issue.history.order_by("-history_date", "-history_id").first()
    assert issue.history.count() > before
    assert latest.history_user == editor
    assert [link.tag.name for link in latest.tags.all()] == ["refunds"]
    assert sorted(Issue.objects.get(pk=issue.pk).tags.values_list("name", flat=True)) == ["refunds"]


def test_tags_are_normalised_to_lower_case_without_duplicates(db):
    issue = services.issue_create(
        key="cancelled", title="Cancelled", tags=["Refunds", " refunds ", "", "ops"]
    )

    assert sorted(issue.tags.values_list("name", flat=True)) == ["ops", "refunds"]


def test_issue_retire_and_restore(editor):
    issue = IssueFactory()

    services.issue_retire(issue=issue, retired_by=editor)
    assert Issue.objects.get(pk=issue.pk).is_active is False

    services.issue_restore(issue=issue, restored_by=editor)
    assert Issue.objects.get(pk=issue.pk).is_active is True

    latest = issue.history.order_by("-history_id")[:2]
    assert [(row.is_active, row.history_user) for row in latest] == [(True, editor), (False, editor)]


def test_retiring_an_issue_keeps_its_responses_and_examples(editor):
    response = ResponseFactory()
    example = ExampleFactory(issue=response.issue)

    services.issue_retire(issue=response.issue, retired_by=editor)

    assert Response.objects.filter(pk=response.pk).exists()
    assert Example.objects.filter(pk=example.pk).exists()


def test_example_retire_keeps_the_example_but_marks_it_retired(editor):
    example = ExampleFactory()

    services.example_retire(example=example, retired_by=editor)

    stored = Example.objects.get(pk=example.pk)
    assert stored.status == Example.Status.RETIRED
    assert example.history.first().history_user == editor


# ---- announcements --------------------------------------------------------------------------------


def test_library_changed_is_sent_after_commit_with_the_changed_issue(
    editor, announcements, django_capture_on_commit_callbacks
):
    issue = IssueFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.example_create(issue=issue, text="my bag is lost", created_by=editor)
        assert announcements == []  # nothing before the commit

    assert announcements == [frozenset({issue.pk})]


def test_one_response_edit_with_a_status_change_is_announced_once(
    editor, approved, announcements, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.response_update(response=approved, updated_by=editor, text="Sorry!", status=RETIRED)

    assert announcements == [frozenset({approved.issue_id})]


def test_moving_a_response_to_another_issue_announces_both_issues(
    editor, draft, announcements, django_capture_on_commit_callbacks
):
    old_issue, new_issue = draft.issue, IssueFactory()

    with django_capture_on_commit_callbacks(execute=True):
        services.response_update(response=draft, updated_by=editor, issue=new_issue)

    assert announcements == [frozenset({old_issue.pk, new_issue.pk})]


def test_library_changed_is_not_sent_when_the_transaction_rolls_back(
    editor, announcements, django_capture_on_commit_callbacks
):
    issue = IssueFactory()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.example_create(issue=issue, text="my bag is lost", created_by=editor)
        raise RuntimeError("something later in the same request failed")

    assert announcements == []
    assert not issue.examples.exists()


def test_a_refused_edit_announces_nothing(editor, announcements, django_capture_on_commit_callbacks):
    issue = IssueFactory()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.issue_update(issue=issue, updated_by=editor, title="New", tags=["not a tag!"])

    assert announcements == []


def test_library_batch_merges_many_writes_into_one_announcement(
    editor, announcements, django_capture_on_commit_callbacks
):
    first, second = IssueFactory(), IssueFactory()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic(), services.library_batch():
        services.example_create(issue=first, text="one", created_by=editor)
        services.example_create(issue=first, text="two", created_by=editor)
        services.response_create(issue=second, key="sorry", text="Sorry!", created_by=editor)
        services.issue_update(issue=second, updated_by=editor, title="Renamed")

    assert announcements == [frozenset({first.pk, second.pk})]


def test_library_batch_that_fails_announces_nothing(
    editor, announcements, django_capture_on_commit_callbacks
):
    issue = IssueFactory()

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ValidationError),
        transaction.atomic(),
        services.library_batch(),
    ):
        services.example_create(issue=issue, text="one", created_by=editor)
        services.example_create(issue=issue, text="one", created_by=editor)

    assert announcements == []


def test_creating_a_brand_announces_nothing_until_it_has_issues(
    editor, announcements, django_capture_on_commit_callbacks
):
    brand = BrandFactory(key="zed", handle="@Zed")

    with django_capture_on_commit_callbacks(execute=True):
        services.brand_update(brand=brand, updated_by=editor, name="Zed Air")
    assert announcements == []

    issue = IssueFactory(brand=brand)
    with django_capture_on_commit_callbacks(execute=True):
        services.brand_update(brand=brand, updated_by=editor, handle="@ZedAir")
    assert announcements == [frozenset({issue.pk})]


# ---- roles ----------------------------------------------------------------------------------------


def test_role_groups_exist_after_migrate(db):
    assert set(Group.objects.values_list("name", flat=True)) >= {"Editors", "Authors", "Agents"}


# Settings, not records: a lead removes a brand's response target to fall back to the default.
DELETABLE_SETTINGS = {"delete_responsetarget"}


def test_no_role_may_delete_anything_but_a_setting(db):
    codenames = Permission.objects.filter(group__name__in=["Editors", "Authors", "Agents"]).values_list(
        "codename", flat=True
    )

    assert codenames
    deletions = {name for name in codenames if name.startswith("delete_")}
    assert deletions <= DELETABLE_SETTINGS


def test_only_editors_hold_the_approve_permission(db):
    holders = Group.objects.filter(permissions__codename="approve_response").values_list("name", flat=True)

    assert list(holders) == ["Editors"]


def test_authors_may_edit_issues_examples_and_responses_but_not_brands(author, editor):
    assert author.has_perm("kb.change_response")
    assert author.has_perm("kb.add_example")
    assert not author.has_perm("kb.change_brand")
    assert editor.has_perm("kb.change_brand")


def test_agents_may_only_read(agent):
    assert agent.has_perm("kb.view_response")
    assert not agent.has_perm("kb.change_response")
    assert not agent.has_perm("kb.add_example")
