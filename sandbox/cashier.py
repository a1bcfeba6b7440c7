"""The sandbox cashier (a page a demo buyer clicks) and the JSON hooks tests and scripts drive."""

from flask import Blueprint, current_app, jsonify, render_template_string, request

from payments.money import fen_to_yuan
from payments.providers.base import Channel
from sandbox.state import SandboxError, WeChatTrade

bp = Blueprint("sandbox_cashier", __name__)

_PAGE = """<!doctype html>
<html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>沙箱收银台</title>
<style>body{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}
.amount{font-size:2rem;margin:.5rem 0}button{font-size:1.1rem;padding:.6rem 2rem}.note{color:#888}</style>
<h1>{{ gateway }}（沙箱收银台）</h1>
<p class="note">SANDBOX：不会产生真实扣款。</p>
{% if trade %}
  <p>{{ subject }}</p><p class="amount">¥{{ amount }}</p>
  <p>商户订单号：{{ trade.out_trade_no }}<br>状态：{{ status }}</p>
  {% if payable %}
  <form method="post" action="{{ url_for('sandbox_cashier.cashier_pay', out_trade_no=trade.out_trade_no) }}">
    <input type="hidden" name="channel" value="{{ channel }}"><button type="submit">确认支付</button>
  </form>
  {% endif %}
{% endif %}
{% if message %}<p><strong>{{ message }}</strong></p>{% endif %}
</html>"""


def _box():
    return current_app.extensions["sandbox"]


@bp.errorhandler(SandboxError)
def sandbox_error(error: SandboxError):
    if request.path.startswith("/cashier/"):
        return render_template_string(_PAGE, gateway="收银台", trade=None, message=error.message), error.status
    return jsonify(error={"code": "sandbox_refused", "message": error.message}), error.status


def _render(out_trade_no: str, channel: str | None, message: str = "", status: int = 200):
    trade = _box()._locate(out_trade_no, channel)
    if isinstance(trade, WeChatTrade):
        values = {
            "gateway": "微信支付 API v3" if trade.api_version == "v3" else "微信支付",
            "subject": trade.body,
            "amount": fen_to_yuan(trade.total_fee),
            "status": trade.state,
            "payable": trade.state == "NOTPAY",
            "channel": Channel.WECHAT_JSAPI,
        }
    else:
        values = {
            "gateway": "支付宝",
            "subject": trade.subject,
            "amount": fen_to_yuan(trade.total_fen),
            "status": trade.status,
            "payable": trade.status == "WAIT_BUYER_PAY",
            "channel": trade.channel,
        }
    return render_template_string(_PAGE, trade=trade, message=message, **values), status


@bp.get("/cashier/<out_trade_no>")
def cashier(out_trade_no: str):
    """The cashier page of one trade."""
    return _render(out_trade_no, request.args.get("channel"))


@bp.post("/cashier/<out_trade_no>/pay")
def cashier_pay(out_trade_no: str):
    """The buyer pressed 确认支付."""
    channel = request.form.get("channel") or None
    _box().pay(out_trade_no, channel)
    return _render(out_trade_no, channel, message="支付成功，商户将收到支付结果通知。")


@bp.post("/sandbox/pay")
def api_pay():
    """{"out_trade_no", "channel"?, "ignore_expiry"?, "request_payment"?} → the trade paid."""
    body = request.get_json(silent=True) or {}
    if not body.get("out_trade_no"):
        raise SandboxError(400, "缺少 out_trade_no")
    result = _box().pay(
        str(body["out_trade_no"]),
        body.get("channel"),
        ignore_expiry=bool(body.get("ignore_expiry")),
        request_payment=body.get("request_payment"),
    )
    return jsonify(result)


@bp.post("/sandbox/request-payment")
def api_request_payment():
    """The wx.requestPayment parameters, exactly as a mini-program passes them → the trade paid (as the buyer would)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body.get("package"):
        raise SandboxError(400, "缺少 wx.requestPayment 参数（package）")
    return jsonify(_box().pay_requested({key: str(value) for key, value in body.items()}))


@bp.get("/sandbox/notifications")
def list_notifications():
    return jsonify(items=[d.as_dict() for d in _box().notifier.deliveries])


@bp.post("/sandbox/notifications/flush")
def flush_notifications():
    """{"until": epoch seconds} sends what is due by then; {"all": true} plays the whole schedule out."""
    body = request.get_json(silent=True) or {}
    box = _box()
    if body.get("all"):
        box.notifier.run_until_settled()
    else:
        box.deliver_due(body.get("until"))
    return jsonify(items=[d.as_dict() for d in box.notifier.deliveries])


@bp.post("/sandbox/notifications/send")
def send_notification():
    """{"out_trade_no", "kind", "channel"?}: duplicate|forged|tampered_amount|wrong_amount|wrong_appid.

    A WeChat Pay v3 trade: duplicate|forged|unknown_serial|stale_timestamp|tampered_ciphertext|wrong_amount|wrong_appid.
    """
    body = request.get_json(silent=True) or {}
    if not body.get("out_trade_no") or not body.get("kind"):
        raise SandboxError(400, "缺少 out_trade_no 或 kind")
    delivery = _box().send_variant(str(body["out_trade_no"]), str(body["kind"]), body.get("channel"))
    return jsonify(delivery.as_dict())


@bp.post("/sandbox/balances")
def set_balances():
    """{"wechat_balance_fen", "alipay_balance_fen"} (null: unlimited) to make refunds / transfers run dry."""
    body = request.get_json(silent=True) or {}
    state = _box().state
    with state.lock:
        for name in ("wechat_balance_fen", "alipay_balance_fen"):
            if name in body:
                setattr(state, name, None if body[name] is None else int(body[name]))
        return jsonify(wechat_balance_fen=state.wechat_balance_fen, alipay_balance_fen=state.alipay_balance_fen)


@bp.post("/sandbox/latency")
def set_latency():
    """{"seconds"} (0–30): every WeChat Pay and Alipay call waits this long before answering (a slow gateway)."""
    body = request.get_json(silent=True) or {}
    try:
        seconds = float(body.get("seconds", 0))
    except (TypeError, ValueError):
        raise SandboxError(400, "seconds 必须是 0 到 30 之间的数字") from None
    if not 0 <= seconds <= 30:
        raise SandboxError(400, "seconds 必须是 0 到 30 之间的数字")
    state = _box().state
    with state.lock:
        state.latency_seconds = seconds
    return jsonify(seconds=seconds)


@bp.post("/sandbox/wechat-refund-outcome")
def set_wechat_refund_outcome():
    """{"outcome": "SUCCESS"|"ABNORMAL"|"CLOSED"}: how later WeChat Pay v3 refunds end (and are notified)."""
    outcome = str((request.get_json(silent=True) or {}).get("outcome", ""))
    if outcome not in ("SUCCESS", "ABNORMAL", "CLOSED"):
        raise SandboxError(400, "outcome 须为 SUCCESS、ABNORMAL 或 CLOSED")
    state = _box().state
    with state.lock:
        state.wechat_refund_outcome = outcome
    return jsonify(outcome=outcome)


@bp.get("/sandbox/requests")
def list_requests():
    """Every call the simulated gateways received (optionally ?service=wechat_pay|wechat_pay_v3|alipay|wechat_api)."""
    rows = _box().recorded(request.args.get("service"))
    return jsonify(
        items=[{"service": r.service, "path": r.path, "method": r.method, "at": r.at.isoformat()} for r in rows]
    )
