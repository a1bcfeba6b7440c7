"""Orders: checkout, the state machine, fulfilment, after-sales, and their API."""
