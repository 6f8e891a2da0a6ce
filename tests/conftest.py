from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from config.celery_app import app as celery_app
from suggestions.embedder import use_embedder
from suggestions.serving import holder
from tests.factories import UserFactory
from tests.fakes import FakeEmbedder

# Fixtures for engine and API tests (a fake embedder, a small indexed library, API clients).
pytest_plugins = ["tests.engine_fixtures"]

INTEGRATION = Path(__file__).resolve().parent / "integration"
BROWSER = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`) the integration tests run one after another on one
    worker: they share the Redis queue, which each purges, and start a Celery worker on it. The
    browser tests too, on one Chromium: two live servers and two browsers on two cores race the
    tests' timeouts while the other worker runs the rest."""
    for item in items:
        if item.path.is_relative_to(INTEGRATION):
            item.add_marker(pytest.mark.xdist_group("real-services"))
        elif item.path.is_relative_to(BROWSER):
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CARELINE_INDEX_DIR = tmp_path / "index"
    # No test is slowed by rate limits; tests/accounts/test_throttling.py sets low ones.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(("user", "anon", "suggestions"), "100000/min"),
    }


def _uses_real_parts(request) -> bool:
    return any(request.node.get_closest_marker(name) for name in ("model", "integration"))


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in-process, even when CELERY_BROKER_URL points at a real broker (CI runs the
    suite so); integration tests talk to the real worker instead."""
    if _uses_real_parts(request):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fake_embedder(request):
    """Unit tests embed with a tiny deterministic fake; tests marked `model` or `integration`
    load the real model."""
    holder.forget()
    if _uses_real_parts(request):
        yield
    else:
        with use_embedder(FakeEmbedder()):
            yield
    holder.forget()


def _member_of(group_name: str, **kwargs):
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(db):
    """May write and approve; the role alone opens the admin (no staff status)."""
    return _member_of("Editors", username="edith", first_name="Edith", last_name="Editor")


@pytest.fixture
def author(db):
    """May write, not approve."""
    return _member_of("Authors", username="arthur", first_name="Arthur", last_name="Author")


@pytest.fixture
def agent(db):
    """Reads the library and asks for suggestions."""
    return _member_of("Agents", username="sam", first_name="Sam", last_name="Lee")


@pytest.fixture
def integration_user(db):
    """A system pushing mentions and asking for suggestions with its token; nothing else."""
    return _member_of("Integrations", username="feed", first_name="Social", last_name="Feed")


@pytest.fixture
def integration_client(integration_user):
    from tests.engine_fixtures import api_client_for

    return api_client_for(integration_user)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)
