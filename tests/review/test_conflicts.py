"""Conflicts of interest: every kind, computed for every pair, with readable reasons."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.models import User
from grants.models import ExpertToAvoid, TeamMember
from review.conflicts import Reason, conflicts_for_call, explain_pair, join
from review.models import Affiliation, Collaboration, ConflictDeclaration
from tests.factories import CallFactory, InstitutionFactory, UserFactory, applicant

from .staffing_data import bar_from_reviewing, proposal, reviewer

pytestmark = pytest.mark.django_db

today = timezone.localdate()
YEAR = timedelta(days=365)


def test_join_is_an_equi_join():
    left, right = join([1, 2, 2, 9], [10, 20, 21, 90], [2, 1, 2, 3], [200, 100, 201, 300])
    assert sorted(zip(left.tolist(), right.tolist(), strict=True)) == [
        (10, 100), (20, 200), (20, 201), (21, 200), (21, 201),
    ]  # fmt: skip


@pytest.fixture
def planted():
    """One proposal and one reviewer per kind of conflict, plus clean controls."""
    call = CallFactory()
    home = InstitutionFactory(name="复旦大学", name_en="Fudan University")
    pi = applicant(institution=home)
    member_inst = InstitutionFactory()
    member = UserFactory(institution=member_inst)
    app = proposal(call, pi=pi)
    TeamMember.objects.create(application=app, user=member)
    r = {}
    r["pi_self"] = pi  # the PI is also a reviewer
    from django.contrib.auth.models import Group

    pi.groups.add(Group.objects.get(name="reviewer"))
    r["team"] = member
    member.groups.add(Group.objects.get(name="reviewer"))
    r["same_inst"] = reviewer(institution=home)
    r["team_inst"] = reviewer(institution=member_inst)
    r["past_inst"] = reviewer()
    Affiliation.objects.create(
        user=r["past_inst"], institution=home, started_on=today - 6 * YEAR,
        ended_on=today - 2 * YEAR,
    )  # fmt: skip
    r["old_inst"] = reviewer()  # left the PI's institution four years ago: no conflict
    Affiliation.objects.create(
        user=r["old_inst"], institution=home, started_on=today - 9 * YEAR,
        ended_on=today - 4 * YEAR,
    )  # fmt: skip
    r["pi_moved"] = reviewer()  # the PI worked at the reviewer's institution last year
    Affiliation.objects.create(
        user=pi, institution=r["pi_moved"].institution, started_on=today - 5 * YEAR,
        ended_on=today - YEAR,
    )  # fmt: skip
    r["paper"] = reviewer()
    Collaboration.objects.create(person=pi, partner=r["paper"], kind="paper", on=today - YEAR)
    r["patent_rev"] = reviewer()  # recorded the other way round
    Collaboration.objects.create(
        person=r["patent_rev"], partner=pi, kind="patent", on=today - 2 * YEAR
    )
    r["old_paper"] = reviewer()
    Collaboration.objects.create(
        person=pi, partner=r["old_paper"], kind="paper", on=today - 4 * YEAR
    )
    r["avoid_user"] = reviewer()
    ExpertToAvoid.objects.create(application=app, name="x", user=r["avoid_user"], reason="rival")
    r["avoid_name"] = reviewer(full_name="王小明", institution=InstitutionFactory(name="浙江大学"))
    ExpertToAvoid.objects.create(
        application=app, name="王 小明", institution="浙江大学", reason="competitor"
    )
    r["namesake"] = reviewer(full_name="王小明", institution=InstitutionFactory(name="南京大学"))
    r["declared"] = reviewer()
    ConflictDeclaration.objects.create(application=app, reviewer=r["declared"], reason="friend")
    r["barred"] = reviewer()
    bar_from_reviewing(r["barred"])
    r["clean"] = reviewer()
    r["clean_abroad"] = reviewer(country="US")
    return call, app, r


EXPECTED = {
    "pi_self": [Reason.PARTY, Reason.INSTITUTION],
    "team": [Reason.PARTY, Reason.INSTITUTION],
    "same_inst": [Reason.INSTITUTION],
    "team_inst": [Reason.INSTITUTION],
    "past_inst": [Reason.INSTITUTION],
    "pi_moved": [Reason.INSTITUTION],
    "paper": [Reason.COLLABORATION],
    "patent_rev": [Reason.COLLABORATION],
    "avoid_user": [Reason.AVOID],
    "avoid_name": [Reason.AVOID],
    "declared": [Reason.DECLARED],
    "barred": [Reason.BARRED],
}


def test_every_kind_of_conflict_with_its_reason(planted):
    call, app, r = planted
    found = conflicts_for_call(
        call, reviewers=User.objects.filter(pk__in=[u.pk for u in r.values()])
    )
    assert found == {(app.pk, r[name].pk): codes for name, codes in EXPECTED.items()}


def test_default_pool_is_every_active_reviewer(planted):
    call, app, r = planted
    found = conflicts_for_call(call)
    assert {k for k in found if k[0] == app.pk} == {(app.pk, r[n].pk) for n in EXPECTED}


def test_queries_do_not_grow_with_the_call(planted, django_assert_num_queries):
    call, app, r = planted
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        conflicts_for_call(call)
    for i in range(4):
        extra = proposal(call, topic=i)
        TeamMember.objects.create(application=extra, user=UserFactory())
        reviewer()
    with django_assert_num_queries(len(small)):
        conflicts_for_call(call)


@translation.override("en")
def test_explain_a_pair(planted):
    call, app, r = planted
    paper = explain_pair(app, r["paper"])
    assert [e.code for e in paper] == [Reason.COLLABORATION]
    assert paper[0].details[0].startswith("Joint paper")
    inst = explain_pair(app, r["same_inst"])
    assert inst[0].details == ("复旦大学",)
    assert inst[0].label.startswith("Same institution")
    assert explain_pair(app, r["declared"])[0].details == ("friend",)
    assert "bars reviewing" in explain_pair(app, r["barred"])[0].details[0]
    assert explain_pair(app, r["clean"]) == []
