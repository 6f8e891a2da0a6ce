"""Receiving mentions into the inbox and answering them with suggestions in the background."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from console.events import event_record
from console.models import Mention, MentionEvent
from console.selectors import agents_to_assign, conversation_holder, leads_for, may_work_for
from console.signals import mention_event
from console.triage import TRIAGE_FIELDS, mention_triage
from kb.channels import Channel, channel_allows_threads, channel_limit
from kb.models import Brand, Response
from kb.rendering import reply_length
from kb.reply_parts import reply_parts
from kb.selectors import response_answers, response_unsendable_because, responses_live
from suggestions.models import Feedback
from suggestions.privacy import personal_data_kinds
from suggestions.services import Mention as MentionToAnswer
from suggestions.services import feedback_give, reply_for, suggestion_create

logger = logging.getLogger(__name__)


def mention_receive(
    *,
    text: str,
    external_id: str,
    channel: str,
    brand: Brand | None = None,
    author_handle: str = "",
    author_name: str = "",
    received_at: datetime | None = None,
    received_by: Account | None = None,
    conversation_id: str = "",
    in_reply_to_id: str = "",
) -> tuple[Mention, bool]:
    """Put a mention in the inbox and queue its suggestions; returns it and whether it is new.
    A mention already received (same channel and external id) is returned as it is: pushing
    again is safe, and never changes what agents are working on. ``received_by`` (None: the
    system itself) needs console.add_mention, and pushes only for the brands they serve.
    ``conversation_id`` and ``in_reply_to_id`` are the thread and the message it answers, as the
    channel names them (a reply to a stored mention without a thread joins that mention's). A
    new mention in a thread an agent holds is theirs at once (console.selectors.conversation_holder)."""
    if received_by is not None:
        _check_may_push(received_by, brand)
    existing = (
        Mention.objects.filter(channel=channel, external_id=external_id).select_related("brand").first()
    )
    if existing is not None:
        if received_by is not None:
            _check_may_push(received_by, existing.brand)
        return existing, False
    conversation_id = conversation_id or _conversation_of(channel, in_reply_to_id)
    mention = Mention(
        text=text,
        external_id=external_id,
        channel=channel,
        brand=brand,
        author_handle=author_handle,
        author_name=author_name,
        received_at=received_at or timezone.now(),
        personal_data=personal_data_kinds(text),
        conversation_id=conversation_id,
        in_reply_to_id=in_reply_to_id,
    )
    holder = conversation_holder(brand=brand, channel=channel, conversation_id=conversation_id)
    if holder is not None:
        mention.assigned_to, mention.status = holder, Mention.Status.ASSIGNED
    mention_triage(mention, severity=None)  # its issue is known once its suggestions are ready
    mention.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            mention.save()
            event_record(mention, MentionEvent.Kind.RECEIVED, at=mention.received_at)
            mention_event.send(Mention, event="mention.created", mention=mention)
    except IntegrityError:  # the same mention pushed twice at once: the other push won
        return Mention.objects.get(channel=channel, external_id=external_id), False
    _queue_suggestions(mention.pk)
    return mention, True


def _conversation_of(channel: str, in_reply_to_id: str) -> str:
    """The thread of the stored mention that ``in_reply_to_id`` names (it started one if it
    names none), or no thread when that message is not in the inbox."""
    if not in_reply_to_id:
        return ""
    replied = Mention.objects.filter(channel=channel, external_id=in_reply_to_id)
    found = replied.values_list("conversation_id", flat=True).first()
    return "" if found is None else (found or in_reply_to_id)


def _check_may_push(user: Account, brand: Brand | None) -> None:
    if not user.has_perm("console.add_mention"):
        raise PermissionDenied("Only integrations push mentions into the inbox.")
    if not may_work_for(user, brand):
        key = brand.key if brand else ""
        raise PermissionDenied(f"Mentions of brand {key!r} are not yours to push: you do not serve it.")


def mention_suggest(*, mention_id: int) -> Mention:
    """Ask the engine about a mention and keep its answer (once; a second call keeps the first).
    Raises IndexUnavailable when no index can be served (the task retries)."""
    with transaction.atomic():
        mention = Mention.objects.select_for_update(of=("self",)).select_related("brand").get(pk=mention_id)
        if mention.suggestion_id is not None:
            return mention
        mention.suggestion = suggestion_create(mention=_to_answer(mention))
        mention_triage(mention)  # now with the severity of the top suggestion's issue
        mention.save(update_fields=["suggestion", *TRIAGE_FIELDS, "updated_at"])
        mention_event.send(Mention, event="mention.suggestions_ready", mention=mention)
    return mention


def mention_suggest_failed(*, mention_id: int, error: BaseException) -> None:
    """Count a failure to compute the mention's suggestions (other than a missing index, which
    the task waits out). After CARELINE_SUGGEST_ATTEMPTS the sweep stops retrying, and the
    console shows the agent why there are no drafts."""
    Mention.objects.filter(pk=mention_id).update(
        suggest_failures=F("suggest_failures") + 1,
        suggest_error=f"{type(error).__name__}: {error}"[:500],
        updated_at=timezone.now(),
    )


def mentions_awaiting_suggestions(*, older_than: timedelta) -> list[int]:
    """Mentions received more than ``older_than`` ago whose suggestions were never computed
    (their task was lost, say the broker was down when they arrived), unless computing them has
    failed too often to try again."""
    cutoff = timezone.now() - older_than
    awaiting = Mention.objects.filter(
        suggestion__isnull=True,
        created_at__lt=cutoff,
        suggest_failures__lt=settings.CARELINE_SUGGEST_ATTEMPTS,
    )
    return list(awaiting.values_list("pk", flat=True))


def _queue_suggestions(mention_id: int) -> None:
    from console.tasks import mention_suggest_task  # the tasks module imports this one

    def queue() -> None:
        try:
            mention_suggest_task.delay(mention_id)
        except Exception:  # the mention is saved; the periodic sweep will answer it
            logger.exception("Could not queue suggestions for mention %s; the sweep will", mention_id)

    transaction.on_commit(queue)


# ---- working a mention ------------------------------------------------------------------------


class MentionHeldByAnother(ValidationError):
    """Someone else has the mention; the caller may act anyway only by saying so (``force``)."""

    def __init__(self, mention: Mention) -> None:
        holder = mention.assigned_to
        name = (holder.get_full_name() or holder.get_username()) if holder else "someone"
        super().__init__({"assigned_to": f"{name} has this mention."})
        self.mention = mention


def mention_take(*, mention: Mention, agent: Account, force: bool = False) -> Mention:
    """Assign the mention to ``agent``. Refused while another agent has it, unless ``force``."""
    return _hand_to(mention, agent, force=force, event=MentionEvent.Kind.TAKEN, by=agent)


def _hand_to(mention: Mention, agent: Account, *, force: bool, event: str, by: Account) -> Mention:
    with transaction.atomic():
        mention = _open_locked(mention)
        if mention.assigned_to_id not in (None, agent.pk) and not force:
            raise MentionHeldByAnother(mention)
        mention.assigned_to, mention.status = agent, Mention.Status.ASSIGNED
        mention.save(update_fields=["assigned_to", "status", "updated_at"])
        event_record(mention, event, agent=by)
    return mention


def mention_assign(*, mention: Mention, agent: Account, assigned_by: Account) -> Mention:
    """A lead gives the mention to ``agent`` (needs console.assign_mention), who must be allowed
    to work mentions and serve its brand (console.selectors.agents_to_assign)."""
    if not assigned_by.has_perm("console.assign_mention"):
        raise PermissionDenied("Only leads assign mentions to other agents; take it yourself instead.")
    if not agents_to_assign(mention).filter(pk=agent.pk).exists():
        name = agent.get_full_name() or agent.get_username()
        raise ValidationError({"agent": f"{name} is not an agent serving this mention's brand."})
    return _hand_to(mention, agent, force=True, event=MentionEvent.Kind.ASSIGNED, by=assigned_by)


def mention_release(*, mention: Mention, agent: Account) -> Mention:
    """Hand the mention back to the unassigned queue (its agent, or a lead, may)."""
    with transaction.atomic():
        mention = _open_locked(mention)
        if mention.assigned_to_id not in (None, agent.pk) and not agent.has_perm("console.assign_mention"):
            raise MentionHeldByAnother(mention)
        mention.assigned_to, mention.status = None, Mention.Status.NEW
        mention.save(update_fields=["assigned_to", "status", "updated_at"])
        event_record(mention, MentionEvent.Kind.RELEASED, agent=agent)
    return mention


def mention_answer(
    *,
    mention: Mention,
    text: str,
    agent: Account,
    response: Response | None = None,
    sent_at: datetime | None = None,
    force: bool = False,
    split: bool = False,
) -> Mention:
    """Record the reply the agent sent. With ``response`` (one of the mention's suggestions, or of
    its candidates when the engine abstained) it is feedback too: accepted when the text is the
    draft's, edited otherwise. Without one it is the agent's own reply. Refused while another
    agent has the mention, unless ``force``; when the response is no longer live for the mention
    (see mention_drafts); and when the reply is longer than the mention's channel carries, unless
    ``split`` where the channel takes threads: it went out as the numbered parts of
    reply_parts_for, recorded in ``reply_parts`` and in ``reply_text`` a blank line apart (the
    feedback keeps the whole text). ``split`` on a channel without threads is refused."""
    text = _reply_text(text)
    with transaction.atomic():
        mention = _open_locked(mention)
        _answer_refuse(mention, text, agent, response, force, split)
        request = mention.suggestion
        if response is not None and request is not None:
            offered = _drafts_rendered(mention, request.offered, agent, templates=None)
            suggested = _suggested_text(offered, response)
            action = Feedback.Action.ACCEPTED if text == suggested else Feedback.Action.EDITED
            feedback_give(
                request=request,
                response=response,
                action=action,
                final_text=text,
                sent_at=sent_at,
                given_by=agent,
            )
        parts = reply_parts_for(mention=mention, text=text) if split else [text]
        whole = len(parts) == 1
        _close(
            mention,
            Mention.Status.ANSWERED,
            agent,
            reply_text=text if whole else "\n\n".join(parts),
            reply_parts=[] if whole else parts,
        )
        event_record(mention, MentionEvent.Kind.ANSWERED, agent=agent, at=mention.closed_at)
        reply: dict[str, Any] = {
            "text": text,
            "response": response.key if response else None,
            "agent": agent.get_username(),
        }
        if not whole:
            reply["parts"] = parts
        mention_event.send(Mention, event="mention.answered", mention=mention, details={"reply": reply})
    return mention


def mention_answer_check(
    *,
    mention: Mention,
    text: str,
    agent: Account,
    response: Response | None = None,
    force: bool = False,
    split: bool = False,
) -> None:
    """Refuse, as mention_answer would, a reply about to be posted on the mention's channel
    (console.outbound), so that nothing goes out that the inbox would not record."""
    text = _reply_text(text)
    with transaction.atomic():
        _answer_refuse(_open_locked(mention), text, agent, response, force, split)


def reply_parts_for(*, mention: Mention, text: str) -> list[str]:
    """The parts a reply goes out as when split on the mention's channel: the fewest numbered
    parts within its limit, counted as a reply to the mention's author (kb.reply_parts), when it
    is over the limit of a channel that takes threads; otherwise the reply whole, alone."""
    text = text.strip()
    if not channel_allows_threads(mention.channel):
        return [text]
    return reply_parts(text, channel=mention.channel, reply_to=mention.author_handle)


def _reply_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValidationError({"text": "The reply that was sent is required."})
    return text


def _answer_refuse(
    mention: Mention, text: str, agent: Account, response: Response | None, force: bool, split: bool
) -> None:
    """The refusals of mention_answer, on the mention locked by the caller's transaction."""
    if mention.assigned_to_id not in (None, agent.pk) and not force:
        raise MentionHeldByAnother(mention)
    refused = _too_long(mention, text, split)
    request = mention.suggestion
    if response is not None:
        if request is None:
            raise ValidationError({"response": "This mention has no suggestions yet."})
        if not any(item["response"] == response.key for item in request.offered):
            raise ValidationError({"response": f"{response.key!r} was not suggested for this mention."})
        # Locked until the reply is recorded: an editor retiring it meanwhile waits, or is seen here.
        Response.objects.select_for_update().filter(pk=response.pk).first()
        why = response_unsendable_because(response=response, brand=mention.brand, channel=mention.channel)
        if why:
            refused["response"] = f"{why}; pick another draft or write your own."
    if refused:
        raise ValidationError(refused)


