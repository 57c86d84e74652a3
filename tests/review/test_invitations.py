"""Invitations: mail in the reviewer's language with working accept/decline links; answers,
conflicts, the integrity pledge and integrity gates; expiry and reminders by celery beat."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from audit.models import TransitionLog
from audit.workflow import WorkflowError
from grants.enums import ApplicationState
from review import services, tasks
from review.models import AssignmentState, ConflictDeclaration, IntegrityPledge
from tests import factories as f

A = AssignmentState
S = ApplicationState
pytestmark = pytest.mark.django_db

FOOTER = "Grantflow — research funding management"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.GRANTFLOW_SITE_URL = "https://grantflow.example.org"


def proposal(call=None, **kw):
    application = f.ApplicationFactory(call=call or f.CallFactory(), **kw)
    return f.set_state(application, S.UNDER_REVIEW, number=f"BF-2027-{application.pk:06d}")


def invitation(reviewer=None, application=None, respond_in=7, **kw):
    return f.ReviewAssignmentFactory(
        application=application or proposal(),
        reviewer=reviewer or f.reviewer(),
        state=A.INVITED,
        respond_by=timezone.localdate() + timedelta(days=respond_in),
        **kw,
    )


def links(body):
    return re.findall(r"https://grantflow\.example\.org(/\S+)", body)


# --- the invitation mail --------------------------------------------------------------------


def test_international_reviewer_gets_english_mail_with_the_english_title(
    mailoutbox, django_capture_on_commit_callbacks
):
    expert = f.reviewer(country="DE", language="zh-hans", email="mueller@example.de")
    application = proposal(
        title="量子材料中的拓扑相变研究", title_en="Topological transitions in quantum matter"
    )
    assignment = invitation(expert, application)
    with django_capture_on_commit_callbacks(execute=True):
        services.invite([assignment.pk])
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["mueller@example.de"]
    assert mail.subject == f"Invitation to review proposal {application.number}"
    assert "Topological transitions in quantum matter" in mail.body
    assert "量子材料" not in mail.body
    assert f"Please answer by {assignment.respond_by:%Y-%m-%d}." in mail.body
    assert links(mail.body)[:2] == [
        f"/review/invitation/{assignment.token}/accept/",
        f"/review/invitation/{assignment.token}/decline/",
    ]


def test_domestic_reviewer_gets_mail_in_chinese_with_the_chinese_title(
    mailoutbox, django_capture_on_commit_callbacks
):
    with translation.override("zh-hans"):
        chinese_footer = gettext(FOOTER)
    assert chinese_footer != FOOTER  # the catalogue has it
    expert = f.reviewer(country="CN", language="zh-hans")
    application = proposal(title="城市内涝预测", title_en="Urban flood prediction")
    with django_capture_on_commit_callbacks(execute=True):
        services.invite([invitation(expert, application).pk])
    body = mailoutbox[0].body
    assert "城市内涝预测" in body
    assert "Urban flood prediction" not in body
    assert chinese_footer in body


def test_domestic_reviewer_reading_english_gets_english(
    mailoutbox, django_capture_on_commit_callbacks
):
    expert = f.reviewer(country="CN", language="en")
    application = proposal(title="城市内涝预测", title_en="Urban flood prediction")
    with django_capture_on_commit_callbacks(execute=True):
        services.invite([invitation(expert, application).pk])
    assert "Urban flood prediction" in mailoutbox[0].body
    assert FOOTER in mailoutbox[0].body


def test_nothing_is_mailed_before_the_commit(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invite([invitation().pk])
    assert len(callbacks) == 1
    assert mailoutbox == []


def test_answered_invitations_are_not_mailed(mailoutbox, django_capture_on_commit_callbacks):
    answered = invitation()
    f.ReviewAssignmentFactory(application=answered.application, state=A.DECLINED)
    from review.models import ReviewAssignment

    ReviewAssignment.objects.filter(pk=answered.pk).update(state=A.DECLINED)
    with django_capture_on_commit_callbacks(execute=True):
        services.invite([answered.pk])
    assert mailoutbox == []


def test_accept_link_from_the_mail_needs_login_then_accepts(
    mailoutbox, django_capture_on_commit_callbacks
):
    expert = f.reviewer(country="DE", language="en")
    assignment = invitation(expert)
    with django_capture_on_commit_callbacks(execute=True):
        services.invite([assignment.pk])
    accept_path = links(mailoutbox[0].body)[0]

    client = Client()
    response = client.get(accept_path)
    assert response.status_code == 302
    login_url = urlparse(response["Location"])
    assert login_url.path == reverse("accounts:login")
    assert accept_path in response["Location"]

    client.force_login(expert)
    page = client.get(accept_path)
    assert page.status_code == 200
    assert b"Integrity pledge" in page.content  # first review of the call: sign first
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED  # a GET changes nothing (mail scanners)

    refused = client.post(accept_path, {})
    assert refused.status_code == 400
    assert "Tick the box to sign the pledge." in refused.content.decode()
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(accept_path, {"pledge-agree": "on"})
    assert done.status_code == 302
    assert done["Location"] == reverse("review:assignment", args=[assignment.pk])
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED
    assert assignment.responded_at is not None
    assert IntegrityPledge.objects.filter(
        reviewer=expert, call=assignment.application.call
    ).exists()
    log = TransitionLog.objects.for_object(assignment).get()
    assert (log.transition, log.actor_id) == ("accept", expert.pk)


def test_decline_link_declines_with_a_reason(mailoutbox, django_capture_on_commit_callbacks):
    expert = f.reviewer(language="en")
    assignment = invitation(expert)
    with django_capture_on_commit_callbacks(execute=True):
        services.invite([assignment.pk])
    decline_path = links(mailoutbox[0].body)[1]
    client = Client()
    client.force_login(expert)
    assert client.get(decline_path).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decline_path, {"decline-comment": "On leave until May."})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.state == A.DECLINED
    assert TransitionLog.objects.for_object(assignment).get().comment == "On leave until May."


def test_invitation_link_of_another_reviewer_is_404(login):
    assignment = invitation()
    intruder = f.reviewer()
    client = login(intruder)
    for name in ("invitation_accept", "invitation_decline"):
        url = reverse(f"review:{name}", args=[assignment.token])
        assert client.get(url).status_code == 404
        assert client.post(url, {"pledge-agree": "on"}).status_code == 404
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED


def test_answered_invitation_link_says_so(login):
    assignment = invitation()
    services.pledge_sign(reviewer=assignment.reviewer, call=assignment.application.call)
    services.assignment_accept(assignment=assignment, user=assignment.reviewer)
    client = login(assignment.reviewer)
    url = reverse("review:invitation_decline", args=[assignment.token])
    response = client.post(url, {"decline-comment": "changed my mind"})
    assert "already been answered" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED


# --- answers, the pledge, integrity gates ---------------------------------------------------


def test_accepting_without_the_pledge_is_refused_with_a_clear_error():
    assignment = invitation()
    with pytest.raises(WorkflowError) as exc:
        services.assignment_accept(assignment=assignment, user=assignment.reviewer)
    assert exc.value.code == "invalid_transition"
    assert "integrity pledge" in exc.value.detail
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED


def test_one_pledge_covers_every_assignment_of_the_call():
    call = f.CallFactory()
    expert = f.reviewer()
    first, second = invitation(expert, proposal(call)), invitation(expert, proposal(call))
    services.pledge_sign(reviewer=expert, call=call)
    services.assignment_accept(assignment=first, user=expert)
    services.assignment_accept(assignment=second, user=expert)
    assert IntegrityPledge.objects.filter(reviewer=expert).count() == 1
    other_call = invitation(expert)
    with pytest.raises(WorkflowError):
        services.assignment_accept(assignment=other_call, user=expert)


def test_pledge_page_shows_both_languages_and_signs(login):
    assignment = invitation()
    call = assignment.application.call
    client = login(assignment.reviewer)
    url = reverse("review:pledge", args=[call.pk])
    page = client.get(url).content.decode()
    assert "请托" in page and "打招呼" in page
    assert "intercession" in page and "Hiding an approach is misconduct" in page
    response = client.post(url, {"pledge-agree": "on", "next": "/review/my/"})
    assert response.status_code == 302
    assert response["Location"] == "/review/my/"
    pledge = IntegrityPledge.objects.get(reviewer=assignment.reviewer, call=call)
    assert pledge.text_version == services.PLEDGE_VERSION


def test_pledge_page_of_a_call_without_invitation_is_404(login):
    call = f.CallFactory()
    assert login(f.reviewer()).get(reverse("review:pledge", args=[call.pk])).status_code == 404


def test_barred_reviewer_cannot_accept():
    assignment = invitation()
    services.pledge_sign(reviewer=assignment.reviewer, call=assignment.application.call)
    f.CreditRecordFactory(subject_user=assignment.reviewer, bars_apply=False, bars_review=True)
    with pytest.raises(WorkflowError) as exc:
        services.assignment_accept(assignment=assignment, user=assignment.reviewer)
    assert exc.value.code == "integrity_block"
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED


def test_only_the_invited_reviewer_answers():
    assignment = invitation()
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.assignment_decline(assignment=assignment, user=f.reviewer())
    assignment.refresh_from_db()
    assert assignment.state == A.INVITED


def test_declare_conflict_records_the_declaration_and_needs_a_reason():
    from django.core.exceptions import ValidationError

    assignment = invitation()
    with pytest.raises(ValidationError) as exc:
        services.assignment_declare_conflict(
            assignment=assignment, user=assignment.reviewer, reason="  "
        )
    assert "comment" in exc.value.message_dict
    services.assignment_declare_conflict(
        assignment=assignment, user=assignment.reviewer, reason="Former PhD student of the PI."
    )
    assignment.refresh_from_db()
    assert assignment.state == A.CONFLICT
    declaration = ConflictDeclaration.objects.get()
    assert (declaration.reviewer_id, declaration.application_id) == (
        assignment.reviewer_id,
        assignment.application_id,
    )
    assert declaration.reason == "Former PhD student of the PI."


def test_conflict_can_be_declared_after_accepting(login):
    assignment = invitation()
    services.pledge_sign(reviewer=assignment.reviewer, call=assignment.application.call)
    services.assignment_accept(assignment=assignment, user=assignment.reviewer)
    client = login(assignment.reviewer)
    url = reverse("review:assignment_step", args=[assignment.pk, "declare_conflict"])
    refused = client.post(url, {"conflict-comment": ""})
    assert refused.status_code == 400
    assignment.refresh_from_db()
    assert assignment.state == A.ACCEPTED
    client.post(url, {"conflict-comment": "Joint patent with the PI in 2025."})
    assignment.refresh_from_db()
    assert assignment.state == A.CONFLICT


# --- celery beat: expiry and reminders ------------------------------------------------------


def test_expiry_task_expires_only_invitations_past_their_date(django_capture_on_commit_callbacks):
    late = invitation(respond_in=-1)
    today = invitation(respond_in=0)
    answered = invitation(respond_in=-3)
    services.pledge_sign(reviewer=answered.reviewer, call=answered.application.call)
    services.assignment_accept(assignment=answered, user=answered.reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.expire_review_invitations() == 1
    for assignment in (late, today, answered):
        assignment.refresh_from_db()
    assert (late.state, today.state, answered.state) == (A.EXPIRED, A.INVITED, A.ACCEPTED)
    log = TransitionLog.objects.for_object(late).get()
    assert (log.transition, log.actor_id) == ("expire", None)


def test_reviewers_cannot_expire_their_own_invitation():
    assignment = invitation(respond_in=-1)
    with pytest.raises(WorkflowError):
        services.assignment_transition(
            assignment=assignment, name="expire", user=assignment.reviewer
        )


def test_expired_invitation_is_replaced_by_the_engine(django_capture_on_commit_callbacks):
    assignment_module = pytest.importorskip("review.assignment")
    from review.models import ReviewAssignment

    call = f.CallFactory(reviewers_per_application=1, min_international_reviewers=0)
    application = proposal(call)
    late = invitation(application=application, respond_in=-1)
    kept = proposal(call)
    keeper = invitation(application=kept)
    others = [f.reviewer() for _ in range(3)]
    assert others
    with django_capture_on_commit_callbacks(execute=True):
        tasks.expire_review_invitations()
    late.refresh_from_db()
    assert late.state == A.EXPIRED
    active = ReviewAssignment.objects.filter(
        application=application, state__in=[A.INVITED, A.ACCEPTED, A.SUBMITTED]
    )
    assert active.count() == 1
    assert active.get().reviewer_id != late.reviewer_id
    # The other proposal's assignment is untouched.
    keeper.refresh_from_db()
    assert keeper.state == A.INVITED
    assert ReviewAssignment.objects.filter(application=kept).count() == 1
    assert hasattr(assignment_module, "assign_call")


def test_reminders_are_sent_once_three_days_before_the_deadline(
    mailoutbox, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    due_call = f.CallFactory(review_deadline=today + timedelta(days=3))
    later_call = f.CallFactory(review_deadline=today + timedelta(days=10))
    writing = invitation(f.reviewer(language="en"), proposal(due_call))
    services.pledge_sign(reviewer=writing.reviewer, call=due_call)
    services.assignment_accept(assignment=writing, user=writing.reviewer)
    silent = invitation(f.reviewer(language="en"), proposal(due_call))
    done = f.ReviewAssignmentFactory(application=proposal(due_call), state=A.SUBMITTED)
    not_yet = invitation(f.reviewer(), proposal(later_call))

    assert tasks.remind_reviewers() == 2
    recipients = sorted(m.to[0] for m in mailoutbox)
    assert recipients == sorted([writing.reviewer.email, silent.reviewer.email])
    by_to = {m.to[0]: m for m in mailoutbox}
    deadline = f"{due_call.review_deadline:%Y-%m-%d}"
    assert by_to[writing.reviewer.email].subject.endswith(f"is due on {deadline}")
    assert "in 3 days" in by_to[writing.reviewer.email].body
    assert "You have not answered the invitation yet." in by_to[silent.reviewer.email].body

    assert tasks.remind_reviewers() == 0  # once only
    assert len(mailoutbox) == 2
    for assignment in (writing, silent, done, not_yet):
        assignment.refresh_from_db()
    assert writing.reminded_at and silent.reminded_at
    assert done.reminded_at is None and not_yet.reminded_at is None


def test_beat_schedule_runs_the_review_tasks(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "review.tasks.expire_review_invitations",
        "review.tasks.remind_reviewers",
    } <= tasks_scheduled


# --- concurrency (PostgreSQL: row locks decide) ---------------------------------------------


def race(*calls, timeout=60):
    """Run the callables at once, one thread (and database connection) each."""
    import threading

    from django.db import close_old_connections, connections

    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), [None] * len(calls)

    def run(i, fn):
        try:
            close_old_connections()
            barrier.wait(timeout=timeout)
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 — the test inspects every outcome
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_accept_and_expire_at_once_one_wins():
    from django.db import connection

    from review.models import ReviewAssignment

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (DATABASE_URL)")
    assignment = invitation(respond_in=-1)
    services.pledge_sign(reviewer=assignment.reviewer, call=assignment.application.call)

    def fresh():
        return ReviewAssignment.objects.get(pk=assignment.pk)

    results, errors = race(
        lambda: services.assignment_accept(assignment=fresh(), user=assignment.reviewer),
        lambda: services.assignment_expire(assignment=fresh()),
    )
    assert sum(r is not None for r in results) == 1
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, WorkflowError) and error.code == "invalid_transition"
    final = fresh()
    assert final.state in (A.ACCEPTED, A.EXPIRED)
    assert [log.transition for log in TransitionLog.objects.for_object(final)] == [
        "accept" if final.state == A.ACCEPTED else "expire"
    ]
