"""Where group buying follows the orders of its members (signals of ``shop.orders``)."""

from shop.groups.lifecycle import (
    groups_of_orders,
    record_member_cancelled,
    record_member_payment,
    refuse_refund_before_success,
    refuse_shipping_before_success,
)
from shop.signals import (
    lines_shipping,
    order_cancelled,
    order_expired,
    order_groups_requested,
    order_paid,
    refund_requesting,
)


def connect() -> None:
    """Subscribe once (idempotent: blinker keeps one connection per receiver)."""
    order_paid.connect(record_member_payment)
    order_cancelled.connect(record_member_cancelled)
    order_expired.connect(record_member_cancelled)
    lines_shipping.connect(refuse_shipping_before_success)
    refund_requesting.connect(refuse_refund_before_success)
    order_groups_requested.connect(groups_of_orders)
