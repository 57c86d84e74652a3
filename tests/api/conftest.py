"""Shared pieces of the API tests: a proposal's world, and query counting for lists."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from tests.factories import (
    AgencyFactory,
    CallFactory,
    InstitutionFactory,
    ProgramFactory,
    UserFactory,
    agency_staff,
    applicant,
    institution_admin,
    officer,
)


class World:
    """An institution with a PI, a team member and its research office; a program
    delegated to an agency with one open call; an officer."""

    def __init__(self):
        self.institution = InstitutionFactory()
        self.pi = applicant(institution=self.institution)
        self.member = UserFactory(institution=self.institution)
        self.inst_admin = institution_admin(self.institution)
        self.agency = AgencyFactory()
        self.staff = agency_staff(self.agency)
        self.program = ProgramFactory(agency=self.agency)
        self.call = CallFactory(program=self.program)
        self.officer = officer()


@pytest.fixture
def world(db):
    return World()


def fresh_client(user):
    """A client for a fresh copy of ``user``: nothing cached on the user object (roles,
    managed programs) hides a query from the count."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(User.objects.get(pk=user.pk))
    return client


@pytest.fixture
def same_queries(django_assert_num_queries):
    """``same_queries(user, url, add_rows)``: GET ``url`` with one row, call ``add_rows()``
    (which makes 29 more), and GET again under the same number of queries."""

    def run(user, url, add_rows, expected_count=30):
        with CaptureQueriesContext(connection) as ctx:
            first = fresh_client(user).get(url)
        assert first.status_code == 200, first.content
        assert first.json()["count"] == 1
        add_rows()
        with django_assert_num_queries(len(ctx.captured_queries)):
            second = fresh_client(user).get(url + ("&" if "?" in url else "?") + "page_size=100")
        assert second.json()["count"] == expected_count
        return second

    return run
