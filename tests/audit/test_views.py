import csv
import io
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from audit.models import TransitionLog
from grants.models import Application
from grants.services import application_submit
from tests.accounts.helpers import get_counting
from tests.factories import (
    AgencyFactory,
    ApplicationFactory,
    agency_staff,
    applicant,
    auditor,
    institution_admin,
    integrity_officer,
    officer,
)

pytestmark = pytest.mark.django_db


def listed(response):
    return [row.record for row in response.context["table"].page.object_list]


def log_row(
    application,
    *,
    transition="submit",
    source="draft",
    target="submitted",
    actor=None,
    comment="",
    created_at=None,
):
    entry = TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(Application),
        object_id=application.pk,
        object_repr=str(application),
        transition=transition,
        source=source,
        target=target,
        actor=actor,
        actor_roles=sorted(actor.role_names) if actor else [],
        comment=comment,
    )
    if created_at is not None:
        TransitionLog.objects.filter(pk=entry.pk).update(created_at=created_at)
        entry.refresh_from_db()
    return entry


def test_real_transition_appears_with_a_link_to_the_proposal(login):
    application = ApplicationFactory()
    application_submit(application=application, user=application.applicant)
    entry = TransitionLog.objects.get()
    response = login(auditor()).get(reverse("audit:log"))
    assert listed(response) == [entry]
    assert (entry.transition, entry.source, entry.target) == ("submit", "draft", "submitted")
    assert f'href="{reverse("grants:detail", args=[application.pk])}"' in response.content.decode()


def test_filters(login):
    pi = applicant(username="pi-wang", full_name="王研究员")
    admin = institution_admin(pi.institution, username="dean-li")
    first = ApplicationFactory(applicant=pi, title="量子计算")
    second = ApplicationFactory(title="海洋生态")
    old = log_row(first, actor=pi, created_at=timezone.now() - timedelta(days=40))
    endorse = log_row(
        first,
        transition="endorse",
        source="submitted",
        target="endorsed",
        actor=admin,
        comment="材料属实",
    )
    other = log_row(second, actor=second.applicant)
    client = login(auditor())
    url = reverse("audit:log")
    ct = ContentType.objects.get_for_model(Application)

    assert set(listed(client.get(url, {"object_type": ct.pk}))) == {old, endorse, other}
    assert listed(client.get(url, {"transition": "endorse"})) == [endorse]
    assert listed(client.get(url, {"actor": "dean-li"})) == [endorse]
    assert set(listed(client.get(url, {"q": "量子"}))) == {old, endorse}
    assert listed(client.get(url, {"q": "属实"})) == [endorse]
    today = timezone.localdate()
    recent = client.get(
        url, {"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()}
    )
    assert set(listed(recent)) == {endorse, other}
    older = client.get(url, {"date_to": (today - timedelta(days=30)).isoformat()})
    assert listed(older) == [old]
    # Sorting by actor username, ascending.
    ordered = listed(client.get(url, {"sort": "actor", "transition": "submit"}))
    assert [e.actor.username for e in ordered] == sorted(e.actor.username for e in ordered)


def test_csv_export_follows_the_filter(login):
    pi = applicant(username="pi-csv")
    application = ApplicationFactory(applicant=pi)
    log_row(application, actor=pi, comment="=1+2 首次提交")
    log_row(application, transition="withdraw", source="submitted", target="withdrawn", actor=pi)
    response = login(auditor()).get(reverse("audit:log_csv"), {"transition": "submit"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:6] == ["id", "time", "object_type", "object_id", "object", "transition"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["object_type"], row["transition"], row["actor"], row["comment"]) == (
        "grants.application",
        "submit",
        "pi-csv",
        "'=1+2 首次提交",
    )
    # The comment began with "=": it is written as text, never as a formula.
    assert row["object_id"] == str(application.pk)


def test_officers_read_others_get_404(login):
    log_row(ApplicationFactory())
    assert len(listed(login(officer()).get(reverse("audit:log")))) == 1
    for outsider in (applicant(), integrity_officer(), agency_staff(AgencyFactory())):
        client = login(outsider)
        assert client.get(reverse("audit:log")).status_code == 404
        assert client.get(reverse("audit:log_csv")).status_code == 404


def test_log_is_read_only(login):
    entry = log_row(ApplicationFactory())
    client = login(auditor())
    page = client.get(reverse("audit:log")).content.decode()
    assert 'method="post"' not in page.split("<main", 1)[1]
    client.post(reverse("audit:log"), {"transition": "x"})
    entry.refresh_from_db()
    assert entry.transition == "submit"
    assert TransitionLog.objects.count() == 1


def test_log_queries_do_not_grow_with_rows(login, django_assert_num_queries):
    client = login(auditor())
    pi = applicant()
    log_row(ApplicationFactory(applicant=pi), actor=pi)
    url = reverse("audit:log")
    count, _ = get_counting(client, url)
    for _i in range(29):
        other = applicant()
        log_row(ApplicationFactory(applicant=other), actor=other)
    with django_assert_num_queries(count):
        response = client.get(url)
    assert response.context["table"].paginator.count == 30
