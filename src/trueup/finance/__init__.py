"""Finance: the month-end close, settlements and tax predictions."""
