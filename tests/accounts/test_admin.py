"""The Django admin is the sysadmin's tool: every model is there, the logs are read-only."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import User
from audit.models import TransitionLog
from grants.services import application_submit
from integrity.models import CreditRecord
from programs.models import Program
from programs.permissions import managed_programs
from tests.factories import (
    AgencyFactory,
    ApplicationFactory,
    CreditRecordFactory,
    ProgramFactory,
    UserFactory,
    agency_staff,
    applicant,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(login):
    return login(UserFactory(is_superuser=True, is_staff=True, institution=None))


def test_every_model_is_registered_and_lists(admin_client):
    application = ApplicationFactory()
    application_submit(application=application, user=application.applicant)
    CreditRecordFactory(subject_user=applicant())
    for app_label in (
        "accounts",
        "programs",
        "grants",
        "integrity",
        "audit",
        "review",
        "finance",
        "insights",
    ):
        from django.apps import apps

        for model in apps.get_app_config(app_label).get_models():
            assert model in admin.site._registry, model
            url = reverse(f"admin:{app_label}_{model._meta.model_name}_changelist")
            response = admin_client.get(url)
            assert response.status_code == 200, url
            assert response.context["cl"].result_count == model._default_manager.count()
            obj = model._default_manager.first()
            if obj is not None:
                change = reverse(
                    f"admin:{app_label}_{model._meta.model_name}_change", args=[obj.pk]
                )
                assert admin_client.get(change).status_code == 200, change


def test_logs_and_credit_records_are_read_only(admin_client):
    application = ApplicationFactory()
    application_submit(application=application, user=application.applicant)
    entry = TransitionLog.objects.get()
    record = CreditRecordFactory(subject_user=applicant())
    for model, obj in ((TransitionLog, entry), (CreditRecord, record)):
        model_admin = admin.site._registry[model]
        request = admin_client.get("/").wsgi_request
        request.user = User.objects.get(is_superuser=True)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, obj)
        assert not model_admin.has_delete_permission(request, obj)
        opts = model._meta
        add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code == 403
        delete = admin_client.post(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk]),
            {"post": "yes"},
        )
        assert delete.status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


def test_admin_delegation_goes_through_the_service(admin_client):
    agency = AgencyFactory()
    staff = agency_staff(agency)
    program = ProgramFactory()
    response = admin_client.post(
        reverse("admin:programs_program_change", args=[program.pk]),
        {
            "code": program.code,
            "name": program.name,
            "name_en": program.name_en,
            "category": program.category,
            "funding_mode": program.funding_mode,
            "agency": agency.pk,
            "rule_set": "",
            "default_scoring_scheme": program.default_scoring_scheme,
            "description": "",
            "calls-TOTAL_FORMS": "0",
            "calls-INITIAL_FORMS": "0",
            "calls-MIN_NUM_FORMS": "0",
            "calls-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert list(managed_programs(staff)) == [Program.objects.get(pk=program.pk)]


def test_user_admin_shows_grantflow_fields(admin_client):
    user = applicant()
    response = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    form = response.context["adminform"].form
    assert {"full_name", "institution", "orcid", "language", "country"} <= set(form.fields)
