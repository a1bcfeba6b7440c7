"""Simulated WeChat Pay API v2: signed XML in and out, with the gateway's documented refusals.

Protocol failures (bad XML, unknown merchant, bad signature) answer
return_code FAIL, unsigned; business failures answer return_code SUCCESS,
result_code FAIL with err_code / err_code_des, signed like every SUCCESS reply.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps

from flask import Blueprint, Response, current_app, request

from core.clock import BEIJING, beijing_now
from sandbox.bills import wechat_bill_text
from sandbox.signing import parse_xml, to_xml, wechat_sign, wechat_signature_valid
from sandbox.state import WeChatRefund, WeChatTrade, digits, wechat_prepay_id

bp = Blueprint("sandbox_wechat_pay", __name__, url_prefix="/wechat-pay")

XML = "text/xml; charset=utf-8"
_OUT_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,32}")
_URL = re.compile(r"https?://[^\s]+")

Fields = dict[str, object]


def _box():
    return current_app.extensions["sandbox"]


def protocol_fail(message: str, **extra: str) -> Response:
    """return_code FAIL: the request never reached the business layer; unsigned."""
    return Response(to_xml({"return_code": "FAIL", "return_msg": message, **extra}), 200, content_type=XML)


def business_fail(code: str, description: str) -> Fields:
    return {"result_code": "FAIL", "err_code": code, "err_code_des": description}


def _signed_answer(params: dict[str, str], fields: Fields) -> Response:
    settings = _box().settings
    answer: Fields = {
        "return_code": "SUCCESS",
        "return_msg": "OK",
        "appid": settings.wechat_appid,
        "mch_id": settings.mch_id,
        "nonce_str": digits(16),
        **({"result_code": "SUCCESS"} | fields),
    }
    answer["sign"] = wechat_sign(answer, settings.mch_key, params.get("sign_type") or "MD5")
    return Response(to_xml(answer), 200, content_type=XML)


def endpoint(handler: Callable[[dict[str, str]], Fields | Response]):
    """Parse, record, authenticate and sign around one business handler."""

    @wraps(handler)
    def view():
        box = _box()
        raw = request.get_data()
        params = parse_xml(raw)
        recorded = params or {"body": raw[:500].decode(errors="replace")}
        box.state.record("wechat_pay", request.path, request.method, recorded)
        box.slow_down()
        if params is None:
            return protocol_fail("XML格式错误")
        settings = box.settings
        for name in ("appid", "mch_id", "nonce_str", "sign"):
            if not params.get(name):
                return protocol_fail(f"缺少参数{name}")
        if params["mch_id"] != settings.mch_id:
            return protocol_fail("商户号mch_id或sub_mch_id不存在")
        if params["appid"] != settings.wechat_appid:
            return protocol_fail("appid和mch_id不匹配")
        if not wechat_signature_valid(params, settings.mch_key):
            return protocol_fail("签名错误")
        result = handler(params)
        if isinstance(result, Response):
            return result
        return _signed_answer(params, result)

    return view


def _fen(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) > 0 else None


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def _find_trade(params: dict[str, str]) -> WeChatTrade | None:
    state = _box().state
    if params.get("transaction_id"):
        return state.wechat_trade_by_transaction(params["transaction_id"])
    return state.wechat_trades.get(params.get("out_trade_no", ""))


@bp.post("/pay/unifiedorder")
@endpoint
def unified_order(params: dict[str, str]) -> Fields:
    """Open (or re-enter) a trade and return its prepay_id."""
    for name in ("body", "out_trade_no", "total_fee", "spbill_create_ip", "notify_url", "trade_type"):
        if not params.get(name):
            return business_fail("LACK_PARAMS", f"缺少参数{name}")
    if params["trade_type"] != "JSAPI":
        return business_fail("NO_AUTH", "商户无此接口权限（沙箱只支持JSAPI）")
    if not params.get("openid"):
        return business_fail("LACK_PARAMS", "trade_type=JSAPI时（即JSAPI支付），此参数必传：openid")
    total_fee = _fen(params["total_fee"])
    if total_fee is None:
        return business_fail("INVALID_REQUEST", "total_fee必须是正整数（单位：分）")
    if not _OUT_NO.fullmatch(params["out_trade_no"]):
        return business_fail("INVALID_REQUEST", "out_trade_no格式错误")
    if len(params["body"].encode("utf-8")) > 128:
        return business_fail("INVALID_REQUEST", "body字段长度超过128字节")
    if not _URL.fullmatch(params["notify_url"]):
        return business_fail("INVALID_REQUEST", "notify_url格式错误")
    now = beijing_now()
    time_expire = _time(params.get("time_expire")) if params.get("time_expire") else now + timedelta(hours=2)
    if time_expire is None:
        return business_fail("INVALID_REQUEST", "time_expire格式错误")
    if time_expire < now + timedelta(minutes=1):
        return business_fail("INVALID_REQUEST", "time_expire时间过短，刷卡至少1分钟，其他5分钟")
    state = _box().state
    with state.lock:
        trade = state.wechat_trades.get(params["out_trade_no"])
        if trade is not None:
            if trade.state in ("SUCCESS", "REFUND"):
                return business_fail("ORDERPAID", "该订单已支付")
            if trade.state == "CLOSED":
                return business_fail("ORDERCLOSED", "该订单已关闭")
            asked = (total_fee, params["openid"], params["body"])
            if (trade.total_fee, trade.openid, trade.body) != asked:
                return business_fail("INVALID_REQUEST", "201 商户订单号重复")
        else:
            trade = WeChatTrade(
                out_trade_no=params["out_trade_no"],
                prepay_id=wechat_prepay_id(),
                total_fee=total_fee,
                body=params["body"],
                openid=params["openid"],
                notify_url=params["notify_url"],
                trade_type="JSAPI",
                time_expire=time_expire,
                created_at=now,
            )
            state.wechat_trades[trade.out_trade_no] = trade
        return {"trade_type": "JSAPI", "prepay_id": trade.prepay_id}


_STATE_DESCRIPTIONS = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "CLOSED": "已关闭",
}


@bp.post("/pay/orderquery")
@endpoint
def order_query(params: dict[str, str]) -> Fields:
    """The trade's state, with payment details once paid."""
    if not (params.get("out_trade_no") or params.get("transaction_id")):
        return business_fail("LACK_PARAMS", "transaction_id和out_trade_no必须二选一")
    with _box().state.lock:
        trade = _find_trade(params)
        if trade is None:
            return business_fail("ORDERNOTEXIST", "此交易订单号不存在")
        fields: Fields = {
            "out_trade_no": trade.out_trade_no,
            "trade_state": trade.state,
            "trade_state_desc": _STATE_DESCRIPTIONS[trade.state],
            "total_fee": trade.total_fee,
            "fee_type": "CNY",
            "openid": trade.openid,
            "trade_type": trade.trade_type,
        }
        if trade.transaction_id:
            fields |= {
                "transaction_id": trade.transaction_id,
                "time_end": trade.time_end.strftime("%Y%m%d%H%M%S") if trade.time_end else None,
                "cash_fee": trade.total_fee,
                "bank_type": "OTHERS",
                "is_subscribe": "N",
            }
        return fields


