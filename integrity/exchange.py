"""Exchange with other departments: import their integrity lists, export ours.

Format (api.md): JSON ``{"source": "...", "records": [{...}, ...]}`` or CSV with the same
columns, one record a row::

    subject_kind, id_number, orcid, credit_code, name, institution, category, bars,
    sanctions, starts_on, ends_on, decision, deciding_body, legal_basis, description

``subject_kind`` is ``person`` or ``institution`` (or a finer kind of ``SubjectKind``);
``bars`` and ``sanctions`` are lists (in CSV: codes separated by ``;``); dates are ISO
(``2026-03-01``); ``ends_on`` empty is permanent. A person's ``credit_code``, if given, is
their institution's and helps matching by name. Unknown columns are ignored; the export adds
``id_number_masked`` (we never hold an ID number in clear). Rows are numbered from 1.

Import: each row is checked on its own (a bad row is rejected with its errors, the others
go on), keyed (``row_key``: the sending department, decision, subject, misconduct and start
date — a row seen before is a duplicate, so a second run creates nothing), matched
(``integrity.matching``) and written with ``bulk_create`` in chunks inside one transaction.
A dry run does all of it but the writing.

Export: the funder's own serious-dishonesty list in force, CSV or JSON, with the SHA-256 of
the exact bytes (header and ``.sha256`` sidecar, ``sha256sum -c`` format).
"""

import base64
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from itertools import islice

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2

from accounts.models import hash_id_number, mask_id_number, normalize_id_number
from accounts.validators import normalize_orcid

from .matching import Identity, Matcher, norm
from .models import (
    PERSON_KINDS,
    Action,
    CreditRecord,
    ImportBatch,
    MatchStatus,
    MisconductCategory,
    Sanction,
    SubjectKind,
    sanction_bars,
)
from .models.records import sanction_errors

COLUMNS = (
    "subject_kind",
    "id_number",
    "orcid",
    "credit_code",
    "name",
    "institution",
    "category",
    "bars",
    "sanctions",
    "starts_on",
    "ends_on",
    "decision",
    "deciding_body",
    "legal_basis",
    "description",
)
EXPORT_COLUMNS = (*COLUMNS, "id_number_masked")
REQUIRED_COLUMNS = ("category", "starts_on")
#: Rows validated, matched and written together.
CHUNK = 5000
#: Entries of each list of the matching report kept in answers and batches.
REPORT_LIMIT = 1000
KIND_ALIASES = {
    "person": SubjectKind.RESEARCHER,
    "researcher": SubjectKind.RESEARCHER,
    "expert": SubjectKind.EXPERT,
    "agency_staff": SubjectKind.AGENCY_STAFF,
    "institution": SubjectKind.INSTITUTION,
    "organisation": SubjectKind.INSTITUTION,
    "organization": SubjectKind.INSTITUTION,
    "agency": SubjectKind.AGENCY,
    "service_provider": SubjectKind.SERVICE_PROVIDER,
}
# The code lists once (``Choices.values`` builds a new list at every call).
ACTIONS = tuple(Action.values)
CATEGORIES = frozenset(MisconductCategory.values)
MASKED_ID = re.compile(r"^[0-9]{4}\*{10}[0-9]{3}[0-9X]$")
LIMITS = {"name": 200, "institution": 200, "deciding_body": 200, "legal_basis": 300}


class ExchangeError(ValueError):
    """The file as a whole cannot be read (not a row): answered 400 ``{"file": [...]}``."""

    def __init__(self, message, field="file"):
        super().__init__(message)
        self.field = field
        self.message = message


# --- reading ----------------------------------------------------------------------------------


def sha256_of(fileobj):
    digest = hashlib.sha256()
    for chunk in iter(lambda: fileobj.read(1 << 20), b""):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()


