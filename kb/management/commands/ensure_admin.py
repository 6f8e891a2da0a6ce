from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

DEFAULT_ADDRESS = "127.0.0.1:8000"


class Command(BaseCommand):
    help = "Make sure an admin login exists, and print how to sign in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--address",
            default=DEFAULT_ADDRESS,
            help="Where the app is served, as runserver takes it (host:port or a port).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        admin_url = f"{_base_url(options['address'])}/admin/"
        users = get_user_model().objects
        password_file = settings.VAR_DIR / "admin-password.txt"
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin")
        if not users.filter(is_superuser=True).exists():
            password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
            users.create_superuser(username=username, email=f"{username}@localhost", password=password)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(f"{username}\n{password}\n")
            password_file.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"Created the admin login {username!r}."))
        if password_file.exists():
            username, password = password_file.read_text().split("\n")[:2]
            self.stdout.write(f"Sign in at {admin_url} as {username} / {password}")
            self.stdout.write(
                f"(saved in {password_file}; change it with: manage.py changepassword {username})"
            )
        else:
            names = ", ".join(users.filter(is_superuser=True).values_list("username", flat=True))
            self.stdout.write(f"Sign in at {admin_url} as one of: {names}")


def _base_url(address: str) -> str:
    """'8110' -> 'http://127.0.0.1:8110', '0.0.0.0:9000' -> 'http://0.0.0.0:9000'."""
    address = address.strip()
    if address.isdigit():
        address = f"{DEFAULT_ADDRESS.rsplit(':', 1)[0]}:{address}"
    return f"http://{address}"
