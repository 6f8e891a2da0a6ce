from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from suggestions.indexing import index_rebuild


class Command(BaseCommand):
    help = "Embed the whole searchable library into a new index version and serve it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        version = index_rebuild(show_progress=not options["quiet"])
        self.stdout.write(
            self.style.SUCCESS(f"Index {version.version}: {version.count} vectors in {version.took_ms / 1000:.1f} s.")
        )
