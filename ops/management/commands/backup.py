"""Back up the database (pg_dump) and the local media folders into one folder."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ops.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write a backup of the database in DATABASE_URL (pg_dump --format=custom), the media "
        "and private media folders (tar) and a manifest (migrations, row counts, audit-chain "
        "head, SHA-256 of each part) into a new folder, by default backups/<UTC timestamp>/."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, help="the new backup folder (default backups/<timestamp>)"
        )

    def handle(self, *args, output, **options):
        folder = output or Path(settings.BASE_DIR) / "backups" / timezone.now().strftime(
            "%Y%m%dT%H%M%SZ"
        )
        try:
            manifest, timings = create_backup(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = manifest["database"]["row_counts"]
        head = manifest["database"]["audit_chain_head"] or {}
        size = sum(f["bytes"] for f in manifest["files"].values())
        self.stdout.write(
            f"Backup written to {folder}: {len(counts)} tables, {sum(counts.values()):,} rows, "
            f"audit chain at seq {head.get('seq', 0)}, {size / 1e6:.1f} MB in "
            f"{len(manifest['files'])} files; {timings}."
        )
        for name, meta in manifest["media"].items():
            if meta["archive"] is None:
                self.stdout.write(
                    f"{name} is on {meta['storage']}: not copied, the bucket's versioning and "
                    "replication are its backup."
                )
