"""The bigram column and index of the report search (``cms.search``); PostgreSQL only,
nothing on SQLite."""

from django.db import migrations

from cms import search


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in search.CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in search.DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("cms", "0002_editor_group"), ("finance", "0002_evaluation")]
    operations = [migrations.RunPython(create, drop)]
