"""What schemathesis found, pinned: each case below was a server error or a response that
broke the schema before it was fixed."""

import pytest
from django.utils import translation

from integrity.models import CreditRecord
from programs.models import Call
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"  # the requests' language (LocaleMiddleware), not only ours
    with translation.override("en"):
        yield


@pytest.mark.parametrize("value", ["1.5", "-1.7976931348623157e+308", str(2**70)])
@pytest.mark.parametrize("name", ["program", "applicant", "call", "institution"])
def test_id_filters_take_whole_numbers_only(api, name, value):
    f.ApplicationFactory()
    response = api(f.officer()).get("/api/v1/applications/", {name: value})
    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_review_assignment_filters_take_whole_numbers_only(api):
    response = api(f.officer()).get("/api/v1/review-assignments/", {"application": "2.5"})
    assert response.status_code == 400
    assert list(response.json()) == ["application"]


def test_call_dates_outside_the_century_are_refused(api):
    call = f.CallFactory()
    opens_at = call.opens_at
    response = api(f.officer()).patch(
        f"/api/v1/calls/{call.pk}/", {"opens_at": "0317-03-10T08:47:46Z"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"opens_at": ["Give a date between 2000 and 2099."]}
    assert Call.objects.get(pk=call.pk).opens_at == opens_at


@pytest.mark.parametrize("path", ["applications/{pk}/pdf/", "projects/{pk}/contract/"])
def test_an_error_instead_of_a_pdf_is_json_and_says_so(api, path):
    response = api(f.officer()).get(f"/api/v1/{path.format(pk=987654)}", {"format": "pdf"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_record_not_superseded_reads_null_as_its_schema_says(api):
    record = f.CreditRecordFactory(subject_user=f.applicant())
    client = api(f.integrity_officer())
    schema = client.get("/api/schema/", {"format": "json"}).json()
    field = schema["components"]["schemas"]["CreditRecord"]["properties"]["superseded_by"]
    assert field.get("nullable") is True
    assert client.get(f"/api/v1/integrity/records/{record.pk}/").json()["superseded_by"] is None
    assert not CreditRecord.objects.filter(supersedes=record).exists()


def test_the_schema_lists_the_error_statuses_of_the_conventions(api):
    schema = api(f.officer()).get("/api/schema/", {"format": "json"}).json()
    transition = schema["paths"]["/api/v1/applications/{id}/transitions/{name}/"]["post"]
    assert {"400", "401", "403", "404", "409"} <= set(transition["responses"])
    create = schema["paths"]["/api/v1/applications/"]["post"]
    assert {"400", "401", "403", "409"} <= set(create["responses"])
    conflict = create["responses"]["409"]["content"]["application/json"]["schema"]
    assert conflict == {"$ref": "#/components/schemas/Conflict"}
    assert schema["components"]["schemas"]["Conflict"]["required"] == ["code", "detail"]
    export = schema["paths"]["/api/v1/integrity/records/export/"]["get"]
    assert "404" in export["responses"]
