"""The auditors' search across transitions, chain events and credit records; its CSV; the
charts of credit records by kind and year (inline SVG, data table, CSV)."""

import csv
import io
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone, translation

from audit import chain
from audit.models import TransitionLog
from grants import services
from grants.models import Application
from integrity.models import Action, CreditRecord
from integrity.services import record_correct, record_create
from tests.accounts.helpers import get_counting
from tests.factories import (
    AgencyFactory,
    ApplicationFactory,
    InstitutionFactory,
    agency_staff,
    applicant,
    auditor,
    institution_admin,
    integrity_officer,
    officer,
)

pytestmark = pytest.mark.django_db
URL = reverse("audit:search")


def found(response):
    return {
        (r.record["e_source"], r.record["e_id"]) for r in response.context["table"].page.object_list
    }


def entry(source, obj):
    return (source, obj.pk)


def new_record(subject, by, *, category="plagiarism", starts_on=date(2026, 1, 1), **kw):
    return record_create(
        created_by=by,
        bars=[Action.APPLY],
        subject_user=subject if not hasattr(subject, "credit_code") else None,
        subject_institution=subject if hasattr(subject, "credit_code") else None,
        category=category,
        starts_on=starts_on,
        ends_on=None,
        decision=kw.pop("decision", "通报批评"),
        **kw,
    )


@pytest.fixture
def world():
    """Two proposals with their steps and budgets, two credit records (one corrected)."""
    investigator = integrity_officer(username="io-zhao", full_name="赵调查")
    wang = applicant(username="pi-wang", full_name="王研究员")
    li = applicant(username="pi-li", full_name="李研究员")
    first = ApplicationFactory(applicant=wang, title="量子计算")
    second = ApplicationFactory(applicant=li, title="海洋生态")
    services.budget_set(
        application=first, lines={"equipment": "1000", "business": "1000", "labor": "1"}, by=wang
    )
    services.application_submit(application=first, user=wang)
    services.application_submit(application=second, user=li)
    record = new_record(wang, investigator)
    corrected = record_correct(record=record, created_by=investigator, decision="取消申报资格")
    log = {e.transition + str(e.object_id): e for e in TransitionLog.entries.all()}
    return {
        "wang": wang,
        "li": li,
        "investigator": investigator,
        "first": first,
        "second": second,
        "budget": log[f"grants.budget_set{first.pk}"],
        "submit_first": log[f"submit{first.pk}"],
        "submit_second": log[f"submit{second.pk}"],
        "record": record,
        "corrected": corrected,
        "record_event": log[f"integrity.record_created{record.pk}"],
        "corrected_event": log[f"integrity.record_corrected{corrected.pk}"],
    }


def test_everything_is_found_without_filters(login, world):
    w = world
    response = login(auditor()).get(URL)
    assert found(response) == {
        entry("event", w["budget"]),
        entry("transition", w["submit_first"]),
        entry("transition", w["submit_second"]),
        entry("event", w["record_event"]),
        entry("event", w["corrected_event"]),
        entry("record", w["record"]),
        entry("record", w["corrected"]),
    }
    rows = [r.record for r in response.context["table"].page.object_list]
    times = [r["e_time"] for r in rows]
    assert times == sorted(times, reverse=True)  # newest first


def test_subject_finds_the_records_their_events_and_the_entries_naming_them(login, world):
    w = world
    client = login(integrity_officer())
    assert found(client.get(URL, {"subject": "王研究员"})) == {
        entry("record", w["record"]),
        entry("record", w["corrected"]),
        entry("event", w["record_event"]),
        entry("event", w["corrected_event"]),
    }
    # A proposal's number and title are in its entries: the object filter finds them.
    assert found(client.get(URL, {"object": "量子"})) == {
        entry("event", w["budget"]),
        entry("transition", w["submit_first"]),
    }


