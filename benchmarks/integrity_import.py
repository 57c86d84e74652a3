#!/usr/bin/env python
"""Import throughput of other departments' integrity lists (goal: >= 5,000 rows/s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python \\
        benchmarks/integrity_import.py [--rows 100000] [--users 20000] [--reload]

Never touches the database named in DATABASE_URL: works in ``<name>_import_bench`` on the
same server (created and migrated when missing; ``--reload`` drops it first). It holds
``--users`` accounts (half with a resident ID number, a quarter with an ORCID iD) at 500
institutions; the credit records and import batches are emptied before each run.

It generates a list of ``--rows`` rows — people by ID number (a third of them our users),
by ORCID iD, by name + institution, institutions by credit code, 1 % bad rows and 1 %
repeated rows — writes it as CSV and as JSON, and posts each in ONE request to
``POST /api/v1/integrity/records/import/`` as an integrity officer (Django's test client:
the whole middleware, parser and view stack, no network). Printed: seconds and rows per
second for the CSV import, the JSON import, and a second run of the CSV (all duplicates),
then one line of JSON.
"""

import argparse
import csv
import io
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

URL = "/api/v1/integrity/records/import/"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--reload", action="store_true", help="drop and recreate the bench database")
    p.add_argument("--database", help="bench database name (default <name>_import_bench)")
    return p.parse_args(argv)


def id_number(n):
    # Born 1950-01-01 + n // 1000 days (ISO dates stay valid), sequence n % 1000.
    from datetime import date, timedelta

    from stdnum.cn import ric

    born = date(1950, 1, 1) + timedelta(days=n // 1000)
    body = f"310101{born:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def orcid(n):
    from stdnum.iso7064 import mod_11_2

    body = f"{n:015d}"
    digits = body + mod_11_2.calc_check_digit(body)
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def credit_code(n):
    from stdnum.cn import uscc

    body = f"91310000{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def load_people(users, out):
    from django.contrib.auth.models import Group

    from accounts.models import Institution, User, hash_id_number, mask_id_number
    from accounts.roles import Role

    if User.objects.filter(username__startswith="imp_").count() >= users:
        return
    out(f"Loading {users:,} users at 500 institutions ...")
    institutions = Institution.objects.bulk_create(
        [
            Institution(
                name=f"导入测试研究院{i}",
                name_en=f"Import Institute {i}",
                credit_code=credit_code(500_000 + i),
            )  # fmt: skip
            for i in range(500)
        ],
        ignore_conflicts=True,
    )
    institutions = list(Institution.objects.filter(name__startswith="导入测试研究院"))
    batch = []
    for n in range(users):
        user = User(
            username=f"imp_{n}",
            full_name=f"研究员{n}",
            institution=institutions[n % len(institutions)],
            password="!",
        )
        if n % 2 == 0:
            number = id_number(n)
            user.id_number_hash, user.id_number_masked = (
                hash_id_number(number),
                mask_id_number(number),
            )
        if n % 4 == 1:
            user.orcid = orcid(n)
        batch.append(user)
    User.objects.bulk_create(batch, batch_size=5000, ignore_conflicts=True)
    officer, _ = User.objects.get_or_create(username="imp_officer", defaults={"password": "!"})
    officer.groups.add(Group.objects.get(name=Role.INTEGRITY_OFFICER))


def make_rows(n_rows, users):
    """The list as dicts: a mix of identifiers, some bad and some repeated rows."""
    rng = random.Random(4)
    rows = []
    for i in range(n_rows):
        kind = i % 10
        base = {
            "subject_kind": "person",
            "category": rng.choice(["plagiarism", "fabrication", "misuse_of_funds", "other"]),
            "bars": rng.choice(["apply", "apply;review", "receive_funds", ""]),
            "sanctions": rng.choice(["", "warning", "bar_apply", "public_criticism;bar_review"]),
            "starts_on": f"20{20 + i % 6}-0{1 + i % 9}-15",
            "ends_on": f"20{30 + i % 6}-12-31",
            "decision": f"处理决定 第{i}号",
            "deciding_body": "上海市教育委员会",
            "legal_basis": "科研失信行为调查处理规则",
            "description": "",
        }
        if kind < 6:  # by ID number; a third of them are our users
            n = rng.randrange(users) // 2 * 2 if kind < 2 else users + i
            base.update(name=f"研究员{n}", id_number=id_number(n))
        elif kind < 8:  # by ORCID iD
            n = rng.randrange(users) // 4 * 4 + 1 if kind == 6 else users + i
            base.update(name=f"研究员{n}", orcid=orcid(n))
        elif kind == 8:  # name + institution
            n = rng.randrange(users)
            base.update(name=f"研究员{n}", institution=f"导入测试研究院{n % 500}")
        else:  # an institution
            base.update(subject_kind="institution", name="某研究院",
                        credit_code=credit_code(500_000 + i % 600))  # fmt: skip
        rows.append(base)
    for i in range(0, n_rows, 100):  # 1 % bad rows
        rows[i] = {**rows[i], "category": "gossip"}
    for i in range(50, n_rows, 100):  # 1 % repeated rows
        rows[i] = rows[i - 1]
    return rows


def as_csv(rows, path):
    from integrity.exchange import COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def as_json(rows, path):
    records = [
        {
            **r,
            "bars": [b for b in r["bars"].split(";") if b],
            "sanctions": [s for s in r["sanctions"].split(";") if s],
        }  # fmt: skip
        for r in rows
    ]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"source": "上海市教育委员会", "records": records}, f, ensure_ascii=False)


