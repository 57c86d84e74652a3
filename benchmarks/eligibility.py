#!/usr/bin/env python
"""The eligibility check on the submission path with 1,000,000 credit records in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python benchmarks/eligibility.py

Works in a scratch database ``<name>_bench_eligibility`` beside the one in DATABASE_URL
(never that one): created and migrated when missing, loaded with COPY (institutions, users,
credit records — ``--records`` of them, default 1,000,000), ``VACUUM ANALYZE``; reused when
it already holds that many records, reloaded with ``--reload``.

Then times ``integrity.services.check_eligibility("apply", users=[PI + 3 team members],
institutions=[institution])`` — the call every submission makes — ``--calls`` times for
random subjects (a share of them barred), and prints one JSON line: ``records``,
``calls``, ``median_ms``, ``p95_ms``, ``max_ms``, ``barred_share``, then the EXPLAIN
(ANALYZE, BUFFERS) plan of the query. Goal: under 2 ms, one indexed query.
"""

import argparse
import csv
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHUNK = 100_000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--users", type=int, default=1_000_000)
    p.add_argument("--institutions", type=int, default=20_000)
    p.add_argument(
        "--institution-share", type=float, default=0.02, help="share of records about institutions"
    )
    p.add_argument("--calls", type=int, default=5_000, help="timed eligibility checks")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument(
        "--database", default="", help="scratch database (default <name>_bench_eligibility)"
    )
    p.add_argument("--reload", action="store_true")
    p.add_argument("--seed", type=int, default=4)
    return p.parse_args(argv)


# --- COPY of model rows ---------------------------------------------------------------------


def _value(field, given, now):
    from django.db import models

    if field.attname in given:
        value = given[field.attname]
    elif isinstance(field, models.DateTimeField) and (field.auto_now or field.auto_now_add):
        value = now
    elif field.has_default():
        value = field.get_default()
    elif field.null:
        value = None
    elif isinstance(field, (models.CharField, models.TextField)):
        value = ""
    else:
        value = field.get_default()
    if value is None:
        return r"\N"
    if isinstance(field, models.JSONField):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def copy_rows(model, rows, *, total):
    """COPY ``rows`` (dicts of attname → value; other columns get their defaults) into
    ``model``'s table, in chunks."""
    from django.db import connection
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = (
        f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) "
        "FROM STDIN WITH (FORMAT csv, NULL '\\N')"
    )
    now = timezone.now().isoformat()
    done = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        buffer, writer = io.StringIO(), None
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow([_value(f, row, now) for f in fields])
            done += 1
            if done % CHUNK == 0 or done == total:
                buffer.seek(0)
                raw.copy_expert(sql, buffer)
                buffer = io.StringIO()
                writer = csv.writer(buffer)
        if buffer.tell():
            buffer.seek(0)
            raw.copy_expert(sql, buffer)
        table = connection.ops.quote_name(model._meta.db_table)
        sequence = f"SELECT setval(pg_get_serial_sequence('{model._meta.db_table}', 'id'), "
        cursor.execute(sequence + f"(SELECT max(id) FROM {table}))")  # noqa: S608


