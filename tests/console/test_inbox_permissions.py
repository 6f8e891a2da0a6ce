"""Who may push, read and work the inbox over REST (the console's permissions, per action), for
which brands, and what the inbox refuses to take in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from console.models import Mention
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory

MENTIONS = "/api/v1/mentions/"
PUSHED = {
    "text": "@AcmeAir the airline lost my luggage",
    "external_id": "1861000000000000001",
    "brand": "acme-air",
    "channel": "twitter",
    "author": {"handle": "@jane", "name": "Jane"},
}


@pytest.fixture
def nobody():
    """Signed in, in no group at all."""
    return UserFactory(username="nobody")


@pytest.fixture
def waiting(library):
    return Mention.objects.create(
        text="@AcmeAir where is my bag",
        external_id="w-1",
        channel="twitter",
        brand=library.brands["acme-air"],
        author_handle="@jane",
        author_name="Jane Doe",
        received_at=timezone.now() - timedelta(minutes=5),
    )


def act(client, mention, verb, **data):
    return client.post(f"{MENTIONS}{mention.pk}/{verb}/", data, format="json")


# ---- permissions per action --------------------------------------------------------------------


@pytest.mark.parametrize("who", ["author", "nobody", "integration_user"])
def test_people_without_the_inbox_permissions_neither_read_nor_work_mentions(request, waiting, who):
    client = api_client_for(request.getfixturevalue(who))

    assert client.get(MENTIONS).status_code == 403
    assert client.get(f"{MENTIONS}{waiting.pk}/").status_code == 403
    assert act(client, waiting, "take").status_code == 403
    assert act(client, waiting, "answer", text="Sorry Jane, DM us.").status_code == 403
    assert act(client, waiting, "dismiss", reason="Spam").status_code == 403
    assert act(client, waiting, "nothing-fits").status_code == 403
    waiting.refresh_from_db()
    assert (waiting.status, waiting.assigned_to, waiting.nothing_fits_at) == ("new", None, None)


def test_agents_work_mentions_but_do_not_push_or_assign_them(library, waiting, agent_client, editor):
    assert agent_client.get(MENTIONS).json()["count"] == 1
    assert act(agent_client, waiting, "take").status_code == 200
    assert act(agent_client, waiting, "assign", agent=editor.username).status_code == 403
    assert agent_client.post(MENTIONS, {**PUSHED, "external_id": "new"}, format="json").status_code == 403
    assert Mention.objects.count() == 1


def test_integrations_push_mentions(library, integration_client):
    answer = integration_client.post(MENTIONS, PUSHED, format="json")

    assert answer.status_code == 201, answer.content
    assert Mention.objects.get().external_id == PUSHED["external_id"]


def test_anonymous_callers_get_401(library, waiting, anonymous_client):
    assert anonymous_client.get(MENTIONS).status_code == 401
    assert anonymous_client.post(MENTIONS, PUSHED, format="json").status_code == 401


# ---- brands ------------------------------------------------------------------------------------


def test_pushing_for_a_brand_one_does_not_serve_is_refused_and_nothing_is_stored(
    library, integration_user, integration_client
):
    library.brands["acme-air"].members.add(integration_user)

    answer = integration_client.post(MENTIONS, {**PUSHED, "brand": "globex-bank"}, format="json")

    assert answer.status_code == 403, answer.content
    assert "globex-bank" in answer.json()["detail"]
    assert not Mention.objects.exists()


def test_a_mention_pushed_without_a_brand_by_a_member_of_one_brand_is_that_brands(
    library, integration_user, integration_client
):
    library.brands["globex-bank"].members.add(integration_user)

    answer = integration_client.post(MENTIONS, {**PUSHED, "brand": None}, format="json")

    assert answer.status_code == 201, answer.content
    assert answer.json()["brand"] == "globex-bank"


def test_pushing_again_a_mention_another_brand_received_is_refused(library, waiting, integration_user):
    library.brands["globex-bank"].members.add(integration_user)
    client = api_client_for(integration_user)

    answer = client.post(
        MENTIONS, {**PUSHED, "external_id": waiting.external_id, "brand": "globex-bank"}, format="json"
    )

    assert answer.status_code == 403, answer.content
    assert Mention.objects.get().brand.key == "acme-air"


@pytest.fixture
def lead_client(library, editor):
    return api_client_for(editor)


def test_a_lead_cannot_assign_a_mention_to_someone_serving_another_brand(library, waiting, lead_client):
    olga = UserFactory(username="olga")
    olga.groups.add(Group.objects.get(name="Agents"))
    library.brands["globex-bank"].members.add(olga)

    answer = act(lead_client, waiting, "assign", agent="olga")

    assert answer.status_code == 400, answer.content
    assert "agent" in answer.json()
    waiting.refresh_from_db()
    assert waiting.assigned_to is None


@pytest.mark.parametrize("who", ["nobody", "author", "integration_user"])
def test_a_lead_cannot_assign_a_mention_to_someone_who_may_not_work_mentions(
    request, waiting, lead_client, who
):
    person = request.getfixturevalue(who)

    answer = act(lead_client, waiting, "assign", agent=person.username)

    assert answer.status_code == 400, answer.content
    assert "agent" in answer.json()
    waiting.refresh_from_db()
    assert waiting.assigned_to is None


def test_a_lead_assigns_a_mention_to_an_agent_serving_its_brand(library, waiting, lead_client, agent):
    library.brands["acme-air"].members.add(agent)

    answer = act(lead_client, waiting, "assign", agent=agent.username)

    assert answer.status_code == 200, answer.content
    assert answer.json()["assigned_to"] == agent.username


# ---- what the inbox refuses to take in ---------------------------------------------------------


def test_a_misspelt_field_in_a_push_is_refused_naming_it(library, integration_client):
    answer = integration_client.post(
        MENTIONS, {**{k: v for k, v in PUSHED.items() if k != "brand"}, "brnad": "acme-air"}, format="json"
    )

    assert answer.status_code == 400
    assert "brnad" in answer.json()
    assert not Mention.objects.exists()


@pytest.mark.parametrize(
    ("verb", "data", "unknown"),
    [
        ("take", {"forse": True}, "forse"),
        ("release", {"force": True}, "force"),
        ("answer", {"text": "Sorry Jane, DM us.", "respons": "lost-baggage-dm"}, "respons"),
        ("dismiss", {"reason": "Spam", "note": "bot"}, "note"),
        ("nothing-fits", {"reason": "none"}, "reason"),
        ("escalate", {"lead": "edith", "note": "Wants a refund", "urgent": True}, "urgent"),
        ("assign", {"agent": "sam", "agnet": "sam"}, "agnet"),
    ],
)
def test_a_misspelt_field_in_an_action_is_refused_naming_it(waiting, agent, lead_client, verb, data, unknown):
    answer = act(lead_client, waiting, verb, **data)

    assert answer.status_code == 400, answer.content
    assert unknown in answer.json()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.assigned_to, waiting.nothing_fits_at) == ("new", None, None)


def test_a_mention_received_in_the_future_is_refused(library, integration_client):
    later = (timezone.now() + timedelta(days=3 * 365)).isoformat()

    answer = integration_client.post(MENTIONS, {**PUSHED, "received_at": later}, format="json")

    assert answer.status_code == 400
    assert "received_at" in answer.json()
    assert not Mention.objects.exists()


def test_a_clock_a_little_ahead_is_forgiven(library, integration_client, settings):
    settings.CARELINE_CLOCK_SKEW_SECONDS = 300
    soon = (timezone.now() + timedelta(minutes=2)).isoformat()

    answer = integration_client.post(MENTIONS, {**PUSHED, "received_at": soon}, format="json")

    assert answer.status_code == 201, answer.content


def test_a_reply_sent_in_the_future_is_refused(waiting, agent_client):
    later = (timezone.now() + timedelta(hours=1)).isoformat()

    answer = act(agent_client, waiting, "answer", text="Sorry Jane, DM us.", sent_at=later)

    assert answer.status_code == 400
    assert "sent_at" in answer.json()
    waiting.refresh_from_db()
    assert waiting.status == "new"


@pytest.mark.parametrize("name", ["min_age", "max_age"])
@pytest.mark.parametrize("minutes", ["999999999999", "1e308", "inf"])
def test_an_age_filter_beyond_ten_years_is_refused_naming_it(waiting, agent_client, name, minutes):
    answer = agent_client.get(MENTIONS, {name: minutes})

    assert answer.status_code == 400
    assert name in answer.json()


def test_an_age_filter_of_ten_years_lists_every_mention(waiting, agent_client):
    assert agent_client.get(MENTIONS, {"max_age": 10 * 365 * 24 * 60}).json()["count"] == 1