def csv_rows(fileobj):
    """Rows of a CSV file (bytes, UTF-8 with or without BOM) as dicts, streamed."""
    text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    try:
        header = [h.strip() for h in reader.fieldnames or []]
    except UnicodeDecodeError as exc:
        raise ExchangeError(_("The file is not UTF-8 text.")) from exc
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ExchangeError(
            _("The CSV file lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)}
        )

    def rows():
        try:
            yield from reader
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ExchangeError(
                _("The CSV file cannot be read past line %(line)s.") % {"line": reader.line_num}
            ) from exc

    return rows()


def json_payload(data):
    """``(source, rows)`` of a parsed JSON payload ``{"source", "records": [...]}``."""
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise ExchangeError(
            _('Send {"source": "...", "records": [...]}: a list of records.'), field="records"
        )
    return str(data.get("source") or "").strip(), data["records"]


def json_rows(raw):
    try:
        return json_payload(json.loads(raw))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExchangeError(_("The file is not valid JSON.")) from exc


def read_upload(fileobj, name=""):
    """``(format, source or "", rows, sha256)`` of an uploaded CSV or JSON file."""
    sha = sha256_of(fileobj)
    head = fileobj.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    fileobj.seek(0)
    if name.lower().endswith(".json") or head.startswith(b"{"):
        source, rows = json_rows(fileobj.read())
        return ImportBatch.Format.JSON, source, rows, sha
    return ImportBatch.Format.CSV, "", csv_rows(fileobj), sha


# --- one row ----------------------------------------------------------------------------------


@dataclass
class Row:
    number: int
    key: str
    identity: Identity
    fields: dict

    @property
    def as_given(self):
        i = self.identity
        return " / ".join(
            p for p in (i.name or i.credit_code or i.orcid, i.institution_name) if p
        ) or self.fields.get("subject_id_masked", "")


def _text(raw, name):
    value = raw.get(name)
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError
    return value.strip()


def _codes(raw, name):
    value = raw.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[;|,\s]+", value.strip()) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise TypeError


def _date(value, errors, name):
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def row_key(source, decision, identity, category, starts_on):
    """A stable key per sending department and row: equal rows, equal keys."""
    if identity.id_hash:
        subject = f"id:{identity.id_hash}"
    elif identity.orcid and identity.is_person:
        subject = f"orcid:{identity.orcid}"
    elif identity.credit_code and not identity.is_person:
        subject = f"org:{identity.credit_code}"
    else:
        subject = f"name:{norm(identity.name)}@{norm(identity.institution_name)}"
    text = "\x1f".join((norm(source), norm(decision), subject, category, starts_on.isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()


def prepare(raw, source, number):
    """``(Row, None)`` or ``(None, {field: [messages]})`` for one record as received."""
    if not isinstance(raw, dict):
        return None, {"row": [_("Each record is an object of named fields.")]}
    errors, text = {}, {}
    for name in (*COLUMNS, "id_number_masked"):
        if name in ("bars", "sanctions"):
            continue
        try:
            text[name] = _text(raw, name)
        except TypeError:
            errors[name] = [_("Give text.")]
            text[name] = ""
    for name, limit in LIMITS.items():
        if len(text[name]) > limit:
            errors[name] = [_("At most %(n)s characters.") % {"n": limit}]
    lists = {}
    for name in ("bars", "sanctions"):
        try:
            lists[name] = _codes(raw, name)
        except TypeError:
            errors[name] = [_("Give a list of codes.")]
            lists[name] = []

    kind_given = text["subject_kind"].lower()
    if kind_given:
        kind = KIND_ALIASES.get(kind_given)
        if kind is None:
            errors["subject_kind"] = [_("Use person or institution.")]
            kind = SubjectKind.RESEARCHER
    elif text["credit_code"] and not (text["id_number"] or text["orcid"]):
        kind = SubjectKind.INSTITUTION
    else:
        kind = SubjectKind.RESEARCHER
    person = kind in PERSON_KINDS

    id_hash = masked = ""
    if text["id_number"]:
        normalized = normalize_id_number(text["id_number"])
        if normalized is None:
            errors["id_number"] = [_("Enter a valid 18-character resident ID number.")]
        elif not person:
            errors["id_number"] = [_("An institution has no resident ID number.")]
        else:
            id_hash, masked = hash_id_number(normalized), mask_id_number(normalized)
    elif text["id_number_masked"] and MASKED_ID.match(text["id_number_masked"].upper()):
        masked = text["id_number_masked"].upper()
    orcid = ""
    if text["orcid"]:
        orcid = normalize_orcid(text["orcid"]) or ""
        if not orcid or not mod_11_2.is_valid(orcid.replace("-", "")):
            errors["orcid"] = [_("Enter a valid ORCID iD such as 0000-0002-1825-0097.")]
            orcid = ""
    code = text["credit_code"].upper()
    if code and not uscc.is_valid(code):
        errors["credit_code"] = [_("Enter a valid 18-character unified social credit code.")]
        code = ""
    if person and not (id_hash or orcid or text["name"]):
        errors.setdefault(
            "name", [_("Give the person's ID number, ORCID iD or name and institution.")]
        )
    if not person and not (code or text["name"]):
        errors.setdefault("credit_code", [_("Give the institution's credit code or name.")])

    category = text["category"]
    if not category:
        errors["category"] = [_("This field is required.")]
    elif category not in CATEGORIES:
        errors["category"] = [_("Unknown misconduct: %(value)s.") % {"value": category}]
    bad_bars = [b for b in lists["bars"] if b not in ACTIONS]
    if bad_bars:
        errors["bars"] = [_("Unknown bar: %(codes)s.") % {"codes": ", ".join(bad_bars)}]
    starts_on = _date(text["starts_on"], errors, "starts_on")
    if not text["starts_on"]:
        errors["starts_on"] = [_("This field is required.")]
    ends_on = _date(text["ends_on"], errors, "ends_on")
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = [_("The period cannot end before it starts.")]
    if "ends_on" not in errors:
        problems = sanction_errors(lists["sanctions"], ends_on)
        if problems:
            errors["sanctions"] = [str(p) for p in problems]
    for name in ("decision", "deciding_body"):
        if not text[name]:
            errors[name] = [_("This field is required.")]
    if errors:
        return None, {k: [str(m) for m in v] for k, v in errors.items()}

    identity = Identity(
        kind=kind,
        name=text["name"],
        id_hash=id_hash,
        orcid=orcid if person else "",
        credit_code=code,
        institution_name=text["institution"] if person else "",
    )
    fields = {
        "subject_kind": kind,
        "subject_name": text["name"],
        "subject_id_hash": id_hash,
        "subject_id_masked": masked,
        "subject_orcid": identity.orcid,
        "subject_credit_code": code,
        "subject_institution_name": identity.institution_name,
        "category": category,
        "sanctions": list(dict.fromkeys(lists["sanctions"])),
        "starts_on": starts_on,
        "ends_on": ends_on,
        "decision": text["decision"],
        "deciding_body": text["deciding_body"],
        "legal_basis": text["legal_basis"],
        "description": text["description"],
        **{f"bars_{a}": a in lists["bars"] for a in ACTIONS},
    }
    key = row_key(source, text["decision"], identity, category, starts_on)
    return Row(number, key, identity, fields), None


# --- importing --------------------------------------------------------------------------------


@dataclass
class ImportResult:
    dry_run: bool
    rows: int = 0
    created: int = 0
    duplicates: int = 0
    rejected: list = field(default_factory=list)
    matched: int = 0
    ambiguous: int = 0
    unmatched: int = 0
    report: dict = field(default_factory=lambda: {"matched": [], "ambiguous": [], "unmatched": []})
    batch: ImportBatch | None = None

    def as_dict(self):
        return {
            "created": self.created,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rows": self.rows,
            "matched": self.matched,
            "ambiguous": self.ambiguous,
            "unmatched": self.unmatched,
            "dry_run": self.dry_run,
            "batch": self.batch.pk if self.batch else None,
            "report": self.report,
        }

    def _note(self, status, entry):
        entries = self.report[status]
        if len(entries) < REPORT_LIMIT:
            entries.append(entry)


def _existing_keys(keys):
    found = set()
    keys = list(keys)
    for i in range(0, len(keys), 500):
        found.update(
            CreditRecord.objects.filter(import_key__in=keys[i : i + 500]).values_list(
                "import_key", flat=True
            )
        )
    return found


def import_records(rows, *, source, created_by, dry_run=False, file_format="json", filename="",
                   sha256=""):  # fmt: skip
    """Import ``rows`` (an iterable of dicts) from the department ``source``.

    Answers an ``ImportResult``: created, duplicates, rejected rows with their errors, and
    the matching report (linked, ambiguous, unmatched) of the rows created — or, in a dry
    run, of the rows that would be; a dry run writes nothing at all.
    """
    source = (source or "").strip()
    if not source:
        raise ExchangeError(_("Name the sending department."), field="source")
    if len(source) > 200:
        raise ExchangeError(_("At most %(n)s characters.") % {"n": 200}, field="source")
    result = ImportResult(dry_run=dry_run)
    with transaction.atomic():
        if not dry_run:
            result.batch = ImportBatch.objects.create(
                source=source,
                filename=filename[:255],
                file_format=file_format,
                sha256=sha256,
                created_by=created_by,
            )
        seen = set()
        numbered = enumerate(rows, 1)
        while chunk := list(islice(numbered, CHUNK)):
            _import_chunk(chunk, source, created_by, result, seen)
        if not dry_run:
            _finish(result)
    return result


def _import_chunk(chunk, source, created_by, result, seen):
    result.rows += len(chunk)
    fresh = []
    for number, raw in chunk:
        row, errors = prepare(raw, source, number)
        if errors:
            result.rejected.append({"row": number, "errors": errors})
        elif row.key in seen:
            result.duplicates += 1
        else:
            seen.add(row.key)
            fresh.append(row)
    known = _existing_keys(r.key for r in fresh)
    result.duplicates += sum(1 for r in fresh if r.key in known)
    fresh = [r for r in fresh if r.key not in known]
    matcher = Matcher(r.identity for r in fresh)
    records = []
    common = {
        "source": CreditRecord.Source.IMPORTED,
        "source_department": source,
        "import_batch_id": result.batch.pk if result.batch else None,
        "created_by_id": created_by.pk if created_by else None,
        "supersedes_id": None,
        "created_at": timezone.now(),
    }
    for row in fresh:
        found = matcher.match(row.identity)
        entry = {"row": row.number, "subject": row.as_given}
        if found.status == MatchStatus.MATCHED:
            result.matched += 1
            entry["via"] = found.via
            entry.update(
                {
                    k: v
                    for k, v in (
                        ("user", found.user_id),
                        ("institution", found.institution_id),
                        ("agency", found.agency_id),
                    )
                    if v
                }
            )
        elif found.status == MatchStatus.AMBIGUOUS:
            result.ambiguous += 1
            entry.update(via=found.via, candidates=found.candidates)
        else:
            result.unmatched += 1
        result._note(found.status, entry)
        if result.dry_run:
            continue
        values = {**row.fields, **found.fields, **common, "import_key": row.key}
        # What ``CreditRecord.derive`` fills, for rows that skip ``save``.
        for action in sanction_bars(values["sanctions"]):
            values[f"bars_{action}"] = True
        values["serious_dishonesty"] = Sanction.SERIOUS_DISHONESTY_LIST in values["sanctions"]
        records.append(values)
    result.created += len(fresh)
    if records:
        insert_records(records)


def insert_records(rows):
    """Write ``rows`` (dicts of column values), skipping import keys already present: a
    concurrent import of the same list may have written a row since we looked (the count is
    then corrected by ``_finish``). PostgreSQL: COPY into a temporary table, then one
    ``INSERT … ON CONFLICT DO NOTHING``; elsewhere ``bulk_create``."""
    if connection.vendor == "postgresql":
        return _copy_insert(rows)
    fields = {f.attname for f in CreditRecord._meta.concrete_fields}
    CreditRecord.objects.bulk_create(
        [CreditRecord(**{k: v for k, v in r.items() if k in fields}) for r in rows],
        batch_size=1000,
        ignore_conflicts=True,
    )


#: COPY's text format: backslash, tab, newline and carriage return escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value):
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False).translate(_COPY_ESCAPES)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _copy_insert(rows):
    table = CreditRecord._meta.db_table
    columns = [f.column for f in CreditRecord._meta.concrete_fields if not f.primary_key]
    attnames = [f.attname for f in CreditRecord._meta.concrete_fields if not f.primary_key]
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_value(row.get(a)) for a in attnames))
        buffer.write("\n")
    buffer.seek(0)
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    # Table and column names come from our model, never from the file.
    create = f"CREATE TEMPORARY TABLE IF NOT EXISTS integrity_import_rows ON COMMIT DROP AS SELECT {quoted} FROM {table} WITH NO DATA"  # noqa: S608, E501
    insert = f"INSERT INTO {table} ({quoted}) SELECT {quoted} FROM integrity_import_rows ON CONFLICT (import_key) DO NOTHING"  # noqa: S608, E501
    with connection.cursor() as cursor:
        cursor.execute(create)
        cursor.execute("TRUNCATE integrity_import_rows")
        cursor.copy_expert(f"COPY integrity_import_rows ({quoted}) FROM STDIN", buffer)
        cursor.execute(insert)


