"""Backup and restore of one Grantflow installation (docs/backup.md).

A backup is one folder: ``database.dump`` (``pg_dump --format=custom``), one tar per media
folder on the local disk (``media.tar``, ``private_media.tar``) and ``manifest.json``, written
last, so a folder without a manifest is an unfinished backup.

The row counts and the audit-chain head in the manifest are read inside the very snapshot
that ``pg_dump`` dumps (``pg_export_snapshot`` + ``--snapshot``): the site can keep running
while it is backed up, and a restore can check that it got every row back and that the
chain it verifies is the one that was backed up (``verify_audit --anchor``).

Media on object storage (S3) is not copied: the bucket's own versioning and replication are
its backup; the manifest names the storage instead.
"""

import hashlib
import io
import json
import os
import subprocess  # noqa: S404 - pg_dump/pg_restore/git, fixed argument lists, no shell
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

FORMAT = "grantflow-backup-1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
#: Storage alias → name of its part in the backup.
MEDIA_STORAGES = {"default": "media", "private": "private_media"}
CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class Timings:
    """Seconds spent in each phase, in the order they ran."""

    phases: dict = field(default_factory=dict)

    def run(self, name, func, *args, **kwargs):
        started = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            self.phases[name] = time.perf_counter() - started

    @property
    def total(self):
        return sum(self.phases.values())

    def __str__(self):
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items())
        return f"{self.total:.1f} s ({parts})"


# --- helpers ----------------------------------------------------------------------------------


def _require_postgresql():
    if connection.vendor != "postgresql":
        raise BackupError(
            f"Backups need PostgreSQL (pg_dump/pg_restore); DATABASE_URL points at "
            f"{connection.vendor}."
        )


def _pg_env():
    """The environment that makes the PostgreSQL client tools reach Django's database."""
    s = connection.settings_dict
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if s.get(key):
            env[var] = str(s[key])
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = s["PASSWORD"]
    env["PGDATABASE"] = s["NAME"]
    return env


def _run(args, what):
    result = subprocess.run(args, env=_pg_env(), capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def media_folders():
    """Storage alias → its folder for the storages on the local disk, ``None`` for the
    others (S3)."""
    folders = {}
    for alias in MEDIA_STORAGES:
        if alias not in settings.STORAGES:
            continue
        storage = storages[alias]
        folders[alias] = Path(storage.location) if isinstance(storage, FileSystemStorage) else None
    return folders


def _git_commit():
    try:
        result = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "HEAD"],  # noqa: S607 - git from PATH
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _tables(cursor):
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    )
    return [row[0] for row in cursor.fetchall()]


def row_counts(cursor):
    """Exact row count of every table of the current schema."""
    counts = {}
    for table in _tables(cursor):
        cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - a name read from pg_tables, quoted
        counts[table] = cursor.fetchone()[0]
    return counts


# --- backup -----------------------------------------------------------------------------------


def _snapshot_facts(cursor):
    """What the manifest says of the database, read inside the dumped snapshot."""
    counts = row_counts(cursor)
    migrations = {}
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    for app, name in cursor.fetchall():
        migrations.setdefault(app, []).append(name)
    cursor.execute("SELECT seq, hash FROM audit_chainhead WHERE id = 1")
    head = cursor.fetchone()
    cursor.execute("SELECT current_setting('server_version')")
    return {
        "server_version": cursor.fetchone()[0],
        "migrations": migrations,
        "row_counts": counts,
        "audit_chain_head": {"seq": head[0], "hash": head[1]} if head else None,
    }


def _dump(path, timings):
    """``pg_dump`` of the snapshot whose row counts are returned."""
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            facts = timings.run("counts", _snapshot_facts, cursor)
            timings.run(
                "pg_dump",
                _run,
                ["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={path}"],
                "pg_dump",
            )
        raw.rollback()
    finally:
        raw.close()
    return facts


def _tar(folder, path):
    """The folder's files, relative to it, in a plain tar (attachments are PDFs, already
    compressed)."""
    with tarfile.open(path, "w") as tar:
        if folder.is_dir():
            for item in sorted(folder.rglob("*")):
                if item.is_file():
                    tar.add(item, arcname=str(item.relative_to(folder)), recursive=False)


