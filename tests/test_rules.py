"""programs.rules.Rules: the indirect-cost tiers of domain.md and rule-set overrides."""

from decimal import Decimal

import pytest

from programs.rules import DEFAULTS, Rules

D = Decimal
RULES_2021 = Rules({})
RULES_2016 = Rules({"indirect_tiers": [["5000000", "0.20"], ["10000000", "0.15"], [None, "0.13"]]})


@pytest.mark.parametrize(
    ("base", "cap"),
    [
        ("0", "0.00"),
        ("1", "0.30"),
        ("1000000", "300000.00"),
        ("5000000", "1500000.00"),
        ("5000001", "1500000.25"),
        ("8000000", "2250000.00"),  # 1.5M + 3M × 25 %
        ("10000000", "2750000.00"),
        ("12000000", "3150000.00"),  # 1.5M + 1.25M + 2M × 20 %
        ("30000000", "6750000.00"),
        ("333.33", "100.00"),  # 99.999 rounds half up to the cent
    ],
)
def test_2021_marginal_tiers(base, cap):
    assert RULES_2021.indirect_cap(D(base), D("0")) == D(cap)


@pytest.mark.parametrize(
    ("base", "cap"),
    [
        ("5000000", "1000000.00"),
        ("10000000", "1750000.00"),
        ("12000000", "2010000.00"),  # 1M + 0.75M + 2M × 13 %
    ],
)
def test_2016_tiers(base, cap):
    assert RULES_2016.indirect_cap(D(base), D("0")) == D(cap)


def test_the_base_is_direct_costs_minus_equipment():
    # 13M direct of which 1M equipment: base 12M.
    assert RULES_2021.indirect_cap(D("13000000"), D("1000000")) == D("3150000.00")
    assert RULES_2021.indirect_cap(D("500000"), D("500000")) == D("0.00")


def test_equipment_above_direct_costs_gives_no_negative_cap():
    assert RULES_2021.indirect_cap(D("100"), D("500")) == D("0.00")


@pytest.mark.parametrize("rules", [RULES_2021, RULES_2016], ids=["2021", "2016"])
def test_pure_theory_is_a_flat_60_percent(rules):
    assert rules.indirect_cap(D("12000000"), D("0"), pure_theory=True) == D("7200000.00")
    assert rules.indirect_cap(D("1000000"), D("200000"), pure_theory=True) == D("480000.00")


def test_rule_set_overrides_one_value_and_keeps_the_other_defaults():
    rules = Rules({"pure_theory_indirect_rate": "0.50", "max_active_projects": 3})
    assert rules.indirect_cap(D("1000000"), D("0"), pure_theory=True) == D("500000.00")
    assert rules.indirect_cap(D("1000000"), D("0")) == D("300000.00")
    assert rules["max_active_projects"] == 3
    assert rules["notice_days"] == DEFAULTS["notice_days"] == 7
    assert RULES_2021["max_active_projects"] == 2


def test_numbers_entered_as_json_numbers_are_exact():
    """An administrator may type rates as JSON numbers; 0.3 must not become 0.2999…"""
    rules = Rules({"indirect_tiers": [[5000000, 0.3], [10000000, 0.25], [None, 0.2]],
                   "pure_theory_indirect_rate": 0.6})  # fmt: skip
    assert rules.indirect_cap(D("12000000"), D("0")) == D("3150000.00")
    assert rules.indirect_cap(D("0.10"), D("0")) == D("0.03")
    # 1,000,000.05 × 30 % = 300,000.015 → 300,000.02 (a float 0.3 would give …0.01)
    assert rules.indirect_cap(D("1000000.05"), D("0")) == D("300000.02")
    assert rules.indirect_cap(D("0.10"), D("0"), pure_theory=True) == D("0.06")


def test_a_single_open_tier():
    assert Rules({"indirect_tiers": [[None, "0.10"]]}).indirect_cap(D("7000000"), 0) == D(
        "700000.00"
    )


def test_unknown_key_is_an_error():
    with pytest.raises(KeyError):
        RULES_2021["no_such_rule"]


@pytest.mark.django_db
def test_the_stored_rule_sets_match_domain_md():
    from programs.models import RuleSet

    assert RuleSet.objects.get(code="2021").rules.indirect_cap(D("12000000"), 0) == D("3150000")
    assert RuleSet.objects.get(code="2016").rules.indirect_cap(D("12000000"), 0) == D("2010000")
