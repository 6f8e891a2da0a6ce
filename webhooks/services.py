"""Subscribing receivers, recording the inbox's events for them, and delivering each one.

An event becomes one Delivery per subscription that receives it, written in the transaction
that made the event (nothing is lost if the broker is down: the beat's sweep sends what is due).
A delivery is POSTed signed (webhooks.signing) with the same body and id every attempt; any
answer but a 2xx, a timeout or no connection is retried with exponential backoff and jitter,
CARELINE_WEBHOOK_ATTEMPTS times in all (hours: a receiver down for an hour loses nothing), and
then it is failed, for an admin to redeliver. A subscription gets a mention's events in order:
one waits while an earlier one about the same mention is pending."""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User as Account
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.crypto import InvalidToken, secret_decrypt, secret_encrypt
from console.models import Mention
from console.selectors import may_work_for
from kb.models import Brand
from kb.selectors import brands_served_by
from webhooks.addresses import AddressRefused, receiver_resolve
from webhooks.models import Delivery, Event, Subscription
from webhooks.payloads import mention_as_seen_by
from webhooks.selectors import deliveries_due, earlier_undelivered, next_in_turn, subscriptions_visible_to
from webhooks.sending import delivery_post

logger = logging.getLogger(__name__)

MAX_SECRET = 200
HINT_LENGTH = 4


# ---- subscriptions ----------------------------------------------------------------------------


def subscription_create(
    *,
    url: str,
    secret: str,
    events: list[str],
    created_by: Account,
    brands: list[Brand] | None = None,
) -> Subscription:
    """Subscribe a receiver (needs webhooks.add_subscription). ``brands``: whose mentions it
    receives; for someone who serves particular brands, some of theirs (default: all of
    theirs); for anyone else, any (default: every brand). Refused, naming the field, as
    subscription_refusals says."""
    if not created_by.has_perm("webhooks.add_subscription"):
        raise PermissionDenied("Only editors subscribe webhooks.")
    errors, chosen = subscription_refusals(
        url=url, secret=secret, events=events, brands=brands, user=created_by
    )
    if errors:
        raise ValidationError(errors)
    secret = secret.strip()
    subscription = Subscription(
        url=url.strip(),
        secret_encrypted=secret_encrypt(secret),
        secret_hint=secret[-HINT_LENGTH:],
        events=[event for event in Event.values if event in events],
        created_by=created_by,
    )
    subscription.full_clean()
    with transaction.atomic():
        subscription.save()
        subscription.brands.set(chosen)
    return subscription


def subscription_refusals(
    *, url: str, secret: str, events: list[str], brands: list[Brand] | None, user: Account
) -> tuple[dict[str, str], list[Brand]]:
    """What is wrong with a subscription ``user`` asks for, by field, and the brands it would be
    for. Refused: a URL that is not http(s) or whose host resolves to a non-public address
    (unless CARELINE_WEBHOOK_ALLOW_PRIVATE), no events or an unknown one, an empty secret, a
    brand ``user`` does not serve."""
    errors: dict[str, str] = {}
    try:
        receiver_resolve(url.strip(), unresolvable_ok=True)
    except AddressRefused as refused:
        errors["url"] = str(refused)
    secret = secret.strip()
    if not secret:
        errors["secret"] = "A secret is required: it signs every delivery."
    elif len(secret) > MAX_SECRET:
        errors["secret"] = f"At most {MAX_SECRET} characters."
    if not events:
        errors["events"] = "Name at least one event: " + ", ".join(Event.values) + "."
    elif unknown := sorted(set(events) - set(Event.values)):
        errors["events"] = f"Unknown event {unknown[0]!r}; the events are " + ", ".join(Event.values) + "."
    served = brands_served_by(user)
    chosen = list(dict.fromkeys(brands or []))
    if served is not None:
        if not chosen:
            chosen = served
        elif outside := [brand.key for brand in chosen if brand not in served]:
            errors["brands"] = f"Brand {outside[0]!r} is not yours: you do not serve it."
    return errors, chosen


