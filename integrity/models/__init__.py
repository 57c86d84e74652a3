"""Research integrity models, one module per part; import from ``integrity.models``."""

from .cases import (
    AppealOutcome,
    CaseChannel,
    CaseEvidence,
    CaseState,
    CaseSubject,
    InvestigationRequest,
    MisconductCase,
)
from .credit import CreditRule
from .exchange import ImportBatch
from .lifts import BarLift
from .records import *  # noqa: F403
from .records import (
    PERSON_KINDS,
    SANCTION_BARS,
    Action,
    CreditRecord,
    CreditRecordQuerySet,
    MatchStatus,
    MisconductCategory,
    Sanction,
    SubjectKind,
    sanction_bars,
)

__all__ = ["Action", "CreditRecord", "CreditRecordQuerySet", "MisconductCategory"]

__all__ += [
    "AppealOutcome",
    "CaseChannel",
    "CaseEvidence",
    "CaseState",
    "CaseSubject",
    "InvestigationRequest",
    "MisconductCase",
]

__all__ += ["CreditRule"]

__all__ += [
    "ImportBatch",
    "MatchStatus",
    "PERSON_KINDS",
    "SANCTION_BARS",
    "Sanction",
    "SubjectKind",
    "sanction_bars",
]

__all__ += ["BarLift"]
