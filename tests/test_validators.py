"""Identifiers of domain.md: unified social credit code (GB 32100) and ORCID iD (MOD 11-2)."""

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import uscc

from accounts.validators import normalize_orcid, validate_credit_code, validate_orcid
from tests.factories import make_credit_code

# A real code (the check character of 91310000631696382 is C).
VALID_CODE = "91310000631696382C"


def wrong_check(code):
    body, check = code[:-1], code[-1]
    other = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != check)
    return body + other


@pytest.mark.parametrize("code", [VALID_CODE, make_credit_code(1), make_credit_code(987654)])
def test_valid_credit_codes(code):
    assert len(code) == 18
    validate_credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        wrong_check(VALID_CODE),
        wrong_check(make_credit_code(1)),
        VALID_CODE[:-1],  # 17 characters
        VALID_CODE + "0",  # 19 characters
        "91310000631696382I",  # I, O, S, V, Z are not in the alphabet
        "",
        None,
    ],
)
def test_invalid_credit_codes(code):
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code)
    assert exc.value.code == "invalid"


def test_every_wrong_check_character_is_refused():
    body = VALID_CODE[:-1]
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert uscc.calc_check_digit(body) == "C"
    for check in alphabet.replace("C", ""):
        with pytest.raises(ValidationError):
            validate_credit_code(body + check)


@pytest.mark.parametrize(
    "orcid",
    [
        "0000-0002-1825-0097",
        "0000000218250097",
        "https://orcid.org/0000-0002-1825-0097",
        "0000-0002-1694-233X",  # check character X
        "0000-0002-1694-233x",
    ],
)
def test_valid_orcid(orcid):
    validate_orcid(orcid)


@pytest.mark.parametrize(
    "orcid",
    [
        "0000-0002-1825-0096",
        "0000-0002-1694-2330",
        "0000-0002-1825-009",
        "0000-0002-1825-00970",
        "ABCD-0002-1825-0097",
        "",
    ],
)
def test_invalid_orcid(orcid):
    with pytest.raises(ValidationError) as exc:
        validate_orcid(orcid)
    assert exc.value.code == "invalid"


def test_normalize_orcid():
    assert normalize_orcid("https://orcid.org/000000021694233x") == "0000-0002-1694-233X"
    assert normalize_orcid(" 0000-0002-1825-0097 ") == "0000-0002-1825-0097"
    assert normalize_orcid("http://orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert normalize_orcid("orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"
    assert normalize_orcid("123") is None


@pytest.mark.django_db
def test_models_use_the_validators():
    from accounts.models import Institution, User

    institution = Institution(name="x", credit_code=wrong_check(VALID_CODE))
    with pytest.raises(ValidationError) as exc:
        institution.full_clean()
    assert list(exc.value.message_dict) == ["credit_code"]
    user = User(username="orcid-user", orcid="0000-0002-1825-0096")
    with pytest.raises(ValidationError) as exc:
        user.full_clean(exclude=["password"])
    assert list(exc.value.message_dict) == ["orcid"]


@pytest.mark.django_db
def test_institution_stores_one_spelling_of_its_credit_code():
    from accounts.models import Institution
    from tests.factories import make_credit_code

    code = make_credit_code(4242)
    institution = Institution(name="上海测试大学", credit_code=f"  {code.lower()} ")
    institution.full_clean()
    institution.save()
    assert Institution.objects.get().credit_code == code
    duplicate = Institution(name="另一所", credit_code=code.lower())
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert "credit_code" in refused.value.message_dict
