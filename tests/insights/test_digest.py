"""The departments' weekly digest, through Django's locmem e-mail backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.utils import timezone

from console.models import Mention
from insights.digest import DigestsFailed, digest_period, digest_send, trend_words
from insights.models import DigestSent, GapCluster, GapMember, GapRun
from insights.tasks import digest_send_task
from kb.models import Department, Issue
from tests.factories import BrandFactory, IssueFactory, ResponseFactory, request_with_suggestions

pytestmark = pytest.mark.django_db

# A Monday: the digest covers Mon 9 to Sun 15 March against Mon 2 to Sun 8 March.
TODAY = date(2026, 3, 16)
RECENT = datetime(2026, 3, 10, 10, tzinfo=UTC)
PREVIOUS = datetime(2026, 3, 3, 10, tzinfo=UTC)
PRIVATE_EMAIL = "jane.doe@example.com"


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the mail server refused the connection")


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CARELINE_DIGEST_FROM = "careline@example.com"
    settings.CARELINE_RESPONSE_TARGET_MINUTES = 60


def said(response, text, at, *, minutes_to_answer=10, inbox=True, abstained=False):
    """A customer's mention answered (or not: ``minutes_to_answer`` None) by the response."""
    request = request_with_suggestions(
        [response], text=text, brand=response.issue.brand, created_at=at, abstained=abstained
    )
    if inbox:
        closed = None if minutes_to_answer is None else at + timedelta(minutes=minutes_to_answer)
        Mention.objects.create(
            text=text,
            brand=response.issue.brand,
            channel="twitter",
            external_id=f"m{request.pk}",
            received_at=at,
            closed_at=closed,
            status=Mention.Status.NEW if closed is None else Mention.Status.ANSWERED,
            suggestion=request,
        )
    return request


@pytest.fixture
def company():
    acme = BrandFactory()
    baggage = Department.objects.create(
        name="Baggage", digest_recipients="bags@example.com\nlead@example.com"
    )
    billing = Department.objects.create(name="Billing", digest_recipients="billing@example.com")
    safety = Department.objects.create(name="Safety", digest_recipients="")
    Department.objects.create(name="Lounges", digest_recipients="lounges@example.com")
    lost = ResponseFactory(
        issue=IssueFactory(brand=acme, title="Lost baggage", department=baggage, severity=Issue.Severity.HIGH)
    )
    delayed = ResponseFactory(
        issue=IssueFactory(brand=acme, title="Delayed bag delivery", department=baggage)
    )
    IssueFactory(brand=acme, title="Damaged pram", department=baggage)
    refund = ResponseFactory(issue=IssueFactory(brand=acme, title="Refunds", department=billing))
    ResponseFactory(issue=IssueFactory(brand=acme, title="Smoke in the cabin", department=safety))

    # Lost baggage: 4 mentions this week (one answered after 3 hours, one still open), 2 before.
    said(lost, f"@AcmeAir my bag never arrived, write to me at {PRIVATE_EMAIL}", RECENT)
    said(lost, "@AcmeAir where is my suitcase?", RECENT + timedelta(hours=1), minutes_to_answer=180)
    said(lost, "@AcmeAir my luggage is lost", RECENT + timedelta(hours=2), minutes_to_answer=None)
    said(lost, "@AcmeAir no bag at the carousel", RECENT + timedelta(days=1), inbox=False)
    for hour in range(2):
        said(lost, "@AcmeAir bag missing", PREVIOUS + timedelta(hours=hour))
    # The engine abstained: not a mention of the issue.
    said(lost, "@AcmeAir hello there", RECENT, abstained=True)
    # Delayed bags: 1 against 2.
    said(delayed, "@AcmeAir my bag came a day late", RECENT)
    said(delayed, "@AcmeAir bag delivery late", PREVIOUS)
    said(delayed, "@AcmeAir still waiting for delivery", PREVIOUS)
    # Refunds: 3 against 3, one late.
    for hour in range(3):
        said(
            refund, "@AcmeAir where is my refund", RECENT + timedelta(hours=hour), minutes_to_answer=45 * hour
        )
        said(refund, "@AcmeAir refund please", PREVIOUS + timedelta(hours=hour))
    # Outside both weeks.
    said(lost, "@AcmeAir bag lost in January", datetime(2026, 1, 10, tzinfo=UTC))
    return {"baggage": baggage, "billing": billing, "safety": safety, "lost": lost, "refund": refund}


