"""A mention about two issues is offered both issues' drafts; a mention about one is answered as
before (suggestions.retrieval.issues_matching_topics through suggestions_for)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.library_file import library_import, library_parse
from kb.models import Brand, Issue
from suggestions.embedder import get_embedder
from suggestions.indexing import index_rebuild
from suggestions.retrieval import issues_matching
from suggestions.services import Mention, suggestions_for
from suggestions.serving import holder
from suggestions.text import mention_topics, normalize_mention

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "fixtures" / "sample_library.json"


def offered(answer) -> list[str]:
    return [suggestion.issue["key"] for suggestion in answer.suggestions]


# ---- with the fake embedder and the small fixture library -------------------------------------

# Two of the fixture library's examples among long sentences about nothing it covers: the whole
# mention is a blend that matches neither example closely, each topic matches one exactly.
TWO_EXAMPLES = (
    "my checked suitcase never showed up on the baggage carousel. "
    "yesterday evening we drove across three counties through heavy rain, fog and traffic jams. "
    "my flight got cancelled and nobody at the gate can rebook me. "
    "honestly winter weekends around here feel endless, cold, grey, wet and very quiet"
)


def ranked(answer) -> list[str]:
    return [suggestion.issue["key"] for suggestion in answer.ranked]


@pytest.mark.usefixtures("engine")
def test_a_blend_that_abstains_still_ranks_each_topics_issue_first(library, settings):
    # A strict curve (the fixture library is too small to calibrate): a blend's cosine abstains.
    settings.CARELINE_CONFIDENCE_CENTRE = 0.7
    whole = get_embedder().encode([normalize_mention(TWO_EXAMPLES)])[0]
    blend = issues_matching(whole, holder.get(), brand_id=library.brands["acme-air"].pk)

    answer = suggestions_for(
        mention=Mention(text=TWO_EXAMPLES, brand=library.brands["acme-air"], channel="twitter")
    )

    # Whether to answer stays the whole mention's call; the agent's closest drafts hold both.
    assert answer.abstained is True
    assert answer.ranked[0].confidence == round(blend[0].confidence, 4)
    assert {"lost-baggage", "cancelled-flight"} <= set(ranked(answer)[:3])
    assert len(ranked(answer)) == len(set(ranked(answer)))


@pytest.mark.usefixtures("engine")
@pytest.mark.parametrize("limit", [1, 2])
def test_topics_never_exceed_the_limit(library, limit):
    answer = suggestions_for(mention=Mention(text=TWO_EXAMPLES, channel="twitter"), limit=limit)

    assert len(answer.suggestions) == limit


# ---- with the real model and the sample library -----------------------------------------------


@pytest.fixture
def sample_library(db):
    library_import(data=library_parse(SAMPLE.read_bytes()))
    index_rebuild()
    return Brand.objects.get(key="acme-air")


TWO_TOPICS = [
    (
        "@AcmeAir 5 hrs late so I missed my connection AND my bag went to another city",
        {"missed-connection", "delayed-baggage"},
    ),
    (
        "@AcmeAir the flight attendant was so rude to my dad. also our stroller came off the plane "
        "with a snapped wheel",
        {"rude-cabin-crew", "damaged-baggage"},
    ),
    (
        "@AcmeAir paid for wifi that never connected the whole flight, oh and my seatback screen "
        "was dead too",
        {"wifi-not-working", "entertainment-broken"},
    ),
]
# Mentions about one issue, in several sentences or clauses, and the issues that answer them.
ONE_TOPIC = [
    ("@AcmeAir my flight got cancelled and nobody can rebook me!!", {"cancelled-flight"}),
    (
        "@AcmeAir my bag never arrived in Boston. I have been standing at the carousel for an hour",
        {"delayed-baggage", "lost-baggage"},
    ),
    (
        "@AcmeAir the crew on AC881 were absolutely wonderful. thank you so much for a lovely trip",
        {"crew-praise"},
    ),
]
OFF_TOPIC = [
    "my cat knocked over a plant and then the dog ate my homework",
    "what is the capital of mongolia? also what is the best pizza recipe with pineapple",
]


@pytest.mark.model
def test_a_mention_about_two_issues_ranks_both_issues_drafts(sample_library):
    found = {
        text: set(
            ranked(suggestions_for(mention=Mention(text=text, brand=sample_library, channel="twitter")))
        )
        for text, _ in TWO_TOPICS
    }

    assert {text: issues & found[text] for text, issues in TWO_TOPICS} == dict(TWO_TOPICS)


@pytest.mark.model
def test_one_topic_and_off_topic_mentions_are_answered_as_the_whole_mention_is(sample_library, settings):
    served = holder.get()
    for text, issues in ONE_TOPIC:
        whole = issues_matching(
            get_embedder().encode([normalize_mention(text)])[0], served, brand_id=sample_library.pk
        )

        answer = suggestions_for(mention=Mention(text=text, brand=sample_library, channel="twitter"))

        assert ranked(answer)[0] == Issue.objects.get(pk=whole[0].issue_id).key, text
        assert answer.abstained is (whole[0].confidence < settings.CARELINE_ABSTAIN_THRESHOLD), text
        assert answer.abstained or ranked(answer)[0] in issues, text
    for text in OFF_TOPIC:
        assert mention_topics(normalize_mention(text)), text  # they are cut into topics
        assert suggestions_for(mention=Mention(text=text, brand=sample_library)).abstained, text
