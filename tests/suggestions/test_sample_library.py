"""The shipped sample library with the real model: the mentions a new user tries first find the
right issue, brand scoping holds, and off-topic messages are abstained."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.library_file import library_import, library_parse
from kb.models import Brand
from suggestions.indexing import index_rebuild
from suggestions.services import Mention, suggestions_for

pytestmark = [pytest.mark.model, pytest.mark.django_db]

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "fixtures" / "sample_library.json"


@pytest.fixture
def sample_library():
    library_import(data=library_parse(SAMPLE.read_bytes()))
    index_rebuild()


FIRST_MENTIONS = [
    ("@AcmeAir my flight got cancelled and nobody can rebook me!!", "acme-air", "cancelled-flight"),
    (
        "@AcmeAir you lost my bag. AGAIN. 5 days and nobody knows where it is #lostluggage",
        "acme-air",
        "lost-baggage",
    ),
    ("@AcmeAir the crew on AC881 were absolutely wonderful, thank you!!", "acme-air", "crew-praise"),
    ("@AcmeAir your app keeps crashing when I try to check in", "acme-air", "app-crash"),
    ("@BrightMobile no signal at all in my area since this morning", "brightmobile", "no-signal-outage"),
    ("@BrightMobile why is my bill $90 more than last month???", "brightmobile", "bill-too-high"),
    ("can I please talk to an actual person", "brightmobile", "speak-to-human"),
]
OFF_TOPIC = [
    "what is the capital of mongolia",
    "Best pizza recipe with pineapple?",
    "my cat knocked over a plant",
]


def test_first_mentions_a_user_tries_find_the_right_issue_and_scoping_holds(sample_library):
    brands = {brand.key: brand for brand in Brand.objects.all()}
    found = {}
    for text, brand, _ in FIRST_MENTIONS:
        answer = suggestions_for(mention=Mention(text=text, brand=brands[brand]))
        found[text] = (
            None if answer.abstained else answer.suggestions[0].issue["key"],
            answer.suggestions[0].fits_channel,
        )
    assert found == {text: (issue, True) for text, _, issue in FIRST_MENTIONS}

    flight_for_carrier = suggestions_for(
        mention=Mention(text="my flight got cancelled, rebook me", brand=brands["brightmobile"]), limit=10
    )
    assert "cancelled-flight" not in {
        suggestion.issue["key"] for suggestion in flight_for_carrier.suggestions
    }


def test_off_topic_mentions_are_abstained(sample_library):
    brand = Brand.objects.get(key="acme-air")
    abstained = {
        text: suggestions_for(mention=Mention(text=text, brand=brand)).abstained for text in OFF_TOPIC
    }

    assert abstained == dict.fromkeys(OFF_TOPIC, True)


def test_chatter_with_no_service_issue_finds_the_librarys_moderation_issue(sample_library):
    # The library covers messages with no service issue (spam-abuse: "lol ratio", insults,
    # promotions), so light chatter is that issue's to answer rather than nobody's.
    answer = suggestions_for(
        mention=Mention(text="lol this meme 😂😂", brand=Brand.objects.get(key="acme-air"))
    )

    assert answer.abstained is False
    assert answer.suggestions[0].issue["key"] == "spam-abuse"
