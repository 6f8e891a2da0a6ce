from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CARELINE_INDEX_DIR = tmp_path / "index"
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _member_of(group_name: str, **kwargs):
    user = UserFactory(**kwargs)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def editor(db):
    """May write and approve."""
    return _member_of("Editors", username="edith", first_name="Edith", last_name="Editor", is_staff=True)


@pytest.fixture
def author(db):
    """May write, not approve."""
    return _member_of("Authors", username="arthur", first_name="Arthur", last_name="Author", is_staff=True)


@pytest.fixture
def agent(db):
    """Reads the library and asks for suggestions."""
    return _member_of("Agents", username="sam", first_name="Sam", last_name="Lee")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)
