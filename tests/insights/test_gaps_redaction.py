"""A content gap turned into an issue: its example mentions become the issue's first phrasings
without the customers' personal data."""

from __future__ import annotations

import pytest

from insights.gaps import gap_convert, gap_example_phrasings, gaps_find
from insights.models import GapCluster
from suggestions.embedder import use_embedder
from tests.factories import BrandFactory
from tests.insights.test_gaps_support import PlannedEmbedder, mention

pytestmark = pytest.mark.django_db

CUSTOMERS = [
    ("ann@example.com", "4111 1111 1111 1111"),
    ("bob@example.org", "5500 0000 0000 0004"),
    ("cy@example.net", "3782 822463 10005"),
    ("di@example.com", "6011 1111 1111 1117"),
    ("ed@example.org", "4012 8888 8888 1881"),
]


@pytest.fixture
def refunds():
    """One open gap: five mentions asking for a refund, each with the customer's e-mail and card."""
    with use_embedder(PlannedEmbedder()) as embedder:
        acme = BrandFactory()
        for email, card in CUSTOMERS:
            mention(embedder, f"refund to card {card} please, mail {email}", axis=0, brand=acme)
        gaps_find()
        yield GapCluster.objects.get(status=GapCluster.Status.OPEN)


def test_the_phrasings_a_gap_offers_carry_placeholders(refunds):
    assert gap_example_phrasings(cluster=refunds) == ["refund to card [card] please, mail [email]"]


def test_a_converted_gap_teaches_the_issue_no_customer_data(refunds, editor):
    issue = gap_convert(cluster=refunds, key="refund-to-card", title="Refund to card", brand=refunds.brand)

    texts = list(issue.examples.values_list("text", flat=True))
    assert texts == ["refund to card [card] please, mail [email]"]
    assert not any(email in text or card in text for text in texts for email, card in CUSTOMERS)
