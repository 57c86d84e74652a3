"""Tables of proposals (django-tables2, rendered with tables/table.html).

Rows need ``call__program``, ``applicant`` and ``institution`` loaded and ``budget_lines``
prefetched (see ``views.with_totals``): a page costs the same queries for 1 or 25 rows, and
the totals are summed for the shown page only, never over the whole queue.
"""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Application
from .templatetags.grants_tags import cny


class ApplicationTable(tables.Table):
    number = tables.Column(
        verbose_name=_("Number"),
        empty_values=(),
        order_by=("number", "id"),
        attrs={"td": {"class": "nowrap"}},
    )
    title = tables.Column(verbose_name=_("Title"))
    applicant = tables.Column(
        verbose_name=_("Principal investigator"),
        order_by=("applicant__full_name", "applicant__username"),
    )
    institution = tables.Column(verbose_name=_("Institution"), order_by=("institution__name",))
    call = tables.Column(verbose_name=_("Call"), order_by=("call__program__code", "call__title"))
    state = tables.Column(verbose_name=_("State"))
    submitted_at = tables.DateTimeColumn(verbose_name=_("Submitted"), format="Y-m-d H:i")
    total = tables.Column(
        verbose_name=_("Budget (CNY)"),
        accessor="total_budget",
        orderable=False,
        attrs={"th": {"class": "num"}, "td": {"class": "num"}},
        empty_values=(),
    )

    class Meta:
        model = Application
        fields = ()
        sequence = (
            "number", "title", "applicant", "institution", "call", "state", "submitted_at",
            "total",
        )  # fmt: skip
        order_by = ("-submitted_at",)
        empty_text = _("No proposals match.")
        attrs = {"class": "data-table"}

    def render_number(self, record):
        return record.number or format_html('<span class="muted">{}</span>', _("(draft)"))

    def render_title(self, record):
        return format_html(
            '<a href="{}">{}</a>', reverse("grants:detail", args=[record.pk]), record.title
        )

    def render_applicant(self, record):
        return record.applicant.display_name

    def render_call(self, record):
        return format_html(
            '<span class="muted">{}</span> {}', record.call.program.code, record.call.title
        )

    def render_state(self, record):
        return format_html(
            '<span class="state-pill state-{}">{}</span>',
            record.state,
            record.get_state_display(),
        )

    def render_total(self, value):
        return cny(value)


class MyApplicationTable(ApplicationTable):
    class Meta(ApplicationTable.Meta):
        exclude = ("applicant", "institution")
        order_by = ()


class InstitutionQueueTable(ApplicationTable):
    class Meta(ApplicationTable.Meta):
        exclude = ("institution",)
