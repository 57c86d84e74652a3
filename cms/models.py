"""The public site (Wagtail): home, programs and calls, the notice, S&T reports, news.

What the funder's data says (open calls, the notice, published reports) is read from the
database at request time; editors write only the prose around it. Rendered pages are cached
for anonymous visitors (``cms.cache``), keyed on a version bumped by every change.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from wagtail import blocks
from wagtail.admin.panels import FieldPanel, InlinePanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.documents.blocks import DocumentChooserBlock
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from . import cache, search

HOME_CALLS = 10
HOME_NOTICES = 10
HOME_NEWS = 5
REPORTS_PER_PAGE = 20


def body_blocks():
    return [
        ("heading", blocks.CharBlock(form_classname="title", label=_("Heading"))),
        ("paragraph", blocks.RichTextBlock(label=_("Paragraph"))),
        ("document", DocumentChooserBlock(label=_("Document"))),
    ]


class CachedPage(Page):
    """A page whose rendering is cached for anonymous visitors (``cms.views.serve``)."""

    class Meta:
        abstract = True

    def cache_timeout(self):
        return None

    def serve(self, request, *args, **kwargs):
        # Cached (and answered from the cache before Wagtail routes) by cms.views.serve.
        return cache.mark(super().serve(request, *args, **kwargs), self.cache_timeout())


def seconds_until(moment, now):
    return max(1, int((moment - now).total_seconds()) + 1)


def call_pages(calls, locale_id):
    """{call id: live CallPage} in the locale (one query)."""
    pages = CallPage.objects.live().filter(call__in=[c.pk for c in calls], locale_id=locale_id)
    return {p.call_id: p for p in pages}


class HomePage(CachedPage):
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = [
        "cms.ProgramPage",
        "cms.NoticeIndexPage",
        "cms.ReportIndexPage",
        "cms.NewsIndexPage",
        "cms.StandardPage",
        "cms.SearchPage",
    ]
    template = "cms/home_page.html"

    def open_calls(self, now):
        """The calls open at ``now``, soonest closing first (read once per rendering: the
        page and its cache timeout both need them)."""
        from programs.models import Call

        cached = getattr(self, "_open_calls", None)
        if cached is None or cached[0] != now:
            calls = Call.objects.open_at(now).select_related("program")
            self._open_calls = (now, list(calls.order_by("closes_at", "id")[:HOME_CALLS]))
        return self._open_calls[1]

    def cache_timeout(self):
        now = getattr(self, "_open_calls", (timezone.now(),))[0]
        calls = self.open_calls(now)
        return seconds_until(calls[0].closes_at, now) if calls else None

    def get_context(self, request, *args, **kwargs):
        from grants.notice import notices

        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        calls = self.open_calls(now)
        pages = call_pages(calls, self.locale_id)
        for call in calls:
            call.days_left = (call.closes_at - now).days
            call.page = pages.get(call.pk)
        context["now"] = now
        context["calls"] = calls
        context["notices"] = list(notices()[:HOME_NOTICES])
        context["news"] = list(
            NewsPage.objects.live()
            .filter(locale_id=self.locale_id)
            .order_by("-date", "-id")[:HOME_NEWS]
        )
        # The section pages are only linked to: one query for the three, as plain pages.
        names = {
            ContentType.objects.get_for_model(model).pk: name
            for name, model in (
                ("notice", NoticeIndexPage),
                ("reports", ReportIndexPage),
                ("search", SearchPage),
            )
        }
        context["section"] = {}
        for page in Page.objects.live().filter(locale_id=self.locale_id, content_type_id__in=names):
            context["section"].setdefault(names[page.content_type_id], page)
        return context


class ProgramPage(CachedPage):
    """A program (or a whole category) with its calls below."""

    program = models.ForeignKey(
        "programs.Program",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("program"),
    )
    category = models.CharField(_("category"), max_length=32, blank=True)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [
        FieldPanel("program"),
        FieldPanel("category"),
        FieldPanel("body"),
    ]
    search_fields = Page.search_fields + [index.SearchField("body")]
    subpage_types = ["cms.CallPage", "cms.ProgramPage"]
    template = "cms/program_page.html"

    def get_context(self, request, *args, **kwargs):
        from programs.models import Call

        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        calls = Call.objects.select_related("program").order_by("-closes_at", "-id")
        if self.program_id:
            calls = calls.filter(program_id=self.program_id)
        elif self.category:
            calls = calls.filter(program__category=self.category)
        else:
            calls = calls.none()
        calls = list(calls[:50])
        pages = call_pages(calls, self.locale_id)
        for call in calls:
            call.page = pages.get(call.pk)
            call.open_now = call.opens_at <= now < call.closes_at
        context["calls"] = calls
        return context


class CallPage(CachedPage):
    """A call's public page: window, budget, rules, guideline and attachments. Whether it
    is open is computed at request time from the call's window."""

    call = models.ForeignKey(
        "programs.Call", on_delete=models.PROTECT, related_name="+", verbose_name=_("call")
    )
    body = StreamField(body_blocks(), blank=True, verbose_name=_("guideline text"))

    content_panels = Page.content_panels + [
        FieldPanel("call"),
        FieldPanel("body"),
        InlinePanel("attachments", label=_("Attachments")),
    ]
    search_fields = Page.search_fields + [index.SearchField("body")]
    parent_page_types = ["cms.ProgramPage"]
    subpage_types = []
    template = "cms/call_page.html"

    def cache_timeout(self):
        now = timezone.now()
        call = self.call
        for moment in (call.opens_at, call.closes_at):
            if moment > now:
                return seconds_until(moment, now)
        return None

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        call = self.call
        context["now"] = now
        context["status"] = (
            "upcoming" if now < call.opens_at else "open" if now < call.closes_at else "closed"
        )
        context["time_left"] = call.closes_at - now if context["status"] == "open" else None
        context["rules"] = call.rules
        return context


