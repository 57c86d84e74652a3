import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency

from .models import Call, Category, FundingMode, Program


class ProgramFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    category = django_filters.ChoiceFilter(label=_("Category"), choices=Category.choices)
    funding_mode = django_filters.ChoiceFilter(label=_("Funding mode"), choices=FundingMode.choices)
    agency = django_filters.ModelChoiceFilter(
        label=_("Agency"), queryset=Agency.objects.all(), null_label=_("Not delegated")
    )

    class Meta:
        model = Program
        fields = ["q", "category", "funding_mode", "agency"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value) | Q(name__icontains=value) | Q(name_en__icontains=value)
        )


class OpenCallFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    category = django_filters.ChoiceFilter(
        label=_("Category"), choices=Category.choices, field_name="program__category"
    )
    sum_kind = django_filters.ChoiceFilter(label=_("Sum"), choices=Call.SumKind.choices)
    lump_sum = django_filters.BooleanFilter(label=_("Lump-sum"))

    class Meta:
        model = Call
        fields = ["q", "category", "sum_kind", "lump_sum"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(title__icontains=value)
            | Q(title_en__icontains=value)
            | Q(program__name__icontains=value)
            | Q(program__code__icontains=value)
        )