def subscription_set_active(*, subscription: Subscription, active: bool, changed_by: Account) -> Subscription:
    """Pause a subscription (nothing new is recorded for it; what is pending waits) or resume it."""
    if not changed_by.has_perm("webhooks.change_subscription"):
        raise PermissionDenied("Only editors pause or resume webhooks.")
    if not subscriptions_visible_to(changed_by).filter(pk=subscription.pk).exists():
        raise PermissionDenied("This subscription is not yours to change.")
    if subscription.ended_at is not None:
        raise ValidationError({"active": "This subscription was ended; subscribe the receiver again."})
    Subscription.objects.filter(pk=subscription.pk).update(active=active)
    subscription.active = active
    if active:
        transaction.on_commit(lambda: _queue(deliveries_due(subscription_id=subscription.pk)))
    return subscription


def subscription_end(*, subscription: Subscription, ended_by: Account) -> Subscription:
    """End a subscription (needs webhooks.change_subscription): nothing more is recorded or
    sent, what was still pending is failed, and its delivery log is kept for the admin."""
    if not ended_by.has_perm("webhooks.change_subscription"):
        raise PermissionDenied("Only editors end webhook subscriptions.")
    if not subscriptions_visible_to(ended_by).filter(pk=subscription.pk).exists():
        raise PermissionDenied("This subscription is not yours to end.")
    now = timezone.now()
    with transaction.atomic():
        Subscription.objects.filter(pk=subscription.pk).update(active=False, ended_at=now)
        subscription.deliveries.filter(status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, next_attempt_at=None, last_error="The subscription was ended."
        )
    subscription.active, subscription.ended_at = False, now
    return subscription


# ---- recording events -------------------------------------------------------------------------


def deliveries_record(
    *, event: str, mention: Mention, details: dict[str, Any] | None = None
) -> list[Delivery]:
    """One delivery of ``event`` about ``mention`` for each active subscription receiving it,
    in the caller's transaction; each is sent once that transaction commits. ``data`` holds the
    mention as GET /api/v1/mentions/<id>/ shows it to the subscription's creator, and ``details``."""
    active = Subscription.objects.filter(active=True).select_related("created_by").prefetch_related("brands")
    owners_see: dict[int, bool] = {}  # whether each subscriber would see the mention, asked once
    receiving = []
    for subscription in active:
        if event not in subscription.events or not _names_brand_of(subscription, mention):
            continue
        owner = subscription.created_by
        if owner.pk not in owners_see:
            owners_see[owner.pk] = _would_see(owner, mention)
        if owners_see[owner.pk]:
            receiving.append(subscription)
    if not receiving:
        return []
    now = timezone.now()
    seen_by: dict[int, dict[str, Any]] = {}
    deliveries = []
    for subscription in receiving:
        owner = subscription.created_by
        if owner.pk not in seen_by:
            seen_by[owner.pk] = mention_as_seen_by(mention, owner)
        delivery = Delivery(subscription=subscription, mention=mention, event=event, next_attempt_at=now)
        delivery.body = json.dumps(
            {
                "id": str(delivery.delivery_id),
                "event": event,
                "created_at": now.isoformat(),
                "data": {"mention": seen_by[owner.pk], **(details or {})},
            },
            cls=DjangoJSONEncoder,
            separators=(",", ":"),
        )
        delivery.save()
        deliveries.append(delivery)
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _queue(ids))
    return deliveries


def _names_brand_of(subscription: Subscription, mention: Mention) -> bool:
    brand_ids = {brand.pk for brand in subscription.brands.all()}
    return not brand_ids or mention.brand_id is None or mention.brand_id in brand_ids


def _would_see(owner: Account, mention: Mention) -> bool:
    return owner.is_active and owner.has_perm("console.view_mention") and may_work_for(owner, mention.brand)


def _queue(delivery_ids: list[int]) -> None:
    from webhooks.tasks import delivery_send_task  # the tasks module imports this one

    for delivery_id in delivery_ids:
        try:
            delivery_send_task.delay(delivery_id)
        except Exception:  # recorded; the beat's sweep sends it
            logger.exception("Could not queue webhook delivery %s; the sweep will", delivery_id)


