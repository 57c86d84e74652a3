"""Every entry has its place in the chain: ``seq`` unique and required (a separate
migration so that PostgreSQL alters the table after the rows were linked and committed)."""

import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_chain")]

    operations = [
        migrations.AlterField(
            model_name="transitionlog",
            name="seq",
            field=models.PositiveBigIntegerField(
                editable=False, unique=True, verbose_name="sequence number"
            ),
        ),
        migrations.AlterModelManagers(
            name="transitionlog",
            managers=[("entries", django.db.models.manager.Manager())],
        ),
    ]
