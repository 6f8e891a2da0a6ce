"""The weekly digest each department gets by e-mail: its issues' mention volume over the last 7
days against the 7 before, the trend, a few example mentions without personal data, the content
gaps near its issues, and the first responses that missed their target.

- A mention belongs to the issue of its top suggestion when the engine did not abstain, as
  insights.analytics counts issues (volume counts what the engine answered, by the day it did).
- Content gaps near a department's issues: open gap clusters (insights.gaps) whose mentions the
  engine found closest to one of those issues (their top candidate, shown or not), most such
  mentions first. A gap near nothing the department owns is left to the gaps page.
- Late first responses: the inbox's mentions of its issues that arrived in the week, timed in
  business minutes against their targets (insights.sla), still-open ones past target included.

One e-mail per department and week: a ``DigestSent`` row is written in the transaction that hands
the message to the e-mail backend, so a retried task or a second run skips the department."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.utils import timezone

from console.models import Mention
from console.sla import TargetBook
from insights.analytics import analytics_filter, issues_volume
from insights.gaps import EXAMPLE_MAX_LENGTH, gap_example_phrasings
from insights.models import DigestSent, GapCluster
from insights.sla import first_responses_timed
from kb.departments import department_recipients
from kb.models import Department, Issue
from kb.roles import INTEGRATIONS
from suggestions.models import SuggestedResponse
from suggestions.privacy import KINDS, personal_data_describe, personal_data_redact
from suggestions.text import normalize_mention

logger = logging.getLogger(__name__)

DAYS = 7


@dataclass(frozen=True)
class DigestPeriod:
    """The last 7 whole days (to yesterday) and the 7 before them; ``week`` is the Monday of
    the week the digest goes out in, the unit a department gets one digest per."""

    since: date
    until: date
    previous_since: date
    previous_until: date
    week: date


def digest_period(today: date | None = None) -> DigestPeriod:
    today = today or timezone.localdate()
    until = today - timedelta(days=1)
    since = until - timedelta(days=DAYS - 1)
    previous_until = since - timedelta(days=1)
    return DigestPeriod(
        since=since,
        until=until,
        previous_since=previous_until - timedelta(days=DAYS - 1),
        previous_until=previous_until,
        week=today - timedelta(days=today.weekday()),
    )


def trend_words(recent: int, previous: int) -> str:
    """'up 40%', 'down 25%', 'steady', 'new this week', 'none either week'."""
    if previous == 0:
        return "new this week" if recent else "none either week"
    change = round((recent - previous) / previous * 100)
    if change == 0:
        return "steady"
    return f"up {change}%" if change > 0 else f"down {-change}%"


@dataclass(frozen=True)
class IssueLine:
    key: str
    title: str
    severity: str
    recent: int  # mentions in the last 7 days
    previous: int  # in the 7 before
    examples: list[str] = field(default_factory=list)
    first_responses: int = 0  # inbox mentions of the issue timed (closed, or open past target)
    late: int = 0  # of those, over target (closed late or still open past it)
    open_late: int = 0

    @property
    def trend(self) -> str:
        return trend_words(self.recent, self.previous)

    @property
    def rising(self) -> bool:
        return self.recent > self.previous


@dataclass(frozen=True)
class GapLine:
    label: str
    brand: str
    volume: int
    recent: int
    previous: int
    near: int  # its mentions whose closest issue is one of the department's
    examples: list[str] = field(default_factory=list)

    @property
    def trend(self) -> str:
        return trend_words(self.recent, self.previous)


@dataclass(frozen=True)
class Digest:
    department: Department
    period: DigestPeriod
    issues: list[IssueLine]  # mentioned in either week, most mentioned first
    quiet: list[str]  # titles of its issues nobody mentioned in either week
    gaps: list[GapLine]

    @property
    def recent(self) -> int:
        return sum(line.recent for line in self.issues)

    @property
    def previous(self) -> int:
        return sum(line.previous for line in self.issues)

    @property
    def trend(self) -> str:
        return trend_words(self.recent, self.previous)

    @property
    def first_responses(self) -> int:
        return sum(line.first_responses for line in self.issues)

    @property
    def late(self) -> int:
        return sum(line.late for line in self.issues)

    @property
    def subject(self) -> str:
        late = f", {self.late} late first response{'s' if self.late != 1 else ''}" if self.late else ""
        mentions = f"{self.recent} mention{'s' if self.recent != 1 else ''}"
        return (
            f"{self.department.name} digest, {self.period.since:%d %b} to {self.period.until:%d %b}: "
            f"{mentions} ({self.trend}){late}"
        )


# -- Building ---------------------------------------------------------------------------------------


def _volume_by_issue(since: date, until: date) -> dict[str, int]:
    volume = issues_volume(filters=analytics_filter(since=since, until=until))
    return {series.issue_key: series.total for series in volume.series if not series.abstained}


def _redacted(text: str) -> str:
    """A mention as the gaps page shows its examples: normalized, without personal data."""
    return personal_data_redact(normalize_mention(text))


def issue_examples(issue: Issue, period: DigestPeriod, count: int) -> list[str]:
    """Up to ``count`` of the week's mentions of the issue, the engine's surest first, each
    phrasing once; only what customers sent (the inbox, integrations), never people trying the
    engine out."""
    filters = analytics_filter(since=period.since, until=period.until)
    tops = (
        SuggestedResponse.objects.filter(filters.mentions_q("request__"), issue=issue, position=1, shown=True)
        .filter(Q(request__mention__isnull=False) | Q(request__requested_by__groups__name=INTEGRATIONS))
        .select_related("request")
        .order_by("-confidence", "-request__created_at")[: count * 5]
    )
    phrasings: dict[str, str] = {}
    for top in tops:
        text = _redacted(top.request.text)
        if text and len(text) <= EXAMPLE_MAX_LENGTH:
            phrasings.setdefault(text.casefold(), text)
        if len(phrasings) == count:
            break
    return list(phrasings.values())


def _top_issue() -> Subquery:
    shown_first = SuggestedResponse.objects.filter(request=OuterRef("suggestion"), position=1, shown=True)
    return Subquery(shown_first.values("issue")[:1])


def late_first_responses(
    issue_ids: list[int], period: DigestPeriod, now: datetime | None = None
) -> dict[int, tuple[int, int, int]]:
    """Per issue: inbox mentions that arrived in the period and were timed (closed, or open past
    target), how many of those were late, and how many of the late are still open."""
    filters = analytics_filter(since=period.since, until=period.until)
    mentions = (
        Mention.objects.filter(received_at__gte=filters.starts_at, received_at__lt=filters.ends_before)
        .annotate(top_issue=_top_issue())
        .filter(top_issue__in=issue_ids)
    )
    grouped: dict[int, list[Mention]] = defaultdict(list)
    for mention in mentions:
        grouped[mention.top_issue].append(mention)  # type: ignore[attr-defined]
    book, now = TargetBook.load(), now or timezone.now()
    figures: dict[int, tuple[int, int, int]] = {}
    for issue_id, rows in grouped.items():
        timed = [
            item for item in first_responses_timed(rows, book=book, now=now) if item.closed or item.breached
        ]
        late = [item for item in timed if item.breached]
        figures[issue_id] = (len(timed), len(late), sum(1 for item in late if not item.closed))
    return figures


def gaps_near(issue_ids: list[int], count: int) -> list[GapLine]:
    """Open content gaps whose mentions the engine found closest to these issues."""
    clusters = (
        GapCluster.objects.filter(
            status=GapCluster.Status.OPEN,
            members__request__suggested__position=1,
            members__request__suggested__issue__in=issue_ids,
        )
        .annotate(near=Count("members", distinct=True))
        .select_related("brand")
        .order_by("-near", "-recent", "-volume", "-id")[:count]
    )
    return [
        GapLine(
            label=_redacted(cluster.label) or cluster.label,
            brand=cluster.brand.name if cluster.brand else "",
            volume=cluster.volume,
            recent=cluster.recent,
            previous=cluster.previous,
            near=cluster.near,  # type: ignore[attr-defined]
            examples=gap_example_phrasings(cluster=cluster)[:2],
        )
        for cluster in clusters
    ]


def digest_build(department: Department, *, today: date | None = None, now: datetime | None = None) -> Digest:
    """What the department's digest says this week (nothing is sent or recorded)."""
    period = digest_period(today)
    issues = list(Issue.objects.filter(department=department).order_by("title"))
    recent = _volume_by_issue(period.since, period.until)
    previous = _volume_by_issue(period.previous_since, period.previous_until)
    late = late_first_responses([issue.pk for issue in issues], period, now)
    examples = settings.CARELINE_DIGEST_EXAMPLES
    lines, quiet = [], []
    for issue in issues:
        counts = (recent.get(issue.key, 0), previous.get(issue.key, 0))
        if not any(counts):
            quiet.append(issue.title)
            continue
        timed, late_count, open_late = late.get(issue.pk, (0, 0, 0))
        lines.append(
            IssueLine(
                key=issue.key,
                title=issue.title,
                severity=issue.get_severity_display().split(":")[0],
                recent=counts[0],
                previous=counts[1],
                examples=issue_examples(issue, period, examples) if counts[0] else [],
                first_responses=timed,
                late=late_count,
                open_late=open_late,
            )
        )
    lines.sort(key=lambda line: (-line.recent, -line.previous, line.title))
    gaps = gaps_near([issue.pk for issue in issues], settings.CARELINE_DIGEST_GAPS) if issues else []
    return Digest(department=department, period=period, issues=lines, quiet=quiet, gaps=gaps)


