"""Finance models, one module per part; import from ``finance.models``."""
