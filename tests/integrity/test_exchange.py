"""Importing other departments' lists and exporting ours (integrity.exchange)."""

import csv
import hashlib
import io
import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import hash_id_number
from integrity import exchange, services
from integrity.models import CreditRecord, ImportBatch, MatchStatus
from tests.factories import InstitutionFactory, UserFactory, integrity_officer

from .identities import id_number, orcid, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer():
    return integrity_officer()


@pytest.fixture
def people():
    """An institution with a known person (ID number), an ORCID holder and two namesakes."""
    inst = InstitutionFactory(name="复旦大学", name_en="Fudan University")
    known = UserFactory(full_name="李四", institution=inst)
    known.set_id_number(id_number(1))
    known.save()
    with_orcid = UserFactory(full_name="王五", orcid=orcid(2), institution=inst)
    twins = [UserFactory(full_name="赵六", institution=inst) for _ in range(2)]
    return {"inst": inst, "known": known, "orcid": with_orcid, "twins": twins}


def mixed_rows(people):
    """Two linked people, one institution, one unmatched, one ambiguous, a repeat, 3 bad."""
    return [
        row(name="李四", id_number=id_number(1)),  # 1 matched by ID number
        row(name="王五", orcid=orcid(2), category="fabrication"),  # 2 matched by ORCID
        row(subject_kind="institution", name="复旦大学", credit_code=people["inst"].credit_code),
        row(name="孙七", id_number=id_number(4)),  # 4 nobody yet
        row(name="赵六", institution="复旦大学"),  # 5 two candidates
        row(name="李四", id_number=id_number(1)),  # 6 repeats row 1
        row(name="钱八", id_number="310101198001011230"),  # 7 bad check character
        row(name="周九", category="gossip", starts_on="2026-13-01"),  # 8 two bad fields
        row(name="吴十", ends_on="2025-01-01", decision=""),  # 9 ends before start, no decision
    ]


def run(rows, officer, **kw):
    return exchange.import_records(rows, source="上海市教育委员会", created_by=officer, **kw)


def test_good_bad_duplicate_and_ambiguous_rows_are_counted(people, officer):
    result = run(mixed_rows(people), officer)

    assert (result.created, result.duplicates, len(result.rejected)) == (5, 1, 3)
    assert (result.matched, result.ambiguous, result.unmatched) == (3, 1, 1)
    rejected = {r["row"]: r["errors"] for r in result.rejected}
    assert set(rejected) == {7, 8, 9}
    assert set(rejected[7]) == {"id_number"}
    assert set(rejected[8]) == {"category", "starts_on"}
    assert set(rejected[9]) == {"ends_on", "decision"}

    records = CreditRecord.objects.filter(import_batch=result.batch)
    assert records.count() == 5
    assert (
        records.get(subject_user=people["known"]).subject_id_masked
        == "3101**********" + (id_number(1)[-4:])
    )
    assert records.get(subject_user=people["orcid"]).category == "fabrication"
    assert records.get(subject_institution=people["inst"]).subject_kind == "institution"
    ambiguous = records.get(match_status=MatchStatus.AMBIGUOUS)
    assert ambiguous.subject_user is None and ambiguous.subject_name == "赵六"
    assert {r["row"]: r["candidates"] for r in result.report["ambiguous"]} == {
        5: [u.pk for u in people["twins"]]
    }
    unmatched = records.get(match_status=MatchStatus.UNMATCHED)
    assert unmatched.subject_id_hash == hash_id_number(id_number(4))
    # The resident ID number itself is stored nowhere.
    assert not CreditRecord.objects.filter(subject_id_masked=id_number(4)).exists()
    assert all(
        r.source == "imported" and r.source_department == "上海市教育委员会" for r in records
    )

    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.created, batch.duplicates, batch.rejected) == (9, 5, 1, 3)
    assert (batch.matched, batch.ambiguous, batch.unmatched) == (3, 1, 1)


def test_a_second_run_creates_nothing(people, officer):
    run(mixed_rows(people), officer)
    again = run(mixed_rows(people), officer)
    assert (again.created, again.duplicates, len(again.rejected)) == (0, 6, 3)
    assert CreditRecord.objects.count() == 5


def test_the_same_row_from_another_department_is_a_new_record(people, officer):
    run([row(name="李四", id_number=id_number(1))], officer)
    other = exchange.import_records(
        [row(name="李四", id_number=id_number(1))], source="市卫健委", created_by=officer
    )
    assert other.created == 1
    assert CreditRecord.objects.count() == 2


def test_a_dry_run_writes_nothing_and_predicts_the_import(people, officer):
    preview = run(mixed_rows(people), officer, dry_run=True)
    assert CreditRecord.objects.count() == 0
    assert ImportBatch.objects.count() == 0
    assert preview.batch is None
    real = run(mixed_rows(people), officer)
    assert preview.as_dict() | {"dry_run": False, "batch": real.batch.pk} == real.as_dict()


def test_csv_and_json_files_import_alike(people, officer):
    rows = mixed_rows(people)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=exchange.COLUMNS)
    writer.writeheader()
    for r in rows:
        writer.writerow({c: ";".join(v) if isinstance(v, list) else v for c, v in r.items()})
    csv_bytes = ("\ufeff" + out.getvalue()).encode()  # Excel's BOM is fine

    file_format, source, parsed, sha = exchange.read_upload(io.BytesIO(csv_bytes), "list.csv")
    assert (file_format, source, sha) == ("csv", "", hashlib.sha256(csv_bytes).hexdigest())
    from_csv = run(parsed, officer, dry_run=True)

    body = json.dumps({"source": "上海市教育委员会", "records": rows}).encode()
    file_format, source, parsed, _ = exchange.read_upload(io.BytesIO(body), "list.json")
    assert (file_format, source) == ("json", "上海市教育委员会")
    from_json = run(parsed, officer, dry_run=True)

    assert from_csv.as_dict() == from_json.as_dict()
    assert (from_csv.created, from_csv.duplicates, len(from_csv.rejected)) == (5, 1, 3)


