"""Browser tests: the agents' console driven in headless Chromium (Debian's `chromium`, never a
browser Playwright downloads), served by pytest-django's `live_server`.

`live_server` makes each test transactional, so the rows a test creates (the `library` fixture's,
its users and mentions) are committed and the server thread sees them; the fake embedder and the
eager Celery setting are process-wide, so the server answers with them too. Every test here is
marked `browser` and fails, never skips, when Chromium is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urljoin

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect, sync_playwright

from console.models import Mention
from console.services import mention_receive
from tests.factories import UserFactory

CHROMIUM = os.environ.get("CARELINE_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
HERE = Path(__file__).resolve().parent

_call_failed = pytest.StashKey[bool]()

expect.set_options(timeout=10_000)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[_call_failed] = report.failed
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for this folder's tests, closed when they are done.

    Playwright's sync API keeps an asyncio loop running in the test thread while it lives, so
    Django would refuse the tests' own ORM calls (SynchronousOnlyOperation); nothing here shares a
    connection between coroutines, so the check is off for exactly that long."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox"], headless=True
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Callable[[], Page]]:
    """Opens pages in fresh browser contexts (own cookies: one per signed-in user). A page left
    on a failed test is saved to test-output/failed-<test>-<n>.png."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for number, context in enumerate(contexts, start=1):
        if request.node.stash.get(_call_failed, False):
            for page in context.pages:
                screenshot(page, f"failed-{request.node.name}-{number}")
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as test-output/<name>.png."""
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def sign_in(page: Page, live_server, username: str, password: str = "password") -> None:
    """Sign in through the console's login form and land on the inbox."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def open_tab(page: Page, tab: str) -> None:
    """Switch the inbox to a tab (`open`, `mine`, `unassigned`) and wait for it to load."""
    link = page.locator(f"a#tab-{tab}")
    target = urljoin(page.url, link.get_attribute("href"))
    link.click()
    page.wait_for_url(target)


@pytest.fixture
def other_agent(db):
    """A second agent, Olga Ortiz."""
    agent = UserFactory(username="olga", first_name="Olga", last_name="Ortiz")
    agent.groups.add(Group.objects.get(name="Agents"))
    return agent


@pytest.fixture
def receive(library, django_capture_on_commit_callbacks) -> Callable[..., Mention]:
    """Receives a mention for Acme Air as an integration would, suggestions computed at once;
    ``thread`` places it in one (``conversation_id``, ``in_reply_to_id``)."""
    numbers = iter(range(1, 1000))

    def receive_mention(
        text: str, *, minutes_ago: int = 5, brand: str = "acme-air", **thread: str
    ) -> Mention:
        with django_capture_on_commit_callbacks(execute=True):
            mention, _ = mention_receive(
                text=text,
                external_id=f"browser-{next(numbers)}",
                channel="twitter",
                brand=library.brands[brand],
                author_handle="@jane",
                author_name="Jane",
                received_at=timezone.now() - timedelta(minutes=minutes_ago),
                **thread,
            )
        mention.refresh_from_db()
        assert mention.suggestion is not None, "the suggestions were not computed"
        return mention

    return receive_mention


@pytest.fixture
def luggage(receive) -> Mention:
    """A mention the library answers: its first suggestion is `lost-baggage-dm`."""
    mention = receive("@AcmeAir the airline lost my luggage")
    assert mention.suggestion.shown[0]["response"] == "lost-baggage-dm"
    return mention


def awaiting_drafts(library, external_id: str) -> Mention:
    """Jane's lost-luggage mention for Acme Air, stored without its drafts: as the inbox holds a
    mention whose background task has not run yet."""
    return Mention.objects.create(
        text="@AcmeAir the airline lost my luggage",
        external_id=external_id,
        channel="twitter",
        brand=library.brands["acme-air"],
        author_handle="@jane",
        author_name="Jane",
        received_at=timezone.now(),
    )
