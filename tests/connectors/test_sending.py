"""Sending a reply from the console through the brand's X account, against a local server
speaking the X API v2 contract: one reply in the mention's thread (or a direct message), the
mention answered; a post that fails leaves it open with X's reason; a retry after a lost answer
never posts twice."""

from __future__ import annotations

from django.utils.html import escape

from connectors.models import XConnection, XPost
from console.models import Mention
from console.services import mention_receive
from suggestions.models import Feedback
from tests.connectors.conftest import send


def test_a_connected_brands_mention_offers_send_instead_of_mark_sent(luggage, browser):
    html = browser.get(f"/mentions/{luggage.pk}/").content.decode()

    assert ">Send <kbd>" in html
    assert "Mark sent" not in html
    assert "{#" not in html  # no template comment shows
    assert 'name="private" checked' in html  # the lost-baggage issue moves to a private channel


def test_without_a_connected_account_the_agent_marks_it_sent(
    library, browser, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mention, _ = mention_receive(
            text="the airline lost my luggage",
            external_id="99",
            channel="twitter",
            brand=library.brands["acme-air"],
        )

    html = browser.get(f"/mentions/{mention.pk}/").content.decode()

    assert "Mark sent" in html
    assert ">Send <kbd>" not in html


def test_send_posts_one_reply_in_the_mentions_thread_and_answers_it(luggage, browser, fake_x, agent):
    draft = luggage.suggestion.shown[0]["response"]

    answer = send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number. ^SL", response=draft)

    assert "Sent on X." in answer.content.decode()
    replies = fake_x.replies_to(luggage.external_id)
    assert [reply.text for reply in replies] == ["Jane, so sorry! Please DM us your bag tag number. ^SL"]
    luggage.refresh_from_db()
    assert (luggage.status, luggage.closed_by, luggage.reply_text) == (
        Mention.Status.ANSWERED,
        agent,
        replies[0].text,
    )
    assert Feedback.objects.get().action == "edited"
    post = XPost.objects.get(mention=luggage)
    assert (post.status, post.posted_id, post.kind) == (XPost.Status.POSTED, replies[0].id, "reply")
    body = fake_x.calls_to("POST", "/2/tweets")[0].body
    assert body == {"text": replies[0].text, "reply": {"in_reply_to_tweet_id": luggage.external_id}}


def test_a_private_channel_reply_goes_out_as_a_direct_message(luggage, browser, fake_x):
    answer = send(browser, luggage, "Hi Jane, please send us your bag tag number here.", private="on")

    assert "Sent as a direct message on X." in answer.content.decode()
    assert [m.text for m in fake_x.messages_to("jane")] == [
        "Hi Jane, please send us your bag tag number here."
    ]
    assert fake_x.replies_to(luggage.external_id) == []
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.ANSWERED
    assert XPost.objects.get(mention=luggage).kind == "dm"
    author = fake_x.tweets[0].author_id
    assert fake_x.calls_to("POST", "/messages")[0].path == f"/2/dm_conversations/with/{author}/messages"


def test_a_lost_answer_leaves_it_open_and_sending_again_posts_nothing_twice(luggage, browser, fake_x):
    fake_x.lose_answers = 1  # X makes the post, and its answer never arrives

    first = send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number.")

    assert "Whether the reply went out is unknown" in first.content.decode()
    luggage.refresh_from_db()
    assert luggage.is_open
    assert XPost.objects.get(mention=luggage).status == XPost.Status.UNKNOWN
    assert len(fake_x.replies_to(luggage.external_id)) == 1

    again = send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number.")

    assert "Sent on X." in again.content.decode()
    replies = fake_x.replies_to(luggage.external_id)
    assert len(replies) == 1
    assert len(fake_x.calls_to("POST", "/2/tweets")) == 1  # looked up, not posted again
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.ANSWERED
    assert XPost.objects.get(mention=luggage).posted_id == replies[0].id


def test_a_lost_direct_message_is_found_on_x_before_sending_again(luggage, browser, fake_x):
    fake_x.lose_answers = 1

    send(browser, luggage, "Hi Jane, please send us your bag tag number here.", private="on")
    send(browser, luggage, "Hi Jane, please send us your bag tag number here.", private="on")

    assert len(fake_x.messages_to("jane")) == 1
    luggage.refresh_from_db()
    assert luggage.status == Mention.Status.ANSWERED


def test_a_lost_direct_message_found_on_x_is_the_reply_whatever_was_typed_since(luggage, browser, fake_x):
    fake_x.lose_answers = 1
    send(browser, luggage, "Hi Jane, please send us your bag tag number here.", private="on")

    again = send(browser, luggage, "Jane, so sorry! We're tracing it now.")  # now as a public reply

    assert "Sent on X." in again.content.decode()
    assert fake_x.replies_to(luggage.external_id) == []
    assert len(fake_x.messages_to("jane")) == 1
    luggage.refresh_from_db()
    assert luggage.reply_text == "Hi Jane, please send us your bag tag number here."  # what went out
    assert XPost.objects.get(mention=luggage).kind == "dm"


def test_sending_an_answered_mention_again_posts_nothing(luggage, browser, fake_x):
    send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number.")

    again = send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number.")

    assert "already answered" in again.content.decode()
    assert len(fake_x.calls_to("POST", "/2/tweets")) == 1


def test_a_duplicate_of_another_reply_is_refused_and_the_mention_stays_open(fake_x, poll, browser):
    first, second = fake_x.mention("lost my bag"), fake_x.mention("lost my bag too", username="omar")
    poll()
    text = "So sorry! Please DM us your bag tag number."
    send(browser, Mention.objects.get(external_id=first), text)

    answer = send(browser, Mention.objects.get(external_id=second), text)

    html = answer.content.decode()
    assert escape("X refused it as a duplicate") in html
    assert escape("Change the reply's wording") in html
    mention = Mention.objects.get(external_id=second)
    assert mention.is_open
    assert fake_x.replies_to(second) == []
    assert XPost.objects.get(mention=mention).status == XPost.Status.FAILED
    # The failure stays on the mention's page until the reply goes out.
    assert 'id="send-failed"' in browser.get(f"/mentions/{mention.pk}/").content.decode()
    assert (
        "Sent on X." in send(browser, mention, "So sorry Omar! DM us your bag tag number.").content.decode()
    )


def test_a_refused_token_leaves_the_mention_open_and_the_account_needing_reauthorisation(
    luggage, browser, fake_x, connection
):
    fake_x.revoke()

    answer = send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number.")

    assert "connect the account again" in answer.content.decode()
    luggage.refresh_from_db()
    assert luggage.is_open
    connection.refresh_from_db()
    assert connection.status == XConnection.Status.NEEDS_REAUTH
    html = browser.get(f"/mentions/{luggage.pk}/").content.decode()
    assert "needs re-authorisation" in html
    assert "Mark sent" in html  # until someone connects it again


def test_a_rate_limited_post_says_when_to_try_again(luggage, browser, fake_x):
    fake_x.exhaust("post")

    answer = send(browser, luggage, "Jane, so sorry! Please DM us your bag tag number.")

    assert "rate limit: wait until" in answer.content.decode()
    luggage.refresh_from_db()
    assert luggage.is_open
    assert fake_x.replies_to(luggage.external_id) == []


def test_a_reply_the_inbox_would_refuse_is_never_posted(luggage, browser, fake_x):
    answer = send(browser, luggage, "sorry " * 60)

    assert "shorten it before sending" in answer.content.decode()
    assert fake_x.calls_to("POST", "/2/tweets") == []
    assert not XPost.objects.exists()


def test_a_direct_message_needs_the_authors_x_user_id(library, connection, browser, fake_x):
    pushed, _ = mention_receive(
        text="@AcmeAir lost my bag", external_id="42", channel="twitter", brand=library.brands["acme-air"]
    )

    answer = send(browser, pushed, "Hi, please DM us your bag tag number.", private="on")

    assert escape("author's X user id is unknown") in answer.content.decode()
    assert fake_x.calls_to("POST", "/messages") == []
    pushed.refresh_from_db()
    assert pushed.is_open