# ---- delivering -------------------------------------------------------------------------------


def backoff_seconds(attempt: int, *, jitter: float) -> float:
    """How long to wait after the ``attempt``-th failed attempt: CARELINE_WEBHOOK_BACKOFF_SECONDS
    doubled each time up to CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS, times 0.5-1 by ``jitter``
    (0-1) so that receivers coming back are not all retried at once."""
    ceiling = settings.CARELINE_WEBHOOK_BACKOFF_MAX_SECONDS
    delay = min(settings.CARELINE_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1), ceiling)
    return float(delay) * (0.5 + 0.5 * jitter)


def delivery_attempt(*, delivery_id: int) -> Delivery | None:
    """Send the delivery once if it is due and its turn (no earlier one about its mention is
    pending for its subscription), and record how it went. A delivery already delivered or
    failed, of a paused subscription, not yet due, or being sent by another worker is left
    as it is. Returns it (None: gone with its subscription)."""
    delivery = Delivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != Delivery.Status.PENDING or not delivery.subscription.active:
        return delivery
    if earlier_undelivered(delivery).exists():
        return delivery  # sent when the earlier one is done
    now = timezone.now()
    # Claimed for as long as an attempt can take: a worker that dies mid-attempt leaves it due again.
    lease = timedelta(seconds=3 * settings.CARELINE_WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = Delivery.objects.filter(
        pk=delivery.pk, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + lease, attempts=F("attempts") + 1, last_attempt_at=now)
    if not claimed:
        return delivery
    delivery.refresh_from_db()
    subscription = delivery.subscription
    try:
        secret = secret_decrypt(subscription.secret_encrypted)
    except InvalidToken:
        outcome_code, error = None, "The secret cannot be decrypted with CARELINE_ENCRYPTION_KEYS."
    else:
        outcome = delivery_post(
            url=subscription.url,
            secret=secret,
            body=delivery.body.encode(),
            headers={"Careline-Delivery": str(delivery.delivery_id), "Careline-Event": delivery.event},
        )
        if outcome.delivered:
            return _recorded(
                delivery,
                status=Delivery.Status.DELIVERED,
                last_status_code=outcome.status_code,
                last_error="",
                delivered_at=timezone.now(),
                next_attempt_at=None,
            )
        outcome_code, error = outcome.status_code, outcome.error
    if delivery.attempts >= settings.CARELINE_WEBHOOK_ATTEMPTS:
        logger.warning(
            "Webhook delivery %s failed after %s attempts: %s", delivery.pk, delivery.attempts, error
        )
        return _recorded(
            delivery,
            status=Delivery.Status.FAILED,
            last_status_code=outcome_code,
            last_error=error[:500],
            next_attempt_at=None,
        )
    wait = backoff_seconds(delivery.attempts, jitter=random.random())
    return _recorded(
        delivery,
        last_status_code=outcome_code,
        last_error=error[:500],
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
    )


def _recorded(delivery: Delivery, **fields: Any) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    if delivery.status != Delivery.Status.PENDING:  # done with: the mention's next event may go
        following = next_in_turn(delivery)
        if following is not None:
            _queue([following])
    return delivery


def delivery_redeliver(*, delivery: Delivery, redelivered_by: Account) -> Delivery:
    """Send a delivery again from its first attempt (the same id and body): a failed one once
    the receiver is fixed, or a delivered one the receiver lost. Needs
    webhooks.redeliver_delivery and a subscription the person may see."""
    if not redelivered_by.has_perm("webhooks.redeliver_delivery"):
        raise PermissionDenied("Only editors redeliver webhooks.")
    if not subscriptions_visible_to(redelivered_by).filter(pk=delivery.subscription_id).exists():
        raise PermissionDenied("This delivery is not yours to redeliver.")
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        transaction.on_commit(lambda: _queue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery
