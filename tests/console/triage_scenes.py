"""An inbox a lead would triage: a safety issue in the library, and open mentions that the
priority order and the age order put in different places."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from console.models import Mention
from console.services import mention_receive, mention_suggest
from kb import services as kb
from kb.models import Issue
from suggestions.indexing import index_rebuild

SMOKE = "there is smoke coming out of the seat in front of me on the plane"
ANGRY_BAG = "@AcmeAir WTF you LOST my luggage AGAIN!!! useless, I need it NOW"
CALM_BAG = "the airline lost my luggage on the connecting flight"
PRAISE = "thanks @AcmeAir, great crew today!"


def safety_issue_add(library) -> Issue:
    """An Acme Air safety issue with its phrasings and an approved reply, indexed."""
    issue = kb.issue_create(
        key="smoke-onboard",
        title="Smoke or burning smell on board",
        brand=library.brands["acme-air"],
        severity=Issue.Severity.SAFETY,
    )
    for text in (
        "there is smoke coming out of the seat in front of me",
        "burning smell in the cabin on the plane right now",
        "smoke on board the plane and the crew is not reacting",
    ):
        kb.example_create(issue=issue, text=text)
    kb.response_create(
        issue=issue,
        key="smoke-onboard-crew",
        channel="any",
        status="approved",
        text="Please alert the cabin crew at once with the call button; we are contacting them too.",
    )
    library.version = index_rebuild()
    return issue


def received(library, text: str, external_id: str, minutes_ago: float, brand: str = "acme-air") -> Mention:
    """A mention received ``minutes_ago``, its suggestions computed as its background task does."""
    mention, _ = mention_receive(
        text=text,
        external_id=external_id,
        channel="twitter",
        brand=library.brands[brand],
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    return mention_suggest(mention_id=mention.pk)


def inbox_to_triage(library) -> dict[str, Mention]:
    """Four open Acme Air mentions under the default 60-minute target: the calm one that waited
    longest is overdue, yet a safety mention and an angry one, both overdue, come before it; a
    calm new one comes last. Oldest first they read calm-old, angry, safety, calm-new."""
    return {
        "calm_old": received(library, CALM_BAG, "calm-old", 120),
        "angry": received(library, ANGRY_BAG, "angry", 80),
        "safety": received(library, SMOKE, "safety", 70),
        "calm_new": received(library, "my checked suitcase never showed up on the carousel", "calm-new", 5),
    }
