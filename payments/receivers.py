"""Where the payments package subscribes to what lower packages announce (shop, villages).

Calls inside payments (a payment or refund reaching the ledger) are plain
calls; only these upward edges go through signals.
"""

from core.tasks import run_later
from payments.closing import close_open_payments
from payments.ledger.queries import seller_dashboard_sections
from payments.models import LogisticsType
from payments.refunds import refund_for_request
from payments.shipping_info import queue_upload
from shop.signals import lines_shipped, order_cancelled, order_expired, refund_approved
from villages.signals import seller_dashboard_requested


def _close_payments(order, **_):
    run_later(close_open_payments, order.id)


def _send_refund(refund_request, **_):
    refund_for_request(refund_request)


def _upload_shipping(order, shipment=None, logistics_type=None, **_):
    """``logistics_type`` (LogisticsType): a sender may say the buyer picks the parcel up (4); an order the
    buyer collects at a station (到站自提) is always uploaded as 4."""
    if logistics_type is None and order.pickup is not None:
        logistics_type = LogisticsType.PICKUP
    queue_upload(order, shipment, *([logistics_type] if logistics_type else []))


def _seller_dashboard(seller, **_):
    return seller_dashboard_sections(seller)


def connect() -> None:
    """Subscribe once (idempotent: blinker keeps one connection per receiver); called by the app factory."""
    order_expired.connect(_close_payments)
    order_cancelled.connect(_close_payments)
    refund_approved.connect(_send_refund)
    lines_shipped.connect(_upload_shipping)
    seller_dashboard_requested.connect(_seller_dashboard)
