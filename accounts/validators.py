"""Identifiers of domain.md, checked with python-stdnum (check characters included)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.cn import uscc
from stdnum.iso7064 import mod_11_2


def validate_credit_code(value):
    """Unified social credit code: 18 characters, GB 32100 check character."""
    if not uscc.is_valid(value or ""):
        raise ValidationError(
            _("Enter a valid 18-character unified social credit code."), code="invalid"
        )


def normalize_orcid(value):
    # Accept the iD alone or as its URL (https://orcid.org/…, http://…, orcid.org/…).
    digits = (value or "").strip().upper().rsplit("/", 1)[-1].replace("-", "")
    if len(digits) != 16:
        return None
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def validate_orcid(value):
    """ORCID iD: 16 characters, ISO 7064 MOD 11-2 check character."""
    normalized = normalize_orcid(value)
    if normalized is None or not mod_11_2.is_valid(normalized.replace("-", "")):
        raise ValidationError(
            _("Enter a valid ORCID iD such as 0000-0002-1825-0097."), code="invalid"
        )
