from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import token_create


class Command(BaseCommand):
    help = (
        "Print a new API token for a user (send it as 'Authorization: Token KEY'). Only a hash is "
        "stored: keep the token, it cannot be shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("-r", "--reset", action="store_true", help="End the user's other tokens first.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        try:
            user = get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"Cannot create the token: user {username} does not exist") from None
        token = token_create(user=user, replace=options["reset"])
        self.stdout.write(f"Generated token {token} for user {username}")