@bp.post("/pay/closeorder")
@endpoint
def close_order(params: dict[str, str]) -> Fields:
    """Close an unpaid trade."""
    if not params.get("out_trade_no"):
        return business_fail("LACK_PARAMS", "缺少参数out_trade_no")
    with _box().state.lock:
        trade = _box().state.wechat_trades.get(params["out_trade_no"])
        if trade is None:
            return business_fail("ORDERNOTEXIST", "此交易订单号不存在")
        if trade.state in ("SUCCESS", "REFUND"):
            return business_fail("ORDERPAID", "订单已支付，不能发起关单")
        if trade.state == "CLOSED":
            return business_fail("ORDERCLOSED", "订单已关闭，无法重复关闭")
        trade.state = "CLOSED"
        return {}


@bp.post("/secapi/pay/refund")
@endpoint
def refund(params: dict[str, str]) -> Fields:
    """Apply for a refund; the same out_refund_no with the same amounts is answered again, never repeated."""
    for name in ("out_refund_no", "total_fee", "refund_fee"):
        if not params.get(name):
            return business_fail("PARAM_ERROR", f"缺少参数{name}")
    if not (params.get("out_trade_no") or params.get("transaction_id")):
        return business_fail("PARAM_ERROR", "transaction_id和out_trade_no必须二选一")
    total_fee, refund_fee = _fen(params["total_fee"]), _fen(params["refund_fee"])
    if total_fee is None or refund_fee is None or not _OUT_NO.fullmatch(params["out_refund_no"]):
        return business_fail("PARAM_ERROR", "参数错误")
    box = _box()
    state = box.state
    with state.lock:
        trade = _find_trade(params)
        if trade is None:
            return business_fail("ORDERNOTEXIST", "订单不存在")
        if trade.state not in ("SUCCESS", "REFUND"):
            return business_fail("ERROR", "订单未支付或已关闭，不能退款")
        if total_fee != trade.total_fee:
            return business_fail("INVALID_REQUEST", "订单金额与实际支付金额不一致")
        existing = state.wechat_refunds.get(params["out_refund_no"])
        if existing is not None:
            if (existing.out_trade_no, existing.refund_fee) != (trade.out_trade_no, refund_fee):
                return business_fail("INVALID_REQUEST", "订单金额或退款金额与之前请求不一致，请核实后再试")
            return _refund_fields(existing)
        if refund_fee > trade.total_fee - trade.refunded_fee:
            return business_fail("ERROR", "累计退款金额大于支付金额")
        if state.wechat_balance_fen is not None and refund_fee > state.wechat_balance_fen:
            return business_fail("NOTENOUGH", "基本账户余额不足，请充值后重新发起")
        now = beijing_now()
        created = WeChatRefund(
            out_refund_no=params["out_refund_no"],
            out_trade_no=trade.out_trade_no,
            transaction_id=trade.transaction_id or "",
            refund_id="50000" + now.strftime("%Y%m%d") + digits(15),
            total_fee=trade.total_fee,
            refund_fee=refund_fee,
            status="SUCCESS",  # the sandbox settles at once; the apply answer only says "accepted"
            created_at=now,
            success_time=now,
            notify_url=params.get("notify_url") or None,
        )
        state.wechat_refunds[created.out_refund_no] = created
        trade.refunded_fee += refund_fee
        trade.state = "REFUND"
        if state.wechat_balance_fen is not None:
            state.wechat_balance_fen -= refund_fee
    if created.notify_url:
        box.notify_wechat_refund(created)
    return _refund_fields(created)


