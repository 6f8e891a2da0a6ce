"""Open mentions received before triage get a deadline under the default target and stand in the
inbox by it (their tone stays unread; severity counts once their issue is retriaged)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations

BATCH = 500


def backfill(apps, schema_editor):
    Mention = apps.get_model("console", "Mention")
    target = timedelta(minutes=settings.CARELINE_RESPONSE_TARGET_MINUTES)
    untriaged = Mention.objects.filter(status__in=["new", "assigned"], due_at__isnull=True)
    rows = []
    for mention in untriaged.only("id", "received_at").iterator(chunk_size=BATCH):
        mention.due_at = mention.priority_at = mention.received_at + target
        rows.append(mention)
        if len(rows) >= BATCH:
            Mention.objects.bulk_update(rows, ["due_at", "priority_at"])
            rows = []
    if rows:
        Mention.objects.bulk_update(rows, ["due_at", "priority_at"])


class Migration(migrations.Migration):
    dependencies = [("console", "0005_triage_targets_events")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
