"""The OpenAPI schema: generates without warnings, validates, and names api.md's paths."""

import io

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

API_MD_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/institutions/": {"get", "post"},
    "/api/v1/institutions/{id}/": {"get"},
    "/api/v1/users/": {"get", "post"},
    "/api/v1/users/{id}/": {"get"},
    "/api/v1/users/me/": {"get"},
    "/api/v1/agencies/": {"get"},
    "/api/v1/programs/": {"get", "post"},
    "/api/v1/programs/{id}/": {"get"},
    "/api/v1/calls/": {"get", "post"},
    "/api/v1/calls/{id}/": {"get", "patch"},
    "/api/v1/applications/": {"get", "post"},
    "/api/v1/applications/{id}/": {"get", "patch", "put"},
    "/api/v1/applications/{id}/transitions/{name}/": {"post"},
    "/api/v1/applications/{id}/pdf/": {"get"},
    "/api/v1/integrity/records/": {"get", "post"},
    "/api/v1/integrity/records/{id}/": {"get"},
    "/api/v1/integrity/check/": {"get"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    out = io.StringIO()
    with django_db_blocker.unblock():
        # --fail-on-warn turns every warning (and error) of the generator into a failure.
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return yaml.safe_load(out.getvalue())


def test_schema_has_the_paths_of_api_md(schema):
    for path, methods in API_MD_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_records_take_no_update_or_delete(schema):
    assert set(schema["paths"]["/api/v1/integrity/records/{id}/"]) == {"get"}


def test_transition_and_pdf_and_check_are_described(schema):
    transition = schema["paths"]["/api/v1/applications/{id}/transitions/{name}/"]["post"]
    assert transition["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Application"
    }
    assert {"400", "404", "409"} <= set(transition["responses"])
    code = schema["components"]["schemas"]["Error"]["properties"]["code"]
    codes = schema["components"]["schemas"][code["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(codes) == {
        "invalid_transition", "integrity_block", "call_closed", "limit_exceeded",
        "conflict_of_interest", "budget_cap", "notice_open",
    }  # fmt: skip
    pdf = schema["paths"]["/api/v1/applications/{id}/pdf/"]["get"]
    assert list(pdf["responses"]["200"]["content"]) == ["application/pdf"]
    check = schema["paths"]["/api/v1/integrity/check/"]["get"]
    assert {p["name"] for p in check["parameters"]} >= {"user", "action"}
    eligibility = check["responses"]["200"]["content"]["application/json"]["schema"]
    assert eligibility == {"$ref": "#/components/schemas/Eligibility"}


def test_schema_and_docs_are_served_to_anyone():
    client = APIClient()  # integrators read the contract before they have an account
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/applications/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
