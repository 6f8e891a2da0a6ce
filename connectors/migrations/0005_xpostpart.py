import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("connectors", "0004_mention_threads_from_tweets")]

    operations = [
        migrations.AlterField(
            model_name="xpost",
            name="posted_id",
            field=models.CharField(
                blank=True,
                help_text="The tweet's id, or the message event's; for a reply in parts, the first part's.",
                max_length=32,
            ),
        ),
        migrations.CreateModel(
            name="XPostPart",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveSmallIntegerField(help_text="Its number in the chain, from 1.")),
                ("text", models.TextField(help_text='As posted, its number included ("… (2/3)").')),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Not posted yet"), ("unknown", "Outcome unknown"), ("posted", "Posted")],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("posted_id", models.CharField(blank=True, help_text="The tweet's id.", max_length=32)),
                ("posted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "post",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="parts", to="connectors.xpost"
                    ),
                ),
            ],
            options={"verbose_name": "X post part", "ordering": ["post", "position"]},
        ),
        migrations.AddConstraint(
            model_name="xpostpart",
            constraint=models.UniqueConstraint(fields=("post", "position"), name="xpostpart_once_per_position"),
        ),
    ]
