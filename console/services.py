"""Receiving mentions into the inbox and answering them with suggestions in the background."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from console.models import Mention
from kb.models import Brand
from suggestions.services import Mention as MentionToAnswer
from suggestions.services import suggestion_create

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
) -> tuple[Mention, bool]:
    """Put a mention in the inbox and queue its suggestions; returns it and whether it is new.
    A mention already received (same channel and external id) is returned as it is: pushing
    again is safe, and never changes what agents are working on."""
    existing = Mention.objects.filter(channel=channel, external_id=external_id).first()
    if existing is not None:
        return existing, False
    mention = Mention(
        text=text,
        external_id=external_id,
        channel=channel,
        brand=brand,
        author_handle=author_handle,
        author_name=author_name,
        received_at=received_at or timezone.now(),
    )
    mention.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            mention.save()
    except IntegrityError:  # the same mention pushed twice at once: the other push won
        return Mention.objects.get(channel=channel, external_id=external_id), False
    _queue_suggestions(mention.pk)
    return mention, True


def mention_suggest(*, mention_id: int) -> Mention:
    """Ask the engine about a mention and keep its answer (once; a second call keeps the first).
    Raises IndexUnavailable when no index can be served (the task retries)."""
    with transaction.atomic():
        mention = Mention.objects.select_for_update().select_related("brand").get(pk=mention_id)
        if mention.suggestion_id is not None:
            return mention
        mention.suggestion = suggestion_create(
            mention=MentionToAnswer(
                text=mention.text,
                brand=mention.brand,
                channel=mention.channel,
                author_handle=mention.author_handle,
                author_name=mention.author_name,
                external_id=mention.external_id,
                received_at=mention.received_at,
            )
        )
        mention.save(update_fields=["suggestion", "updated_at"])
    return mention


def mentions_awaiting_suggestions(*, older_than: timedelta) -> list[int]:
    """Mentions received more than ``older_than`` ago whose suggestions were never computed
    (their task was lost: the broker was down when they arrived)."""
    cutoff = timezone.now() - older_than
    return list(
        Mention.objects.filter(suggestion__isnull=True, created_at__lt=cutoff).values_list("pk", flat=True)
    )


def _queue_suggestions(mention_id: int) -> None:
    from console.tasks import mention_suggest_task  # the tasks module imports this one

    def queue() -> None:
        try:
            mention_suggest_task.delay(mention_id)
        except Exception:  # the mention is saved; the periodic sweep will answer it
            logger.exception("Could not queue suggestions for mention %s; the sweep will", mention_id)

    transaction.on_commit(queue)
