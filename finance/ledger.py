"""A project's ledger: balances derived from its entries, and the invariants that tie the
entries to the instalment rows and to the approved budget.

Entries (all amounts positive, two places):

- ``scheduled``: an instalment is created (once per instalment);
- ``released``: the instalment is paid; ``held`` / ``released_from_hold``: a hold starts/ends;
- ``cancelled``: an unpaid instalment is dropped when the project closes;
- ``recovered``: released money paid back to the funder; ``kept``: leftover money the
  institution keeps when the project passes.

Derived balances: ``held_now = held − released_from_hold``; ``pending = scheduled − released
− held_now − cancelled`` (scheduled, not yet paid, not held); ``net = released − recovered −
kept`` (money out with the institution, accounted for by spending).

Invariants (:func:`check`):

1. every amount ≥ 0 with at most two places;
2. ``scheduled`` = sum of the instalment rows' amounts = approved budget (once scheduled);
3. per state, the rows agree with the entries: released rows = ``released``, held rows =
   ``held_now``, scheduled rows = ``pending``, cancelled rows = ``cancelled``
   (so ``scheduled = released + held_now + pending + cancelled``);
4. per instalment: one ``scheduled`` entry of its amount; ``released`` at most once and
   equal to its amount; holds and lifts alternate (``held − released_from_hold`` ∈ {0, 1},
   1 exactly when it is held);
5. ``0 ≤ recovered + kept ≤ released ≤ approved`` (so ``0 ≤ net ≤ approved``);
6. no ``released`` entry in a state money may not move in is not checked here (history),
   but no row is ``released`` without its entry (3, 4).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from grants.models import PROJECT_FUNDED_STATES, ProjectState

from .models.money import (
    Disbursement,
    DisbursementState,
    EntryKind,
    InstalmentDue,
    LedgerEntry,
)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
K = EntryKind
D = DisbursementState


def release_states(disbursement):
    """States of the project in which ``disbursement`` may be paid."""
    if disbursement.milestone == InstalmentDue.ACCEPTANCE:
        return [*PROJECT_FUNDED_STATES, ProjectState.COMPLETED]
    return list(PROJECT_FUNDED_STATES)


@dataclass
class Balance:
    approved: Decimal = ZERO
    scheduled: Decimal = ZERO
    released: Decimal = ZERO
    held: Decimal = ZERO
    released_from_hold: Decimal = ZERO
    cancelled: Decimal = ZERO
    recovered: Decimal = ZERO
    kept: Decimal = ZERO

    @property
    def held_now(self):
        return self.held - self.released_from_hold

    @property
    def pending(self):
        return self.scheduled - self.released - self.held_now - self.cancelled

    @property
    def net(self):
        return self.released - self.recovered - self.kept

    @property
    def recoverable(self):
        """Released money not yet recovered or kept."""
        return self.net

    def as_dict(self):
        return {
            "approved": self.approved,
            "scheduled": self.scheduled,
            "released": self.released,
            "held": self.held_now,
            "pending": self.pending,
            "cancelled": self.cancelled,
            "recovered": self.recovered,
            "kept": self.kept,
            "net": self.net,
        }


def balances(projects):
    """``{project_id: Balance}`` for a queryset or list of projects in two queries."""
    ids = [p.pk for p in projects]
    approved = {p.pk: p.approved_budget for p in projects}
    result = {pk: Balance(approved=approved[pk]) for pk in ids}
    rows = (
        LedgerEntry.objects.filter(project_id__in=ids)
        .values("project_id", "kind")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        setattr(result[row["project_id"]], row["kind"], (row["total"] or ZERO).quantize(CENT))
    return result


def balance(project):
    return balances([project])[project.pk]


@dataclass
class Mismatch:
    project_number: str
    problems: list = field(default_factory=list)

    def __str__(self):
        return f"{self.project_number}: " + "; ".join(self.problems)


def _places_ok(value):
    return value == value.quantize(Decimal("0.01")) and value >= 0


def check(project):
    """The problems of ``project``'s ledger (empty: it reconciles)."""
    problems = []
    entries = list(LedgerEntry.objects.filter(project=project).order_by("id"))
    rows = list(Disbursement.objects.filter(project=project))
    bal = Balance(approved=project.approved_budget)
    per = defaultdict(lambda: defaultdict(lambda: [0, ZERO]))
    for e in entries:
        if not _places_ok(e.amount):
            problems.append(f"entry {e.pk}: amount {e.amount} is not a positive sum in cents")
        setattr(bal, e.kind, getattr(bal, e.kind) + e.amount)
        if e.disbursement_id:
            slot = per[e.disbursement_id][e.kind]
            slot[0] += 1
            slot[1] += e.amount
    if rows:
        total = sum((r.amount for r in rows), ZERO)
        if total != bal.scheduled:
            problems.append(f"instalments total {total} ≠ scheduled {bal.scheduled}")
        if bal.scheduled != project.approved_budget:
            problems.append(
                f"scheduled {bal.scheduled} ≠ approved budget {project.approved_budget}"
            )
    by_state = defaultdict(lambda: ZERO)
    for r in rows:
        by_state[r.state] += r.amount
        kinds = per[r.pk]
        if kinds[K.SCHEDULED][0] != 1 or kinds[K.SCHEDULED][1] != r.amount:
            problems.append(f"instalment {r.seq}: scheduled entry does not match {r.amount}")
        released_n, released_sum = kinds[K.RELEASED]
        if released_n != (1 if r.state == D.RELEASED else 0) or (
            released_n and released_sum != r.amount
        ):
            problems.append(f"instalment {r.seq}: released entries do not match its state")
        holds = kinds[K.HELD][0] - kinds[K.RELEASED_FROM_HOLD][0]
        if holds != (1 if r.state == D.HELD else 0):
            problems.append(f"instalment {r.seq}: hold entries do not match its state")
        if (
            kinds[K.HELD][1] != r.amount * kinds[K.HELD][0]
            or kinds[K.RELEASED_FROM_HOLD][1] != r.amount * kinds[K.RELEASED_FROM_HOLD][0]
        ):
            problems.append(f"instalment {r.seq}: hold amounts differ from the instalment")
        if kinds[K.CANCELLED][0] != (1 if r.state == D.CANCELLED else 0):
            problems.append(f"instalment {r.seq}: cancellation does not match its state")
    for state, kind_total in (
        (D.RELEASED, bal.released),
        (D.HELD, bal.held_now),
        (D.SCHEDULED, bal.pending),
        (D.CANCELLED, bal.cancelled),
    ):
        if by_state[state] != kind_total:
            problems.append(f"{state} instalments {by_state[state]} ≠ ledger {kind_total}")
    if bal.recovered + bal.kept > bal.released:
        problems.append(
            f"recovered {bal.recovered} + kept {bal.kept} exceed released {bal.released}"
        )
    if bal.released > project.approved_budget:
        problems.append(f"released {bal.released} exceeds approved {project.approved_budget}")
    return problems


