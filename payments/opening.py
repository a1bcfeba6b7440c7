"""Opening payments for orders and reading their status."""

import logging
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import has_request_context, request

from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.unit_of_work import commit_intent, unit_of_work
from payments.applying import lock_payment
from payments.models import Payment, PaymentStatus
from payments.providers import (
    Channel,
    PaymentGatewayError,
    PaymentRejected,
    PaymentRequest,
    channel_active,
    get_provider,
    notify_url,
)
from shop.orders.fulfilment import buyers_order
from shop.orders.models import OrderStatus
from shop.orders.states import InvalidState
from shop.signals import payment_opening

log = logging.getLogger(__name__)


def new_out_trade_no(order_id: int) -> str:
    """Unique, at most 32 characters of [0-9A-Za-z_], one per attempt."""
    return f"ZZ{utcnow():%Y%m%d}{order_id:010d}{secrets.token_hex(5)}"[:32]


def _description(order) -> str:
    first = order.lines[0].product_title
    return first if len(order.lines) == 1 else f"{first}等{len(order.lines)}件商品"


def _payer(buyer: User, channel: str) -> dict:
    if not channel_active(channel):
        raise ValidationFailed.field("channel", "该支付方式暂未开通，请选择其他支付方式")
    if channel == Channel.WECHAT_JSAPI:
        if not buyer.wechat_openid:
            raise ValidationFailed.field("channel", "微信支付需要使用微信登录")
        return {"payer_openid": buyer.wechat_openid}
    if channel == Channel.ALIPAY_MINI:
        if not buyer.alipay_user_id:
            raise ValidationFailed.field("channel", "支付宝小程序支付需要使用支付宝登录")
        return {"payer_alipay_user_id": buyer.alipay_user_id}
    return {}


def record_attempt(buyer: User, order_id: int, channel: str) -> tuple[Payment, PaymentRequest | None]:
    """Step 1, under the order's lock: the attempt to pay with (reused while open), and what to ask its gateway.

    The request is None when the gateway has already answered for this attempt
    (its params are stored). A new attempt gets its ``out_trade_no`` here, so
    two concurrent requests for the same order and channel share one number:
    the second waits on the order's lock until the first commits, then reuses it.
    """
    order = buyers_order(buyer, order_id, lock=True)
    now = utcnow()
    if order.status != OrderStatus.PENDING_PAYMENT or order.is_past_deadline(now):
        raise InvalidState("订单已支付、已取消或已超时，不能发起支付")
    payment_opening.send(order, channel=channel)
    payer = _payer(buyer, channel)
    payment = db.session.scalar(
        sa.select(Payment).where(
            Payment.order_id == order.id,
            Payment.channel == channel,
            Payment.status == PaymentStatus.PENDING,
            Payment.amount_fen == order.total_fen,
        )
    )
    if payment is None:
        payment = Payment(
            order_id=order.id,
            buyer_id=buyer.id,
            channel=channel,
            out_trade_no=new_out_trade_no(order.id),
            amount_fen=order.total_fen,
            params={},
        )
        db.session.add(payment)
        db.session.flush()
    elif payment.params:  # the client asked again (lost response, reopened page)
        return payment, None
    return payment, PaymentRequest(
        out_trade_no=payment.out_trade_no,
        amount_fen=payment.amount_fen,
        description=_description(order),
        expires_at=order.expires_at,
        client_ip=(request.remote_addr if has_request_context() else None) or "127.0.0.1",
        notify_url=notify_url(channel),
        **payer,
    )


def keep_gateway_params(out_trade_no: str, params: dict) -> Payment:
    """Step 3, under the payment's lock again: store what the client pays with, if the attempt is still open.

    A concurrent request for the same attempt may have stored its answer first
    (the gateway gives the same trade for the same ``out_trade_no``): that one is kept.
    """
    payment = lock_payment(out_trade_no)
    if payment.status == PaymentStatus.PENDING:
        if not payment.params:
            payment.params = params
        return payment
    if payment.status == PaymentStatus.PAID:  # a concurrent request's params were used already
        raise InvalidState("订单已支付、已取消或已超时，不能发起支付")
    # Closed while we were asking (the order was cancelled or expired): the gateway
    # may just have opened the trade after the closing job closed it, so close it again.
    channel = payment.channel
    db.session.rollback()
    try:
        get_provider(channel).close(out_trade_no)
    except (PaymentGatewayError, PaymentRejected):
        log.warning("payment %s closed while it was being opened; closing it at the gateway failed", out_trade_no)
    raise InvalidState("订单已支付、已取消或已超时，不能发起支付")


def _give_up(out_trade_no: str) -> None:
    """The gateway refused to open the attempt: a later request starts a new one."""
    with unit_of_work():
        payment = lock_payment(out_trade_no)
        if payment is not None and payment.status == PaymentStatus.PENDING and not payment.params:
            payment.status, payment.closed_at = PaymentStatus.FAILED, utcnow()


def open_payment(buyer: User, order_id: int, channel: str) -> Payment:
    """A payment attempt at the gateway for an unpaid order (reused while still open).

    The one exception to "one commit per request": the attempt (its
    ``out_trade_no``, status pending) is committed before the gateway is
    called, so no order or payment row is locked, and no connection held,
    while the gateway answers (up to PAYMENT_HTTP_TIMEOUT). The answer is then
    applied under the payment's lock and committed with the request. If the
    gateway cannot be reached the attempt stays pending without params and the
    next request asks again with the same number (the gateways treat a repeated
    ``out_trade_no`` with the same content as the same trade); if it refuses,
    the attempt is marked failed and the refusal returned.
    """
    payment, gateway_request = record_attempt(buyer, order_id, channel)
    if gateway_request is None:
        return payment
    commit_intent()
    try:
        params = get_provider(channel).create(gateway_request)
    except PaymentRejected:
        _give_up(gateway_request.out_trade_no)
        raise
    return keep_gateway_params(gateway_request.out_trade_no, params)


def own_payment(buyer: User, payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.buyer_id != buyer.id:
        raise NotFound("支付记录不存在")
    return payment


def stale_pending_payments(older_than: datetime, limit: int = 200) -> list[int]:
    """Pending payments opened before ``older_than`` (a notification may have been missed)."""
    return list(
        db.session.scalars(
            sa.select(Payment.id)
            .where(Payment.status == PaymentStatus.PENDING, Payment.created_at <= older_than)
            .order_by(Payment.id)
            .limit(limit)
        )
    )
