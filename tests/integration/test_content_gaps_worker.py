"""Content gaps found by the real worker: an editor's "find gaps now" goes through Redis to a
`celery worker`, which embeds the mentions with the real model and clusters them on PostgreSQL."""

from __future__ import annotations

from insights.models import GapRun
from tests.factories import BrandFactory, SuggestionRequestFactory
from tests.integration.conftest import wait_for

GIFT_CARDS = [
    "@AcmeAir do you sell gift cards for christmas",
    "@AcmeAir can I buy a gift card for my mum",
    "@AcmeAir gift vouchers available?",
    "@AcmeAir any gift certificates I can give someone",
    "@AcmeAir how do I purchase a gift card online",
    "@AcmeAir is a gift card a thing? want to give my dad a flight",
]
STRAYS = [
    "@AcmeAir lol nice weather today",
    "@AcmeAir my cat walked on the keyboard",
    "@AcmeAir what time is the football on tonight",
    "@AcmeAir the moon looks huge right now",
    "@AcmeAir who wants pizza",
]


def test_an_editor_finds_content_gaps_through_the_worker(real_services, worker, api):
    brand = BrandFactory()
    mentions = {
        text: SuggestionRequestFactory(text=text, brand=brand, abstained=True) for text in GIFT_CARDS + STRAYS
    }

    started = api.post("/api/v1/gaps/runs/")

    assert started.status_code == 202, started.content
    assert started.json()["status"] == "queued"
    wait_for(lambda: GapRun.objects.filter(status=GapRun.Status.SUCCEEDED).exists(), timeout=120)
    run = GapRun.objects.get()
    assert (run.trigger, run.mentions) == (GapRun.Trigger.ON_DEMAND, len(mentions))
    gaps = api.get("/api/v1/gaps/").json()["results"]
    assert len(gaps) == 1
    detail = api.get(f"/api/v1/gaps/{gaps[0]['id']}/").json()
    found = {member["text"] for member in detail["examples"]}
    assert gaps[0]["volume"] >= 5
    assert found <= {mention.text for text, mention in mentions.items() if text in GIFT_CARDS}
