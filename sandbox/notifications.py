"""The bodies the simulated gateways post to notify URLs, genuine and deliberately wrong (test hooks)."""

import base64
import hashlib
import json
import secrets
import time
import uuid
from urllib.parse import urlencode

from cryptography.hazmat.primitives import padding as symmetric_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.clock import beijing_now
from payments.money import fen_to_yuan
from sandbox.settings import SandboxSettings
from sandbox.signing import V3_SIGNATURE_TYPE, alipay_sign_content, rsa2_sign, to_xml, v3_encrypt, v3_sign, wechat_sign
from sandbox.state import AlipayTrade, WeChatRefund, WeChatTrade

WECHAT_CONTENT_TYPE = "text/xml; charset=utf-8"
ALIPAY_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# Test variants: duplicate (the genuine body again), forged (signed with another key),
# tampered_amount (amount changed after signing), wrong_amount (validly signed, other amount),
# wrong_appid (validly signed for another app).
VARIANTS = ("genuine", "duplicate", "forged", "tampered_amount", "wrong_amount", "wrong_appid")


def _nonce() -> str:
    return secrets.token_hex(16)


def wechat_payment_fields(settings: SandboxSettings, trade: WeChatTrade) -> dict[str, object]:
    time_end = trade.time_end or beijing_now()
    return {
        "appid": settings.wechat_appid,
        "bank_type": "OTHERS",
        "cash_fee": trade.total_fee,
        "fee_type": "CNY",
        "is_subscribe": "N",
        "mch_id": settings.mch_id,
        "nonce_str": _nonce(),
        "openid": trade.openid,
        "out_trade_no": trade.out_trade_no,
        "result_code": "SUCCESS",
        "return_code": "SUCCESS",
        "time_end": time_end.strftime("%Y%m%d%H%M%S"),
        "total_fee": trade.total_fee,
        "trade_type": trade.trade_type,
        "transaction_id": trade.transaction_id,
    }


def wechat_payment_body(settings: SandboxSettings, trade: WeChatTrade, variant: str = "genuine") -> bytes:
    """The XML of a payment notification, MD5-signed with the merchant key (unless the variant says not)."""
    fields = wechat_payment_fields(settings, trade)
    key = settings.mch_key
    if variant == "forged":
        key = secrets.token_hex(16)
    elif variant == "wrong_amount":
        fields["total_fee"] = fields["cash_fee"] = trade.total_fee + 1
    elif variant == "wrong_appid":
        fields["appid"] = "wx" + "0" * 16
    fields["sign"] = wechat_sign(fields, key)
    if variant == "tampered_amount":
        fields["total_fee"] = fields["cash_fee"] = trade.total_fee + 1
    return to_xml(fields).encode("utf-8")


def wechat_refund_body(settings: SandboxSettings, refund: WeChatRefund) -> bytes:
    """A refund notification: req_info is AES-256-ECB (PKCS#7) of <root>…</root> with md5(key) as the key."""
    success_time = refund.success_time or beijing_now()
    inner = {
        "out_refund_no": refund.out_refund_no,
        "out_trade_no": refund.out_trade_no,
        "refund_account": "REFUND_SOURCE_UNSETTLED_FUNDS",
        "refund_fee": refund.refund_fee,
        "refund_id": refund.refund_id,
        "refund_recv_accout": "支付用户零钱",
        "refund_request_source": "API",
        "refund_status": refund.status,
        "settlement_refund_fee": refund.refund_fee,
        "settlement_total_fee": refund.total_fee,
        "success_time": success_time.strftime("%Y-%m-%d %H:%M:%S"),
        "total_fee": refund.total_fee,
        "transaction_id": refund.transaction_id,
    }
    plain = to_xml(inner).replace("<xml>", "<root>").replace("</xml>", "</root>").encode("utf-8")
    padder = symmetric_padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    key = hashlib.md5(settings.mch_key.encode("utf-8")).hexdigest().encode("ascii")  # noqa: S324 - protocol
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - the protocol's ECB
    req_info = base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")
    outer = {
        "return_code": "SUCCESS",
        "appid": settings.wechat_appid,
        "mch_id": settings.mch_id,
        "nonce_str": _nonce(),
        "req_info": req_info,
    }
    return to_xml(outer).encode("utf-8")


