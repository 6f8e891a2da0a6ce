from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from suggestions.indexing import index_rebuild, index_sync


class Command(BaseCommand):
    help = "Embed the whole searchable library into a new index version and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-stale",
            action="store_true",
            help="Only bring the index up to date, re-encoding just what changed "
            "(a full build if there is none).",
        )
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_stale"]:
            version = index_sync()
            self.stdout.write(f"Index {version.version} is up to date: {version.count} vectors.")
            return
        version = index_rebuild(show_progress=not options["quiet"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Index {version.version}: {version.count} vectors in {version.took_ms / 1000:.1f} s."
            )
        )
