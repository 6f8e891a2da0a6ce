"""The X connector through real services: a `celery beat` and a `celery worker` on Redis and
PostgreSQL read a local X API's mentions into the inbox within a polling interval, with their
drafts computed by the real model; the console's "Send" posts exactly one reply (even when X's
answer to the first try is lost) or, for a private-channel issue, a direct message."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.test import Client

from connectors.services import connection_create
from console.models import Mention
from suggestions.indexing import index_rebuild
from tests.connectors.conftest import fake_x as fake_x  # the local X API fixture
from tests.connectors.fake_x import BRAND_ID, BRAND_USERNAME, TOKEN
from tests.engine_fixtures import library_build
from tests.integration.conftest import ROOT, Worker, _database_url, wait_for

POLL_SECONDS = 2


@pytest.fixture
def x_worker(real_services, fake_x, tmp_path, monkeypatch):
    """A worker and a beat pointed at the local X API, polling every POLL_SECONDS."""
    monkeypatch.setenv("CARELINE_X_API_BASE_URL", fake_x.base_url)
    monkeypatch.setenv("CARELINE_X_POLL_SECONDS", str(POLL_SECONDS))
    worker = Worker(tmp_path / "worker.log")
    worker.start()
    with open(tmp_path / "beat.log", "a") as log:
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=info",
                "-s",
                str(tmp_path / "beat-schedule"),
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": _database_url(), "HF_HUB_OFFLINE": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield worker
    beat.terminate()
    beat.wait(30)
    worker.stop()


@pytest.fixture
def connected(real_services, admin_user):
    library = library_build()
    index_rebuild()
    connection_create(
        brand=library.brands["acme-air"],
        account_id=BRAND_ID,
        account_username=BRAND_USERNAME,
        token=TOKEN,
        created_by=admin_user,
    )
    return library


def arrived(tweet_id: str) -> Mention | None:
    return Mention.objects.filter(external_id=tweet_id, suggestion__isnull=False).first()


def test_mentions_arrive_with_drafts_and_send_posts_each_reply_once(connected, x_worker, fake_x, agent):
    # The beat's first polls find nothing; then Jane tweets.
    wait_for(lambda: len(fake_x.calls_to("GET", "/mentions")) >= 1, 60)
    tweeted = time.monotonic()
    luggage_id = fake_x.mention("the airline lost my luggage on the connecting flight", username="jane")

    seen = wait_for(lambda: Mention.objects.filter(external_id=luggage_id).exists(), 30)
    wait_for(lambda: arrived(luggage_id) is not None, 60)
    drafted = time.monotonic()
    inbox, drafts = seen - tweeted, drafted - tweeted
    print(
        f"in the inbox {inbox:.1f} s after the tweet, drafts {drafts:.1f} s (polling every {POLL_SECONDS} s)"
    )
    assert seen - tweeted <= POLL_SECONDS + 3  # one polling interval, and the worker's turn
    luggage = arrived(luggage_id)
    assert luggage.author_handle == "@jane"
    draft = luggage.suggestion.shown[0]
    assert draft["response"] == "lost-baggage-dm"

    browser = Client()
    browser.force_login(agent)
    page = browser.get(f"/mentions/{luggage.pk}/").content.decode()
    assert ">Send <kbd>" in page and 'name="private" checked' in page

    # A private-channel issue: the draft goes out as a direct message.
    sent = browser.post(
        f"/mentions/{luggage.pk}/send/",
        {
            "text": "Jane, so sorry! Please send us your bag tag number here.",
            "response": draft["response"],
            "private": "on",
        },
        follow=True,
    )
    assert "Sent as a direct message on X." in sent.content.decode()
    assert [m.text for m in fake_x.messages_to("jane")] == [
        "Jane, so sorry! Please send us your bag tag number here."
    ]
    assert Mention.objects.get(pk=luggage.pk).status == Mention.Status.ANSWERED

    # A public reply whose answer from X is lost: sending again finds it instead of posting twice.
    cancelled_id = fake_x.mention(
        "my flight got cancelled and nobody at the gate can rebook me", username="omar"
    )
    wait_for(lambda: arrived(cancelled_id) is not None, 60)
    cancelled = arrived(cancelled_id)
    fake_x.lose_answers = 1
    reply = "Omar, so sorry about the cancellation. Please DM us your confirmation code."
    first = browser.post(f"/mentions/{cancelled.pk}/send/", {"text": reply}, follow=True)
    assert "Whether the reply went out is unknown" in first.content.decode()
    assert Mention.objects.get(pk=cancelled.pk).is_open
    again = browser.post(f"/mentions/{cancelled.pk}/send/", {"text": reply}, follow=True)
    assert "Sent on X." in again.content.decode()

    assert [tweet.text for tweet in fake_x.replies_to(cancelled_id)] == [reply]
    assert len(fake_x.calls_to("POST", "/2/tweets")) == 1
    assert Mention.objects.get(pk=cancelled.pk).status == Mention.Status.ANSWERED
    # Later polls file nothing twice, and the brand's own reply is no mention.
    polls = len(fake_x.calls_to("GET", "/mentions"))
    wait_for(lambda: len(fake_x.calls_to("GET", "/mentions")) >= polls + 2, 30)
    assert Mention.objects.count() == 2
