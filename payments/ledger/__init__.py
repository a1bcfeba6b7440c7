"""Settlement: the double-entry ledger, line splits, hold release, payouts and reconciliation."""
