"""Payment providers, notifications, refunds, ledger and payouts."""
