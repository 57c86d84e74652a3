"""Filters of the proposal lists (django-filter). Choice lists only ever offer what the
user may see: the programs they manage, their calls, the institutions that applied."""

import django_filters as filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from programs.models import Call, Program
from programs.permissions import managed_programs

from .enums import ApplicationState
from .models import Application


def search(queryset, name, value):
    value = (value or "").strip()
    if not value:
        return queryset
    return queryset.filter(
        Q(number__icontains=value)
        | Q(title__icontains=value)
        | Q(title_en__icontains=value)
        | Q(applicant__full_name__icontains=value)
        | Q(applicant__username__icontains=value)
        | Q(applicant__last_name__icontains=value)
    )


class ApplicationFilter(filters.FilterSet):
    q = filters.CharFilter(
        label=_("Search"),
        method=lambda qs, name, value: search(qs, name, value),
        help_text=_("Number, title or principal investigator"),
    )
    state = filters.ChoiceFilter(
        label=_("State"), choices=ApplicationState.choices, empty_label=_("Any state")
    )

    class Meta:
        model = Application
        fields = ["q", "state"]


class InstitutionQueueFilter(ApplicationFilter):
    state = filters.ChoiceFilter(
        label=_("State"),
        choices=[c for c in ApplicationState.choices if c[0] != ApplicationState.DRAFT],
        empty_label=_("Any state"),
    )
    call = filters.ModelChoiceFilter(
        label=_("Call"), queryset=Call.objects.none(), empty_label=_("Any call")
    )

    class Meta(ApplicationFilter.Meta):
        fields = ["q", "state", "call"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.request.user
        self.filters["call"].queryset = Call.objects.filter(
            applications__institution_id=user.institution_id,
            applications__number__isnull=False,
        ).distinct()


FORMAL_CHECK_STATES = [
    c for c in ApplicationState.choices
    if c[0] not in (ApplicationState.DRAFT, ApplicationState.SUBMITTED)
]  # fmt: skip


class FormalCheckFilter(ApplicationFilter):
    state = filters.ChoiceFilter(
        label=_("State"), choices=FORMAL_CHECK_STATES, empty_label=_("Any state")
    )
    program = filters.ModelChoiceFilter(
        label=_("Program"),
        field_name="call__program",
        queryset=Program.objects.none(),
        empty_label=_("Any program"),
    )
    call = filters.ModelChoiceFilter(
        label=_("Call"), queryset=Call.objects.none(), empty_label=_("Any call")
    )
    institution = filters.CharFilter(
        label=_("Institution"),
        method="filter_institution",
        help_text=_("Name or credit code"),
    )

    class Meta(ApplicationFilter.Meta):
        fields = ["q", "program", "call", "state", "institution"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        programs = managed_programs(self.request.user)
        self.filters["program"].queryset = programs
        # A funder runs hundreds of calls: the call list follows the chosen program (a link
        # may still name one call directly), so the form stays short and quick to render.
        calls = Call.objects.filter(program__in=programs).select_related("program")
        data = self.data or {}
        if data.get("program"):
            calls = calls.filter(program_id=data["program"] if data["program"].isdigit() else None)
        elif data.get("call"):
            calls = calls.filter(pk=data["call"] if data["call"].isdigit() else None)
        else:
            calls = calls.none()
            self.filters["call"].extra["help_text"] = _("Choose a program to list its calls.")
        self.filters["call"].queryset = calls

    def filter_institution(self, queryset, name, value):
        value = (value or "").strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(institution__name__icontains=value)
            | Q(institution__name_en__icontains=value)
            | Q(institution__credit_code__iexact=value)
        )