def _finish(result):
    batch = result.batch
    written = CreditRecord.objects.filter(import_batch=batch).count()
    if written != result.created:  # lost a race with a concurrent import of the same rows
        result.duplicates += result.created - written
        result.created = written
    for name in ("rows", "created", "duplicates", "matched", "ambiguous", "unmatched"):
        setattr(batch, name, getattr(result, name))
    batch.rejected = len(result.rejected)
    batch.report = {**result.report, "rejected": result.rejected[:REPORT_LIMIT]}
    batch.save()
    try:
        from audit.chain import record as audit_event
    except ImportError:  # the audit chain is optional for this module
        return
    audit_event(
        "integrity.records_imported",
        batch,
        actor=batch.created_by,
        data={
            "source": batch.source,
            "sha256": batch.sha256,
            "rows": batch.rows,
            "created": batch.created,
            "duplicates": batch.duplicates,
            "rejected": batch.rejected,
        },
    )


# --- exporting --------------------------------------------------------------------------------


def export_source():
    return getattr(settings, "GRANTFLOW_INTEGRITY_SOURCE", "") or "Grantflow"


def serious_list(on=None):
    """The funder's own records on the serious-dishonesty list, in force on ``on``."""
    return (
        CreditRecord.objects.in_force(on or timezone.localdate())
        .filter(serious_dishonesty=True, source=CreditRecord.Source.OWN)
        .select_related("subject_user__institution", "subject_institution", "subject_agency")
        .order_by("starts_on", "id")
    )


