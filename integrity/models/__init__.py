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
