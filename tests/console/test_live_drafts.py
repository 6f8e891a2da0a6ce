"""What an agent sees and sends is live at that moment: a mention's drafts are checked when they
are shown and again when one is sent (approved, inside its validity window, on an active issue,
for the mention's brand or every brand's), and a reply the channel would not carry is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.html import escape

from console.models import Mention
from console.services import mention_answer, mention_drafts, mention_receive
from kb import services
from kb.models import Response
from suggestions.models import Feedback
from tests.factories import UserFactory

MENTIONS = "/api/v1/mentions/"
DM = "lost-baggage-dm"


@pytest.fixture
def luggage(library, django_capture_on_commit_callbacks):
    """A mention of Acme Air's on Twitter, answered by the engine (lost-baggage-dm first)."""
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="@AcmeAir the airline lost my luggage",
            external_id="t-1",
            channel="twitter",
            brand=library.brands["acme-air"],
            author_name="Jane",
            author_handle="@jane",
        )
    mention.refresh_from_db()
    assert mention.suggestion.shown[0]["response"] == DM
    return mention


def dm(library) -> Response:
    return Response.objects.get(pk=library.responses[DM].pk)


def edited_by_an_author(library, author, editor):
    services.response_update(response=dm(library), updated_by=author, text="Unreviewed words. DM us.")


def retired(library, author, editor):
    services.response_retire(response=dm(library), retired_by=editor)


def expired(library, author, editor):
    # Time passes: its validity window ends while the mention waits.
    Response.objects.filter(pk=library.responses[DM].pk).update(
        valid_until=timezone.now() - timedelta(seconds=1)
    )


def withdrawn_to_draft(library, author, editor):
    services.response_transition(response=dm(library), to_status=Response.Status.DRAFT, user=editor)


def issue_retired(library, author, editor):
    services.issue_retire(issue=library.issues["lost-baggage"], retired_by=editor)


def moved_to_another_brand(library, author, editor):
    services.issue_update(
        issue=library.issues["lost-baggage"], updated_by=editor, brand=library.brands["globex-bank"]
    )


def renamed(library, author, editor):
    services.response_update(response=dm(library), updated_by=editor, key="lost-baggage-dm-2")


NO_LONGER_LIVE = [
    edited_by_an_author,
    retired,
    expired,
    withdrawn_to_draft,
    issue_retired,
    moved_to_another_brand,
]


def drafts(mention, agent):
    mention.refresh_from_db()
    return mention_drafts(mention=mention, agent=agent)


def act(client, mention, verb, **data):
    return client.post(f"{MENTIONS}{mention.pk}/{verb}/", data, format="json")


# ---- shown -----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", [*NO_LONGER_LIVE, renamed])
def test_a_draft_whose_response_is_no_longer_live_is_not_shown(
    luggage, library, agent, author, editor, change
):
    before = drafts(luggage, agent)
    assert before[0]["response"] == DM

    change(library, author, editor)

    after = drafts(luggage, agent)
    assert DM not in [draft["response"] for draft in after]
    assert [draft["response"] for draft in after] == [draft["response"] for draft in before[1:]]
    assert "Unreviewed words" not in str(after)
    assert before[0]["text"] not in [draft["text"] for draft in after]


@pytest.mark.parametrize("change", NO_LONGER_LIVE)
def test_the_inbox_api_and_page_leave_it_out_too(
    luggage, library, agent, agent_client, client, author, editor, change
):
    change(library, author, editor)
    client.force_login(agent)

    over_api = agent_client.get(f"{MENTIONS}{luggage.pk}/").json()["suggestions"]
    listed = agent_client.get(MENTIONS).json()["results"][0]["suggestions"]
    html = client.get(f"/mentions/{luggage.pk}/").content.decode()

    assert DM not in [item["response"] for item in over_api]
    assert DM not in [item["response"] for item in listed]
    assert f'value="{DM}"' not in html
    assert "Unreviewed words" not in html
    assert "so sorry your bag hasn&#x27;t arrived" not in html


