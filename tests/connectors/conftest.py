from __future__ import annotations

import pytest

from connectors.models import XConnection
from connectors.services import connection_create
from console.models import Mention
from tests.connectors.fake_x import BRAND_ID, BRAND_USERNAME, TOKEN, FakeX


@pytest.fixture
def fake_x(settings):
    """A local X API, which the connector is pointed at by CARELINE_X_API_BASE_URL."""
    running = FakeX()
    running.up()
    settings.CARELINE_X_API_BASE_URL = running.base_url
    settings.CARELINE_X_TIMEOUT_SECONDS = 5
    yield running
    running.down()


@pytest.fixture
def connection(library, fake_x, admin_user) -> XConnection:
    """Acme Air's X account, connected with its token."""
    return connection_create(
        brand=library.brands["acme-air"],
        account_id=BRAND_ID,
        account_username=BRAND_USERNAME,
        token=TOKEN,
        created_by=admin_user,
    )


@pytest.fixture
def poll(connection, django_capture_on_commit_callbacks):
    """Reads the account's mentions as the beat's task does, letting the suggestions run."""
    from connectors.tasks import mentions_poll_task

    def polled() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return mentions_poll_task(connection.pk)

    return polled


@pytest.fixture
def browser(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def luggage(fake_x, poll) -> Mention:
    """Jane's tweet about her lost bag, read into the inbox with its drafts."""
    tweet_id = fake_x.mention("the airline lost my luggage on the connecting flight", username="jane")
    poll()
    return Mention.objects.get(external_id=tweet_id)


def send(browser, mention, text, **fields):
    return browser.post(f"/mentions/{mention.pk}/send/", {"text": text, **fields}, follow=True)
