from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import pluralize

from insights.gaps import GapRunInProgress, gaps_find


class Command(BaseCommand):
    help = (
        "Find content gaps now: cluster the recent mentions the library served badly, replacing "
        "the open clusters."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            run = gaps_find()
        except GapRunInProgress as busy:
            raise CommandError(str(busy)) from busy
        self.stdout.write(
            self.style.SUCCESS(
                f"Gap run #{run.pk}: {run.mentions} mentions, "
                f"{run.clusters} cluster{pluralize(run.clusters)}, "
                f"{run.noise} left out as noise, in {run.took_ms / 1000:.1f} s."
            )
        )
