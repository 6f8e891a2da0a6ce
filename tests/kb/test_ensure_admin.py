"""`ensure_admin` prints how to sign in, at the address the app is actually served on."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def _sign_in_line(*args: str) -> str:
    out = StringIO()
    call_command("ensure_admin", *args, stdout=out)
    return next(line for line in out.getvalue().splitlines() if line.startswith("Sign in at"))


@pytest.fixture(autouse=True)
def _own_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("127.0.0.1:8110", "http://127.0.0.1:8110/admin/"),
        ("8111", "http://127.0.0.1:8111/admin/"),
        ("0.0.0.0:9000", "http://0.0.0.0:9000/admin/"),
        ("[::1]:8112", "http://[::1]:8112/admin/"),
    ],
)
def test_the_sign_in_address_is_the_one_served(address, url):
    assert _sign_in_line("--address", address).startswith(f"Sign in at {url} as admin / ")


def test_without_an_address_it_is_runservers_default():
    assert _sign_in_line().startswith("Sign in at http://127.0.0.1:8000/admin/ ")


def test_an_existing_admin_without_a_saved_password_is_named_at_that_address(django_user_model):
    django_user_model.objects.create_superuser(username="root", email="r@localhost", password="x")

    assert _sign_in_line("--address", "8110") == "Sign in at http://127.0.0.1:8110/admin/ as one of: root"
