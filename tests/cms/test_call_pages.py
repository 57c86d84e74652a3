"""A call gets its public pages (Chinese, and the English translation) when it is saved, once
its transaction commits; the demo loader and ``build_site`` go through the same function."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cms.models import CallPage, ProgramPage
from cms.pages import build_site, ensure_call_page
from programs.models import Call, Category
from tests import factories as f

pytestmark = pytest.mark.django_db


def _form(**overrides):
    now = timezone.localtime()
    data = {
        "title": "2027年度重点研发计划项目申报指南",
        "title_en": "Major projects call 2027",
        "guideline": "",
        "opens_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "max_budget": "400000.00",
        "sum_kind": "capped",
        "reviewers_per_application": "3",
        "min_international_reviewers": "0",
        "max_assignments_per_reviewer": "10",
        "scoring_scheme": "",
        "notice_days": "",
        "rule_set": "",
    }
    data.update(overrides)
    return data


def _visit(page, lang):
    client = Client()
    client.cookies["django_language"] = lang
    response = client.get(page.url)
    assert response.status_code == 200
    return response.content.decode()


def test_call_created_by_an_officer_gets_live_pages_in_both_languages(
    login, django_capture_on_commit_callbacks
):
    build_site()
    program = f.ProgramFactory(category=Category.MAJOR_PROJECT)
    with django_capture_on_commit_callbacks(execute=True):
        response = login(f.officer()).post(
            reverse("programs:call_create", args=[program.pk]), _form()
        )
    call = Call.objects.get(program=program)
    assert response["Location"] == reverse("programs:call_detail", args=[call.pk])

    zh = CallPage.objects.get(call=call, locale__language_code="zh-hans")
    en = CallPage.objects.get(call=call, locale__language_code="en")
    assert zh.live and en.live
    assert en.translation_key == zh.translation_key
    assert (zh.title, en.title) == (call.title, call.title_en)
    assert zh.get_parent().specific.category == Category.MAJOR_PROJECT
    assert en.get_parent().specific.locale.language_code == "en"
    apply = f"{reverse('grants:create')}?call={call.pk}"
    for page, lang, title in ((zh, "zh-hans", call.title), (en, "en", call.title_en)):
        text = _visit(page, lang)
        assert title in text and apply in text

    # Saving the call again (an edit) or building the site adds nothing.
    with django_capture_on_commit_callbacks(execute=True):
        login(f.officer()).post(
            reverse("programs:call_update", args=[call.pk]), _form(guideline="更新")
        )
    assert build_site() == []
    assert CallPage.objects.filter(call=call).count() == 2


def test_call_goes_under_its_own_program_page_when_there_is_one(
    django_capture_on_commit_callbacks,
):
    build_site()
    program = f.ProgramFactory(category=Category.BASIC_FRONTIER)
    category_page = ProgramPage.objects.get(
        category=Category.BASIC_FRONTIER, program=None, locale__language_code="zh-hans"
    )
    own = ProgramPage(title=program.name, slug="own-program", program=program)
    category_page.add_child(instance=own)
    own.save_revision().publish()
    with django_capture_on_commit_callbacks(execute=True):
        call = f.CallFactory(program=program)
    page = CallPage.objects.get(call=call, locale__language_code="zh-hans")
    assert page.get_parent().pk == own.pk
    assert CallPage.objects.filter(call=call, locale__language_code="en").exists()


def test_no_pages_before_the_site_exists(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call = f.CallFactory()
    assert not CallPage.objects.filter(call=call).exists()
    assert ensure_call_page(call) is False
    build_site()
    assert CallPage.objects.filter(call=call).live().count() == 2
    assert ensure_call_page(call) is False
