"""GET /api/v1/mentions/?ordering=priority|age: the open mentions most urgent first, or the
oldest first, each with its priority and the reasons for it; filters by issue and priority."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from console.services import mention_answer
from tests.console.triage_scenes import PRAISE, inbox_to_triage, received, safety_issue_add
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory

MENTIONS = "/api/v1/mentions/"


@pytest.fixture
def scene(library):
    safety_issue_add(library)
    return inbox_to_triage(library)


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [item["id"] for item in answer.json()["results"]]


def test_priority_puts_the_safety_and_angry_overdue_mentions_before_older_and_newer_calm_ones(
    scene, agent_client
):
    answer = agent_client.get(MENTIONS, {"ordering": "priority"})

    order = [scene[name].pk for name in ("safety", "angry", "calm_old", "calm_new")]
    assert ids(answer) == order
    results = answer.json()["results"]
    priorities = [item["priority"] for item in results]
    assert all(isinstance(value, int) for value in priorities)
    assert priorities == sorted(priorities, reverse=True)
    reasons = {item["id"]: item["priority_reasons"] for item in results}
    assert reasons[scene["safety"].pk][:2] == ["overdue", "safety"]
    assert "angry" in reasons[scene["angry"].pk]
    assert reasons[scene["calm_new"].pk] == []


def test_age_puts_the_oldest_first(scene, agent_client):
    order = [scene[name].pk for name in ("calm_old", "angry", "safety", "calm_new")]
    assert ids(agent_client.get(MENTIONS, {"ordering": "age"})) == order


def test_priority_lists_open_mentions_only_and_praise_last(library, scene, agent_client, agent):
    praise = received(library, PRAISE, "praise", 200)  # the oldest of all, yet needs no reply
    mention_answer(mention=scene["calm_old"], text="Found it, on its way.", agent=agent)

    listed = ids(agent_client.get(MENTIONS, {"ordering": "priority"}))

    assert scene["calm_old"].pk not in listed
    assert listed[-1] == praise.pk
    assert scene["calm_old"].pk in ids(agent_client.get(MENTIONS, {"ordering": "age"}))


def test_filter_by_the_issue_of_the_top_suggestion(scene, agent_client):
    answer = agent_client.get(MENTIONS, {"ordering": "priority", "issue": "smoke-onboard"})
    assert ids(answer) == [scene["safety"].pk]
    bags = ids(agent_client.get(MENTIONS, {"issue": "lost-baggage", "ordering": "age"}))
    assert scene["safety"].pk not in bags and scene["calm_old"].pk in bags


def test_filter_by_priority_keeps_the_urgent_ones(scene, agent_client):
    answer = agent_client.get(MENTIONS, {"ordering": "priority", "priority_min": 0})
    urgent = ids(answer)
    assert urgent == [scene[name].pk for name in ("safety", "angry", "calm_old")]
    assert all(item["priority"] >= 0 for item in answer.json()["results"])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"ordering": "loudest"}, "ordering"),
        ({"ordering": "-priority"}, "ordering"),
        ({"priority_min": "soon"}, "priority_min"),
        ({"priority_min": "1e12"}, "priority_min"),
        ({"issue": "no-such-issue"}, "issue"),
    ],
)
def test_bad_values_are_refused_naming_the_field(library, agent_client, query, field):
    answer = agent_client.get(MENTIONS, query)
    assert answer.status_code == 400
    assert field in answer.json()


def test_an_agent_of_one_brand_never_sees_anothers_mentions_in_any_order(library, scene):
    globex = received(
        library, "my debit card keeps getting declined at the supermarket", "gx-1", 300, "globex-bank"
    )
    acme_agent = UserFactory(username="ana")
    acme_agent.groups.add(Group.objects.get(name="Agents"))
    library.brands["acme-air"].members.add(acme_agent)
    client = api_client_for(acme_agent)

    for ordering in ("priority", "age"):
        for query in ({}, {"priority_min": -100000}, {"issue": "card-declined"}):
            listed = ids(client.get(MENTIONS, {"ordering": ordering, **query}))
            assert globex.pk not in listed
    assert globex.pk in ids(
        api_client_for(UserFactory(is_superuser=True)).get(MENTIONS, {"ordering": "priority"})
    )


def test_the_schema_documents_ordering_and_the_priority_filter(admin_client):
    schema = admin_client.get("/api/schema/", {"format": "json"}).json()
    parameters = {item["name"]: item for item in schema["paths"]["/api/v1/mentions/"]["get"]["parameters"]}

    assert parameters["ordering"]["schema"]["enum"] == ["age", "priority"]
    assert parameters["priority_min"]["schema"]["type"] == "number"
    assert "issue" in parameters and "brand" in parameters and "channel" in parameters
    fields = schema["components"]["schemas"]["Mention"]["properties"]
    assert fields["priority"]["type"] == "integer"
    assert fields["priority_reasons"]["type"] == "array"
