"""Which mention a lead would answer first: its deadline under its target, brought forward by the
severity of its issue and by how angry or urgent its words read, and pushed well down (never
hidden) when it needs no reply. The result is stored as ``Mention.priority_at`` so the inbox
orders by one indexed column, earliest first; the API's ``priority`` is the minutes since then.

Who calls what: console.services sets the fields when a mention arrives (no issue known yet) and
again once its suggestions are ready (the top suggestion's issue, unless the engine abstained);
``mentions_retriage`` recomputes open mentions when an issue's severity or a response target
changes (console.apps subscribes it to the library's changes; console.sla calls it for targets).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Final

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from console.models import Mention
from console.sla import TargetBook, deadline
from console.tone import tone_read
from kb.models import Issue
from suggestions.models import SuggestedResponse

Severity = Issue.Severity
logger = logging.getLogger(__name__)

# ---- the weights, in one place ----------------------------------------------------------------
# Minutes a mention is brought forward by its issue's severity (negative: later). Safety and
# privacy outrank hours of lateness of an ordinary mention: a lead answers a passenger reporting
# smoke, or one whose card number is public, before anyone asking about lounge hours, however
# long that one has waited. High (money, travel at stake) outranks an hour and a half; a low one
# (a remark that can wait) yields an hour to normal ones.
SEVERITY_LEAD_MINUTES: Final[dict[str, int]] = {
    Severity.SAFETY: 8 * 60,
    Severity.PRIVACY: 6 * 60,
    Severity.HIGH: 90,
    Severity.NORMAL: 0,
    Severity.LOW: -60,
}
# The angriest words (tone 1) bring a mention forward two hours, in proportion below that: an
# angry customer left waiting escalates in public, a calm one usually waits.
TONE_LEAD_MINUTES: Final = 120
# Praise and chatter can be liked or left: a day later than their deadline puts them below
# everything due today, still listed for whoever works the queue down to zero.
NO_REPLY_DELAY_MINUTES: Final = 24 * 60
# Less than this left before the deadline: "due soon".
DUE_SOON_MINUTES: Final = 15

# The reasons, in the order they are shown (the first says most).
SEVERITY_REASONS: Final[dict[str, str]] = {
    Severity.SAFETY: "safety",
    Severity.PRIVACY: "privacy",
    Severity.HIGH: "high severity",
}
TONE_REASONS: Final = ("angry", "urgent")
TIME_REASONS: Final = ("overdue", "due soon")

# What mention_triage sets, for the callers that save them.
TRIAGE_FIELDS: Final = ("tone", "needs_reply", "due_at", "priority_at")

# Annotated by ``with_severity``; read by ``severity_of``.
_SEVERITY_ANNOTATION: Final = "top_issue_severity"
_LOOK_UP: Final = object()


def with_severity(mentions: QuerySet[Mention]) -> QuerySet[Mention]:
    """The mentions, each with the severity of the issue its top suggestion answers (null when
    the engine abstained or has not answered yet), in the same query."""
    top = SuggestedResponse.objects.filter(request=OuterRef("suggestion_id"), position=1, shown=True)
    return mentions.annotate(**{_SEVERITY_ANNOTATION: Subquery(top.values("issue__severity")[:1])})


def severity_of(mention: Mention) -> str | None:
    """The severity of the issue the mention's top suggestion answers: None before its
    suggestions are ready, or when the engine abstained (nothing says what it is about).
    Read from ``with_severity`` when the mention was loaded with it, else one query."""
    if hasattr(mention, _SEVERITY_ANNOTATION):
        return getattr(mention, _SEVERITY_ANNOTATION)  # type: ignore[no-any-return]
    if mention.suggestion_id is None:
        return None
    top = SuggestedResponse.objects.filter(request=mention.suggestion_id, position=1, shown=True)
    return top.values_list("issue__severity", flat=True).first()


def mention_triage(
    mention: Mention, *, book: TargetBook | None = None, severity: str | object | None = _LOOK_UP
) -> Mention:
    """Set the mention's tone, needs_reply, due_at and priority_at from its words, its brand and
    channel's target and its issue's severity (``severity`` when the caller knows it, None for
    none; looked up otherwise). Does not save: the caller does. ``book`` spares a query per
    mention when triaging many."""
    reading = tone_read(mention.text)
    mention.tone = reading.anger
    mention.needs_reply = reading.needs_reply
    target = (book or TargetBook.load()).target_for(mention.brand_id, mention.channel)
    mention.due_at = deadline(mention.received_at, target.first_response_minutes, target)
    found = severity_of(mention) if severity is _LOOK_UP else severity
    mention.priority_at = priority_at(
        due_at=mention.due_at,
        severity=found if isinstance(found, str) else None,
        tone=mention.tone,
        needs_reply=mention.needs_reply,
    )
    return mention


def priority_at(*, due_at: datetime, severity: str | None, tone: float | None, needs_reply: bool) -> datetime:
    """The moment the mention counts as due in the inbox's order: its deadline brought forward
    by severity and tone, a day later when it needs no reply."""
    minutes = SEVERITY_LEAD_MINUTES.get(severity or Severity.NORMAL, 0) + TONE_LEAD_MINUTES * (tone or 0.0)
    if not needs_reply:
        minutes -= NO_REPLY_DELAY_MINUTES
    return due_at - timedelta(minutes=minutes)


def priority_of(mention: Mention, now: datetime | None = None) -> int:
    """The API's ``priority``: whole minutes since its priority_at (higher is more urgent,
    negative while it is still ahead). A mention never triaged counts from its arrival."""
    moment = mention.priority_at or mention.received_at
    return int(((now or timezone.now()) - moment).total_seconds() // 60)


def minutes_left(mention: Mention, now: datetime | None = None) -> int | None:
    """Whole minutes to its deadline (negative: overdue); None when it has none."""
    if mention.due_at is None:
        return None
    return round((mention.due_at - (now or timezone.now())).total_seconds() / 60)


def priority_reasons(mention: Mention, now: datetime | None = None) -> list[str]:
    """Why the mention stands where it does, most telling first: "overdue" or "due soon";
    "safety", "privacy" or "high severity"; "angry" or "urgent"; "no reply needed"."""
    reasons = []
    left = minutes_left(mention, now)
    if left is not None and left < 0:
        reasons.append("overdue")
    elif left is not None and left < DUE_SOON_MINUTES:
        reasons.append("due soon")
    severity = severity_of(mention)
    if severity in SEVERITY_REASONS:
        reasons.append(SEVERITY_REASONS[severity])
    # Read again from its words (a tenth of a millisecond): the stored tone is a single number.
    reasons += [reason for reason in tone_read(mention.text).reasons if reason in TONE_REASONS]
    if not mention.needs_reply:
        reasons.append("no reply needed")
    return reasons


def mentions_retriage(mentions: QuerySet[Mention], *, batch_size: int = 500) -> int:
    """Recompute the triage fields of the open ones among ``mentions`` (after an issue's severity
    or a response target changed) and store them in batches; returns how many were updated."""
    book = TargetBook.load()
    open_ = with_severity(mentions.filter(status__in=[Mention.Status.NEW, Mention.Status.ASSIGNED]))
    fields = list(TRIAGE_FIELDS)
    changed: list[Mention] = []
    count = 0
    for mention in open_.only("id", "text", "brand", "channel", "received_at", "suggestion_id", *fields):
        changed.append(mention_triage(mention, book=book))
        if len(changed) >= batch_size:
            count += Mention.objects.bulk_update(changed, fields)
            changed = []
    if changed:
        count += Mention.objects.bulk_update(changed, fields)
    return count


def mentions_of_issues(issue_ids: frozenset[int] | set[int]) -> QuerySet[Mention]:
    """The mentions whose top suggestion answers one of the issues."""
    return Mention.objects.filter(
        suggestion__suggested__position=1,
        suggestion__suggested__shown=True,
        suggestion__suggested__issue_id__in=issue_ids,
    )


def mentions_retriage_for_issues(sender: object, *, issue_ids: frozenset[int], **kwargs: object) -> None:
    """kb.signals.library_changed's receiver (console.apps): an issue's severity may have changed,
    so its open mentions move in the inbox. A failure is logged, never the editor's."""
    try:
        mentions_retriage(mentions_of_issues(issue_ids))
    except Exception:
        logger.exception("Could not retriage the mentions of issues %s", sorted(issue_ids))
