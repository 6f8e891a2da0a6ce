from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kb.models import Brand
from suggestions.evaluation import evaluate, read_labelled
from suggestions.index_store import IndexUnavailable


class Command(BaseCommand):
    help = 'Measure retrieval on a JSONL file of {"text": ..., "issue": KEY or null} lines.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--brand", help="Ask on behalf of this brand (key).")
        parser.add_argument("--channel", default="", help="Ask for this channel.")
        parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
        parser.add_argument(
            "--curve", action="store_true", help="Also print what each abstain threshold would give."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            messages = read_labelled(Path(options["path"]))
        except OSError as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc.strerror}") from None
        except ValueError as exc:
            raise CommandError(f"{options['path']}: {exc}") from None
        brand = None
        if options["brand"]:
            brand = Brand.objects.filter(key=options["brand"]).first()
            if brand is None:
                raise CommandError(f"Unknown brand {options['brand']!r}.")
        try:
            result = evaluate(messages, brand=brand, channel=options["channel"])
        except IndexUnavailable as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        self.stdout.write(f"covered messages:    {result.covered}")
        self.stdout.write(f"  top-1 accuracy:    {result.top1:.3f}")
        self.stdout.write(f"  top-3 accuracy:    {result.top3:.3f}")
        self.stdout.write(
            f"  answered correctly:{result.answered_correct:>6.3f}  (right issue first, not abstained)"
        )
        self.stdout.write(f"  wrongly abstained: {result.abstained_covered:.3f}")
        if result.abstain_recall is not None:
            self.stdout.write(f"uncovered messages:  {result.uncovered}")
            self.stdout.write(f"  abstained:         {result.abstain_recall:.3f}")
        self.stdout.write(f"latency ms: p50 {result.p50_ms}  p95 {result.p95_ms}  p99 {result.p99_ms}")
        if options["curve"]:
            self.stdout.write("threshold  answered correctly  uncovered abstained")
            for point in result.curve:
                recall = "-" if point.abstain_recall is None else f"{point.abstain_recall:.3f}"
                self.stdout.write(f"{point.threshold:>9.2f}  {point.answered_correct:>18.3f}  {recall:>19}")
