"""Thin tasks: take primary keys, load, return quietly if the object is gone."""

import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from accounts.roles import Role


def _recipients(application, name):
    """Who hears of a step: the PI always; the institution's admins when it is their turn."""
    people = [application.applicant]
    if name == "submit":
        people += list(application.institution.members.filter(groups__name=Role.INSTITUTION_ADMIN))
    return [p for p in people if p.email and p.is_active]


@shared_task(
    bind=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=30,
    max_retries=5,
    acks_late=True,
)
def notify_transition(self, application_id, name):
    from .models import Application

    application = (
        Application.objects.select_related("call", "applicant", "institution")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        return 0
    sent = 0
    for person in _recipients(application, name):
        with translation.override(person.language):
            context = {"application": application, "name": name, "person": person}
            subject = render_to_string("grants/mail/transition_subject.txt", context).strip()
            body = render_to_string("grants/mail/transition_body.txt", context)
        sent += send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [person.email])
    return sent
