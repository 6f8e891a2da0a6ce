from __future__ import annotations

import pytest

from suggestions.text import MAX_TOPICS, MIN_TOPIC_WORDS, mention_topics, normalize_mention

CASES = [
    # Addressing at the start goes; the rest of the sentence stays.
    ("RT @a @b: my bag is lost", "my bag is lost"),
    (
        "@AcmeAir @AcmeSupport where is my bag?? https://t.co/abc #LostLuggage 😡😡",
        "where is my bag?",
    ),
    # A closing block of tags is tagging, unless the sentence before it is too short to stand alone.
    ("my bag never arrived #fail #AcmeAir 😡 https://t.co/x", "my bag never arrived"),
    ("crickets from support again😡 #fail", "crickets from support again"),
    ("help! #lostluggage", "help! lostluggage"),
    ("no bag #lost_bag!!", "no bag lost bag !"),
    ("still no bag #lost_bag 😡", "still no bag"),
    ("my flight got #Cancelled!! 😭 https://t.co/z", "my flight got Cancelled !"),
    ("no 🧳 on the belt in Paris ✈️", "no luggage on the belt in Paris airplane"),
    ("my #flight got cancelled again", "my flight got cancelled again"),
    (".@AcmeAir your app is down", "your app is down"),
    ("RT: flight delayed again", "flight delayed again"),
    ("RTX card arrived broken", "RTX card arrived broken"),
    # Handles later in the text keep their name; e-mail addresses are not handles.
    ("I flew @AcmeAir and lost my bag", "I flew AcmeAir and lost my bag"),
    ("write to help@acme.example please", "write to help@acme.example please"),
    # Links go.
    ("see https://t.co/abc and www.acme.example/help now", "see and now"),
    ("HTTPS://T.CO/ABC bag gone", "bag gone"),
    # Hashtags.
    ("#FlightCancelled", "flight cancelled"),
    ("#lostbag", "lostbag"),
    ("#AC1234", "AC1234"),
    ("#NYCDelays again", "NYC delays again"),
    ("#myBagIsLost", "my bag is lost"),
    ("#iPhone app crashes", "iPhone app crashes"),
    ("#lost_bag", "lost bag"),
    ("I code in C# daily", "I code in C# daily"),
    # Stretched letters and shouted punctuation.
    ("soooo", "soo"),
    ("SOOOO LONG", "SOO LONG"),
    ("the gate is at 1000", "the gate is at 1000"),
    ("!!!!", "!"),
    ("?!?!", "?!"),
    ("why??? seriously!!!", "why? seriously!"),
    ("waited...... forever", "waited. forever"),
    # Emoji naming a thing become its CLDR short name; emoji that only express feeling go.
    ("✈️", "airplane"),
    ("✈️✈️ to Paris, no 🧳", "airplane to Paris, no luggage"),
    ("🧑🏻‍💻 support please", "technologist support please"),
    ("my 📱 screen cracked 😡", "my mobile phone screen cracked"),
    ("great service 👍🏽👍🏽", "great service"),
    ("😡 still waiting 😭💔🙏", "still waiting"),
    # Entities, whitespace, case.
    ("bags &amp; seats", "bags & seats"),
    ("  lots \n of\t space  ", "lots of space"),
    ("Where Is My BAG", "Where Is My BAG"),
    # Nothing left after cleaning: the original text, stripped.
    ("@AcmeAir", "@AcmeAir"),
    ("  https://t.co/abc  ", "https://t.co/abc"),
    ("RT @a @b:", "RT @a @b:"),
    ("😡😡", "😡😡"),
    ("", ""),
    ("   ", ""),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0] or "<empty>" for case in CASES])
def test_normalize_mention(text, expected):
    assert normalize_mention(text) == expected


def test_normalizing_twice_changes_nothing_more():
    for text, _ in CASES:
        once = normalize_mention(text)
        if once and once != text.strip():  # skip the "return the original" fallbacks
            assert normalize_mention(once) == once


# ---- topics ----------------------------------------------------------------------------------

TOPIC_CASES = [
    # Sentences and strong joiners start a new topic.
    (
        "5 hrs late so I missed my connection AND my bag went to another city",
        ["5 hrs late so I missed my connection", "my bag went to another city"],
    ),
    (
        "my flight was cancelled this morning. my suitcase never came off the belt either",
        ["my flight was cancelled this morning.", "my suitcase never came off the belt either"],
    ),
    (
        "the crew were rude to my mother; the stroller came back with a broken wheel",
        ["the crew were rude to my mother", "the stroller came back with a broken wheel"],
    ),
    (
        "wifi did not work the whole flight, oh and my vegan meal was never loaded",
        ["wifi did not work the whole flight", "my vegan meal was never loaded"],
    ),
    (
        "the app keeps crashing at check in plus my miles from March never posted",
        ["the app keeps crashing at check in", "my miles from March never posted"],
    ),
    (
        "delayed three hours at the gate — then they lost my bag in Denver",
        ["delayed three hours at the gate", "they lost my bag in Denver"],
    ),
    (
        "screen at my seat was dead & the headphones jack was broken too",
        ["screen at my seat was dead", "the headphones jack was broken too"],
    ),
    # A lowercase "and" starts a topic only when a new clause follows it.
    (
        "the flight was delayed again and the crew were really rude about it",
        ["the flight was delayed again", "the crew were really rude about it"],
    ),
    ("my flight got cancelled and nobody at the desk would rebook me", []),
    ("I paid for extra legroom and a window seat on both legs", []),
    # Too short to stand alone: joined to its neighbour, so no split at all.
    ("cancelled and nobody rebooked me", []),
    ("my flight got cancelled. why?", []),
    ("bag lost AND flight late", []),
    ("thanks! the crew on AC881 were wonderful", []),
    # One topic, nothing to split.
    ("my bag never arrived", []),
    ("", []),
]


@pytest.mark.parametrize(
    ("text", "expected"), TOPIC_CASES, ids=[case[0] or "<empty>" for case in TOPIC_CASES]
)
def test_mention_topics(text, expected):
    assert mention_topics(text) == expected


def test_every_topic_keeps_enough_words():
    text = "late. AND bag. plus the crew were rude to me. also seat broken. then the wifi died on me too"

    topics = mention_topics(text)

    assert topics and all(len(topic.split()) >= MIN_TOPIC_WORDS for topic in topics)


def test_a_long_rant_gives_at_most_max_topics_and_keeps_every_word():
    sentences = [f"complaint number {n} is about something else" for n in range(10)]

    topics = mention_topics(". ".join(sentences))

    assert len(topics) == MAX_TOPICS
    assert " ".join(topics).split() == ". ".join(sentences).split()
