"""Simulated Alipay open-platform gateway (gateway.do): RSA2-verified requests, RSA2-signed JSON answers.

Answers have the shape the SDK parses: ``{"<method_with_underscores>_response":
{...}, "sign": "<RSA2 over exactly that object's text>"}``; the login method
answers failures as ``error_response``, like the real gateway.
"""

import json
from datetime import datetime, timedelta

from flask import Blueprint, Response, abort, current_app, redirect, render_template_string, request, url_for

from core.clock import BEIJING
from payments.providers.base import Channel, Gateway
from sandbox import alipay_methods
from sandbox.signing import alipay_sign_content, rsa2_sign, rsa2_valid

bp = Blueprint("sandbox_alipay", __name__, url_prefix="/alipay")

TIMESTAMP_TOLERANCE = timedelta(minutes=15)
_ERROR_PAGE = """<!doctype html><meta charset="utf-8"><title>支付宝（沙箱）</title>
<h1>支付宝（沙箱）无法处理该请求</h1><p>{{ sub_code }}：{{ sub_msg }}</p>"""


def _box():
    return current_app.extensions["sandbox"]


def signed_json(key: str, body: dict) -> Response:
    """The answer text and its signature over exactly the inner object's serialisation."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    sign = rsa2_sign(_box().settings.alipay_private_key, content)
    text = f'{{"{key}":{content},"sign":"{sign}"}}'
    return Response(text, 200, content_type="text/html;charset=utf-8")


def _common_error(code: str, msg: str, sub_code: str, sub_msg: str) -> dict:
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _authenticate(params: dict[str, str]) -> dict | None:
    """The gateway's own checks, before any business logic; None when the request may proceed."""
    settings = _box().settings
    if params.get("app_id") != settings.alipay_app_id:
        return _common_error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
    if not params.get("sign"):
        return _common_error("40001", "Missing Required Arguments", "isv.missing-signature", "缺少签名参数")
    if params.get("sign_type") != "RSA2":
        return _common_error("40002", "Invalid Arguments", "isv.invalid-signature-type", "无效的签名类型")
    if (params.get("charset") or "utf-8").lower() != "utf-8":
        return _common_error("40002", "Invalid Arguments", "isv.invalid-charset", "字符集错误")
    try:
        stamp = datetime.strptime(params.get("timestamp", ""), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return _common_error("40001", "Missing Required Arguments", "isv.missing-timestamp", "缺少时间戳参数")
    if abs(stamp - datetime.now(BEIJING)) > TIMESTAMP_TOLERANCE:  # the request's own clock: real time, never set back
        return _common_error("40002", "Invalid Arguments", "isv.invalid-timestamp", "非法的时间戳参数")
    content = alipay_sign_content(params)
    if not rsa2_valid(settings.app_public_key, content, params["sign"]):
        return _common_error(
            "40002",
            "Invalid Arguments",
            "isv.invalid-signature",
            f"验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}",
        )
    return None


@bp.route("/gateway.do", methods=["GET", "POST"])
def gateway():
    """Every open-platform method arrives here; page methods (wap.pay) come as a browser GET."""
    params = {**request.args.to_dict(), **request.form.to_dict()}
    box = _box()
    method = params.get("method", "")
    box.state.record(Gateway.ALIPAY, request.path, request.method, {k: v for k, v in params.items() if k != "sign"})
    box.slow_down()
    key = method.replace(".", "_") + "_response" if method else "error_response"
    if not method:
        return signed_json(
            key, _common_error("40001", "Missing Required Arguments", "isv.missing-method", "缺少方法名参数")
        )
    problem = _authenticate(params)
    if problem is None and method not in alipay_methods.HANDLERS and method != "alipay.trade.wap.pay":
        problem = _common_error("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
    biz: dict = {}
    if problem is None and params.get("biz_content"):
        try:
            biz = json.loads(params["biz_content"])
        except ValueError:
            problem = _common_error("40002", "Invalid Arguments", "isv.invalid-biz-content", "biz_content格式错误")
    if method == "alipay.trade.wap.pay":
        return _wap_pay_page(problem, biz, params)
    if problem is not None:
        return signed_json("error_response" if method == "alipay.system.oauth.token" else key, problem)
    body = alipay_methods.HANDLERS[method](box, biz, params)
    if method == "alipay.system.oauth.token":
        if body.get("code") == "10000":
            body = {name: value for name, value in body.items() if name not in ("code", "msg")}
        else:
            key = "error_response"  # the login method answers failures like this, success with no code
    return signed_json(key, body)


def _wap_pay_page(problem: dict | None, biz: dict, params: dict[str, str]):
    """A browser opened the wap.pay URL: register the trade and show the cashier, or an error page."""
    if problem is None:
        problem = alipay_methods.open_wap_trade(_box(), biz, params)
    if problem is not None:
        return render_template_string(_ERROR_PAGE, **problem), 400
    return redirect(url_for("sandbox_cashier.cashier", out_trade_no=biz["out_trade_no"], channel=Channel.ALIPAY_WAP))


@bp.get("/bill/download")
def bill_download():
    """The archive behind bill_download_url (valid for 30 seconds, like Alipay's)."""
    box = _box()
    with box.state.lock:
        entry = box.state.bill_tokens.get(request.args.get("token", ""))
    if entry is None or entry[2] < box.notifier.clock():
        abort(404)
    content = alipay_methods.bill_archive(box, entry[0])
    if content is None:
        abort(404)
    name = f"{box.settings.alipay_seller_id}{entry[0].replace('-', '')}.csv.zip"
    return Response(
        content,
        200,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
