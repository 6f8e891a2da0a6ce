"""The conversation in view: a mention knows its thread (pushed over the API, or read from X),
its page shows the thread oldest first with our replies and the customer's history with the
brand, and a new message in a thread an agent holds goes to that agent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from console.models import Mention
from console.selectors import customer_history, mention_thread
from console.services import mention_answer, mention_dismiss, mention_receive, mention_release, mention_take
from tests.factories import UserFactory

MENTIONS = "/api/v1/mentions/"


@pytest.fixture
def receive(library):
    """Receives a tweet from Jane for Acme Air (or ``brand``), ``minutes_ago``."""

    def received(external_id, text="@AcmeAir where is my bag?", minutes_ago=5, brand="acme-air", **fields):
        fields.setdefault("author_handle", "@jane")
        mention, created = mention_receive(
            text=text,
            external_id=external_id,
            channel="twitter",
            brand=library.brands[brand],
            received_at=timezone.now() - timedelta(minutes=minutes_ago),
            **fields,
        )
        assert created
        return mention

    return received


@pytest.fixture
def other_agent(db):
    agent = UserFactory(username="olga", first_name="Olga", last_name="Ortiz")
    agent.groups.add(Group.objects.get(name="Agents"))
    return agent


@pytest.fixture
def thread(receive, agent):
    """Jane's three tweets in thread 100 (the first one started it): the first answered by Sam."""
    first = receive("100", "@AcmeAir my bag did not arrive", minutes_ago=50)
    mention_answer(mention=first, text="So sorry, Jane! Please DM us your bag tag.", agent=agent)
    second = receive("101", "@AcmeAir sent the DM an hour ago", minutes_ago=30, conversation_id="100")
    third = receive(
        "102", "@AcmeAir still nothing??", minutes_ago=2, conversation_id="100", in_reply_to_id="101"
    )
    return [first, second, third]


# ---- the API ------------------------------------------------------------------------------------


def test_an_integration_pushes_a_mention_into_its_thread(library, integration_client):
    body = {"text": "@AcmeAir still nothing", "external_id": "9", "brand": "acme-air"}
    answer = integration_client.post(
        MENTIONS, {**body, "conversation_id": "7", "in_reply_to_id": "8"}, format="json"
    )

    assert answer.status_code == 201
    assert (answer.json()["conversation_id"], answer.json()["in_reply_to_id"]) == ("7", "8")
    stored = Mention.objects.get(external_id="9")
    assert (stored.conversation_id, stored.in_reply_to_id) == ("7", "8")


