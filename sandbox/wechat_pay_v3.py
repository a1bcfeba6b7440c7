"""Simulated WeChat Pay API v3 (public-key mode): signed JSON in and out, with the documented refusals.

Every request must carry a valid ``Authorization: WECHATPAY2-SHA256-RSA2048 …``
made with the merchant's API key (401 SIGN_ERROR otherwise); every answer is
signed with the simulated platform key and carries ``Wechatpay-Serial`` = the
public key id, as WeChat Pay does for a merchant in public-key mode. Errors are
``{"code", "message"}`` with WeChat's HTTP status. Trades are shared with the
v2 simulator (one merchant, two APIs), so a v3 query sees a v2 trade too.
"""

import gzip
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps

from flask import Blueprint, Response, current_app, request

from core.clock import beijing_now
from sandbox.bills import wechat_bill_text
from sandbox.notifications import wechat_v3_refund_fields, wechat_v3_transaction
from sandbox.signing import v3_authorization, v3_sign, v3_signature_valid
from sandbox.state import WeChatRefund, WeChatTrade, digits, wechat_prepay_id

PREFIX = "/wechat-pay"
bp = Blueprint("sandbox_wechat_pay_v3", __name__, url_prefix=PREFIX + "/v3")

JSON = "application/json; charset=utf-8"
_OUT_NO = re.compile(r"[0-9A-Za-z_\-|*]{1,32}")
_URL = re.compile(r"https?://[^\s]+")
MAX_CLOCK_SKEW_SECONDS = 300
BILL_URL_SECONDS = 30


def _box():
    return current_app.extensions["sandbox"]


def _answer(status: int, payload: dict | None = None, *, signed: bool = True) -> Response:
    """A JSON answer (no body for 204) with the Wechatpay-* signature headers."""
    body = "" if payload is None else json.dumps(payload, ensure_ascii=False)
    response = Response(body, status, content_type=JSON)
    response.headers["Request-ID"] = secrets.token_hex(16)
    if signed:
        settings = _box().settings
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        response.headers["Wechatpay-Timestamp"] = timestamp
        response.headers["Wechatpay-Nonce"] = nonce
        response.headers["Wechatpay-Signature"] = v3_sign(settings.v3_platform_private_key, timestamp, nonce, body)
        response.headers["Wechatpay-Serial"] = settings.v3_public_key_id
        response.headers["Wechatpay-Signature-Type"] = "WECHATPAY2-SHA256-RSA2048"
    return response


def error(status: int, code: str, message: str) -> Response:
    return _answer(status, {"code": code, "message": message})


def _authentication_problem() -> str | None:
    """Why the request's Authorization does not verify with the merchant's API key, if it does not."""
    settings = _box().settings
    fields = v3_authorization(request.headers.get("Authorization", ""))
    if fields is None:
        return "缺少或无法解析 Authorization 头"
    if fields["mchid"] != settings.mch_id:
        return "商户号不存在"
    if fields["serial_no"] != settings.v3_serial_no:
        return "商户证书序列号不匹配"
    if not fields["timestamp"].isdigit() or abs(time.time() - int(fields["timestamp"])) > MAX_CLOCK_SKEW_SECONDS:
        return "请求时间戳与当前时间相差超过5分钟"
    path = request.path[len(PREFIX) :]
    if request.query_string:
        path += "?" + request.query_string.decode("ascii")
    body = request.get_data(as_text=True)
    parts = (request.method, path, fields["timestamp"], fields["nonce_str"], body)
    if not v3_signature_valid(settings.v3_merchant_public_key, fields["signature"], *parts):
        return "签名错误"
    return None


def endpoint(handler: Callable[..., Response]):
    """Record, authenticate and parse around one handler (which gets the JSON body, if any)."""

    @wraps(handler)
    def view(**path):
        box = _box()
        raw = request.get_data()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = None
        recorded = {
            **request.args,
            **(data if isinstance(data, dict) else {"body": raw[:500].decode(errors="replace")}),
        }
        box.state.record("wechat_pay_v3", request.path, request.method, recorded)
        box.slow_down()
        problem = _authentication_problem()
        if problem is not None:
            return error(401, "SIGN_ERROR", problem)
        if not isinstance(data, dict):
            return error(400, "PARAM_ERROR", "请求体不是 JSON 对象")
        return handler(data, **path)

    return view


