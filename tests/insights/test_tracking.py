"""Tracking: keyword trends (counts per year, growth score, rising topics, CSV), tracked
teams (suggestions from grades, add/remove with reason and history), permissions, queries."""

import csv
import io
import random
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from finance.models import FinalEvaluation
from grants.models import Project
from insights import tracking
from insights.models import TrackedTeam
from tests import factories as f

pytestmark = pytest.mark.django_db

TRENDS = "/insights/tracking/trends/"
TEAMS = "/insights/tracking/teams/"
SUGGESTIONS = "/insights/tracking/suggestions/"


def call_in(year):
    opens = timezone.make_aware(datetime(year, 3, 1, 9, 0))
    return f.CallFactory(opens_at=opens, closes_at=opens + (timezone.timedelta(days=30)))


def proposals(call, keyword_lists, state="submitted"):
    pi = f.applicant()
    apps = []
    for kw, kw_en in keyword_lists:
        a = f.ApplicationFactory(call=call, applicant=pi, keywords=kw, keywords_en=kw_en,
                                 budget=False)  # fmt: skip
        apps.append(f.set_state(a, state))
    return apps


# --- keyword trends -------------------------------------------------------------------


def test_normalise_and_bridge_join_languages_and_case():
    rows = [
        (["量子材料", "拓扑"], ["Quantum Materials", "topology"], 2024),
        ([], ["quantum  materials "], 2024),
        (["量子材料"], [], 2024),
        (["量子材料"], ["quantum materials"], 2024),  # named twice: still one count
    ]
    trends = tracking.keyword_trends(rows)
    topic = next(t for t in trends.topics if "量子材料" in t.label)
    assert topic.label == "量子材料 / quantum materials"
    assert topic.counts == {2024: 4}
    assert trends.totals == {2024: 4}


def test_counts_and_growth_score_on_generated_data_match_independent_computation():
    rng = random.Random(6)
    vocab = [("深度学习", "deep learning"), ("量子计算", "quantum computing"),
             ("碳中和", "carbon neutrality"), ("基因编辑", "gene editing"),
             ("储能", "energy storage")]  # fmt: skip
    years = [2023, 2024, 2025]
    weights = {2023: [5, 1, 3, 2, 2], 2024: [5, 2, 2, 2, 2], 2025: [2, 6, 2, 1, 3]}
    expected = defaultdict(lambda: defaultdict(int))
    totals = defaultdict(int)
    for year in years:
        call = call_in(year)
        lists = []
        for _ in range(rng.randint(12, 18)):
            picks = sorted(set(rng.choices(range(len(vocab)), weights=weights[year], k=2)))
            zh = [vocab[i][0] for i in picks]
            en = [vocab[i][1].title() for i in picks]
            if rng.random() < 0.3:  # some list only one language
                en = []
            lists.append((zh, en))
            totals[year] += 1
            for i in picks:
                expected[vocab[i][1]][year] += 1
        proposals(call, lists)
    # Drafts do not count.
    proposals(call_in(2025), [(["深度学习"], ["deep learning"])], state="draft")

    trends = tracking.keyword_trends(year=2025)
    assert trends.totals == dict(totals)
    by_en = {t.label.split(" / ")[1]: t for t in trends.topics}
    assert set(by_en) == set(expected)
    for en, counts in expected.items():
        topic = by_en[en]
        assert topic.counts == dict(counts)
        shares = {y: counts.get(y, 0) / totals[y] for y in years}
        score = (shares[2025] + 0.01) / ((shares[2024] + shares[2023]) / 2 + 0.01)
        assert topic.score == pytest.approx(score)
        assert topic.count == counts.get(2025, 0)
        assert topic.rising == (counts.get(2025, 0) >= 3 and score > 1)
    # Ordering: rising first by score desc, then the rest by score desc.
    ranked = [t for t in trends.topics]
    keys = [(not t.rising, -t.score, -t.count) for t in ranked]
    assert keys == sorted(keys)
    assert by_en["quantum computing"].rising
    assert trends.rising[0] is by_en["quantum computing"]