def alipay_payment_fields(settings: SandboxSettings, trade: AlipayTrade) -> dict[str, str]:
    now = beijing_now().strftime("%Y-%m-%d %H:%M:%S")
    amount = fen_to_yuan(trade.total_fen)
    fields = {
        "gmt_create": trade.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        "charset": "utf-8",
        "subject": trade.subject,
        "buyer_id": trade.buyer_id or "",
        "buyer_open_id": trade.buyer_open_id or "",
        "invoice_amount": amount,
        "notify_id": secrets.token_hex(16),
        "fund_bill_list": f'[{{"amount":"{amount}","fundChannel":"ALIPAYACCOUNT"}}]',
        "notify_type": "trade_status_sync",
        "trade_status": trade.status,
        "receipt_amount": amount,
        "buyer_pay_amount": amount,
        "app_id": settings.alipay_app_id,
        "sign_type": "RSA2",
        "seller_id": settings.alipay_seller_id,
        "gmt_payment": trade.paid_at.strftime("%Y-%m-%d %H:%M:%S") if trade.paid_at else "",
        "notify_time": now,
        "version": "1.0",
        "out_trade_no": trade.out_trade_no,
        "total_amount": amount,
        "trade_no": trade.trade_no,
        "auth_app_id": settings.alipay_app_id,
        "point_amount": "0.00",
    }
    return {name: value for name, value in fields.items() if value}


def alipay_payment_body(settings: SandboxSettings, trade: AlipayTrade, variant: str = "genuine") -> bytes:
    """The form of a trade_status_sync notification, RSA2-signed by the simulated Alipay."""
    fields = alipay_payment_fields(settings, trade)
    key = settings.alipay_private_key
    if variant == "forged":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif variant == "wrong_amount":
        fields["total_amount"] = fen_to_yuan(trade.total_fen + 1)
    elif variant == "wrong_appid":
        fields["app_id"] = fields["auth_app_id"] = "2021000000009999"
    fields["sign"] = rsa2_sign(key, alipay_sign_content(fields, exclude=("sign", "sign_type")))
    if variant == "tampered_amount":
        fields["total_amount"] = fen_to_yuan(trade.total_fen + 1)
    return urlencode(fields).encode("ascii")


# -- WeChat Pay API v3 -------------------------------------------------------------------------------

WECHAT_V3_CONTENT_TYPE = "application/json"
# v3 variants: forged (signed with another key), unknown_serial (signed, another public key id),
# stale_timestamp (signed ten minutes ago), tampered_ciphertext (the ciphertext altered, then signed:
# only the AES-GCM tag can tell), wrong_amount and wrong_appid (validly signed and encrypted).
V3_VARIANTS = (
    "genuine",
    "duplicate",
    "forged",
    "unknown_serial",
    "stale_timestamp",
    "tampered_ciphertext",
    "wrong_amount",
    "wrong_appid",
)


def wechat_v3_headers(settings: SandboxSettings, body: bytes, variant: str = "genuine") -> dict[str, str]:
    """Wechatpay-* headers for one sending: a fresh timestamp and nonce, signed with the platform key."""
    timestamp = int(time.time()) - (600 if variant == "stale_timestamp" else 0)
    nonce = secrets.token_hex(16)
    key = settings.v3_platform_private_key
    if variant == "forged":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    serial = "PUB_KEY_ID_0000000000000000000000000000000000" if variant == "unknown_serial" else None
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": v3_sign(key, str(timestamp), nonce, body.decode("utf-8")),
        "Wechatpay-Serial": serial or settings.v3_public_key_id,
        "Wechatpay-Signature-Type": V3_SIGNATURE_TYPE,
    }


