"""Account pages: sign-in (with an authenticator code for those who set one up), profile,
two-factor setup for staff, and the officers' user and institution lists."""

from base64 import b32encode

import django_filters
import django_tables2 as tables
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.security import rate_limited
from config.tables import configure as configure_table

from . import services
from .forms import (
    InstitutionForm,
    LoginForm,
    PasswordConfirmForm,
    ProfileForm,
    TokenForm,
    UserCreateForm,
    apply_errors,
    confirmed_totp,
)
from .models import Institution, User
from .roles import Role
from .two_factor import enforced, is_staff_account, safe_next

PAGE_SIZE = 25


def remember_language(response, language):
    """Make ``language`` the UI language from the next request on (LocaleMiddleware)."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    return response


def may_use_two_factor(user):
    return is_staff_account(user) or (
        user.is_authenticated and user.has_perm("wagtailadmin.access_admin")
    )


def may_manage_users(user):
    return user.is_authenticated and (user.is_superuser or user.has_role(Role.PROGRAM_OFFICER))


# --- sign in / out, password -------------------------------------------------------------


@method_decorator(rate_limited(("login", "ip")), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        device = getattr(user, "otp_device", None)
        if device is not None:
            otp_login(self.request, device)
        return remember_language(response, user.language)


class LogoutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]


@method_decorator(
    rate_limited(("password_reset", "ip"), ("password_reset_email", "email")), name="dispatch"
)
class PasswordResetView(auth_views.PasswordResetView):
    """Mails a link to set a new password; the same answer whether the address is known."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


# --- profile ----------------------------------------------------------------------------


