"""Replies too long for their channel, split into numbered parts each within its limit."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.channels import Channel, channel_allows_threads, channel_limit
from kb.rendering import SIGN_OFF, reply_length
from kb.reply_parts import Unsplittable, part_label, parts_joined, parts_needed, reply_parts

HANDLE = "@dana_whitfield"
LABEL = re.compile(r" (\d+)/(\d+)$")

WORDS = st.sampled_from(
    [
        "we",
        "are",
        "sorry",
        "about",
        "your",
        "flight",
        "rebooking",
        "the",
        "baggage",
        "desk",
        "thanks",
        "for",
        "waiting",
        "booking",
        "reference",
        "refund",
        "voucher",
        "tomorrow",
        "@AcmeAir",
        "@dana_whitfield",
        "#travel",
        "#delays",
        "https://acme.example.com/help/rebooking?ref=ABC123",
        "www.acme.example/refunds",
        "😊",
        "🙏🏽",
        "東京",
        "予約番号",
        "café",
        "naïve",
        "supercalifragilisticexpialidocious",
        "x",
    ]
)
ENDINGS = st.sampled_from(["", "", "", ".", "!", "?", ",", ".)", "…"])
TOKEN = st.tuples(WORDS, ENDINGS).map("".join)
SPACE = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n"])


@st.composite
def long_replies(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(TOKEN, min_size=40, max_size=200))
    spaces = draw(st.lists(SPACE, min_size=len(tokens), max_size=len(tokens)))
    text = "".join(token + space for token, space in zip(tokens, spaces, strict=True)).strip()
    sign_off = draw(st.sampled_from(["", "", " ^SL", " - MJW", " ~JD"]))
    return text + sign_off


def _greedy_count(text: str, total: int) -> int:
    """Parts a plain first-fit packing needs with the labels of ``total`` parts, each part the
    text from its first word to its last (an independent count: first fit is the fewest)."""
    words = list(re.finditer(r"\S+", text))
    parts, start = 1, 0
    for index, word in enumerate(words):
        trial = text[words[start].start() : word.end()] + part_label(parts, total)
        if index > start and reply_length(trial, Channel.TWITTER, reply_to=HANDLE) > 280:
            parts, start = parts + 1, index
    return parts


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_replies())
def test_every_part_fits_keeps_the_words_in_order_and_is_numbered(text):
    try:
        parts = reply_parts(text, channel=Channel.TWITTER, reply_to=HANDLE)
    except Unsplittable:
        pytest.fail("words of at most 60 characters always split")
    if reply_length(text, Channel.TWITTER, reply_to=HANDLE) <= 280:
        assert parts == [text]
        return
    total = len(parts)
    assert total >= 2
    for number, part in enumerate(parts, 1):
        assert reply_length(part, Channel.TWITTER, reply_to=HANDLE) <= 280, part
        assert LABEL.search(part).groups() == (str(number), str(total))
    assert parts_joined(parts).split() == text.split()
    # Fewest: a first-fit packing labelled for one part fewer needs more than that.
    assert _greedy_count(text, total - 1) > total - 1
    sign_off = SIGN_OFF.search(text)
    if sign_off and sign_off.group().strip():
        last_words = parts[-1][: -len(part_label(total, total))]
        assert last_words.endswith(sign_off.group().strip())
        assert len(last_words.split()) > len(sign_off.group().split())


@settings(max_examples=20, deadline=None)
@given(long_replies())
def test_parts_on_instagram_fit_its_own_count(text):
    text = (text + " ") * 8
    parts = reply_parts(text, channel=Channel.INSTAGRAM, reply_to=HANDLE)
    assert all(len(part) <= 2200 for part in parts)
    assert parts_joined(parts).split() == text.split()


def test_a_reply_that_fits_is_one_part_unnumbered():
    assert reply_parts("Sorry about that! ^SL", channel=Channel.TWITTER, reply_to=HANDLE) == [
        "Sorry about that! ^SL"
    ]
    assert parts_needed("Sorry about that!", channel=Channel.TWITTER) == 1


def test_email_has_no_limit_so_nothing_is_split():
    text = "word " * 5000
    assert reply_parts(text, channel=Channel.EMAIL) == [text.strip()]


def test_parts_break_at_a_sentence_end_rather_than_filling_the_first_part():
    first = "Thanks for waiting, we have found your bag at the airport and it is on its way. " * 2
    second = "It should reach your hotel tonight and the courier will call you first " * 3
    text = (first + second).strip() + "."
    parts = reply_parts(text, channel=Channel.TWITTER)
    assert len(parts) == 2
    assert parts[0] == first.strip() + " 1/2"
    # A first-fit packing would have carried words of the second sentence into part one.
    assert _greedy_count(text, 2) == 2
    assert reply_length(parts[0] + " It", Channel.TWITTER) <= 280


def test_without_sentence_ends_parts_break_between_words_and_urls_stay_whole():
    url = "https://acme.example.com/help/rebooking/cancelled-flights?booking=ABC123&lang=en"
    text = " ".join(["please", "open", url, "and", "#rebook", "with", HANDLE] * 12)
    parts = reply_parts(text, channel=Channel.TWITTER)
    assert len(parts) >= 2
    for part in parts:
        assert reply_length(part, Channel.TWITTER) <= 280
    assert sum(part.count(url) for part in parts) == 12
    assert parts_joined(parts).split() == text.split()


def test_the_number_is_counted_in_the_length():
    # 279 characters fit alone, but not once " 1/2" is added: it takes the words after it too.
    text = ("a" * 139 + " ") + ("b" * 139) + " c"
    assert reply_length(text, Channel.TWITTER) == 281
    parts = reply_parts(text, channel=Channel.TWITTER)
    assert parts == ["a" * 139 + " " + "b" * 139 + " 1/2", "c 2/2"] or all(
        reply_length(part, Channel.TWITTER) <= 280 for part in parts
    )
    assert all(reply_length(part, Channel.TWITTER) <= 280 for part in parts)


def test_wide_characters_count_twice_so_the_parts_are_shorter():
    text = "東京の予約 " * 80  # 6 characters, weighing 11, each
    parts = reply_parts(text, channel=Channel.TWITTER)
    assert all(reply_length(part, Channel.TWITTER) <= 280 for part in parts)
    assert max(len(part) for part in parts) < 160
    assert len(parts) == parts_needed(text, channel=Channel.TWITTER)


def test_the_customers_handle_the_reply_carries_is_counted_on_every_part():
    text = "word " * 120
    with_handle = reply_parts(text, channel=Channel.TWITTER, reply_to="@" + "h" * 14)
    assert all(reply_length(part, Channel.TWITTER, reply_to="@" + "h" * 14) <= 280 for part in with_handle)
    assert all(len(part) <= 280 - 16 for part in with_handle)


def test_a_single_word_longer_than_the_limit_cannot_be_split():
    with pytest.raises(Unsplittable):
        reply_parts("see " + "x" * 300, channel=Channel.TWITTER)
    assert parts_needed("see " + "x" * 300, channel=Channel.TWITTER) is None


def test_a_reply_over_the_most_parts_is_not_split():
    with pytest.raises(Unsplittable):
        reply_parts("word " * 2000, channel=Channel.TWITTER)


def test_only_x_takes_threads():
    assert channel_allows_threads(Channel.TWITTER)
    for channel in (Channel.FACEBOOK, Channel.INSTAGRAM, Channel.EMAIL, Channel.ANY):
        assert not channel_allows_threads(channel)
    assert channel_limit(Channel.EMAIL) is None


def test_parts_joined_refuses_a_part_without_its_number():
    with pytest.raises(ValueError, match="2/2"):
        parts_joined(["one 1/2", "two"])