def test_a_draft_shows_the_current_approved_text_after_an_editor_edits_it(luggage, library, agent, editor):
    services.response_update(
        response=dm(library), updated_by=editor, text="{{ customer_name }}, new approved words."
    )

    assert drafts(luggage, agent)[0]["response"] == DM
    assert drafts(luggage, agent)[0]["text"] == "Jane, new approved words."


def test_a_draft_edited_by_an_author_returns_with_its_new_text_once_re_approved(
    luggage, library, agent, author, editor
):
    edited_by_an_author(library, author, editor)
    assert DM not in [draft["response"] for draft in drafts(luggage, agent)]

    services.response_approve(response=dm(library), approved_by=editor)

    first = drafts(luggage, agent)[0]
    assert (first["response"], first["text"]) == (DM, "Unreviewed words. DM us.")
    assert first["length"] == len("@jane Unreviewed words. DM us.")


def test_a_mention_whose_every_draft_died_offers_a_reply_of_the_agents_own(
    luggage, library, agent, client, editor
):
    for item in luggage.suggestion.shown:
        response = Response.objects.get(key=item["response"])
        services.response_retire(response=response, retired_by=editor)
    client.force_login(agent)

    html = client.get(f"/mentions/{luggage.pk}/").content.decode()

    assert 'id="own-reply"' in html
    assert 'name="response"' not in html


# ---- sent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("change", NO_LONGER_LIVE)
def test_sending_a_response_no_longer_live_is_refused(luggage, library, agent, author, editor, change):
    text = drafts(luggage, agent)[0]["text"]
    change(library, author, editor)

    with pytest.raises(ValidationError) as refused:
        mention_answer(mention=luggage, agent=agent, text=text, response=dm(library))

    assert "response" in refused.value.message_dict
    assert "pick another draft or write your own" in refused.value.message_dict["response"][0]
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.NEW
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("change", NO_LONGER_LIVE)
def test_the_answer_api_refuses_it_with_400_naming_response(
    luggage, library, agent, agent_client, author, editor, change
):
    text = drafts(luggage, agent)[0]["text"]
    change(library, author, editor)

    answer = act(agent_client, luggage, "answer", text=text, response=DM)

    assert answer.status_code == 400, answer.content
    assert list(answer.json()) == ["response"]
    assert "pick another draft or write your own" in answer.json()["response"][0]
    luggage.refresh_from_db()
    assert (luggage.status, luggage.reply_text) == (Mention.Status.NEW, "")
    assert not Feedback.objects.exists()


def test_the_refusal_says_why(luggage, library, agent, author, editor):
    expired(library, author, editor)

    with pytest.raises(ValidationError) as refused:
        mention_answer(mention=luggage, agent=agent, text="Hi", response=dm(library))

    assert "expired" in refused.value.message_dict["response"][0]


def test_a_reply_of_the_agents_own_still_goes_out_when_the_drafts_died(
    luggage, library, agent_client, author, editor
):
    retired(library, author, editor)

    answer = act(agent_client, luggage, "answer", text="Hi Jane, our baggage desk will call you.")

    assert (answer.status_code, answer.json()["status"]) == (200, "answered")


def test_sending_the_current_approved_text_is_recorded_as_accepted(
    luggage, library, agent, agent_client, editor
):
    services.response_update(
        response=dm(library), updated_by=editor, text="{{ customer_name }}, new approved words."
    )

    answer = act(agent_client, luggage, "answer", text="Jane, new approved words.", response=DM)

    assert answer.status_code == 200, answer.content
    assert Feedback.objects.get().action == Feedback.Action.ACCEPTED


