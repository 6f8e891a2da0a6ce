from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from suggestions.indexing import index_rebuild, index_sync
from suggestions.progress import TerminalProgress


class Command(BaseCommand):
    help = "Embed the whole searchable library into a new index version and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help="Only bring the index up to date, re-encoding just what changed "
            "(a full build if there is none).",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar (the steps still print).")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = TerminalProgress(self.stdout, bar=not options["quiet"])
        if options["if_stale"]:
            version = index_sync(progress=progress)
            self.stdout.write(f"Index {version.version} is up to date: {version.count} vectors.")
            return
        version = index_rebuild(progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Index {version.version}: {version.count} vectors in {version.took_ms / 1000:.1f} s."
            )
        )
