"""schemathesis against the OpenAPI schema (issue 7): every operation, called with a real
token of an officer and of an applicant on generated data, answers without a server error,
with a status code and content type the schema lists, and a body that fits the schema.

The schema is the one drf-spectacular serves at /api/schema/; requests go through the WSGI
application in the test's transaction, over a small world from the factories (programs,
calls, proposals in several states, credit records). Each operation runs as its own
Hypothesis test, derandomized and bounded, and every failing operation is reported at the
end with its reproduction.
"""

import pytest
import schemathesis
from django.apps import apps
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import translation
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import checks as st_checks

from audit import workflow
from config.wsgi import application as wsgi_app
from grants import services
from tests import factories as f

pytestmark = pytest.mark.django_db

#: Generated cases per operation and role: the whole run stays well under two minutes. The
#: PDF operations (WeasyPrint, seconds each) get fewer, always on an object that exists.
MAX_EXAMPLES = 4
PDF_EXAMPLES = 1
PDF_PATHS = ("/pdf/", "/contract/")
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _one_connection():
    """The WSGI handler closes the database connection at the end of each request (Django's
    test client switches that off): keep the test's transaction open across requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world():
    """Programs, calls, proposals in draft, submitted, endorsed and accepted; credit records."""
    officer = f.officer()
    pi = f.applicant()
    call = f.CallFactory()
    f.CallFactory(program=call.program)
    drafts = [f.ApplicationFactory(call=call, applicant=pi) for _ in range(2)]
    submitted = f.ApplicationFactory(call=call, applicant=pi)
    endorsed, accepted = (
        f.ApplicationFactory(call=call, applicant=f.applicant(institution=pi.institution))
        for _ in range(2)
    )
    for application in (submitted, endorsed, accepted):
        services.application_submit(application=application, user=application.applicant)
    for application in (endorsed, accepted):
        services.application_endorse(
            application=application, user=f.institution_admin(application.institution)
        )
    services.application_transition(application=accepted, name="accept", user=officer)
    f.CreditRecordFactory(subject_user=f.applicant())
    f.CreditRecordFactory(subject_institution=pi.institution, category="fabrication")
    f.review(accepted, 80)
    return {"officer": officer, "applicant": pi, "drafts": drafts}


def _schema(token):
    return schemathesis.openapi.from_wsgi(
        "/api/schema/", wsgi_app, headers={"Authorization": f"Token {token}"}
    )


#: First path segment under /api/v1/ → the model whose ids its ``{id}`` takes.
MODELS = {
    "agencies": "accounts.Agency",
    "applications": "grants.Application",
    "calls": "programs.Call",
    "disbursements": "finance.Disbursement",
    "institutions": "accounts.Institution",
    "integrity": None,  # records and cases: below
    "programs": "programs.Program",
    "projects": "grants.Project",
    "review-assignments": "review.ReviewAssignment",
    "reviews": "review.Review",
    "users": "accounts.User",
}
NESTED = {
    "integrity/records": "integrity.CreditRecord",
    "integrity/cases": "integrity.MisconductCase",
}


def _model(path):
    rest = path.removeprefix("/api/v1/")
    label = NESTED.get("/".join(rest.split("/")[:2])) or MODELS.get(rest.split("/")[0])
    return apps.get_model(label) if label else None


def _strategy(operation):
    """Generated cases whose ``{id}`` is, half of the time, the id of a row that exists, and
    whose transition ``{name}`` is often a real one: random numbers alone would only ever
    reach the 404 of the objects' views."""
    strategy = operation.as_strategy()
    model = _model(operation.path)
    if model is None or "{id}" not in operation.path:
        return strategy
    ids = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:20])
    names = []
    if "{name}" in operation.path and getattr(model, "FSM_FIELD", None):
        names = [t.name for t in workflow.all_transitions(model)]
    if not ids:
        return strategy

    def real(args):
        case, pk, name = args
        if pk is not None:
            case.path_parameters["id"] = pk
        if name is not None and "name" in case.path_parameters:
            case.path_parameters["name"] = name
        return case

    return st.tuples(
        strategy,
        st.sampled_from(ids)
        if _renders_pdf(operation)
        else st.one_of(st.none(), st.sampled_from(ids)),
        st.one_of(st.none(), st.sampled_from(names)) if names else st.none(),
    ).map(real)


def _renders_pdf(operation):
    return operation.path.endswith(PDF_PATHS)


def _run(operation, token):
    """The operation's Hypothesis test; the failure it raised, or None."""

    @given(case=_strategy(operation))
    @settings(
        max_examples=PDF_EXAMPLES if _renders_pdf(operation) else MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def test(case):
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)

    try:
        test()
    except Exception as exc:  # noqa: BLE001 - every operation's failure is collected, then reported
        return exc
    return None


@pytest.mark.parametrize("role", ["officer", "applicant"])
def test_every_operation_keeps_to_the_schema(world, role):
    token = Token.objects.create(user=world[role]).key
    schema = _schema(token)
    failures = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if (exc := _run(operation, token)) is not None:
            failures[operation.label] = exc
    assert operations > 30
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
