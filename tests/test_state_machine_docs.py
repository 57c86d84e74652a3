"""The pictures in docs/state-machines are drawn from the code; this keeps them in step."""

import io
from pathlib import Path

from django.core.management import call_command
from django.utils import translation

DOCS = Path(__file__).resolve().parent.parent / "docs" / "state-machines"
MACHINES = {
    "application.dot": "grants.Application",
    "project.dot": "grants.Project",
    "reviewassignment.dot": "review.ReviewAssignment",
    "misconductcase.dot": "integrity.MisconductCase",
    "contract.dot": "finance.Contract",
    "disbursement.dot": "finance.Disbursement",
    "budgetadjustment.dot": "finance.BudgetAdjustment",
}


def edges(dot_text):
    return sorted(line.strip() for line in dot_text.splitlines() if "->" in line)


def test_committed_graphs_match_the_code():
    for filename, model in MACHINES.items():
        out = io.StringIO()
        with translation.override("en"):
            call_command("graph_transitions", model, stdout=out)
        committed = (DOCS / filename).read_text(encoding="utf-8")
        assert edges(out.getvalue()) == edges(committed), (
            f"docs/state-machines/{filename} is stale: run `make graphs`"
        )
