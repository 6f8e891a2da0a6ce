import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0002_render_failures"),
        ("kb", "0005_issue_severity_and_department"),
    ]

    operations = [
        migrations.CreateModel(
            name="DigestSent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("week", models.DateField(help_text="The Monday of the week it was sent in.")),
                ("since", models.DateField(help_text="First day the digest covered.")),
                ("until", models.DateField(help_text="Last day the digest covered.")),
                ("recipients", models.TextField(help_text="Who it went to, one address per line.")),
                ("sent_at", models.DateTimeField(auto_now_add=True)),
                (
                    "department",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="digests_sent",
                        to="kb.department",
                    ),
                ),
            ],
            options={
                "ordering": ["-week", "department"],
                "constraints": [
                    models.UniqueConstraint(fields=("department", "week"), name="digest_once_a_week")
                ],
            },
        ),
    ]