def reconcile(projects):
    """The :class:`Mismatch` of every project whose ledger does not reconcile."""
    out = []
    for project in projects:
        problems = check(project)
        if problems:
            out.append(Mismatch(project.number, problems))
    return out


# --- exports for the finance office ------------------------------------------------------------

EXPORT_COLUMNS = [
    "project", "title", "institution", "program", "date", "entry", "instalment", "amount",
    "by", "note",
]  # fmt: skip
TOTAL_COLUMNS = ["project", *[k for k in Balance().as_dict()]]


def export_rows(projects):
    """Entry rows and per-project totals of ``projects`` (a visible queryset)."""
    projects = list(
        projects.select_related("application__call__program", "application__institution")
    )
    by_id = {p.pk: p for p in projects}
    entries = (
        LedgerEntry.objects.filter(project_id__in=by_id)
        .select_related("disbursement", "actor")
        .order_by("project_id", "id")
    )
    rows = []
    for e in entries.iterator(chunk_size=2000):
        p = by_id[e.project_id]
        rows.append(
            [
                p.number,
                p.application.title,
                p.application.institution.name,
                p.application.call.program.code,
                e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.kind,
                e.disbursement.seq if e.disbursement_id else "",
                e.amount,
                e.actor.display_name if e.actor_id else "",
                e.note,
            ]
        )
    bals = balances(projects)
    totals = [[p.number, *bals[p.pk].as_dict().values()] for p in projects]
    return rows, totals


def export_csv(projects):
    import csv
    import io

    rows, totals = export_rows(projects)
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 (Chinese titles) with the BOM
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(rows)
    writer.writerow([])
    writer.writerow(TOTAL_COLUMNS)
    writer.writerows(totals)
    return out.getvalue().encode("utf-8")


def export_xlsx(projects):
    import io

    from openpyxl import Workbook

    rows, totals = export_rows(projects)
    book = Workbook()
    sheet = book.active
    sheet.title = "ledger"
    sheet.append(EXPORT_COLUMNS)
    for row in rows:
        sheet.append(row)
    for cell in sheet["H"][1:]:
        cell.number_format = "#,##0.00"
    summary = book.create_sheet("totals")
    summary.append(TOTAL_COLUMNS)
    for row in totals:
        summary.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
