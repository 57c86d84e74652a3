"""The expert pool pages: list, profile, affiliations, collaborations and their CSV import.

Program officers read and edit; auditors read; everyone else gets 404. Views parse input
and call ``review.pool``; nothing here decides.
"""

import django_filters as filters
import django_tables2 as tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_countries import countries

from accounts.models import ExpertProfile, User
from config.tables import configure as configure_table
from integrity.models import Action
from integrity.services import barred_users

from . import pool
from .credit import credit_for
from .forms_pool import (
    REVIEW_LANGUAGES,
    AffiliationFormSet,
    CollaborationForm,
    CollaborationImportForm,
    ExpertAddForm,
    ExpertCreateForm,
    ExpertProfileForm,
    affiliation_initial,
    apply_errors,
)
from .models import ACTIVE_ASSIGNMENT_STATES, Collaboration

PER_PAGE = 25


def _require_reader(user):
    if not pool.may_read(user):
        raise Http404


def _require_editor(user):
    if not pool.may_edit(user):
        raise Http404


def _get_expert(pk):
    return get_object_or_404(pool.pool().select_related("institution", "expert_profile"), pk=pk)


# --- the list ---------------------------------------------------------------------------------


class PoolFilter(filters.FilterSet):
    q = filters.CharFilter(
        label=gettext_lazy("Search"),
        method="filter_search",
        help_text=gettext_lazy("Name, username, e-mail or ORCID iD"),
    )
    scope = filters.ChoiceFilter(
        label=gettext_lazy("Domestic or international"),
        choices=[
            ("domestic", gettext_lazy("Domestic (China)")),
            ("international", gettext_lazy("International")),
        ],
        empty_label=gettext_lazy("Both"),
        method="filter_scope",
    )
    country = filters.ChoiceFilter(
        label=gettext_lazy("Country"), choices=countries, empty_label=gettext_lazy("Any country")
    )
    expert_type = filters.ChoiceFilter(
        label=gettext_lazy("Expert type"),
        choices=ExpertProfile.ExpertType.choices,
        field_name="expert_profile__expert_type",
        empty_label=gettext_lazy("Any type"),
    )
    language = filters.ChoiceFilter(
        label=gettext_lazy("Reviews in"),
        choices=REVIEW_LANGUAGES,
        method="filter_language",
        empty_label=gettext_lazy("Any language"),
    )
    keyword = filters.CharFilter(
        label=gettext_lazy("Expertise"),
        method="filter_keyword",
        help_text=gettext_lazy("A keyword in Chinese or English"),
    )
    credit = filters.ChoiceFilter(
        label=gettext_lazy("Credit"),
        choices=[(code, label) for code, label, _low, _high in pool.CREDIT_BANDS],
        method="filter_credit",
        empty_label=gettext_lazy("Any credit"),
    )
    barred = filters.ChoiceFilter(
        label=gettext_lazy("Barred from reviewing"),
        choices=[("yes", gettext_lazy("Barred")), ("no", gettext_lazy("Not barred"))],
        method="filter_barred",
        empty_label=gettext_lazy("All"),
    )

    class Meta:
        model = User
        fields = ["q", "scope", "country", "expert_type", "language", "keyword", "credit", "barred"]

    def filter_search(self, queryset, name, value):
        return pool.search(queryset, value)

    def filter_scope(self, queryset, name, value):
        if value == "domestic":
            return queryset.filter(country="CN")
        if value == "international":
            return queryset.exclude(country="CN")
        return queryset

    def filter_language(self, queryset, name, value):
        return pool.filter_language(queryset, value)

    def filter_keyword(self, queryset, name, value):
        return pool.filter_keyword(queryset, value)

    def filter_credit(self, queryset, name, value):
        return pool.filter_credit_band(queryset, value)

    def filter_barred(self, queryset, name, value):
        if value in ("yes", "no"):
            return pool.filter_barred(queryset, value == "yes")
        return queryset


NUM = {"th": {"class": "num"}, "td": {"class": "num"}}