def export_row(record):
    person = record.subject_kind in PERSON_KINDS
    user, org = record.subject_user, record.subject_institution or record.subject_agency
    row = {
        "subject_kind": "person" if person else "institution",
        "id_number": "",
        "orcid": (user.orcid if user else "") or record.subject_orcid,
        "credit_code": (org.credit_code if org and not person else "")
        or record.subject_credit_code,
        "name": (user.display_name if user else org.name if org and not person else "")
        or record.subject_name,
        "institution": (user.institution.name if user and user.institution else "")
        or record.subject_institution_name,
        "category": record.category,
        "bars": record.bars,
        "sanctions": list(record.sanctions or ()),
        "starts_on": record.starts_on.isoformat(),
        "ends_on": record.ends_on.isoformat() if record.ends_on else "",
        "decision": record.decision,
        "deciding_body": record.deciding_body,
        "legal_basis": record.legal_basis,
        "description": record.description,
        "id_number_masked": (user.id_number_masked if user else "") or record.subject_id_masked,
    }
    if not person:
        row["orcid"] = ""
    return row


@dataclass(frozen=True)
class Export:
    body: bytes
    content_type: str
    filename: str

    @property
    def sha256(self):
        return hashlib.sha256(self.body).hexdigest()

    @property
    def digest_header(self):
        """RFC 3230 ``Digest`` value."""
        return "sha-256=" + base64.b64encode(hashlib.sha256(self.body).digest()).decode()

    @property
    def sidecar(self):
        """``sha256sum -c`` line for the file."""
        return f"{self.sha256}  {self.filename}\n"


def export_serious_list(file_format, on=None):
    """The list as ``Export`` (CSV or JSON); equal days and records give equal bytes."""
    on = on or timezone.localdate()
    rows = [export_row(r) for r in serious_list(on)]
    name = f"serious-dishonesty-{on.isoformat()}.{file_format}"
    if file_format == "json":
        body = json.dumps(
            {"source": export_source(), "as_of": on.isoformat(), "records": rows},
            ensure_ascii=False,
            indent=1,
        ).encode()
        return Export(body, "application/json; charset=utf-8", name)
    if file_format != "csv":
        raise ValueError(file_format)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {**row, "bars": ";".join(row["bars"]), "sanctions": ";".join(row["sanctions"])}
        )
    return Export(out.getvalue().encode(), "text/csv; charset=utf-8", name)


__all__ = [
    "COLUMNS",
    "Export",
    "ExchangeError",
    "ImportResult",
    "Sanction",
    "export_serious_list",
    "import_records",
    "prepare",
    "read_upload",
    "row_key",
    "serious_list",
]