def create_backup(destination):
    """Write a backup of the database and the local media into the new folder
    ``destination``; return (manifest, timings)."""
    _require_postgresql()
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise BackupError(f"{destination} already exists and is not empty.")
    destination.mkdir(parents=True, exist_ok=True)
    timings = Timings()
    facts = _dump(destination / DUMP, timings)
    parts = {"database": DUMP}
    media = {}
    for alias, folder in media_folders().items():
        name = MEDIA_STORAGES[alias]
        if folder is None:
            media[name] = {"storage": settings.STORAGES[alias]["BACKEND"], "archive": None}
            continue
        archive = f"{name}.tar"
        timings.run(f"tar {name}", _tar, folder, destination / archive)
        parts[name] = archive
        media[name] = {"folder": str(folder), "archive": archive}
    files = {}
    for name, filename in parts.items():
        path = destination / filename
        files[filename] = {
            "part": name,
            "bytes": path.stat().st_size,
            "sha256": timings.run(f"sha256 {name}", sha256_of, path),
        }
    manifest = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "git_commit": _git_commit(),
        "database": {"name": connection.settings_dict["NAME"], **facts},
        "media": media,
        "files": files,
    }
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest, timings


# --- restore ----------------------------------------------------------------------------------


def read_manifest(folder):
    """The manifest of backup ``folder``, after checking every part against its hash."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: not a backup, or an unfinished one.")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is of format {manifest.get('format')!r}, not {FORMAT!r}.")
    for filename, meta in manifest["files"].items():
        part = folder / filename
        if not part.is_file():
            raise BackupError(f"{part} is missing.")
        if sha256_of(part) != meta["sha256"]:
            raise BackupError(f"{part} does not match the manifest's SHA-256: damaged backup.")
    return manifest


def _database_tables():
    with connection.cursor() as cursor:
        return _tables(cursor)


def _non_empty(folder):
    return folder.is_dir() and any(folder.iterdir())


def _wipe_database():
    """Drop every object of the current schema (restore --force)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f"DROP SCHEMA {schema} CASCADE")
        cursor.execute(f"CREATE SCHEMA {schema}")


def _untar(path, folder):
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path) as tar:
        tar.extractall(folder, filter="data")


def check_restored(manifest):
    """Problems of the restored database against the manifest (empty list: none)."""
    with connection.cursor() as cursor:
        counts = row_counts(cursor)
    expected = manifest["database"]["row_counts"]
    problems = [
        f"{table}: {counts.get(table, 'missing')} rows, the backup has {n}"
        for table, n in expected.items()
        if counts.get(table) != n
    ]
    problems += [f"{table}: not in the backup" for table in counts.keys() - expected.keys()]
    return problems


def verify_audit(manifest):
    """``manage.py verify_audit`` on the restored database, anchored at the backed-up head:
    (ok, its output)."""
    ContentType.objects.clear_cache()
    args = []
    head = manifest["database"].get("audit_chain_head")
    if head and head["seq"]:
        args = ["--anchor", f"{head['seq']}:{head['hash']}"]
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code in (0, None), (err.getvalue() or out.getvalue()).strip()
    return True, out.getvalue().strip()


def restore_backup(folder, *, force=False, jobs=2, media_roots=None):
    """Restore backup ``folder`` into Django's (empty) database and media folders, then check
    the row counts and the audit chain; return (manifest, timings, verify_audit's output)."""
    _require_postgresql()
    folder = Path(folder)
    timings = Timings()
    manifest = timings.run("read and check manifest", read_manifest, folder)
    name = connection.settings_dict["NAME"]
    tables = _database_tables()
    if tables and not force:
        raise BackupError(
            f"Database {name!r} is not empty ({len(tables)} tables). Restore only into an "
            f"empty database (createdb a new one and point DATABASE_URL at it), or pass "
            f"--force to drop everything in it first."
        )
    folders = {**media_folders(), **(media_roots or {})}
    targets = {}
    for alias, part in MEDIA_STORAGES.items():
        archive = manifest["media"].get(part, {}).get("archive")
        if not archive:
            continue
        target = folders.get(alias)
        if target is None:
            raise BackupError(f"The backup holds {archive}, but {alias!r} storage is no folder.")
        if _non_empty(target) and not force:
            raise BackupError(
                f"Media folder {target} is not empty. Restore into an empty folder, or pass "
                f"--force to write the backup's files over it."
            )
        targets[archive] = Path(target)
    if tables:
        timings.run("drop existing", _wipe_database)
    connection.close()
    timings.run(
        "pg_restore",
        _run,
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--jobs={jobs}",
            f"--dbname={name}",
            str(folder / DUMP),
        ],
        "pg_restore",
    )
    for archive, target in targets.items():
        timings.run(f"untar {archive}", _untar, folder / archive, target)
    problems = timings.run("check row counts", check_restored, manifest)
    if problems:
        raise BackupError("Restored, but rows are missing: " + "; ".join(problems[:20]))
    ok, report = timings.run("verify_audit", verify_audit, manifest)
    if not ok:
        raise BackupError(f"Restored, but the audit chain does not verify: {report}")
    return manifest, timings, report
