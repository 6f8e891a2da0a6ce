from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kb.library_file import LibraryFileError, library_import, library_parse
from kb.models import Issue


class Command(BaseCommand):
    help = "Import a library file (careline-library/1): upsert brands, issues and responses by key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Library JSON file ('-' reads standard input).")
        parser.add_argument("--prune", action="store_true", help="Also retire what the file no longer names.")
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; write nothing.")
        parser.add_argument(
            "--if-empty", action="store_true", help="Only import into a library with no issues."
        )
        parser.add_argument("--user", help="Record the changes as made by this username.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Issue.objects.exists():
            self.stdout.write("Library already has issues; nothing imported (--if-empty).")
            return
        user = None
        if options["user"]:
            try:
                user = get_user_model().objects.get(username=options["user"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {options['user']!r}.") from None
        path = options["path"]
        try:
            raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from None
        try:
            report = library_import(
                data=library_parse(raw), prune=options["prune"], dry_run=options["dry_run"], user=user
            )
        except LibraryFileError as exc:
            raise CommandError(
                f"{path} was not imported; nothing changed.\n" + "\n".join(exc.errors)
            ) from None
        detail = options["dry_run"] or options["verbosity"] > 1
        self.stdout.write(("Dry run. " if options["dry_run"] else "") + report.summary(detail=detail))
