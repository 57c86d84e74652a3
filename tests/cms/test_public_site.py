"""The public site (Wagtail): the page tree in both languages, open calls with countdowns,
a call that closes by itself, the notice following approve/award/revoke in the same request
cycle (through the page cache), report search, site search and the sitemap."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone
from wagtail.models import Locale

from cms import cache as page_cache
from cms.models import CallPage, HomePage, NoticeIndexPage, ReportIndexPage, SearchPage
from cms.pages import build_site
from finance.models.evaluation import STReport
from grants.enums import ApplicationState
from grants.models import Application, Objection, ObjectionState, Project
from grants.services import application_submit, application_transition
from programs.models import Category
from tests import factories as f

S = ApplicationState
pytestmark = pytest.mark.django_db


def get(path, lang="zh-hans", client=None, **params):
    client = client or Client()
    client.cookies["django_language"] = lang
    response = client.get(path, params)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def url_of(model, lang="zh-hans"):
    return model.objects.get(locale__language_code=lang).url


def reviewed(call=None):
    application = f.ApplicationFactory(call=call or f.CallFactory(notice_days=7))
    return f.set_state(application, S.REVIEWED, number=f"BF-2027-{application.pk:06d}")


def published_report(title, *, year=2026, category=Category.BASIC_FRONTIER, institution=None,
                     keywords=()):  # fmt: skip
    program = f.ProgramFactory(category=category)
    kw = {"call": f.CallFactory(program=program)}
    if institution is not None:
        kw["applicant"] = f.applicant(institution=institution)
    application = f.set_state(f.ApplicationFactory(**kw), S.AWARDED, number=f"X-{title[:8]}")
    project = Project.objects.create(
        application=application, number=f"P-{application.pk}", approved_budget=1
    )
    return STReport.objects.create(
        project=project, file="st-reports/x.pdf", title=title, abstract="摘要",
        keywords=list(keywords), results_summary="成果",
        published_at=timezone.now().replace(year=year, month=6, day=1),
    )  # fmt: skip


def test_build_site_creates_both_trees_once():
    call = f.CallFactory()
    created = build_site()
    assert created
    assert build_site() == []
    en = Locale.objects.get(language_code="en")
    for model in (HomePage, NoticeIndexPage, ReportIndexPage, SearchPage):
        assert model.objects.filter(locale__language_code="zh-hans").live().count() == 1
        assert model.objects.filter(locale=en).live().count() == 1
    assert CallPage.objects.filter(call=call).live().count() == 2
    english = CallPage.objects.get(call=call, locale=en)
    assert english.title == call.title_en


def test_home_lists_open_calls_with_countdown_in_both_languages():
    open_call = f.CallFactory(closes_at=timezone.now() + timedelta(days=5, hours=1))
    closed = f.CallFactory(closes_at=timezone.now() - timedelta(days=1))
    build_site()
    zh = get("/")
    assert open_call.title in zh and closed.title not in zh
    assert "科技计划项目公共服务平台" in zh
    en = get("/", lang="en")
    assert "S&amp;T Funding Portal" in en
    assert open_call.title_en in en
    assert "5 days left" in en
    assert CallPage.objects.get(call=open_call, locale__language_code="en").url in en


def test_signed_in_user_reaches_the_dashboard_from_the_public_home(login):
    build_site()
    user = f.applicant()
    html = login(user).get("/").content.decode()
    assert 'href="/dashboard/"' in html


def test_root_without_a_site_keeps_redirecting_to_login():
    response = Client().get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_call_page_says_closed_after_the_deadline_without_an_edit():
    call = f.CallFactory(closes_at=timezone.now() + timedelta(days=2))
    build_site()
    page_url = CallPage.objects.get(call=call, locale__language_code="en").url
    html = get(page_url, lang="en")
    assert "Open for proposals" in html
    assert f"/proposals/new/?call={call.pk}" in html
    # the deadline passes (no one edits the page; the cached copy must not outlive it)
    type(call).objects.filter(pk=call.pk).update(closes_at=timezone.now() - timedelta(hours=1))
    cache.clear()  # a queryset update sends no signal; the TTL bound is tested below
    html = get(page_url, lang="en")
    assert "Closed: the deadline has passed." in html
    assert f"/proposals/new/?call={call.pk}" not in html


def test_cached_call_page_never_outlives_the_deadline():
    call = f.CallFactory(closes_at=timezone.now() + timedelta(seconds=30))
    build_site()
    page = CallPage.objects.get(call=call, locale__language_code="en")
    assert page.cache_timeout() <= 31


def test_approve_puts_the_proposal_on_the_notice_page_and_award_takes_it_off():
    officer = f.officer()
    application = reviewed()
    build_site()
    notice_url = url_of(NoticeIndexPage)
    assert application.number not in get(notice_url)  # now cached
    application_transition(application=application, name="approve", user=officer)
    html = get(notice_url)
    assert application.number in html
    assert f"/notices/{application.pk}/object/" in html
    assert application.applicant.display_name in html
    assert application.institution.name in html
    assert "850,000.00" in html
    assert application.number in get("/")
    f.set_state(application, S.IN_NOTICE, notice_ends_at=timezone.now() - timedelta(minutes=1))
    application.refresh_from_db()
    application.save()  # the window ended (a plain save, as a clock would)
    application_transition(application=application, name="award", user=officer)
    assert application.number not in get(notice_url)


def test_revoke_takes_the_proposal_off_the_notice_page():
    officer = f.officer()
    application = reviewed()
    build_site()
    application_transition(application=application, name="approve", user=officer)
    notice_url = url_of(NoticeIndexPage, "en")
    assert application.number in get(notice_url, lang="en")
    Objection.objects.create(
        application=application, kind=Objection.Kind.PERSON, name="张三", phone="13800000000",
        text="数据造假", confirmation_number="OBJ-2099-000001", state=ObjectionState.UPHELD,
    )  # fmt: skip
    application_transition(
        application=application, name="revoke", user=officer, comment="objection upheld"
    )
    assert application.number not in get(notice_url, lang="en")


def test_report_search_filters_by_keyword_category_year_and_institution():
    inst = f.InstitutionFactory(name="东方大学")
    a = published_report("量子计算报告", year=2026, keywords=["量子"], institution=inst)
    b = published_report("作物育种报告", year=2025, category=Category.INNOVATION_SUPPORT)
    hidden = published_report("未发布报告")
    STReport.objects.filter(pk=hidden.pk).update(published_at=None)
    build_site()
    url = url_of(ReportIndexPage)

    def found(**params):
        html = get(url, **params)
        return {r.title for r in (a, b, hidden) if r.title in html}

    assert found() == {a.title, b.title}
    assert found(q="量子") == {a.title}
    assert found(category=Category.INNOVATION_SUPPORT) == {b.title}
    assert found(year="2025") == {b.title}
    assert found(institution="东方") == {a.title}
    detail = get(f"{url}{a.pk}/", lang="en")
    assert a.title in detail and "Summary of results" in detail
    assert Client().get(f"{url}{hidden.pk}/").status_code == 404


def test_site_search_finds_pages_and_reports():
    report = published_report("石墨烯传感器报告")
    build_site()
    html = get(url_of(SearchPage), q="石墨烯")
    assert report.title in html
    assert f"{url_of(ReportIndexPage)}{report.pk}/" in html


def test_sitemap_lists_the_pages_and_reports():
    call = f.CallFactory()
    report = published_report("传感器报告")
    build_site()
    xml = get("/sitemap.xml")
    for url in (url_of(NoticeIndexPage), url_of(ReportIndexPage),
                CallPage.objects.get(call=call, locale__language_code="zh-hans").url):  # fmt: skip
        assert f"{url}</loc>" in xml
    assert f"{url_of(ReportIndexPage)}{report.pk}/</loc>" in xml


def test_cached_page_keeps_each_visitors_csrf_token():
    build_site()
    first, second = Client(), Client()
    get("/", client=first)
    html = get("/", client=second)
    token = second.cookies["csrftoken"].value
    assert "__GRANTFLOW_CSRF__" not in html
    assert 'name="csrfmiddlewaretoken"' in html and token


def test_submissions_carry_on_while_the_page_cache_is_unreachable():
    """The page cache only saves work: with its Redis down a submission, and an approval
    (which bumps the cache version: the proposal enters the notice), still go through."""
    application = f.ApplicationFactory()
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    with override_settings(CACHES=unreachable):
        submitted = application_submit(application=application, user=application.applicant)
    assert submitted.state == S.SUBMITTED and submitted.number
    assert Application.objects.get(pk=application.pk).state == S.SUBMITTED
    approved = reviewed()
    with override_settings(CACHES=unreachable):
        application_transition(application=approved, name="approve", user=f.officer())
    assert Application.objects.get(pk=approved.pk).state == S.IN_NOTICE


def test_proposals_outside_the_notice_leave_the_page_cache_alone():
    """Deadline day: drafts saved and proposals submitted do not drop the cached pages."""
    application = f.ApplicationFactory()
    before = page_cache.version()
    application.title = "改过的题目"
    application.save()
    application_submit(application=application, user=application.applicant)
    assert page_cache.version() == before
    application_transition(application=reviewed(), name="approve", user=f.officer())
    assert page_cache.version() > before
