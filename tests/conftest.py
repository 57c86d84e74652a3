import pytest
from django.test import Client
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "private"},
        },
    }


def verify_two_factor(client, user):
    """Give ``client``'s session a verified authenticator code, as a real sign-in does for
    staff: a confirmed TOTP device (made when the user has none) bound to the session."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return device


def sign_in(client, user):
    """``force_login``, plus the verified second factor staff must have (issue 7)."""
    from accounts.two_factor import is_staff_account

    client.force_login(user)
    if is_staff_account(user):
        verify_two_factor(client, user)
    return client


@pytest.fixture
def login():
    """``login(user)`` → a Django test client signed in as ``user`` (staff with a verified
    authenticator code)."""

    def make(user):
        return sign_in(Client(), user)

    return make


@pytest.fixture
def api():
    """``api(user)`` → a DRF client authenticated as ``user`` (None: anonymous)."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


# Rows the data migrations create. A transactional test (``django_db(transaction=True)``,
# ``live_server``) ends with a flush that deletes them, and every later transactional test
# of the session would find no role groups and no rule sets; put them back first.
REFERENCE_DATA_MIGRATIONS = [
    ("accounts.migrations.0002_role_groups", "create_groups"),
    ("programs.migrations.0002_rule_sets", "create_rule_sets"),
    ("review.migrations.0002_scoring_presets", "create_presets"),
]


def seed_reference_data():
    from importlib import import_module

    from django.apps import apps

    for module, function in REFERENCE_DATA_MIGRATIONS:
        getattr(import_module(module), function)(apps, None)


def _is_transactional(request):
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return False
    return bool(marker.kwargs.get("transaction", marker.args[0] if marker.args else False))


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    if _is_transactional(request):
        request.getfixturevalue("transactional_db")
        seed_reference_data()


# --- finance: follow-on rule defaults ---
REFERENCE_DATA_MIGRATIONS.append(("finance.migrations.0003_follow_on_defaults", "create_defaults"))


# Every test starts and ends with an empty cache: rate-limit counters, lockouts and cached
# public pages never carry over from one test to the next.
@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


# --- cms (issue 6): the public-site editors' group ---
REFERENCE_DATA_MIGRATIONS.append(("cms.migrations.0002_editor_group", "create_editors"))
