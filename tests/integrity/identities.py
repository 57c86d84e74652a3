"""Valid identifiers and import rows for the exchange and matching tests."""

from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

from tests.factories import make_credit_code


def id_number(n):
    """A valid resident ID number (Shanghai, born 1980-01-01) built around ``n``."""
    body = f"310101198001{1 + n // 1000 % 28:02d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def orcid(n):
    body = f"{n:015d}"
    digits = body + mod_11_2.calc_check_digit(body)
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def row(**overrides):
    base = {
        "subject_kind": "person",
        "name": "张三",
        "category": "plagiarism",
        "bars": ["apply"],
        "starts_on": "2026-01-01",
        "ends_on": "2099-12-31",
        "decision": "取消申报资格三年",
        "deciding_body": "上海市教育委员会",
        "legal_basis": "科研失信行为调查处理规则第二十八条",
        "description": "",
    }
    base.update(overrides)
    return base


__all__ = ["id_number", "make_credit_code", "orcid", "row"]
