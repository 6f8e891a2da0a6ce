"""Response targets as rows: which mentions a target covers, the checks a target must pass before
it is saved, and the receivers that move open mentions in the inbox once a target changes (wired
in console.apps)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from console.models import Mention, ResponseTarget
from console.sla import response_target_errors

logger = logging.getLogger(__name__)

# Where a target stood before an edit: moving it from one brand or channel to another changes
# the deadlines of both.
_PREVIOUS_SCOPE = "_response_target_previous_scope"

Scope = tuple[int | None, str]


def response_target_validate(target: ResponseTarget) -> None:
    """Refuse a target whose clock makes no sense, or that repeats the brand and channel of
    another one, with an error per field (ValidationError)."""
    errors: dict[str, Any] = response_target_errors(
        weekdays=target.weekdays,
        opens_at=target.opens_at,
        closes_at=target.closes_at,
        time_zone=target.time_zone,
    )
    twin = response_target_twin(target)
    if twin is not None:
        errors["channel"] = response_target_twin_message(target)
    if errors:
        raise ValidationError(errors)


def response_target_twin(target: ResponseTarget) -> ResponseTarget | None:
    """Another target for the same brand (or every brand) and channel, which would break a unique
    constraint."""
    twins = ResponseTarget.objects.filter(channel=target.channel)
    if target.brand_id is None:
        twins = twins.filter(brand__isnull=True)
    else:
        twins = twins.filter(brand_id=target.brand_id)
    if target.pk is not None:
        twins = twins.exclude(pk=target.pk)
    return twins.first()


def response_target_twin_message(target: ResponseTarget) -> str:
    brand = str(target.brand) if target.brand_id is not None else "every brand"
    channel = f"the {target.get_channel_display()} channel" if target.channel else "every channel"
    return f"There is already a target for {brand} on {channel}: change that one instead."


def mentions_covered(scopes: set[Scope]) -> QuerySet[Mention]:
    """The mentions a target with any of these (brand id or None, channel or "") scopes may
    govern. A wider target also reaches mentions a more specific one governs: retriaging those
    changes nothing, and keeps this a single query."""
    condition = Q(pk__in=[])
    for brand_id, channel in scopes:
        part = Q()
        if brand_id is not None:
            part &= Q(brand_id=brand_id)
        if channel:
            part &= Q(channel=channel)
        condition |= part
    return Mention.objects.filter(condition)


def _scope(target: ResponseTarget) -> Scope:
    return (target.brand_id, target.channel)


def _retriage_later(scopes: set[Scope]) -> None:
    def retriage() -> None:
        from console.triage import mentions_retriage

        try:
            mentions_retriage(mentions_covered(scopes))
        except Exception:
            logger.exception(
                "Could not retriage the mentions under response targets %s", sorted(scopes, key=str)
            )

    # Once committed: a target rolled back moves nothing, and the book reads the saved targets.
    transaction.on_commit(retriage)


def target_remember_scope(sender: type[ResponseTarget], *, instance: ResponseTarget, **kwargs: Any) -> None:
    """pre_save: note where an edited target stood."""
    if instance.pk is None or kwargs.get("raw"):
        return
    previous = ResponseTarget.objects.filter(pk=instance.pk).values_list("brand_id", "channel").first()
    setattr(instance, _PREVIOUS_SCOPE, previous)


def target_saved(sender: type[ResponseTarget], *, instance: ResponseTarget, **kwargs: Any) -> None:
    """post_save: the open mentions under the target (where it stands now and where it stood)
    get new deadlines."""
    if kwargs.get("raw"):
        return
    scopes = {_scope(instance)}
    previous = getattr(instance, _PREVIOUS_SCOPE, None)
    if previous is not None:
        scopes.add(previous)
    _retriage_later(scopes)


def target_deleted(sender: type[ResponseTarget], *, instance: ResponseTarget, **kwargs: Any) -> None:
    """post_delete: the mentions it covered fall under the next most specific target."""
    _retriage_later({_scope(instance)})


def target_receivers_connect() -> None:
    """Connect the receivers above (console.apps, once the app registry is ready)."""
    pre_save.connect(target_remember_scope, sender=ResponseTarget, dispatch_uid="response_target_scope")
    post_save.connect(target_saved, sender=ResponseTarget, dispatch_uid="response_target_saved")
    post_delete.connect(target_deleted, sender=ResponseTarget, dispatch_uid="response_target_deleted")