@pytest.mark.parametrize(
    ("field", "value"), [("conversation_id", 7), ("in_reply_to_id", ["8"]), ("conversation_id", "x" * 201)]
)
def test_a_bad_thread_id_is_refused_naming_the_field(library, integration_client, field, value):
    body = {"text": "@AcmeAir hi", "external_id": "9", "brand": "acme-air", field: value}
    answer = integration_client.post(MENTIONS, body, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    assert not Mention.objects.exists()


def test_a_reply_to_a_stored_mention_joins_its_thread(receive):
    started = receive("200", minutes_ago=9)
    answered_in = receive("201", minutes_ago=5, in_reply_to_id="200")
    deeper = receive("202", minutes_ago=1, in_reply_to_id="201")
    elsewhere = receive("203", in_reply_to_id="not-in-the-inbox")

    assert (answered_in.conversation_id, deeper.conversation_id, elsewhere.conversation_id) == (
        "200",
        "200",
        "",
    )
    assert mention_thread(mention=deeper, agent=UserFactory(is_superuser=True)) == [
        started,
        answered_in,
        deeper,
    ]


# ---- the thread and the history ------------------------------------------------------------------


def test_the_thread_is_oldest_first_with_our_replies(thread, agent):
    shown = mention_thread(mention=thread[2], agent=agent)

    assert shown == thread
    assert [item.reply_text for item in shown] == ["So sorry, Jane! Please DM us your bag tag.", "", ""]


def test_a_thread_is_one_brand_and_one_channel(thread, receive, agent, library):
    receive("300", brand="globex-bank", conversation_id="100")
    mention_receive(
        text="hi",
        external_id="301",
        channel="facebook",
        brand=library.brands["acme-air"],
        conversation_id="100",
    )

    assert mention_thread(mention=thread[1], agent=agent) == thread


def test_a_mention_in_no_thread_is_a_thread_of_one(receive, agent):
    alone = receive("400")
    receive("401", conversation_id="")

    assert mention_thread(mention=alone, agent=agent) == [alone]


def test_the_history_is_the_customers_other_mentions_of_the_brand(thread, receive, agent):
    old_answered = thread[0]
    dismissed = receive("500", "@AcmeAir you are the best", minutes_ago=600)
    mention_dismiss(mention=dismissed, reason="Praise, no reply needed", agent=agent)
    still_open = receive("501", "@AcmeAir seat change?", minutes_ago=60)
    receive("502", author_handle="@john")  # someone else
    receive("503", brand="globex-bank")  # another brand

    everything = customer_history(mention=thread[2], agent=agent)
    assert everything["mentions"] == [thread[1], old_answered, still_open, dismissed]
    assert everything["counts"] == {"total": 4, "open": 2, "answered": 1, "dismissed": 1}

    apart = customer_history(mention=thread[2], agent=agent, leave_out=[item.pk for item in thread])
    assert apart["mentions"] == [still_open, dismissed]
    assert apart["counts"] == {"total": 2, "open": 1, "answered": 0, "dismissed": 1}


def test_no_history_for_a_customer_without_a_handle(receive, agent):
    receive("600", author_handle="")
    nameless = receive("601", author_handle="")

    assert customer_history(mention=nameless, agent=agent)["mentions"] == []


def test_the_thread_and_history_cost_the_same_few_queries_however_long(
    receive, agent, django_assert_num_queries
):
    for number in range(12):
        receive(f"7{number:02}", minutes_ago=60 - number, conversation_id="700")
    for number in range(30):
        receive(f"8{number:02}", minutes_ago=600 - number)
    latest = Mention.objects.get(external_id="711")

    # Each also reads the brands the agent serves (who sees what, console.selectors).
    with django_assert_num_queries(2):
        shown = mention_thread(mention=latest, agent=agent)
    with django_assert_num_queries(3):
        history = customer_history(mention=latest, agent=agent, leave_out=[item.pk for item in shown])
        [item.closed_by for item in history["mentions"]]

    assert len(shown) == 12 and len(history["mentions"]) == 20 and history["counts"]["total"] == 30


# ---- who gets the next message -------------------------------------------------------------------


def test_a_new_message_in_a_thread_an_agent_holds_goes_to_them(receive, agent, other_agent):
    first = receive("900", minutes_ago=9)
    mention_take(mention=first, agent=other_agent)

    follow_up = receive("901", conversation_id="900")

    assert (follow_up.status, follow_up.assigned_to) == (Mention.Status.ASSIGNED, other_agent)
    assert Mention.objects.get(pk=follow_up.pk).assigned_to == other_agent


def test_a_reply_found_by_in_reply_to_goes_to_the_holder_too(receive, other_agent):
    first = receive("910", minutes_ago=9)
    mention_take(mention=first, agent=other_agent)

    assert receive("911", in_reply_to_id="910").assigned_to == other_agent


def test_a_thread_nobody_holds_lands_unassigned(receive, agent, other_agent):
    answered = receive("920", minutes_ago=9)
    mention_take(mention=answered, agent=other_agent)
    mention_answer(mention=answered, text="Done!", agent=other_agent)
    released = receive("930", minutes_ago=9)
    mention_take(mention=released, agent=other_agent)
    mention_release(mention=released, agent=other_agent)
    gone = receive("940", minutes_ago=9)
    mention_take(mention=gone, agent=other_agent)
    other_agent.is_active = False
    other_agent.save()

    for conversation in ("920", "930", "940"):
        follow_up = receive(f"{conversation}-next", conversation_id=conversation)
        assert (follow_up.status, follow_up.assigned_to) == (Mention.Status.NEW, None), conversation


def test_another_brands_thread_of_the_same_id_is_not_routed(receive, other_agent):
    held = receive("950", brand="globex-bank", minutes_ago=9)
    mention_take(mention=held, agent=other_agent)

    assert receive("951", conversation_id="950").assigned_to is None


# ---- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def browser(client, agent):
    client.force_login(agent)
    return client


def test_the_page_shows_the_thread_oldest_first_and_our_reply(browser, thread):
    html = browser.get(f"/mentions/{thread[2].pk}/").content.decode()

    section = html[html.index('id="thread"') : html.index("</section>", html.index('id="thread"'))]
    said = [
        "my bag did not arrive",
        "So sorry, Jane! Please DM us your bag tag.",
        "sent the DM",
        "still nothing",
    ]
    places = [section.index(text) for text in said]
    assert places == sorted(places)
    assert section.count('class="ours"') == 1 and "Our reply" in section
    assert 'aria-current="true" data-id="%d"' % thread[2].pk in section


def test_the_page_shows_the_history_with_status(browser, thread, receive, agent):
    seat = receive("990", "@AcmeAir can I change my seat?", minutes_ago=900)
    mention_answer(mention=seat, text="Yes, in Manage booking.", agent=agent)

    html = browser.get(f"/mentions/{thread[2].pk}/").content.decode()

    history = html[html.index('id="history"') :]
    assert "1 other mention: 0 open, 1 answered, 0 dismissed." in history
    assert "can I change my seat?" in history and "Yes, in Manage booking." in history
    assert "still nothing" not in history  # the thread's are shown in the thread


def test_a_mention_alone_shows_no_thread(browser, receive):
    html = browser.get(f"/mentions/{receive('995').pk}/").content.decode()

    assert 'id="thread"' not in html
    assert "No other mentions from this customer." in html


def test_the_page_costs_the_same_queries_for_a_long_thread(browser, receive, agent):
    def queries_for(mention):
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(f"/mentions/{mention.pk}/").status_code == 200
        return len(captured)

    short = [receive(f"s{number}", minutes_ago=30 - number, conversation_id="s0") for number in range(2)]
    long = [receive(f"l{number}", minutes_ago=30 - number, conversation_id="l0") for number in range(15)]
    for earlier in (short[0], *long[:-1]):  # each with our reply, and who sent it
        mention_answer(mention=earlier, text="On it!", agent=agent)

    assert queries_for(long[-1]) == queries_for(short[-1])
