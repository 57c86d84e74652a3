"""Finance models, one module per part; import from ``finance.models``."""
from .contracts import KPI, ApprovedBudgetLine, Contract, ContractState, Milestone  # noqa: F401