# -- Rendering and sending --------------------------------------------------------------------------


def _context(digest: Digest) -> dict[str, Any]:
    site = settings.CARELINE_DIGEST_SITE_URL.rstrip("/")
    return {
        "digest": digest,
        "left_out": personal_data_describe(KINDS),
        "links": {"sla": f"{site}/admin/insights/sla/", "gaps": f"{site}/admin/insights/gaps/"}
        if site
        else None,
    }


def _tidy(text: str) -> str:
    """Plain text as a reader wants it: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def digest_message(digest: Digest, recipients: list[str]) -> EmailMultiAlternatives:
    """The digest as one e-mail, plain text with an HTML alternative."""
    context = _context(digest)
    message = EmailMultiAlternatives(
        subject=digest.subject,
        body=_tidy(render_to_string("insights/digest/digest.txt", context)),
        from_email=settings.CARELINE_DIGEST_FROM,
        to=recipients,
    )
    message.attach_alternative(render_to_string("insights/digest/digest.html", context), "text/html")
    return message


@dataclass(frozen=True)
class DigestOutcome:
    department: str
    status: str  # sent, dry_run, no_recipients, no_issues, already_sent, failed
    recipients: list[str] = field(default_factory=list)
    detail: str = ""
    message: EmailMultiAlternatives | None = None

    def __str__(self) -> str:
        return f"{self.department}: {self.detail}"


def digest_send_one(
    department: Department, *, today: date | None = None, dry_run: bool = False
) -> DigestOutcome:
    """Send the department's digest for this week unless it has no recipients, owns no issues or
    already had it this week. A dry run builds the message and neither sends nor records it."""
    name = department.name
    recipients = department_recipients(department)
    if not recipients:
        return DigestOutcome(name, "no_recipients", detail="skipped: no digest recipients")
    if not Issue.objects.filter(department=department).exists():
        return DigestOutcome(name, "no_issues", recipients, "skipped: it owns no issues")
    period = digest_period(today)
    if DigestSent.objects.filter(department=department, week=period.week).exists():
        return DigestOutcome(
            name, "already_sent", recipients, f"skipped: already sent the week of {period.week}"
        )
    message = digest_message(digest_build(department, today=today), recipients)
    if dry_run:
        return DigestOutcome(name, "dry_run", recipients, f"would go to {', '.join(recipients)}", message)
    with transaction.atomic():
        _, created = DigestSent.objects.get_or_create(
            department=department,
            week=period.week,
            defaults={"since": period.since, "until": period.until, "recipients": "\n".join(recipients)},
        )
        if not created:  # another run got there first
            return DigestOutcome(
                name, "already_sent", recipients, f"skipped: already sent the week of {period.week}"
            )
        # Inside the transaction: a message the backend refuses leaves no record, so a retry sends it.
        message.send()
    return DigestOutcome(name, "sent", recipients, f"sent to {', '.join(recipients)}", message)


def _already_sent(name: str, recipients: list[str], period: DigestPeriod) -> DigestOutcome:
    return DigestOutcome(name, "already_sent", recipients, f"skipped: already sent the week of {period.week}")


class DigestsFailed(Exception):
    """Some departments' digests could not be sent (the others were); a retry sends only those."""

    def __init__(self, outcomes: list[DigestOutcome]) -> None:
        self.outcomes = outcomes
        super().__init__("; ".join(str(outcome) for outcome in outcomes if outcome.status == "failed"))


def digest_send(
    *, department_name: str | None = None, today: date | None = None, dry_run: bool = False
) -> list[DigestOutcome]:
    """Each department's digest (or the one named), one e-mail per department and week. A
    department that fails does not stop the others; DigestsFailed is raised at the end, carrying
    every outcome. Raises Department.DoesNotExist for an unknown name."""
    if department_name is not None:
        departments = [Department.objects.get(name=department_name)]
    else:
        departments = list(Department.objects.order_by("name"))
    outcomes = []
    for department in departments:
        try:
            outcome = digest_send_one(department, today=today, dry_run=dry_run)
        except Exception as error:
            logger.exception("The digest for %s could not be sent", department.name)
            outcome = DigestOutcome(department.name, "failed", detail=f"failed: {error}")
        logger.info("Digest %s", outcome)
        outcomes.append(outcome)
    if any(outcome.status == "failed" for outcome in outcomes):
        raise DigestsFailed(outcomes)
    return outcomes
