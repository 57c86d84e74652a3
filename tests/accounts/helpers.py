"""Small helpers the view tests of accounts, programs, integrity and audit share."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def get_counting(client, url):
    """GET ``url``; return (number of queries, response)."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return len(ctx), response


def totp_token(device):
    from django_otp.oath import totp

    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def error_texts(response, field=None):
    form = response.context["form"]
    errors = form.non_field_errors() if field is None else form.errors.get(field, [])
    return [str(e) for e in errors]
