from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from suggestions.recalibration import RecalibrationRefused, recalibration_fit


class Command(BaseCommand):
    help = (
        "Refit the confidence on agents' verdicts on top suggestions (older 80% fitted, newest 20% "
        "measured, then all served); says so when there are too few verdicts yet."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            fitted = recalibration_fit()
        except RecalibrationRefused as exc:
            self.stdout.write(f"Not recalibrated: {exc}")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Confidence recalibrated on {fitted.verdicts} verdicts: expected calibration error "
                f"on the newest {fitted.holdout} {fitted.ece_before:.3f} -> {fitted.ece:.3f}."
            )
        )
