"""What the console reads: the open mentions of a queue, most urgent first (console.triage) or
oldest first, filtered as the agent asks, with their clock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User as Account
from django.db.models import Case, Count, F, Q, QuerySet, When
from django.utils import timezone

from console.models import Mention, ResponseTarget
from console.triage import mentions_of_issues, with_severity
from kb.models import Brand, Issue
from kb.selectors import brands_served_by, served_rows
from suggestions.models import SuggestedResponse

QUEUES = ("open", "mine", "unassigned", "escalated", "done")
# How open mentions may be listed: most urgent first (the inbox's default), or oldest first.
ORDERINGS = ("priority", "age")
OPEN = (Mention.Status.NEW, Mention.Status.ASSIGNED)


def response_targets_set() -> bool:
    """Whether a lead has set any response target (else every mention runs on the default)."""
    return ResponseTarget.objects.exists()


def response_target() -> timedelta:
    return timedelta(minutes=settings.CARELINE_RESPONSE_TARGET_MINUTES)


def mentions_visible_to(user: Account) -> Q:
    """The mentions someone may work: every one, or, for someone who serves particular brands,
    those brands' (and mentions that name no brand)."""
    return served_rows(user, "brand")


def may_work_for(user: Account, brand: Brand | None) -> bool:
    """Whether a mention of ``brand`` (None: of no brand) is one ``user`` would see: the rule of
    ``mentions_visible_to`` for a mention not stored yet."""
    served = brands_served_by(user)
    return served is None or brand is None or brand in served


def mentions_queue(
    *,
    agent: Account,
    queue: str = "open",
    now: datetime | None = None,
    ordering: str = "priority",
    brand: Brand | None = None,
    channel: str = "",
    issue: Issue | None = None,
    priority_min: int | None = None,
) -> QuerySet[Mention]:
    """The mentions of a queue that the agent may work. The open ones (new or assigned): every
    one, the agent's own, nobody's, or those escalated to a lead; most urgent first or oldest
    first (``ordering``). Or ``done``: the ones answered or dismissed today, the latest first.
    Narrowed to a brand, a channel, the issue of their top suggestion, a priority at least
    ``priority_min``; each carries the severity of that issue (console.triage.with_severity)."""
    visible = Mention.objects.filter(mentions_visible_to(agent)).select_related(
        "brand", "assigned_to", "closed_by", "escalated_by", "suggestion"
    )
    visible = mentions_narrowed(
        visible, brand=brand, channel=channel, issue=issue, priority_min=priority_min, now=now
    )
    visible = with_severity(visible)
    if queue == "done":
        return visible.filter(closed_at__gte=start_of_day(now)).order_by("-closed_at", "-id")
    open_ = visible.filter(status__in=OPEN)
    if queue == "mine":
        open_ = open_.filter(assigned_to=agent)
    elif queue == "unassigned":
        open_ = open_.filter(assigned_to__isnull=True)
    elif queue == "escalated":
        open_ = open_.filter(escalated_at__isnull=False)
    return mentions_ordered(open_, ordering)


def mentions_ordered(mentions: QuerySet[Mention], ordering: str) -> QuerySet[Mention]:
    """``priority``: the earliest priority moment first (the most urgent; one indexed column),
    mentions never triaged after them; ``age``: the oldest first."""
    if ordering == "age":
        return mentions.order_by("received_at", "id")
    return mentions.order_by(F("priority_at").asc(nulls_last=True), "received_at", "id")


def mentions_narrowed(
    mentions: QuerySet[Mention],
    *,
    brand: Brand | None = None,
    channel: str = "",
    issue: Issue | None = None,
    priority_min: float | None = None,
    now: datetime | None = None,
) -> QuerySet[Mention]:
    """The mentions of a brand, of a channel, whose top suggestion answers ``issue``, whose
    priority (console.triage.priority_of) is at least ``priority_min``: each left out when None."""
    if brand is not None:
        mentions = mentions.filter(brand=brand)
    if channel:
        mentions = mentions.filter(channel=channel)
    if issue is not None:
        mentions = mentions.filter(pk__in=mentions_of_issues({issue.pk}).values("pk"))
    if priority_min is not None:
        moment = (now or timezone.now()) - timedelta(minutes=float(priority_min))
        # Never triaged: counted from arrival, as priority_of counts it.
        counted = Q(priority_at__lte=moment) | Q(priority_at__isnull=True, received_at__lte=moment)
        mentions = mentions.filter(counted)
    return mentions


def issues_in_queue(*, agent: Account) -> QuerySet[Issue]:
    """The issues the agent's open mentions are about (their top suggestion's), to filter by."""
    open_ = Mention.objects.filter(mentions_visible_to(agent), status__in=OPEN)
    top = SuggestedResponse.objects.filter(position=1, shown=True, request__mention__in=open_)
    return Issue.objects.filter(pk__in=top.values("issue")).order_by("title")


