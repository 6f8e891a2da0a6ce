"""The agents' console: the inbox, most urgent first (or oldest first) against each mention's
response target, and one mention at a time
with its drafts. Plain forms that post to the same services as the API; htmx refreshes parts of
the pages by asking for the page again; a little JavaScript (console.js) for the live character
count, copying and keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User as Account
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from console.clock import time_left_words
from console.events import event_opened
from console.forms import DISMISS_REASONS, REPLY_MAX, DismissForm, EscalateForm, PasteForm, ReplyForm
from console.inbox_filters import InboxFilterForm
from console.models import Mention
from console.outbound import outbound_for
from console.selectors import (
    agents_to_assign,
    customer_history,
    mention_thread,
    mentions_queue,
    mentions_visible_to,
    queue_sizes,
    response_target,
    response_targets_set,
)
from console.services import (
    drafts_private_first,
    mention_answer,
    mention_assign,
    mention_candidates,
    mention_dismiss,
    mention_drafts,
    mention_escalate,
    mention_nothing_fits,
    mention_take,
    reply_parts_for,
)
from console.triage import TIME_REASONS, minutes_left, priority_reasons
from kb.channels import channel_allows_threads, channel_limit
from kb.rendering import reply_length
from suggestions.engine import IndexUnavailable
from suggestions.services import Mention as MentionToAnswer
from suggestions.services import suggestions_for

# The inbox shows at most this many rows of a queue (the oldest open, or the latest done).
INBOX_ROWS = 200


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails  # set by django_htmx's middleware


def agents_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in people allowed to work mentions. A page refreshing itself (htmx) whose session
    has ended is sent to the login page whole, rather than swapping the login form into a part."""
    allowed = login_required(permission_required("console.change_mention", raise_exception=True)(view))

    @wraps(view)
    def checked(request: HtmxHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.htmx and not request.user.is_authenticated:
            return HttpResponseClientRedirect(redirect_to_login(request.htmx.current_url or "/").url)
        return allowed(request, *args, **kwargs)

    return checked


def _agent(request: HttpRequest) -> Account:
    return cast(Account, request.user)  # the views are for signed-in agents


@agents_only
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The queues, most urgent first unless the agent asks for the oldest first, narrowed by
    brand, channel, issue and priority. The page refreshes its list every
    CARELINE_CONSOLE_REFRESH_SECONDS (htmx asks for the same address again and swaps in the
    list), so new mentions, the clock and the chosen filters stay."""
    agent, now, target = _agent(request), timezone.now(), response_target()
    filters = InboxFilterForm(request.GET, agent=agent)
    wanted = filters.wanted()
    queue = wanted["queue"]
    sizes = queue_sizes(agent=agent, now=now)
    rows = []
    for mention in mentions_queue(agent=agent, now=now, **wanted)[:INBOX_ROWS]:
        left = minutes_left(mention, now)
        if left is None:  # never triaged: the default target since it arrived
            left = round((mention.received_at + target - now).total_seconds() / 60)
        reasons = priority_reasons(mention, now)
        rows.append(
            {
                "mention": mention,
                "minutes_left": left,
                "clock": time_left_words(left),
                # The clock says overdue or due soon in words; the badges say the rest.
                "badges": [reason for reason in reasons if reason not in TIME_REASONS],
            }
        )
    narrowed = any(wanted[name] not in (None, "") for name in ("brand", "channel", "issue", "priority_min"))
    kept = request.GET.copy()
    kept.pop("queue", None)
    context = {
        "queue": queue,
        "ordering": wanted["ordering"],
        "filters": filters,
        "narrowed": narrowed,
        # The tabs keep the order and filters chosen.
        "kept_query": kept.urlencode(),
        "rows": rows,
        "sizes": sizes,
        "hidden": 0 if narrowed else sizes[queue] - len(rows),
        "overdue": sizes["overdue"],
        "target_minutes": int(target.total_seconds() // 60),
        # With targets of their own, brands and channels are late by different clocks.
        "own_targets": response_targets_set(),
        "refresh_seconds": settings.CARELINE_CONSOLE_REFRESH_SECONDS,
    }
    return TemplateResponse(request, "console/inbox.html", context)


@agents_only
@require_GET
def mention_page(request: HttpRequest, mention_id: int) -> HttpResponse:
    return _mention_page(request, mention_id)


def _mention_page(request: HttpRequest, mention_id: int, kept: dict[str, Any] | None = None) -> HttpResponse:
    """A mention with its drafts. ``kept`` is a reply the agent typed that was refused: it is put
    back where they typed it (its draft, or their own reply when that draft is gone)."""
    agent = _agent(request)
    mentions = Mention.objects.filter(mentions_visible_to(agent))
    related = ("brand", "assigned_to", "closed_by", "escalated_by", "suggestion")
    mention = get_object_or_404(mentions.select_related(*related), pk=mention_id)
    event_opened(mention, agent)
    held_by_another = mention.assigned_to_id not in (None, agent.pk)
    drafts = drafts_private_first(mention=mention, drafts=mention_drafts(mention=mention, agent=agent))
    # Abstained: the ranked drafts, folded away as low-confidence (none otherwise).
    candidates = mention_candidates(mention=mention, agent=agent)
    likely = 1 + sum(1 for draft in drafts[1:] if draft["confidence"] >= settings.CARELINE_ABSTAIN_THRESHOLD)
    limit = channel_limit(mention.channel)
    if kept is not None:
        kept["length"] = reply_length(kept["text"], mention.channel, reply_to=mention.author_handle)
        kept["over"] = limit is not None and kept["length"] > limit
        kept["own"] = kept["response"] not in {draft["response"] for draft in drafts + candidates}
        kept["parts"] = _split_offered(mention, kept["text"])
    for draft in drafts + candidates:  # the parts each would go out as, offered when it is too long
        typed = kept is not None and kept["response"] == draft["response"]
        draft["parts"] = kept["parts"] if kept and typed else _split_offered(mention, draft["text"])
    thread = mention_thread(mention=mention, agent=agent)
    context = {
        "mention": mention,
        # The customer's earlier messages and our replies (none shown for a thread of one).
        "thread": thread if len(thread) > 1 else [],
        "history": customer_history(mention=mention, agent=agent, leave_out=[item.pk for item in thread]),
        "held_by_another": held_by_another,
        "holder": mention.assigned_to,
        "drafts": drafts,
        "candidates": candidates,
        "kept": kept,
        # The first draft always shows; the later ones the engine doubts are folded away.
        "likely": likely,
        "likely_negative": -likely,
        "threshold": settings.CARELINE_ABSTAIN_THRESHOLD,
        "limit": limit,
        # Over the limit, a reply may go out as numbered parts where the channel takes threads.
        "threads": channel_allows_threads(mention.channel),
        "dismiss_form": DismissForm(),
        "agents": agents_to_assign(mention) if agent.has_perm("console.assign_mention") else None,
        "escalate_form": EscalateForm(mention=mention, agent=agent),
        # The engine has not answered yet: the drafts come in by themselves (htmx polls the page).
        "drafts_pending": mention.suggestion is None and not mention.suggestions_failed,
        # Said by an agent, or by the engine (it abstained, or failed): offer a reply of the agent's own.
        "nothing_fits": (
            mention.nothing_fits_at is not None
            or mention.suggestions_failed
            or (mention.suggestion is not None and not drafts)
        ),
        # Flagging rejects the drafts, or the candidates the agent looked at; once is enough.
        "offer_nothing_fits": mention.nothing_fits_at is None and bool(drafts or candidates),
        "refresh_seconds": settings.CARELINE_CONSOLE_REFRESH_SECONDS,
        # A connected channel posts the reply ("Send"); otherwise the agent marks it sent.
        "outlet": outbound[1] if (outbound := outbound_for(mention)) else None,
    }
    return TemplateResponse(request, "console/mention.html", context)


@agents_only
@require_GET
def reply_length_view(request: HttpRequest, mention_id: int) -> JsonResponse:
    """The live character count: the reply's length as the mention's channel counts it, and the
    parts it would be split into when it is over the limit of a channel that takes threads."""
    mention = _visible_mention(request, mention_id)
    text = request.GET.get("text", "")[:REPLY_MAX]
    length = reply_length(text, mention.channel, reply_to=mention.author_handle)
    limit = channel_limit(mention.channel)
    fits = limit is None or length <= limit
    parts = [] if fits else _split_offered(mention, text)
    return JsonResponse({"length": length, "limit": limit, "fits": fits, "parts": parts})


def _split_offered(mention: Mention, text: str) -> list[str]:
    """The parts offered for a reply too long for the mention's channel; none when it fits, or
    when the channel takes no threads."""
    parts = reply_parts_for(mention=mention, text=text) if text.strip() else []
    return parts if len(parts) > 1 else []


@agents_only
@require_POST
def take(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = _visible_mention(request, mention_id)
    agent = _agent(request)
    # The page showed who has it, so taking it over is a knowing choice.
    return _acted(request, mention, lambda: mention_take(mention=mention, agent=agent, force=True), "Taken.")


@agents_only
@require_POST
def assign(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = _visible_mention(request, mention_id)
    lead = _agent(request)
    chosen = request.POST.get("agent", "")
    to = agents_to_assign().filter(pk=chosen).first() if chosen.isdigit() else None
    if to is None:
        messages.error(request, "Choose who should answer it.")
        return redirect("console:mention", mention_id=mention.pk)
    step = lambda: mention_assign(mention=mention, agent=to, assigned_by=lead)  # noqa: E731
    name = to.get_full_name() or to.get_username()
    return _acted(request, mention, step, f"Assigned to {name}.")


@agents_only
@require_POST
def send(request: HttpRequest, mention_id: int) -> HttpResponse:
    """Post the reply through the mention's connected channel (console.outbound), or mark it
    sent when there is none. A refusal, or a post that failed, shows the mention again (still
    open) with the reason and the agent's text where they typed it, never lost."""
    mention = _visible_mention(request, mention_id)
    form = ReplyForm(request.POST)
    kept = {
        "text": request.POST.get("text", ""),
        "response": request.POST.get("response", ""),
        "private": bool(request.POST.get("private")),
        "split": bool(request.POST.get("split")),
    }
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        return _mention_page(request, mention.pk, kept)
    given, agent = form.cleaned_data, _agent(request)
    text, response, force, split = given["text"], given["response"], given["force"], given["split"]
    outbound = outbound_for(mention)
    try:
        if outbound is not None and outbound[1].connected:
            sender, channel, private = outbound[0], outbound[1].channel, given["private"]
            answered = sender.send(
                mention=mention,
                agent=agent,
                text=text,
                response=response,
                private=private,
                force=force,
                split=split,
            )
            done = f"Sent as a direct message on {channel}." if private else f"Sent on {channel}."
        else:
            answered = mention_answer(
                mention=mention, agent=agent, text=text, response=response, force=force, split=split
            )
            done = "Marked sent."
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return _mention_page(request, mention.pk, kept)
    if answered.reply_parts:
        done = f"{done.removesuffix('.')}, in {len(answered.reply_parts)} parts."
    messages.success(request, done)
    return redirect("console:inbox")


@agents_only
@require_POST
def dismiss(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = _visible_mention(request, mention_id)
    form = DismissForm(request.POST)
    reason = dict(DISMISS_REASONS)[form.cleaned_data["reason"]] if form.is_valid() else ""
    agent = _agent(request)
    step = lambda: mention_dismiss(mention=mention, agent=agent, reason=reason)  # noqa: E731
    return _acted(request, mention, step, "Dismissed.", back_to_inbox=True)


@agents_only
@require_POST
def nothing_fits(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = _visible_mention(request, mention_id)
    agent = _agent(request)
    return _acted(
        request,
        mention,
        lambda: mention_nothing_fits(mention=mention, agent=agent),
        "Flagged for the editors as a content gap. Reply in your own words below, or escalate it to a lead.",
    )


@agents_only
@require_POST
def escalate(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = _visible_mention(request, mention_id)
    form = EscalateForm(request.POST, mention=mention, agent=_agent(request))
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        return redirect("console:mention", mention_id=mention.pk)
    given, agent = form.cleaned_data, _agent(request)
    lead = given["lead"]

    def hand_over() -> Mention:
        return mention_escalate(
            mention=mention, agent=agent, lead=lead, note=given["note"], force=given["force"]
        )

    name = lead.get_full_name() or lead.get_username()
    return _acted(request, mention, hand_over, f"Escalated to {name}.", back_to_inbox=True)


def _visible_mention(request: HttpRequest, mention_id: int) -> Mention:
    return get_object_or_404(Mention.objects.filter(mentions_visible_to(_agent(request))), pk=mention_id)


def _acted(
    request: HttpRequest,
    mention: Mention,
    step: Callable[[], Mention],
    done: str,
    back_to_inbox: bool = False,
) -> HttpResponse:
    """Run a service for the mention: on success say so (and go back to the inbox when the
    mention is done with); a refusal is shown on the mention's page."""
    try:
        step()
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return redirect("console:mention", mention_id=mention.pk)
    except PermissionDenied as refused:
        messages.error(request, str(refused))
        return redirect("console:mention", mention_id=mention.pk)
    messages.success(request, done)
    return redirect("console:inbox") if back_to_inbox else redirect("console:mention", mention_id=mention.pk)


@agents_only
def paste(request: HttpRequest) -> HttpResponse:
    """Suggestions for a mention that is not in the inbox (pasted from anywhere); stores nothing."""
    form = PasteForm(request.POST or None, agent=_agent(request))
    answer = error = None
    if request.method == "POST" and form.is_valid():
        data, agent = form.cleaned_data, _agent(request)
        asked = MentionToAnswer(
            text=data["text"],
            brand=data["brand"],
            channel=data["channel"],
            author_name=data["customer_name"],
            agent_name=agent.get_full_name() or agent.get_username(),
        )
        try:
            answer = suggestions_for(mention=asked)
        except IndexUnavailable as exc:
            error = f"Suggestions are unavailable: {exc}"
    context = {
        "form": form,
        "answer": answer,
        "error": error,
        "threshold": settings.CARELINE_ABSTAIN_THRESHOLD,
    }
    return TemplateResponse(request, "console/paste.html", context)
