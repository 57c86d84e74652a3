"""Signing in through the form, as a person does: staff type a real authenticator code."""

from django.urls import reverse


def totp_code(device):
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def sign_in(page, base, username, password, expect_path=None):
    """Fill the sign-in form; staff get a confirmed TOTP device (made when they have none) and
    enter its current code. Waits for ``expect_path`` (default: the dashboard)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User
    from accounts.two_factor import is_staff_account

    user = User.objects.get(username=username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None and is_staff_account(user):
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    page.goto(base + reverse("accounts:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    if device is not None:
        page.fill("input[name=otp_token]", totp_code(device))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(base + (expect_path or reverse("dashboard")))
    return device