def empty():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE integrity_barlift, integrity_creditrecord, integrity_importbatch CASCADE"
        )


def post_csv(client, path):
    with open(path, "rb") as f:
        upload = io.BytesIO(f.read())
    upload.name = "list.csv"
    started = time.perf_counter()
    response = client.post(URL, {"source": "上海市教育委员会", "file": upload})
    return time.perf_counter() - started, response


def post_json(client, path):
    body = Path(path).read_bytes()
    started = time.perf_counter()
    response = client.post(URL, body, content_type="application/json")
    return time.perf_counter() - started, response


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. "
                 "postgres://postgres@127.0.0.1:5432/grantflow")  # fmt: skip
    from benchmarks.run import db_config, ensure_database, use_database, with_name

    base_name = db_config(url)["NAME"]
    name = args.database or f"{base_name}_import_bench"
    if name == base_name:
        sys.exit("The bench database must not be the one in DATABASE_URL.")
    os.environ["DATABASE_URL"] = with_name(url, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import User

    def out(line=""):
        print(line, flush=True)

    ensure_database(url, name, drop=args.reload)
    use_database(name)
    call_command("migrate", verbosity=0)
    load_people(args.users, out)
    client = Client()
    client.force_login(User.objects.get(username="imp_officer"))

    rows = make_rows(args.rows, args.users)
    results = {"rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        csv_path, json_path = Path(tmp) / "list.csv", Path(tmp) / "list.json"
        as_csv(rows, csv_path)
        as_json(rows, json_path)
        out(f"Generated {args.rows:,} rows: CSV {csv_path.stat().st_size / 1e6:.1f} MB, "
            f"JSON {json_path.stat().st_size / 1e6:.1f} MB.")  # fmt: skip
        for label, post, path in (
            ("csv", post_csv, csv_path),
            ("json", post_json, json_path),
            ("csv_again", post_csv, csv_path),
        ):
            if label != "csv_again":
                empty()
            seconds, response = post(client, path)
            if response.status_code not in (200, 201):
                out(f"{label}: HTTP {response.status_code}: {response.content[:500]!r}")
                return 1
            data = response.json()
            rate = args.rows / seconds
            results[label] = {
                "seconds": round(seconds, 2),
                "rows_per_second": round(rate),
                **{
                    k: data[k]
                    for k in ("created", "duplicates", "matched", "ambiguous", "unmatched")
                },  # fmt: skip
                "rejected": len(data["rejected"]),
            }
            out(f"{label:>9}: {seconds:6.1f} s  {rate:8,.0f} rows/s  created {data['created']:,}"
                f"  duplicates {data['duplicates']:,}  rejected {len(data['rejected']):,}"
                f"  matched {data['matched']:,}  ambiguous {data['ambiguous']:,}"
                f"  unmatched {data['unmatched']:,}")  # fmt: skip
    worst = min(results[k]["rows_per_second"] for k in ("csv", "json"))
    out(f"Import throughput: {worst:,} rows/s at worst "
        f"(goal >= 5,000: {'goal met' if worst >= 5000 else 'GOAL MISSED'}).")  # fmt: skip
    print(json.dumps(results))
    return 0 if worst >= 5000 else 1


if __name__ == "__main__":
    sys.exit(main())
