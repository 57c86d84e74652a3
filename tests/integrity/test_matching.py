"""Who a record is about: matching each way, ambiguity, and records that catch their subject
later (integrity.matching)."""

import pytest

from accounts import services as accounts
from accounts.models import hash_id_number
from integrity import exchange, services
from integrity.matching import Identity, Matcher, match_one, relink
from integrity.models import CreditRecord, MatchStatus
from integrity.tasks import relink_records
from tests.factories import AgencyFactory, InstitutionFactory, UserFactory, integrity_officer

from .identities import id_number, make_credit_code, orcid, row

pytestmark = pytest.mark.django_db


def person(**kw):
    return Identity(kind="researcher", **kw)


def test_a_person_matches_by_resident_id_number_first():
    user = UserFactory(full_name="李四", orcid=orcid(1))
    user.set_id_number(id_number(1))
    user.save()
    UserFactory(orcid=orcid(2))  # the ORCID named below belongs to someone else

    found = match_one(person(id_hash=hash_id_number(id_number(1)), orcid=orcid(2)))
    assert (found.status, found.user_id, found.via) == ("matched", user.pk, "id_number")


def test_then_by_orcid_then_by_name_and_institution():
    inst = InstitutionFactory(name="复旦大学", name_en="Fudan University")
    by_orcid = UserFactory(orcid=orcid(3))
    by_name = UserFactory(full_name="Wang Wu", institution=inst)

    found = match_one(person(id_hash=hash_id_number(id_number(9)), orcid=orcid(3)))
    assert (found.status, found.user_id, found.via) == ("matched", by_orcid.pk, "orcid")

    for institution in ("fudan  university", "复旦大学"):  # either name, spacing and case aside
        found = match_one(person(name="wang  wu", institution_name=institution))
        assert (found.status, found.user_id, found.via) == (
            "matched",
            by_name.pk,
            "name_institution",
        )
    found = match_one(person(name="Wang Wu", credit_code=inst.credit_code))
    assert found.user_id == by_name.pk
    # A name alone, or at another institution, is not enough.
    assert match_one(person(name="Wang Wu")).status == "unmatched"
    assert match_one(person(name="Wang Wu", institution_name="同济大学")).status == "unmatched"


def test_several_candidates_make_the_match_ambiguous():
    inst = InstitutionFactory(name="同济大学")
    a, b = (
        UserFactory(full_name="赵六", institution=inst),
        UserFactory(full_name="赵六", institution=inst),
    )
    UserFactory(full_name="赵六")  # elsewhere: not a candidate
    found = match_one(person(name="赵六", institution_name="同济大学"))
    assert found.status == "ambiguous" and sorted(found.candidates) == [a.pk, b.pk]
    # Two accounts with one ORCID iD are ambiguous too.
    UserFactory(orcid=orcid(5)), UserFactory(orcid=orcid(5))
    assert match_one(person(orcid=orcid(5))).status == "ambiguous"


def test_institutions_and_agencies_match_by_credit_code():
    inst = InstitutionFactory()
    agency = AgencyFactory(credit_code=make_credit_code(777))
    found = match_one(Identity(kind="institution", credit_code=inst.credit_code))
    assert (found.status, found.institution_id, found.agency_id) == ("matched", inst.pk, None)
    found = match_one(Identity(kind="agency", credit_code=agency.credit_code))
    assert (found.status, found.institution_id, found.agency_id) == ("matched", None, agency.pk)
    assert match_one(Identity(kind="institution", name=inst.name)).status == "unmatched"


def test_the_matcher_answers_a_whole_chunk_in_a_few_queries(django_assert_max_num_queries):
    inst = InstitutionFactory()
    identities = []
    for n in range(30):
        user = UserFactory(full_name=f"人{n}", institution=inst, orcid=orcid(100 + n))
        user.set_id_number(id_number(n))
        user.save()
        identities += [
            person(id_hash=hash_id_number(id_number(n))),
            person(orcid=orcid(100 + n)),
            person(name=f"人{n}", institution_name=inst.name),
        ]
    with django_assert_max_num_queries(5):
        matcher = Matcher(identities)
        results = [matcher.match(i) for i in identities]
    assert {r.status for r in results} == {"matched"}


# --- late catching ----------------------------------------------------------------------------


def imported(**fields):
    result = exchange.import_records(
        [row(**fields)], source="市教委", created_by=integrity_officer()
    )
    assert result.created == 1
    return CreditRecord.objects.get(import_batch=result.batch)


def test_a_record_catches_a_person_created_later_with_the_id_number():
    record = imported(name="孙七", id_number=id_number(7))
    assert record.match_status == "unmatched" and record.subject_user is None

    user = accounts.user_create(username="sun7", full_name="孙七", id_number=id_number(7))

    record.refresh_from_db()
    assert (record.subject_user, record.match_status) == (user, "matched")
    assert not services.check_eligibility("apply", users=[user])
    assert user.id_number_masked == "3101**********" + id_number(7)[-4:]


def test_a_record_catches_a_person_who_adds_an_id_number_or_orcid_later():
    by_id = imported(name="甲", id_number=id_number(8))
    by_orcid = imported(name="乙", orcid=orcid(8))
    user = UserFactory(full_name="某人")

    accounts.user_set_id_number(user=user, id_number=id_number(8))
    by_id.refresh_from_db()
    assert by_id.subject_user == user

    accounts.profile_update(user=user, orcid=orcid(8))
    by_orcid.refresh_from_db()
    assert by_orcid.subject_user == user


def test_a_record_catches_an_institution_registered_later():
    code = make_credit_code(4242)
    record = imported(subject_kind="institution", name="新研究院", credit_code=code)
    worker = imported(name="钱八", institution="新研究院")
    assert record.match_status == worker.match_status == "unmatched"

    inst = accounts.institution_create(name="新研究院", credit_code=code)
    record.refresh_from_db()
    assert record.subject_institution == inst
    assert not services.check_eligibility("apply", institutions=[inst])
    # A person given with that institution still needs an account.
    worker.refresh_from_db()
    assert worker.match_status == "unmatched"


def test_an_ambiguous_record_is_settled_when_an_identifier_decides():
    inst = InstitutionFactory(name="同济大学")
    twins = [UserFactory(full_name="赵六", institution=inst) for _ in range(2)]
    record = imported(name="赵六", institution="同济大学", orcid=orcid(6))
    assert record.match_status == "ambiguous"

    accounts.profile_update(user=twins[1], orcid=orcid(6))
    record.refresh_from_db()
    assert (record.subject_user, record.match_status) == (twins[1], "matched")


def test_the_periodic_relink_catches_accounts_made_behind_the_services():
    record = imported(name="周九", orcid=orcid(9))
    agency_record = imported(subject_kind="agency", credit_code=make_credit_code(99))
    user = UserFactory(orcid=orcid(9))  # the admin or a factory: no signal
    agency = AgencyFactory(credit_code=make_credit_code(99))

    assert relink_records.delay().get() == 2
    record.refresh_from_db()
    agency_record.refresh_from_db()
    assert record.subject_user == user and agency_record.subject_agency == agency
    assert relink() == 0


def test_a_linked_record_keeps_the_identity_as_given():
    record = imported(name="孙七", id_number=id_number(7), institution="某大学")
    accounts.user_create(username="s7", full_name="孙七（新）", id_number=id_number(7))
    record.refresh_from_db()
    assert record.match_status == MatchStatus.MATCHED
    assert (record.subject_name, record.subject_institution_name) == ("孙七", "某大学")
    assert record.subject_id_hash == hash_id_number(id_number(7))
