"""A reply over X's limit sent split, against a local server speaking the X API v2 contract: its
numbered parts posted as a chain (part 1 replying to the mention, each next part to the part
before), every part once, however often sending is tried again after a failure or a lost answer."""

from __future__ import annotations

from django.utils.html import escape

from connectors.models import XPost, XPostPart
from console.models import Mention
from console.services import reply_parts_for
from tests.connectors.conftest import send

SORRY = (
    "Jane, we are so sorry that your bag did not arrive with you on the connecting flight from "
    "Lisbon this evening; we know how hard it is to land without your things after such a long day "
    "of travelling."
)
TRACED = (
    "Our baggage team has traced it to the transfer desk in Madrid, and it is booked on the first "
    "flight to you tomorrow morning, so it should reach your hotel in the city centre by the early "
    "afternoon."
)
COURIER = (
    "The courier will call you before they arrive, and you may buy what you need until then: "
    "keep the receipts and send them to us in a direct message, and we will refund every one of "
    "them. ^SL"
)
LONG = f"{SORRY} {TRACED} {COURIER}"


def test_the_parts_split_at_each_sentence(luggage):
    parts = reply_parts_for(mention=luggage, text=LONG)

    assert parts == [f"{SORRY} (1/3)", f"{TRACED} (2/3)", f"{COURIER} (3/3)"]


def test_an_over_limit_reply_is_refused_saying_how_many_parts_it_would_take(luggage, browser, fake_x):
    answer = send(browser, luggage, LONG)

    assert "or split it into 3 parts" in answer.content.decode()
    assert fake_x.calls_to("POST", "/2/tweets") == []


def test_sent_split_the_parts_go_out_as_a_chain_under_the_mention(luggage, browser, fake_x, agent):
    answer = send(browser, luggage, LONG, split="on")

    assert "Sent on X, in 3 parts." in answer.content.decode()
    parts = reply_parts_for(mention=luggage, text=LONG)
    chain = fake_x.chain_from(luggage.external_id)
    assert [tweet.text for tweet in chain] == parts
    bodies = [call.body for call in fake_x.calls_to("POST", "/2/tweets")]
    replying_to = [luggage.external_id, chain[0].id, chain[1].id]
    assert bodies == [
        {"text": part, "reply": {"in_reply_to_tweet_id": to}}
        for part, to in zip(parts, replying_to, strict=True)
    ]
    post = XPost.objects.get(mention=luggage)
    assert (post.status, post.text, post.posted_id) == (XPost.Status.POSTED, LONG, chain[0].id)
    assert [(p.position, p.status, p.posted_id) for p in post.parts.all()] == [
        (number, XPostPart.Status.POSTED, tweet.id) for number, tweet in enumerate(chain, 1)
    ]
    luggage.refresh_from_db()
    assert (luggage.status, luggage.closed_by, luggage.reply_parts) == (Mention.Status.ANSWERED, agent, parts)
    assert luggage.reply_text == "\n\n".join(parts)


def test_a_refusal_mid_chain_keeps_the_parts_on_x_and_sending_again_posts_only_the_rest(
    luggage, browser, fake_x
):
    fake_x.limit = 1  # one post in this window, then 429s

    first = send(browser, luggage, LONG, split="on")

    html = first.content.decode()
    assert "Part 2 of 3 was not posted. Part 1 of 3 is on X: Send again posts the rest." in html
    luggage.refresh_from_db()
    assert luggage.is_open
    post = XPost.objects.get(mention=luggage)
    assert post.status == XPost.Status.FAILED
    assert [p.status for p in post.parts.all()] == ["posted", "pending", "pending"]
    assert 'aria-controls="split-preview-own" checked' in html  # kept as the agent left it

    fake_x.limit = 900
    again = send(browser, luggage, LONG, split="on")

    assert "Sent on X, in 3 parts." in again.content.decode()
    chain = fake_x.chain_from(luggage.external_id)
    assert [tweet.text for tweet in chain] == reply_parts_for(mention=luggage, text=LONG)
    assert len(fake_x.replies_to(luggage.external_id)) == 1  # part 1 went out once


