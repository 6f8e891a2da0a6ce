from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError, CommandParser

from suggestions.api import SuggestionInputSerializer, SuggestionOutputSerializer
from suggestions.index_store import IndexUnavailable
from suggestions.services import suggestion_create


class Command(BaseCommand):
    help = "Print the suggestions the API would answer for a mention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("text", help="The mention, e.g. '@AcmeAir my flight got cancelled!!'")
        parser.add_argument("--brand", help="Brand key.")
        parser.add_argument("--channel", help="twitter, facebook, instagram, email or any.")
        parser.add_argument("--limit", type=int, default=3)
        parser.add_argument("--json", action="store_true", help="Print the API's JSON answer.")

    def handle(self, *args: Any, **options: Any) -> None:
        given = SuggestionInputSerializer(
            data={
                key: value
                for key, value in {
                    "text": options["text"],
                    "brand": options["brand"],
                    "channel": options["channel"],
                    "limit": options["limit"],
                }.items()
                if value is not None
            }
        )
        if not given.is_valid():
            raise CommandError(
                "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in given.errors.items())
            )
        try:
            answer = suggestion_create(
                mention=given.mention(AnonymousUser()), limit=given.validated_data["limit"]
            )
        except IndexUnavailable as exc:
            raise CommandError(str(exc)) from None
        data = SuggestionOutputSerializer(answer).data
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))
            return
        if answer.abstained:
            self.stdout.write("Nothing in the library fits this mention well enough (abstained).")
            if answer.candidates:
                self.stdout.write("The closest drafts, low confidence, for an agent to judge:")
        # Candidates are numbered "(1)", apart from suggestions' "1.": nothing to act on alone.
        for rank, item in enumerate(answer.offered, start=1):
            fit = "fits" if item["fits_channel"] else f"TOO LONG for {answer.channel}"
            number = f"({rank})" if answer.abstained else f"{rank}."
            self.stdout.write(
                f"{number} {item['issue']['key']} / {item['response']}  "
                f"confidence {item['confidence']:.2f} (score {item['score']:.3f}), "
                f"{item['length']} chars, {fit}"
                f"{', move to DM' if item['private_channel'] else ''}\n"
                f"   matched: {item['matched_example']}\n   {item['text']}\n"
            )
        self.stdout.write(f"index {answer.index_version}, {answer.took_ms:.1f} ms")
