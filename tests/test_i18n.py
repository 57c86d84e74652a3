"""Simplified Chinese everywhere a person reads (design.md: "Languages").

The committed zh_Hans catalogue is complete and sound, ``makemessages`` finds nothing it
lacks, and pages and mail come out in the reader's language: the site default, the
language kept on the account, or the one picked with the language switch.
"""

import gettext
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from grants import services
from tests import factories as f

LOCALE = Path(django_settings.BASE_DIR) / "locale"
ZH_PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
ZH_MO = ZH_PO.with_suffix(".mo")

# What ``make messages`` and the translators leave out of the catalogue.
IGNORED = [".venv", "tests", "benchmarks", "test-artifacts"]


@pytest.fixture(autouse=True)
def _keep_active_language():
    """Requests activate a language in this thread; leave it as it was for later tests."""
    with translation.override(translation.get_language()):
        yield


# --- a small .po reader -------------------------------------------------------------------


class Entry:
    def __init__(self):
        self.flags = set()
        self.msgctxt = None
        self.msgid = None
        self.msgid_plural = None
        self.msgstr = {}  # index → text; a singular entry has index 0 only
        self.obsolete = False

    @property
    def key(self):
        return (self.msgctxt, self.msgid, self.msgid_plural)

    def __repr__(self):
        return f"<msgid {self.msgid!r}>"


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}


def _unquote(text):
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), text
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text[1:-1])


def read_po(path):
    """The entries of a .po file as gettext's tools write it: blocks between blank lines."""
    entries = []
    text = Path(path).read_text(encoding="utf-8")
    for block in re.split(r"\n[ \t]*\n", text):
        entry, field = Entry(), None
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("#~"):
                entry.obsolete = True
                line = line[2:].strip()
            elif line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
                continue
            elif line.startswith("#") or not line:
                continue
            if line.startswith('"'):
                if field[0] == "msgstr":
                    entry.msgstr[field[1]] += _unquote(line)
                else:
                    setattr(entry, field[0], getattr(entry, field[0]) + _unquote(line))
                continue
            keyword, _, rest = line.partition(" ")
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.msgstr[index] = _unquote(rest)
                field = ("msgstr", index)
            else:
                assert keyword in ("msgctxt", "msgid", "msgid_plural"), line
                setattr(entry, keyword, _unquote(rest))
                field = (keyword, None)
        if entry.msgid is not None:
            entries.append(entry)
    return entries


def split_catalogue(entries):
    header = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    assert len(header) == 1, "one header entry"
    metadata = dict(
        line.split(": ", 1) for line in header[0].msgstr[0].splitlines() if ": " in line
    )
    return header[0], metadata, [e for e in entries if e is not header[0]]


PYTHON_FORMAT = re.compile(r"%(?:\([^)]+\))?[#0 +-]*\d*(?:\.\d+)?[sdifrxXeEgGcoa%]")
BRACE_FORMAT = re.compile(r"\{[^{}]*\}")


def placeholders(entry, text):
    found = []
    if "python-format" in entry.flags:
        found += [p for p in PYTHON_FORMAT.findall(text) if p != "%%"]
    if "python-brace-format" in entry.flags:
        found += BRACE_FORMAT.findall(text)
    return Counter(found)


# --- (a) the committed catalogue ------------------------------------------------------------


@pytest.fixture(scope="module")
def zh_catalogue():
    return split_catalogue(read_po(ZH_PO))


def test_reader_understands_gettext_files(tmp_path):
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgid ""\n"Dear %(name)s, "\n"\\"hi\\""\nmsgstr "尊敬的%(name)s"\n\n'
        'msgctxt "menu"\nmsgid "Open"\nmsgstr "打开"\n\n'
        'msgid "%(n)s item"\nmsgid_plural "%(n)s items"\nmsgstr[0] "%(n)s 项"\n\n'
        '#~ msgid "Old"\n#~ msgstr "旧"\n',
        encoding="utf-8",
    )
    header, metadata, entries = split_catalogue(read_po(po))
    assert metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert [(e.msgctxt, e.msgid, e.msgid_plural, e.msgstr, e.obsolete) for e in entries] == [
        (None, 'Dear %(name)s, "hi"', None, {0: "尊敬的%(name)s"}, False),
        ("menu", "Open", None, {0: "打开"}, False),
        (None, "%(n)s item", "%(n)s items", {0: "%(n)s 项"}, False),
        (None, "Old", None, {0: "旧"}, True),
    ]
    assert entries[0].flags == {"python-format"}


def test_catalogue_header_is_chinese_with_one_plural_form(zh_catalogue):
    header, metadata, entries = zh_catalogue
    assert "fuzzy" not in header.flags
    assert metadata["Language"] == "zh_Hans"
    assert metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "charset=UTF-8" in metadata["Content-Type"]
    assert len(entries) > 500