def test_a_part_whose_answer_was_lost_is_looked_up_on_x_not_posted_again(luggage, browser, fake_x):
    fake_x.answer_first, fake_x.lose_answers = 1, 1  # part 2 is made, its answer never arrives

    first = send(browser, luggage, LONG, split="on")

    assert "Whether part 2 of 3 went out is unknown" in first.content.decode()
    post = XPost.objects.get(mention=luggage)
    assert (post.status, [p.status for p in post.parts.all()]) == (
        XPost.Status.UNKNOWN,
        ["posted", "unknown", "pending"],
    )

    again = send(browser, luggage, LONG, split="on")

    assert "Sent on X, in 3 parts." in again.content.decode()
    chain = fake_x.chain_from(luggage.external_id)
    assert [tweet.text for tweet in chain] == reply_parts_for(mention=luggage, text=LONG)
    assert len(fake_x.calls_to("POST", "/2/tweets")) == 3  # part 2 looked up, not posted twice
    assert XPost.objects.get(mention=luggage).parts.get(position=2).posted_id == chain[1].id


def test_a_part_refused_as_a_duplicate_stops_the_chain_and_the_words_after_the_parts_on_x_may_change(
    luggage, browser, fake_x
):
    fake_x.posted_earlier(f"{TRACED} (2/3)")

    refused = send(browser, luggage, LONG, split="on")

    html = refused.content.decode()
    assert escape("X refused it as a duplicate") in html
    assert escape("Part 1 of 3 is on X already: change the words from part 2 on") in html
    luggage.refresh_from_db()
    assert luggage.is_open
    assert [p.status for p in XPost.objects.get(mention=luggage).parts.all()] == [
        "posted",
        "pending",
        "pending",
    ]

    reworded = LONG.replace("transfer desk in Madrid", "transfer desk at Madrid airport")
    again = send(browser, luggage, reworded, split="on")

    assert "Sent on X, in 3 parts." in again.content.decode()
    chain = fake_x.chain_from(luggage.external_id)
    assert [tweet.text for tweet in chain] == reply_parts_for(mention=luggage, text=reworded)
    assert chain[0].text == f"{SORRY} (1/3)"  # posted once, by the first try
    luggage.refresh_from_db()
    assert luggage.reply_text == "\n\n".join(tweet.text for tweet in chain)


def test_once_a_part_is_on_x_its_words_cannot_change(luggage, browser, fake_x):
    fake_x.limit = 1
    send(browser, luggage, LONG, split="on")
    fake_x.limit = 900

    answer = send(browser, luggage, f"Hello! {LONG}", split="on")

    assert escape("part 1 of 3 is on X already") in answer.content.decode()
    assert len(fake_x.calls_to("POST", "/2/tweets")) == 2  # part 1, and part 2 refused by the limit
    luggage.refresh_from_db()
    assert luggage.is_open


def test_a_direct_message_is_never_split(luggage, browser, fake_x):
    answer = send(browser, luggage, LONG, split="on", private="on")

    assert "A direct message goes out whole" in answer.content.decode()
    assert fake_x.calls_to("POST", "/messages") == []
    assert fake_x.calls_to("POST", "/2/tweets") == []


def test_a_reply_within_the_limit_goes_out_whole_even_when_split_is_asked(luggage, browser, fake_x):
    answer = send(browser, luggage, SORRY, split="on")

    assert "Sent on X." in answer.content.decode()
    assert [tweet.text for tweet in fake_x.replies_to(luggage.external_id)] == [SORRY]
    assert not XPostPart.objects.exists()
    luggage.refresh_from_db()
    assert (luggage.reply_text, luggage.reply_parts) == (SORRY, [])