def test_growth_score_new_topic_and_minimum_count():
    rows = [([f"旧{i}"], [], 2023) for i in range(10)]
    rows += [([f"旧{i}"], [], 2024) for i in range(10)]
    rows += [(["新方向"], [], 2025)] * 3 + [(["偶发"], [], 2025)] * 2 + [(["旧1"], [], 2025)] * 5
    trends = tracking.keyword_trends(rows)
    assert trends.year == 2025
    new = next(t for t in trends.topics if t.label == "新方向")
    assert new.score == pytest.approx((0.3 + 0.01) / 0.01)
    rare = next(t for t in trends.topics if t.label == "偶发")
    assert rare.score > 1 and not rare.rising  # 2 < MIN_COUNT
    assert [t.label for t in trends.rising] == ["新方向", "旧1"]


def test_trends_page_table_sparkline_and_csv(login):
    proposals(call_in(2024), [(["机器人"], ["robotics"])] * 2)
    proposals(call_in(2025), [(["机器人"], ["robotics"])] * 4 + [(["材料"], ["materials"])])
    client = login(f.officer())
    page = client.get(TRENDS)
    body = page.content.decode()
    assert page.status_code == 200
    assert "机器人 / robotics" in body and "<polyline" in body and "Rising topics" in body
    response = client.get("/insights/tracking/trends/export/?year=2025")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["topic", "year", "count"]
    robot = next(r for r in rows if r[0] == "机器人 / robotics")
    assert robot[2] == "4" and robot[6] == "1"
    assert robot[-2:] == ["2", "4"]  # count_2024, count_2025


# --- tracked teams --------------------------------------------------------------------


def project_for(pi, grade="", budget="500000.00"):
    a = f.ApplicationFactory(applicant=pi, budget=False)
    a = f.set_state(a, "awarded", number=f"BF-2025-{a.pk:06d}")
    p = Project.objects.create(application=a, number=f"XM-2025-{a.pk:06d}",
                               approved_budget=Decimal(budget))  # fmt: skip
    if grade:
        FinalEvaluation.objects.create(project=p, submitted_by=pi, outcome="passed",
                                       grade=grade, decided_at=timezone.now())  # fmt: skip
    return p


def test_suggestions_from_generated_grades():
    rng = random.Random(7)
    expected = set()
    for _ in range(12):
        pi = f.applicant()
        grades = [rng.choice(["excellent", "good", "pass", "fail", ""]) for _ in range(3)]
        for g in grades:
            project_for(pi, g)
        if grades.count("excellent") >= 2:
            expected.add(pi.pk)
    tracked_pi = f.applicant()
    project_for(tracked_pi, "excellent")
    project_for(tracked_pi, "excellent")
    tracking.team_add(pi=tracked_pi, team_name="T", reason="r", by=f.officer())
    assert set(tracking.suggestions().values_list("pk", flat=True)) == expected
    record = tracking.pi_records().get(pk=tracked_pi.pk)
    assert (record.excellent, record.projects, record.amount) == (2, 2, Decimal("1000000.00"))