def gap_near(response, label, member_text):
    """An open content gap whose mention's closest issue is ``response``'s."""
    run = GapRun.objects.create(trigger=GapRun.Trigger.SCHEDULE, status=GapRun.Status.SUCCEEDED)
    now = timezone.now()
    cluster = GapCluster.objects.create(
        run=run,
        label=label,
        volume=6,
        first_seen=now,
        last_seen=now,
        recent=4,
        previous=2,
        brand=response.issue.brand,
        channel="twitter",
    )
    request = request_with_suggestions(
        [response], text=member_text, brand=response.issue.brand, abstained=True, confidence=0.3
    )
    GapMember.objects.create(
        cluster=cluster, request=request, reason=GapMember.Reason.ABSTAINED, centrality=0.9, is_example=True
    )
    return cluster


def sent_to(name):
    return next(message for message in mail.outbox if message.subject.startswith(name))


def test_one_mail_per_department_with_recipients(company):
    outcomes = {outcome.department: outcome for outcome in digest_send(today=TODAY)}

    assert sorted(message.subject.split(" ")[0] for message in mail.outbox) == ["Baggage", "Billing"]
    assert sent_to("Baggage").to == ["bags@example.com", "lead@example.com"]
    assert sent_to("Billing").to == ["billing@example.com"]
    assert sent_to("Baggage").from_email == "careline@example.com"
    assert outcomes["Safety"].status == "no_recipients"
    assert "no digest recipients" in str(outcomes["Safety"])
    assert outcomes["Lounges"].status == "no_issues"
    assert DigestSent.objects.filter(week=date(2026, 3, 16)).count() == 2


def test_the_plain_text_lists_volume_trend_examples_and_late_responses(company):
    digest_send(today=TODAY)
    message = sent_to("Baggage")
    text = message.body

    # 4 + 1 this week against 2 + 2: up 25%.
    assert message.subject == "Baggage digest, 09 Mar to 15 Mar: 5 mentions (up 25%), 2 late first responses"
    assert "Mentions of your issues: 5, up 25% (4 the week before)" in text
    assert "* Lost baggage [High]: 4 mentions, up 100% (2 the week before)" in text
    assert "  Late first responses: 2 of 3 (1 still open)" in text
    assert "* Delayed bag delivery: 1 mention, down 50% (2 the week before)" in text
    assert text.index("Lost baggage") < text.index("Delayed bag delivery")
    assert '  - "where is my suitcase?"' in text
    assert "Not mentioned in either week: Damaged pram" in text
    assert "No open content gap is near your issues." in text
    assert "\n\n\n" not in text
    billing = sent_to("Billing").body
    assert "* Refunds: 3 mentions, steady (3 the week before)" in billing
    assert "Late first responses: 1 of 3" in billing