def _find(out_trade_no: str | None = None, transaction_id: str | None = None) -> WeChatTrade | None:
    state = _box().state
    if transaction_id:
        return state.wechat_trade_by_transaction(transaction_id)
    return state.wechat_trades.get(out_trade_no or "")


def _jsapi_order_problem(data: dict, settings) -> Response | None:
    """WeChat's answer to a malformed JSAPI order (missing fields, wrong merchant, bad amount …), else None."""
    for name in ("appid", "mchid", "description", "out_trade_no", "notify_url", "amount", "payer"):
        if not data.get(name):
            return error(400, "PARAM_ERROR", f"缺少参数 {name}")
    if data["mchid"] != settings.mch_id:
        return error(400, "MCH_NOT_EXISTS", "商户号不存在")
    if data["appid"] != settings.wechat_appid:
        return error(400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配")
    total = data["amount"].get("total") if isinstance(data["amount"], dict) else None
    openid = data["payer"].get("openid") if isinstance(data["payer"], dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
        return error(400, "PARAM_ERROR", "amount.total 必须是正整数（单位：分）")
    if (data["amount"].get("currency") or "CNY") != "CNY":
        return error(400, "PARAM_ERROR", "amount.currency 只支持 CNY")
    if not openid:
        return error(400, "PARAM_ERROR", "JSAPI 下单 payer.openid 必填")
    if not _OUT_NO.fullmatch(str(data["out_trade_no"])):
        return error(400, "PARAM_ERROR", "out_trade_no 格式错误")
    if len(str(data["description"]).encode("utf-8")) > 127:
        return error(400, "PARAM_ERROR", "description 超过127字节")
    if not _URL.fullmatch(str(data["notify_url"])):
        return error(400, "PARAM_ERROR", "notify_url 格式错误")
    return None


def _time_expire(data: dict, now: datetime) -> tuple[datetime | None, Response | None]:
    """The order's ``time_expire`` (None when absent), or WeChat's answer to a bad one."""
    try:
        time_expire = datetime.fromisoformat(data["time_expire"]) if data.get("time_expire") else None
    except (TypeError, ValueError):
        return None, error(400, "PARAM_ERROR", "time_expire 须为 RFC 3339 格式")
    if time_expire is not None and time_expire.tzinfo is None:
        return None, error(400, "PARAM_ERROR", "time_expire 须带时区")
    if time_expire is not None and time_expire < now + timedelta(minutes=1):
        return None, error(400, "PARAM_ERROR", "time_expire 时间过短")
    return time_expire, None


@bp.post("/pay/transactions/jsapi")
@endpoint
def jsapi(data: dict) -> Response:
    """Open (or re-enter) a mini-program trade and return its prepay_id."""
    problem = _jsapi_order_problem(data, _box().settings)
    if problem is not None:
        return problem
    total, openid = data["amount"]["total"], data["payer"]["openid"]
    now = beijing_now()
    time_expire, problem = _time_expire(data, now)
    if problem is not None:
        return problem
    state = _box().state
    with state.lock:
        trade = state.wechat_trades.get(data["out_trade_no"])
        if trade is not None:
            if trade.state in ("SUCCESS", "REFUND"):
                return error(400, "ORDERPAID", "该订单已支付")
            if trade.state == "CLOSED":
                return error(400, "ORDER_CLOSED", "订单已关闭")
            if (trade.total_fee, trade.openid, trade.body) != (total, openid, data["description"]):
                return error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
        else:
            trade = WeChatTrade(
                out_trade_no=data["out_trade_no"],
                prepay_id=wechat_prepay_id(),
                total_fee=total,
                body=data["description"],
                openid=openid,
                notify_url=data["notify_url"],
                trade_type="JSAPI",
                time_expire=time_expire or now + timedelta(hours=2),
                created_at=now,
                api_version="v3",
            )
            state.wechat_trades[trade.out_trade_no] = trade
        return _answer(200, {"prepay_id": trade.prepay_id})


def _trade_answer(trade: WeChatTrade | None) -> Response:
    if request.args.get("mchid") != _box().settings.mch_id:
        return error(400, "PARAM_ERROR", "mchid 与请求商户不符")
    if trade is None:
        return error(404, "ORDER_NOT_EXIST", "订单不存在")
    return _answer(200, wechat_v3_transaction(_box().settings, trade))


@bp.get("/pay/transactions/out-trade-no/<out_trade_no>")
@endpoint
def query_by_out_trade_no(data: dict, out_trade_no: str) -> Response:
    """The trade's state, with payment details once paid."""
    with _box().state.lock:
        return _trade_answer(_find(out_trade_no=out_trade_no))


@bp.get("/pay/transactions/id/<transaction_id>")
@endpoint
def query_by_transaction_id(data: dict, transaction_id: str) -> Response:
    """The same, by WeChat's transaction_id."""
    with _box().state.lock:
        return _trade_answer(_find(transaction_id=transaction_id))


@bp.post("/pay/transactions/out-trade-no/<out_trade_no>/close")
@endpoint
def close(data: dict, out_trade_no: str) -> Response:
    """Close an unpaid trade: 204; a paid one cannot be closed."""
    if data.get("mchid") != _box().settings.mch_id:
        return error(400, "PARAM_ERROR", "mchid 与请求商户不符")
    with _box().state.lock:
        trade = _find(out_trade_no=out_trade_no)
        if trade is None:
            return error(404, "ORDER_NOT_EXIST", "订单不存在")
        if trade.state in ("SUCCESS", "REFUND"):
            return error(403, "TRADE_ERROR", "订单已支付，不能关单")
        if trade.state == "CLOSED":
            return error(400, "ORDER_CLOSED", "订单已关闭")
        trade.state = "CLOSED"
    return _answer(204)


def _refund_answer(refund: WeChatRefund, status: str | None = None) -> dict:
    fields = wechat_v3_refund_fields(_box().settings, refund)
    fields.pop("mchid")
    fields["status"] = status or fields.pop("refund_status")
    fields.pop("refund_status", None)
    fields |= {"channel": "ORIGINAL", "create_time": refund.created_at.isoformat(timespec="seconds")}
    fields["amount"] |= {"currency": "CNY", "settlement_refund": refund.refund_fee, "discount_refund": 0}
    return fields


@bp.post("/refund/domestic/refunds")
@endpoint
def refund(data: dict) -> Response:
    """Apply for a refund; the same out_refund_no with the same amount is answered again, never repeated."""
    amount = data.get("amount") if isinstance(data.get("amount"), dict) else {}
    refund_fen, total_fen = amount.get("refund"), amount.get("total")
    if not data.get("out_refund_no") or not (data.get("out_trade_no") or data.get("transaction_id")):
        return error(400, "PARAM_ERROR", "缺少 out_refund_no，或 out_trade_no 与 transaction_id 均未填")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (refund_fen, total_fen)):
        return error(400, "PARAM_ERROR", "amount.refund 与 amount.total 须为正整数（单位：分）")
    if not _OUT_NO.fullmatch(str(data["out_refund_no"])):
        return error(400, "PARAM_ERROR", "out_refund_no 格式错误")
    box = _box()
    state = box.state
    with state.lock:
        trade = _find(data.get("out_trade_no"), data.get("transaction_id"))
        if trade is None:
            return error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        if trade.state not in ("SUCCESS", "REFUND"):
            return error(400, "INVALID_REQUEST", "订单未支付或已关闭，不能退款")
        if total_fen != trade.total_fee:
            return error(400, "INVALID_REQUEST", "订单金额与实际支付金额不一致")
        existing = state.wechat_refunds.get(data["out_refund_no"])
        if existing is not None:
            if (existing.out_trade_no, existing.refund_fee) != (trade.out_trade_no, refund_fen):
                return error(400, "INVALID_REQUEST", "退款金额或订单与之前的请求不一致")
            return _answer(200, _refund_answer(existing))
        if refund_fen > trade.total_fee - trade.refunded_fee:
            return error(400, "INVALID_REQUEST", "累计退款金额大于支付金额")
        if state.wechat_balance_fen is not None and refund_fen > state.wechat_balance_fen:
            return error(403, "NOT_ENOUGH", "基本账户余额不足，请充值后重新发起")
        now = beijing_now()
        outcome = state.wechat_refund_outcome
        created = WeChatRefund(
            out_refund_no=data["out_refund_no"],
            out_trade_no=trade.out_trade_no,
            transaction_id=trade.transaction_id or "",
            refund_id="50300" + now.strftime("%Y%m%d") + digits(15),
            total_fee=trade.total_fee,
            refund_fee=refund_fen,
            status=outcome,  # settled at once; the apply answer only says PROCESSING
            created_at=now,
            success_time=now if outcome == "SUCCESS" else None,
            notify_url=data.get("notify_url") or None,
            api_version="v3",
        )
        state.wechat_refunds[created.out_refund_no] = created
        if outcome != "CLOSED":  # an abnormal refund has left the merchant's account all the same
            trade.refunded_fee += refund_fen
            trade.state = "REFUND"
            if state.wechat_balance_fen is not None:
                state.wechat_balance_fen -= refund_fen
    if created.notify_url:
        box.notify_wechat_refund(created)
    return _answer(200, _refund_answer(created, "PROCESSING"))


@bp.get("/refund/domestic/refunds/<out_refund_no>")
@endpoint
def query_refund(data: dict, out_refund_no: str) -> Response:
    """One refund by out_refund_no."""
    with _box().state.lock:
        found = _box().state.wechat_refunds.get(out_refund_no)
        if found is None:
            return error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return _answer(200, _refund_answer(found))


@bp.get("/bill/tradebill")
@endpoint
def trade_bill(data: dict) -> Response:
    """Where to download the day's bill (valid 30 s) and the SHA1 of the uncompressed file."""
    try:
        day = date.fromisoformat(request.args.get("bill_date", ""))
    except ValueError:
        return error(400, "PARAM_ERROR", "bill_date 格式须为 yyyy-MM-dd")
    bill_type = request.args.get("bill_type") or "ALL"
    if bill_type not in ("ALL", "SUCCESS", "REFUND"):
        return error(400, "PARAM_ERROR", "bill_type 取值错误")
    tar_type = request.args.get("tar_type") or ""
    if tar_type not in ("", "GZIP"):
        return error(400, "PARAM_ERROR", "tar_type 取值错误")
    box = _box()
    text = wechat_bill_text(box, day, bill_type)
    if text is None:
        return error(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在")
    token = secrets.token_urlsafe(24)
    with box.state.lock:
        box.state.wechat_bill_tokens[token] = (
            day.isoformat(),
            f"{bill_type}:{tar_type}",
            time.time() + BILL_URL_SECONDS,
        )
    url = f"{request.host_url.rstrip('/')}{PREFIX}/v3/billdownload/file?token={token}"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324 - the protocol's integrity hash
    return _answer(200, {"hash_type": "SHA1", "hash_value": digest, "download_url": url})


@bp.get("/billdownload/file")
@endpoint
def bill_file(data: dict) -> Response:
    """The bill behind a download_url: unsigned (WeChat signs no file), gzip when asked."""
    box = _box()
    with box.state.lock:
        entry = box.state.wechat_bill_tokens.get(request.args.get("token", ""))
    if entry is None or entry[2] < time.time():
        return error(404, "RESOURCE_NOT_EXISTS", "下载链接不存在或已过期")
    bill_type, tar_type = entry[1].split(":")
    text = wechat_bill_text(box, date.fromisoformat(entry[0]), bill_type) or ""
    content = text.encode("utf-8")
    if tar_type == "GZIP":
        content = gzip.compress(content)
    return Response(content, 200, content_type="application/octet-stream")
