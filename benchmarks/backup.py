#!/usr/bin/env python
"""``manage.py backup`` and ``manage.py restore`` at 100,000 proposals (issue 7).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/grantflow .venv/bin/python \\
        benchmarks/backup.py [--applications 100000] [--users 20000] [--reload]

Never touches the database named in DATABASE_URL: loads ``<name>_bench`` with
``benchmarks/loader.py`` (reused when it already holds that size, as ``benchmarks/run.py``
does), backs it up into a temporary folder, restores it into ``<name>_bench_restore``
(dropped and created empty first) and times both, with their phases: the restore's include
the row-count check against the manifest and ``verify_audit``. Prints the figures and one
line of JSON; the temporary folder and the restored database are removed afterwards.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--applications", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--database", default="", help="bench database (default: <name>_bench)")
    p.add_argument("--reload", action="store_true", help="drop and reload the bench database")
    p.add_argument("--jobs", type=int, default=2, help="pg_restore jobs")
    p.add_argument("--keep", action="store_true", help="keep the backup and restored database")
    return p.parse_args(argv)


def drop_database(url, name):
    from psycopg2 import sql

    from benchmarks.run import admin_connection

    conn = admin_connection(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            ))  # fmt: skip
    finally:
        conn.close()


def main(argv=None):
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. "
                 "postgres://postgres@127.0.0.1:5432/grantflow")  # fmt: skip
    from benchmarks.run import db_config, ensure_database, prepare, use_database, with_name

    base_name = db_config(url)["NAME"]
    name = args.database or f"{base_name}_bench"
    target = f"{name}_restore"
    if base_name in (name, target):
        sys.exit("The bench databases must not be the one in DATABASE_URL.")
    os.environ["DATABASE_URL"] = with_name(url, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    import django

    django.setup()
    from django.db import connection

    from benchmarks.loader import Sizes
    from ops.backup import create_backup, restore_backup

    def out(line=""):
        print(line, flush=True)

    prepare(url, name, Sizes(args.applications, args.users, args.calls), reload=args.reload,
            out=out)  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="grantflow-backup-bench-"))
    backup = work / "backup"
    out(f"Backing up {name} into {backup} ...")
    manifest, backup_timings = create_backup(backup)
    counts = manifest["database"]["row_counts"]
    size = sum(meta["bytes"] for meta in manifest["files"].values())
    out(f"Backup: {backup_timings}; {sum(counts.values()):,} rows in {len(counts)} tables, "
        f"{size / 1e6:.1f} MB.")  # fmt: skip

    connection.close()
    ensure_database(url, target, drop=True)
    use_database(target)
    out(f"Restoring into the empty {target} (pg_restore --jobs {args.jobs}) ...")
    _, restore_timings, audit = restore_backup(
        backup,
        jobs=args.jobs,
        media_roots={"default": work / "media", "private": work / "private_media"},
    )
    out(f"Restore: {restore_timings}.")
    out(audit)
    print(json.dumps({
        "proposals": counts.get("grants_application"),
        "rows": sum(counts.values()),
        "backup_bytes": size,
        "backup_seconds": round(backup_timings.total, 2),
        "restore_seconds": round(restore_timings.total, 2),
        "backup_phases": {k: round(v, 2) for k, v in backup_timings.phases.items()},
        "restore_phases": {k: round(v, 2) for k, v in restore_timings.phases.items()},
    }))  # fmt: skip
    if not args.keep:
        connection.close()
        drop_database(url, target)
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
