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

# Placing an order on behalf of a unit (institutions subscribes). Sender: the buyer
# (User); kwargs: items, address, unit (the unit fields of the request). The one
# receiver returns the placed Order, or raises a domain error.
unit_order_requested = _signals.signal("unit-order-requested")
# Sent before a station ships lines of an order with ``ship_station_lines``; kwargs:
# station_id. A receiver refuses by raising (a union welfare order ships per recipient).
lines_shipping = _signals.signal("lines-shipping")
# Sent before a buyer's after-sales request moves lines of an order to refunding; a
# receiver refuses by raising (a forming group's order is refunded with its group).
refund_requesting = _signals.signal("refund-requesting")
# Sent by ``mark_paid`` once an order's lines are paid, under the order's lock; kwargs:
# paid_at. Receivers record their own state in the same transaction (a group member paid).
order_paid = _signals.signal("order-paid")
# Sent by ``payments.opening`` before an online payment of an order is opened, under the
# order's lock; kwargs: channel. A receiver refuses by raising (a unit order paid by 对公转账).
payment_opening = _signals.signal("payment-opening")
# Sent when orders are shown (sender: None; kwargs: order_ids). A receiver answers
# {order_id: {"id", "status"}} for the orders of a group buy (shop.groups), so a forming
# group's paid orders read as waiting for their group.
order_groups_requested = _signals.signal("order-groups-requested")
