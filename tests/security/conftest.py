import pytest


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English messages, whatever translations exist."""
    settings.LANGUAGE_CODE = "en"


def totp_code(device):
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"
