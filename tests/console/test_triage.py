"""Triage: a mention's place in the inbox from its deadline, its issue's severity, its tone and
whether it needs a reply at all (console.triage)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, time, timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from console.models import Mention, ResponseTarget
from console.services import mention_answer, mention_receive
from console.tone import tone_read
from console.triage import (
    NO_REPLY_DELAY_MINUTES,
    SEVERITY_LEAD_MINUTES,
    TONE_LEAD_MINUTES,
    mentions_retriage,
    priority_at,
    priority_of,
    priority_reasons,
)
from kb import services as kb
from kb.models import Issue

Severity = Issue.Severity
DUE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CALM_BAG = "the airline lost my luggage on the connecting flight"
ANGRY_BAG = "@AcmeAir WTF you LOST my luggage AGAIN!!! useless, I need it NOW"
PRAISE = "thanks @AcmeAir, great crew today!"


@pytest.fixture
def receive(library, django_capture_on_commit_callbacks):
    """Receive a mention as integrations do, its suggestions computed on commit."""

    def received(text, external_id, minutes_ago=5, brand="acme-air", channel="twitter"):
        with django_capture_on_commit_callbacks(execute=True):
            mention, _ = mention_receive(
                text=text,
                external_id=external_id,
                channel=channel,
                brand=library.brands[brand],
                received_at=timezone.now() - timedelta(minutes=minutes_ago),
            )
        mention.refresh_from_db()
        return mention

    return received


# ---- the rule, on its own ----------------------------------------------------------------------


def test_severity_ranks_safety_then_privacy_then_high_normal_low():
    ranked = sorted(
        Severity.values,
        key=lambda severity: priority_at(due_at=DUE, severity=severity, tone=0.3, needs_reply=True),
    )
    assert ranked == [Severity.SAFETY, Severity.PRIVACY, Severity.HIGH, Severity.NORMAL, Severity.LOW]


def test_a_safety_mention_due_later_outranks_an_ordinary_one_hours_overdue():
    safety = priority_at(
        due_at=DUE + timedelta(minutes=30), severity=Severity.SAFETY, tone=0, needs_reply=True
    )
    late = priority_at(due_at=DUE - timedelta(hours=4), severity=Severity.NORMAL, tone=0, needs_reply=True)
    assert safety < late


def test_angrier_words_come_first_by_up_to_the_tone_lead():
    calm = priority_at(due_at=DUE, severity=None, tone=0.0, needs_reply=True)
    angry = priority_at(due_at=DUE, severity=None, tone=1.0, needs_reply=True)
    half = priority_at(due_at=DUE, severity=None, tone=0.5, needs_reply=True)
    assert calm - angry == timedelta(minutes=TONE_LEAD_MINUTES)
    assert angry < half < calm


def test_no_reply_needed_goes_a_day_down_but_keeps_its_place_among_its_kind():
    praise = priority_at(due_at=DUE, severity=None, tone=0, needs_reply=False)
    later_question = priority_at(due_at=DUE + timedelta(hours=20), severity=None, tone=0, needs_reply=True)
    assert praise - DUE == timedelta(minutes=NO_REPLY_DELAY_MINUTES)
    assert later_question < praise


def test_no_severity_counts_as_normal():
    assert priority_at(due_at=DUE, severity=None, tone=0, needs_reply=True) == DUE
    assert SEVERITY_LEAD_MINUTES[Severity.NORMAL] == 0


# ---- on received mentions ----------------------------------------------------------------------


def test_a_received_mention_is_due_under_its_brand_and_channel_target(library, receive):
    ResponseTarget.objects.create(
        brand=library.brands["acme-air"], channel="twitter", first_response_minutes=30
    )

    mention = receive(CALM_BAG, "t-1", minutes_ago=10)

    assert mention.due_at == mention.received_at + timedelta(minutes=30)
    assert mention.tone == pytest.approx(tone_read(CALM_BAG).anger)
    assert mention.needs_reply is True
    assert mention.priority_at == mention.due_at - timedelta(minutes=TONE_LEAD_MINUTES * mention.tone)


def test_a_target_with_business_hours_stops_the_clock_overnight(library, receive):
    ResponseTarget.objects.create(
        brand=library.brands["acme-air"], first_response_minutes=60, opens_at=time(9), closes_at=time(17)
    )
    with timezone.override(UTC):
        evening = timezone.now().replace(hour=20, minute=0, second=0, microsecond=0) - timedelta(days=1)
    mention = receive(CALM_BAG, "t-1", minutes_ago=(timezone.now() - evening).total_seconds() / 60)

    next_morning = (evening + timedelta(days=1)).replace(hour=10)
    assert mention.due_at == next_morning


def test_the_issue_its_top_suggestion_answers_brings_it_forward_by_its_severity(library, receive):
    kb.issue_update(issue=library.issues["lost-baggage"], severity=Severity.SAFETY)

    mention = receive(CALM_BAG, "t-1")

    lead = SEVERITY_LEAD_MINUTES[Severity.SAFETY] + TONE_LEAD_MINUTES * mention.tone
    assert mention.priority_at == mention.due_at - timedelta(minutes=lead)
    assert "safety" in priority_reasons(mention)


def test_an_abstained_mention_has_no_severity(library, receive):
    kb.issue_update(issue=library.issues["lost-baggage"], severity=Severity.SAFETY)

    mention = receive("what is the capital of portugal", "t-1")

    assert mention.suggestion.abstained
    assert "safety" not in priority_reasons(mention)
    assert mention.priority_at == mention.due_at - timedelta(minutes=TONE_LEAD_MINUTES * mention.tone)


def test_raising_an_issues_severity_moves_its_open_mentions_not_its_answered_ones(
    library, receive, agent, django_capture_on_commit_callbacks
):
    open_ = receive(CALM_BAG, "t-1")
    answered = receive("my checked suitcase never showed up on the baggage carousel", "t-2")
    mention_answer(mention=answered, text="We are on it.", agent=agent)
    answered.refresh_from_db()
    before_open, before_answered = open_.priority_at, answered.priority_at

    with django_capture_on_commit_callbacks(execute=True):  # the library announces its changes then
        kb.issue_update(issue=library.issues["lost-baggage"], severity=Severity.PRIVACY)

    open_.refresh_from_db()
    answered.refresh_from_db()
    assert before_open - open_.priority_at == timedelta(minutes=SEVERITY_LEAD_MINUTES[Severity.PRIVACY])
    assert answered.priority_at == before_answered
    assert "privacy" in priority_reasons(open_)


def test_retriage_after_a_target_changes_gives_new_deadlines(library, receive):
    mention = receive(CALM_BAG, "t-1")
    target = ResponseTarget.objects.create(brand=library.brands["acme-air"], first_response_minutes=15)

    assert mentions_retriage(Mention.objects.filter(pk=mention.pk)) == 1

    mention.refresh_from_db()
    assert (mention.due_at, target.first_response_minutes) == (
        mention.received_at + timedelta(minutes=15),
        15,
    )


# ---- priority and reasons ----------------------------------------------------------------------


def test_priority_counts_whole_minutes_since_the_priority_moment(library, receive):
    mention = receive(CALM_BAG, "t-1")
    now = mention.priority_at + timedelta(minutes=42, seconds=50)

    assert priority_of(mention, now) == 42
    assert priority_of(mention, mention.priority_at - timedelta(minutes=5)) == -5


def test_reasons_say_overdue_due_soon_angry_and_no_reply_needed(library, receive):
    late_and_angry = receive(ANGRY_BAG, "t-1", minutes_ago=200)
    soon = receive(CALM_BAG, "t-2", minutes_ago=50)
    praise = receive(PRAISE, "t-3", minutes_ago=1)

    assert priority_reasons(late_and_angry)[:1] == ["overdue"]
    assert {"angry", "urgent"} <= set(priority_reasons(late_and_angry))
    assert priority_reasons(soon) == ["due soon"]
    assert priority_reasons(praise) == ["no reply needed"]


def test_the_backfill_dates_open_mentions_by_the_default_target(library, receive, settings):
    settings.CARELINE_RESPONSE_TARGET_MINUTES = 45
    mention = receive(CALM_BAG, "t-1")
    Mention.objects.filter(pk=mention.pk).update(due_at=None, priority_at=None, tone=None)

    importlib.import_module("console.migrations.0006_backfill_mention_triage").backfill(apps, None)

    mention.refresh_from_db()
    assert mention.due_at == mention.priority_at == mention.received_at + timedelta(minutes=45)
