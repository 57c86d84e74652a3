"""Building the public page tree (Chinese first, English translations), idempotently.

Used by the demo loader (``load_demo``'s "public site" stage) and by the tests. Pages are
found by slug under their parent, so running it again changes nothing; a call without a page
gets one under its program page (``ensure_call_page``, also run when a call is saved:
``cms.signals``).
"""

from django.apps import apps as django_apps
from django.db import transaction
from django.utils import translation
from django.utils.text import slugify
from wagtail.models import Locale, Page, Site

from .editors import grant_editors
from .models import (
    CallPage,
    HomePage,
    NewsIndexPage,
    NewsPage,
    NoticeIndexPage,
    ProgramPage,
    ReportIndexPage,
    SearchPage,
    StandardPage,
)

ROOT_SLUG = "grantflow"

#: (model, slug, Chinese title, English title, extra fields, in menu)
SECTIONS = [
    (NoticeIndexPage, "notice", "公示", "Public notice", {}, True),
    (ReportIndexPage, "reports", "科技报告", "S&T reports", {}, True),
    (NewsIndexPage, "news", "新闻动态", "News", {}, True),
    (StandardPage, "policies", "政策法规", "Policies", {}, True),
    (SearchPage, "search", "站内搜索", "Search", {}, False),
]

POLICY_BODY = {
    "zh-hans": "本基金项目的申报、评审、公示与结题均按照《科技计划项目管理办法》执行。",
    "en": "Proposals, review, public notice and final evaluation follow the S&T programme "
    "management measures.",
}
NEWS = {
    "zh-hans": ("2027年度项目申报指南发布", "2027年度各类项目申报指南现已发布，欢迎申报。"),
    "en": ("Guidelines for 2027 published", "The 2027 guidelines of every program are out."),
}
INTRO = {
    "zh-hans": "<p>欢迎访问科技计划项目公共服务平台：申报指南、公示与科技报告。</p>",
    "en": "<p>The public portal of the S&T funding programmes: calls, notices and reports.</p>",
}


def locales():
    zh, _ = Locale.objects.get_or_create(language_code="zh-hans")
    en, _ = Locale.objects.get_or_create(language_code="en")
    return zh, en


def _paragraph(text):
    return [("paragraph", f"<p>{text}</p>")]


def _child(parent, model, slug, **fields):
    """The live child of ``parent`` with ``slug`` (created and published if missing)."""
    existing = parent.get_children().filter(slug=slug).first()
    if existing is not None:
        return existing.specific, False
    page = model(slug=slug, locale=parent.locale, **fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page, True


def _translate(page, locale, **fields):
    """The translation of ``page`` into ``locale`` (copied, retitled and published once)."""
    existing = page.get_translation_or_none(locale)
    if existing is not None:
        return existing.specific, False
    copy = page.copy_for_translation(locale, copy_parents=True)
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.save()
    copy.save_revision().publish()
    return copy, True


def program_page_for(program, locale):
    """The page a call of ``program`` goes under: the program's own page if an editor made
    one, else its category's page (``build_site`` makes one per category)."""
    pages = ProgramPage.objects.filter(locale=locale)
    return (
        pages.filter(program=program).first()
        or pages.filter(program__isnull=True, category=program.category).first()
    )


@transaction.atomic
def ensure_call_page(call, locales=None):
    """Give ``call`` a live page in Chinese and its English translation, if missing.

    Returns whether a page was created. Nothing happens while the site has no program page
    for the call (the tree is built by ``build_site``), or once the call has a page anywhere
    (an editor may have moved it)."""
    zh, en = locales or (
        Locale.objects.filter(language_code="zh-hans").first(),
        Locale.objects.filter(language_code="en").first(),
    )
    if zh is None:
        return False
    page = CallPage.objects.filter(call=call, locale=zh).first()
    made = False
    if page is None:
        parent = program_page_for(call.program, zh)
        if parent is None:
            return False
        page, made = _child(parent, CallPage, f"call-{call.pk}", title=call.title, call=call)
    if en is not None:
        made |= _translate(page, en, title=call.title_en or call.title)[1]
    return made


@transaction.atomic
def build_site(calls=None):
    """Create what is missing of the public tree; return a list of what was created."""
    from programs.models import Call, Category

    created = []
    zh, en = locales()
    root = Page.get_first_root_node()
    if root is None:  # a flushed database (Wagtail's migration creates it otherwise)
        root = Page.add_root(instance=Page(title="Root", slug="root", locale=zh))
    home = root.get_children().filter(slug=ROOT_SLUG).first()
    if home is None:
        home = HomePage(
            title="科技计划项目公共服务平台", slug=ROOT_SLUG, locale=zh, intro=INTRO["zh-hans"]
        )
        root.add_child(instance=home)
        home.save_revision().publish()
        created.append("public site: home page")
    home = home.specific
    _, made = _translate(home, en, title="S&T Funding Portal", intro=INTRO["en"])
    if made:
        created.append("public site: English home page")
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)
    elif site.root_page_id != home.pk:
        site.root_page = home
        site.save()

    for model, slug, title_zh, title_en, fields, menu in SECTIONS:
        extra = dict(fields)
        if model is StandardPage:
            extra["body"] = _paragraph(POLICY_BODY["zh-hans"])
        page, made = _child(home, model, slug, title=title_zh, show_in_menus=menu, **extra)
        en_fields = {"title": title_en}
        if model is StandardPage:
            en_fields["body"] = _paragraph(POLICY_BODY["en"])
        _translate(page, en, **en_fields)
        if made:
            created.append(f"public site: {title_en}")
        if model is NewsIndexPage:
            title, text = NEWS["zh-hans"]
            news, made = _child(
                page, NewsPage, "guidelines-2027", title=title, body=_paragraph(text)
            )
            title, text = NEWS["en"]
            _translate(news, en, title=title, body=_paragraph(text))

    for value, label in Category.choices:
        with translation.override("zh-hans"):
            title_zh = str(label)
        with translation.override("en"):
            title_en = str(label)
        page, made = _child(home, ProgramPage, slugify(value), title=title_zh, category=value)
        _translate(page, en, title=title_en)
        if made:
            created.append(f"public site: program page {value}")

    for call in calls if calls is not None else Call.objects.select_related("program"):
        if ensure_call_page(call, locales=(zh, en)):
            created.append(f"public site: call page {call.pk}")
    grant_editors(django_apps)
    return created
