"""Public-site editors: the ``editor`` group publishes pages in the Wagtail admin and reaches
nothing else (no Django admin, no officer pages, no permission of the funding workflow)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from wagtail.models import GroupPagePermission, Locale
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text, streamfield

from accounts.models import User
from cms.editors import EDITOR_GROUP
from cms.models import HomePage, NewsIndexPage, NewsPage
from cms.pages import build_site
from tests import factories as f
from tests.conftest import verify_two_factor

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"  # noqa: S105 (a test account)


@pytest.fixture
def editor():
    build_site()
    user = f.UserFactory(username="editor1")
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=EDITOR_GROUP))
    return User.objects.get(pk=user.pk)


def test_editor_group_covers_both_home_pages():
    build_site()
    group = Group.objects.get(name=EDITOR_GROUP)
    granted = GroupPagePermission.objects.filter(group=group)
    homes = set(HomePage.objects.values_list("locale__language_code", flat=True))
    assert homes == {"zh-hans", "en"}
    for code in ("zh-hans", "en"):
        home = HomePage.objects.get(locale__language_code=code)
        assert {"add_page", "change_page", "publish_page"} <= set(
            granted.filter(page=home).values_list("permission__codename", flat=True)
        )
    build_site()
    assert GroupPagePermission.objects.filter(group=group).count() == granted.count()


def test_editor_logs_in_and_publishes_a_news_page(editor):
    client = Client()
    response = client.post(
        reverse("wagtailadmin_login"), {"username": "editor1", "password": PASSWORD}
    )
    assert response.status_code == 302
    # The CMS admin asks editors for a second factor too (issue 7): no device yet → enrol.
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:two_factor"))
    verify_two_factor(client, editor)
    assert client.get(reverse("wagtailadmin_home")).status_code == 200

    news_index = NewsIndexPage.objects.get(locale__language_code="zh-hans")
    data = nested_form_data(
        {
            "title": "编辑发布的新闻",
            "slug": "editor-news",
            "date": "2026-11-20",
            "body": streamfield([("paragraph", rich_text("<p>新闻正文。</p>"))]),
            "comments": inline_formset([]),
            "action-publish": "action-publish",
        }
    )
    response = client.post(
        reverse("wagtailadmin_pages:add", args=["cms", "newspage", news_index.pk]), data
    )
    assert response.status_code == 302, response.context and response.context["form"].errors
    page = NewsPage.objects.get(slug="editor-news")
    assert page.live and page.locale == Locale.objects.get(language_code="zh-hans")
    assert page.get_latest_revision().user == editor

    visitor = Client()
    visitor.cookies["django_language"] = "zh-hans"
    assert "新闻正文。" in visitor.get(page.url).content.decode()
    assert "编辑发布的新闻" in visitor.get(news_index.url).content.decode()
    assert "编辑发布的新闻" in visitor.get("/").content.decode()


def test_editor_reaches_neither_django_admin_nor_officer_pages(editor, login):
    assert not editor.is_staff and not editor.is_superuser
    assert editor.has_perm("wagtailadmin.access_admin")
    workflow_apps = {"grants", "finance", "integrity", "programs", "review", "audit", "insights"}
    assert not {p.split(".")[0] for p in editor.get_all_permissions()} & workflow_apps

    client = login(editor)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    program = f.ProgramFactory()
    for url in (
        reverse("grants:formal_check_queue"),
        reverse("programs:program_create"),
        reverse("programs:call_create", args=[program.pk]),
        reverse("insights:index"),
        reverse("integrity:record_list"),
    ):
        assert client.get(url).status_code in (403, 404), url


def test_demo_loader_makes_an_editor(settings):
    settings.GRANTFLOW_DEMO = True
    call_command("load_demo", verbosity=0)
    user = User.objects.get(username="editor")
    assert user.check_password("demo")
    assert list(user.groups.values_list("name", flat=True)) == [EDITOR_GROUP]
    assert user.has_perm("wagtailadmin.access_admin") and not user.is_staff
