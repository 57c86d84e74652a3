"""The benchmark's bulk loader still works against the current models (no timing here)."""

from collections import Counter

import pytest
from django.db.models import F

from accounts.models import ExpertProfile, User
from accounts.roles import Role
from benchmarks.loader import bench_accounts, bench_counts, load_bench_data
from grants.enums import ApplicationState
from grants.models import Application, BudgetLine
from grants.selectors import applications_visible_to
from programs.permissions import managed_programs

pytestmark = pytest.mark.django_db


def test_loader_creates_the_requested_rows():
    accounts = load_bench_data(applications=50, users=40, calls=6)

    counts = bench_counts()
    assert (counts.applications, counts.users, counts.calls) == (50, 40, 6)
    assert accounts == bench_accounts()
    assert accounts["officer"].has_role(Role.PROGRAM_OFFICER)
    assert accounts["applicant"].has_role(Role.APPLICANT)
    assert User.objects.get(pk=accounts["agency"].pk).has_role(Role.AGENCY_STAFF)
    assert managed_programs(User.objects.get(pk=accounts["agency"].pk)).count() == 1
    assert ExpertProfile.objects.count() >= 3
    assert accounts["applicant"].check_password("bench")

    states = Counter(Application.objects.values_list("state", flat=True))
    assert len(states) > 3
    assert states[ApplicationState.ENDORSED] > 0 or states[ApplicationState.SUBMITTED] > 0
    # Submitted proposals carry a unique number; drafts none.
    numbers = list(
        Application.objects.exclude(state=ApplicationState.DRAFT).values_list("number", flat=True)
    )
    assert all(numbers) and len(set(numbers)) == len(numbers)
    assert not Application.objects.filter(state=ApplicationState.DRAFT, number__isnull=False)
    # Every proposal has a budget; every proposal's institution is its PI's.
    assert BudgetLine.objects.values("application").distinct().count() == 50
    assert not Application.objects.exclude(institution=F("applicant__institution"))
    # The measured applicant sees their own proposal.
    assert (
        applications_visible_to(accounts["applicant"])
        .filter(applicant=accounts["applicant"])
        .exists()
    )


def test_loader_refuses_too_few_users():
    with pytest.raises(ValueError, match="too few"):
        load_bench_data(applications=5, users=5, calls=1)
