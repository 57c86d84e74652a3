import django_tables2 as tables
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Call, Program

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class ProgramTable(tables.Table):
    code = tables.Column(
        verbose_name=_("Code"), linkify=("programs:program_detail", [tables.A("pk")])
    )
    name = tables.Column(
        verbose_name=_("Name"), linkify=("programs:program_detail", [tables.A("pk")])
    )
    category = tables.Column(verbose_name=_("Category"))
    funding_mode = tables.Column(verbose_name=_("Funding mode"))
    agency = tables.Column(verbose_name=_("Delegated to"), order_by=("agency__name",), default="—")
    call_count = tables.Column(verbose_name=_("Calls"), attrs=NUM)

    class Meta:
        model = Program
        fields = ("code", "name", "category", "funding_mode", "agency", "call_count")
        attrs = {"class": "list"}
        order_by = ("code",)


class CallTable(tables.Table):
    title = tables.Column(
        verbose_name=_("Title"), linkify=("programs:call_detail", [tables.A("pk")])
    )
    opens_at = tables.DateTimeColumn(verbose_name=_("Opens"), format="Y-m-d H:i")
    closes_at = tables.DateTimeColumn(verbose_name=_("Closes"), format="Y-m-d H:i")
    max_budget = tables.Column(verbose_name=_("Cap per proposal"), attrs=NUM)
    sum_kind = tables.Column(verbose_name=_("Sum"))
    lump_sum = tables.BooleanColumn(verbose_name=_("Lump-sum"))

    class Meta:
        model = Call
        fields = ("title", "opens_at", "closes_at", "max_budget", "sum_kind", "lump_sum")
        attrs = {"class": "list"}
        order_by = ("-opens_at",)

    def render_max_budget(self, value):
        return f"{value:,.2f}"


class OpenCallTable(tables.Table):
    program = tables.Column(verbose_name=_("Program"), order_by=("program__code",))
    title = tables.Column(verbose_name=_("Call"))
    opens_at = tables.DateTimeColumn(verbose_name=_("Opens"), format="Y-m-d H:i")
    closes_at = tables.DateTimeColumn(verbose_name=_("Closes"), format="Y-m-d H:i")
    max_budget = tables.Column(verbose_name=_("Cap per proposal (CNY)"), attrs=NUM)
    sum_kind = tables.Column(verbose_name=_("Sum"))
    lump_sum = tables.BooleanColumn(verbose_name=_("Lump-sum"))
    apply = tables.Column(verbose_name=_("Apply"), empty_values=(), orderable=False)

    class Meta:
        model = Call
        fields = (
            "program",
            "title",
            "opens_at",
            "closes_at",
            "max_budget",
            "sum_kind",
            "lump_sum",
            "apply",
        )
        attrs = {"class": "list"}
        order_by = ("closes_at",)

    def render_max_budget(self, value):
        return f"{value:,.2f}"

    def render_apply(self, record):
        try:
            url = reverse("grants:create")
        except NoReverseMatch:
            return "—"
        return format_html(
            '<a class="btn" href="{}?call={}" aria-label="{}">{}</a>',
            url,
            record.pk,
            _("Apply to %(call)s") % {"call": record.title},
            _("Apply"),
        )
