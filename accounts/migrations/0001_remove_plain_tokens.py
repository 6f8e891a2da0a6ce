"""API tokens were kept in plain text by rest_framework.authtoken; they are hashed now
(django-rest-knox). The old table goes, with every plain token in it: those tokens stop working,
and each integration gets a new one from `manage.py drf_create_token USERNAME`."""

from __future__ import annotations

from django.db import migrations

PLAIN_TOKEN_TABLE = "authtoken_token"


def remove_plain_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if PLAIN_TOKEN_TABLE in connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(PLAIN_TOKEN_TABLE)}")
    # Forget authtoken's migrations too, so adding the app again would create its table again.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [("knox", "0009_extend_authtoken_field")]

    operations = [migrations.RunPython(remove_plain_tokens, migrations.RunPython.noop)]