def test_filters_by_source_type_object_actor_and_period(login, world):
    w = world
    client = login(officer())
    assert found(client.get(URL, {"sources": "record"})) == {
        entry("record", w["record"]),
        entry("record", w["corrected"]),
    }
    assert found(client.get(URL, {"sources": ["transition", "event"], "actor": "pi-wang"})) == {
        entry("event", w["budget"]),
        entry("transition", w["submit_first"]),
    }
    assert found(client.get(URL, {"actor": "赵调查"})) == {
        entry("record", w["record"]),
        entry("record", w["corrected"]),
        entry("event", w["record_event"]),
        entry("event", w["corrected_event"]),
    }
    application_type = ContentType.objects.get_for_model(Application)
    assert found(
        client.get(URL, {"object_type": application_type.pk, "object": str(w["second"].pk)})
    ) == {entry("transition", w["submit_second"])}
    record_type = ContentType.objects.get_for_model(CreditRecord)
    assert found(client.get(URL, {"object_type": record_type.pk, "sources": "record"})) == {
        entry("record", w["record"]),
        entry("record", w["corrected"]),
    }
    by_actor = client.get(URL, {"sort": "e_actor", "sources": ["transition", "event"]})
    actors = [r.record["e_actor"] for r in by_actor.context["table"].page.object_list]
    assert actors == sorted(actors)
    # Period: move the budget entry and the first record 40 days back.
    old = timezone.now() - timedelta(days=40)
    TransitionLog.entries.filter(pk=w["budget"].pk).update(created_at=old)
    CreditRecord.objects.filter(pk=w["record"].pk).update(created_at=old)
    today = timezone.localdate()
    assert found(client.get(URL, {"date_to": (today - timedelta(days=30)).isoformat()})) == {
        entry("event", w["budget"]),
        entry("record", w["record"]),
    }
    recent = client.get(URL, {"date_from": today.isoformat(), "date_to": today.isoformat()})
    assert entry("event", w["budget"]) not in found(recent)
    assert entry("record", w["corrected"]) in found(recent)
    assert len(found(recent)) == 5


def test_rows_link_to_their_objects_and_show_words(login, world):
    w = world
    page = login(auditor()).get(URL).content.decode()
    assert f'href="{reverse("grants:detail", args=[w["first"].pk])}"' in page
    assert f'href="{reverse("integrity:record_detail", args=[w["record"].pk])}"' in page
    with translation.override("en"):
        assert "Plagiarism" in page


def test_csv_follows_the_search(login, world):
    w = world
    response = login(auditor()).get(reverse("audit:search_csv"), {"subject": "王研究员"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["source"], int(r["id"])) for r in rows} == {
        entry("record", w["record"]),
        entry("record", w["corrected"]),
        entry("event", w["record_event"]),
        entry("event", w["corrected_event"]),
    }
    by_id = {(r["source"], int(r["id"])): r for r in rows}
    record_row = by_id[entry("record", w["corrected"])]
    assert (record_row["object_type"], record_row["what"], record_row["actor"]) == (
        "integrity.creditrecord",
        "plagiarism",
        "io-zhao",
    )
    assert record_row["comment"] == "取消申报资格"
    assert by_id[entry("event", w["record_event"])]["what"] == "integrity.record_created"


def test_readers_and_404_for_others(login, world):
    for reader in (auditor(), integrity_officer(), officer()):
        client = login(reader)
        assert len(found(client.get(URL))) == 7
        assert client.get(reverse("audit:charts")).status_code == 200
    for outsider in (
        applicant(),
        institution_admin(InstitutionFactory()),
        agency_staff(AgencyFactory()),
    ):
        client = login(outsider)
        for name in ("audit:search", "audit:search_csv", "audit:charts", "audit:charts_csv"):
            assert client.get(reverse(name)).status_code == 404, name


def test_search_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    io_user = integrity_officer()
    pi = applicant()
    new_record(pi, io_user)
    client = login(auditor())
    count, _ = get_counting(client, URL)
    for _i in range(29):
        other = applicant()
        chain.record("test.note", other, io_user, {"n": 1})
        new_record(other, io_user)
    with django_assert_num_queries(count):
        response = client.get(URL)
    assert response.context["table"].paginator.count == 30 * 2 + 29


# --- charts -----------------------------------------------------------------------------------


