"""Research integrity models, one module per part; import from ``integrity.models``."""

from .records import *  # noqa: F403
from .records import Action, CreditRecord, CreditRecordQuerySet, MisconductCategory

__all__ = ["Action", "CreditRecord", "CreditRecordQuerySet", "MisconductCategory"]
from .cases import (  # noqa: E402
    AppealOutcome,
    CaseChannel,
    CaseEvidence,
    CaseState,
    CaseSubject,
    InvestigationRequest,
    MisconductCase,
)

__all__ += [
    "AppealOutcome",
    "CaseChannel",
    "CaseEvidence",
    "CaseState",
    "CaseSubject",
    "InvestigationRequest",
    "MisconductCase",
]
from .credit import CreditRule  # noqa: E402

__all__ += ["CreditRule"]
from .exchange import ImportBatch  # noqa: E402
from .records import (  # noqa: E402
    PERSON_KINDS,
    SANCTION_BARS,
    MatchStatus,
    Sanction,
    SubjectKind,
    sanction_bars,
)

__all__ += [
    "ImportBatch",
    "MatchStatus",
    "PERSON_KINDS",
    "SANCTION_BARS",
    "Sanction",
    "SubjectKind",
    "sanction_bars",
]
from .lifts import BarLift  # noqa: E402

__all__ += ["BarLift"]
