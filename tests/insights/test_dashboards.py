"""Dashboards: every number equals an independent count over generated data; agency staff
see their programs only (pages, SVG and CSV); others get 404; queries do not grow."""

import csv
import io
import random
import statistics
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import TransitionLog
from finance.models.agencies import AgencyGrade
from grants.enums import ApplicationState as S
from grants.models import Application
from integrity.models import MisconductCategory
from programs.models import Category
from tests.factories import (
    AgencyFactory,
    ApplicationFactory,
    CallFactory,
    CreditRecordFactory,
    InstitutionFactory,
    ProgramFactory,
    ReviewAssignmentFactory,
    UserFactory,
    agency_staff,
    applicant,
    auditor,
    institution_admin,
    officer,
    reviewer,
    set_state,
)

pytestmark = pytest.mark.django_db
BUDGET = Decimal("850000.00")  # the factory's four budget lines
STATES = [S.DRAFT, S.SUBMITTED, S.ACCEPTED, S.AWARDED, S.REJECTED, S.INELIGIBLE, S.AWARDED]


def _csv(response):
    text = b"".join(response).decode("utf-8-sig") if response.streaming else None
    text = text or response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


@pytest.fixture(autouse=True)
def english():
    """Pages and the test's own labels in English (the site's default is Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def login(login):
    def make(user):
        client = login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make


@pytest.fixture
def world():
    rng = random.Random(6)
    agency = AgencyFactory()
    delegated = ProgramFactory(agency=agency, category=Category.INNOVATION_SUPPORT, code="DEL")
    own = ProgramFactory(category=Category.BASIC_FRONTIER, code="OWN")
    calls = [CallFactory(program=delegated), CallFactory(program=own)]
    institutions = [InstitutionFactory(), InstitutionFactory()]
    apps = []
    now = timezone.now()
    for i in range(14):
        pi = applicant(institution=institutions[i % 2])
        app = ApplicationFactory(call=calls[i % 2], applicant=pi)
        state = STATES[rng.randrange(len(STATES))] if i > 1 else [S.AWARDED, S.REJECTED][i]
        submitted = None if state == S.DRAFT else now - timedelta(days=400 * (i % 3 == 0))
        apps.append(set_state(app, state, submitted_at=submitted))
    reviewers = [reviewer() for _ in range(4)]
    assignments = []
    for i, app in enumerate(apps[:8]):
        for j, state in enumerate(["invited", "accepted", "submitted", "declined"][: 1 + i % 4]):
            assignments.append(
                ReviewAssignmentFactory(application=app, reviewer=reviewers[j], state=state)
            )
    ct = ContentType.objects.get_for_model(Application)
    logs = []
    for i, app in enumerate(apps):
        t = app.created_at
        for source, target in [(S.DRAFT, S.SUBMITTED), (S.SUBMITTED, S.ENDORSED)][: i % 3]:
            t = t + timedelta(days=1 + i, hours=i)
            e = TransitionLog.objects.create(
                content_type=ct, object_id=app.pk, object_repr=str(app), transition="x",
                source=source, target=target,
            )  # fmt: skip
            TransitionLog.objects.filter(pk=e.pk).update(created_at=t)
            logs.append((app, source, t))
    CreditRecordFactory(subject_user=apps[0].applicant, category="plagiarism")
    CreditRecordFactory(subject_user=apps[1].applicant, category="plagiarism")
    CreditRecordFactory(subject_user=apps[2].applicant, category="fabrication")
    AgencyGrade.objects.create(
        agency=agency, year=2026, timeliness=Decimal("0.9"), outcomes=Decimal("0.8"),
        integrity=Decimal("1"), score=Decimal("88.50"), grade="B",
    )  # fmt: skip
    for a in apps:
        a.refresh_from_db()
    return {
        "agency": agency, "delegated": delegated, "own": own, "apps": apps,
        "assignments": assignments, "institutions": institutions, "logs": logs,
    }  # fmt: skip


def _year(app):
    return timezone.localtime(app.submitted_at or app.created_at).year


def _expected(apps, key):
    out = {}
    for a in apps:
        row = out.setdefault(key(a), {"total": 0, "submitted": 0, "awarded": 0, "decided": 0})
        row["total"] += 1
        row["submitted"] += a.state != S.DRAFT
        row["awarded"] += a.state == S.AWARDED
        row["decided"] += a.state in (S.AWARDED, S.REJECTED, S.INELIGIBLE)
    return out


@pytest.mark.parametrize("by", ["category", "program", "year", "institution"])
def test_application_numbers_equal_independent_counts(world, login, by):
    client = login(officer())
    response = client.get(reverse("insights:csv", args=["applications", "applications"]),
                          {"by": by})  # fmt: skip
    header, rows = _csv(response)
    assert header[:5] == ["Group", "Proposals", "Submitted", "Awarded", "Decided"]
    keyf = {
        "category": lambda a: a.call.program.get_category_display(),
        "program": lambda a: str(a.call.program),
        "year": lambda a: str(_year(a)),
        "institution": lambda a: a.institution.name,
    }[by]
    expected = _expected(world["apps"], keyf)
    got = {r[0]: r for r in rows}
    assert set(got) == {str(k) for k in expected}
    for key, e in expected.items():
        r = got[str(key)]
        assert [int(x) for x in r[1:5]] == [e["total"], e["submitted"], e["awarded"], e["decided"]]
        rate = f"{e['awarded'] / e['decided'] * 100:.1f}" if e["decided"] else ""
        assert r[5] == rate
        assert Decimal(r[6]) == BUDGET * e["submitted"]
        assert Decimal(r[7]) == BUDGET * e["awarded"]


def test_page_shows_the_numbers_and_filters_narrow_them(world, login):
    client = login(auditor())
    inst = world["institutions"][0]
    year = _year(world["apps"][1])
    response = client.get(
        reverse("insights:dashboard", args=["applications"]),
        {"institution": inst.pk, "year": year, "by": "program"},
    )
    assert response.status_code == 200
    mine = [a for a in world["apps"] if a.institution == inst and _year(a) == year]
    expected = _expected(mine, lambda a: a.call.program_id)
    charts = {c["id"]: c for c in response.context["charts"]}
    data = {row[0]: row for row in charts["applications"]["data"]}
    assert len(data) == len(expected)
    for program_id, e in expected.items():
        row = next(
            r
            for label, r in data.items()
            if label.startswith(
                world["delegated" if program_id == world["delegated"].pk else "own"].code
            )
        )
        assert row[1:5] == [e["total"], e["submitted"], e["awarded"], e["decided"]]
    assert b"<svg" in response.content and b"Download the data (CSV)" in response.content


def test_review_progress_and_load(world, login):
    client = login(officer())
    response = client.get(reverse("insights:dashboard", args=["reviews"]))
    charts = {c["id"]: c for c in response.context["charts"]}
    by_call = {}
    for a in world["assignments"]:
        row = by_call.setdefault(a.application.call.title, [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += a.state == "invited"
        row[2] += a.state in ("accepted", "submitted")
        row[3] += a.state == "submitted"
        row[4] += a.state not in ("invited", "accepted", "submitted")
    assert {r[0]: r[1:] for r in charts["progress"]["data"]} == by_call
    load = {}
    for a in world["assignments"]:
        row = load.setdefault(str(a.reviewer.full_name or a.reviewer.username), [0, 0, 0])
        row[0] += 1
        row[1] += a.state in ("invited", "accepted")
        row[2] += a.state == "submitted"
    assert {r[0]: r[1:] for r in charts["load"]["data"]} == load


def test_median_days_in_each_state(world, login):
    client = login(officer())
    response = client.get(reverse("insights:dashboard", args=["states"]))
    (chart,) = response.context["charts"]
    stays = {}
    by_app = {}
    for app, source, t in world["logs"]:
        by_app.setdefault(app.pk, []).append((source, t, app.created_at))
    for entries in by_app.values():
        previous = entries[0][2]
        for source, t, _created in entries:
            stays.setdefault(source, []).append((t - previous).total_seconds() / 86400)
            previous = t
    labels = dict(S.choices)
    expected = {str(labels[s]): [len(v), f"{statistics.median(v):.1f}"] for s, v in stays.items()}
    assert {r[0]: r[1:] for r in chart["data"]} == expected


def test_integrity_and_agency_grades(world, login):
    kinds = dict(MisconductCategory.choices)
    client = login(officer())
    response = client.get(reverse("insights:csv", args=["integrity", "records"]))
    _h, rows = _csv(response)
    assert {r[0]: int(r[1]) for r in rows} == {
        str(kinds["plagiarism"]): 2,
        str(kinds["fabrication"]): 1,
    }
    response = client.get(reverse("insights:csv", args=["agencies", "grades"]))
    _h, rows = _csv(response)
    assert rows == [[world["agency"].name, "2026", "B", "88.50", "0.9000", "0.8000", "1.0000"]]


def test_agency_staff_see_only_their_programs_everywhere(world, login):
    staff = agency_staff(world["agency"])
    client = login(staff)
    response = client.get(reverse("insights:csv", args=["applications", "applications"]),
                          {"by": "program"})  # fmt: skip
    _h, rows = _csv(response)
    assert [r[0] for r in rows] == [str(world["delegated"])]
    delegated = [a for a in world["apps"] if a.call.program == world["delegated"]]
    assert int(rows[0][1]) == len(delegated)
    # Asking for the other program by filter shows nothing of it.
    response = client.get(reverse("insights:csv", args=["applications", "applications"]),
                          {"by": "program", "program": world["own"].pk})  # fmt: skip
    assert str(world["own"]) not in response.content.decode()
    svg = client.get(reverse("insights:svg", args=["applications", "applications"]),
                     {"by": "program"}).content.decode()  # fmt: skip
    assert str(world["delegated"].name) in svg and world["own"].name not in svg
    page = client.get(reverse("insights:dashboard", args=["reviews"]))
    calls = {r[0] for r in page.context["charts"][0]["data"]}
    assert calls == {a.application.call.title for a in world["assignments"]
                     if a.application.call.program == world["delegated"]}  # fmt: skip
    # Commission-wide dashboards are for leadership only.
    for board in ("integrity", "agencies"):
        assert client.get(reverse("insights:dashboard", args=[board])).status_code == 404
        assert client.get(reverse("insights:csv", args=[board, "records"])).status_code == 404


def test_svg_export_is_a_standalone_bilingual_document(world, login):
    client = login(officer())
    response = client.get(reverse("insights:svg", args=["applications", "applications"]))
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("<?xml") and 'role="img"' in text and "Noto Sans CJK SC" in text
    total = len(world["apps"])
    # Each bar carries its number; the category labels carry the other language's label.
    values = [int(v) for v in __import__("re").findall(r'data-series="total" data-value="(\d+)"',
                                                         text)]  # fmt: skip
    assert sum(values) == total
    assert "<desc" in text


@pytest.mark.parametrize(
    "make",
    [applicant, reviewer, lambda: institution_admin(InstitutionFactory()), UserFactory],
)
def test_others_get_404(world, login, make):
    client = login(make())
    for url in (
        reverse("insights:index"),
        reverse("insights:dashboard", args=["states"]),
        reverse("insights:svg", args=["applications", "applications"]),
        reverse("insights:csv", args=["applications", "applications"]),
    ):
        assert client.get(url).status_code == 404


@pytest.mark.parametrize("board", ["applications", "reviews", "states", "integrity", "agencies"])
def test_queries_do_not_grow_with_rows(login, board, django_assert_num_queries):
    user = officer()
    client = login(user)
    program = ProgramFactory()
    call = CallFactory(program=program)
    ApplicationFactory(call=call)
    url = reverse("insights:dashboard", args=[board])
    client.get(url)  # warm caches (content types, sessions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(url, {"by": "institution"}).status_code == 200
    for _i in range(6):
        inst = InstitutionFactory()
        app = set_state(ApplicationFactory(call=CallFactory(program=ProgramFactory()),
                                           applicant=applicant(institution=inst)),
                        S.AWARDED, submitted_at=timezone.now())  # fmt: skip
        ReviewAssignmentFactory(application=app)
        CreditRecordFactory(subject_user=app.applicant)
    with django_assert_num_queries(len(few)):
        client.get(url, {"by": "institution"})
