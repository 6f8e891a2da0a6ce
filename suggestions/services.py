"""Answering mentions and recording what agents did with the answers."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kb.models import Brand, Example, Response
from kb.rendering import RenderedReply, ReplyContext, render_reply
from kb.selectors import LiveReply, replies_for_issues, response_unsendable_because
from kb.services import User, example_propose, example_retire
from kb.templating import TemplateRenderError
from suggestions.batching import mention_encoder
from suggestions.models import ExampleProposal, Feedback, SuggestedResponse, SuggestionRequest
from suggestions.privacy import personal_data_redact
from suggestions.request_log import request_log
from suggestions.retrieval import SEARCH_DEPTH, IssueMatch, issues_matching_topics
from suggestions.serving import holder
from suggestions.signals import reply_render_failed
from suggestions.text import mention_topics, normalize_mention

logger = logging.getLogger(__name__)

EXAMPLE_MAX_LENGTH = Example._meta.get_field("text").max_length or 1000


@dataclass(frozen=True)
class Mention:
    """A customer's message and what is known around it."""

    text: str
    brand: Brand | None = None
    channel: str = ""
    author_handle: str = ""
    author_name: str = ""
    agent_name: str = ""
    agent_initials: str = ""
    external_id: str = ""
    received_at: datetime | None = None


@dataclass(frozen=True)
class Suggestion:
    response: str
    response_id: int
    issue_id: int
    issue: dict[str, str]
    text: str
    score: float
    confidence: float
    matched_example: str
    private_channel: bool
    length: int
    limit: int | None
    fits_channel: bool


@dataclass(frozen=True)
class Answer:
    """What the engine answered. ``ranked`` holds every draft it found, best first, abstained or
    not; read ``suggestions`` for what may be acted on and ``candidates`` for what an agent may
    still judge when it abstained."""

    ranked: list[Suggestion]
    abstained: bool
    channel: str
    index_version: str
    took_ms: float

    @property
    def suggestions(self) -> list[Suggestion]:
        """The drafts to offer, best first: none when abstained."""
        return [] if self.abstained else self.ranked

    @property
    def candidates(self) -> list[Suggestion]:
        """When abstained, the ranked drafts, closest first, for an agent to judge (never sent
        on their own); none otherwise."""
        return self.ranked if self.abstained else []


def suggestions_for(*, mention: Mention, limit: int = 3) -> Answer:
    """Rank up to `limit` approved replies for a mention, best first, at most one per issue;
    `abstained` when even the best is below the confidence threshold. Stores nothing.
    Raises IndexUnavailable when no index can be served."""
    started = time.perf_counter()
    channel = mention.channel or settings.CARELINE_DEFAULT_CHANNEL
    served = holder.get()
    text = normalize_mention(mention.text)
    # The whole mention, then each of its topics (most have none), in one encoding call, shared
    # with the mentions other threads of this process are encoding at the same moment.
    queries = list(mention_encoder().encode([text, *mention_topics(text)]))
    brand_id = mention.brand.pk if mention.brand else None
    depth = SEARCH_DEPTH
    # Searches run among the brand's own vectors; the nearest may still lack a reply for this
    # channel, so look further among those (never the other brands') before giving up.
    reachable = served.reachable(brand_id)
    while True:
        matches = issues_matching_topics(queries, served, brand_id=brand_id, depth=depth)
        suggestions = _suggestions(matches, mention, channel, limit)
        if len(suggestions) == limit or depth >= reachable:
            break
        depth *= 4
    abstained = not suggestions or suggestions[0].confidence < settings.CARELINE_ABSTAIN_THRESHOLD
    took_ms = round((time.perf_counter() - started) * 1000, 2)
    return Answer(
        ranked=suggestions,
        abstained=abstained,
        channel=channel,
        index_version=served.version,
        took_ms=took_ms,
    )