def test_add_and_remove_with_reason_keeps_history(login):
    officer = f.officer()
    pi = f.applicant()
    project_for(pi, "excellent")
    project_for(pi, "excellent")
    with pytest.raises(ValidationError) as err:
        tracking.team_add(pi=pi, team_name="量子组", reason="  ", by=officer)
    assert "reason" in err.value.message_dict
    client = login(officer)
    response = client.post(f"/insights/tracking/pi/{pi.pk}/add/",
                           {"team_name": "量子组", "reason": "两次优秀"})  # fmt: skip
    assert response.status_code == 302
    team = TrackedTeam.objects.get(pi=pi)
    assert (team.team_name, team.reason, team.added_by, team.active) == (
        "量子组", "两次优秀", officer, True)  # fmt: skip
    assert pi.pk not in set(tracking.suggestions().values_list("pk", flat=True))
    with pytest.raises(ValidationError):  # one team in force per PI
        tracking.team_add(pi=pi, team_name="again", reason="x", by=officer)
    # Removal without a reason is refused inline.
    page = client.post(f"/insights/tracking/teams/{team.pk}/remove/", {"reason": ""})
    assert page.status_code == 400 and "errorlist" in page.content.decode()
    team.refresh_from_db()
    assert team.active
    client.post(f"/insights/tracking/teams/{team.pk}/remove/", {"reason": "转向产业化"})
    team.refresh_from_db()
    assert (team.removed_by, team.removed_reason, team.active) == (officer, "转向产业化", False)
    assert pi.pk in set(tracking.suggestions().values_list("pk", flat=True))
    tracking.team_add(pi=pi, team_name="量子组二期", reason="再次跟踪", by=officer)
    assert TrackedTeam.objects.filter(pi=pi).count() == 2  # history kept
    with pytest.raises(TypeError):
        team.delete()
    body = client.get(f"/insights/tracking/pi/{pi.pk}/").content.decode()
    assert "转向产业化" in body and "再次跟踪" in body and "量子组二期" in body
    removed = client.get(TEAMS + "?status=removed").content.decode()
    assert "量子组</a>" in removed and "量子组二期" not in removed


def test_permissions(login):
    pi = f.applicant()
    project_for(pi, "excellent")
    project_for(pi, "excellent")
    officer = f.officer()
    team = tracking.team_add(pi=pi, team_name="T1", reason="r", by=officer)
    auditor = f.auditor()
    urls = [TRENDS, "/insights/tracking/trends/export/", TEAMS, SUGGESTIONS,
            f"/insights/tracking/pi/{pi.pk}/"]  # fmt: skip
    for user in (officer, auditor):
        for url in urls:
            assert login(user).get(url).status_code == 200, (user, url)
    others = [pi, f.reviewer(), f.integrity_officer(), f.agency_staff(f.AgencyFactory()),
              f.institution_admin(pi.institution)]  # fmt: skip
    for user in others:
        client = login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(f"/insights/tracking/teams/{team.pk}/remove/",
                           {"reason": "x"}).status_code == 404  # fmt: skip
    # Auditors read only.
    client = login(auditor)
    assert client.post(f"/insights/tracking/teams/{team.pk}/remove/",
                       {"reason": "x"}).status_code == 404  # fmt: skip
    assert client.get(f"/insights/tracking/pi/{pi.pk}/add/").status_code == 404
    assert "Track this team" not in client.get(SUGGESTIONS).content.decode()
    with pytest.raises(PermissionDenied):
        tracking.team_remove(team=team, reason="x", by=auditor)
    team.refresh_from_db()
    assert team.active
    assert tracking.can_read(auditor) and not tracking.can_edit(auditor)


def _teams(n):
    officer = f.officer()
    for _ in range(n):
        pi = f.applicant()
        project_for(pi, "excellent")
        project_for(pi, "excellent")
        project_for(pi, "good")
    return officer


def _track_all(officer):
    for pi in list(tracking.suggestions()):
        tracking.team_add(pi=pi, team_name=f"Team {pi.pk}", reason="r", by=officer)


@pytest.mark.parametrize(
    ("url", "link", "track"),
    [(TEAMS, "/insights/tracking/teams/", True),
     (SUGGESTIONS, "/insights/tracking/pi/", False),
     (TRENDS, "<polyline", False)],
)  # fmt: skip
def test_list_pages_same_queries_for_1_and_30_rows(login, django_assert_num_queries, url,
                                                    link, track):  # fmt: skip
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    officer = _teams(1)
    if track:
        _track_all(officer)
    for year, kw in ((2024, "甲"), (2025, "乙")):
        proposals(call_in(year), [([kw], [])])
    client = login(officer)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    _teams(29)
    if track:
        _track_all(officer)
    proposals(call_in(2025), [([f"词{i}"], []) for i in range(29)])
    with django_assert_num_queries(len(one)):
        body = client.get(url).content.decode()
    assert body.count(link) >= 25
