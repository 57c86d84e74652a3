"""Two-factor sign-in required for staff (issue 7).

Everyone who works for the funder (program officers, agency staff, integrity officers,
auditors) and everyone who can open the Django admin or the Wagtail admin must have proved
a code from an authenticator app in this session. Applicants, reviewers and institution
administrators may sign in with a password alone: they act for themselves or for their own
institution, and forcing an app on every researcher would keep many out.

``GRANTFLOW_REQUIRE_STAFF_2FA`` turns the requirement on (default: ``not DEBUG``, so the
demo tour of ``make run`` stays usable).
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

#: Paths under which anyone who may enter must be verified, whatever their roles.
ADMIN_PREFIXES = ("/admin/", "/cms-admin/")


def is_staff_account(user):
    """Works for the funder or may open the Django admin."""
    return bool(
        user.is_authenticated and (user.is_superuser or user.is_staff or user.is_staff_role)
    )


def requires_two_factor(user, path=""):
    if not user.is_authenticated:
        return False
    if is_staff_account(user):
        return True
    # Wagtail editors need not hold a staff role; only asked on its own pages (a query).
    return path.startswith("/cms-admin/") and user.has_perm("wagtailadmin.access_admin")


def is_verified(user):
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def enforced():
    return getattr(settings, "GRANTFLOW_REQUIRE_STAFF_2FA", not settings.DEBUG)


def safe_next(request, default=""):
    target = request.POST.get("next") or request.GET.get("next") or default
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


class StaffTwoFactorMiddleware:
    """Sends a signed-in staff member without a verified code to set up an authenticator app
    (no device yet) or to enter a code; API calls on such a session answer 403.

    Token-authenticated API calls are not seen here (the user is known only inside DRF);
    a staff member's token is issued only against a code (accounts.api.ObtainTokenView).
    Must come after django_otp.middleware.OTPMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if enforced() and not self._exempt(request.path_info):
            user = request.user
            if requires_two_factor(user, request.path_info) and not is_verified(user):
                return self._refuse(request, user)
        return self.get_response(request)

    @staticmethod
    def _exempt(path):
        open_paths = {
            reverse("accounts:two_factor"),
            reverse("accounts:two_factor_verify"),
            reverse("accounts:logout"),
            reverse("set_language"),
        }
        static = "/" + settings.STATIC_URL.lstrip("/")
        return path in open_paths or path.startswith(static)

    @staticmethod
    def _refuse(request, user):
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "two_factor_required",
                    "detail": _("Sign in with two-factor authentication first."),
                },
                status=403,
            )
        has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        target = reverse("accounts:two_factor_verify" if has_device else "accounts:two_factor")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