def load(args, out):
    from django.db import connection

    from accounts.models import Institution, User
    from integrity.models import Action, CreditRecord, MisconductCategory
    from tests.factories import make_credit_code

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    copy_rows(
        Institution,
        (
            {"id": i, "name": f"基准机构{i}", "name_en": f"Bench institution {i}",
             "credit_code": make_credit_code(5_000_000 + i)}
            for i in range(1, args.institutions + 1)
        ),
        total=args.institutions,
    )  # fmt: skip
    copy_rows(
        User,
        (
            {"id": i, "username": f"bench_elig_{i}", "password": "!", "full_name": f"研究员{i}",
             "email": f"bench_elig_{i}@example.org",
             "institution_id": rng.randint(1, args.institutions), "is_active": True}
            for i in range(1, args.users + 1)
        ),
        total=args.users,
    )  # fmt: skip
    categories = MisconductCategory.values
    today = date.today()

    def records():
        for i in range(1, args.records + 1):
            starts = today - timedelta(days=rng.randint(0, 8 * 365))
            ends = None if rng.random() < 0.1 else starts + timedelta(days=rng.randint(30, 5 * 365))
            row = {
                "id": i,
                "category": rng.choice(categories),
                "starts_on": starts.isoformat(),
                "ends_on": ends.isoformat() if ends else None,
                "decision": "bench",
                "deciding_body": "bench",
            }
            for action in Action.values:
                row[f"bars_{action}"] = rng.random() < 0.4
            if rng.random() >= args.institution_share:
                row["subject_user_id"] = rng.randint(1, args.users)
            else:
                row["subject_institution_id"] = rng.randint(1, args.institutions)
            yield row

    copy_rows(CreditRecord, records(), total=args.records)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    out.write(f"# loaded in {time.perf_counter() - t0:.1f} s\n")


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/grantflow")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from benchmarks.run import db_config, ensure_database, use_database

    name = args.database or f"{db_config(url)['NAME']}_bench_eligibility"
    ensure_database(url, name, drop=args.reload)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Q

    use_database(name)
    call_command("migrate", verbosity=0)
    from accounts.models import Institution, User
    from integrity.models import Action, CreditRecord
    from integrity.services import check_eligibility

    out = sys.stderr
    present = CreditRecord.objects.count()
    if present != args.records:
        if present:
            connection.close()
            ensure_database(url, name, drop=True)
            use_database(name)
            call_command("migrate", verbosity=0)
        load(args, out)

    users = User.objects.count()
    institutions = Institution.objects.count()
    rng = random.Random(args.seed + 1)

    def path():
        people = [User(pk=rng.randint(1, users)) for _ in range(4)]
        return people, [Institution(pk=rng.randint(1, institutions))]

    connection.ensure_connection()
    for _ in range(args.warmup):
        people, insts = path()
        check_eligibility(Action.APPLY, users=people, institutions=insts)
    times, barred = [], 0
    by_outcome = {True: [], False: []}
    for _ in range(args.calls):
        people, insts = path()
        start = time.perf_counter()
        result = check_eligibility(Action.APPLY, users=people, institutions=insts)
        elapsed = (time.perf_counter() - start) * 1000
        times.append(elapsed)
        by_outcome[result.allowed].append(elapsed)
        barred += not result.allowed
    times.sort()
    # The same query as raw SQL (database and driver only, no ORM): where the time goes.
    sql_times = []
    with connection.cursor() as cursor:
        for _ in range(min(args.calls, 2000)):
            people, insts = path()
            query = (
                CreditRecord.objects.in_force(date.today())
                .barring(Action.APPLY)
                .filter(
                    Q(subject_user_id__in={u.pk for u in people})
                    | Q(subject_institution_id__in={i.pk for i in insts})
                )
                .select_related("subject_user", "subject_institution")
            )
            sql, params = query.query.sql_with_params()
            start = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            sql_times.append((time.perf_counter() - start) * 1000)

    def median(values):
        return round(statistics.median(values), 3) if values else None

    people, insts = path()
    plan = (
        CreditRecord.objects.in_force(date.today())
        .barring(Action.APPLY)
        .filter(
            Q(subject_user_id__in={u.pk for u in people})
            | Q(subject_institution_id__in={i.pk for i in insts})
        )
        .select_related("subject_user", "subject_institution")
        .explain(analyze=True, buffers=True)
    )
    print(
        json.dumps(
            {
                "records": CreditRecord.objects.count(),
                "users": users,
                "institutions": institutions,
                "calls": args.calls,
                "median_ms": round(statistics.median(times), 3),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
                "max_ms": round(times[-1], 3),
                "barred_share": round(barred / args.calls, 3),
                "median_ms_allowed": median(by_outcome[True]),
                "median_ms_refused": median(by_outcome[False]),
                "median_ms_sql": median(sql_times),
                "goal_ms": 2,
            }
        )
    )
    print(plan)


if __name__ == "__main__":
    main()