def queue_sizes(*, agent: Account, now: datetime | None = None) -> dict[str, int]:
    """How many mentions each queue holds, and how many open ones are overdue, in one query."""
    now = now or timezone.now()
    is_open = Q(status__in=[Mention.Status.NEW, Mention.Status.ASSIGNED])
    return Mention.objects.filter(mentions_visible_to(agent)).aggregate(
        open=Count("pk", filter=is_open),
        mine=Count("pk", filter=is_open & Q(assigned_to=agent)),
        unassigned=Count("pk", filter=is_open & Q(assigned_to__isnull=True)),
        escalated=Count("pk", filter=is_open & Q(escalated_at__isnull=False)),
        done=Count("pk", filter=Q(closed_at__gte=start_of_day(now))),
        overdue=Count("pk", filter=is_open & _overdue(now)),
    )


def _overdue(now: datetime) -> Q:
    """Past its deadline; one never triaged, past the default target since it arrived."""
    return Q(due_at__lt=now) | Q(due_at__isnull=True, received_at__lt=now - response_target())


def start_of_day(now: datetime | None = None) -> datetime:
    """Midnight of today, in the console's time zone."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def agents_to_assign(mention: Mention | None = None) -> QuerySet[Account]:
    """Who a lead may give a mention to: active people allowed to work mentions and, for a
    mention of a brand, serving that brand (or every brand)."""
    return _serving(_allowed("change_mention"), mention)


def leads_for(mention: Mention | None = None) -> QuerySet[Account]:
    """Who a mention may be escalated to: leads (allowed to assign mentions) serving its brand."""
    return _serving(_allowed("assign_mention"), mention)


def _allowed(codename: str) -> QuerySet[Account]:
    return (
        Account.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label="console")
            | Q(user_permissions__codename=codename, user_permissions__content_type__app_label="console")
            | Q(is_superuser=True)
        )
        .distinct()
        # People by name; accounts without one (``admin``) after them.
        .order_by(Case(When(first_name="", then=1), default=0), "first_name", "last_name", "username")
    )


def _serving(people: QuerySet[Account], mention: Mention | None) -> QuerySet[Account]:
    """Those who would see the mention: every brand's people, and its own brand's."""
    if mention is None or mention.brand_id is None:
        return people
    return people.filter(
        Q(is_superuser=True) | Q(served_brands__isnull=True) | Q(served_brands=mention.brand_id)
    ).distinct()


# ---- the conversation in view -----------------------------------------------------------------

# The most of a thread, and of a customer's history, that a mention's page shows.
THREAD_ROWS = 50
HISTORY_ROWS = 20


def _in_conversation(conversation_id: str) -> Q:
    """The mentions of a thread: those that name it, and the one that started it (whose id it is)."""
    return Q(conversation_id=conversation_id) | Q(external_id=conversation_id)


def conversation_holder(*, brand: Brand | None, channel: str, conversation_id: str) -> Account | None:
    """The active agent who holds an open mention of the thread (the latest one they took), if any:
    the customer's next message in it goes to them."""
    if not conversation_id:
        return None
    held = (
        Mention.objects.filter(_in_conversation(conversation_id), brand=brand, channel=channel)
        .filter(status=Mention.Status.ASSIGNED, assigned_to__is_active=True)
        .select_related("assigned_to")
        .order_by("-received_at", "-id")
        .first()
    )
    return held.assigned_to if held else None


def mention_thread(*, mention: Mention, agent: Account) -> list[Mention]:
    """The thread the mention belongs to, oldest first (the mention itself among them), each with
    the reply recorded when it was answered: at most the latest THREAD_ROWS. A mention its
    channel puts in no thread is a thread of one."""
    if not mention.conversation_id:
        return [mention]
    latest = (
        Mention.objects.filter(mentions_visible_to(agent))
        .filter(_in_conversation(mention.conversation_id), brand=mention.brand_id, channel=mention.channel)
        .select_related("closed_by")
        .order_by("-received_at", "-id")[:THREAD_ROWS]
    )
    return list(reversed(latest))


def customer_history(*, mention: Mention, agent: Account, leave_out: Iterable[int] = ()) -> dict[str, Any]:
    """The customer's other mentions of the mention's brand (same author handle), but those in
    ``leave_out`` (its thread, shown apart): ``mentions``, the latest HISTORY_ROWS, newest first;
    ``counts``, how many are open, answered and dismissed, and in all."""
    if not mention.author_handle:
        return {"mentions": [], "counts": {"total": 0, "open": 0, "answered": 0, "dismissed": 0}}
    past = (
        Mention.objects.filter(mentions_visible_to(agent))
        .filter(brand=mention.brand_id, author_handle=mention.author_handle)
        .exclude(pk__in={mention.pk, *leave_out})
    )
    counts = past.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=Q(status__in=[Mention.Status.NEW, Mention.Status.ASSIGNED])),
        answered=Count("pk", filter=Q(status=Mention.Status.ANSWERED)),
        dismissed=Count("pk", filter=Q(status=Mention.Status.DISMISSED)),
    )
    if not counts["total"]:
        return {"mentions": [], "counts": counts}
    rows = past.select_related("closed_by").order_by("-received_at", "-id")[:HISTORY_ROWS]
    return {"mentions": list(rows), "counts": counts}