def mention_escalate(
    *, mention: Mention, agent: Account, lead: Account, note: str, force: bool = False
) -> Mention:
    """Hand the mention to a lead serving its brand, with a note of what they should know. It is
    assigned to them (their queue) and shows as escalated until closed. Refused while another
    agent has it, unless ``force``."""
    note = note.strip()
    if not note:
        raise ValidationError({"note": "Tell the lead what the customer needs and what you tried."})
    if not leads_for(mention).filter(pk=lead.pk).exists():
        name = lead.get_full_name() or lead.get_username()
        raise ValidationError({"lead": f"{name} is not a lead serving this mention's brand."})
    with transaction.atomic():
        mention = _open_locked(mention)
        if mention.assigned_to_id not in (None, agent.pk) and not force:
            raise MentionHeldByAnother(mention)
        mention.assigned_to, mention.status = lead, Mention.Status.ASSIGNED
        mention.escalated_by, mention.escalated_at, mention.escalation_note = agent, timezone.now(), note
        mention.save(
            update_fields=[
                "assigned_to",
                "status",
                "escalated_by",
                "escalated_at",
                "escalation_note",
                "updated_at",
            ]
        )
        event_record(mention, MentionEvent.Kind.ESCALATED, agent=agent, at=mention.escalated_at)
        details = {"agent": agent.get_username(), "lead": lead.get_username()}
        mention_event.send(Mention, event="mention.escalated", mention=mention, details=details)
    return mention