@pytest.mark.parametrize("action", ["accepted", "edited"])
@pytest.mark.parametrize("change", NO_LONGER_LIVE)
def test_feedback_that_it_was_sent_is_refused_for_a_response_no_longer_live(
    luggage, library, editor_client, author, editor, change, action
):
    change(library, author, editor)

    answer = editor_client.post(
        f"/api/v1/suggestions/{luggage.suggestion_id}/feedback/",
        {"response": DM, "action": action, "final_text": "Jane, sorry! DM us."},
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert "response" in answer.json()
    assert not Feedback.objects.exists()


def test_a_response_no_longer_live_may_still_be_rejected(luggage, library, editor_client, author, editor):
    retired(library, author, editor)

    answer = editor_client.post(
        f"/api/v1/suggestions/{luggage.suggestion_id}/feedback/",
        {"response": DM, "action": "rejected"},
        format="json",
    )

    assert answer.status_code == 200, answer.content
    assert Feedback.objects.get().action == Feedback.Action.REJECTED


def test_a_console_send_refused_keeps_the_agents_typed_text(luggage, library, agent, client, author, editor):
    client.force_login(agent)
    typed = "Jane, so sorry! I have asked the baggage team to call you tonight."
    retired(library, author, editor)

    answer = client.post(f"/mentions/{luggage.pk}/send/", {"text": typed, "response": DM}, follow=True)

    html = answer.content.decode()
    assert "pick another draft or write your own" in html
    assert f">{escape(typed)}</textarea>" in html
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.NEW


# ---- length ----------------------------------------------------------------------------------


def test_an_over_length_reply_is_refused_over_the_api(luggage, agent_client):
    text = "Jane, " + "so sorry about your bag. " * 15

    answer = act(agent_client, luggage, "answer", text=text)

    assert answer.status_code == 400
    assert list(answer.json()) == ["text"]
    message = answer.json()["text"][0]
    assert "over the 280" in message
    assert str(len("@jane " + text.strip())) in message
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.NEW


def test_an_over_length_edit_of_a_draft_is_refused_over_the_api(luggage, agent, agent_client):
    text = drafts(luggage, agent)[0]["text"] + " " + "x" * 200

    answer = act(agent_client, luggage, "answer", text=text, response=DM)

    assert answer.status_code == 400
    assert "over the 280" in answer.json()["text"][0]
    assert not Feedback.objects.exists()


def test_an_over_length_reply_is_refused_in_the_console_and_kept(luggage, agent, client):
    client.force_login(agent)
    typed = "Jane, " + "so sorry about your bag. " * 15

    answer = client.post(f"/mentions/{luggage.pk}/send/", {"text": typed}, follow=True)

    html = answer.content.decode()
    assert "over the 280" in html
    assert f">{escape(typed.strip())}</textarea>" in html or f">{escape(typed)}</textarea>" in html
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.NEW


@pytest.mark.parametrize("handle", ["@jane", "@JANE"])
def test_the_customers_handle_is_not_counted_twice(luggage, agent, agent_client, client, handle):
    text = f"{handle} " + "x" * (280 - len(handle) - 1)
    client.force_login(agent)

    counted = client.get(f"/mentions/{luggage.pk}/length/", {"text": text}).json()
    answer = act(agent_client, luggage, "answer", text=text)

    assert counted == {"length": 280, "limit": 280, "fits": True, "parts": []}
    assert answer.status_code == 200, answer.content


def test_a_longer_handle_that_starts_like_the_customers_still_counts_theirs(luggage, agent, client):
    client.force_login(agent)

    counted = client.get(f"/mentions/{luggage.pk}/length/", {"text": "@janet hi"}).json()

    assert counted["length"] == len("@jane @janet hi")


def test_an_email_reply_has_no_length_limit(library, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(text="please email me a receipt", external_id="e-1", channel="email")

    answered = mention_answer(mention=mention, agent=agent, text="Hi, " + "here it is. " * 1000)

    assert answered.status == Mention.Status.ANSWERED


def test_the_api_answer_for_a_mention_of_no_brand_keeps_every_brand_s_drafts(
    library, agent, django_capture_on_commit_callbacks
):
    """A mention that names no brand may be answered by any brand's reply, as the engine does."""
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="the airline lost my luggage", external_id="t-9", channel="twitter", author_handle="@jo"
        )
    mention.refresh_from_db()
    other = UserFactory(username="nobrand")

    assert [d["response"] for d in mention_drafts(mention=mention, agent=other)] == [
        item["response"] for item in mention.suggestion.shown
    ]
