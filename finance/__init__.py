"""Budgets, disbursements, evaluations and follow-on funding (issue: after the award)."""
