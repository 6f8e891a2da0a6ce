from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kb.library_file import library_dumps, library_export


class Command(BaseCommand):
    help = "Write the whole library as a library file (careline-library/1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Where to write the JSON file ('-' writes to standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        text = library_dumps(library_export())
        if options["path"] == "-":
            self.stdout.write(text, ending="")
            return
        path = Path(options["path"])
        try:
            temporary = path.with_name(f".{path.name}.partial")
            temporary.write_text(text, encoding="utf-8")
            temporary.replace(path)
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror}") from None
        self.stderr.write(f"Wrote {path}.")