class CallAttachment(Orderable):
    page = ParentalKey(CallPage, on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey("wagtaildocs.Document", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=200, blank=True)

    panels = [FieldPanel("document"), FieldPanel("title")]


class NoticeIndexPage(CachedPage):
    """The notice (公示): proposals in notice and result notices, read at request time."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = []
    template = "cms/notice_index_page.html"

    def get_context(self, request, *args, **kwargs):
        from finance.evaluation import result_notices
        from grants.notice import is_window_open, notices

        context = super().get_context(request, *args, **kwargs)
        now = timezone.now()
        rows = list(notices(now=now))
        for row in rows:
            row.window_open = is_window_open(row, now)
        context["rows"] = rows
        context["results"] = list(result_notices(now)[:50])
        return context


class ReportIndexPage(RoutablePageMixin, CachedPage):
    """Published S&T reports: search by keyword, category, year and institution; each
    report at ``<this page>/<id>/``."""

    intro = RichTextField(_("introduction"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = []
    template = "cms/report_index_page.html"

    def serve(self, request, *args, **kwargs):
        # The routable dispatch happens in RoutablePageMixin.serve; the cache wraps it.
        return cache.mark(RoutablePageMixin.serve(self, request, *args, **kwargs))

    @staticmethod
    def published():
        from finance.models.evaluation import STReport

        return STReport.objects.filter(published_at__isnull=False).select_related(
            "project__application__institution", "project__application__call__program"
        )

    @classmethod
    def search_reports(cls, *, q="", category="", year="", institution=""):
        reports = cls.published()
        if q:
            reports = search.matching(reports, q)
        if category:
            reports = reports.filter(project__application__call__program__category=category)
        if year and str(year).isdigit():
            reports = reports.filter(published_at__year=int(year))
        if institution:
            reports = reports.filter(
                Q(project__application__institution__name__icontains=institution)
                | Q(project__application__institution__name_en__icontains=institution)
            )
        return reports.order_by("-published_at", "-id")

    @path("")
    def index(self, request):
        from programs.models import Category

        params = {
            name: request.GET.get(name, "").strip()
            for name in ("q", "category", "year", "institution")
        }
        # Page through the reports' table alone, then join the page's rows: a misestimated
        # search would otherwise join every match before sorting.
        page = Paginator(
            self.search_reports(**params).select_related(None).only("pk"), REPORTS_PER_PAGE
        ).get_page(request.GET.get("page"))
        ids = [report.pk for report in page.object_list]
        rows = self.published().in_bulk(ids)
        page.object_list = [rows[pk] for pk in ids]
        this_year = timezone.localdate().year
        return self.render(
            request,
            context_overrides={
                "page_obj": page,
                "params": params,
                "categories": Category.choices,
                "years": list(range(this_year, this_year - 10, -1)),
            },
        )

    @path("<int:report_id>/")
    def report(self, request, report_id):
        report = get_object_or_404(self.published(), pk=report_id)
        return self.render(
            request,
            context_overrides={"report": report},
            template="cms/report_detail.html",
        )

    def report_url(self, report):
        return self.url + self.reverse_subpage("report", args=(report.pk,))

    def get_sitemap_urls(self, request=None):
        urls = super().get_sitemap_urls(request)
        base = self.get_full_url(request)
        if base:
            for pk, published in self.published().values_list("pk", "published_at")[:40000]:
                urls.append({"location": f"{base}{pk}/", "lastmod": published})
        return urls


class NewsIndexPage(CachedPage):
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["cms.NewsPage"]
    template = "cms/news_index_page.html"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["items"] = Paginator(
            NewsPage.objects.child_of(self).live().order_by("-date", "-id"), 20
        ).get_page(request.GET.get("page"))
        return context


class NewsPage(CachedPage):
    date = models.DateField(_("date"), default=timezone.localdate)
    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [FieldPanel("date"), FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("body")]
    parent_page_types = ["cms.NewsIndexPage"]
    subpage_types = []
    template = "cms/news_page.html"


class StandardPage(CachedPage):
    """Policies, guides, contact: an editable body."""

    body = StreamField(body_blocks(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [FieldPanel("body")]
    search_fields = Page.search_fields + [index.SearchField("body")]
    template = "cms/standard_page.html"


class SearchPage(Page):
    """Site search: pages of the visitor's language and published S&T reports."""

    subpage_types = []
    template = "cms/search_page.html"

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        q = request.GET.get("q", "").strip()
        context["q"] = q
        if q:
            context["pages"] = list(Page.objects.live().filter(locale=self.locale).search(q)[:20])
            reports = ReportIndexPage.objects.live().filter(locale=self.locale).first()
            found = list(ReportIndexPage.search_reports(q=q)[:20])
            if reports is not None:
                for report in found:
                    report.url = reports.report_url(report)
            context["reports"] = found
        return context
