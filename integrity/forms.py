import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Institution, User

from .models import Action, CreditRecord, MisconductCategory


class RecordForm(forms.Form):
    """What an integrity officer writes down; the service checks the record as a whole."""

    subject_user = forms.CharField(
        label=_("Person (username or email)"),
        required=False,
        help_text=_("Name the person, the institution, or both."),
    )
    subject_institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.all(), required=False
    )
    category = forms.ChoiceField(label=_("Misconduct"), choices=MisconductCategory.choices)
    bars = forms.MultipleChoiceField(
        label=_("Bars"),
        choices=Action.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the subject may not do while the record is in force."),
    )
    starts_on = forms.DateField(
        label=_("Takes effect on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    ends_on = forms.DateField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: permanent."),
    )
    decision = forms.CharField(
        label=_("Handling decision"), widget=forms.Textarea(attrs={"rows": 3})
    )
    deciding_body = forms.CharField(label=_("Deciding body"), max_length=200)
    legal_basis = forms.CharField(label=_("Legal basis"), max_length=300, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    @classmethod
    def initial_from(cls, record):
        return {
            "subject_user": record.subject_user.username if record.subject_user else "",
            "subject_institution": record.subject_institution_id,
            "category": record.category,
            "bars": record.bars,
            "starts_on": record.starts_on,
            "ends_on": record.ends_on,
            "decision": record.decision,
            "deciding_body": record.deciding_body,
            "legal_basis": record.legal_basis,
            "description": record.description,
        }

    def clean_subject_user(self):
        value = (self.cleaned_data.get("subject_user") or "").strip()
        if not value:
            return None
        user = User.objects.filter(Q(username__iexact=value) | Q(email__iexact=value)).first()
        if user is None:
            raise forms.ValidationError(_("No account has this username or email."))
        return user

    def clean(self):
        data = super().clean()
        if (
            not self.has_error("subject_user")
            and not data.get("subject_user")
            and not data.get("subject_institution")
        ):
            raise forms.ValidationError(
                _("Name the person or the institution the record is about.")
            )
        return data


class RecordStatus:
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    UPCOMING = "upcoming"
    SUPERSEDED = "superseded"
    CHOICES = [
        (IN_FORCE, _("In force")),
        (EXPIRED, _("Expired")),
        (UPCOMING, _("Not yet in force")),
        (SUPERSEDED, _("Superseded")),
    ]


class RecordFilter(django_filters.FilterSet):
    subject = django_filters.CharFilter(label=_("Subject"), method="filter_subject")
    bar = django_filters.ChoiceFilter(label=_("Bars"), choices=Action.choices, method="filter_bar")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=RecordStatus.CHOICES, method="filter_status"
    )
    category = django_filters.ChoiceFilter(
        label=_("Misconduct"), choices=MisconductCategory.choices
    )

    class Meta:
        model = CreditRecord
        fields = ["subject", "bar", "status", "category"]

    def filter_subject(self, queryset, name, value):
        return queryset.filter(
            Q(subject_user__username__icontains=value)
            | Q(subject_user__full_name__icontains=value)
            | Q(subject_institution__name__icontains=value)
            | Q(subject_institution__name_en__icontains=value)
            | Q(subject_institution__credit_code__iexact=value)
        )

    def filter_bar(self, queryset, name, value):
        return queryset.barring(value)

    def filter_status(self, queryset, name, value):
        today = timezone.localdate()
        if value == RecordStatus.IN_FORCE:
            return queryset.in_force(today)
        if value == RecordStatus.SUPERSEDED:
            return queryset.filter(superseded_by__isnull=False)
        live = queryset.filter(superseded_by__isnull=True)
        if value == RecordStatus.EXPIRED:
            return live.filter(ends_on__lt=today)
        if value == RecordStatus.UPCOMING:
            return live.filter(starts_on__gt=today)
        return queryset


class ImportForm(forms.Form):
    """An integrity list from another department (CSV or JSON, integrity.exchange)."""

    source = forms.CharField(
        label=_("Sending department"),
        max_length=200,
        required=False,
        help_text=_("Required for CSV files; a JSON file names its own source."),
    )
    file = forms.FileField(
        label=_("List file (CSV or JSON)"),
        help_text=_(
            "Columns: subject_kind, id_number, orcid, credit_code, name, institution, "
            "category, bars, sanctions, starts_on, ends_on, decision, deciding_body, "
            "legal_basis, description."
        ),
    )
    dry_run = forms.BooleanField(
        label=_("Preview only (dry run): check and match, write nothing"),
        required=False,
        initial=True,
    )


class ImportConfirmForm(forms.Form):
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    source = forms.CharField(max_length=200, required=False, widget=forms.HiddenInput)
