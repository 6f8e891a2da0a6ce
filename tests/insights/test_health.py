"""The library health report: conflicting examples, missing channels, replies too long, expiring,
never suggested and rarely accepted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from insights.health import RARELY_MIN_SHOWN, examples_conflicting, library_health
from kb import services
from kb.models import Example, Response
from suggestions.indexing import index_rebuild
from tests.factories import (
    BrandFactory,
    FeedbackFactory,
    IssueFactory,
    ResponseFactory,
    request_with_suggestions,
)

pytestmark = pytest.mark.django_db


def finding_keys(items) -> set[str]:
    return {item.response.key for item in items}


# -- Conflicts ------------------------------------------------------------------------------------


def test_an_example_closer_to_another_issue_is_a_conflict_with_both_similarities(designed):
    conflicts = examples_conflicting()

    assert conflicts.index_version == "designed"
    assert [item.example_id for item in conflicts.found] == [designed["stray"].pk]
    conflict = conflicts.found[0]
    assert conflict.issue.key == designed["baggage"].key
    assert conflict.other_issue.key == designed["delay"].key
    assert conflict.own_similarity == pytest.approx(0.36, abs=1e-4)
    assert conflict.other_similarity == pytest.approx(0.8, abs=1e-4)
    assert conflict.other_text == designed["card"].text


def test_issues_of_different_brands_never_conflict(designed):
    # `bag` is identical to the Globex issue's title, yet an Acme mention can never get that issue.
    assert designed["baggage"].examples.get(text="my bag is lost").pk not in {
        item.example_id for item in examples_conflicting().found
    }


def test_conflicts_read_the_library_as_it_is_now(designed):
    Example.objects.filter(pk=designed["card"].pk).update(status=Example.Status.RETIRED)

    # Without `card`, the nearest of `delay` is 0.768 from `stray`: still closer than 0.36.
    found = examples_conflicting().found
    assert found[0].other_similarity == pytest.approx(0.768, abs=1e-4)
    assert found[0].other_text == "departure late again"


def test_conflicts_are_filtered_by_brand(designed):
    assert examples_conflicting(brand=designed["acme"]).found
    assert examples_conflicting(brand=designed["globex"]).found == []


def test_a_conflict_is_found_in_the_index_being_served(library):
    # Worded like a password-reset example, filed under a cancelled flight.
    stray = services.example_create(
        issue=library.issues["cancelled-flight"], text="the password reset email never arrives at all"
    )
    index_rebuild()

    found = {item.example_id: item for item in examples_conflicting().found}
    assert found[stray.pk].other_issue.key == "password-reset"
    assert found[stray.pk].other_similarity > found[stray.pk].own_similarity


def test_without_an_index_the_report_says_so(db):
    report = library_health()

    assert report.conflicts.index_version is None
    assert "No index has been built" in report.conflicts.unavailable
    assert report.conflicts.found == []


# -- Responses ------------------------------------------------------------------------------------


def test_an_issue_without_a_live_response_for_a_channel_is_reported():
    twitter_only = IssueFactory(key="twitter-only")
    ResponseFactory(issue=twitter_only, channel="twitter")
    ResponseFactory(issue=twitter_only, channel="email", status=Response.Status.DRAFT)
    answered_everywhere = IssueFactory(key="anywhere")
    ResponseFactory(issue=answered_everywhere, channel="any")

    missing = {item.issue.key: item.channels for item in library_health().missing_channels}

    assert missing == {"twitter-only": ["facebook", "instagram", "email"]}


def test_an_expired_response_leaves_its_channel_missing():
    issue = IssueFactory(key="promo")
    ResponseFactory(issue=issue, channel="any", valid_until=timezone.now() - timedelta(hours=1))

    missing = {item.issue.key: item.channels for item in library_health().missing_channels}

    assert missing["promo"] == ["twitter", "facebook", "instagram", "email"]


def test_a_twitter_response_too_long_for_the_sample_customer_is_reported():
    ResponseFactory(key="rambling", channel="twitter", text="{{ customer_name }}, " + "sorry " * 45)
    ResponseFactory(key="short", channel="twitter", text="{{ customer_name }}, sorry!")
    ResponseFactory(key="long-email", channel="email", text="sorry " * 500)

    too_long = library_health().too_long

    assert [item.response.key for item in too_long] == ["rambling"]
    assert too_long[0].limit == 280 < too_long[0].length


def test_a_response_expiring_within_the_window_is_reported():
    now = timezone.now()
    ResponseFactory(key="soon", valid_until=now + timedelta(days=5))
    ResponseFactory(key="later", valid_until=now + timedelta(days=20))
    ResponseFactory(key="gone", valid_until=now - timedelta(days=1))
    ResponseFactory(key="forever")

    assert finding_keys(library_health().expiring) == {"soon"}
    assert finding_keys(library_health(expiring_days=30).expiring) == {"soon", "later"}


def shown(response, times: int, *, sent: int = 0, **fields) -> None:
    """Show ``response`` to agents ``times`` times; ``sent`` of those an agent sent it."""
    for number in range(times):
        request = request_with_suggestions([response], **fields)
        if number < sent:
            action = "edited" if number % 2 else "accepted"
            FeedbackFactory(request=request, response=response, action=action)
        else:
            FeedbackFactory(request=request, response=response, action="rejected")


def test_responses_never_suggested_or_rarely_accepted_are_reported():
    never = ResponseFactory(key="never")
    only_abstained = ResponseFactory(key="only-abstained")
    shown(only_abstained, 3, abstained=True)
    long_ago = ResponseFactory(key="long-ago")
    shown(long_ago, RARELY_MIN_SHOWN, created_at=timezone.now() - timedelta(days=40))
    rarely = ResponseFactory(key="rarely")
    shown(rarely, RARELY_MIN_SHOWN, sent=1)
    liked = ResponseFactory(key="liked")
    shown(liked, RARELY_MIN_SHOWN, sent=5)
    seldom_shown = ResponseFactory(key="seldom-shown")
    shown(seldom_shown, RARELY_MIN_SHOWN - 1)

    report = library_health()

    assert finding_keys(report.never_suggested) == {never.key, only_abstained.key, long_ago.key}
    assert finding_keys(report.rarely_accepted) == {rarely.key}
    assert report.rarely_accepted[0].shown == RARELY_MIN_SHOWN
    assert report.rarely_accepted[0].sent == 1
    assert finding_keys(library_health(usage_days=60).never_suggested) == {never.key, only_abstained.key}


def test_the_report_is_filtered_by_brand_and_global_issues_serve_every_brand():
    acme, globex = (
        BrandFactory(key="acme-air"),
        BrandFactory(key="globex-bank", name="Globex", handle="@Globex"),
    )
    ResponseFactory(key="acme-reply", issue=IssueFactory(brand=acme))
    ResponseFactory(key="globex-reply", issue=IssueFactory(brand=globex))
    ResponseFactory(key="shared-reply", issue=IssueFactory(brand=None))

    assert finding_keys(library_health(brand=acme).never_suggested) == {"acme-reply", "shared-reply"}
    assert finding_keys(library_health(brand=globex).never_suggested) == {"globex-reply", "shared-reply"}
    assert library_health(brand=acme).brand == "acme-air"
