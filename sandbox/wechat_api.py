"""Simulated WeChat platform API pieces the app uses (access token, login, codes, checks, messages, shipping).

Error codes follow WeChat's documentation where it is explicit (40001, 40013,
40029, 40125, 40169, 87014, 43101, 10060001-10060003); shipping-upload
validation uses 47001 ("data format error") for malformed fields.
"""

import hashlib
import io
import secrets
from datetime import datetime

import qrcode
from flask import Blueprint, Response, current_app, jsonify, request

from core.clock import beijing_now

bp = Blueprint("sandbox_wechat_api", __name__, url_prefix="/wechat-api")

# Words the content check flags, with WeChat's labels (20006 illegal, 10001 advertising, 20002 porn).
BLOCKED_WORDS = {"赌博": 20006, "毒品": 20006, "枪支": 20006, "代开发票": 10001, "色情": 20002}


def _box():
    return current_app.extensions["sandbox"]


def _error(errcode: int, errmsg: str):
    return jsonify(errcode=errcode, errmsg=errmsg)


def _record() -> None:
    body = request.get_json(force=True, silent=True) if request.method == "POST" else None
    params = {k: v for k, v in request.args.items() if k not in ("secret", "access_token")}
    _box().state.record("wechat_api", request.path, request.method, {**params, "json": body})


def _token_valid() -> bool:
    state = _box().state
    with state.lock:
        return request.args.get("access_token") in state.access_tokens


def _json_body() -> dict | None:
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else None


@bp.before_request
def record_every_call():
    _record()


def _issue_token(appid: str | None, secret: str | None):
    settings = _box().settings
    if appid != settings.wechat_appid:
        return _error(40013, "invalid appid")
    if secret != settings.wechat_secret:
        return _error(40125, "invalid appsecret")
    token = "sbx_token_" + secrets.token_urlsafe(24)
    with _box().state.lock:
        _box().state.access_tokens.add(token)
    return jsonify(access_token=token, expires_in=7200)


@bp.get("/cgi-bin/token")
def access_token():
    if request.args.get("grant_type") != "client_credential":
        return _error(40002, "invalid grant_type")
    return _issue_token(request.args.get("appid"), request.args.get("secret"))


@bp.post("/cgi-bin/stable_token")
def stable_access_token():
    body = _json_body() or {}
    if body.get("grant_type") != "client_credential":
        return _error(40002, "invalid grant_type")
    return _issue_token(body.get("appid"), body.get("secret"))


def sandbox_openid(code: str) -> str:
    """A stable openid per login code."""
    return "sbx_" + hashlib.sha256(code.encode("utf-8")).hexdigest()[:24]


@bp.get("/sns/jscode2session")
def code_to_session():
    settings = _box().settings
    if request.args.get("appid") != settings.wechat_appid:
        return _error(40013, "invalid appid")
    if request.args.get("secret") != settings.wechat_secret:
        return _error(40125, "invalid appsecret")
    code = request.args.get("js_code") or ""
    if not code or code == "invalid":
        return _error(40029, "invalid code")
    session_key = hashlib.sha256(b"session:" + code.encode("utf-8")).hexdigest()[:24]
    return jsonify(openid=sandbox_openid(code), session_key=session_key)


def sandbox_phone_number(code: str) -> str:
    """A stable mainland mobile number per phone code (138 + 8 digits)."""
    return "138" + str(int(hashlib.sha256(b"phone:" + code.encode("utf-8")).hexdigest(), 16))[-8:]


@bp.post("/wxa/business/getuserphonenumber")
def user_phone_number():
    """The number behind a getPhoneNumber button's code, shaped as WeChat answers it."""
    if not _token_valid():
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    code = (_json_body() or {}).get("code")
    if not isinstance(code, str) or not code or code == "invalid":
        return _error(40029, "invalid code")
    number = sandbox_phone_number(code)
    watermark = {"timestamp": int(datetime.now().timestamp()), "appid": _box().settings.wechat_appid}
    info = {"phoneNumber": number, "purePhoneNumber": number, "countryCode": "86", "watermark": watermark}
    return jsonify(errcode=0, errmsg="ok", phone_info=info)


@bp.post("/wxa/getwxacodeunlimit")
def wxa_code_unlimited():
    """A PNG QR code carrying the page and scene (a real mini-program code is a different picture)."""
    if not _token_valid():
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    body = _json_body()
    scene = (body or {}).get("scene")
    if not isinstance(scene, str) or not 0 < len(scene) <= 32:
        return _error(40169, "invalid length for scene, or the data is not json string")
    page = body.get("page") or "pages/index/index"
    if page.startswith("/") or " " in page:
        return _error(41030, "invalid page")
    buffer = io.BytesIO()
    qrcode.make(f"{page}?scene={scene}").save(buffer, format="PNG")
    return Response(buffer.getvalue(), 200, content_type="image/png")


