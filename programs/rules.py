"""Versioned funding rule sets (domain.md): defaults an administrator can change per program.

A rule set's ``data`` holds only the values that differ from :data:`DEFAULTS`; an old
project keeps the rule set it was funded under.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

DEFAULTS = {
    # Indirect costs: marginal tiers over (direct costs − equipment); upper bound, rate.
    "indirect_tiers": [["5000000", "0.30"], ["10000000", "0.25"], [None, "0.20"]],
    "pure_theory_indirect_rate": "0.60",
    "max_active_projects": 2,
    "notice_days": 7,
    "max_experts_to_avoid": 3,
    "instalments": ["0.60", "0.30", "0.10"],
    "appeal_working_days": 15,
}

CENT = Decimal("0.01")


def _dec(value):
    """A Decimal from a rule value; JSON numbers go through ``str`` so 0.3 stays 0.3."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class Rules:
    data: dict

    def __getitem__(self, key):
        return self.data.get(key, DEFAULTS[key])

    def indirect_cap(self, direct_total, equipment, *, pure_theory=False):
        """Largest indirect-cost line allowed for the given direct costs."""
        base = max(_dec(direct_total) - _dec(equipment), Decimal(0))
        if pure_theory:
            return (base * _dec(self["pure_theory_indirect_rate"])).quantize(CENT, ROUND_HALF_UP)
        cap, lower = Decimal(0), Decimal(0)
        for upper, rate in self["indirect_tiers"]:
            top = base if upper is None else min(base, _dec(upper))
            if top > lower:
                cap += (top - lower) * _dec(rate)
            if upper is None or base <= _dec(upper):
                break
            lower = _dec(upper)
        return cap.quantize(CENT, ROUND_HALF_UP)