class PoolTable(tables.Table):
    name = tables.Column(
        verbose_name=gettext_lazy("Name"),
        accessor="full_name",
        order_by=("full_name", "username"),
    )
    username = tables.Column(verbose_name=gettext_lazy("Username"))
    country = tables.Column(verbose_name=gettext_lazy("Country"))
    expert_type = tables.Column(
        verbose_name=gettext_lazy("Type"),
        accessor="expert_profile__expert_type",
        order_by=("expert_profile__expert_type", "username"),
    )
    languages = tables.Column(
        verbose_name=gettext_lazy("Languages"),
        accessor="expert_profile__languages",
        orderable=False,
    )
    expertise = tables.Column(
        verbose_name=gettext_lazy("Expertise"), empty_values=(), orderable=False
    )
    institution = tables.Column(
        verbose_name=gettext_lazy("Institution"), order_by=("institution__name", "username")
    )
    active_assignments = tables.Column(verbose_name=gettext_lazy("Open assignments"), attrs=NUM)
    credit = tables.Column(
        verbose_name=gettext_lazy("Credit"), empty_values=(), orderable=False, attrs=NUM
    )
    integrity = tables.Column(
        verbose_name=gettext_lazy("Integrity"), empty_values=(), orderable=False
    )

    class Meta:
        model = User
        fields = ()
        sequence = (
            "name", "username", "country", "expert_type", "languages", "expertise",
            "institution", "active_assignments", "credit", "integrity",
        )  # fmt: skip
        order_by = ("name",)
        empty_text = gettext_lazy("No expert matches.")
        attrs = {"class": "data-table"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.credit_by_id = {}
        self.barred_ids = set()

    def load_page_facts(self):
        """Credit and integrity of the shown page's experts: two queries per page."""
        ids = [row.record.pk for row in self.page.object_list] if hasattr(self, "page") else []
        if ids:
            self.credit_by_id = credit_for(ids)
            self.barred_ids = set(barred_users(Action.REVIEW, ids))

    def render_name(self, record):
        return format_html(
            '<a href="{}">{}</a>{}',
            reverse("review:pool_detail", args=[record.pk]),
            record.display_name,
            ""
            if record.is_active
            else format_html(' <span class="state-pill">{}</span>', _("inactive")),
        )

    def render_country(self, record):
        if str(record.country) == "CN":
            return record.country.name
        return format_html(
            '{} <abbr title="{}">(I)</abbr>', record.country.name, _("international")
        )

    def render_expert_type(self, record):
        return record.expert_profile.get_expert_type_display()

    def render_languages(self, value):
        return ", ".join(value) if value else "—"

    def render_expertise(self, record):
        profile = getattr(record, "expert_profile", None)
        if profile is None:
            return "—"
        zh = "、".join(profile.expertise[:4])
        en = ", ".join(profile.expertise_en[:4])
        if zh and en:
            return format_html('{}<br><span lang="en">{}</span>', zh, en)
        if en:
            return format_html('<span lang="en">{}</span>', en)
        return zh or "—"

    def render_credit(self, record):
        value = self.credit_by_id.get(record.pk, 1.0)
        return f"{value:.2f}"

    def render_integrity(self, record):
        if record.pk in self.barred_ids:
            return format_html(
                '<span class="state-pill state-rejected">{}</span>', _("barred from reviewing")
            )
        return format_html('<span class="muted">{}</span>', _("clear"))


def pool_rows():
    return (
        pool.pool()
        .select_related("institution", "expert_profile")
        .annotate(
            active_assignments=Count(
                "review_assignments",
                filter=Q(review_assignments__state__in=ACTIVE_ASSIGNMENT_STATES),
            )
        )
    )


@login_required
def pool_list(request):
    _require_reader(request.user)
    filterset = PoolFilter(request.GET or None, queryset=pool_rows())
    table = PoolTable(filterset.qs)
    configure_table(request, table, PER_PAGE)
    table.load_page_facts()
    return render(
        request,
        "review/pool_list.html",
        {"filter": filterset, "table": table, "may_edit": pool.may_edit(request.user)},
    )


# --- one expert -------------------------------------------------------------------------------


def _detail_context(request, expert, collaboration_form=None):
    return {
        "expert": expert,
        "profile": getattr(expert, "expert_profile", None),
        "affiliations": expert.affiliations.select_related("institution"),
        "collaborations": pool.expert_collaborations(expert),
        "assignments": pool.expert_assignments(expert),
        "credit": pool.credit_of(expert),
        "integrity": pool.integrity_status(expert),
        "pledges": pool.expert_pledges(expert),
        "may_edit": pool.may_edit(request.user),
        "collaboration_form": collaboration_form or CollaborationForm(),
    }


@login_required
def pool_detail(request, pk):
    _require_reader(request.user)
    expert = _get_expert(pk)
    return render(request, "review/pool_detail.html", _detail_context(request, expert))


@login_required
def pool_edit(request, pk):
    """Profile and affiliation history in one form, saved together or not at all."""
    _require_editor(request.user)
    expert = _get_expert(pk)
    if request.method == "POST":
        form = ExpertProfileForm(request.POST)
        formset = AffiliationFormSet(request.POST, prefix="affiliations")
        if form.is_valid() and formset.is_valid():
            try:
                pool.expert_update(
                    expert=expert,
                    by=request.user,
                    affiliations=formset.rows(),
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                errors = getattr(exc, "error_dict", {})
                formset.apply_row_errors(errors.pop("affiliations", []))
                if errors or not hasattr(exc, "error_dict"):
                    apply_errors(form, ValidationError(errors) if errors else exc)
            else:
                messages.success(
                    request, _("The profile of %(name)s has been saved.") % {"name": expert}
                )
                return redirect("review:pool_detail", pk=expert.pk)
    else:
        form = ExpertProfileForm(initial=ExpertProfileForm.initial_for(expert))
        formset = AffiliationFormSet(initial=affiliation_initial(expert), prefix="affiliations")
    return render(
        request,
        "review/pool_form.html",
        {"form": form, "formset": formset, "expert": expert},
    )


@login_required
def pool_create(request):
    """A new reviewer account with its expert profile."""
    _require_editor(request.user)
    form = ExpertCreateForm(request.POST or None, initial={"country": "CN"})
    if request.method == "POST" and form.is_valid():
        try:
            expert = pool.expert_create(created_by=request.user, **form.cleaned_data)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(name)s has entered the expert pool.") % {"name": expert.display_name},
            )
            return redirect("review:pool_detail", pk=expert.pk)
    return render(request, "review/pool_form.html", {"form": form, "expert": None})


@login_required
def pool_add(request):
    """An existing account enters the pool."""
    _require_editor(request.user)
    form = ExpertAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            expert = pool.expert_add(user=form.cleaned_data["user"], added_by=request.user)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            form.add_error("person", exc)
        else:
            messages.success(
                request,
                _("%(name)s has entered the expert pool.") % {"name": expert.display_name},
            )
            return redirect("review:pool_detail", pk=expert.pk)
    return render(request, "review/pool_add.html", {"form": form})


@login_required
@require_POST
def collaboration_add(request, pk):
    _require_editor(request.user)
    expert = _get_expert(pk)
    form = CollaborationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            pool.collaboration_add(
                by=request.user,
                person=expert,
                partner=data["partner_user"],
                kind=data["kind"],
                on=data["on"],
                title=data["title"],
                source=data["source"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The collaboration has been recorded."))
            return redirect(reverse("review:pool_detail", args=[expert.pk]) + "#collab-h")
    context = _detail_context(request, expert, collaboration_form=form)
    return render(request, "review/pool_detail.html", context, status=400)


@login_required
@require_POST
def collaboration_delete(request, pk, collaboration_pk):
    _require_editor(request.user)
    expert = _get_expert(pk)
    collaboration = get_object_or_404(
        Collaboration.objects.filter(Q(person=expert) | Q(partner=expert)), pk=collaboration_pk
    )
    pool.collaboration_delete(by=request.user, collaboration=collaboration)
    messages.success(request, _("The collaboration has been removed."))
    return redirect(reverse("review:pool_detail", args=[expert.pk]) + "#collab-h")


@login_required
def collaboration_import(request):
    """Upload a CSV, read the dry run with each row's errors, then confirm."""
    _require_editor(request.user)
    report = None
    text = ""
    if request.method == "POST":
        form = CollaborationImportForm(request.POST, request.FILES)
        commit = request.POST.get("action") == "confirm"
        if form.is_valid():
            text = form.cleaned_data["text"]
            try:
                report = pool.collaborations_import(by=request.user, text=text, commit=commit)
            except ValidationError as exc:
                form.add_error("file", exc)
                text = ""
            else:
                if report.committed:
                    messages.success(
                        request,
                        _(
                            "%(written)s collaborations written; %(dup)s already recorded; "
                            "%(err)s rows with errors left out."
                        )
                        % {
                            "written": report.written,
                            "dup": report.duplicates,
                            "err": report.errors,
                        },
                    )
        form = CollaborationImportForm() if report and report.committed else form
    else:
        form = CollaborationImportForm()
    return render(
        request,
        "review/pool_import.html",
        {"form": form, "report": report, "text": text},
    )