def _refund_fields(refund_row: WeChatRefund) -> Fields:
    return {
        "transaction_id": refund_row.transaction_id,
        "out_trade_no": refund_row.out_trade_no,
        "out_refund_no": refund_row.out_refund_no,
        "refund_id": refund_row.refund_id,
        "refund_fee": refund_row.refund_fee,
        "total_fee": refund_row.total_fee,
        "cash_fee": refund_row.total_fee,
        "refund_channel": "ORIGINAL",
    }


@bp.post("/pay/refundquery")
@endpoint
def refund_query(params: dict[str, str]) -> Fields:
    """Refunds by out_refund_no / refund_id, or all refunds of a trade."""
    state = _box().state
    with state.lock:
        if params.get("out_refund_no") or params.get("refund_id"):
            found = [
                r
                for r in state.wechat_refunds.values()
                if r.out_refund_no == params.get("out_refund_no") or r.refund_id == params.get("refund_id")
            ]
        else:
            trade = _find_trade(params)
            wanted = trade.out_trade_no if trade else None
            found = [r for r in state.wechat_refunds.values() if r.out_trade_no == wanted]
        if not found:
            return business_fail("REFUNDNOTEXIST", "退款订单查询失败")
        fields: Fields = {
            "transaction_id": found[0].transaction_id,
            "out_trade_no": found[0].out_trade_no,
            "total_fee": found[0].total_fee,
            "cash_fee": found[0].total_fee,
            "refund_count": len(found),
        }
        for n, row in enumerate(found):
            fields |= {
                f"out_refund_no_{n}": row.out_refund_no,
                f"refund_id_{n}": row.refund_id,
                f"refund_fee_{n}": row.refund_fee,
                f"refund_status_{n}": row.status,
                f"refund_recv_accout_{n}": "支付用户零钱",
                f"refund_success_time_{n}": row.success_time.strftime("%Y-%m-%d %H:%M:%S")
                if row.success_time
                else None,
            }
        return fields


@bp.post("/pay/downloadbill")
@endpoint
def download_bill(params: dict[str, str]) -> Response:
    """The day's bill as backtick text, or WeChat's "No Bill Exist"."""
    try:
        day = date(*datetime.strptime(params.get("bill_date", ""), "%Y%m%d").timetuple()[:3])
    except ValueError:
        return protocol_fail("invalid bill_date", error_code="20001")
    bill_type = params.get("bill_type") or "ALL"
    if bill_type not in ("ALL", "SUCCESS", "REFUND"):
        return protocol_fail("invalid bill_type", error_code="20001")
    text = wechat_bill_text(_box(), day, bill_type)
    if text is None:
        return protocol_fail("No Bill Exist", error_code="20002")
    return Response(text, 200, content_type="text/plain; charset=utf-8")
