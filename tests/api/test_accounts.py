"""Institutions, agencies and users through the API (api.md, Resources)."""

import pytest

from accounts.models import Agency, ExpertProfile, Institution, User
from accounts.roles import Role
from tests.factories import (
    AgencyFactory,
    InstitutionFactory,
    UserFactory,
    applicant,
    auditor,
    integrity_officer,
    make_credit_code,
    officer,
    reviewer,
)

pytestmark = pytest.mark.django_db

USER_FIELDS = {
    "id", "username", "email", "full_name", "roles", "institution", "country", "orcid",
    "expertise", "agency",
}  # fmt: skip


# --- institutions --------------------------------------------------------------------------


def test_institution_fields(api):
    inst = InstitutionFactory(name="复旦大学", name_en="Fudan University")
    data = api(applicant()).get(f"/api/v1/institutions/{inst.pk}/").json()
    assert data == {
        "id": inst.pk,
        "name": "复旦大学",
        "name_en": "Fudan University",
        "credit_code": inst.credit_code,
    }


def test_officer_creates_institution_with_checked_credit_code(api):
    code = make_credit_code(424242)
    response = api(officer()).post(
        "/api/v1/institutions/", {"name": "上海交通大学", "name_en": "SJTU", "credit_code": code}
    )
    assert response.status_code == 201
    assert Institution.objects.get(pk=response.json()["id"]).credit_code == code


def test_credit_code_with_wrong_check_character_is_400(api):
    code = make_credit_code(424242)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    response = api(officer()).post(
        "/api/v1/institutions/", {"name": "某研究所", "credit_code": wrong}
    )
    assert response.status_code == 400
    assert list(response.json()) == ["credit_code"]
    assert not Institution.objects.filter(credit_code=wrong).exists()


def test_applicant_may_read_but_not_write_institutions(api):
    client = api(applicant())
    assert client.get("/api/v1/institutions/").json()["count"] == 1
    response = client.post(
        "/api/v1/institutions/", {"name": "X", "credit_code": make_credit_code(7)}
    )
    assert response.status_code == 403
    assert Institution.objects.count() == 1


# --- agencies ------------------------------------------------------------------------------


def test_agency_fields_and_writes(api):
    agency = AgencyFactory(name="上海科技项目管理中心")
    data = api(applicant()).get(f"/api/v1/agencies/{agency.pk}/").json()
    assert {"id": agency.pk, "name": "上海科技项目管理中心"}.items() <= data.items()
    assert api(applicant()).post("/api/v1/agencies/", {"name": "X"}).status_code == 403
    created = api(officer()).post("/api/v1/agencies/", {"name": "第二机构"})
    assert created.status_code == 201
    assert Agency.objects.filter(name="第二机构").exists()


# --- users ---------------------------------------------------------------------------------


def test_user_fields_and_me(api):
    user = reviewer(
        username="r1", orcid="0000-0002-1825-0097", country="DE", full_name="Anna Schmidt"
    )
    ExpertProfile.objects.create(user=user, expertise=["catalysis", "surface science"])

    data = api(user).get("/api/v1/users/me/").json()

    assert set(data) == USER_FIELDS  # the password is never read back
    assert data == {
        "id": user.pk,
        "username": "r1",
        "email": "r1@example.org",
        "full_name": "Anna Schmidt",
        "roles": ["reviewer"],
        "institution": user.institution_id,
        "country": "DE",
        "orcid": "0000-0002-1825-0097",
        "expertise": ["catalysis", "surface science"],
        "agency": None,
    }


