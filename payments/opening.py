"""Opening payments for orders and reading their status."""

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import request

from core.db import utcnow
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from payments.models import Payment, PaymentStatus
from payments.providers import Channel, PaymentRequest, get_provider, notify_url
from shop.orders.fulfilment import buyers_order
from shop.orders.models import OrderStatus
from shop.orders.states import InvalidState


def new_out_trade_no(order_id: int) -> str:
    """Unique, at most 32 characters of [0-9A-Za-z_], one per attempt."""
    return f"ZZ{utcnow():%Y%m%d}{order_id:010d}{secrets.token_hex(5)}"[:32]


def _description(order) -> str:
    first = order.lines[0].product_title
    return first if len(order.lines) == 1 else f"{first}等{len(order.lines)}件商品"


def _payer(buyer: User, channel: str) -> dict:
    if channel == Channel.WECHAT_JSAPI:
        if not buyer.wechat_openid:
            raise ValidationFailed.field("channel", "微信支付需要使用微信登录")
        return {"payer_openid": buyer.wechat_openid}
    if channel == Channel.ALIPAY_MINI:
        if not buyer.alipay_user_id:
            raise ValidationFailed.field("channel", "支付宝小程序支付需要使用支付宝登录")
        return {"payer_alipay_user_id": buyer.alipay_user_id}
    return {}


def open_payment(buyer: User, order_id: int, channel: str) -> Payment:
    """A payment attempt at the gateway for an unpaid order (reused while still open)."""
    order = buyers_order(buyer, order_id, lock=True)
    now = utcnow()
    if order.status != OrderStatus.PENDING_PAYMENT or order.is_past_deadline(now):
        raise InvalidState("订单已支付、已取消或已超时，不能发起支付")
    payer = _payer(buyer, channel)
    reusable = db.session.scalar(
        sa.select(Payment).where(
            Payment.order_id == order.id,
            Payment.channel == channel,
            Payment.status == PaymentStatus.PENDING,
            Payment.amount_fen == order.total_fen,
        )
    )
    if reusable is not None:  # the client asked again (lost response, reopened page)
        return reusable
    payment = Payment(
        order_id=order.id,
        buyer_id=buyer.id,
        channel=channel,
        out_trade_no=new_out_trade_no(order.id),
        amount_fen=order.total_fen,
    )
    db.session.add(payment)
    db.session.flush()
    payment.params = get_provider(channel).create(
        PaymentRequest(
            out_trade_no=payment.out_trade_no,
            amount_fen=payment.amount_fen,
            description=_description(order),
            expires_at=order.expires_at,
            client_ip=request.remote_addr or "127.0.0.1",
            notify_url=notify_url(channel),
            **payer,
        )
    )
    return payment


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