def mention_dismiss(*, mention: Mention, reason: str, agent: Account) -> Mention:
    """Set the mention aside without a reply (spam, already handled elsewhere, ...)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the mention needs no reply."})
    with transaction.atomic():
        mention = _open_locked(mention)
        _close(mention, Mention.Status.DISMISSED, agent, dismiss_reason=reason)
        event_record(mention, MentionEvent.Kind.DISMISSED, agent=agent, at=mention.closed_at)
        details = {"agent": agent.get_username()}
        mention_event.send(Mention, event="mention.dismissed", mention=mention, details=details)
    return mention


def mention_nothing_fits(*, mention: Mention, agent: Account) -> Mention:
    """The agent finds no suggestion fits: each one shown (or each candidate, when the engine
    abstained) is rejected, which makes the mention a content-gap candidate for editors. The
    mention stays open, to be answered by hand or escalated."""
    with transaction.atomic():
        mention = _open_locked(mention)
        request = mention.suggestion
        if request is not None:
            keys = [item["response"] for item in request.offered]
            for response in Response.objects.filter(key__in=keys):
                feedback_give(
                    request=request, response=response, action=Feedback.Action.REJECTED, given_by=agent
                )
        mention.nothing_fits_at = timezone.now()
        mention.save(update_fields=["nothing_fits_at", "updated_at"])
    return mention


def mention_drafts(
    *, mention: Mention, agent: Account, templates: dict[str, Response] | None = None
) -> list[dict[str, Any]]:
    """The mention's suggestions as ``agent`` would send them now: rendered again from each
    response's current text with their name and initials, since the engine answered before anyone
    worked the mention. Only responses live at this moment for the mention are drafts (approved,
    inside their validity window, on an active issue, for its channel or any, of its brand or
    every brand's): one edited back to review, retired, expired, withdrawn or moved away since is
    left out. The one place a draft is rendered for an agent. ``templates`` (from
    ``responses_suggested_for``) spares a query per mention when rendering many."""
    if mention.suggestion is None:
        return []
    return _drafts_rendered(mention, mention.suggestion.shown, agent, templates)


def mention_candidates(
    *, mention: Mention, agent: Account, templates: dict[str, Response] | None = None
) -> list[dict[str, Any]]:
    """When the engine abstained on the mention, the drafts it ranked, closest first, rendered and
    checked live as mention_drafts does: for the agent to judge, folded away as low-confidence.
    None otherwise."""
    if mention.suggestion is None:
        return []
    return _drafts_rendered(mention, mention.suggestion.candidates, agent, templates)


def _drafts_rendered(
    mention: Mention, items: list[dict[str, Any]], agent: Account, templates: dict[str, Response] | None
) -> list[dict[str, Any]]:
    if not items:
        return []
    if templates is None:
        templates = responses_suggested_for([mention])
    asked = _to_answer(mention, agent_name=agent.get_full_name() or agent.get_username())
    drafts = []
    for item in items:
        response = templates.get(item["response"])
        if response is None or not response_answers(response, brand=mention.brand, channel=mention.channel):
            continue
        issue = response.issue
        brand = issue.brand
        rendered = reply_for(
            template=response.text,
            response_key=response.key,
            mention=asked,
            channel=mention.channel,
            brand_name=brand.name if brand else "",
            brand_handle=brand.handle if brand else "",
        )
        if rendered is None:  # logged and counted for library health by reply_for
            continue
        drafts.append(
            {
                **item,
                "issue": {"key": issue.key, "title": issue.title},
                "private_channel": issue.private_channel,
                "text": rendered.text,
                "length": rendered.length,
                "limit": rendered.limit,
                "fits_channel": rendered.fits_channel,
            }
        )
    return drafts


def drafts_private_first(*, mention: Mention, drafts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For a public mention showing the customer's personal data, the likely drafts (the first,
    and those at or above CARELINE_ABSTAIN_THRESHOLD) that move the conversation to a private
    channel come first, in the engine's order; the rest keep theirs. Otherwise ``drafts`` as given."""
    if not mention.exposes_personal_data:
        return drafts
    threshold = settings.CARELINE_ABSTAIN_THRESHOLD
    moved = [
        draft
        for i, draft in enumerate(drafts)
        if draft["private_channel"] and (i == 0 or draft["confidence"] >= threshold)
    ]
    return moved + [draft for draft in drafts if draft not in moved]


def responses_suggested_for(mentions: Iterable[Mention]) -> dict[str, Response]:
    """The responses suggested for any of the mentions (or ranked as candidates) that are live
    now, by key, in one query."""
    keys = {
        item["response"] for mention in mentions if mention.suggestion for item in mention.suggestion.offered
    }
    return {
        response.key: response
        for response in responses_live().filter(key__in=keys).select_related("issue__brand")
    }


def _to_answer(mention: Mention, agent_name: str = "") -> MentionToAnswer:
    """The inbox mention as the engine is asked about it."""
    return MentionToAnswer(
        text=mention.text,
        brand=mention.brand,
        channel=mention.channel,
        author_handle=mention.author_handle,
        author_name=mention.author_name,
        agent_name=agent_name,
        external_id=mention.external_id,
        received_at=mention.received_at,
    )


def _open_locked(mention: Mention) -> Mention:
    # of=self: PostgreSQL cannot lock the nullable side of the joins.
    locked = (
        Mention.objects.select_for_update(of=("self",))
        .select_related("assigned_to", "closed_by", "suggestion")
        .get(pk=mention.pk)
    )
    if not locked.is_open:
        by = locked.closed_by.get_username() if locked.closed_by else "someone"
        done = locked.get_status_display().lower()
        raise ValidationError({"status": f"This mention was already {done} by {by}."})
    return locked


def _close(mention: Mention, status: str, agent: Account, **fields: object) -> None:
    mention.status, mention.closed_by, mention.closed_at = status, agent, timezone.now()
    for name, value in fields.items():
        setattr(mention, name, value)
    mention.save()


def _too_long(mention: Mention, text: str, split: bool) -> dict[str, str]:
    """The refusal of a reply longer than the mention's channel carries, counted as it counts;
    where the channel takes threads, ``split`` (send it as numbered parts) lifts it, and the
    refusal says how many parts it would take."""
    channel = Channel(mention.channel).label
    threads = channel_allows_threads(mention.channel)
    if split and not threads:
        return {"split": f"A reply on {channel} goes out whole: it takes no thread of parts."}
    limit = channel_limit(mention.channel)
    length = reply_length(text, mention.channel, reply_to=mention.author_handle)
    if limit is None or length <= limit or split:
        return {}
    over = f"{length} characters, over the {limit} {channel} allows; shorten it before sending"
    if not threads:
        return {"text": f"{over}."}
    parts = len(reply_parts_for(mention=mention, text=text))
    return {"text": f"{over}, or split it into {parts} parts."}


def _suggested_text(drafts: list[dict[str, Any]], response: Response) -> str:
    for item in drafts:
        if item["response"] == response.key:
            return str(item["text"])
    raise ValidationError({"response": f"{response.key!r} was not suggested for this mention."})
