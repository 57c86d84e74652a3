"""Forms of the misconduct-case pages; the rules are checked in ``integrity.cases``."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Agency, Institution, User
from accounts.roles import Role

from .cases import sanction_catalogue
from .models import (
    Action,
    AppealOutcome,
    CaseChannel,
    CaseState,
    CaseSubject,
    InvestigationRequest,
    MisconductCase,
    MisconductCategory,
)

DATE = {"type": "date"}


def _user_by_name(value):
    value = (value or "").strip()
    if not value:
        return None
    user = User.objects.filter(Q(username__iexact=value) | Q(email__iexact=value)).first()
    if user is None:
        raise forms.ValidationError(_("No account has this username or email."))
    return user


class ReportForm(forms.Form):
    """What any signed-in user reports. Their identity is kept for the integrity office only."""

    title = forms.CharField(label=_("Summary"), max_length=300)
    allegation = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("When, where, who was involved, what you saw; facts you can support."),
    )
    kind = forms.ChoiceField(
        label=_("Kind of misconduct"),
        choices=[("", _("I am not sure"))] + list(MisconductCategory.choices),
        required=False,
    )
    subject_name = forms.CharField(label=_("Who it is about"), max_length=200)
    subject_identity = forms.CharField(
        label=_("How to identify them"),
        max_length=300,
        required=False,
        help_text=_("Institution, position, project or proposal number."),
    )
    evidence = forms.FileField(
        label=_("Evidence (optional)"),
        required=False,
        help_text=_("PDF, JPEG or PNG."),
    )


class SubjectFieldsMixin(forms.Form):
    subject_user = forms.CharField(
        label=_("Person (username or email)"), max_length=150, required=False
    )
    subject_institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.all(), required=False
    )
    subject_agency = forms.ModelChoiceField(
        label=_("Agency"), queryset=Agency.objects.all(), required=False
    )
    subject_name = forms.CharField(
        label=_("Name (when they have no account)"), max_length=200, required=False
    )
    subject_identity = forms.CharField(label=_("Identity"), max_length=300, required=False)

    def clean_subject_user(self):
        return _user_by_name(self.cleaned_data.get("subject_user"))

    def subject(self):
        data = self.cleaned_data
        return {
            "user": data.get("subject_user"),
            "institution": data.get("subject_institution"),
            "agency": data.get("subject_agency"),
            "name": data.get("subject_name", ""),
            "identity": data.get("subject_identity", ""),
        }

    def has_subject(self):
        s = self.subject()
        return bool(s["user"] or s["institution"] or s["agency"] or s["name"])


class SubjectForm(SubjectFieldsMixin):
    def clean(self):
        data = super().clean()
        if not self.has_error("subject_user") and not self.has_subject():
            raise forms.ValidationError(
                _("Name a person, an institution, an agency or describe who it is.")
            )
        return data


class PaperReportForm(SubjectFieldsMixin):
    """A report received on paper, entered by an integrity officer."""

    title = forms.CharField(label=_("Summary"), max_length=300)
    allegation = forms.CharField(
        label=_("What is reported"), widget=forms.Textarea(attrs={"rows": 6})
    )
    kind = forms.ChoiceField(
        label=_("Kind of misconduct"),
        choices=[("", "—")] + list(MisconductCategory.choices),
        required=False,
    )
    reporter_name = forms.CharField(label=_("Reporter's name"), max_length=150, required=False)
    reporter_phone = forms.CharField(label=_("Reporter's phone"), max_length=32, required=False)
    reporter_email = forms.EmailField(label=_("Reporter's email"), required=False)
    reporter_organisation = forms.CharField(
        label=_("Reporter's organisation"), max_length=200, required=False
    )
    reference_text = forms.CharField(
        label=_("Concerns (proposal, project, paper)"), max_length=300, required=False
    )
    evidence = forms.FileField(label=_("Scanned report or evidence"), required=False)

    field_order = [
        "title",
        "allegation",
        "kind",
        "reference_text",
        "reporter_name",
        "reporter_phone",
        "reporter_email",
        "reporter_organisation",
    ]


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("PDF, JPEG or PNG."))
    description = forms.CharField(label=_("Description"), max_length=300, required=False)


class InvestigatorForm(forms.Form):
    investigator = forms.ModelChoiceField(
        label=_("Investigator"),
        queryset=User.objects.filter(groups__name=Role.INTEGRITY_OFFICER, is_active=True),
    )


class InvestigationRequestForm(forms.ModelForm):
    class Meta:
        model = InvestigationRequest
        fields = ["institution", "message", "due_on"]
        widgets = {
            "message": forms.Textarea(attrs={"rows": 4}),
            "due_on": forms.DateInput(attrs=DATE),
        }


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class DecisionFieldsMixin(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of misconduct"), choices=MisconductCategory.choices)
    sanctions = forms.MultipleChoiceField(
        label=_("Sanctions"), choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    bars = forms.MultipleChoiceField(
        label=_("Further bars"),
        choices=Action.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Bars besides those the sanctions carry."),
    )
    starts_on = forms.DateField(label=_("Takes effect on"), widget=forms.DateInput(attrs=DATE))
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateInput(attrs=DATE),
        help_text=_("Empty: permanent."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        catalogue = sanction_catalogue()
        if catalogue is None:
            del self.fields["sanctions"]
        else:
            self.fields["sanctions"].choices = catalogue.choices


class DecisionForm(DecisionFieldsMixin):
    findings = forms.CharField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 6}))
    deciding_body = forms.CharField(label=_("Deciding body"), max_length=200)
    legal_basis = forms.CharField(label=_("Legal basis"), max_length=300, required=False)
    comment = forms.CharField(
        label=_("Comment for the log"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["findings", "kind", "sanctions", "bars", "starts_on", "ends_on"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("starts_on", timezone.localdate())
        super().__init__(*args, **kwargs)


class AppealForm(forms.Form):
    comment = forms.CharField(
        label=_("Grounds of your appeal"), widget=forms.Textarea(attrs={"rows": 6})
    )


class AppealDecisionForm(DecisionFieldsMixin):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=AppealOutcome.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Reasons of the appeal decision"), widget=forms.Textarea(attrs={"rows": 4})
    )
    findings = forms.CharField(
        label=_("Amended findings"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Only when amending; empty keeps the findings."),
    )

    field_order = ["outcome", "comment", "findings", "kind", "sanctions", "bars"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("kind", "starts_on"):
            self.fields[name].required = False
        self.fields["kind"].choices = [("", _("unchanged"))] + list(MisconductCategory.choices)
        self.fields["starts_on"].help_text = _("Empty: as before.")


class AnswerForm(forms.Form):
    report = forms.FileField(
        label=_("Report of your investigation"), help_text=_("PDF, JPEG or PNG.")
    )
    summary = forms.CharField(
        label=_("Summary of the findings"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class CaseFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(label=_("State"), choices=CaseState.choices)
    kind = django_filters.ChoiceFilter(label=_("Misconduct"), choices=MisconductCategory.choices)
    channel = django_filters.ChoiceFilter(label=_("Reported through"), choices=CaseChannel.choices)
    subject = django_filters.CharFilter(label=_("Subject"), method="filter_subject")
    overdue = django_filters.BooleanFilter(
        label=_("Institution's report overdue"),
        method="filter_overdue",
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = MisconductCase
        fields = ["state", "kind", "channel", "subject", "overdue"]

    def filter_subject(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        named = CaseSubject.objects.filter(
            Q(user__username__icontains=value)
            | Q(user__full_name__icontains=value)
            | Q(institution__name__icontains=value)
            | Q(institution__name_en__icontains=value)
            | Q(agency__name__icontains=value)
            | Q(name__icontains=value),
            case=OuterRef("pk"),
        )
        return queryset.filter(Exists(named))

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(has_overdue_request=True)


class IntercessionForm(forms.Form):
    """A reviewer reports an attempt to influence their review (请托, 打招呼)."""

    who = forms.CharField(
        label=_("Who approached you"),
        max_length=200,
        help_text=_("Name, and their institution or role if you know it."),
    )
    identity = forms.CharField(label=_("Their institution or role"), max_length=300, required=False)
    what = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("When and how they contacted you, and what they asked for."),
    )
    evidence = forms.FileField(
        label=_("Evidence (optional)"), required=False, help_text=_("PDF, JPEG or PNG.")
    )