@login_required
def profile(request):
    user = request.user
    form = ProfileForm(request.POST or None, instance=User.objects.get(pk=user.pk))
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                services.profile_update(
                    user=user, **{name: form.cleaned_data[name] for name in form.Meta.fields}
                )
                if form.cleaned_data.get("id_number"):
                    services.user_set_id_number(user=user, id_number=form.cleaned_data["id_number"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            translation.activate(user.language)
            messages.success(request, _("Your profile has been saved."))
            return remember_language(redirect("accounts:profile"), user.language)
    context = {
        "form": form,
        "two_factor_enabled": may_use_two_factor(user) and confirmed_totp(user).exists(),
        "may_use_two_factor": may_use_two_factor(user),
    }
    return render(request, "accounts/profile.html", context)


# --- two-factor authentication ------------------------------------------------------------


def _qr_svg(text):
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308 - generated by qrcode


@login_required
def two_factor(request):
    user = request.user
    if not may_use_two_factor(user):
        raise Http404
    confirmed = confirmed_totp(user).first()
    token_form = disable_form = None
    if confirmed is not None:
        disable_form = PasswordConfirmForm(
            request.POST if request.POST.get("action") == "disable" else None, user=user
        )
        if request.method == "POST" and enforced():
            messages.error(request, _("Staff accounts must keep two-factor authentication on."))
            return redirect("accounts:two_factor")
        if request.method == "POST" and disable_form.is_valid():
            TOTPDevice.objects.filter(user=user).delete()
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("accounts:two_factor")
        return render(
            request,
            "accounts/two_factor.html",
            {"device": confirmed, "disable_form": None if enforced() else disable_form},
        )

    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    token_form = TokenForm(
        request.POST if request.POST.get("action") == "confirm" else None, device=device
    )
    if request.method == "POST" and token_form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        otp_login(request, device)
        messages.success(
            request,
            _("Two-factor authentication is on: you will be asked for a code when you sign in."),
        )
        return redirect(safe_next(request) or "accounts:two_factor")
    secret = b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "accounts/two_factor.html",
        {
            "pending": device,
            "token_form": token_form,
            "qr_svg": _qr_svg(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "required": enforced(),
            "next": safe_next(request),
        },
    )


@login_required
def two_factor_verify(request):
    """A code for a session signed in without one (e.g. the app was set up elsewhere)."""
    device = confirmed_totp(request.user).first()
    if device is None:
        return redirect("accounts:two_factor")
    form = TokenForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        otp_login(request, device)
        return redirect(safe_next(request) or settings.LOGIN_REDIRECT_URL)
    return render(
        request, "accounts/two_factor_verify.html", {"form": form, "next": safe_next(request)}
    )


# --- users (officers and administrators) ----------------------------------------------------


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Search"), method="search")
    role = django_filters.ChoiceFilter(
        label=gettext_lazy("Role"), choices=Role.choices, field_name="groups__name"
    )
    institution = django_filters.ModelChoiceFilter(
        label=gettext_lazy("Institution"), queryset=Institution.objects.all()
    )

    class Meta:
        model = User
        fields = ["q", "role", "institution"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(username__icontains=value) | Q(full_name__icontains=value) | Q(email__icontains=value)
        )


class UserTable(tables.Table):
    username = tables.Column(verbose_name=gettext_lazy("Username"))
    full_name = tables.Column(verbose_name=gettext_lazy("Name"))
    email = tables.EmailColumn(verbose_name=gettext_lazy("Email"))
    institution = tables.Column(
        verbose_name=gettext_lazy("Institution"), order_by=("institution__name",)
    )
    roles = tables.Column(verbose_name=gettext_lazy("Roles"), empty_values=(), orderable=False)
    is_active = tables.BooleanColumn(verbose_name=gettext_lazy("Active"))
    date_joined = tables.DateColumn(verbose_name=gettext_lazy("Joined"), format="Y-m-d")

    class Meta:
        attrs = {"class": "list"}
        order_by = ("username",)

    def render_roles(self, record):
        labels = dict(Role.choices)
        return ", ".join(str(labels[name]) for name in sorted(record.role_names)) or "—"


@login_required
def user_list(request):
    if not may_manage_users(request.user):
        raise Http404
    queryset = User.objects.select_related("institution").prefetch_related("groups")
    filterset = UserFilter(request.GET or None, queryset=queryset)
    table = UserTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(request, "accounts/user_list.html", {"filter": filterset, "table": table})


@login_required
def user_create(request):
    if not may_manage_users(request.user):
        raise Http404
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            user = services.user_create(
                created_by=request.user,
                username=data.pop("username"),
                password=data.pop("password") or None,
                roles=data.pop("roles"),
                **data,
            )
        except PermissionDenied:
            form.add_error("roles", _("You may not give these roles."))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("The account %(username)s has been created.") % {"username": user}
            )
            return redirect("accounts:user_list")
    return render(request, "accounts/user_form.html", {"form": form})


# --- institutions ----------------------------------------------------------------------------


class InstitutionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Search"), method="search")

    class Meta:
        model = Institution
        fields = ["q"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value) | Q(name_en__icontains=value) | Q(credit_code__iexact=value)
        )


class InstitutionTable(tables.Table):
    name = tables.Column(verbose_name=gettext_lazy("Name"))
    name_en = tables.Column(verbose_name=gettext_lazy("English name"))
    credit_code = tables.Column(verbose_name=gettext_lazy("Unified social credit code"))
    member_count = tables.Column(
        verbose_name=gettext_lazy("Accounts"),
        attrs={"td": {"class": "num"}, "th": {"class": "num"}},
    )

    class Meta:
        attrs = {"class": "list"}
        order_by = ("name",)


@login_required
def institution_list(request):
    if not may_manage_users(request.user):
        raise Http404
    queryset = Institution.objects.annotate(member_count=Count("members"))
    filterset = InstitutionFilter(request.GET or None, queryset=queryset)
    table = InstitutionTable(filterset.qs)
    configure_table(request, table, PAGE_SIZE)
    return render(request, "accounts/institution_list.html", {"filter": filterset, "table": table})


@login_required
def institution_create(request):
    if not may_manage_users(request.user):
        raise Http404
    form = InstitutionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            institution = services.institution_create(**form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The institution %(name)s has been registered.") % {"name": institution},
            )
            return redirect("accounts:institution_list")
    return render(request, "accounts/institution_form.html", {"form": form})
