from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrity.models import CreditRecord
from integrity.services import check_eligibility
from tests.accounts.helpers import get_counting
from tests.factories import (
    AgencyFactory,
    CreditRecordFactory,
    InstitutionFactory,
    agency_staff,
    applicant,
    auditor,
    integrity_officer,
    officer,
)

pytestmark = pytest.mark.django_db


def record_data(**overrides):
    today = timezone.localdate()
    data = {
        "subject_user": "",
        "subject_institution": "",
        "category": "plagiarism",
        "bars": ["apply", "receive_funds"],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=3 * 365)).isoformat(),
        "decision": "取消申报资格三年",
        "deciding_body": "上海市科学技术委员会",
        "legal_basis": "上海市科技信用信息管理办法 第十条",
        "description": "论文抄袭。",
    }
    data.update(overrides)
    return data


def listed(response):
    return [row.record for row in response.context["table"].page.object_list]


def test_integrity_officer_records_a_bar_that_takes_effect(login):
    actor = integrity_officer()
    pi = applicant()
    response = login(actor).post(
        reverse("integrity:record_create"), record_data(subject_user=pi.username)
    )
    record = CreditRecord.objects.get()
    assert response["Location"] == reverse("integrity:record_detail", args=[record.pk])
    assert (record.subject_user, record.created_by) == (pi, actor)
    assert record.bars == ["apply", "receive_funds"]
    assert record.legal_basis == "上海市科技信用信息管理办法 第十条"
    assert not check_eligibility("apply", users=[pi])
    assert check_eligibility("review", users=[pi])


def test_record_form_errors_inline(login):
    client = login(integrity_officer())
    today = timezone.localdate()
    response = client.post(reverse("integrity:record_create"), record_data())
    assert response.context["form"].non_field_errors() == [
        "Name the person or the institution the record is about."
    ]
    response = client.post(
        reverse("integrity:record_create"),
        record_data(
            subject_user="nobody-here",
        ),
    )
    assert response.context["form"].errors["subject_user"] == [
        "No account has this username or email."
    ]
    institution = InstitutionFactory()
    response = client.post(
        reverse("integrity:record_create"),
        record_data(
            subject_institution=institution.pk,
            ends_on=(today - timedelta(days=1)).isoformat(),
        ),
    )
    assert response.context["form"].errors["ends_on"] == ["The period cannot end before it starts."]
    assert 'id="id_ends_on_error"' in response.content.decode()
    assert not CreditRecord.objects.exists()


def test_correction_supersedes_and_old_record_stays_visible(login):
    actor = integrity_officer()
    pi = applicant()
    old = CreditRecordFactory(subject_user=pi, bars_apply=True)
    client = login(actor)
    form_page = client.get(reverse("integrity:record_correct", args=[old.pk]))
    assert form_page.context["form"].initial["subject_user"] == pi.username

    response = client.post(
        reverse("integrity:record_correct", args=[old.pk]),
        record_data(subject_user=pi.username, bars=["review"], decision="改为取消评审资格"),
    )
    new = CreditRecord.objects.exclude(pk=old.pk).get()
    assert response["Location"] == reverse("integrity:record_detail", args=[new.pk])
    assert new.supersedes == old
    assert new.bars == ["review"]
    assert check_eligibility("apply", users=[pi])
    assert not check_eligibility("review", users=[pi])

    old_page = client.get(reverse("integrity:record_detail", args=[old.pk]))
    assert old_page.context["status"] == "superseded"
    assert old_page.context["may_correct"] is False
    assert reverse("integrity:record_detail", args=[new.pk]) in old_page.content.decode()

    listing = client.get(reverse("integrity:record_list"), {"status": "superseded"})
    assert listed(listing) == [old]
    listing = client.get(reverse("integrity:record_list"), {"status": "in_force"})
    assert listed(listing) == [new]

    # Correcting the superseded record again is refused and leads to the newest one.
    again = client.post(
        reverse("integrity:record_correct", args=[old.pk]), record_data(subject_user=pi.username)
    )
    assert again["Location"] == reverse("integrity:record_detail", args=[new.pk])
    assert CreditRecord.objects.count() == 2


def test_list_filters(login):
    today = timezone.localdate()
    pi = applicant(full_name="张三")
    institution = InstitutionFactory(name="上海测试研究所")
    in_force = CreditRecordFactory(subject_user=pi, bars_apply=True, category="plagiarism")
    expired = CreditRecordFactory(
        subject_institution=institution,
        bars_apply=False,
        bars_receive_funds=True,
        category="misuse_of_funds",
        starts_on=today - timedelta(days=800),
        ends_on=today - timedelta(days=10),
    )
    client = login(auditor())
    url = reverse("integrity:record_list")
    assert listed(client.get(url, {"status": "expired"})) == [expired]
    assert listed(client.get(url, {"status": "in_force"})) == [in_force]
    assert listed(client.get(url, {"bar": "receive_funds"})) == [expired]
    assert listed(client.get(url, {"category": "plagiarism"})) == [in_force]
    assert listed(client.get(url, {"subject": "张三"})) == [in_force]
    assert listed(client.get(url, {"subject": "测试研究所"})) == [expired]


def test_auditor_and_officer_read_but_do_not_write(login):
    record = CreditRecordFactory(subject_user=applicant())
    for reader in (auditor(), officer()):
        client = login(reader)
        page = client.get(reverse("integrity:record_detail", args=[record.pk]))
        assert page.context["record"] == record
        assert page.context["may_correct"] is False
        assert client.get(reverse("integrity:record_list")).context["may_write"] is False
        response = client.post(
            reverse("integrity:record_create"),
            record_data(subject_user=record.subject_user.username),
        )
        assert response.status_code == 404
        response = client.post(
            reverse("integrity:record_correct", args=[record.pk]),
            record_data(subject_user=record.subject_user.username),
        )
        assert response.status_code == 404
    assert CreditRecord.objects.count() == 1


def test_others_get_404(login):
    record = CreditRecordFactory(subject_user=applicant())
    for outsider in (applicant(), agency_staff(AgencyFactory())):
        client = login(outsider)
        assert client.get(reverse("integrity:record_list")).status_code == 404
        assert client.get(reverse("integrity:record_detail", args=[record.pk])).status_code == 404
        assert client.post(reverse("integrity:record_create"), record_data()).status_code == 404
    assert CreditRecord.objects.count() == 1


def test_record_list_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    client = login(integrity_officer())
    first = CreditRecordFactory(subject_user=applicant())
    url = reverse("integrity:record_list")
    count, _ = get_counting(client, url)
    CreditRecordFactory(subject_user=first.subject_user, supersedes=first)
    for _i in range(14):
        CreditRecordFactory(subject_user=applicant())
        CreditRecordFactory(subject_institution=InstitutionFactory())
    with django_assert_num_queries(count):
        response = client.get(url)
    assert response.context["table"].paginator.count == 30
