"""Each change to a mention in the console leaves its event (console.events): who did what, when,
inside the same transaction, and an agent opening a mention's page counts once per ten minutes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from console.events import event_opened
from console.models import MentionEvent
from console.services import (
    mention_answer,
    mention_assign,
    mention_dismiss,
    mention_escalate,
    mention_receive,
    mention_release,
    mention_take,
)


@pytest.fixture
def luggage(library, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="@AcmeAir the airline lost my luggage",
            external_id="t-1",
            channel="twitter",
            brand=library.brands["acme-air"],
            received_at=timezone.now() - timedelta(minutes=30),
        )
    mention.refresh_from_db()
    return mention


def events_of(mention):
    return [(event.kind, event.agent) for event in MentionEvent.objects.filter(mention=mention)]


def test_receiving_records_the_arrival_at_its_received_time(luggage):
    event = MentionEvent.objects.get(mention=luggage)

    assert (event.kind, event.agent, event.at) == ("received", None, luggage.received_at)


def test_receiving_the_same_mention_again_records_nothing_more(luggage):
    mention_receive(text=luggage.text, external_id="t-1", channel="twitter", brand=luggage.brand)

    assert MentionEvent.objects.filter(mention=luggage).count() == 1


def test_taking_then_releasing_records_both_by_the_agent(luggage, agent):
    mention_take(mention=luggage, agent=agent)
    mention_release(mention=luggage, agent=agent)

    assert events_of(luggage)[1:] == [("taken", agent), ("released", agent)]


def test_an_assignment_is_recorded_as_the_leads_doing_not_as_a_take(luggage, agent, editor):
    mention_assign(mention=luggage, agent=agent, assigned_by=editor)

    assert events_of(luggage)[1:] == [("assigned", editor)]


def test_answering_records_the_answer_at_its_closing_time(luggage, agent):
    mention = mention_answer(mention=luggage, text="We are on it, sorry!", agent=agent)

    answered = MentionEvent.objects.get(mention=luggage, kind="answered")
    assert (answered.agent, answered.at) == (agent, mention.closed_at)


def test_dismissing_and_escalating_are_recorded(luggage, agent, editor):
    mention_escalate(mention=luggage, agent=agent, lead=editor, note="Wants compensation.")
    mention_dismiss(mention=luggage, reason="Handled by phone", agent=editor)

    assert events_of(luggage)[1:] == [("escalated", agent), ("dismissed", editor)]


def test_a_refused_transition_leaves_no_event(luggage, agent, editor):
    mention_take(mention=luggage, agent=editor)

    with pytest.raises(ValidationError):
        mention_take(mention=luggage, agent=agent)
    with pytest.raises(ValidationError):
        mention_answer(mention=luggage, text="   ", agent=agent)

    assert events_of(luggage)[1:] == [("taken", editor)]


def test_opening_counts_once_per_agent_and_ten_minutes(luggage, agent, editor):
    now = timezone.now()

    assert event_opened(luggage, agent, at=now) is not None
    assert event_opened(luggage, agent, at=now + timedelta(minutes=9)) is None
    assert event_opened(luggage, editor, at=now + timedelta(minutes=9)) is not None
    assert event_opened(luggage, agent, at=now + timedelta(minutes=11)) is not None

    assert [kind for kind, _ in events_of(luggage)].count("opened") == 3


def test_opening_a_closed_mention_is_not_handling_it(luggage, agent):
    dismissed = mention_dismiss(mention=luggage, reason="Spam", agent=agent)

    assert event_opened(dismissed, agent) is None


def test_an_agent_opening_the_mention_page_records_one_opening(luggage, client, agent):
    client.force_login(agent)

    assert client.get(f"/mentions/{luggage.pk}/").status_code == 200
    assert client.get(f"/mentions/{luggage.pk}/").status_code == 200

    assert events_of(luggage)[1:] == [("opened", agent)]
