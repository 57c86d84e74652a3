#!/usr/bin/env python
"""``manage.py verify_audit`` over 1,000,000 audit-chain entries in PostgreSQL (goal: < 60 s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python \\
        benchmarks/verify_audit.py [--entries 1000000] [--reload]

Never touches the database named in DATABASE_URL: works in ``<name>_audit_bench`` on the
same server (created and migrated when missing; reused when it already holds the requested
number of entries and the chain is intact; ``--reload`` drops it first). Loading computes
the chain in Python exactly as the application does (``audit.chain.digest``) and writes
the rows with ``COPY`` in chunks: 80 % transitions, 20 % events with JSON data, Chinese
object names, actors on most rows. Then it times the real command (``call_command``) and
prints the figure, plus one line of JSON.
"""

import argparse
import io
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK = 100_000
COLUMNS = (
    "kind",
    "seq",
    "prev_hash",
    "hash",
    "content_type_id",
    "object_id",
    "object_repr",
    "transition",
    "source",
    "target",
    "actor_id",
    "actor_roles",
    "comment",
    "data",
    "created_at",
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=1_000_000)
    p.add_argument("--reload", action="store_true", help="drop and reload the bench database")
    p.add_argument("--database", help="bench database name (default <name>_audit_bench)")
    p.add_argument("--chunk-size", type=int, default=5000, help="verify_audit's chunk size")
    return p.parse_args(argv)


def _text(value):
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load(n, out):
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from accounts.models import Institution, User
    from audit import chain
    from audit.models import ChainHead

    actors = []
    for i in range(20):
        user, _ = User.objects.get_or_create(
            username=f"audit_bench_{i}", defaults={"full_name": f"审计员 {i}"}
        )
        actors.append((user.pk, ["program_officer"] if i % 2 else ["integrity_officer"]))
    ct_user = ContentType.objects.get_for_model(User)
    ct_inst = ContentType.objects.get_for_model(Institution)
    labels = {ct_user.pk: "accounts.user", ct_inst.pk: "accounts.institution"}
    start = datetime(2020, 1, 1, tzinfo=UTC)
    steps = [("submit", "draft", "submitted"), ("endorse", "submitted", "endorsed")]
    prev = chain.GENESIS
    table = "audit_transitionlog"
    started = time.perf_counter()
    seq = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg2's own cursor, for copy_expert
        while seq < n:
            buffer = io.StringIO()
            for _ in range(min(CHUNK, n - seq)):
                seq += 1
                created = start + timedelta(seconds=seq * 7, microseconds=seq % 997)
                actor_id, roles = actors[seq % 20] if seq % 9 else (None, [])
                if seq % 5 == 0:
                    kind, ct, (name, source, target) = (
                        "event",
                        ct_inst.pk,
                        ("grants.budget_set", "", ""),
                    )
                    data = {"lines": {"equipment": f"{seq % 1000}.50"}, "total": str(seq % 7919)}
                    comment = ""
                else:
                    kind, ct, (name, source, target) = "transition", ct_user.pk, steps[seq % 2]
                    data = {"number": f"BF-2026-{seq:06d}"} if seq % 3 == 0 else {}
                    comment = "材料属实" if seq % 4 == 0 else ""
                object_id = seq // 3 + 1
                object_repr = f"BF-2026-{object_id:06d} 量子材料中的拓扑相变研究"
                digest = chain.digest(
                    seq, kind, labels[ct], object_id, object_repr, name, source, target,
                    actor_id, roles, comment, data, created, prev,
                )  # fmt: skip
                row = (
                    kind, seq, prev, digest, ct, object_id, object_repr, name, source, target,
                    actor_id, json.dumps(roles), comment,
                    json.dumps(data, ensure_ascii=False), created.isoformat(),
                )  # fmt: skip
                buffer.write("\t".join(_text(v) for v in row))
                buffer.write("\n")
                prev = digest
            buffer.seek(0)
            raw.copy_expert(f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN", buffer)
            out(f"  {seq:,} entries ({time.perf_counter() - started:.0f} s)")
        ChainHead.objects.update_or_create(pk=ChainHead.PK, defaults={"seq": seq, "hash": prev})
        cursor.execute("VACUUM ANALYZE audit_transitionlog")
    return time.perf_counter() - started


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. "
                 "postgres://postgres@127.0.0.1:5432/grantflow")  # fmt: skip
    from benchmarks.run import db_config, ensure_database, use_database, with_name

    base_name = db_config(url)["NAME"]
    name = args.database or f"{base_name}_audit_bench"
    if name == base_name:
        sys.exit("The bench database must not be the one in DATABASE_URL.")
    os.environ["DATABASE_URL"] = with_name(url, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command

    from audit.models import TransitionLog

    def out(line=""):
        print(line, flush=True)

    ensure_database(url, name, drop=args.reload)
    use_database(name)
    call_command("migrate", verbosity=0)
    have = TransitionLog.entries.count()
    load_seconds = None
    if have != args.entries:
        if have:
            out(f"{name} holds {have:,} entries; reloading it with {args.entries:,}.")
            ensure_database(url, name, drop=True)
            use_database(name)
            call_command("migrate", verbosity=0)
        out(f"Loading {args.entries:,} audit entries into {name} (COPY, chain computed) ...")
        load_seconds = load(args.entries, out)
        out(f"Loaded in {load_seconds:.0f} s.")
    else:
        out(f"Reusing {name}: {have:,} entries.")

    out("Running manage.py verify_audit ...")
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = 0
    try:
        call_command("verify_audit", "--chunk-size", str(args.chunk_size), stdout=stdout,
                     stderr=stderr)  # fmt: skip
    except SystemExit as exc:
        code = exc.code
    seconds = time.perf_counter() - started
    out((stdout.getvalue() or stderr.getvalue()).strip())
    rate = args.entries / seconds if seconds else 0
    verdict = "goal met" if seconds < 60 and code == 0 else "GOAL MISSED"
    out(f"verify_audit over {args.entries:,} entries: {seconds:.1f} s "
        f"({rate:,.0f} entries/s; goal < 60 s: {verdict}).")  # fmt: skip
    print(json.dumps({
        "entries": args.entries, "seconds": round(seconds, 2), "entries_per_second": round(rate),
        "exit_code": code, "load_seconds": round(load_seconds, 1) if load_seconds else None,
    }))  # fmt: skip
    return code


if __name__ == "__main__":
    sys.exit(main())
