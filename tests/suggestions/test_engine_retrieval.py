"""From a mention to ranked, rendered replies: suggestions_for and suggestion_create."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kb import services
from kb.models import Response
from suggestions.indexing import active_version
from suggestions.models import SuggestionRequest
from suggestions.selectors import index_status
from suggestions.services import Mention, suggestion_create, suggestions_for
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("engine")


def ask(text: str, *, limit: int = 3, **mention):
    return suggestions_for(mention=Mention(text=text, **mention), limit=limit)


def keys(answer) -> list[str]:
    return [suggestion.issue["key"] for suggestion in answer.suggestions]


def responses(answer) -> list[str]:
    return [suggestion.response for suggestion in answer.suggestions]


@pytest.fixture
def answer_everything(settings):
    """No abstaining: every issue the engine finds is listed, however weak."""
    settings.CARELINE_ABSTAIN_THRESHOLD = 0.0


# ---- ranking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, issue",
    [
        ("my suitcase is lost, it never showed up at baggage claim", "lost-baggage"),
        ("they cancelled my flight and I need to rebook", "cancelled-flight"),
        ("reset email for my password never arrives", "password-reset"),
    ],
)
def test_paraphrase_of_an_issues_examples_finds_that_issue_first(library, text, issue):
    answer = ask(text)

    assert keys(answer)[0] == issue
    assert answer.abstained is False


def test_at_most_one_suggestion_per_issue_ranked_by_score(library, answer_everything):
    # Close to several lost-baggage examples, and to both of its approved replies' issue.
    answer = ask("my bag is missing, the airline lost my suitcase and luggage", limit=10, channel="twitter")

    assert keys(answer)[0] == "lost-baggage"
    assert len(keys(answer)) == len(set(keys(answer))) >= 3
    scores = [suggestion.score for suggestion in answer.suggestions]
    assert scores == sorted(scores, reverse=True)
    confidences = [suggestion.confidence for suggestion in answer.suggestions]
    assert confidences == sorted(confidences, reverse=True)


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_limit_is_honoured(library, answer_everything, limit):
    assert len(ask("my bag is lost and my password reset never arrives", limit=limit).suggestions) == limit


# ---- brand and channel ------------------------------------------------------------------------


def test_brand_sees_its_own_issues_and_global_ones_never_another_brands(library, answer_everything):
    acme, globex = library.brands["acme-air"], library.brands["globex-bank"]
    text = "card declined at checkout and the password reset email never arrives"

    for_globex = keys(ask(text, brand=globex, channel="twitter", limit=10))
    for_acme = keys(ask(text, brand=acme, channel="twitter", limit=10))

    assert for_globex[:2] == ["card-declined", "password-reset"] or for_globex[:2] == [
        "password-reset",
        "card-declined",
    ]
    assert set(for_globex) == {"card-declined", "password-reset"}
    assert "card-declined" not in for_acme
    assert "password-reset" in for_acme
    assert {"lost-baggage", "cancelled-flight"} <= set(for_acme)


def test_a_brand_still_gets_its_issues_when_the_nearest_vectors_belong_to_other_brands(
    library, answer_everything, monkeypatch
):
    # Search only the 2 nearest vectors first: for this mention they are all Acme Air's.
    monkeypatch.setattr("suggestions.services.SEARCH_DEPTH", 2)
    text = "my flight got cancelled and nobody at the gate can rebook me"

    for_globex = keys(ask(text, brand=library.brands["globex-bank"], channel="twitter", limit=2))

    assert set(for_globex) == {"card-declined", "password-reset"}


def test_without_a_brand_every_brands_issues_may_answer(library):
    assert keys(ask("my debit card keeps getting declined", channel="twitter"))[0] == "card-declined"


def test_reply_written_for_the_channel_beats_one_for_any_channel(library):
    text = "the airline lost my luggage"

    assert responses(ask(text, channel="twitter"))[0] == "lost-baggage-dm"
    assert responses(ask(text, channel="facebook"))[0] == "lost-baggage-any"


def test_issue_with_only_an_email_reply_is_suggested_on_email_not_on_twitter(library, answer_everything):
    text = "where is the receipt for my refund"

    assert "refund-receipt" not in keys(ask(text, channel="twitter", limit=10))
    on_email = ask(text, channel="email")
    assert responses(on_email)[0] == "refund-receipt-email"
    assert on_email.suggestions[0].fits_channel is True and on_email.suggestions[0].limit is None


# ---- only live replies, even when the index is stale ------------------------------------------

NOW = timezone.now


def _withdraw_to_draft(response: Response) -> None:
    services.response_transition(response=response, to_status=Response.Status.DRAFT)


def _back_in_review(response: Response) -> None:
    _withdraw_to_draft(response)
    services.response_submit(response=response)


def _retire(response: Response) -> None:
    services.response_retire(response=response)


def _expire(response: Response) -> None:
    Response.objects.filter(pk=response.pk).update(
        valid_from=NOW() - timedelta(days=10), valid_until=NOW() - timedelta(minutes=1)
    )


def _not_valid_yet(response: Response) -> None:
    services.response_update(response=response, valid_from=NOW() + timedelta(days=1))


@pytest.mark.parametrize(
    "unpublish",
    [_withdraw_to_draft, _back_in_review, _retire, _expire, _not_valid_yet],
    ids=["draft", "in_review", "retired", "expired", "not-yet-valid"],
)
def test_reply_no_longer_live_is_never_suggested_even_while_the_index_still_holds_it(
    library, answer_everything, unpublish
):
    text = "my flight got cancelled and nobody can rebook me"
    assert responses(ask(text))[0] == "cancelled-flight-any"

    # Inside the test's transaction: no commit, no sync, the served index is unchanged.
    unpublish(library.responses["cancelled-flight-any"])
    assert active_version() == library.version
    # A reply scheduled for later stays searchable ahead of time; the others make the index stale.
    assert index_status()["fresh"] is (unpublish is _not_valid_yet)

    answer = ask(text, limit=10)
    assert "cancelled-flight" not in keys(answer)
    assert answer.suggestions  # the others are still there


def test_retired_issue_is_never_suggested_even_while_the_index_still_holds_it(library, answer_everything):
    services.issue_retire(issue=library.issues["cancelled-flight"])

    assert "cancelled-flight" not in keys(ask("my flight got cancelled and nobody can rebook me", limit=10))


def test_retired_example_is_never_the_match_even_while_the_index_still_holds_it(library):
    text = "my flight got cancelled and nobody at the gate can rebook me"
    assert ask(text).suggestions[0].matched_example == text

    services.example_retire(example=library.examples[text])

    best = ask(text).suggestions[0]
    assert best.issue["key"] == "cancelled-flight"  # still found, through another phrasing
    assert best.matched_example != text
    assert best.score < 0.99


# ---- abstaining -------------------------------------------------------------------------------


def test_unrelated_mention_abstains_with_the_default_threshold(library):
    answer = ask("what a lovely sunny day for gardening")

    assert answer.abstained is True
    request = suggestion_create(mention=Mention(text="what a lovely sunny day for gardening"))
    assert request.abstained is True
    assert request.shown == []
    # Nothing to act on; the ranked drafts are kept apart as candidates, closest first, for an
    # agent to judge (and the threshold to be tuned on real traffic later).
    assert answer.suggestions == [] and answer.candidates
    assert [s.issue["key"] for s in answer.candidates] == [s.issue["key"] for s in answer.ranked]
    assert [item["issue"]["key"] for item in request.candidates] == [
        s.issue["key"] for s in answer.candidates
    ]
    assert request.results == request.candidates


def test_abstains_exactly_when_the_best_confidence_is_below_the_threshold(library, settings):
    text = "my bag is missing and I forgot my password"
    best = ask(text).suggestions[0].confidence

    settings.CARELINE_ABSTAIN_THRESHOLD = best + 0.001
    above = suggestion_create(mention=Mention(text=text))
    settings.CARELINE_ABSTAIN_THRESHOLD = best - 0.001
    below = suggestion_create(mention=Mention(text=text))

    assert (above.abstained, above.shown) == (True, [])
    assert above.candidates[0]["confidence"] == best
    assert (below.abstained, below.candidates) == (False, [])
    assert below.results[0]["confidence"] == best


# ---- the reply as the agent sees it -----------------------------------------------------------


def test_reply_is_rendered_for_the_customer_agent_and_brand(library):
    answer = ask(
        "my debit card keeps getting declined",
        brand=library.brands["globex-bank"],
        channel="twitter",
        author_name="Jane",
        author_handle="jane_doe",
        agent_name="Mary-Jane Watson",
    )

    assert answer.suggestions[0].text == (
        "Hi Jane, sorry your card was declined. Please DM @GlobexBank and we'll check your account. ^MJW"
    )


def test_given_initials_win_over_the_agents_name_and_missing_values_use_the_default(library):
    answer = ask("the airline lost my luggage", channel="twitter", agent_name="Sam Lee", agent_initials="SAM")

    assert answer.suggestions[0].text.startswith("Hi there, so sorry your bag")
    assert answer.suggestions[0].text.endswith("^SAM")


def test_global_issue_speaks_with_the_brand_of_the_mention(library):
    text = "the password reset email never arrives"
    acme = ask(text, brand=library.brands["acme-air"]).suggestions[0].text
    globex = ask(text, brand=library.brands["globex-bank"]).suggestions[0].text
    nobody = ask(text).suggestions[0].text

    assert "the Acme Air website" in acme
    assert "the Globex Bank website" in globex
    assert "the our website" in nobody  # the template's own default


def test_reply_length_counts_the_reply_handle_and_flags_a_reply_too_long_for_the_channel(library):
    filler = "We are looking into this right now and will update you as soon as we know more. " * 3
    services.response_create(
        issue=library.issues["cancelled-flight"],
        key="cancelled-flight-long",
        channel="twitter",
        status="approved",
        text=filler.strip() + " ^{{ agent_initials }}",
    )
    text = "my flight got cancelled and nobody can rebook me"

    short = ask(text, channel="twitter", author_handle="@jo", agent_initials="SL").suggestions[0]
    long = ask(text, channel="twitter", author_handle="@" + "x" * 40, agent_initials="SL").suggestions[0]

    assert short.response == long.response == "cancelled-flight-long"
    assert short.length == len("@jo " + short.text) <= 280
    assert short.fits_channel is True
    assert long.length == len("@" + "x" * 40 + " " + long.text) > 280
    assert long.fits_channel is False


def test_private_channel_flag_comes_from_the_issue(library):
    assert ask("the airline lost my luggage").suggestions[0].private_channel is True
    assert ask("the password reset email never arrives").suggestions[0].private_channel is False


def test_matched_example_is_the_original_text_not_the_normalised_one(library):
    original = "@AcmeAir my bag is LOST!!! 😡 https://t.co/abc #NeverAgain"
    services.example_create(issue=library.issues["lost-baggage"], text=original)
    from suggestions.indexing import index_sync

    index_sync()

    best = ask(original).suggestions[0]
    assert best.matched_example == original
    assert best.score == pytest.approx(1.0, abs=1e-3)


def test_issue_found_through_its_title_shows_the_title_as_matched(library):
    best = ask("Flight cancelled, customer needs rebooking").suggestions[0]

    assert best.issue == {"key": "cancelled-flight", "title": "Flight cancelled, customer needs rebooking"}
    assert best.matched_example == "Flight cancelled, customer needs rebooking"


def test_social_noise_does_not_hide_the_issue(library):
    # Handles, a link and CamelCase hashtags: only the normalised words match the library.
    answer = ask("@AcmeAir @jane https://t.co/x1 #LostLuggage #ConnectingFlight")

    assert keys(answer)[0] == "lost-baggage"
    assert answer.abstained is False


# ---- what is stored ---------------------------------------------------------------------------


def test_request_is_stored_with_what_was_asked_and_exactly_what_was_answered(library):
    agent = UserFactory(username="sam")
    mention = Mention(
        text="@AcmeAir the airline lost my luggage!!",
        brand=library.brands["acme-air"],
        channel="twitter",
        author_handle="@jane",
        author_name="Jane",
        agent_name="Sam Lee",
        external_id="1234567890",
    )

    stored = suggestion_create(mention=mention, limit=2, requested_by=agent)

    stored = SuggestionRequest.objects.get(pk=stored.pk)
    assert stored.text == "@AcmeAir the airline lost my luggage!!"
    assert (stored.brand, stored.channel, stored.external_id) == (
        library.brands["acme-air"],
        "twitter",
        "1234567890",
    )
    assert (stored.author_handle, stored.author_name, stored.agent_name) == ("@jane", "Jane", "Sam Lee")
    assert stored.requested_by == agent
    assert stored.index_version == library.version.version
    assert stored.abstained is False
    assert stored.took_ms > 0
    assert len(stored.results) == 2
    first = stored.results[0]
    assert first["response"] == "lost-baggage-dm"
    assert first["text"].startswith("Jane, so sorry your bag") and first["text"].endswith("^SL")
    assert 0 < first["score"] <= 1 and 0 < first["confidence"] <= 1
    assert stored.results[0]["score"] >= stored.results[1]["score"]


def test_mention_without_a_channel_is_answered_for_the_default_channel(library, settings):
    settings.CARELINE_DEFAULT_CHANNEL = "email"

    stored = suggestion_create(mention=Mention(text="where is the receipt for my refund"))

    assert stored.channel == "email"
    assert stored.results[0]["response"] == "refund-receipt-email"


def test_a_scheduled_reply_is_indexed_ahead_and_suggested_from_the_moment_it_is_valid(
    library, answer_everything, monkeypatch
):
    from suggestions.indexing import index_sync

    text = "check in desks say the whole system is down"
    issue = services.issue_create(key="systems-outage", title="Check-in systems outage")
    services.example_create(issue=issue, text=text)
    starts = NOW() + timedelta(hours=1)
    services.response_create(
        issue=issue, key="outage-statement", text="We know, fixing it.", status="approved", valid_from=starts
    )
    synced = index_sync()
    assert synced.count == library.version.count + 2  # its example and its title

    assert "systems-outage" not in keys(ask(text, limit=10))

    later = starts + timedelta(minutes=1)
    monkeypatch.setattr("kb.selectors.timezone.now", lambda: later)
    assert keys(ask(text))[0] == "systems-outage"
