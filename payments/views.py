"""Payments API: open a payment, read its status, and the gateways' notification endpoints.

The notification endpoints commit before they answer: a gateway is told
"success" only once the notification is durably applied, and a rejected one is
still kept in the event log.
"""

from flask import Response, request
from flask_smorest import Blueprint

from core.auth import authenticated
from core.extensions import db
from core.idempotency import idempotent
from core.schemas import AlipayLoginArgs, TokenSchema
from payments import applying, closing, opening, refunds
from payments.login import login_with_alipay
from payments.models import EventSource
from payments.providers import Channel, Gateway, RefundResult, get_provider
from payments.schemas import PaymentArgs, PaymentSchema

payments_blp = Blueprint("payments", __name__, description="支付与支付通知")


def _ack(provider, ok: bool) -> Response:
    db.session.commit()
    body, status, content_type = provider.ack(ok)
    return Response(body, status=status, content_type=content_type)


@payments_blp.post("/orders/<int:order_id>/payments")
@authenticated
@idempotent
@payments_blp.arguments(PaymentArgs)
@payments_blp.response(201, PaymentSchema)
def open_payment(args, order_id, actor):
    """Open (or reuse) a payment for an unpaid order; params are what the client pays with."""
    return opening.open_payment(actor, order_id, args["channel"])


@payments_blp.get("/payments/<int:payment_id>")
@authenticated
@payments_blp.response(200, PaymentSchema)
def get_payment(payment_id, actor):
    """A payment's status; a pending one is refreshed by querying the gateway."""
    return closing.refresh_payment(opening.own_payment(actor, payment_id))


@payments_blp.post("/payments/notify/wechat")
@payments_blp.doc(security=[])
def wechat_notification():
    """WeChat Pay v2 payment notification (XML, MD5-signed)."""
    provider = get_provider(Channel.WECHAT_JSAPI)
    body = request.get_data()
    note = provider.parse_notification(body, request.content_type, None)
    return _ack(provider, applying.apply_notification(Gateway.WECHAT, note, body.decode("utf-8", "replace")))


@payments_blp.post("/payments/notify/alipay")
@payments_blp.doc(security=[])
def alipay_notification():
    """Alipay asynchronous notification (form post, RSA2-signed)."""
    provider = get_provider(Channel.ALIPAY_WAP)
    form = request.form.to_dict()
    note = provider.parse_notification(request.get_data(), request.content_type, form)
    return _ack(provider, applying.apply_notification(Gateway.ALIPAY, note, form))


@payments_blp.post("/payments/notify/wechat-refund")
@payments_blp.doc(security=[])
def wechat_refund_notification():
    """WeChat Pay v2 refund result (encrypted req_info)."""
    provider = get_provider(Channel.WECHAT_JSAPI)
    body = request.get_data()
    note = provider.parse_refund_notification(body)
    refund = refunds.lock_refund_by_number(note.out_refund_no) if note.valid else None
    outcome = "applied" if refund else f"rejected: {note.reason or 'unknown out_refund_no'}"
    if refund is not None:
        refunds.apply_refund_result(
            refund,
            RefundResult(
                out_refund_no=note.out_refund_no,
                status=note.status,
                refund_id=note.refund_id,
                amount_fen=note.amount_fen,
                reason=note.reason,
            ),
        )
    applying.store_gateway_message(
        Gateway.WECHAT,
        EventSource.REFUND_NOTIFICATION,
        note.out_trade_no,
        dict(note.raw) or body.decode("utf-8", "replace"),
        note.valid,
        outcome,
        refund.payment if refund else None,
    )
    return _ack(provider, refund is not None)


@payments_blp.post("/auth/alipay-login")
@payments_blp.arguments(AlipayLoginArgs)
@payments_blp.response(200, TokenSchema)
def alipay_login(args):
    """Sign in an Alipay mini-program user with the auth code from my.getAuthCode."""
    return login_with_alipay(args["auth_code"])