def test_the_html_says_the_same(company):
    digest_send(today=TODAY)
    message = sent_to("Baggage")

    (html, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    assert "<strong>Lost baggage</strong>" in html
    assert "up 100%" in html and "down 50%" in html
    assert "2 of 3 (1 still open)" in html
    assert "“where is my suitcase?”" in html
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")


def test_examples_carry_no_personal_data(company):
    gap_near(
        company["lost"], "bag left at the gate", f"@AcmeAir my bag left at the gate, mail {PRIVATE_EMAIL}"
    )
    digest_send(today=TODAY)
    message = sent_to("Baggage")
    html = message.alternatives[0][0]

    for body in (message.body, html):
        assert PRIVATE_EMAIL not in body
        assert "[email]" in body
    assert '"my bag never arrived, write to me at [email]"' in message.body


def test_content_gaps_near_the_departments_issues(company):
    gap_near(company["lost"], "bag left at the gate", "@AcmeAir my bag was left at the gate")
    gap_near(company["refund"], "refund to an expired card", "@AcmeAir refund went to my old card")
    digest_send(today=TODAY)

    baggage, billing = sent_to("Baggage").body, sent_to("Billing").body
    assert '* "bag left at the gate" (Acme Air): 6 mentions, 4 in the last 7 days (up 100%)' in baggage
    assert '  - "my bag was left at the gate"' in baggage
    assert "refund to an expired card" not in baggage
    assert "refund to an expired card" in billing


def test_no_department_is_mailed_twice_in_a_week(company):
    digest_send(today=TODAY)
    again = digest_send(today=TODAY + timedelta(days=2))

    assert len(mail.outbox) == 2
    assert {outcome.department: outcome.status for outcome in again}["Baggage"] == "already_sent"
    # The next week is a new digest.
    digest_send(today=TODAY + timedelta(days=7))
    assert len(mail.outbox) == 4


def test_a_refused_mail_leaves_no_record_so_the_retry_sends_it(company, settings):
    settings.EMAIL_BACKEND = "tests.insights.test_digest.RefusingBackend"
    with pytest.raises(DigestsFailed, match="refused the connection") as failed:
        digest_send(today=TODAY)
    assert {outcome.status for outcome in failed.value.outcomes if outcome.department != "Safety"} >= {
        "failed"
    }
    assert not DigestSent.objects.exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    digest_send(today=TODAY)
    assert len(mail.outbox) == 2


def test_the_task_sends_the_weeks_digests_once(company):
    counts = digest_send_task.delay().get()

    assert counts["no_recipients"] == 1 and counts["no_issues"] == 1
    assert counts["sent"] == 2
    assert digest_send_task.delay().get()["already_sent"] == 2
    assert len(mail.outbox) == 2


def test_the_beat_sends_the_digest_weekly():
    entry = settings.CELERY_BEAT_SCHEDULE["department-digest"]
    assert entry["task"] == digest_send_task.name == "insights.tasks.digest_send_task"
    schedule = entry["schedule"]
    assert schedule.day_of_week == {1}  # Monday, in cron's numbering
    assert schedule.hour == {7}


def test_the_command_sends_one_department(company, capsys):
    call_command("send_digest", "--department", "Billing")

    assert [message.to for message in mail.outbox] == [["billing@example.com"]]
    assert "Billing: sent to billing@example.com" in capsys.readouterr().out


def test_a_dry_run_prints_the_digest_and_sends_nothing(company, capsys, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: TODAY)

    call_command("send_digest", "--dry-run")

    out = capsys.readouterr().out
    assert "Subject: Baggage digest" in out
    assert "* Lost baggage [High]: 4 mentions, up 100% (2 the week before)" in out
    assert "Safety: skipped: no digest recipients" in out
    assert mail.outbox == []
    assert not DigestSent.objects.exists()


def test_an_unknown_department_is_named(company):
    with pytest.raises(CommandError, match=r"No department named 'Catering'.*Baggage, Billing"):
        call_command("send_digest", "--department", "Catering")


@pytest.mark.parametrize(
    ("recent", "previous", "words"),
    [
        (5, 4, "up 25%"),
        (1, 2, "down 50%"),
        (3, 3, "steady"),
        (2, 0, "new this week"),
        (0, 0, "none either week"),
    ],
)
def test_trend_in_words(recent, previous, words):
    assert trend_words(recent, previous) == words


def test_the_period_is_the_last_seven_whole_days():
    period = digest_period(date(2026, 3, 18))  # a Wednesday

    assert (period.since, period.until) == (date(2026, 3, 11), date(2026, 3, 17))
    assert (period.previous_since, period.previous_until) == (date(2026, 3, 4), date(2026, 3, 10))
    assert period.week == date(2026, 3, 16)
