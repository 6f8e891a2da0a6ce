"""Escalating a mention to a lead, from the console and over REST: it is assigned to them with a
note, shows as escalated, and only a lead serving its brand can receive it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from console.models import Mention
from console.selectors import agents_to_assign, leads_for
from console.services import mention_take
from tests.engine_fixtures import api_client_for
from tests.factories import UserFactory

MENTIONS = "/api/v1/mentions/"


@pytest.fixture
def luggage(library, django_capture_on_commit_callbacks):
    from console.services import mention_receive

    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="@AcmeAir the airline lost my luggage and nobody answers",
            external_id="t-1",
            channel="twitter",
            brand=library.brands["acme-air"],
            author_name="Jane",
        )
    mention.refresh_from_db()
    return mention


def escalate(client, mention, **data):
    return client.post(f"{MENTIONS}{mention.pk}/escalate/", data, format="json")


def test_an_agent_escalates_a_mention_to_a_lead_with_a_note(luggage, agent, agent_client, editor):
    answer = escalate(agent_client, luggage, lead=editor.username, note="Wants compensation for the bag.")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["assigned_to"], body["escalated_by"], body["status"]) == ("edith", "sam", "assigned")
    assert body["escalation_note"] == "Wants compensation for the bag."
    assert body["escalated_at"] is not None
    assert agent_client.get(MENTIONS, {"escalated": "true"}).json()["count"] == 1
    assert agent_client.get(MENTIONS, {"escalated": "false"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lead": "edith", "note": "   "}, "note"),
        ({"lead": "edith"}, "note"),
        ({"lead": "nobody", "note": "help"}, "lead"),
        ({"note": "help"}, "lead"),
    ],
)
def test_bad_escalations_are_refused_per_field(luggage, agent_client, editor, data, field):
    answer = escalate(agent_client, luggage, **data)

    assert answer.status_code == 400
    assert field in answer.json()
    luggage.refresh_from_db()
    assert luggage.escalated_at is None


def test_only_a_lead_can_receive_an_escalation(luggage, agent_client, agent):
    other = UserFactory(username="olga")
    other.groups.add(Group.objects.get(name="Agents"))

    answer = escalate(agent_client, luggage, lead="olga", note="help")

    assert answer.status_code == 400
    assert answer.json()["lead"] == ["olga is not a lead serving this mention's brand."]


def test_a_lead_of_another_brand_is_not_offered_nor_accepted(luggage, library, agent_client, editor):
    library.brands["globex-bank"].members.add(editor)

    assert editor not in leads_for(luggage)
    assert escalate(agent_client, luggage, lead="edith", note="help").status_code == 400
    library.brands["acme-air"].members.add(editor)  # serves both now
    assert editor in leads_for(luggage)


def test_escalating_a_mention_another_agent_has_needs_force(luggage, agent_client, editor):
    other = UserFactory(username="olga", first_name="Olga", last_name="Ortiz")
    other.groups.add(Group.objects.get(name="Agents"))
    mention_take(mention=luggage, agent=other)

    refused = escalate(agent_client, luggage, lead="edith", note="help")
    forced = escalate(agent_client, luggage, lead="edith", note="help", force=True)

    assert refused.status_code == 409
    assert refused.json() == {"assigned_to": ["Olga Ortiz has this mention."]}
    assert forced.status_code == 200


def test_a_closed_mention_cannot_be_escalated(luggage, agent_client, editor):
    agent_client.post(f"{MENTIONS}{luggage.pk}/dismiss/", {"reason": "spam"}, format="json")

    answer = escalate(agent_client, luggage, lead="edith", note="help")

    assert answer.status_code == 400
    assert "already dismissed" in answer.json()["status"][0]


def test_people_a_lead_may_assign_to_serve_the_mentions_brand(luggage, library, agent, editor):
    assert agent in agents_to_assign(luggage)
    library.brands["globex-bank"].members.add(agent)

    assert agent not in agents_to_assign(luggage)
    assert agent in agents_to_assign()  # no mention: everyone allowed to work mentions


# ---- in the console ---------------------------------------------------------------------------


def test_the_console_escalates_from_the_mentions_page(luggage, client, agent, editor):
    client.force_login(agent)
    html = client.get(f"/mentions/{luggage.pk}/").content.decode()
    assert 'id="escalate"' in html
    assert f'<option value="{editor.pk}">Edith Editor</option>' in html

    answer = client.post(
        f"/mentions/{luggage.pk}/escalate/", {"lead": editor.pk, "note": "Wants a refund"}, follow=True
    )

    assert "Escalated to Edith Editor." in answer.content.decode()
    luggage.refresh_from_db()
    assert (luggage.assigned_to, luggage.escalated_by, luggage.escalation_note) == (
        editor,
        agent,
        "Wants a refund",
    )


def test_the_console_refuses_an_escalation_without_a_note(luggage, client, agent, editor):
    client.force_login(agent)

    answer = client.post(f"/mentions/{luggage.pk}/escalate/", {"lead": editor.pk, "note": ""}, follow=True)

    assert "This field is required." in answer.content.decode()
    luggage.refresh_from_db()
    assert luggage.escalated_at is None


def test_the_lead_finds_it_in_their_queue_and_escalated_tab(luggage, client, agent, editor, agent_client):
    escalate(agent_client, luggage, lead="edith", note="Wants a refund")
    client.force_login(editor)

    mine = client.get("/?queue=mine").content.decode()
    escalated = client.get("/?queue=escalated").content.decode()
    page = client.get(f"/mentions/{luggage.pk}/").content.decode()

    assert f'data-id="{luggage.pk}"' in mine
    assert f'data-id="{luggage.pk}"' in escalated
    assert "Escalated by Sam Lee" in mine
    assert "“Wants a refund”" in page


def test_nothing_fits_opens_the_escalation_form(luggage, client, agent, editor):
    client.force_login(agent)

    html = client.post(f"/mentions/{luggage.pk}/nothing-fits/", follow=True).content.decode()

    assert '<details id="escalate" class="card" open>' in html


def test_no_lead_for_the_brand_is_said_plainly(luggage, library, client, agent, editor):
    library.brands["globex-bank"].members.add(editor)
    client.force_login(agent)

    html = client.get(f"/mentions/{luggage.pk}/").content.decode()

    assert "No lead serves this mention's brand" in html
    assert Mention.objects.get(pk=luggage.pk).escalated_at is None


def test_an_escalation_over_the_api_is_seen_by_a_second_agent(luggage, agent_client, editor):
    escalate(agent_client, luggage, lead="edith", note="Wants a refund")
    olga = UserFactory(username="olga")
    olga.groups.add(Group.objects.get(name="Agents"))

    body = api_client_for(olga).get(f"{MENTIONS}{luggage.pk}/").json()

    assert (body["assigned_to"], body["escalated_by"]) == ("edith", "sam")


def test_a_lead_is_not_offered_themselves(luggage, client, editor):
    client.force_login(editor)

    html = client.get(f"/mentions/{luggage.pk}/").content.decode()

    assert f'<option value="{editor.pk}">Edith Editor</option>' not in html.split('id="escalate"')[1]


def test_the_admin_filters_escalated_mentions(luggage, agent_client, editor, admin_user, client):
    escalate(agent_client, luggage, lead="edith", note="Wants a refund")
    client.force_login(admin_user)

    escalated = client.get("/admin/console/mention/", {"escalated": "yes"})
    not_escalated = client.get("/admin/console/mention/", {"escalated": "no"})

    assert escalated.status_code == 200
    assert luggage.text[:60] in escalated.content.decode()
    assert luggage.text[:60] not in not_escalated.content.decode()
    # The filter reads as words, not as the field's emptiness.
    html = escalated.content.decode()
    assert "By escalation" in html and "Escalated to a lead" in html and "Not escalated" in html
    assert "By nothing fits" in html and "An agent said nothing fits" in html
    assert "Not empty" not in html and "By escalated at" not in html