@pytest.fixture
def records():
    io_user = integrity_officer()
    made = []
    plan = [
        ("plagiarism", 2024, 3),
        ("plagiarism", 2025, 1),
        ("fabrication", 2025, 2),
        ("misuse_of_funds", 2026, 4),
        ("other", 2024, 1),
    ]
    for category, year, n in plan:
        for i in range(n):
            subject = applicant() if i % 2 == 0 else InstitutionFactory()
            made.append(
                new_record(subject, io_user, category=category, starts_on=date(year, 3, 1 + i))
            )
    # A correction moves one 2024 plagiarism record to 2025 fabrication: counted once, there.
    record_correct(
        record=made[0], created_by=io_user, category="fabrication", starts_on=date(2025, 6, 1)
    )
    return made


def expected_counts():
    return Counter(
        (r.starts_on.year, r.category)
        for r in CreditRecord.objects.all()
        if not CreditRecord.objects.filter(supersedes=r).exists()
    )


def test_charts_numbers_equal_the_counts(login, records):
    expected = expected_counts()
    assert expected[(2024, "plagiarism")] == 2 and expected[(2025, "fabrication")] == 3
    client = login(auditor())
    with translation.override("en"):
        response = client.get(reverse("audit:charts"))
    page = response.content.decode()
    svg_counts = Counter()
    for year, kind, n in re.findall(
        r'<rect [^>]*data-year="(\d+)" data-kind="(\w+)" data-count="(\d+)"', page
    ):
        svg_counts[(int(year), kind)] += int(n)
    assert svg_counts == expected
    bars = {k: int(n) for k, n in re.findall(r'data-kind="(\w+)" data-count="(\d+)"/>', page)}
    assert bars == {
        kind: sum(n for (_y, k), n in expected.items() if k == kind)
        for kind in {k for _y, k in expected}
    }
    chart = response.context["chart"]
    table = {
        (row["year"], kind["code"]): n
        for row in chart["rows"]
        for kind, n in zip(chart["kinds"], row["cells"], strict=True)
        if n
    }
    assert table == expected
    assert [r["total"] for r in chart["rows"]] == [
        sum(n for (y, _k), n in expected.items() if y == year) for year in (2024, 2025, 2026)
    ]
    assert chart["total"] == sum(expected.values()) == 11
    # Bilingual labels: the reader's language and the other one, in the legend and table.
    assert "Plagiarism" in page and "<svg" in page and 'role="img"' in page
    with translation.override("zh-hans"):
        other = str(dict(CreditRecord._meta.get_field("category").flatchoices)["plagiarism"])
    assert other in page
    assert '<table class="list" id="table-years">' in page


def test_charts_csv_has_the_same_numbers(login, records):
    expected = expected_counts()
    response = login(officer()).get(reverse("audit:charts_csv"))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    got = {(int(r["year"]), r["kind"]): int(r["records"]) for r in rows if r["records"] != "0"}
    assert got == expected
    assert {r["kind_label"] for r in rows if r["kind"] == "plagiarism"} == {"Plagiarism"}


def test_charts_without_records(login):
    response = login(auditor()).get(reverse("audit:charts"))
    assert response.context["chart"]["total"] == 0
    assert "<svg" not in response.content.decode()


def test_case_files_stay_out_of_officers_log_views(login):
    """Program officers read the log, but not the transitions of misconduct cases."""
    from audit.models import TransitionLog
    from integrity import cases
    from tests import factories as f

    investigator = f.integrity_officer()
    case = cases.case_report(
        channel="paper",
        title="论文抄袭举报",
        allegation="申报书大段抄袭已发表论文。",
        subjects=[{"user": f.applicant()}],
        reporter_user=investigator,
        created_by=investigator,
    )
    cases.case_transition(case=case, name="investigate", user=investigator)
    case_entries = set(
        TransitionLog.objects.filter(content_type__app_label="integrity").values_list(
            "pk", flat=True
        )
    )
    assert case_entries

    def shown(user):
        page = login(user).get(reverse("audit:log"))
        return {row.record.pk for row in page.context["table"].page.object_list}

    assert shown(f.officer()).isdisjoint(case_entries)
    assert case_entries <= shown(f.auditor())