def test_every_message_is_translated_and_none_is_fuzzy(zh_catalogue):
    _, _, entries = zh_catalogue
    assert [e for e in entries if "fuzzy" in e.flags] == []
    assert [e for e in entries if e.obsolete] == []
    untranslated = [e for e in entries if not all(text.strip() for text in e.msgstr.values())]
    assert untranslated == []
    plural = [e for e in entries if e.msgid_plural is not None]
    assert plural, "the catalogue has plural messages"
    assert [e for e in plural if set(e.msgstr) != {0}] == []
    assert [e for e in entries if e.msgid_plural is None and set(e.msgstr) != {0}] == []


def test_translations_keep_every_placeholder(zh_catalogue):
    _, _, entries = zh_catalogue
    formatted = [e for e in entries if "python-format" in e.flags]
    assert len(formatted) > 50
    wrong = []
    for e in entries:
        wanted = placeholders(e, e.msgid)
        if e.msgid_plural is not None:
            # Chinese has one form; it stands for the plural as well as the singular.
            wanted = placeholders(e, e.msgid_plural)
        for text in e.msgstr.values():
            if placeholders(e, text) != wanted:
                wrong.append((e, text))
    assert wrong == []


def test_translations_are_chinese(zh_catalogue):
    """Nothing slipped through in English (names and codes may stay as they are)."""
    _, _, entries = zh_catalogue
    han = re.compile(r"[\u4e00-\u9fff]")
    left_in_english = [
        e for e in entries if not han.search(e.msgstr[0]) and re.search(r"[a-z]{3}", e.msgstr[0])
    ]
    kept = {"Grantflow", "ORCID iD", "PDF"}
    assert [e for e in left_in_english if e.msgid not in kept] == []


def test_compiled_catalogue_matches_the_po(zh_catalogue):
    """The committed .mo is compiled from the committed .po (a fresh machine needs no gettext)."""
    _, _, entries = zh_catalogue
    with ZH_MO.open("rb") as fp:
        catalog = gettext.GNUTranslations(fp)._catalog
    stale = []
    for e in entries:
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            compiled = catalog.get(key)
        else:
            compiled = catalog.get((key, 0))
        if compiled != e.msgstr[0]:
            stale.append(e)
    assert stale == []


# --- (b) nothing marked for translation is missing from the catalogue ----------------------


GETTEXT_TOOLS = ("xgettext", "msguniq", "msgmerge", "msgattrib")


def _sources_only(directory, names):
    skip = set(IGNORED) | {
        ".git",
        "locale",
        "node_modules",
        "staticfiles",
        "media",
        "private_media",
    }
    return [
        name
        for name in names
        if name in skip
        or name == "__pycache__"
        or (not Path(directory, name).is_dir() and not name.endswith((".py", ".html", ".txt")))
    ]


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in GETTEXT_TOOLS),
    reason="GNU gettext (xgettext, msguniq, msgmerge, msgattrib) is not installed",
)
def test_makemessages_finds_no_message_missing_from_the_catalogue(tmp_path, settings, monkeypatch):
    source = tmp_path / "src"
    shutil.copytree(django_settings.BASE_DIR, source, ignore=_sources_only, symlinks=True)
    (source / "locale").mkdir()
    # makemessages writes to LOCALE_PATHS[0] and walks the current directory: both the copy.
    settings.LOCALE_PATHS = [str(source / "locale")]
    monkeypatch.chdir(source)
    call_command("makemessages", locale=["zh_Hans"], ignore_patterns=IGNORED, verbosity=0)

    _, _, extracted = split_catalogue(read_po(source / "locale/zh_Hans/LC_MESSAGES/django.po"))
    _, _, committed = split_catalogue(read_po(ZH_PO))
    assert len(extracted) > 500
    known = {e.key for e in committed}
    missing = [e.msgid for e in extracted if e.key not in known]
    assert missing == [], "run `make messages` and translate these"


# --- (c) pages and mail in the reader's language --------------------------------------------


def page(response):
    assert response.status_code == 200
    return response.content.decode()


def sign_in(client, user):
    """Through the login form, as a person does (it remembers the account's language)."""
    response = client.post(reverse("accounts:login"), {"username": user.username, "password": "pw"})
    assert response.status_code == 302, "signed in"
    return client


