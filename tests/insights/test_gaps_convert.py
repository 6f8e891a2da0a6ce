"""Turning a content gap into a new issue, or dismissing it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from insights.gaps import gap_convert, gap_dismiss, gap_issue_defaults
from insights.models import GapCluster
from kb.models import Example, Issue
from suggestions.embedder import use_embedder
from tests.factories import IssueFactory
from tests.insights.test_gaps_support import PlannedEmbedder, gaps_found

pytestmark = pytest.mark.django_db


@pytest.fixture
def found():
    with use_embedder(PlannedEmbedder()) as embedder:
        yield gaps_found(embedder)


def test_convert_creates_the_issue_with_the_example_mentions_as_phrasings(found, editor):
    refunds = found.refunds

    issue = gap_convert(
        cluster=refunds,
        key="refund-missing",
        title="Refund not received",
        brand=refunds.brand,
        converted_by=editor,
    )

    issue.refresh_from_db()
    assert (issue.key, issue.title, issue.brand, issue.created_by) == (
        "refund-missing",
        "Refund not received",
        refunds.brand,
        editor,
    )
    phrasings = list(issue.examples.values_list("text", flat=True))
    # Five example mentions: two that read the same once normalized count once, and the next
    # most central mention takes the place the second would have had.
    assert len(phrasings) == len(set(phrasings)) == 5
    assert phrasings.count("where is my refund?") == 1
    assert not any("@AcmeAir" in text or "https://" in text for text in phrasings)
    assert set(issue.examples.values_list("source", "status")) == {
        (Example.Source.LEARNED, Example.Status.ACTIVE)
    }
    refunds.refresh_from_db()
    assert (refunds.status, refunds.issue, refunds.decided_by) == (GapCluster.Status.CONVERTED, issue, editor)


def test_convert_with_a_taken_key_is_refused_and_changes_nothing(found, editor):
    IssueFactory(key="refund-missing")
    issues_before = Issue.objects.count()

    with pytest.raises(ValidationError) as refused:
        gap_convert(
            cluster=found.refunds, key="refund-missing", title="Refund", brand=None, converted_by=editor
        )

    assert "key" in refused.value.message_dict
    assert Issue.objects.count() == issues_before
    found.refunds.refresh_from_db()
    assert found.refunds.status == GapCluster.Status.OPEN


def test_a_gap_is_converted_or_dismissed_once(found, editor):
    gap_dismiss(cluster=found.app, dismissed_by=editor)

    with pytest.raises(ValidationError, match="already dismissed"):
        gap_convert(cluster=found.app, key="app-logout", title="App logs out", brand=None)
    with pytest.raises(ValidationError, match="already dismissed"):
        gap_dismiss(cluster=found.app)
    assert not Issue.objects.filter(key="app-logout").exists()


def test_the_convert_form_starts_from_the_label_and_the_dominant_brand(found):
    defaults = gap_issue_defaults(cluster=found.app)

    assert defaults["brand"] == found.app.brand
    assert str(defaults["title"]).lower() == found.app.label.lower()
    assert str(defaults["key"]).startswith("the-globex-app-logs-me-out")


def test_the_suggested_key_is_one_no_issue_has_yet(found):
    taken = gap_issue_defaults(cluster=found.app)["key"]
    IssueFactory(key=taken)

    suggested = gap_issue_defaults(cluster=found.app)["key"]

    assert suggested != taken
    assert not Issue.objects.filter(key=suggested).exists()