def test_a_csv_without_the_required_columns_is_refused(officer):
    with pytest.raises(exchange.ExchangeError) as exc:
        exchange.read_upload(io.BytesIO("name,decision\n张三,x\n".encode()), "x.csv")
    assert "category" in exc.value.message


def test_sanctions_set_the_bars_and_a_permanent_bar_has_no_end(people, officer):
    result = run(
        [
            row(name="李四", id_number=id_number(1), bars=[], sanctions="bar_review;warning"),
            row(name="王五", orcid=orcid(2), sanctions=["permanent_bar"]),
            row(name="孙七", id_number=id_number(4), sanctions=["permanent_bar"], ends_on=""),
            row(name="周九", sanctions=["bar_apply"], ends_on=""),
            row(name="吴十", sanctions=["exile"]),
        ],
        officer,
    )
    assert result.created == 2
    assert {r["row"]: list(r["errors"]) for r in result.rejected} == {
        2: ["sanctions"],
        4: ["sanctions"],
        5: ["sanctions"],
    }
    li = CreditRecord.objects.get(subject_user=people["known"])
    assert li.bars == ["review"] and li.sanctions == ["bar_review", "warning"]
    permanent = CreditRecord.objects.get(subject_name="孙七")
    assert permanent.bars == ["apply", "review", "receive_funds", "manage"]


def test_imported_bars_stop_the_linked_person_at_the_gate(people, officer):
    run([row(name="李四", id_number=id_number(1), bars=["apply", "review"])], officer)
    assert not services.check_eligibility("apply", users=[people["known"]])
    assert not services.check_eligibility("review", users=[people["known"]])
    assert services.check_eligibility("receive_funds", users=[people["known"]])


def test_ten_thousand_rows_import_in_one_call(officer):
    inst = InstitutionFactory()
    rows = [
        row(name=f"研究员{n}", institution=inst.name, id_number=id_number(n), description=str(n))
        for n in range(10_000)
    ]
    result = run(rows, officer)
    assert (result.rows, result.created, result.duplicates, result.rejected) == (
        10_000,
        10_000,
        0,
        [],
    )
    assert CreditRecord.objects.filter(import_batch=result.batch).count() == 10_000
    assert len(result.report["unmatched"]) == exchange.REPORT_LIMIT
    assert run(rows, officer).duplicates == 10_000


# --- export -----------------------------------------------------------------------------------


def serious(user=None, **kw):
    return services.record_create(
        created_by=None,
        subject_user=user,
        category="fabrication",
        sanctions=["serious_dishonesty_list", "bar_apply"],
        starts_on=kw.pop("starts_on", timezone.localdate() - timedelta(days=10)),
        ends_on=kw.pop("ends_on", timezone.localdate() + timedelta(days=700)),
        decision="列入严重失信行为记录名单",
        deciding_body="上海市科学技术委员会",
        **kw,
    )


def test_the_export_lists_our_serious_dishonesty_entries_in_force_with_a_checksum(officer):
    person = UserFactory(full_name="郑十一", orcid=orcid(11))
    person.set_id_number(id_number(11))
    person.save()
    listed = serious(person)
    serious(UserFactory(), ends_on=timezone.localdate() - timedelta(days=1))  # over
    services.record_create(  # not on the list
        created_by=None,
        subject_user=UserFactory(),
        category="plagiarism",
        bars=["apply"],
        starts_on=date(2026, 1, 1),
        decision="x",
        deciding_body="y",
    )
    run([row(name="甲", sanctions=["serious_dishonesty_list"])], officer)  # not ours

    export = exchange.export_serious_list("json")
    assert export.sha256 == hashlib.sha256(export.body).hexdigest()
    assert export.sidecar == f"{export.sha256}  {export.filename}\n"
    data = json.loads(export.body)
    assert data["source"] and data["as_of"] == timezone.localdate().isoformat()
    assert [r["name"] for r in data["records"]] == ["郑十一"]
    entry = data["records"][0]
    assert entry["id_number"] == "" and entry["id_number_masked"] == person.id_number_masked
    assert entry["orcid"] == orcid(11) and entry["bars"] == ["apply", "review"]
    assert entry["starts_on"] == listed.starts_on.isoformat()

    again = exchange.export_serious_list("json")
    assert again.body == export.body  # same day, same records, same bytes and checksum

    as_csv = exchange.export_serious_list("csv")
    lines = list(csv.DictReader(io.StringIO(as_csv.body.decode())))
    assert [r["name"] for r in lines] == ["郑十一"]
    assert lines[0]["sanctions"] == "serious_dishonesty_list;bar_apply"


def test_our_export_imports_elsewhere_in_the_same_format(officer):
    person = UserFactory(full_name="郑十一", orcid=orcid(11))
    serious(person)
    export = exchange.export_serious_list("csv")
    _, _, rows, _ = exchange.read_upload(io.BytesIO(export.body), export.filename)
    result = exchange.import_records(rows, source="另一部门", created_by=officer, dry_run=True)
    assert (result.created, result.matched, result.rejected) == (1, 1, [])
    assert result.report["matched"][0]["user"] == person.pk


def test_text_with_tabs_newlines_and_backslashes_survives(officer):
    text = 'a\tb\nc\\d\r\n"e",f'
    result = run([row(name="孙七", description=text, legal_basis="\\N")], officer)
    record = CreditRecord.objects.get(import_batch=result.batch)
    assert (record.description, record.legal_basis) == (text, "\\N")
