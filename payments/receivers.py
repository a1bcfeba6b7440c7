"""Where the payments package subscribes to the shop's signals."""

from core.tasks import run_later
from payments.closing import close_open_payments
from payments.ledger.postings import post_payment, post_refund, post_unapplied_refund
from payments.ledger.queries import seller_dashboard_sections
from payments.refunds import refund_for_request
from payments.shipping_info import queue_upload
from payments.signals import payment_succeeded, refund_succeeded
from shop.signals import lines_shipped, order_cancelled, order_expired, refund_approved
from villages.signals import seller_dashboard_requested


def _close_payments(order, **_):
    run_later(close_open_payments, order.id)


def _send_refund(refund_request, **_):
    refund_for_request(refund_request)


def _upload_shipping(order, shipment=None, logistics_type=None, **_):
    """``logistics_type`` (LogisticsType): a sender may say the buyer picks the parcel up (4)."""
    queue_upload(order, shipment, *([logistics_type] if logistics_type else []))


def _post_payment(payment, order=None, **_):
    post_payment(payment, order)


def _post_refund(refund, refund_request=None, **_):
    if refund_request is None:  # an automatic refund of money that was never applied to an order
        post_unapplied_refund(refund)
    else:
        post_refund(refund, [(item.line_id, item.amount_fen) for item in refund_request.lines])


def _seller_dashboard(seller, **_):
    return seller_dashboard_sections(seller)


def connect() -> None:
    """Subscribe once (idempotent: blinker keeps one connection per receiver)."""
    order_expired.connect(_close_payments)
    order_cancelled.connect(_close_payments)
    refund_approved.connect(_send_refund)
    lines_shipped.connect(_upload_shipping)
    payment_succeeded.connect(_post_payment)
    refund_succeeded.connect(_post_refund)
    seller_dashboard_requested.connect(_seller_dashboard)
