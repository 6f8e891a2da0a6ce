"""The admin as editors use it: through the test client, against the real services."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kb import services
from kb.library_file import library_dumps, library_export
from kb.models import Brand, Example, Issue, Response, Tag
from kb.rendering import SAMPLE_CONTEXT, render_reply
from tests.factories import BrandFactory, ExampleFactory, IssueFactory, ResponseFactory, UserFactory

pytestmark = pytest.mark.django_db

LONG_TEXT = "Hi {{ customer_name }}, " + "we are so sorry about this. " * 12


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:kb_{name}", args=args)


def shown(response: Any) -> list[Any]:
    return list(response.context["cl"].result_list)


def notes(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def library(db):
    """A small library: two brands, tagged issues, examples, responses in every status."""
    acme = BrandFactory()
    bolt = BrandFactory(key="bolt-bikes", name="Bolt Bikes", handle="@BoltBikes")
    baggage = Tag.objects.create(name="baggage")
    lost_bag = IssueFactory(key="lost-bag", title="Lost bag", brand=acme)
    lost_bag.tags.add(baggage)
    flat_tyre = IssueFactory(key="flat-tyre", title="Flat tyre", brand=bolt, private_channel=True)
    ExampleFactory(issue=lost_bag, text="my bag never arrived")
    ExampleFactory(issue=flat_tyre, text="tyre went flat after a day", source="learned", status="pending")
    return {
        "acme": acme,
        "bolt": bolt,
        "lost_bag": lost_bag,
        "flat_tyre": flat_tyre,
        "approved": ResponseFactory(issue=lost_bag, key="bag-sorry", status="approved"),
        "draft": ResponseFactory(
            issue=flat_tyre, key="tyre-dm", status="draft", channel="facebook", language="de"
        ),
    }


@pytest.fixture
def as_editor(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def as_author(client, author):
    client.force_login(author)
    return client


# ---- every page answers -------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "editor"])
def test_every_changelist_add_and_change_page_answers(request, client, library, who):
    client.force_login(request.getfixturevalue(who))
    objects = {
        "brand": library["acme"],
        "issue": library["lost_bag"],
        "example": library["lost_bag"].examples.get(),
        "response": library["approved"],
    }
    for model, obj in objects.items():
        for page in (url(f"{model}_changelist"), url(f"{model}_add"), url(f"{model}_change", obj.pk)):
            assert client.get(page).status_code == 200, page


def test_history_and_revert_pages_answer(as_editor, library, editor):
    response = library["approved"]
    services.response_update(response=response, updated_by=editor, text="Sorry {{ customer_name }}!")
    for model, obj in [
        ("brand", library["acme"]),
        ("issue", library["lost_bag"]),
        ("example", library["lost_bag"].examples.get()),
        ("response", response),
    ]:
        history = as_editor.get(url(f"{model}_history", obj.pk))
        assert history.status_code == 200
        version = obj.history.earliest("history_date")
        assert as_editor.get(url(f"{model}_simple_history", obj.pk, version.history_id)).status_code == 200
    assert (
        b"Sorry {{ customer_name }}!"
        not in as_editor.get(
            url("response_simple_history", response.pk, response.history.earliest("history_date").history_id)
        ).content
    )


def test_changelists_do_not_query_once_per_row(as_editor, library):
    def queries(page: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert as_editor.get(page).status_code == 200
        return len(captured)

    pages = [url("issue_changelist"), url("response_changelist"), url("example_changelist")]
    before = [queries(page) for page in pages]
    for n in range(5):
        issue = IssueFactory(brand=BrandFactory(key=f"brand-{n}", name=f"Brand {n}", handle=f"@brand{n}"))
        issue.tags.add(Tag.objects.create(name=f"tag-{n}"))
        ExampleFactory(issue=issue)
        ResponseFactory(issue=issue, approved_by=UserFactory())
    assert [queries(page) for page in pages] == before


# ---- lists: filters and search ------------------------------------------------------------------


def test_issue_list_shows_counts_and_filters_narrow_it(as_editor, library):
    page = as_editor.get(url("issue_changelist"))
    rows = {issue.key: issue for issue in shown(page)}
    assert rows["lost-bag"].active_example_count == 1
    assert rows["lost-bag"].approved_response_count == 1
    assert rows["flat-tyre"].active_example_count == 0  # its only example is pending
    assert b"baggage" in page.content
    to_responses = url("response_changelist") + f"?issue__id__exact={library['lost_bag'].pk}"
    assert to_responses in page.content.decode()
    assert [r.key for r in shown(as_editor.get(to_responses))] == ["bag-sorry"]

    def keys(query: str) -> set[str]:
        return {issue.key for issue in shown(as_editor.get(url("issue_changelist") + query))}

    assert keys(f"?brand__id__exact={library['bolt'].pk}") == {"flat-tyre"}
    assert keys("?private_channel__exact=1") == {"flat-tyre"}
    assert keys(f"?tags__id__exact={Tag.objects.get(name='baggage').pk}") == {"lost-bag"}
    assert keys("?approved=yes") == {"lost-bag"}
    assert keys("?approved=no") == {"flat-tyre"}
    assert keys("?q=never+arrived") == {"lost-bag"}  # example text
    assert keys("?q=flat") == {"flat-tyre"}
    services.issue_retire(issue=library["flat_tyre"])
    assert keys("?is_active__exact=0") == {"flat-tyre"}


def test_response_list_filters_and_search_narrow_it(as_editor, library):
    library["draft"].valid_until = timezone.now() - timedelta(days=1)
    library["draft"].save()
    ResponseFactory(
        issue=library["lost_bag"],
        key="bag-expired",
        status="approved",
        valid_until=timezone.now() - timedelta(days=1),
    )

    def keys(query: str) -> set[str]:
        page = as_editor.get(url("response_changelist") + query)
        assert page.status_code == 200
        return {response.key for response in shown(page)}

    assert keys("?status__exact=draft") == {"tyre-dm"}
    assert keys("?channel__exact=facebook") == {"tyre-dm"}
    assert keys(f"?issue__brand__id__exact={library['acme'].pk}") == {"bag-sorry", "bag-expired"}
    assert keys(f"?issue__tags__id__exact={Tag.objects.get(name='baggage').pk}") == {
        "bag-sorry",
        "bag-expired",
    }
    assert keys("?language=de") == {"tyre-dm"}
    assert keys("?live=yes") == {"bag-sorry"}
    assert keys("?live=no") == {"tyre-dm", "bag-expired"}
    assert keys("?q=tyre") == {"tyre-dm"}  # issue key
    assert keys("?q=Lost+bag") == {"bag-sorry", "bag-expired"}  # issue title


def test_response_list_shows_length_and_fit_as_the_channel_counts(as_editor, library):
    ResponseFactory(issue=library["lost_bag"], key="bag-long", status="draft", text=LONG_TEXT)
    page = as_editor.get(url("response_changelist") + "?q=bag-")
    html = page.content.decode()
    fits = render_reply(library["approved"].text, SAMPLE_CONTEXT, "twitter")
    assert f"{fits.length} / 280" in html
    assert 'alt="True"' in html and 'alt="False"' in html


def test_example_list_filters_narrow_it(as_editor, library):
    def texts(query: str) -> set[str]:
        return {example.text for example in shown(as_editor.get(url("example_changelist") + query))}

    assert texts("?status__exact=pending") == {"tyre went flat after a day"}
    assert texts("?source__exact=editor") == {"my bag never arrived"}
    assert texts(f"?issue__brand__id__exact={library['acme'].pk}") == {"my bag never arrived"}
    assert texts(f"?issue__tags__id__exact={Tag.objects.get(name='baggage').pk}") == {"my bag never arrived"}
    assert texts("?q=flat") == {"tyre went flat after a day"}


# ---- the response lifecycle ---------------------------------------------------------------------


def act(client: Any, action: str, *objects: Any, model: str = "response") -> Any:
    return client.post(
        url(f"{model}_changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
        follow=True,
    )


def test_editor_takes_a_response_through_its_whole_life_with_bulk_actions(as_editor, editor, library):
    response = library["draft"]
    for action, status in [
        ("submit_selected", "in_review"),
        ("approve_selected", "approved"),
        ("retire_selected", "retired"),
        ("reopen_selected", "draft"),
        ("submit_selected", "in_review"),
        ("approve_selected", "approved"),
    ]:
        page = act(as_editor, action, response)
        assert page.status_code == 200
        response.refresh_from_db()
        assert response.status == status, (action, notes(page))
    assert response.approved_by == editor
    assert "1 response approved." in notes(page)
    assert [h.history_user for h in response.history.all()[:6]] == [editor] * 6


def test_bulk_action_reports_each_refusal_with_its_reason(as_editor, library):
    page = act(as_editor, "approve_selected", library["draft"], library["approved"])
    library["draft"].refresh_from_db()
    assert library["draft"].status == "draft"
    messages = notes(page)
    assert any(
        "tyre-dm: cannot go from draft to approved. Submit it for review first." in m for m in messages
    )
    assert "Already approved: bag-sorry" in messages

    page = act(as_editor, "reopen_selected", library["approved"])
    library["approved"].refresh_from_db()
    assert library["approved"].status == "approved"
    assert any("bag-sorry: it is approved, this step is for retired responses." in m for m in notes(page))


def test_bulk_approve_refuses_a_reply_too_long_for_its_channel(as_editor, library):
    long = ResponseFactory(issue=library["lost_bag"], key="bag-long", status="in_review", text=LONG_TEXT)
    page = act(as_editor, "approve_selected", long)
    long.refresh_from_db()
    assert long.status == "in_review"
    assert any("over the 280 that Twitter / X allows" in m for m in notes(page))


def test_author_is_not_offered_approve_and_cannot_approve(as_author, library):
    response = library["draft"]
    services.response_submit(response=response)
    page = as_author.get(url("response_changelist"))
    offered = [name for name, _ in page.context["action_form"].fields["action"].choices]
    assert "submit_selected" in offered
    assert "approve_selected" not in offered

    act(as_author, "approve_selected", response)
    response.refresh_from_db()
    assert response.status == "in_review"


def test_transition_buttons_on_the_change_page(as_editor, library):
    response = library["draft"]
    page = as_editor.get(url("response_change", response.pk))
    submit_url = url("response_transition", response.pk, "in_review")
    assert submit_url in page.content.decode()
    assert url("response_transition", response.pk, "approved") not in page.content.decode()

    assert as_editor.get(submit_url).status_code == 405
    page = as_editor.post(submit_url, follow=True)
    response.refresh_from_db()
    assert response.status == "in_review"
    assert "“tyre-dm” is now in review." in notes(page)
    assert url("response_transition", response.pk, "approved") in page.content.decode()

    as_editor.post(url("response_transition", response.pk, "approved"))
    response.refresh_from_db()
    assert response.status == "approved"


def test_transition_buttons_need_the_csrf_token(client, editor, library):
    client = client.__class__(enforce_csrf_checks=True)
    client.force_login(editor)
    assert client.post(url("response_transition", library["draft"].pk, "in_review")).status_code == 403
    library["draft"].refresh_from_db()
    assert library["draft"].status == "draft"


def test_author_gets_no_approve_button_and_posting_it_is_refused(as_author, library):
    response = library["draft"]
    services.response_submit(response=response)
    approve_url = url("response_transition", response.pk, "approved")
    page = as_author.get(url("response_change", response.pk))
    assert approve_url not in page.content.decode()
    assert url("response_transition", response.pk, "retired") in page.content.decode()

    page = as_author.post(approve_url, follow=True)
    response.refresh_from_db()
    assert response.status == "in_review"
    assert "tyre-dm: only editors may approve responses." in notes(page)


# ---- editing through the forms ------------------------------------------------------------------


def inline_management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def issue_form_data(issue: Issue, **changes: Any) -> dict[str, Any]:
    """What the change page posts back unchanged: the issue, its examples and responses."""
    examples = list(issue.examples.all())
    responses = list(issue.responses.all())
    data: dict[str, Any] = {
        "key": issue.key,
        "brand": issue.brand_id or "",
        "title": issue.title,
        "description": issue.description,
        "tag_names": ", ".join(issue.tags.values_list("name", flat=True)),
        "is_active": "on" if issue.is_active else "",
        **inline_management("examples", len(examples), len(examples)),
        **inline_management("responses", len(responses), len(responses)),
    }
    if issue.private_channel:
        data["private_channel"] = "on"
    for n, example in enumerate(examples):
        data.update(
            {
                f"examples-{n}-id": example.pk,
                f"examples-{n}-issue": issue.pk,
                f"examples-{n}-text": example.text,
                f"examples-{n}-status": example.status,
            }
        )
    for n, response in enumerate(responses):
        data.update(
            {
                f"responses-{n}-id": response.pk,
                f"responses-{n}-issue": issue.pk,
                f"responses-{n}-key": response.key,
                f"responses-{n}-channel": response.channel,
                f"responses-{n}-language": response.language,
                f"responses-{n}-text": response.text,
            }
        )
    data.update(changes)
    return data


def test_editor_creates_an_issue_with_examples_and_a_response_on_one_page(as_editor, editor, library):
    data = {
        "key": "refund-delay",
        "brand": library["acme"].pk,
        "title": "Refund takes too long",
        "description": "Check the refund date first.",
        "tag_names": "Refunds, money",
        **inline_management("examples", 3),
        "examples-0-text": "where is my refund??",
        "examples-0-status": "active",
        "examples-1-text": "  still waiting for my money back  ",
        "examples-1-status": "active",
        "examples-2-status": "active",  # the empty extra row: ignored
        **inline_management("responses", 1),
        "responses-0-key": "refund-dm",
        "responses-0-channel": "twitter",
        "responses-0-language": "en",
        "responses-0-text": "Hi {{ customer_name }}, sorry for the wait. DM us. ^{{ agent_initials }}",
    }
    page = as_editor.post(url("issue_add"), data)
    assert page.status_code == 302, page.context and page.context["errors"]

    issue = Issue.objects.get(key="refund-delay")
    assert sorted(issue.tags.values_list("name", flat=True)) == ["money", "refunds"]
    assert sorted(issue.examples.values_list("text", flat=True)) == [
        "still waiting for my money back",
        "where is my refund??",
    ]
    response = issue.responses.get()
    assert (response.key, response.status, response.created_by) == ("refund-dm", "draft", editor)
    assert issue.created_by == editor
    assert issue.history.earliest("history_date").history_user == editor
    assert all(example.history.get().history_user == editor for example in issue.examples.all())
    assert response.history.get().history_user == editor


def test_editing_an_issue_page_writes_through_the_services(as_editor, editor, library):
    issue = library["lost_bag"]
    data = issue_form_data(
        issue,
        title="Lost or delayed bag",
        tag_names="baggage delay",
        **{"examples-0-status": "retired", "responses-0-text": "Sorry {{ customer_name }}, DM us."},
    )
    page = as_editor.post(url("issue_change", issue.pk), data)
    assert page.status_code == 302, page.context and page.context["errors"]
    issue.refresh_from_db()
    assert issue.title == "Lost or delayed bag"
    assert sorted(issue.tags.values_list("name", flat=True)) == ["baggage", "delay"]
    assert issue.examples.get().status == "retired"
    response = issue.responses.get()
    # An editor's edit of an approved reply stays approved, re-approved by the editor.
    assert (response.text, response.status, response.approved_by) == (
        "Sorry {{ customer_name }}, DM us.",
        "approved",
        editor,
    )
    assert issue.history.latest("history_date").history_change_reason.startswith(("edited", "~"))


def test_invalid_tag_is_a_form_error(as_editor, library):
    issue = library["lost_bag"]
    page = as_editor.post(
        url("issue_change", issue.pk), issue_form_data(issue, tag_names="baggage, lost+found")
    )
    assert page.status_code == 200
    assert "&#x27;lost+found&#x27; is not a valid tag" in page.content.decode()
    assert list(issue.tags.values_list("name", flat=True)) == ["baggage"]


def response_form_data(response: Response, **changes: Any) -> dict[str, Any]:
    return {
        "issue": response.issue_id,
        "key": response.key,
        "channel": response.channel,
        "language": response.language,
        "text": response.text,
        **changes,
    }


def test_unknown_template_variable_is_a_form_error_and_nothing_is_saved(as_editor, library):
    new = {"issue": library["lost_bag"].pk, "key": "bag-new", "channel": "twitter", "language": "en"}
    page = as_editor.post(url("response_add"), {**new, "text": "Hi {{ customer_nmae }}!"})
    assert page.status_code == 200
    assert "Unknown template variable: customer_nmae." in page.content.decode()
    assert not Response.objects.filter(key="bag-new").exists()

    response = library["approved"]
    page = as_editor.post(
        url("response_change", response.pk), response_form_data(response, text="Hi {{ agent }}")
    )
    assert page.status_code == 200
    assert "Unknown template variable: agent." in page.content.decode()
    response.refresh_from_db()
    assert "agent }}" not in response.text


def test_unknown_variable_in_an_issue_page_response_is_a_form_error(as_editor, library):
    issue = library["lost_bag"]
    before = issue.responses.get().text
    page = as_editor.post(
        url("issue_change", issue.pk),
        issue_form_data(issue, title="Changed", **{"responses-0-text": "{{ nope }}"}),
    )
    assert page.status_code == 200
    assert "Unknown template variable: nope." in page.content.decode()
    issue.refresh_from_db()
    assert (issue.title, issue.responses.get().text) == ("Lost bag", before)


def test_editor_cannot_grow_an_approved_reply_past_its_channel_limit(as_editor, library):
    response = library["approved"]
    page = as_editor.post(url("response_change", response.pk), response_form_data(response, text=LONG_TEXT))
    assert page.status_code == 200
    assert "over the 280 that Twitter / X allows" in page.content.decode()
    response.refresh_from_db()
    assert response.text != LONG_TEXT


def test_status_is_not_editable_in_the_form(as_editor, library):
    response = library["draft"]
    page = as_editor.post(
        url("response_change", response.pk), response_form_data(response, status="approved")
    )
    assert page.status_code == 302
    response.refresh_from_db()
    assert response.status == "draft"


def test_author_editing_an_approved_reply_sends_it_to_review(as_author, library):
    response = library["approved"]
    page = as_author.post(url("response_change", response.pk), response_form_data(response, text="Sorry!"))
    assert page.status_code == 302
    response.refresh_from_db()
    assert (response.text, response.status) == ("Sorry!", "in_review")


def test_change_page_previews_the_reply_for_the_sample_customer(as_editor, library):
    page = as_editor.get(url("response_change", library["approved"].pk))
    html = page.content.decode()
    assert "Alexandra, sorry about that. Please DM us. ^SL" in html
    assert "of 280 allowed on Twitter / X — fits" in html


# ---- history and revert -------------------------------------------------------------------------


def revert(client: Any, response: Response, version: Any) -> Any:
    old = version.instance
    return client.post(
        url("response_simple_history", response.pk, version.history_id), response_form_data(old)
    )


def test_reverting_a_retired_response_restores_its_text_but_keeps_it_retired(as_editor, editor, library):
    response = library["approved"]
    original = response.history.earliest("history_date")
    services.response_update(response=response, updated_by=editor, text="Changed {{ customer_name }}")
    services.response_retire(response=response, retired_by=editor)

    page = revert(as_editor, response, original)
    assert page.status_code == 302
    response.refresh_from_db()
    assert response.text == original.text
    assert response.status == "retired"
    assert response.history.latest("history_date").history_user == editor


def test_author_reverting_an_approved_response_sends_it_to_review(as_author, editor, library):
    response = library["approved"]
    original = response.history.earliest("history_date")
    services.response_update(response=response, updated_by=editor, text="Changed {{ customer_name }}")

    assert revert(as_author, response, original).status_code == 302
    response.refresh_from_db()
    assert (response.text, response.status) == (original.text, "in_review")


def test_reverting_an_issue_restores_its_tags(as_editor, editor, library):
    issue = library["lost_bag"]
    services.issue_update(issue=issue, updated_by=editor, title="Renamed", tags=["other"])
    version = issue.history.filter(title="Lost bag").latest("history_date")
    page = as_editor.get(url("issue_simple_history", issue.pk, version.history_id))
    assert page.context["adminform"].form.initial["tag_names"] == "baggage"

    data = {"key": issue.key, "brand": issue.brand_id, "title": "Lost bag", "description": issue.description}
    page = as_editor.post(
        url("issue_simple_history", issue.pk, version.history_id),
        {**data, "tag_names": "baggage", "is_active": "on"},
    )
    assert page.status_code == 302
    issue.refresh_from_db()
    assert (issue.title, list(issue.tags.values_list("name", flat=True))) == ("Lost bag", ["baggage"])


# ---- nothing hard-deleted -----------------------------------------------------------------------


@pytest.mark.parametrize("model", ["brand", "issue", "example", "response"])
def test_delete_is_not_offered(client, admin_user, library, model):
    client.force_login(admin_user)
    obj = {
        "brand": library["acme"],
        "issue": library["lost_bag"],
        "example": library["lost_bag"].examples.get(),
        "response": library["approved"],
    }[model]
    assert client.get(url(f"{model}_delete", obj.pk)).status_code == 403
    action_form = client.get(url(f"{model}_changelist")).context["action_form"]
    offered = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in offered
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_issues_are_retired_and_restored_by_actions(as_editor, editor, library):
    issue = library["lost_bag"]
    act(as_editor, "retire_selected", issue, model="issue")
    issue.refresh_from_db()
    assert not issue.is_active
    assert issue.history.latest("history_date").history_user == editor
    act(as_editor, "restore_selected", issue, model="issue")
    issue.refresh_from_db()
    assert issue.is_active


def test_examples_are_activated_and_retired_by_actions(as_editor, library):
    pending = Example.objects.get(status="pending")
    page = act(as_editor, "activate_selected", pending, model="example")
    pending.refresh_from_db()
    assert pending.status == "active"
    assert "1 example activated." in notes(page)
    act(as_editor, "retire_selected", pending, model="example")
    pending.refresh_from_db()
    assert pending.status == "retired"


# ---- import and export --------------------------------------------------------------------------


def library_file(**issue: Any) -> SimpleUploadedFile:
    entry = {
        "key": "seat-change",
        "brand": "acme-air",
        "title": "Wants another seat",
        "tags": ["seats"],
        "examples": ["can I change my seat?"],
        "responses": [
            {
                "key": "seat-dm",
                "channel": "twitter",
                "status": "approved",
                "text": "Hi {{ customer_name }}, DM us.",
            }
        ],
        **issue,
    }
    data = {
        "format": "careline-library/1",
        "brands": [{"key": "acme-air", "name": "Acme Air", "handle": "@AcmeAir"}],
        "issues": [entry],
    }
    return SimpleUploadedFile("library.json", json.dumps(data).encode(), content_type="application/json")


def test_import_dry_run_shows_the_changes_and_writes_nothing(as_editor, library):
    page = as_editor.post(url("issue_import"), {"file": library_file(), "dry_run": "on"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dry run — nothing was written" in html
    assert "+ issue seat-change" in html
    assert "+ response seat-dm (approved)" in html
    assert not Issue.objects.filter(key="seat-change").exists()

    # "Apply these changes" posts back exactly what was previewed.
    applied = as_editor.post(url("issue_import"), {"content": page.context["apply_content"]})
    assert applied.status_code == 200
    assert Issue.objects.filter(key="seat-change").exists()


def test_import_creates_the_rows(as_editor, editor, library):
    page = as_editor.post(url("issue_import"), {"file": library_file()})
    assert page.status_code == 200
    assert "Imported" in page.content.decode()
    issue = Issue.objects.get(key="seat-change")
    assert list(issue.examples.values_list("text", flat=True)) == ["can I change my seat?"]
    response = issue.responses.get()
    assert (response.status, response.approved_by) == ("approved", editor)


def test_import_with_prune_retires_what_the_file_no_longer_names(as_editor, library):
    as_editor.post(url("issue_import"), {"file": library_file(), "prune": "on"})
    library["lost_bag"].refresh_from_db()
    library["approved"].refresh_from_db()
    assert not library["lost_bag"].is_active
    assert library["approved"].status == "retired"


def test_a_bad_file_shows_its_errors_and_writes_nothing(as_editor, library):
    bad = library_file(responses=[{"key": "seat-dm", "channel": "pigeon", "text": "Hi {{ nobody }}"}])
    page = as_editor.post(url("issue_import"), {"file": bad})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Nothing was imported" in html
    assert "issues[0] &#x27;seat-change&#x27;: responses[0] &#x27;seat-dm&#x27;: channel" in html
    assert not Issue.objects.filter(key="seat-change").exists()

    page = as_editor.post(url("issue_import"), {"file": SimpleUploadedFile("x.json", b"{not json")})
    assert "file: not valid JSON" in page.content.decode()


def test_author_may_not_import(as_author, library):
    assert url("issue_import") not in as_author.get(url("issue_changelist")).content.decode()
    assert as_author.get(url("issue_import")).status_code == 403
    assert as_author.post(url("issue_import"), {"file": library_file()}).status_code == 403
    assert not Issue.objects.filter(key="seat-change").exists()


def test_export_downloads_the_library_file(as_author, library):
    page = as_author.get(url("issue_export"))
    assert page.status_code == 200
    assert page["Content-Disposition"] == (
        f'attachment; filename="careline-library-{timezone.localdate():%Y%m%d}.json"'
    )
    assert page.content.decode() == library_dumps(library_export())
    assert {issue["key"] for issue in json.loads(page.content)["issues"]} == {"lost-bag", "flat-tyre"}
    assert Brand.objects.count() == len(json.loads(page.content)["brands"])


def test_keys_from_other_systems_work_in_the_admin(as_editor, library):
    response = ResponseFactory(issue=library["lost_bag"], key="reverted_card_payment?", status="draft")
    assert as_editor.get(url("response_change", response.pk)).status_code == 200
    page = as_editor.post(url("response_transition", response.pk, "in_review"), follow=True)
    response.refresh_from_db()
    assert response.status == "in_review"
    assert "“reverted_card_payment?” is now in review." in notes(page)
    assert [r.key for r in shown(as_editor.get(url("response_changelist") + "?q=card_payment"))] == [
        "reverted_card_payment?"
    ]