def test_officer_creates_reviewer_with_expertise(api):
    inst = InstitutionFactory()
    response = api(officer()).post(
        "/api/v1/users/",
        {
            "username": "new.reviewer",
            "password": "a-long-secret-2027",
            "email": "nr@example.org",
            "full_name": "新专家",
            "roles": ["reviewer"],
            "institution": inst.pk,
            "country": "GB",
            "orcid": "0000000218250097",
            "expertise": ["graphene"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    user = User.objects.get(username="new.reviewer")
    assert user.check_password("a-long-secret-2027")
    assert user.role_names == {"reviewer"}
    assert user.expert_profile.expertise == ["graphene"]
    assert user.orcid == "0000-0002-1825-0097"  # stored in canonical form
    assert response.json()["roles"] == ["reviewer"]
    assert response.json()["expertise"] == ["graphene"]
    assert "password" not in response.json()


@pytest.mark.parametrize(
    "role",
    [Role.PROGRAM_OFFICER, Role.AGENCY_STAFF, Role.INTEGRITY_OFFICER, Role.AUDITOR],
)
def test_officer_may_not_give_staff_roles(api, role):
    extra = {"agency": AgencyFactory().pk} if role == Role.AGENCY_STAFF else {}
    response = api(officer()).post(
        "/api/v1/users/", {"username": "staffer", "roles": [role], **extra}, format="json"
    )
    assert response.status_code == 403
    assert "detail" in response.json()
    assert not User.objects.filter(username="staffer").exists()


def test_admin_gives_staff_roles(api):
    admin = UserFactory(is_superuser=True, institution=None)
    agency = AgencyFactory()
    response = api(admin).post(
        "/api/v1/users/",
        {"username": "agent", "roles": ["agency_staff"], "agency": agency.pk},
        format="json",
    )
    assert response.status_code == 201, response.json()
    user = User.objects.get(username="agent")
    assert user.role_names == {"agency_staff"}
    assert user.agency == agency
    agency.refresh_from_db()
    assert user.groups.filter(pk=agency.group_id).exists()  # gets the agency's object grants
    assert not user.has_usable_password()


def test_agency_staff_without_agency_is_400(api):
    admin = UserFactory(is_superuser=True, institution=None)
    response = api(admin).post(
        "/api/v1/users/", {"username": "agent", "roles": ["agency_staff"]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["agency"]


@pytest.mark.parametrize("maker", [applicant, reviewer, auditor, integrity_officer])
def test_only_admins_and_officers_create_users(api, maker):
    response = api(maker()).post(
        "/api/v1/users/", {"username": "someone", "roles": ["applicant"]}, format="json"
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="someone").exists()


def test_bad_orcid_country_and_weak_password_are_field_errors(api):
    response = api(officer()).post(
        "/api/v1/users/",
        {
            "username": "x",
            "roles": ["applicant"],
            "orcid": "0000-0002-1825-0098",
            "country": "XX",
            "password": "123",
        },
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"orcid", "country", "password"}
    assert not User.objects.filter(username="x").exists()


def test_unknown_role_is_400(api):
    response = api(officer()).post(
        "/api/v1/users/", {"username": "x", "roles": ["king"]}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["roles"]


def test_non_staff_read_only_themselves(api):
    me, other = applicant(), applicant()
    client = api(me)

    listing = client.get("/api/v1/users/").json()
    assert [u["id"] for u in listing["results"]] == [me.pk]
    assert client.get(f"/api/v1/users/{other.pk}/").status_code == 404
    assert client.get(f"/api/v1/users/{me.pk}/").json()["id"] == me.pk


@pytest.mark.parametrize("maker", [officer, auditor, integrity_officer])
def test_staff_read_all_users(api, maker):
    staff = maker()
    others = [applicant(), reviewer()]
    listing = api(staff).get("/api/v1/users/?page_size=500").json()
    assert sorted(u["id"] for u in listing["results"]) == sorted(
        [staff.pk] + [u.pk for u in others]
    )
    assert api(staff).get(f"/api/v1/users/{others[0].pk}/").json()["id"] == others[0].pk


def test_users_filter_by_role(api):
    r = reviewer()
    applicant()
    listing = api(officer()).get("/api/v1/users/?role=reviewer").json()
    assert [u["id"] for u in listing["results"]] == [r.pk]


def test_user_list_queries_do_not_grow(same_queries):
    reviewer(institution=None)  # the only reviewer at first

    def add_rows():
        for _i in range(29):
            ExpertProfile.objects.create(user=reviewer(), expertise=["graphene"])

    response = same_queries(officer(), "/api/v1/users/?role=reviewer", add_rows)
    assert {tuple(u["roles"]) for u in response.json()["results"]} == {("reviewer",)}
