"""Replies too long for X, split into the fewest numbered parts, each within its limit as X counts it."""

from __future__ import annotations

import itertools
import random
import re

import pytest

from kb.channels import Channel, channel_allows_threads
from kb.rendering import reply_length
from kb.reply_parts import part_suffix, reply_parts

HANDLE = "@dana_whitfield"
SUFFIX = re.compile(r" \((\d+)/(\d+)\)$")


def fits(part: str, reply_to: str = "") -> bool:
    return reply_length(part, Channel.TWITTER, reply_to=reply_to) <= 280


def words_of(parts: list[str]) -> list[str]:
    """The words of the parts, their numbers taken off."""
    return [word for part in parts for word in SUFFIX.sub("", part).split()]


def fewest_by_brute_force(words: list[str], reply_to: str = "") -> int:
    """The fewest parts over every way of breaking between the words, each numbered " (k/M)"."""
    best = None
    for breaks in itertools.product([False, True], repeat=len(words) - 1):
        groups, current = [], [words[0]]
        for word, cut in zip(words[1:], breaks, strict=True):
            if cut:
                groups.append(current)
                current = [word]
            else:
                current.append(word)
        groups.append(current)
        total = len(groups)
        if best is not None and total >= best:
            continue
        if all(fits(" ".join(g) + part_suffix(k, total), reply_to) for k, g in enumerate(groups, 1)):
            best = total
    assert best is not None
    return best


def small_replies() -> list[tuple[list[str], str]]:
    """A handful of replies of 9 to 12 words, long words among them, some ending sentences, with
    URLs (23 each, whatever their length) and CJK words (2 a character); fixed seeds."""
    replies = []
    for seed in range(6):
        rng = random.Random(seed)
        words = []
        for _ in range(rng.randint(9, 12)):
            kind = rng.random()
            if kind < 0.15:
                words.append("https://acme.example.com/help/" + "p" * rng.randint(10, 120))
            elif kind < 0.25:
                words.append("予約" * rng.randint(5, 25))
            else:
                words.append("w" * rng.randint(8, 70) + rng.choice(["", "", ".", ",", "!"]))
        replies.append((words, HANDLE if seed % 2 else ""))
    return replies


@pytest.mark.parametrize(("words", "reply_to"), small_replies())
def test_the_parts_are_as_few_as_any_split_between_words_allows(words, reply_to):
    text = " ".join(words)
    assert not fits(text, reply_to)

    parts = reply_parts(text, channel=Channel.TWITTER, reply_to=reply_to)

    assert len(parts) == fewest_by_brute_force(words, reply_to)
    assert all(fits(part, reply_to) for part in parts)
    assert words_of(parts) == words  # in order, none broken


def test_a_reply_that_fits_is_one_part_without_a_number():
    text = "Sorry about that, Dana! Please DM us your booking reference. ^SL"

    assert reply_parts(f"  {text} ", channel=Channel.TWITTER, reply_to=HANDLE) == [text]


def test_email_has_no_limit_and_takes_no_threads():
    text = "word " * 2000

    assert reply_parts(text, channel=Channel.EMAIL) == [text.strip()]
    assert channel_allows_threads(Channel.TWITTER)
    assert not any(map(channel_allows_threads, [Channel.FACEBOOK, Channel.INSTAGRAM, Channel.EMAIL]))


def test_parts_are_numbered_in_order_and_the_number_counts_in_the_length():
    # 279 characters: alone it fits, but not with " (1/2)" after it.
    text = "a" * 139 + " " + "b" * 139 + " c"

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert parts == ["a" * 139 + " (1/2)", "b" * 139 + " c (2/2)"]


def test_each_part_counts_the_customers_handle():
    text = " ".join(["rebooking"] * 100)

    parts = reply_parts(text, channel=Channel.TWITTER, reply_to=HANDLE)

    assert all(fits(part, HANDLE) for part in parts)
    assert max(len(part) for part in parts) <= 280 - len(HANDLE) - 1
    assert len(parts) == 4


def test_a_part_breaks_at_a_sentence_end_when_the_count_allows():
    first = (
        "Thanks for waiting, we have found your bag at the airport in Madrid and it is on its way to "
        "you now, with a courier who knows your hotel well."
    )
    second = "It should reach you tonight and the courier will call you before they arrive"
    text = f"{first} {second} with it, " + "so keep your phone close by " * 5 + "please."

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert parts[0] == f"{first} (1/2)"
    # Filling the first part would have taken words of the second sentence.
    assert fits(f"{first} It should (1/2)")
    assert len(parts) == 2


def test_a_sentence_end_early_in_a_part_is_passed_over():
    text = "Hi Dana! " + " ".join(["we are so sorry about the delay to your flight"] * 12)

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert not parts[0].startswith("Hi Dana! (1/")
    assert len(parts[0]) > 200


def test_urls_count_23_and_are_never_cut():
    url = "https://acme.example.com/help/rebooking/cancelled-flights?booking=ABC123&lang=en&from=careline"
    text = " ".join([f"Please open {url} to rebook."] * 12)

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert all(fits(part) for part in parts)
    assert max(len(part) for part in parts) > 280  # as X counts it, not as Python does
    assert sum(part.count(url) for part in parts) == 12
    assert words_of(parts) == text.split()


def test_a_word_longer_than_the_limit_is_cut_and_only_that_word():
    long_word = "x" * 600
    text = f"See {long_word} please."

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert all(fits(part) for part in parts)
    joined = "".join(SUFFIX.sub("", part) for part in parts)
    assert joined.replace(" ", "") == text.replace(" ", "")
    assert SUFFIX.sub("", parts[0]).startswith("See x")
    assert SUFFIX.sub("", parts[-1]).endswith("x please.")


def test_the_sign_off_stays_with_the_last_words():
    # Five words fill a part exactly: without the sign-off glued on, "- MJW" would be part 3 alone.
    text = " ".join(["w" * 54] * 10) + " - MJW"

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert len(parts) == 3
    assert parts[-1] == "w" * 54 + " - MJW (3/3)"
    assert all(fits(part) for part in parts)


def test_more_than_nine_parts_are_numbered_with_the_wider_suffix_and_still_the_fewest():
    text = " ".join(f"word{i % 10}" * 3 for i in range(560))  # about 10,000 characters

    parts = reply_parts(text, channel=Channel.TWITTER, reply_to=HANDLE)
    total = len(parts)

    assert total >= 10
    assert [SUFFIX.search(part).groups() for part in parts] == [
        (str(k), str(total)) for k in range(1, total + 1)
    ]
    assert all(fits(part, HANDLE) for part in parts)
    assert first_fit(text.split(), total - 1, HANDLE) > total - 1  # no split into one fewer


def first_fit(words: list[str], total: int, reply_to: str) -> int:
    """Parts a word-by-word first fit takes with the numbers of ``total`` parts (an independent
    count, measured with reply_length at every word)."""
    count, current = 1, [words[0]]
    for word in words[1:]:
        if fits(" ".join([*current, word]) + part_suffix(count, total), reply_to):
            current.append(word)
        else:
            count, current = count + 1, [word]
    return count


def test_wide_characters_and_emoji_count_twice():
    text = "予約番号を確認しました 🙏🏽 " * 40

    parts = reply_parts(text, channel=Channel.TWITTER)

    assert all(fits(part) for part in parts)
    assert max(len(part) for part in parts) < 160
    assert words_of(parts) == text.split()
