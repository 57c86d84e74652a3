"""Finance models, one module per part; import from ``finance.models``."""
from .contracts import KPI, ApprovedBudgetLine, Contract, ContractState, Milestone  # noqa: F401
from .evaluation import (  # noqa: F401
    FinalEvaluation,
    FollowOnRule,
    Grade,
    MidtermDecision,
    MidtermReport,
    Outcome,
    PanelOpinion,
    ProgramBar,
    STReport,
)
