"""The agents' console: the inbox by age against the response target, and one mention at a time
with its drafts. Plain forms that post to the same services as the API, and a little JavaScript
(console.js) for the live character count, copying and keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from console.models import Mention
from console.selectors import QUEUES, mentions_overdue, mentions_queue, response_target
from console.services import (
    mention_answer,
    mention_dismiss,
    mention_drafts,
    mention_nothing_fits,
    mention_take,
)
from kb.channels import channel_limit
from kb.models import Response
from kb.rendering import reply_length

DISMISS_REASONS = [
    ("spam", "Spam or abuse"),
    ("no-reply-needed", "No reply needed"),
    ("handled-elsewhere", "Already handled elsewhere"),
    ("duplicate", "Duplicate"),
]
works_mentions = permission_required("console.change_mention", raise_exception=True)


class ReplyForm(forms.Form):
    text = forms.CharField(max_length=5000)
    response = forms.ModelChoiceField(Response.objects.all(), to_field_name="key", required=False)
    force = forms.BooleanField(required=False)


class DismissForm(forms.Form):
    reason = forms.ChoiceField(choices=DISMISS_REASONS)


def _agent(request: HttpRequest) -> Account:
    return cast(Account, request.user)  # the views are login_required


@login_required
@works_mentions
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    queue = request.GET.get("queue", "open")
    if queue not in QUEUES:
        queue = "open"
    now = timezone.now()
    target = response_target()
    rows = []
    for mention in mentions_queue(agent=_agent(request), queue=queue):
        minutes_left = round((mention.received_at + target - now).total_seconds() / 60)
        rows.append({"mention": mention, "minutes_left": minutes_left, "overdue_by": -minutes_left})
    context = {
        "queue": queue,
        "rows": rows,
        "overdue": mentions_overdue(now=now),
        "target_minutes": int(target.total_seconds() // 60),
    }
    return TemplateResponse(request, "console/inbox.html", context)


@login_required
@works_mentions
@require_GET
def mention_page(request: HttpRequest, mention_id: int) -> HttpResponse:
    mentions = Mention.objects.select_related("brand", "assigned_to", "closed_by", "suggestion")
    mention = get_object_or_404(mentions, pk=mention_id)
    agent = _agent(request)
    held_by_another = mention.assigned_to_id not in (None, agent.pk)
    drafts = mention_drafts(mention=mention, agent=agent)
    limit = channel_limit(mention.channel)
    context = {
        "mention": mention,
        "held_by_another": held_by_another,
        "holder": mention.assigned_to,
        "drafts": drafts,
        "limit": limit,
        "dismiss_form": DismissForm(),
        # Said by an agent, or by the engine (it abstained): offer a reply of the agent's own.
        "nothing_fits": mention.nothing_fits_at is not None or bool(mention.suggestion and not drafts),
    }
    return TemplateResponse(request, "console/mention.html", context)


@login_required
@works_mentions
@require_GET
def reply_length_view(request: HttpRequest, mention_id: int) -> JsonResponse:
    """The live character count: the reply's length as the mention's channel counts it."""
    mention = get_object_or_404(Mention, pk=mention_id)
    text = request.GET.get("text", "")
    length = reply_length(text, mention.channel, reply_to=mention.author_handle)
    limit = channel_limit(mention.channel)
    return JsonResponse({"length": length, "limit": limit, "fits": limit is None or length <= limit})


@login_required
@works_mentions
@require_POST
def take(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = get_object_or_404(Mention, pk=mention_id)
    agent = _agent(request)
    # The page showed who has it, so taking it over is a knowing choice.
    return _acted(request, mention, lambda: mention_take(mention=mention, agent=agent, force=True), "Taken.")


@login_required
@works_mentions
@require_POST
def send(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = get_object_or_404(Mention, pk=mention_id)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        return redirect("console:mention", mention_id=mention.pk)
    given, agent = form.cleaned_data, _agent(request)

    def answer() -> Mention:
        return mention_answer(
            mention=mention, agent=agent, text=given["text"], response=given["response"], force=given["force"]
        )

    return _acted(request, mention, answer, "Marked sent.", back_to_inbox=True)


@login_required
@works_mentions
@require_POST
def dismiss(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = get_object_or_404(Mention, pk=mention_id)
    form = DismissForm(request.POST)
    reason = dict(DISMISS_REASONS)[form.cleaned_data["reason"]] if form.is_valid() else ""
    agent = _agent(request)
    step = lambda: mention_dismiss(mention=mention, agent=agent, reason=reason)  # noqa: E731
    return _acted(request, mention, step, "Dismissed.", back_to_inbox=True)


@login_required
@works_mentions
@require_POST
def nothing_fits(request: HttpRequest, mention_id: int) -> HttpResponse:
    mention = get_object_or_404(Mention, pk=mention_id)
    agent = _agent(request)
    return _acted(
        request,
        mention,
        lambda: mention_nothing_fits(mention=mention, agent=agent),
        "Flagged for the editors as a content gap. Reply in your own words below, or escalate to your lead.",
    )


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
