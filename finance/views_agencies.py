"""Commission pages for third-party agencies: delegations and the yearly agency grade.

Program officers (the commission) only; everyone else, agency staff included, gets 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Agency
from accounts.roles import Role
from programs.models import Delegation
from programs.services import delegation_create

from .agencies import agency_grade_compute
from .models import AgencyGrade


def require_commission(user):
    if not (user.is_superuser or user.has_role(Role.PROGRAM_OFFICER)):
        raise Http404


class DelegationForm(forms.ModelForm):
    class Meta:
        model = Delegation
        fields = [
            "program",
            "agency",
            "selection",
            "process_management",
            "evaluation",
            "supervision",
            "starts_on",
            "ends_on",
        ]
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def _post_clean(self):  # the service validates (overlaps included)
        pass


@login_required
def delegations(request):
    require_commission(request.user)
    form = DelegationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            delegation_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error)
        else:
            messages.success(request, _("The program is delegated."))
            return redirect("finance:delegations")
    rows = Delegation.objects.select_related("program", "agency").order_by(
        "-ends_on", "program__code"
    )
    return render(
        request,
        "finance/agency_delegations.html",
        {"form": form, "delegations": rows, "today": timezone.localdate()},
    )


class GradeForm(forms.Form):
    agency = forms.ModelChoiceField(label=gettext_lazy("Agency"), queryset=Agency.objects.all())
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2100)


@login_required
def agency_grades(request):
    require_commission(request.user)
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    form = GradeForm(request.POST or None, initial={"year": year})
    if request.method == "POST" and form.is_valid():
        grade = agency_grade_compute(
            agency=form.cleaned_data["agency"], year=form.cleaned_data["year"], actor=request.user
        )
        messages.success(request, _("Grade computed: %(grade)s.") % {"grade": grade.grade})
        return redirect(reverse("finance:agency_grades") + f"?year={grade.year}")
    grades = AgencyGrade.objects.filter(year=year).select_related("agency", "computed_by")
    return render(
        request,
        "finance/agency_grades.html",
        {"form": form, "grades": grades, "year": year},
    )
