"""Reading a brand's X mentions into the inbox from a local server speaking the X API v2
contract: each tweet once, with its author and thread, its drafts computed; only newer ones
asked for next time; rate limits waited out; a refused token stops the polling."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from connectors.models import XConnection, XTweet
from connectors.selectors import connections_due
from connectors.services import connection_set_token
from connectors.tasks import connections_poll_due_task
from console.models import Mention
from tests.connectors.fake_x import BRAND_ID, TOKEN, Tweet


def test_a_new_mention_arrives_in_the_inbox_with_its_author_thread_and_drafts(fake_x, connection, poll):
    tweet_id = fake_x.mention("the airline lost my luggage on the connecting flight", username="jane")

    assert poll() == 1

    mention = Mention.objects.get(external_id=tweet_id)
    assert (mention.channel, mention.brand.key) == ("twitter", "acme-air")
    assert (mention.author_handle, mention.author_name) == ("@jane", "Jane Doe")
    assert mention.text == "@AcmeAir the airline lost my luggage on the connecting flight"
    assert mention.suggestion.shown[0]["response"] == "lost-baggage-dm"
    tweet = XTweet.objects.get(mention=mention)
    assert (tweet.conversation_id, tweet.in_reply_to_user_id) == (tweet_id, BRAND_ID)
    assert tweet.author_id == fake_x.tweets[0].author_id
    asked = fake_x.calls_to("GET", "/mentions")[0]
    assert asked.authorization == f"Bearer {TOKEN}"
    assert "referenced_tweets.id" in asked.query["expansions"]
    assert "conversation_id" in asked.query["tweet.fields"]


def test_the_next_poll_asks_only_for_newer_mentions_and_files_nothing_twice(fake_x, connection, poll):
    first = fake_x.mention("my flight got cancelled and nobody at the gate can rebook me")
    poll()
    second = fake_x.mention("cancelled again, what now??", username="omar", name="Omar")

    assert poll() == 1
    assert poll() == 0

    assert fake_x.calls_to("GET", "/mentions")[1].query["since_id"] == first
    connection.refresh_from_db()
    assert connection.since_id == second
    assert Mention.objects.count() == 2


def test_a_reply_in_a_thread_keeps_the_tweet_it_answers(fake_x, connection, poll):
    opening = fake_x.mention("my bag never arrived")
    follow_up = fake_x.mention("still nothing, three days later", reply_to=opening)

    poll()

    tweet = XTweet.objects.get(mention__external_id=follow_up)
    assert (tweet.replied_to_id, tweet.conversation_id) == (opening, opening)


def test_every_page_of_new_mentions_is_read(fake_x, connection, poll):
    fake_x.mention("hello")
    poll()
    for n in range(130):
        fake_x.mention(f"question number {n}", username=f"customer{n % 7}")

    assert poll() == 130

    pages = fake_x.calls_to("GET", "/mentions")[1:]
    assert [call.query.get("pagination_token") for call in pages] == [None, "100"]
    assert Mention.objects.count() == 131


def test_the_brands_own_tweets_are_not_mentions(fake_x, connection, poll):
    fake_x.mention("my bag never arrived")
    fake_x.tweets.append(Tweet("1", "@AcmeAir note to self", BRAND_ID, "2026-01-01T00:00:00.000Z", "1"))

    assert poll() == 1


def test_a_429_waits_until_x_rate_limit_reset(fake_x, connection, poll):
    fake_x.mention("my bag never arrived")
    fake_x.exhaust("mentions")

    assert poll() == 0

    connection.refresh_from_db()
    assert connection.rate_limited_until > timezone.now() + timedelta(minutes=14)
    assert "rate limit" in connection.last_error
    assert connections_due() == []
    calls = len(fake_x.calls)
    assert poll() == 0
    assert len(fake_x.calls) == calls  # X is not asked again before the reset


def test_with_no_call_left_in_the_window_the_next_waits_for_its_reset(fake_x, connection, poll):
    fake_x.limit = 1
    fake_x.mention("my bag never arrived")

    assert poll() == 1

    connection.refresh_from_db()
    assert connection.rate_limit_remaining == 0
    assert connection.rate_limited_until > timezone.now()
    assert connections_poll_due_task() == 0


def test_a_refused_token_needs_reauthorisation_and_stops_the_polling(
    fake_x, connection, poll, admin_user, caplog
):
    fake_x.mention("my bag never arrived")
    fake_x.revoke()

    with caplog.at_level(logging.DEBUG):
        assert poll() == 0

    connection.refresh_from_db()
    assert connection.status == XConnection.Status.NEEDS_REAUTH
    assert "401" in connection.last_error
    assert connections_due() == []
    assert TOKEN not in caplog.text and TOKEN not in connection.last_error

    fake_x.tokens.add("a-new-token-0042")
    connection_set_token(connection=connection, token="a-new-token-0042", changed_by=admin_user)
    assert poll() == 1


def test_a_token_from_the_environment_is_read_at_each_call(fake_x, connection, poll, admin_user, monkeypatch):
    monkeypatch.setenv("ACME_X_TOKEN", TOKEN)
    connection_set_token(connection=connection, token_env="ACME_X_TOKEN", changed_by=admin_user)
    fake_x.mention("my bag never arrived")

    assert poll() == 1
    connection.refresh_from_db()
    assert connection.token_encrypted == ""

    monkeypatch.delenv("ACME_X_TOKEN")
    fake_x.mention("still waiting")
    assert poll() == 0
    connection.refresh_from_db()
    assert connection.status == XConnection.Status.NEEDS_REAUTH
    assert "ACME_X_TOKEN" in connection.last_error


def test_the_beat_polls_every_connected_account(fake_x, connection, django_capture_on_commit_callbacks):
    fake_x.mention("my bag never arrived")

    with django_capture_on_commit_callbacks(execute=True):
        assert connections_poll_due_task() == 1

    assert Mention.objects.count() == 1


def test_x_unreachable_is_recorded_and_tried_again_next_time(fake_x, connection, poll):
    fake_x.mention("my bag never arrived")
    fake_x.down()

    assert poll() == 0

    connection.refresh_from_db()
    assert connection.status == XConnection.Status.ACTIVE
    assert "Could not reach X" in connection.last_error
    assert connections_due() == [connection.pk]


def test_a_poll_while_another_is_under_way_asks_x_nothing(fake_x, connection, poll):
    fake_x.mention("my bag never arrived")
    XConnection.objects.filter(pk=connection.pk).update(polling_until=timezone.now() + timedelta(minutes=1))

    assert poll() == 0
    assert fake_x.calls == []

    XConnection.objects.filter(pk=connection.pk).update(polling_until=timezone.now() - timedelta(seconds=1))
    assert poll() == 1  # the claim of a poll that died has lapsed
    connection.refresh_from_db()
    assert connection.polling_until is None
