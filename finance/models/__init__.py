"""Finance models, one module per part; import from ``finance.models``."""

from .agencies import AgencyGrade  # noqa: F401
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
from .modes import (  # noqa: F401
    BlockGrant,
    ModePayment,
    PostSubsidy,
    Redemption,
    ServiceProvider,
    Voucher,
    VoucherPayout,
)
from .money import (  # noqa: F401
    AdjustmentState,
    Authority,
    BudgetAdjustment,
    Disbursement,
    DisbursementState,
    EntryKind,
    ExpenditureLine,
    ExpenditureReport,
    HoldKind,
    InstalmentDue,
    LedgerEntry,
    ProgramMoneyPolicy,
)
