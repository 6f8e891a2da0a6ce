from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from insights.digest import DigestOutcome, DigestsFailed, digest_send
from kb.models import Department


class Command(BaseCommand):
    help = (
        "Send each department its weekly digest (its issues' volume, trend, examples, content gaps "
        "and late first responses), once per department and week."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--department", metavar="NAME", help="Only this department (its name).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print each digest as plain text instead; nothing is sent or recorded.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name, dry_run = options["department"], options["dry_run"]
        try:
            outcomes = digest_send(department_name=name, dry_run=dry_run)
        except Department.DoesNotExist as missing:
            known = (
                ", ".join(Department.objects.order_by("name").values_list("name", flat=True)) or "none yet"
            )
            raise CommandError(f"No department named {name!r} (departments: {known}).") from missing
        except DigestsFailed as failed:
            self._report(failed.outcomes, dry_run)
            raise CommandError(str(failed)) from failed
        self._report(outcomes, dry_run)
        if not outcomes:
            self.stdout.write("No departments yet: add them in the admin under Departments.")

    def _report(self, outcomes: list[DigestOutcome], dry_run: bool) -> None:
        for outcome in outcomes:
            if dry_run and outcome.message is not None:
                self.stdout.write(
                    f"Subject: {outcome.message.subject}\nTo: {', '.join(outcome.recipients)}\n"
                )
                self.stdout.write(str(outcome.message.body))
            style = self.style.SUCCESS if outcome.status in ("sent", "dry_run") else self.style.WARNING
            if outcome.status == "failed":
                style = self.style.ERROR
            self.stdout.write(style(str(outcome)))
