"""Signals the shop sends; the payments package (above shop) subscribes to them (payments/receivers.py).

Each is sent inside the transaction of the change, with the Order (or
RefundRequest) as sender, so receivers can record work in the same
transaction and defer outside calls with core.db.after_commit.
"""

from blinker import Namespace

_signals = Namespace()

order_expired = _signals.signal("order-expired")  # close the payment at the gateway
order_cancelled = _signals.signal("order-cancelled")  # likewise, cancelled by the buyer
lines_shipped = _signals.signal("lines-shipped")  # kwargs: shipment, logistics_type? (4: picked up) — upload to WeChat
refund_approved = _signals.signal("refund-approved")  # sender: RefundRequest — send money back