@pytest.mark.django_db
def test_login_page_is_chinese_by_default(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    html = page(client.get(reverse("accounts:login")))
    assert '<html lang="zh-Hans">' in html
    assert "<title>登录 · Grantflow</title>" in html
    assert "用户名" in html and "密码" in html
    assert "仅在已启用双因素认证时填写。" in html
    assert "Sign in" not in html


@pytest.mark.django_db
def test_login_page_follows_the_browser(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    english = page(client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8"))
    assert '<html lang="en">' in english
    assert "<title>Sign in · Grantflow</title>" in english
    assert "Only if you have set up two-factor authentication." in english
    assert "登录" not in english

    settings.LANGUAGE_CODE = "en"
    chinese = page(client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))
    assert "<title>登录 · Grantflow</title>" in chinese


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, site_default, present, absent",
    [
        (
            "zh-hans",
            "en",
            [
                "工作台",
                "我的申报书",
                "申报书总数",
                "草稿",
                "新建申报书",
                "开放申报的项目指南",
                "退出登录",
            ],
            ["My proposals", "Dashboard"],
        ),
        (
            "en",
            "zh-hans",
            ["Dashboard", "My proposals", "proposals in all", "Draft", "New proposal", "Log out"],
            ["我的申报书", "工作台"],
        ),
    ],
)
def test_applicant_dashboard_in_the_language_of_the_account(
    client, settings, language, site_default, present, absent
):
    settings.LANGUAGE_CODE = site_default  # the account's language wins over the default
    pi = f.applicant(language=language, full_name="张伟")
    application = f.ApplicationFactory(applicant=pi)
    html = page(sign_in(client, pi).get(reverse("dashboard")))
    assert application.title in html
    for text in present:
        assert text in html
    for text in absent:
        assert text not in html


@pytest.mark.django_db
def test_chinese_dashboard_greets_and_names_the_states(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    pi = f.applicant(language="zh-hans", full_name="张伟")
    f.ApplicationFactory(applicant=pi)
    html = page(sign_in(client, pi).get(reverse("dashboard")))
    assert "张伟，您好。" in html
    assert '<span class="state-pill state-draft">草稿</span>' in html


@pytest.mark.django_db
def test_submission_mail_is_in_each_recipients_language(django_capture_on_commit_callbacks):
    pi = f.applicant(language="zh-hans", full_name="张伟")
    admin = f.institution_admin(pi.institution, language="en", full_name="Li Na")
    application = f.ApplicationFactory(applicant=pi)
    # Whatever language the request that submits runs in.
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(application=application, user=pi)
    sent = {m.to[0]: m for m in mail.outbox}
    assert set(sent) == {pi.email, admin.email}

    chinese = sent[pi.email]
    assert chinese.subject == f"申报书 {application.number} 已提交"
    assert chinese.body.startswith("尊敬的张伟：")
    assert f"申报书 {application.number}" in chinese.body
    assert "当前状态为：已提交，待依托单位审核。" in chinese.body
    assert "Grantflow 科研项目管理系统" in chinese.body
    assert "Proposal" not in chinese.body

    english = sent[admin.email]
    assert english.subject == f"Proposal {application.number} submitted"
    assert english.body.startswith("Dear Li Na,")
    assert "is now: Submitted, awaiting institution." in english.body
    assert "It is waiting for your institution's endorsement." in english.body
    assert "申报书" not in english.subject


@pytest.mark.django_db
def test_later_steps_mail_in_chinese_too(django_capture_on_commit_callbacks):
    pi = f.applicant(language="zh-hans")
    admin = f.institution_admin(pi.institution, language="en")
    application = f.ApplicationFactory(applicant=pi)
    with django_capture_on_commit_callbacks(execute=True):
        application = services.application_submit(application=application, user=pi)
    mail.outbox.clear()
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        services.application_endorse(application=application, user=admin)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([pi.email], f"申报书 {application.number} 已通过依托单位审核推荐")
    ]


@pytest.mark.django_db
def test_language_switch_changes_the_page_language(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    pi = f.applicant(language="zh-hans")
    sign_in(client, pi)
    assert "我的申报书" in page(client.get(reverse("dashboard")))

    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("dashboard")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = page(client.get(reverse("dashboard")))
    assert '<html lang="en">' in html
    assert "My proposals" in html and "我的申报书" not in html
    # The switch lists both languages by their own names, the current one selected.
    assert '<option value="en" selected>English</option>' in html
    assert '<option value="zh-hans">简体中文</option>' in html

    response = client.post(
        reverse("set_language"), {"language": "zh-hans", "next": reverse("dashboard")}, follow=True
    )
    html = page(response)
    assert '<html lang="zh-Hans">' in html
    assert "我的申报书" in html and "My proposals" not in html


@pytest.mark.django_db
def test_language_switch_works_before_signing_in(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    login = reverse("accounts:login")
    assert "登录" in page(client.get(login))
    html = page(
        client.post(reverse("set_language"), {"language": "en", "next": login}, follow=True)
    )
    assert "<title>Sign in · Grantflow</title>" in html
