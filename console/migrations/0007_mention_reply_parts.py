from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("console", "0006_backfill_mention_triage")]

    operations = [
        migrations.AlterField(
            model_name="mention",
            name="reply_text",
            field=models.TextField(
                blank=True,
                help_text="What the agent sent, when answered (split: its parts, a blank line apart).",
            ),
        ),
        migrations.AddField(
            model_name="mention",
            name="reply_parts",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The numbered parts the reply went out as, when it was split (kb.reply_parts).",
            ),
        ),
    ]
