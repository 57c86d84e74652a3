"""Money pages, exports and API: the ledger and its steps, the payments queue (filters, fixed
queries), CSV/XLSX totals, agency isolation (404 on everything of another agency)."""

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from finance import money
from finance.models import Disbursement, DisbursementState
from tests import factories as f

from .money_helpers import active, bar_funds

pytestmark = pytest.mark.django_db
D = Decimal
S = DisbursementState


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def first(project):
    return Disbursement.objects.get(project=project, seq=1)


def test_ledger_page_shows_schedule_and_release_button_for_managers(login):
    project, officer = active()
    page = login(officer).get(f"/projects/{project.pk}/ledger/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "510,000.00" in body and "Release the payment" in body
    pi_page = login(project.application.applicant).get(f"/projects/{project.pk}/ledger/")
    assert "Release the payment" not in pi_page.content.decode()
    assert "Ask for a budget adjustment" in pi_page.content.decode()


def test_release_through_the_page_and_hold_when_barred(login):
    project, officer = active()
    client = login(officer)
    d = first(project)
    bar_funds(project)
    response = client.post(f"/projects/payments/{d.pk}/steps/release/")
    assert response.status_code == 302
    d.refresh_from_db()
    assert d.state == S.HELD and d.hold_kind == "integrity"
    assert money.disbursed(project) == 0


def test_pi_cannot_release_through_the_page(login):
    project, _ = active()
    d = first(project)
    login(project.application.applicant).post(f"/projects/payments/{d.pk}/steps/release/")
    d.refresh_from_db()
    assert d.state == S.SCHEDULED


def test_adjustment_and_expenditure_forms(login):
    project, _ = active()
    client = login(project.application.applicant)
    response = client.post(
        f"/projects/{project.pk}/adjustments/",
        {"from_category": "business", "to_category": "labor", "amount": "999999", "reason": "x"},
    )
    assert response.status_code == 400  # more than the category holds: inline error
    assert project.adjustments.count() == 0
    client.post(
        f"/projects/{project.pk}/adjustments/",
        {"from_category": "business", "to_category": "labor", "amount": "1000", "reason": "x"},
    )
    assert project.adjustments.get().state == "approved"
    client.post(
        f"/projects/{project.pk}/expenditure/",
        {"period_start": "2027-01-01", "period_end": "2027-06-30", "spent_equipment": "250000"},
    )
    page = client.get(f"/projects/{project.pk}/ledger/").content.decode()
    assert "over budget" in page


def test_payments_queue_lists_due_and_held_with_fixed_queries(login, django_assert_num_queries):
    officer = f.officer()
    project, _ = active(officer=officer)
    money.hold(first(project), user=officer, reason="audit query")
    client = login(officer)
    response = client.get("/projects/payments/")
    rows = list(response.context["table"].page.object_list)
    assert [r.record.pk for r in rows] == [first(project).pk]
    assert "audit query" in response.content.decode()
    assert (
        client.get("/projects/payments/?state=scheduled").context["table"].page.paginator.count == 0
    )

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            client.get("/projects/payments/")
        return len(ctx.captured_queries)

    one = count()
    for _ in range(29):
        active(officer=officer)
    assert client.get("/projects/payments/").context["table"].page.paginator.count == 25 + 5
    assert count() == one
    assert login(project.application.applicant).get("/projects/payments/").status_code == 404


def _csv_totals(content):
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    split = rows.index([])
    header = rows[split + 1]
    return rows[1:split], {r[0]: dict(zip(header, r, strict=True)) for r in rows[split + 2 :]}


def test_csv_and_xlsx_exports_carry_the_right_totals(login):
    project, officer = active()
    money.release(first(project), user=officer)
    money.recover(project, amount="1234.56", user=officer, reason="misused")
    client = login(officer)
    response = client.get(f"/projects/{project.pk}/ledger.csv")
    assert response["Content-Type"].startswith("text/csv")
    entries, totals = _csv_totals(response.content)
    assert len(entries) == 5  # 3 scheduled, 1 released, 1 recovered
    assert totals[project.number]["released"] == "510000.00"
    assert totals[project.number]["recovered"] == "1234.56"
    assert totals[project.number]["net"] == "508765.44"
    assert sum(D(r[7]) for r in entries if r[5] == "scheduled") == D("850000.00")
    book = load_workbook(io.BytesIO(client.get(f"/projects/{project.pk}/ledger.xlsx").content))
    sheet = list(book["totals"].values)
    header, row = sheet[0], sheet[1]
    values = dict(zip(header, row, strict=True))
    assert D(str(values["released"])) == D("510000.00")
    assert D(str(values["pending"])) == D("340000.00")
    ledger_rows = list(book["ledger"].values)[1:]
    assert sum(D(str(r[7])) for r in ledger_rows if r[5] == "released") == D("510000.00")


def test_agency_isolation_on_ledgers_exports_and_api(login, api):
    a, b = f.AgencyFactory(), f.AgencyFactory()
    mine, _ = active(call=f.CallFactory(program=f.ProgramFactory(agency=a)))
    theirs, _ = active(call=f.CallFactory(program=f.ProgramFactory(agency=b)))
    staff = f.agency_staff(a)
    client = login(staff)
    assert client.get(f"/projects/{mine.pk}/ledger/").status_code == 200
    for url in (
        f"/projects/{theirs.pk}/ledger/",
        f"/projects/{theirs.pk}/ledger.csv",
        f"/projects/{theirs.pk}/ledger.xlsx",
    ):
        assert client.get(url).status_code == 404, url
    d = first(theirs)
    assert client.post(f"/projects/payments/{d.pk}/steps/release/").status_code == 404
    _, totals = _csv_totals(client.get("/projects/ledgers.csv").content)
    assert set(totals) == {mine.number}
    queue = client.get("/projects/payments/").context["table"].page.object_list
    assert {r.record.project_id for r in queue} == {mine.pk}
    rest = api(staff)
    assert rest.get(f"/api/v1/projects/{theirs.pk}/ledger/").status_code == 404
    assert rest.get(f"/api/v1/disbursements/{d.pk}/").status_code == 404
    assert rest.post(f"/api/v1/disbursements/{d.pk}/transitions/release/").status_code == 404
    d.refresh_from_db()
    assert d.state == S.SCHEDULED
    # Their own program's payment: released by the agency staff through the API.
    own = first(mine)
    response = rest.post(f"/api/v1/disbursements/{own.pk}/transitions/release/", {})
    assert response.status_code == 200 and response.json()["state"] == "released"


def test_api_ledger_and_transition_codes(api):
    project, officer = active()
    client = api(officer)
    body = client.get(f"/api/v1/projects/{project.pk}/ledger/").json()
    assert body["balance"]["scheduled"] == "850000.00"
    assert [i["amount"] for i in body["instalments"]] == ["510000.00", "255000.00", "85000.00"]
    assert set(body["instalments"][0]["available_transitions"]) == {"release", "hold"}
    second = body["instalments"][1]["id"]
    response = client.post(f"/api/v1/disbursements/{second}/transitions/release/", {})
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    response = client.post(
        f"/api/v1/disbursements/{body['instalments'][0]['id']}/transitions/hold/", {}
    )
    assert response.status_code == 400
    bar_funds(project)
    response = client.post(
        f"/api/v1/disbursements/{body['instalments'][0]['id']}/transitions/release/", {}
    )
    assert response.status_code == 200 and response.json()["state"] == "held"
    response = client.post(
        f"/api/v1/disbursements/{body['instalments'][0]['id']}/transitions/release_hold/", {}
    )
    assert response.status_code == 409 and response.json()["code"] == "integrity_block"
    assert client.get(f"/api/v1/projects/{project.pk}/ledger/").json()["balance"]["held"] == (
        "510000.00"
    )


def test_integrity_affected_list_shows_held_payments(login):
    project, officer = active()
    bar_funds(project)
    d = money.release(first(project), user=officer)
    response = login(f.integrity_officer()).get("/integrity/affected/")
    assert response.status_code == 200
    section = next(s for s in response.context["sections"] if s["kind"].code == "payments")
    records = {row.record.pk for row in section["table"].page.object_list}
    assert d.pk in records
    assert f"/projects/{project.pk}/ledger/" in response.content.decode()


def test_disbursed_many_matches_disbursed():
    project, officer = active()
    other, _ = active(officer=officer)
    money.release(first(project), user=officer)
    assert money.disbursed_many([project, other]) == {
        project.pk: D("510000.00"),
        other.pk: D("0.00"),
    }
