"""Forms of the proposal pages. They parse and check what a person typed; the rules that
decide whether it is acceptable stay in ``grants.services``."""

import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from config.uploads import PDF, ContentTypeValidator
from programs.models import Call
from programs.reference import disciplines

from .enums import TeamRole


def discipline_label(code, language=None):
    language = language or get_language() or settings.LANGUAGE_CODE
    for value, zh, en in disciplines():
        if value == code:
            return zh if language.startswith("zh") else en
    return code or ""


def discipline_choices():
    return [("", _("— choose —"))] + [
        (code, discipline_label(code)) for code, *_rest in disciplines()
    ]


#: Keywords may be separated by commas (half or full width), the enumeration comma 、 or
#: semicolons.
KEYWORD_SEPARATORS = re.compile(r"[,，、;；\n]+")


def split_keywords(text):
    return [k.strip() for k in KEYWORD_SEPARATORS.split(text or "") if k.strip()]


class KeywordsField(forms.CharField):
    """Keywords typed as one line of text; cleaned to a list."""

    def __init__(self, *, joiner=", ", **kwargs):
        self.joiner = joiner
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", _("Separate keywords with commas (, or ，) or the enumeration comma 、.")
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return self.joiner.join(value)
        return value

    def clean(self, value):
        value = super().clean(value)
        keywords = split_keywords(value)
        if len(keywords) > 10:
            raise ValidationError(_("Give at most 10 keywords."))
        if any(len(k) > 60 for k in keywords):
            raise ValidationError(_("A keyword may have at most 60 characters."))
        return keywords


class CallChoiceForm(forms.Form):
    call = forms.ModelChoiceField(
        label=_("Call"),
        queryset=Call.objects.none(),
        empty_label=_("— choose an open call —"),
        help_text=_("Only calls open for proposals today are listed."),
    )
    title = forms.CharField(label=_("Title"), max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = (
            Call.objects.open_at().select_related("program").order_by("closes_at", "id")
        )
        self.fields["call"].label_from_instance = lambda c: f"{c.program.code} · {c.title}"


class ContentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    abstract = forms.CharField(
        label=_("Abstract"), widget=forms.Textarea(attrs={"rows": 8}), required=False
    )
    keywords = KeywordsField(label=_("Keywords"), joiner="、")
    discipline = forms.ChoiceField(label=_("Discipline area"), choices=(), required=False)
    title_en = forms.CharField(label=_("English title"), max_length=300, required=False)
    abstract_en = forms.CharField(
        label=_("English abstract"), widget=forms.Textarea(attrs={"rows": 8}), required=False
    )
    keywords_en = KeywordsField(label=_("English keywords"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["discipline"].choices = discipline_choices()
        for name in ("title_en", "abstract_en", "keywords_en"):
            self.fields[name].widget.attrs["lang"] = "en"

    @classmethod
    def initial_for(cls, application):
        return {name: getattr(application, name) for name in cls.base_fields}


def find_user(text):
    """The registered, active user named by ``text`` (username or e-mail), or None."""
    text = (text or "").strip()
    if not text:
        return None
    matches = list(
        get_user_model()
        ._default_manager.filter(Q(username__iexact=text) | Q(email__iexact=text), is_active=True)
        .order_by("id")[:2]
    )
    if len(matches) != 1:
        return None
    return matches[0]


class TeamMemberForm(forms.Form):
    member = forms.CharField(
        label=_("Username or e-mail"),
        max_length=254,
        help_text=_("The person must already have a Grantflow account."),
    )
    role = forms.ChoiceField(
        label=_("Role on the team"), choices=TeamRole.choices, initial=TeamRole.MEMBER
    )

    def clean_member(self):
        text = self.cleaned_data["member"]
        user = find_user(text)
        if user is None:
            raise ValidationError(
                _("No single registered user has the username or e-mail “%(text)s”."),
                params={"text": text},
            )
        self.cleaned_data["user"] = user
        return text


class BaseTeamFormSet(forms.BaseFormSet):
    def members(self):
        return [
            (form.cleaned_data["user"], form.cleaned_data["role"])
            for form in self.forms
            if form.has_changed()
            and not form.cleaned_data.get("DELETE")
            and "user" in form.cleaned_data
        ]


TeamFormSet = forms.formset_factory(
    TeamMemberForm, formset=BaseTeamFormSet, extra=2, can_delete=True, max_num=30,
    validate_max=True,
)  # fmt: skip


def team_initial(application):
    return [{"member": m.user.username, "role": m.role} for m in application.team.all()]


AMOUNT = {
    "max_digits": 14,
    "decimal_places": 2,
    "min_value": Decimal("0"),
    "required": False,
    "localize": False,
}


class LineItemBudgetForm(forms.Form):
    """Direct costs; the indirect line is computed from them, never typed."""

    equipment = forms.DecimalField(label=_("Equipment (CNY)"), **AMOUNT)
    business = forms.DecimalField(
        label=_("Business costs (CNY)"),
        help_text=_(
            "Materials, tests, fuel and power, travel, meetings, international exchange, "
            "publication, IP and expert consultation."
        ),
        **AMOUNT,
    )
    labor = forms.DecimalField(
        label=_("Labour (CNY)"),
        help_text=_("May include social insurance for hired staff."),
        **AMOUNT,
    )

    def lines(self):
        return {k: v for k, v in self.cleaned_data.items() if v is not None}


class LumpSumBudgetForm(forms.Form):
    lump_sum = forms.DecimalField(
        label=_("Lump sum (CNY)"),
        help_text=_("A lump-sum call takes one amount, with no line-item budget."),
        **AMOUNT,
    )

    def lines(self):
        return {k: v for k, v in self.cleaned_data.items() if v is not None}


def budget_form_class(call):
    return LumpSumBudgetForm if call.lump_sum else LineItemBudgetForm


class AttachmentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    file = forms.FileField(
        label=_("PDF file"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,.pdf"}),
        validators=[ContentTypeValidator((PDF,))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        mb = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        self.fields["file"].help_text = _("PDF only, at most %(mb)d MB.") % {"mb": mb}


class ExpertToAvoidForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    institution = forms.CharField(label=_("Institution"), max_length=200, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)

    def clean(self):
        data = super().clean()
        if data.get("name") and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give a reason for each expert to avoid."))
        return data


class BaseExpertFormSet(forms.BaseFormSet):
    def experts(self):
        return [
            {
                "name": form.cleaned_data["name"],
                "institution": form.cleaned_data.get("institution", ""),
                "reason": form.cleaned_data["reason"],
            }
            for form in self.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE")
        ]


def expert_formset_class(limit):
    return forms.formset_factory(
        ExpertToAvoidForm, formset=BaseExpertFormSet, extra=limit, max_num=limit,
        validate_max=True, can_delete=True,
    )  # fmt: skip


def experts_initial(application):
    return [
        {"name": e.name, "institution": e.institution, "reason": e.reason}
        for e in application.experts_to_avoid.all()
    ]


class TransitionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
        max_length=4000,
    )  # fmt: skip

    def __init__(self, *args, info, **kwargs):
        self.info = info
        kwargs.setdefault("prefix", f"t-{info.name}")
        super().__init__(*args, **kwargs)
        if info.needs_comment:
            field = self.fields["comment"]
            field.required = True
            field.label = _("Reason")
            field.help_text = _("Required: the applicant reads it.")


def apply_errors(exc, form):
    """Put a service's ``ValidationError`` on ``form``, by field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