def _v3_event(settings: SandboxSettings, event_type: str, summary: str, original_type: str, resource: dict) -> dict:
    plaintext = json.dumps(resource, ensure_ascii=False, separators=(",", ":"))
    return {
        "id": str(uuid.uuid4()),
        "create_time": beijing_now().isoformat(timespec="seconds"),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary,
        "resource": {"original_type": original_type, **v3_encrypt(settings.apiv3_key, plaintext, original_type)},
    }


def wechat_v3_transaction(settings: SandboxSettings, trade: WeChatTrade) -> dict:
    """A trade as v3 answers a query and as a TRANSACTION.SUCCESS notification carries it."""
    fields = {
        "appid": settings.wechat_appid,
        "mchid": settings.mch_id,
        "out_trade_no": trade.out_trade_no,
        "trade_type": trade.trade_type,
        "trade_state": trade.state,
        "trade_state_desc": {"NOTPAY": "未支付", "SUCCESS": "支付成功", "REFUND": "转入退款", "CLOSED": "已关闭"}[
            trade.state
        ],
        "payer": {"openid": trade.openid},
        "amount": {"total": trade.total_fee, "currency": "CNY"},
    }
    if trade.transaction_id:
        fields |= {
            "transaction_id": trade.transaction_id,
            "bank_type": "OTHERS",
            "attach": "",
            "success_time": (trade.time_end or beijing_now()).isoformat(timespec="seconds"),
        }
        fields["amount"] |= {"payer_total": trade.total_fee, "payer_currency": "CNY"}
    return fields


def wechat_v3_payment_body(settings: SandboxSettings, trade: WeChatTrade, variant: str = "genuine") -> bytes:
    """TRANSACTION.SUCCESS: the trade encrypted with the APIv3 key; headers are signed when sent."""
    resource = wechat_v3_transaction(settings, trade)
    resource["trade_state"], resource["trade_state_desc"] = "SUCCESS", "支付成功"
    if variant == "wrong_amount":
        resource["amount"]["total"] = resource["amount"]["payer_total"] = trade.total_fee + 1
    elif variant == "wrong_appid":
        resource["appid"] = "wx" + "0" * 16
    event = _v3_event(settings, "TRANSACTION.SUCCESS", "支付成功", "transaction", resource)
    if variant == "tampered_ciphertext":
        sealed = bytearray(base64.b64decode(event["resource"]["ciphertext"]))
        sealed[0] ^= 0x01
        event["resource"]["ciphertext"] = base64.b64encode(bytes(sealed)).decode("ascii")
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def wechat_v3_refund_fields(settings: SandboxSettings, refund: WeChatRefund) -> dict:
    fields = {
        "mchid": settings.mch_id,
        "out_trade_no": refund.out_trade_no,
        "transaction_id": refund.transaction_id,
        "out_refund_no": refund.out_refund_no,
        "refund_id": refund.refund_id,
        "refund_status": refund.status,
        "user_received_account": "支付用户零钱",
        "amount": {
            "total": refund.total_fee,
            "refund": refund.refund_fee,
            "payer_total": refund.total_fee,
            "payer_refund": refund.refund_fee,
        },
    }
    if refund.success_time is not None:
        fields["success_time"] = refund.success_time.isoformat(timespec="seconds")
    return fields


def wechat_v3_refund_body(settings: SandboxSettings, refund: WeChatRefund) -> bytes:
    """REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED, encrypted like every v3 notification."""
    summary = {"SUCCESS": "退款成功", "ABNORMAL": "退款异常", "CLOSED": "退款关闭"}[refund.status]
    resource = wechat_v3_refund_fields(settings, refund)
    event = _v3_event(settings, f"REFUND.{refund.status}", summary, "refund", resource)
    return json.dumps(event, ensure_ascii=False).encode("utf-8")