def suggestion_create(
    *, mention: Mention, limit: int = 3, requested_by: User | None = None, deferred: bool = False
) -> SuggestionRequest:
    """Answer a mention (see suggestions_for) and store the request with exactly what was
    answered, for feedback and analytics.

    ``deferred``: in a process that runs the request log (suggestions.request_log: the web
    workers on PostgreSQL), the request gets its id at once and its rows are written off the
    response path, a few milliseconds later. A caller that links rows of its own to the request
    must not defer; elsewhere the flag changes nothing."""
    answer = suggestions_for(mention=mention, limit=limit)
    stored = _request_row(mention, answer, requested_by)
    if deferred and request_log.running:
        stored.pk = request_log.next_id()
        stored.created_at = timezone.now()
        request_log.record(stored, _suggested_rows(stored, answer))
        return stored
    with transaction.atomic():
        stored.save(force_insert=True)
        SuggestedResponse.objects.bulk_create(_suggested_rows(stored, answer))
    return stored


def _suggested_rows(stored: SuggestionRequest, answer: Answer) -> list[SuggestedResponse]:
    return [
        SuggestedResponse(
            request=stored,
            response_id=suggestion.response_id,
            issue_id=suggestion.issue_id,
            position=position,
            confidence=suggestion.confidence,
            shown=not answer.abstained,
        )
        for position, suggestion in enumerate(answer.ranked, start=1)
    ]


def _request_row(mention: Mention, answer: Answer, requested_by: User | None) -> SuggestionRequest:
    return SuggestionRequest(
        text=mention.text,
        brand=mention.brand,
        channel=answer.channel,
        external_id=mention.external_id,
        author_handle=mention.author_handle,
        author_name=mention.author_name,
        agent_name=mention.agent_name,
        requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
        abstained=answer.abstained,
        index_version=answer.index_version,
        results=[asdict(suggestion) for suggestion in answer.ranked],
        took_ms=answer.took_ms,
        received_at=mention.received_at,
    )


def _suggestions(matches: list[IssueMatch], mention: Mention, channel: str, limit: int) -> list[Suggestion]:
    """The best live response of each matched issue that serves this brand and channel, looked
    up a few issues at a time: the first few usually suffice."""
    suggestions: list[Suggestion] = []
    batch = 2 * limit + 2
    for start in range(0, len(matches), batch):
        chunk = matches[start : start + batch]
        replies = replies_for_issues(
            issue_ids=[match.issue_id for match in chunk], brand=mention.brand, channel=channel
        )
        for match in chunk:
            reply = replies.get(match.issue_id)
            suggestion = _suggestion(reply, match, mention, channel) if reply is not None else None
            if suggestion is not None:
                suggestions.append(suggestion)
                if len(suggestions) == limit:
                    return suggestions
    return suggestions


def reply_for(
    *,
    template: str,
    response_key: str,
    mention: Mention,
    channel: str,
    brand_name: str = "",
    brand_handle: str = "",
) -> RenderedReply | None:
    """A response template rendered for a mention (its customer, agent and brand; the response's
    own brand, given here, when the mention names none) and measured for the channel.

    None when the template cannot be rendered for this mention (kb.templating.TemplateRenderError):
    the caller leaves that draft out. The failure is logged with the response's key and announced
    (suggestions.signals.reply_render_failed) for library health; it never fails the caller."""
    brand = mention.brand
    context = ReplyContext(
        customer_name=mention.author_name,
        handle=mention.author_handle,
        agent_name=mention.agent_name,
        agent_initials=mention.agent_initials,
        brand_name=brand.name if brand else brand_name,
        brand_handle=brand.handle if brand else brand_handle,
    )
    try:
        return render_reply(template, context, channel)
    except TemplateRenderError as exc:
        reason = " ".join(exc.messages)
        logger.warning("Response %s left out: its template failed to render: %s", response_key, reason)
        answers = reply_render_failed.send_robust(
            sender=Response, response_key=response_key, template=template, reason=reason
        )
        for _, error in answers:
            if isinstance(error, Exception):
                logger.error("Recording the render failure of %s failed: %r", response_key, error)
        return None


