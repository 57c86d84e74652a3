"""Restore a backup folder into an empty database and media folders, then verify it."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup written by `manage.py backup` into the database in DATABASE_URL, "
        "which must be empty (--force drops what is in it), and into the media folders; then "
        "check every table's row count against the manifest and run verify_audit anchored "
        "at the backed-up chain head. Exit code 1 on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="the backup folder")
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore into a non-empty database (everything in it is dropped first) and "
            "write over files in non-empty media folders",
        )
        parser.add_argument("--jobs", type=int, default=2, help="pg_restore jobs (default 2)")
        parser.add_argument("--media-root", type=Path, help="restore media here instead")
        parser.add_argument(
            "--private-media-root", type=Path, help="restore private media here instead"
        )

    def handle(self, *args, backup, force, jobs, media_root, private_media_root, **options):
        roots = {}
        if media_root:
            roots["default"] = media_root
        if private_media_root:
            roots["private"] = private_media_root
        try:
            manifest, timings, audit = restore_backup(
                backup, force=force, jobs=jobs, media_roots=roots
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = manifest["database"]["row_counts"]
        self.stdout.write(
            f"Restored {backup} (taken {manifest['created_at']}, commit "
            f"{manifest.get('git_commit') or 'unknown'}): {len(counts)} tables, "
            f"{sum(counts.values()):,} rows, every count matches the manifest; {timings}."
        )
        self.stdout.write(audit)
