"""The audit chain: sequence numbers and hashes on the log, the chain head, and the links
of the rows already present (in the order they were written: time, then id)."""

import django.utils.timezone
from django.db import migrations, models

CHUNK = 2000


def link_existing(apps, schema_editor):
    from audit.chain import GENESIS, digest, plain_json

    TransitionLog = apps.get_model("audit", "TransitionLog")
    ChainHead = apps.get_model("audit", "ChainHead")
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    labels = {
        pk: f"{app}.{model}"
        for pk, app, model in ContentType.objects.using(db).values_list("pk", "app_label", "model")
    }
    seq, prev = 0, GENESIS
    batch = []
    rows = TransitionLog.objects.using(db).order_by("created_at", "id")
    for entry in rows.iterator(chunk_size=CHUNK):
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.kind = entry.kind or "transition"
        entry.actor_roles = plain_json(list(entry.actor_roles or []))
        entry.data = plain_json(entry.data or {})
        entry.hash = prev = digest(
            seq,
            entry.kind,
            labels[entry.content_type_id],
            entry.object_id,
            entry.object_repr,
            entry.transition,
            entry.source,
            entry.target,
            entry.actor_id,
            entry.actor_roles,
            entry.comment,
            entry.data,
            entry.created_at,
            entry.prev_hash,
        )
        batch.append(entry)
        if len(batch) >= CHUNK:
            TransitionLog.objects.using(db).bulk_update(
                batch, ["seq", "prev_hash", "hash", "kind", "actor_roles", "data"]
            )
            batch = []
    if batch:
        TransitionLog.objects.using(db).bulk_update(
            batch, ["seq", "prev_hash", "hash", "kind", "actor_roles", "data"]
        )
    ChainHead.objects.using(db).update_or_create(pk=1, defaults={"seq": seq, "hash": prev})


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChainHead",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "seq",
                    models.PositiveBigIntegerField(default=0, verbose_name="last sequence number"),
                ),
                (
                    "hash",
                    models.CharField(
                        default="0000000000000000000000000000000000000000000000000000000000000000",
                        max_length=64,
                        verbose_name="last hash",
                    ),
                ),
                (
                    "updated_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="updated at"
                    ),
                ),
            ],
            options={
                "verbose_name": "audit chain head",
                "verbose_name_plural": "audit chain head",
            },
        ),
        migrations.AddField(
            model_name="transitionlog",
            name="kind",
            field=models.CharField(
                choices=[("transition", "transition"), ("event", "event")],
                default="transition",
                editable=False,
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AddField(
            model_name="transitionlog",
            name="seq",
            field=models.PositiveBigIntegerField(
                editable=False, null=True, verbose_name="sequence number"
            ),
        ),
        migrations.AddField(
            model_name="transitionlog",
            name="prev_hash",
            field=models.CharField(
                default="",
                editable=False,
                max_length=64,
                verbose_name="hash of the previous entry",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="transitionlog",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64, verbose_name="hash"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="transitionlog",
            name="created_at",
            field=models.DateTimeField(
                db_index=True,
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="time",
            ),
        ),
        migrations.AlterField(
            model_name="transitionlog",
            name="source",
            field=models.CharField(blank=True, max_length=64, verbose_name="from"),
        ),
        migrations.AlterField(
            model_name="transitionlog",
            name="target",
            field=models.CharField(blank=True, max_length=64, verbose_name="to"),
        ),
        migrations.RunPython(link_existing, migrations.RunPython.noop),
    ]
