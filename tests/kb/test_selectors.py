"""The suggestion path's plain-SQL reads agree with the ORM's definition of a live response."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from kb.models import Response
from kb.selectors import examples_matchable, replies_for_issues, responses_live
from tests.factories import BrandFactory, ExampleFactory, IssueFactory, ResponseFactory

NOW = timezone.now()
WINDOWS = {
    "open": (None, None),
    "current": (NOW - timedelta(days=1), NOW + timedelta(days=1)),
    "expired": (NOW - timedelta(days=2), NOW - timedelta(days=1)),
    "future": (NOW + timedelta(days=1), None),
}


@pytest.fixture
def library(db):
    acme, other = BrandFactory(), BrandFactory(key="other", name="Other", handle="@Other")
    issues = [IssueFactory(brand=acme), IssueFactory(brand=other), IssueFactory(brand=None)]
    issues.append(IssueFactory(brand=acme, is_active=False))
    combos = itertools.product(issues, Response.Status.values, ["twitter", "email", "any"], WINDOWS.values())
    for n, (issue, status, channel, (valid_from, valid_until)) in enumerate(combos):
        ResponseFactory(
            issue=issue,
            key=f"r{n}",
            status=status,
            channel=channel,
            valid_from=valid_from,
            valid_until=valid_until,
        )
    return acme, issues


@pytest.mark.parametrize("channel", ["twitter", "email", "any"])
@pytest.mark.parametrize("scoped", [True, False])
def test_plain_sql_replies_are_exactly_the_live_responses(library, channel, scoped):
    acme, issues = library
    brand = acme if scoped else None

    fast = replies_for_issues(issue_ids=[issue.pk for issue in issues], brand=brand, channel=channel, now=NOW)

    live = responses_live(now=NOW).filter(channel__in=[channel, "any"])
    if brand is not None:
        live = live.filter(issue__brand__in=[brand, None]) | live.filter(issue__brand__isnull=True)
    expected_issues = set(live.values_list("issue_id", flat=True))
    assert set(fast) == expected_issues
    for issue_id, reply in fast.items():
        candidates = live.filter(issue_id=issue_id)
        assert candidates.filter(key=reply.key).exists()
        if candidates.filter(channel=channel).exists() and channel != "any":
            assert reply.channel == channel  # a channel's own reply beats an `any` one


def test_plain_sql_examples_are_the_active_ones_on_active_issues(db):
    active = ExampleFactory()
    retired = ExampleFactory(status="retired")
    on_retired_issue = ExampleFactory(issue=IssueFactory(is_active=False))

    found = examples_matchable(example_ids=[active.pk, retired.pk, on_retired_issue.pk, 999_999])

    assert set(found) == {active.pk}
    assert (found[active.pk].issue_id, found[active.pk].text) == (active.issue_id, active.text)