@bp.post("/wxa/msg_sec_check")
def message_security_check():
    """Version 2 answers result/detail/trace_id; version 1 answers errcode 87014 for risky text."""
    if not _token_valid():
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    body = _json_body()
    if body is None or not isinstance(body.get("content"), str):
        return _error(47001, "data format error")
    content = body["content"]
    hits = [(word, label) for word, label in BLOCKED_WORDS.items() if word in content]
    if str(body.get("version", "1")) != "2":
        return _error(87014, "risky content") if hits else _error(0, "ok")
    if not body.get("openid") or body.get("scene") not in (1, 2, 3, 4):
        return _error(47001, "data format error")
    detail = [
        {
            "strategy": "keyword",
            "errcode": 0,
            "suggest": "risky",
            "label": label,
            "keyword": word,
            "level": 90,
        }
        for word, label in hits
    ]
    detail.append({"strategy": "content_model", "errcode": 0, "suggest": "pass", "label": 100, "prob": 90})
    result = {"suggest": "risky", "label": hits[0][1]} if hits else {"suggest": "pass", "label": 100}
    return jsonify(errcode=0, errmsg="ok", result=result, detail=detail, trace_id=secrets.token_hex(12))


@bp.post("/cgi-bin/message/subscribe/send")
def subscribe_send():
    """Record a subscription message; a touser starting with "refused" has declined them (43101)."""
    if not _token_valid():
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    body = _json_body()
    if body is None or not body.get("touser"):
        return _error(40003, "invalid openid")
    if not body.get("template_id"):
        return _error(40037, "invalid template id")
    data = body.get("data")
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
        return _error(47003, "argument invalid! data.value invalid")
    if str(body["touser"]).startswith("refused"):
        return _error(43101, "user refuse to accept the msg")
    state = _box().state
    with state.lock:
        state.subscribe_messages.append(body)
        msgid = len(state.subscribe_messages)
    return jsonify(errcode=0, errmsg="ok", msgid=msgid)


def _shipping_problem(body: dict) -> tuple[int, str] | None:
    """Field checks of upload_shipping_info."""
    if body.get("logistics_type") not in (1, 2, 3, 4):
        return 47001, "data format error: logistics_type must be 1-4"
    if body.get("delivery_mode") not in (1, 2):
        return 47001, "data format error: delivery_mode must be 1 or 2"
    if body["delivery_mode"] == 2 and not isinstance(body.get("is_all_delivered"), bool):
        return 47001, "data format error: is_all_delivered is required in split delivery"
    shipping = body.get("shipping_list")
    if not isinstance(shipping, list) or not 1 <= len(shipping) <= 10:
        return 47001, "data format error: shipping_list must have 1-10 items"
    for item in shipping:
        if not isinstance(item, dict) or not item.get("item_desc") or len(item["item_desc"]) > 120:
            return 47001, "data format error: item_desc is required, at most 120 characters"
        if body["logistics_type"] == 1 and not (item.get("tracking_no") and item.get("express_company")):
            return 47001, "data format error: express delivery needs tracking_no and express_company"
    try:
        uploaded = datetime.fromisoformat(str(body.get("upload_time", "")))
    except ValueError:
        uploaded = None
    if uploaded is None or uploaded.tzinfo is None:
        return 47001, "data format error: upload_time must be RFC 3339 with an offset"
    if not (body.get("payer") or {}).get("openid"):
        return 47001, "data format error: payer.openid is required"
    return None


@bp.post("/wxa/sec/order/update_order_detail_path")
def update_order_detail_path():
    """Record the order-centre detail path; it must be a relative page path holding ${商品订单号}."""
    if not _token_valid():
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    path = (_json_body() or {}).get("path")
    if not isinstance(path, str) or "${商品订单号}" not in path or path.startswith("/") or " " in path:
        return _error(10060035, "无效的路径")
    state = _box().state
    with state.lock:
        state.order_detail_path = path
    return _error(0, "ok")


@bp.post("/wxa/sec/order/upload_shipping_info")
def upload_shipping_info():
    """Accept and record shipping for a paid WeChat Pay trade (by transaction_id or mchid + out_trade_no)."""
    if not _token_valid():
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    body = _json_body()
    key = (body or {}).get("order_key")
    if body is None or not isinstance(key, dict) or key.get("order_number_type") not in (1, 2):
        return _error(47001, "data format error: order_key")
    problem = _shipping_problem(body)
    if problem is not None:
        return _error(*problem)
    box = _box()
    with box.state.lock:
        if key["order_number_type"] == 2:
            trade = box.state.wechat_trade_by_transaction(str(key.get("transaction_id")))
        elif key.get("mchid") == box.settings.mch_id:
            trade = box.state.wechat_trades.get(str(key.get("out_trade_no")))
        else:
            trade = None
        if trade is None or trade.transaction_id is None:
            return _error(10060001, "支付单不存在")
        if body["payer"]["openid"] != trade.openid:
            return _error(10060001, "支付单不存在（payer.openid 与支付人不符）")
        if trade.shipping_uploads >= 2:
            return _error(10060003, "支付单已使用重新发货机会")
        trade.shipping_uploads += 1
        box.state.shipping_uploads.append({**body, "received_at": beijing_now().isoformat()})
    return _error(0, "ok")