def _suggestion(reply: LiveReply, match: IssueMatch, mention: Mention, channel: str) -> Suggestion | None:
    rendered = reply_for(
        template=reply.text,
        response_key=reply.key,
        mention=mention,
        channel=channel,
        brand_name=reply.brand_name,
        brand_handle=reply.brand_handle,
    )
    if rendered is None:
        return None
    return Suggestion(
        response=reply.key,
        response_id=reply.response_id,
        issue_id=reply.issue_id,
        issue={"key": reply.issue_key, "title": reply.issue_title},
        text=rendered.text,
        score=round(match.score, 4),
        confidence=round(match.confidence, 4),
        matched_example=match.matched_example or reply.issue_title,
        private_channel=reply.private_channel,
        length=rendered.length,
        limit=rendered.limit,
        fits_channel=rendered.fits_channel,
    )


@transaction.atomic
def feedback_give(
    *,
    request: SuggestionRequest,
    response: Response,
    action: str,
    final_text: str = "",
    sent_at: datetime | None = None,
    given_by: User | None = None,
) -> Feedback:
    """Record what an agent did with a suggested response. Giving feedback again on the same
    request and response replaces the earlier answer (idempotent per agent and response).

    A reply sent (accepted or edited) marks the request answered at ``sent_at`` (default: now)
    unless it already was, and proposes the mention as a pending example of the response's issue;
    a later rejection withdraws that proposal. A reply sent must come from a response live for
    the request's brand and channel now; any suggested response may be rejected. A candidate
    (ranked when the engine abstained, folded away) may be sent or rejected as a suggestion may."""
    if action not in Feedback.Action.values:
        raise ValidationError({"action": f"Must be one of {', '.join(Feedback.Action.values)}."})
    if action == Feedback.Action.EDITED and not final_text.strip():
        raise ValidationError(
            {"final_text": "The text the agent sent is required when the action is 'edited'."}
        )
    suggested = next((item for item in request.offered if item["response"] == response.key), None)
    if suggested is None:
        raise ValidationError({"response": f"{response.key!r} was not suggested in request #{request.pk}."})
    if action != Feedback.Action.REJECTED:
        # Locked until the feedback is saved: an editor retiring it meanwhile waits, or is seen here.
        Response.objects.select_for_update().filter(pk=response.pk).first()
        why = response_unsendable_because(response=response, brand=request.brand, channel=request.channel)
        if why:
            raise ValidationError({"response": f"{why}: it may not be sent."})
    if action == Feedback.Action.ACCEPTED and not final_text:
        final_text = suggested["text"]
    user = given_by if given_by is not None and given_by.is_authenticated else None
    feedback, _ = Feedback.objects.select_for_update().update_or_create(
        request=request,
        response=response,
        given_by=user,
        defaults={"action": action, "final_text": final_text},
    )
    if action == Feedback.Action.REJECTED:
        _proposal_withdraw(feedback, withdrawn_by=user)
    else:
        if request.answered_at is None:
            request.answered_at = sent_at or timezone.now()
            request.save(update_fields=["answered_at"])
        _proposal_make(feedback, response, proposed_by=user)
    return feedback


def _proposal_make(feedback: Feedback, response: Response, *, proposed_by: User | None) -> None:
    """Propose the mention, as the engine reads it and without the customer's personal data
    (suggestions.privacy), as an example of the issue it was answered by."""
    phrasing = personal_data_redact(normalize_mention(feedback.request.text))
    if not phrasing or len(phrasing) > EXAMPLE_MAX_LENGTH or hasattr(feedback, "proposal"):
        return
    example = example_propose(issue=response.issue, text=phrasing, proposed_by=proposed_by)
    ExampleProposal.objects.create(example=example, feedback=feedback)


def _proposal_withdraw(feedback: Feedback, *, withdrawn_by: User | None) -> None:
    """Drop the feedback's proposal; a learned example nobody proposes any more is retired while
    still pending (its history keeps it)."""
    proposal = ExampleProposal.objects.filter(feedback=feedback).select_related("example").first()
    if proposal is None:
        return
    example = proposal.example
    proposal.delete()
    if (
        example.status == Example.Status.PENDING
        and example.source == Example.Source.LEARNED
        and not example.proposals.exists()
    ):
        example_retire(example=example, retired_by=withdrawn_by)
