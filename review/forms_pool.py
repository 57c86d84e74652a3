"""Forms of the expert-pool pages: they parse input; review/pool.py decides."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accounts.models import ExpertProfile, Institution, User

from . import pool
from .models import Collaboration

#: Languages an expert may review in (ExpertProfile.languages holds the codes).
REVIEW_LANGUAGES = [
    ("zh", _("Chinese")),
    ("en", _("English")),
    ("de", _("German")),
    ("fr", _("French")),
    ("ja", _("Japanese")),
    ("ko", _("Korean")),
    ("ru", _("Russian")),
    ("es", _("Spanish")),
]

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def apply_errors(form, exc):
    """Show a service's ValidationError inline: on its field when the form has it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        target = name if name in form.fields and name != NON_FIELD_ERRORS else None
        for error in errors:
            form.add_error(target, ValidationError(error.messages))


class TagField(forms.CharField):
    """Keywords typed as text, separated by commas, semicolons (，；、 too) or lines."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return pool.join_tags(value)
        return value

    def to_python(self, value):
        return pool.split_tags(super().to_python(value))


class ExpertProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    country = forms.ChoiceField(
        label=_("Country"), choices=countries, help_text=_("China: domestic; else international.")
    )
    language = forms.ChoiceField(
        label=_("Language of mails and pages"), choices=User.Language.choices
    )
    institution = forms.ModelChoiceField(
        label=_("Institution"),
        queryset=Institution.objects.all(),
        required=False,
        help_text=_("The registered institution the expert works at now."),
    )
    orcid = forms.CharField(
        label=_("ORCID iD"),
        max_length=40,
        required=False,
        help_text=_("16 characters, e.g. 0000-0002-1825-0097."),
    )
    expertise = TagField(
        label=_("Expertise keywords (Chinese)"),
        required=False,
        help_text=_("Separate keywords by commas or new lines."),
    )
    expertise_en = TagField(
        label=_("Expertise keywords (English)"),
        required=False,
        help_text=_("Separate keywords by commas or new lines."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Review languages"),
        choices=REVIEW_LANGUAGES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    expert_type = forms.ChoiceField(
        label=_("Expert type"), choices=ExpertProfile.ExpertType.choices
    )

    def clean_orcid(self):
        return pool.validate_orcid_text(self.cleaned_data.get("orcid"))

    @classmethod
    def initial_for(cls, expert):
        profile = getattr(expert, "expert_profile", None)
        return {
            "full_name": expert.full_name,
            "email": expert.email,
            "country": str(expert.country),
            "language": expert.language,
            "institution": expert.institution_id,
            "orcid": expert.orcid,
            "expertise": profile.expertise if profile else [],
            "expertise_en": profile.expertise_en if profile else [],
            "languages": profile.languages if profile else [],
            "expert_type": profile.expert_type if profile else ExpertProfile.ExpertType.SCIENTIFIC,
        }


class ExpertCreateForm(ExpertProfileForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty: the expert sets one through password reset."),
    )

    field_order = ["username", "full_name", "email", "password"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken."), code="unique")
        return username

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        password = self.cleaned_data.get("password")
        if password:
            validate_password(password)
        return password


class ExpertAddForm(forms.Form):
    person = forms.CharField(
        label=_("Username, e-mail or ORCID iD"),
        max_length=254,
        help_text=_("An existing account; it gets the reviewer role."),
    )

    def clean_person(self):
        self.cleaned_data["user"] = pool.find_person(self.cleaned_data["person"])
        return self.cleaned_data["person"]


class AffiliationForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    institution = forms.ModelChoiceField(
        label=_("Registered institution"), queryset=Institution.objects.all(), required=False
    )
    institution_name = forms.CharField(
        label=_("or its name"),
        max_length=200,
        required=False,
        help_text=_("For an institution not registered here (abroad, for example)."),
    )
    started_on = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET)
    ended_on = forms.DateField(
        label=_("Until"), required=False, widget=DATE_WIDGET, help_text=_("Empty: current.")
    )


class BaseAffiliationFormSet(forms.BaseFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One query for the institution choices of every row.
        choices = [("", "---------")] + [
            (i.pk, str(i)) for i in Institution.objects.only("pk", "name")
        ]
        for form in self.forms + [self.empty_form]:
            form.fields["institution"].choices = choices

    def rows(self):
        """The rows for ``pool.expert_update``: index in the formset is the error's row."""
        out = []
        self.row_forms = []
        for form in self.forms:
            data = form.cleaned_data
            if not data or (not form.has_changed() and not data.get("id")):
                continue
            out.append(
                {
                    "id": data.get("id"),
                    "institution": data.get("institution"),
                    "institution_name": data.get("institution_name", ""),
                    "started_on": data.get("started_on"),
                    "ended_on": data.get("ended_on"),
                    "delete": data.get("DELETE", False),
                }
            )
            self.row_forms.append(form)
        return out

    def apply_row_errors(self, errors):
        for error in errors:
            params = error.params or {}
            row = params.get("row")
            name = params.get("field")
            if row is None or row >= len(self.row_forms):
                self._non_form_errors = self.non_form_errors() + error.messages
                continue
            form = self.row_forms[row]
            target = name if name in form.fields else None
            form.add_error(target, ValidationError(error.messages))


AffiliationFormSet = forms.formset_factory(
    AffiliationForm, formset=BaseAffiliationFormSet, extra=1, can_delete=True, max_num=50,
    validate_max=True,
)  # fmt: skip


def affiliation_initial(expert):
    return [
        {
            "id": a.pk,
            "institution": a.institution_id,
            "institution_name": a.institution_name,
            "started_on": a.started_on,
            "ended_on": a.ended_on,
        }
        for a in expert.affiliations.all()
    ]


class CollaborationForm(forms.Form):
    partner = forms.CharField(
        label=_("Partner (username, e-mail or ORCID iD)"),
        max_length=254,
        help_text=_("The other person must have an account."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Collaboration.Kind.choices)
    on = forms.DateField(label=_("Date"), widget=DATE_WIDGET)
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    source = forms.CharField(
        label=_("Source"),
        max_length=100,
        required=False,
        help_text=_("Where this is known from, e.g. a publication database."),
    )

    def clean_partner(self):
        self.cleaned_data["partner_user"] = pool.find_person(self.cleaned_data["partner"])
        return self.cleaned_data["partner"]


class CollaborationImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        required=False,
        help_text=_(
            "UTF-8, first row: person,partner,kind,date,title,source. person and partner: "
            "username, e-mail or ORCID iD; kind: project, paper, award or patent; "
            "date: YYYY-MM-DD."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    data = forms.CharField(required=False, widget=forms.HiddenInput)

    MAX_BYTES = 2 * 1024 * 1024

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > self.MAX_BYTES:
                raise ValidationError(_("The file is larger than %(mb)s MB: split it.") % {"mb": 2})
            raw = upload.read()
            try:
                cleaned["text"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                try:
                    cleaned["text"] = raw.decode("gb18030")
                except UnicodeDecodeError:
                    raise ValidationError(
                        {"file": _("The file is not text in UTF-8 or GB 18030.")}
                    ) from None
        elif cleaned.get("data"):
            cleaned["text"] = cleaned["data"]
        else:
            raise ValidationError({"file": _("Choose a CSV file.")})
        return cleaned
