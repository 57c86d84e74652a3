"""Report search through the bigram index (PostgreSQL): the same answers as ``icontains`` on
each field, for two-character Chinese queries, longer ones, English in any case, one
character, and text that only spans two fields."""

import pytest
from django.db import connection
from django.utils import timezone

from cms import search
from cms.models import ReportIndexPage
from finance.models.evaluation import STReport
from grants.enums import ApplicationState
from grants.models import Project
from tests import factories as f

pytestmark = pytest.mark.django_db


def report(title, abstract="", summary="", keywords=()):
    application = f.set_state(f.ApplicationFactory(), ApplicationState.AWARDED)
    project = Project.objects.create(
        application=application, number=f"P-{application.pk}", approved_budget=1
    )
    return STReport.objects.create(
        project=project, file="st-reports/x.pdf", title=title, abstract=abstract,
        results_summary=summary, keywords=list(keywords), published_at=timezone.now(),
    )  # fmt: skip


def test_search_answers_like_icontains_on_each_field():
    reports = [
        report("量子计算", abstract="超导量子比特"),
        report("作物育种", summary="抗旱量子点传感器", keywords=["育种"]),
        report("Graphene Sensors", abstract="flexible electronics"),
        report("材料", keywords=["拓扑绝缘体"]),
        report("尾字量", abstract="子首字"),  # 量子 only across two fields
    ]
    assert connection.vendor == "postgresql" and search.bigrams_available()
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_bigrams FROM finance_streport WHERE id = %s", [reports[0].pk])
        assert {"量子", "计算", "超导"} <= set(cursor.fetchone()[0])

    def expected(q):
        up = q.upper()
        return {
            r.pk for r in reports
            if any(up in text.upper() for text in (r.title, r.abstract, r.results_summary,
                                                    str(r.keywords)))
        }  # fmt: skip

    for q in ["量子", "量子点", "量子比特", "graphene", "SENSORS", "绝缘", "育种", "量", "x",
              "子首", "量子 比特"]:  # fmt: skip
        found = set(ReportIndexPage.search_reports(q=q).values_list("pk", flat=True))
        assert found == expected(q), q


def test_the_bigram_column_follows_edits():
    r = report("旧标题")
    assert not ReportIndexPage.search_reports(q="新题").exists()
    STReport.objects.filter(pk=r.pk).update(title="新题目")
    assert list(ReportIndexPage.search_reports(q="新题").values_list("pk", flat=True)) == [r.pk]
