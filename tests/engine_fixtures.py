"""Fixtures for the suggestion engine and the REST API: a fake embedder, a clean served index,
token-authenticated API clients and a small library built through kb.services.

Imported by tests/suggestions/conftest.py and tests/api/conftest.py.

About transactions: tests on the `db` fixture run inside one transaction whose on_commit
callbacks never fire, so a library edit there leaves the index exactly as it was (the engine's
query-time checks are all that protect the answer). Wrap an edit in
`django_capture_on_commit_callbacks(execute=True)`, or use `transactional_db`, to let the
`library_changed` signal run the (eager) index sync as it does in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import token_create
from kb import services
from kb.models import Brand, Example, Issue, Response
from suggestions import serving
from suggestions.embedder import use_embedder
from suggestions.indexing import index_rebuild
from suggestions.models import IndexVersion
from suggestions.serving import holder
from tests.fakes import FakeEmbedder

# Wide enough that unrelated texts score near 0 and paraphrases clearly above the threshold.
ENGINE_DIMENSION = 256

BRANDS = [
    {"key": "acme-air", "name": "Acme Air", "handle": "@AcmeAir"},
    {"key": "globex-bank", "name": "Globex Bank", "handle": "@GlobexBank"},
]

# key -> brand, title, tags, private_channel, examples, responses (key, channel, status, text[, window]).
ISSUES: dict[str, dict] = {
    "lost-baggage": {
        "brand": "acme-air",
        "title": "Checked bag lost or delayed at the airport",
        "tags": ["baggage"],
        "private_channel": True,
        "examples": [
            "my checked suitcase never showed up on the baggage carousel",
            "the airline lost my luggage on the connecting flight",
            "baggage claim says my bag is missing and nobody knows where it is",
            "still waiting for my delayed suitcase three days later",
        ],
        # The `any` reply is approved after the twitter one, so "newest wins" would pick it.
        "responses": [
            (
                "lost-baggage-dm",
                "twitter",
                "approved",
                "{{ customer_name|default:'Hi there' }}, so sorry your bag hasn't arrived. Please DM us "
                "your bag tag number and we'll trace it. ^{{ agent_initials }}",
            ),
            (
                "lost-baggage-any",
                "any",
                "approved",
                "Sorry about your bag, {{ customer_name|default:'there' }}. The {{ brand_name }} baggage "
                "team can trace it from your tag number.",
            ),
        ],
    },
    "cancelled-flight": {
        "brand": "acme-air",
        "title": "Flight cancelled, customer needs rebooking",
        "tags": ["irregular-ops", "rebooking"],
        "private_channel": True,
        "examples": [
            "my flight got cancelled and nobody at the gate can rebook me",
            "cancelled again, what now??",
            "they cancelled my flight home tonight and the app only says contact us",
        ],
        "responses": [
            (
                "cancelled-flight-any",
                "any",
                "approved",
                '{{ customer_name|default:"Hi there" }}, so sorry about the cancellation. Please DM us '
                "your confirmation code and we'll rebook you right away. ^{{ agent_initials }}",
            ),
        ],
    },
    "card-declined": {
        "brand": "globex-bank",
        "title": "Card declined when paying",
        "private_channel": False,
        "examples": [
            "my debit card keeps getting declined at the supermarket",
            "card declined again at checkout even though I have money",
            "why does the payment terminal refuse my Globex card",
        ],
        "responses": [
            (
                "card-declined-twitter",
                "twitter",
                "approved",
                "Hi {{ customer_name|default:'there' }}, sorry your card was declined. Please DM "
                "{{ brand_handle }} and we'll check your account. ^{{ agent_initials }}",
            ),
        ],
    },
    "password-reset": {
        "brand": None,  # global: serves every brand
        "title": "Cannot reset the account password",
        "private_channel": False,
        "examples": [
            "the password reset email never arrives in my inbox",
            "forgot my password and the reset link says expired",
            "cannot log in to my account after changing password",
        ],
        "responses": [
            (
                "password-reset-any",
                "any",
                "approved",
                "{{ customer_name|default:'Hi' }}, use the 'Forgot password' link on the "
                "{{ brand_name|default:'our' }} website and check your spam folder. ^{{ agent_initials }}",
            ),
        ],
    },
    "refund-receipt": {  # only an email reply
        "brand": "acme-air",
        "title": "Receipt for a refunded ticket",
        "private_channel": False,
        "examples": [
            "please email me a receipt for my refunded ticket",
            "I need an invoice for the ticket refund for my employer",
            "where is the receipt for my refund",
        ],
        "responses": [
            (
                "refund-receipt-email",
                "email",
                "approved",
                "Hi {{ customer_name|default:'there' }},\n\n"
                "your refund receipt is attached.\n\n{{ agent_name }}",
            ),
        ],
    },
    "onboard-wifi": {  # a draft reply only: not searchable
        "brand": "acme-air",
        "title": "Onboard wifi not working",
        "private_channel": False,
        "examples": [
            "the inflight wifi will not connect at all",
            "wifi on the plane keeps dropping",
            "paid for onboard internet and it never worked",
        ],
        "responses": [
            ("onboard-wifi-draft", "any", "draft", "Sorry the wifi let you down. ^{{ agent_initials }}"),
        ],
    },
    "summer-sale": {  # its only approved reply expired yesterday: not searchable
        "brand": "acme-air",
        "title": "Summer sale promo code rejected",
        "private_channel": False,
        "examples": [
            "the summer sale promo code is not accepted",
            "discount code from the summer sale email fails",
            "promo code SUMMER20 says invalid",
        ],
        "responses": [
            ("summer-sale-code", "any", "approved", "The summer sale has ended, sorry!", "expired"),
        ],
    },
}
SEARCHABLE = ["lost-baggage", "cancelled-flight", "card-declined", "password-reset", "refund-receipt"]
# Every active example of a searchable issue, plus its title.
SEARCHABLE_VECTORS = sum(len(ISSUES[key]["examples"]) + 1 for key in SEARCHABLE)


@dataclass
class Library:
    brands: dict[str, Brand]
    issues: dict[str, Issue]
    examples: dict[str, Example]  # by text
    responses: dict[str, Response]
    version: IndexVersion | None = None

    def refresh(self) -> None:
        for objects in (self.brands, self.issues, self.examples, self.responses):
            for item in objects.values():
                item.refresh_from_db()


def library_build() -> Library:
    """Create the fixture library through kb.services (as an operator at the command line)."""
    now = timezone.now()
    windows = {"expired": {"valid_from": now - timedelta(days=30), "valid_until": now - timedelta(days=1)}}
    with services.library_batch():
        brands = {spec["key"]: services.brand_create(**spec) for spec in BRANDS}
        issues: dict[str, Issue] = {}
        examples: dict[str, Example] = {}
        responses: dict[str, Response] = {}
        for key, spec in ISSUES.items():
            issue = services.issue_create(
                key=key,
                title=spec["title"],
                brand=brands[spec["brand"]] if spec["brand"] else None,
                private_channel=spec["private_channel"],
                tags=spec.get("tags", ()),
            )
            issues[key] = issue
            for text in spec["examples"]:
                examples[text] = services.example_create(issue=issue, text=text)
            for response_key, channel, status, text, *window in spec["responses"]:
                responses[response_key] = services.response_create(
                    issue=issue,
                    key=response_key,
                    channel=channel,
                    status=status,
                    text=text,
                    **(windows[window[0]] if window else {}),
                )
    return Library(brands, issues, examples, responses)


@pytest.fixture
def fake_embedder():
    """The process-wide embedder is a FakeEmbedder for this test, then whatever it was before."""
    embedder = FakeEmbedder(dimension=ENGINE_DIMENSION)
    with use_embedder(embedder):
        yield embedder


@pytest.fixture
def served_index(monkeypatch):
    """A process whose served-index cache starts and ends empty. The holder re-checks the active
    version on every call, so a test sees a new version at once (test_engine_indexing covers the
    POLL_SECONDS cache itself)."""
    monkeypatch.setattr(serving, "POLL_SECONDS", 0.0)
    holder.forget()
    yield holder
    holder.forget()


@pytest.fixture
def engine(fake_embedder, served_index):
    """Everything the engine needs except data: fake embedder and a clean served index."""
    return fake_embedder


@pytest.fixture
def unindexed_library(db, engine) -> Library:
    """The fixture library, with no index built."""
    return library_build()


@pytest.fixture
def library(unindexed_library) -> Library:
    """The fixture library, indexed and served."""
    unindexed_library.version = index_rebuild()
    return unindexed_library


def api_client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user)}")
    return client


@pytest.fixture
def agent_client(agent) -> APIClient:
    """Sam Lee, an agent: reads the library and asks for suggestions."""
    return api_client_for(agent)


@pytest.fixture
def editor_client(editor) -> APIClient:
    return api_client_for(editor)


@pytest.fixture
def author_client(author) -> APIClient:
    return api_client_for(author)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()
