from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Agency, Institution, User
from .roles import OFFICER_GRANTABLE_ROLES, Role
from .validators import normalize_orcid


def apply_errors(form, exc):
    """Show a service's ``ValidationError`` inline: on its field when the form has it."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            if field == NON_FIELD_ERRORS:
                target = None
            for error in errors:
                form.add_error(target, error)
    else:
        form.add_error(None, exc)


def confirmed_totp(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id")


class LoginForm(OTPAuthenticationFormMixin, AuthenticationForm):
    """Username and password; the authenticator code too when the user has set one up."""

    otp_token = forms.CharField(
        label=_("Authentication code"),
        required=False,
        help_text=_("Only if you have set up two-factor authentication."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
    )

    otp_error_messages = dict(
        OTPAuthenticationFormMixin.otp_error_messages,
        token_required=_("Enter the code from your authenticator app."),
        invalid_token=_("The authentication code is not correct. Please try again."),
        device_required=_("Enter the code from your authenticator app."),
    )

    def clean(self):
        super().clean()
        user = self.get_user()
        if user is not None and confirmed_totp(user).exists():
            self.clean_otp(user)
        return self.cleaned_data

    def _chosen_device(self, user):
        # Locked, so that two logins with one code cannot both pass.
        return confirmed_totp(user).select_for_update().first()


class ProfileForm(forms.ModelForm):
    id_number = forms.CharField(
        label=_("Resident ID number"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_(
            "Optional; used only to match research-integrity records across departments. "
            "It is kept as a keyed hash and shown masked, never in full."
        ),
    )

    class Meta:
        model = User
        fields = ["full_name", "email", "language", "country", "orcid"]
        help_texts = {"orcid": _("16 characters, e.g. 0000-0002-1825-0097.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.id_number_masked:
            self.fields["id_number"].help_text = _(
                "On file: %(masked)s. Type a new number to replace it."
            ) % {"masked": self.instance.id_number_masked}

    def clean_id_number(self):
        from .models import normalize_id_number

        value = (self.cleaned_data.get("id_number") or "").strip()
        if value and normalize_id_number(value) is None:
            raise forms.ValidationError(_("Enter a valid 18-character resident ID number."))
        return value

    def clean_orcid(self):
        value = (self.cleaned_data.get("orcid") or "").strip()
        return (normalize_orcid(value) or value) if value else ""


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
    )

    def __init__(self, *args, device, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self):
        token = self.cleaned_data["token"].strip()
        if not self.device.verify_token(token):
            raise ValidationError(_("The code is not correct. Please try again."), code="invalid")
        return token


class PasswordConfirmForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("The password is not correct."), code="invalid")
        return password


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Institution.objects.all(), required=False
    )
    agency = forms.ModelChoiceField(
        label=_("Agency"), queryset=Agency.objects.all(), required=False
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )
    password = forms.CharField(
        label=_("Initial password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty: the person sets one through password reset."),
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        if not actor.is_superuser:
            self.fields["roles"].choices = [
                (value, label) for value, label in Role.choices if value in OFFICER_GRANTABLE_ROLES
            ]
            del self.fields["agency"]

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


class InstitutionForm(forms.ModelForm):
    class Meta:
        model = Institution
        fields = ["name", "name_en", "credit_code"]

    def clean_credit_code(self):
        return (self.cleaned_data.get("credit_code") or "").strip().upper()
