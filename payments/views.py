"""Payments API: open a payment, read its status, and the gateways' notification endpoints.

The notification endpoints commit before they answer: a gateway is told
"success" only once the notification is durably applied, and a rejected one is
still kept in the event log.
"""

import json
import logging

from flask import Response, current_app, request
from flask_smorest import Blueprint

from core.auth import authenticated
from core.errors import NotFound
from core.extensions import db
from core.faults import fault_point
from core.gateway_settings import gateway_active
from core.idempotency import idempotent
from core.openapi import may_answer
from payments import (
    applying,
    closing,
    opening,
    refunds,
)
from payments.models import EventSource
from payments.providers import Channel, Gateway, RefundNotification, RefundResult, get_provider, get_wechat_pay
from payments.schemas import PaymentArgs, PaymentSchema

log = logging.getLogger(__name__)
payments_blp = Blueprint("payments", __name__, description="支付与支付通知")


def _require_active(gateway: str) -> None:
    """404 before the body is read when ``gateway`` (wechat_v2, wechat_v3, alipay) is not fully configured.

    A verifier built from an empty key accepts what anybody can sign (MD5 of the fields alone), so an
    endpoint of an unconfigured gateway must not exist at all, whatever the request carries.
    """
    if not gateway_active(current_app.config, gateway):
        raise NotFound("该支付通知地址未启用")


def _gateway_protocol(request_type: str, request_schema: dict, reply_type: str, ok: str, refused: str) -> dict:
    """OpenAPI of a notification endpoint: the gateway's own wire format, not the API's JSON error body."""
    text = {"type": "string"}
    return {
        "requestBody": {"required": True, "content": {request_type: {"schema": request_schema}}},
        "responses": {
            "200": {"description": ok, "content": {reply_type: {"schema": text}}},
            "400": {"description": refused, "content": {reply_type: {"schema": text}}},
        },
    }


_WECHAT_V2_NOTIFICATION = _gateway_protocol(
    "text/xml",
    {"type": "string"},
    "text/xml",
    "<xml><return_code>SUCCESS</return_code>…</xml>: applied (or a duplicate)",
    "<xml><return_code>FAIL</return_code>…</xml>: bad signature, unknown or mismatched; WeChat retries",
)
_ALIPAY_NOTIFICATION = _gateway_protocol(
    "application/x-www-form-urlencoded",
    {"type": "object", "additionalProperties": {"type": "string"}},
    "text/plain",
    "success: applied (or a duplicate)",
    "fail: bad signature, unknown or mismatched; Alipay retries",
)
_WECHAT_V3_NOTIFICATION = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
}
_WECHAT_V3_REFUSAL = {
    "type": "object",
    "properties": {"code": {"type": "string", "enum": ["FAIL"]}, "message": {"type": "string"}},
    "required": ["code", "message"],
}


def _ack(provider, ok: bool) -> Response:
    db.session.commit()
    fault_point("notify.committed")
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
@payments_blp.doc(security=[], **_WECHAT_V2_NOTIFICATION)
@may_answer(payments_blp, 404)  # the gateway or API version is not configured here
def wechat_notification():
    """WeChat Pay v2 payment notification (XML, MD5-signed)."""
    _require_active("wechat_v2")
    provider = get_wechat_pay(version="v2")
    body = request.get_data()
    note = provider.parse_notification(body, request.content_type, None)
    return _ack(provider, applying.apply_notification(Gateway.WECHAT, note, body.decode("utf-8", "replace")))


@payments_blp.post("/payments/notify/alipay")
@payments_blp.doc(security=[], **_ALIPAY_NOTIFICATION)
@may_answer(payments_blp, 404)  # the gateway or API version is not configured here
def alipay_notification():
    """Alipay asynchronous notification (form post, RSA2-signed)."""
    _require_active("alipay")
    provider = get_provider(Channel.ALIPAY_WAP)
    form = request.form.to_dict()
    note = provider.parse_notification(request.get_data(), request.content_type, form)
    return _ack(provider, applying.apply_notification(Gateway.ALIPAY, note, form))


@payments_blp.post("/payments/notify/wechat-refund")
@payments_blp.doc(security=[], **_WECHAT_V2_NOTIFICATION)
@may_answer(payments_blp, 404)  # the gateway or API version is not configured here
def wechat_refund_notification():
    """WeChat Pay v2 refund result (encrypted req_info)."""
    _require_active("wechat_v2")
    provider = get_wechat_pay(version="v2")
    body = request.get_data()
    note = provider.parse_refund_notification(body)
    return _ack(provider, _apply_refund_notification(note, body.decode("utf-8", "replace")))


def _apply_refund_notification(note: RefundNotification, raw: str) -> bool:
    """Record a verified refund result on its locked refund; every message is kept in the event log."""
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
        dict(note.raw) or raw,
        note.valid,
        outcome,
        refund.payment if refund else None,
    )
    return refund is not None


@payments_blp.post("/payments/notify/wechat-v3")
@payments_blp.doc(security=[], **_WECHAT_V3_NOTIFICATION)
@may_answer(payments_blp, 404)  # the gateway or API version is not configured here
@payments_blp.response(204)
@payments_blp.alt_response(400, schema=_WECHAT_V3_REFUSAL, description='{"code": "FAIL", "message": …}: WeChat retries')
def wechat_v3_notification():
    """WeChat Pay v3 notification (payment or refund): signed with the WeChat Pay public key, AES-GCM encrypted."""
    _require_active("wechat_v3")
    body = request.get_data()
    try:
        provider = get_wechat_pay(version="v3")
        note = provider.parse_event(request.headers, body)
        # The decrypted resource (for a refused one: what it claims, when the APIv3 key opens it).
        raw = dict(note.raw) if note.raw else body.decode("utf-8", "replace")
        if isinstance(note, RefundNotification):
            ok = _apply_refund_notification(note, raw)
        else:
            ok = applying.apply_notification(Gateway.WECHAT, note, raw)
        db.session.commit()
        fault_point("notify.committed")
    except Exception:
        db.session.rollback()
        log.exception("wechat pay v3 notification could not be applied")
        message = json.dumps({"code": "FAIL", "message": "处理失败，请稍后重试"}, ensure_ascii=False)
        return Response(message, status=500, content_type="application/json; charset=utf-8")
    reply, status, content_type = provider.ack(ok, "" if ok else (note.reason or "通知被拒绝"))
    return Response(reply or None, status=status, content_type=content_type)
