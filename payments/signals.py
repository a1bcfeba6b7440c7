"""Signals the payments package sends (the ledger subscribes)."""

from blinker import Namespace

_signals = Namespace()

payment_succeeded = _signals.signal("payment-succeeded")  # sender: Payment; kwargs: order
refund_succeeded = _signals.signal("refund-succeeded")  # sender: GatewayRefund; kwargs: refund_request
