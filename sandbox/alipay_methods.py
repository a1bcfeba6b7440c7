"""The business side of the simulated Alipay gateway: one handler per open-platform method."""

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime

from flask import request, url_for

from core.clock import BEIJING, beijing_now
from payments.money import fen_to_yuan, yuan_to_fen
from payments.providers.base import Channel
from sandbox.bills import alipay_bill_zip
from sandbox.state import AlipayRefund, AlipayTrade, Transfer, alipay_trade_no, digits

Handler = Callable[[object, dict, dict], dict]
HANDLERS: dict[str, Handler] = {}

_OUT_NO = re.compile(r"[0-9A-Za-z_]{1,64}")
_PHONE = re.compile(r"1\d{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_USER_ID = re.compile(r"2088\d{12}")
MAX_FEN = 100_000_000 * 100
TRANSFER_MIN_FEN = 10


def handles(method: str):
    def register(handler: Handler) -> Handler:
        HANDLERS[method] = handler
        return handler

    return register


def ok(**fields) -> dict:
    return {"code": "10000", "msg": "Success", **fields}


def business_fail(sub_code: str, sub_msg: str) -> dict:
    return {"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def _stamp(moment: datetime | None) -> str | None:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _fen(text: object) -> int | None:
    try:
        fen = yuan_to_fen(str(text))
    except ValueError:
        return None
    return fen if 0 < fen <= MAX_FEN else None


def _masked(buyer: str | None) -> str:
    return (buyer[:3] + "***" + buyer[-3:]) if buyer and len(buyer) > 6 else "***"


def _find(box, biz: dict) -> AlipayTrade | None:
    trade = box.state.alipay_trade(biz.get("out_trade_no"), biz.get("trade_no"))
    if trade and trade.status == "WAIT_BUYER_PAY" and trade.time_expire and beijing_now() > trade.time_expire:
        trade.status = "TRADE_CLOSED"  # unpaid trades close themselves at time_expire
    return trade


def _open_trade(
    box, biz: dict, params: dict, channel: str, product_code: str
) -> tuple[dict | None, AlipayTrade | None]:
    """Validate and register (or re-enter) a trade; returns (problem, trade)."""
    out_trade_no, fen = biz.get("out_trade_no") or "", _fen(biz.get("total_amount"))
    if not _OUT_NO.fullmatch(out_trade_no):
        return business_fail("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no"), None
    if fen is None:
        return business_fail("ACQ.INVALID_PARAMETER", "参数无效：total_amount"), None
    if not biz.get("subject"):
        return business_fail("ACQ.INVALID_PARAMETER", "参数无效：subject不能为空"), None
    if biz.get("product_code", product_code) != product_code:
        return business_fail("ACQ.INVALID_PARAMETER", f"参数无效：product_code应为{product_code}"), None
    buyer_id, buyer_open_id = biz.get("buyer_id"), biz.get("buyer_open_id")
    if channel == Channel.ALIPAY_MINI and not (buyer_id or buyer_open_id):
        return business_fail("ACQ.INVALID_PARAMETER", "参数无效：buyer_id和buyer_open_id不能同时为空"), None
    time_expire = None
    if biz.get("time_expire"):
        try:
            time_expire = datetime.strptime(biz["time_expire"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            return business_fail("ACQ.INVALID_PARAMETER", "参数无效：time_expire"), None
    state = box.state
    with state.lock:
        trade = _find(box, {"out_trade_no": out_trade_no})
        if trade is not None:
            if trade.status == "TRADE_SUCCESS" or trade.paid_at:
                return business_fail("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"), trade
            if trade.status == "TRADE_CLOSED":
                return business_fail("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"), trade
            if (trade.total_fen, trade.buyer_id, trade.buyer_open_id) != (fen, buyer_id, buyer_open_id):
                return business_fail("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改"), trade
            return None, trade
        trade = AlipayTrade(
            out_trade_no=out_trade_no,
            trade_no=alipay_trade_no(),
            total_fen=fen,
            subject=biz["subject"],
            channel=channel,
            notify_url=params.get("notify_url"),
            time_expire=time_expire,
            created_at=beijing_now(),
            buyer_id=buyer_id,
            buyer_open_id=buyer_open_id,
        )
        state.alipay_trades[out_trade_no] = trade
        return None, trade


@handles("alipay.trade.create")
def trade_create(box, biz: dict, params: dict) -> dict:
    """JSAPI_PAY for the Alipay mini-program: a trade_no for my.tradePay."""
    problem, trade = _open_trade(box, biz, params, Channel.ALIPAY_MINI, "JSAPI_PAY")
    return problem or ok(out_trade_no=trade.out_trade_no, trade_no=trade.trade_no)


def open_wap_trade(box, biz: dict, params: dict) -> dict | None:
    """alipay.trade.wap.pay opened in a browser: the trade exists from now on."""
    problem, _ = _open_trade(box, biz, params, Channel.ALIPAY_WAP, "QUICK_WAP_WAY")
    return problem


@handles("alipay.trade.query")
def trade_query(box, biz: dict, params: dict) -> dict:
    with box.state.lock:
        trade = _find(box, biz)
        if trade is None:
            return business_fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        fields = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": _masked(trade.buyer_id),
            "trade_status": trade.status,
            "total_amount": fen_to_yuan(trade.total_fen),
            "buyer_user_id": trade.buyer_id,
            "buyer_open_id": trade.buyer_open_id,
        }
        if trade.paid_at:
            amount = fen_to_yuan(trade.total_fen)
            fields |= {
                "send_pay_date": _stamp(trade.paid_at),
                "buyer_pay_amount": amount,
                "receipt_amount": amount,
                "invoice_amount": amount,
                "point_amount": "0.00",
            }
        return ok(**{name: value for name, value in fields.items() if value})


@handles("alipay.trade.close")
def trade_close(box, biz: dict, params: dict) -> dict:
    with box.state.lock:
        trade = _find(box, biz)
        if trade is None:
            return business_fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        if trade.status != "WAIT_BUYER_PAY":
            return business_fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        trade.status = "TRADE_CLOSED"
        return ok(trade_no=trade.trade_no, out_trade_no=trade.out_trade_no)


@handles("alipay.trade.refund")
def trade_refund(box, biz: dict, params: dict) -> dict:
    """Synchronous refund; the same out_request_no with the same amount is answered again (fund_change N)."""
    fen = _fen(biz.get("refund_amount"))
    if fen is None:
        return business_fail("ACQ.INVALID_PARAMETER", "参数无效：refund_amount")
    state = box.state
    with state.lock:
        trade = _find(box, biz)
        if trade is None:
            return business_fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        out_request_no = biz.get("out_request_no") or trade.out_trade_no
        existing = state.alipay_refunds.get((trade.out_trade_no, out_request_no))
        fund_change = "N"
        if existing is not None and existing.refund_fen != fen:
            return business_fail("ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求")
        if existing is None:
            if not trade.paid_at or trade.status != "TRADE_SUCCESS":
                return business_fail("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
            if fen > trade.total_fen - trade.refunded_fen:
                return business_fail("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
            existing = AlipayRefund(
                trade.out_trade_no,
                out_request_no,
                trade.trade_no,
                fen,
                biz.get("refund_reason", ""),
                beijing_now(),
            )
            state.alipay_refunds[(trade.out_trade_no, out_request_no)] = existing
            trade.refunded_fen += fen
            if trade.refunded_fen == trade.total_fen:
                trade.status = "TRADE_CLOSED"
            fund_change = "Y"
        fields = {
            "trade_no": trade.trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": _masked(trade.buyer_id),
            "fund_change": fund_change,
            "refund_fee": fen_to_yuan(trade.refunded_fen),
            "gmt_refund_pay": _stamp(existing.created_at),
            "buyer_user_id": trade.buyer_id,
        }
        return ok(**{name: value for name, value in fields.items() if value})


@handles("alipay.trade.fastpay.refund.query")
def refund_query(box, biz: dict, params: dict) -> dict:
    """A found refund carries refund_amount and REFUND_SUCCESS; an unknown one only the trade's numbers."""
    with box.state.lock:
        trade = _find(box, biz)
        if trade is None:
            return business_fail("ACQ.TRADE_NOT_EXIST", "交易不存在")
        out_request_no = biz.get("out_request_no") or trade.out_trade_no
        refund = box.state.alipay_refunds.get((trade.out_trade_no, out_request_no))
        if refund is None:
            return ok(trade_no=trade.trade_no, out_trade_no=trade.out_trade_no)
        return ok(
            trade_no=trade.trade_no,
            out_trade_no=trade.out_trade_no,
            out_request_no=out_request_no,
            total_amount=fen_to_yuan(trade.total_fen),
            refund_amount=fen_to_yuan(refund.refund_fen),
            refund_status="REFUND_SUCCESS",
            gmt_refund_pay=_stamp(refund.created_at),
        )


def _payee_problem(payee: dict) -> dict | None:
    identity, identity_type = str(payee.get("identity") or ""), payee.get("identity_type")
    if identity_type not in ("ALIPAY_LOGON_ID", "ALIPAY_USER_ID"):
        return business_fail("INVALID_PARAMETER", "参数有误：payee_info.identity_type")
    if identity_type == "ALIPAY_LOGON_ID" and not payee.get("name"):
        return business_fail("INVALID_PARAMETER", "参数有误：收款方为ALIPAY_LOGON_ID时name必填")
    looks_real = (
        _USER_ID.fullmatch(identity)
        if identity_type == "ALIPAY_USER_ID"
        else _PHONE.fullmatch(identity) or _EMAIL.fullmatch(identity)
    )
    if "invalid" in identity.lower() or not looks_real:
        return business_fail("PAYEE_NOT_EXIST", "收款账号不存在")
    return None


@handles("alipay.fund.trans.uni.transfer")
def uni_transfer(box, biz: dict, params: dict) -> dict:
    """Single transfer without password (TRANS_ACCOUNT_NO_PWD / DIRECT_TRANSFER); failures are not kept."""
    out_biz_no, fen = biz.get("out_biz_no") or "", _fen(biz.get("trans_amount"))
    payee = biz.get("payee_info") if isinstance(biz.get("payee_info"), dict) else {}
    if not _OUT_NO.fullmatch(out_biz_no) or fen is None:
        return business_fail("INVALID_PARAMETER", "参数有误：out_biz_no或trans_amount")
    if (biz.get("product_code"), biz.get("biz_scene")) != ("TRANS_ACCOUNT_NO_PWD", "DIRECT_TRANSFER"):
        return business_fail("INVALID_PARAMETER", "参数有误：product_code或biz_scene")
    state = box.state
    with state.lock:
        existing = state.transfers.get(out_biz_no)
        if existing is not None:
            if (existing.amount_fen, existing.account) != (fen, payee.get("identity")):
                return business_fail("INVALID_PARAMETER", "参数有误：out_biz_no重复且参数与原请求不一致")
            return _transfer_answer(existing)
        if fen < TRANSFER_MIN_FEN:
            return business_fail("EXCEED_LIMIT_SM_MIN_AMOUNT", "单笔最低转账金额0.1元")
        problem = _payee_problem(payee)
        if problem is not None:
            return problem
        if state.alipay_balance_fen is not None and fen > state.alipay_balance_fen:
            return business_fail("PAYER_BALANCE_NOT_ENOUGH", "付款方余额不足")
        now = beijing_now()
        transfer = Transfer(
            out_biz_no=out_biz_no,
            order_id=now.strftime("%Y%m%d") + "110070000" + digits(15),
            pay_fund_order_id=now.strftime("%Y%m%d") + "110070001" + digits(15),
            amount_fen=fen,
            account=str(payee.get("identity")),
            name=str(payee.get("name") or ""),
            status="SUCCESS",
            created_at=now,
        )
        state.transfers[out_biz_no] = transfer
        if state.alipay_balance_fen is not None:
            state.alipay_balance_fen -= fen
        return _transfer_answer(transfer)


def _transfer_answer(transfer: Transfer) -> dict:
    return ok(
        out_biz_no=transfer.out_biz_no,
        order_id=transfer.order_id,
        pay_fund_order_id=transfer.pay_fund_order_id,
        status=transfer.status,
        trans_date=_stamp(transfer.created_at),
    )


@handles("alipay.fund.trans.common.query")
def transfer_query(box, biz: dict, params: dict) -> dict:
    with box.state.lock:
        if biz.get("order_id"):
            transfer = next((t for t in box.state.transfers.values() if t.order_id == biz["order_id"]), None)
        else:
            if (biz.get("product_code"), biz.get("biz_scene")) != ("TRANS_ACCOUNT_NO_PWD", "DIRECT_TRANSFER"):
                return business_fail("INVALID_PARAMETER", "参数有误：传out_biz_no时product_code和biz_scene必填")
            transfer = box.state.transfers.get(biz.get("out_biz_no") or "")
        if transfer is None:
            return business_fail("ORDER_NOT_EXIST", "转账订单不存在")
        return ok(
            order_id=transfer.order_id,
            pay_fund_order_id=transfer.pay_fund_order_id,
            out_biz_no=transfer.out_biz_no,
            trans_amount=fen_to_yuan(transfer.amount_fen),
            status=transfer.status,
            pay_date=_stamp(transfer.created_at),
            arrival_time_end=_stamp(transfer.created_at),
            order_fee="0.00",
        )


def bill_archive(box, bill_date: str) -> bytes | None:
    return alipay_bill_zip(box, date.fromisoformat(bill_date))


@handles("alipay.data.dataservice.bill.downloadurl.query")
def bill_url(box, biz: dict, params: dict) -> dict:
    """A short-lived URL of the day's trade bill (the sandbox also serves today's, unlike Alipay)."""
    if biz.get("bill_type") != "trade":
        return business_fail("isv.invalid-bill-type", "账单类型不正确（沙箱只提供trade）")
    try:
        day = date.fromisoformat(biz.get("bill_date") or "")
    except ValueError:
        return business_fail("isv.invalid-bill-date", "账单时间不正确")
    if day > beijing_now().date():
        return business_fail("isv.invalid-bill-date", "账单时间不正确")
    if alipay_bill_zip(box, day) is None:
        return business_fail("isp.bill_not_exist", "账单不存在")
    token = secrets.token_urlsafe(24)
    with box.state.lock:
        box.state.bill_tokens[token] = (day.isoformat(), "trade", box.notifier.clock() + 30)
    url = request.host_url.rstrip("/") + url_for("sandbox_alipay.bill_download", token=token)
    return ok(bill_download_url=url)


@handles("alipay.system.oauth.token")
def oauth_token(box, biz: dict, params: dict) -> dict:
    """Any auth code → a stable user (derived from the code); a code containing "invalid" is refused."""
    if params.get("grant_type") != "authorization_code":
        return {
            "code": "40002",
            "msg": "Invalid Arguments",
            "sub_code": "isv.grant-type-invalid",
            "sub_msg": "grant_type无效",
        }
    code = params.get("code") or ""
    if not code or "invalid" in code:
        return {
            "code": "40002",
            "msg": "Invalid Arguments",
            "sub_code": "isv.code-invalid",
            "sub_msg": "授权码code无效",
        }
    digest = hashlib.sha256(code.encode("utf-8")).digest()
    open_digest = hashlib.sha256(b"open:" + code.encode("utf-8")).digest()
    return ok(
        user_id="2088" + str(int.from_bytes(digest[:8], "big"))[-12:].zfill(12),
        open_id="sbx" + base64.urlsafe_b64encode(open_digest).decode("ascii").rstrip("=")[:40],
        access_token="authusrB" + secrets.token_hex(16),
        expires_in=1296000,
        refresh_token="authusrB" + secrets.token_hex(16),
        re_expires_in=2592000,
        auth_start=_stamp(beijing_now()),
    )
