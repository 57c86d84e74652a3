"""A real backup restored into an empty database: every proposal, credit record and log entry
is back, the audit chain verifies there, and the media files are byte-identical.

The backup runs ``pg_dump`` against the test database, so the data must be committed
(transactional test); the restore runs ``manage.py restore`` in a subprocess pointed at a
fresh database, as an operator would.
"""

import os
import subprocess  # noqa: S404
import sys

import psycopg2
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from psycopg2 import sql

from audit.models import TransitionLog
from grants import services
from grants.enums import ApplicationState as S
from grants.models import Application, Attachment
from integrity.models import CreditRecord
from ops.backup import MANIFEST
from tests import factories as f

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="backups are pg_dump/pg_restore: PostgreSQL only (set DATABASE_URL)",
    ),
]

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path, monkeypatch):
    """Public media in a folder of this test (private media: tests/conftest.py's _media).
    A FileField resolves its storage once, at import: the attachments' field is pointed at
    the private storage of this test's settings, which the backup reads."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "media"},
        },
    }
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", storages["private"])
    return {"default": tmp_path / "media", "private": tmp_path / "private"}


def _admin():
    s = connection.settings_dict
    conn = psycopg2.connect(
        dbname="postgres", user=s["USER"], password=s["PASSWORD"], host=s["HOST"], port=s["PORT"]
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def empty_database():
    """A new, empty database beside the test database; its URL. Dropped afterwards."""
    s = connection.settings_dict
    name = f"{s['NAME']}_restore"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    yield name, f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def _pdf(n):
    return ContentFile(PDF + f"attachment {n} 附件\n".encode() * (n + 1), name=f"plan-{n}.pdf")


def _data():
    """Proposals in several states through real transitions, attachments, credit records,
    a public media file; returns what must come back."""
    officer = f.officer()
    call = f.CallFactory()
    drafts = [f.ApplicationFactory(call=call) for _ in range(2)]
    submitted = f.ApplicationFactory(call=call)
    endorsed = f.ApplicationFactory(call=call)
    accepted = f.ApplicationFactory(call=call)
    returned = f.ApplicationFactory(call=call)
    for n, application in enumerate([drafts[0], submitted, endorsed, accepted]):
        services.attachment_add(
            application=application,
            uploaded_by=application.applicant,
            title=f"研究计划 {n}",
            file=_pdf(n),
        )
    for application in (submitted, endorsed, accepted, returned):
        services.application_submit(application=application, user=application.applicant)
    admin_of = {a.pk: f.institution_admin(a.institution) for a in (endorsed, accepted, returned)}
    services.application_transition(
        application=returned, name="return", user=admin_of[returned.pk], comment="预算说明缺失"
    )
    for application in (endorsed, accepted):
        services.application_endorse(application=application, user=admin_of[application.pk])
    services.application_transition(application=accepted, name="accept", user=officer)
    person = f.applicant()
    f.CreditRecordFactory(subject_user=person)
    f.CreditRecordFactory(subject_institution=accepted.institution, category="fabrication")
    storages["default"].save("cms/logo.txt", ContentFile("公开页面的图片".encode()))
    states = set(Application.objects.values_list("state", flat=True))
    assert {S.DRAFT, S.SUBMITTED, S.ENDORSED, S.ACCEPTED} <= states
    return {
        "proposals": set(Application.objects.values_list("id", "number", "state")),
        "credit_records": set(CreditRecord.objects.values_list("id", "category", "decision")),
        "log": list(TransitionLog.entries.order_by("seq").values_list("seq", "hash")),
        "attachments": set(Attachment.objects.values_list("file", "sha256")),
    }


def _rows(url, query):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall()
    finally:
        conn.close()


def _files(folder):
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _manage(*args, database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_a_backup_restores_into_an_empty_database_with_everything(media, tmp_path, empty_database):
    before = _data()
    assert len(before["log"]) >= 8 and len(before["attachments"]) == 4
    backup = tmp_path / "backup"

    call_command("backup", "--output", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert {p.name for p in backup.iterdir()} == {
        MANIFEST,
        "database.dump",
        "media.tar",
        "private_media.tar",
    }
    name, url = empty_database
    restored_media = tmp_path / "restored"
    result = _manage(
        "restore",
        str(backup),
        "--media-root",
        str(restored_media / "media"),
        "--private-media-root",
        str(restored_media / "private"),
        database_url=url,
    )
    assert result.returncode == 0, result.stderr
    assert "every count matches the manifest" in result.stdout
    assert f"last seq {before['log'][-1][0]}," in result.stdout

    assert (
        set(_rows(url, "SELECT id, number, state FROM grants_application")) == before["proposals"]
    )
    assert {n for _, n, _ in before["proposals"] if n}  # submitted ones have their numbers
    assert (
        set(_rows(url, "SELECT id, category, decision FROM integrity_creditrecord"))
        == before["credit_records"]
    )
    assert _rows(url, "SELECT seq, hash FROM audit_transitionlog ORDER BY seq") == before["log"]
    assert set(_rows(url, "SELECT file, sha256 FROM grants_attachment")) == before["attachments"]

    verify = _manage("verify_audit", database_url=url)
    assert verify.returncode == 0, verify.stderr
    assert f"Audit chain intact: {len(before['log'])} entries" in verify.stdout

    for alias in ("default", "private"):
        original = _files(media[alias])
        assert original
        assert _files(restored_media / ("media" if alias == "default" else "private")) == original


def test_restore_refuses_a_database_that_is_not_empty_and_a_damaged_backup(media, tmp_path):
    application = f.ApplicationFactory()
    backup = tmp_path / "backup"
    call_command("backup", "--output", str(backup), stdout=open(os.devnull, "w"))  # noqa: SIM115
    f.ApplicationFactory()
    folders = {"media_root": tmp_path / "m", "private_media_root": tmp_path / "p"}

    with pytest.raises(CommandError, match=r"is not empty \(\d+ tables\).*--force"):
        call_command("restore", str(backup), **folders)

    assert Application.objects.count() == 2  # nothing dropped, nothing restored
    assert Application.objects.filter(pk=application.pk).exists()
    assert not folders["media_root"].exists()

    with open(backup / "database.dump", "r+b") as dump:
        dump.seek(-10, os.SEEK_END)
        dump.write(b"0123456789")
    with pytest.raises(CommandError, match=r"database.dump does not match the manifest's SHA-256"):
        call_command("restore", str(backup), force=True, **folders)
    assert Application.objects.count() == 2
