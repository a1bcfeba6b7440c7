"""The cashier, the JSON test hooks, the notifier thread and the `flask sandbox serve` command."""

import threading
from datetime import timedelta

import pytest
import requests
from flask import Flask

import sandbox.cli
from core.clock import beijing_now
from payments.providers import get_provider
from sandbox.notifier import Notifier
from tests.fakes import serve
from tests.payments_fixtures import payment_request


@pytest.fixture
def opened(sandbox, gateways):
    """A WeChat (API v2) and an Alipay mini trade, opened by the providers, not yet paid."""
    config, receiver = gateways
    config["WECHAT_PAY_VERSION"] = "v2"  # the v3 trades' hooks are in tests/payments/test_payments_wechat.py
    get_provider("wechat_jsapi", config).create(payment_request("HK_WX", "wechat_jsapi", config))
    get_provider("alipay_mini", config).create(payment_request("HK_AM", "alipay_mini", config))
    return config, receiver


def test_cashier_page_shows_the_trade_and_pays_it(sandbox, opened):
    page = requests.get(sandbox.base_url + "cashier/HK_WX", timeout=5)
    assert page.status_code == 200 and "¥12.30" in page.text and "确认支付" in page.text
    paid = requests.post(sandbox.base_url + "cashier/HK_WX/pay", data={"channel": "wechat_jsapi"}, timeout=5)
    assert "支付成功" in paid.text and "确认支付" not in paid.text
    assert sandbox.state.wechat_trades["HK_WX"].state == "SUCCESS"
    assert requests.get(sandbox.base_url + "cashier/NOPE", timeout=5).status_code == 404


def test_pay_hook_pays_once_and_refuses_the_unknown(sandbox, opened):
    url = sandbox.base_url + "sandbox/pay"
    first = requests.post(url, json={"out_trade_no": "HK_AM", "channel": "alipay_mini"}, timeout=5)
    assert first.status_code == 200 and first.json()["status"] == "paid" and first.json()["transaction_id"]
    again = requests.post(url, json={"out_trade_no": "HK_AM", "channel": "alipay_mini"}, timeout=5)
    assert again.status_code == 409 and again.json()["error"]["code"] == "sandbox_refused"
    assert requests.post(url, json={"out_trade_no": "NOPE"}, timeout=5).status_code == 404
    assert requests.post(url, json={}, timeout=5).status_code == 400


def test_pay_hook_checks_the_request_payment_signature(sandbox, opened):
    forged = {"timeStamp": "1", "nonceStr": "n", "package": "prepay_id=x", "signType": "MD5", "paySign": "X"}
    answer = requests.post(
        sandbox.base_url + "sandbox/pay",
        json={"out_trade_no": "HK_WX", "channel": "wechat_jsapi", "request_payment": forged},
        timeout=5,
    )
    assert answer.status_code == 400


def test_an_expired_trade_cannot_be_paid_unless_the_test_insists(sandbox, opened):
    sandbox.state.wechat_trades["HK_WX"].time_expire = beijing_now() - timedelta(seconds=1)
    url = sandbox.base_url + "sandbox/pay"
    assert requests.post(url, json={"out_trade_no": "HK_WX"}, timeout=5).status_code == 409
    late = requests.post(url, json={"out_trade_no": "HK_WX", "ignore_expiry": True}, timeout=5)
    assert late.status_code == 200


def test_flush_and_send_hooks_deliver_notifications(sandbox, opened):
    _, receiver = opened
    sandbox.pay("HK_WX")
    sandbox.pay("HK_AM")
    flushed = requests.post(sandbox.base_url + "sandbox/notifications/flush", json={}, timeout=5).json()
    assert [item["acked"] for item in flushed["items"]] == [True, True]
    sent = requests.post(
        sandbox.base_url + "sandbox/notifications/send",
        json={"out_trade_no": "HK_AM", "kind": "forged"},
        timeout=5,
    ).json()
    assert sent["kind"] == "forged" and not sent["acked"] and sent["attempts"][0]["status"] == 400
    bad_kind = requests.post(
        sandbox.base_url + "sandbox/notifications/send",
        json={"out_trade_no": "HK_AM", "kind": "x"},
        timeout=5,
    )
    assert bad_kind.status_code == 400
    assert [v.valid for v in receiver.verdicts] == [True, True, False]
    listed = requests.get(sandbox.base_url + "sandbox/notifications", timeout=5).json()["items"]
    assert len(listed) == 3


def test_flush_all_plays_the_schedule_out(sandbox, opened):
    _, receiver = opened
    receiver.refuse_first = 2
    sandbox.pay("HK_WX")
    items = requests.post(sandbox.base_url + "sandbox/notifications/flush", json={"all": True}, timeout=5).json()
    assert items["items"][0]["acked"] and len(items["items"][0]["attempts"]) == 3


def test_variants_need_a_paid_trade(sandbox, opened):
    answer = requests.post(
        sandbox.base_url + "sandbox/notifications/send",
        json={"out_trade_no": "HK_WX", "kind": "duplicate"},
        timeout=5,
    )
    assert answer.status_code == 409


def test_requests_and_balances_hooks(sandbox, opened):
    rows = requests.get(sandbox.base_url + "sandbox/requests?service=alipay", timeout=5).json()["items"]
    assert [row["path"] for row in rows] == ["/alipay/gateway.do"]
    balances = requests.post(sandbox.base_url + "sandbox/balances", json={"wechat_balance_fen": 0}, timeout=5)
    assert balances.json() == {"wechat_balance_fen": 0, "alipay_balance_fen": None}


def test_an_unreachable_notify_url_is_retried(sandbox):
    notifier = sandbox.notifier
    delivery = notifier.enqueue("alipay", "payment", "X", "http://127.0.0.1:9/notify", b"a=1", "text/plain", now=0)
    notifier.deliver_due(0)
    assert delivery.attempts[0].status is None and delivery.next_at == pytest.approx(240 * notifier.time_factor)


def test_the_dispatcher_thread_delivers_in_the_background():
    got = threading.Event()
    app = Flask("listener")

    @app.post("/notify")
    def notify():
        got.set()
        return "success"

    notifier = Notifier(time_factor=0.001)
    with serve(app) as base:
        notifier.start()
        try:
            delivery = notifier.enqueue("alipay", "payment", "X", base + "notify", b"a=1", "text/plain")
            assert got.wait(timeout=10)
            for _ in range(500):
                if delivery.acked:
                    break
                threading.Event().wait(0.01)
            assert delivery.acked
        finally:
            notifier.stop()


def test_serve_command_runs_a_threaded_simulator_with_the_app_settings(app, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setenv("SANDBOX_STATE_FILE", str(tmp_path / "sandbox-state.json"))
    monkeypatch.setattr(sandbox.cli, "run_simple", lambda *args, **kwargs: calls.append((args, kwargs)))
    result = app.test_cli_runner().invoke(args=["sandbox", "serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    ((host, port, simulator), kwargs) = calls[0]
    assert (host, port, kwargs["threaded"]) == ("127.0.0.1", 5099, True)
    assert simulator.extensions["sandbox"].settings.wechat_appid == app.config["WECHAT_APPID"]
    assert kwargs["request_handler"] is sandbox.cli.PathOnlyRequestHandler


def test_serve_command_refuses_production(app, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    result = app.test_cli_runner().invoke(args=["sandbox", "serve"])
    assert result.exit_code != 0 and "production" in result.output


def test_request_payment_hook_pays_the_prepay_its_params_name_and_checks_them(sandbox, gateways):
    """What the WeChat client does for wx.requestPayment: the params alone (v3, signed by the merchant)."""
    config, _ = gateways
    params = get_provider("wechat_jsapi", config).create(payment_request("HK_RP", "wechat_jsapi", config))
    url = sandbox.base_url + "sandbox/request-payment"
    forged = {**params, "paySign": "AAAA"}
    assert requests.post(url, json=forged, timeout=5).status_code == 400
    assert sandbox.state.wechat_trades["HK_RP"].state == "NOTPAY"
    unknown = requests.post(url, json={**params, "package": "prepay_id=nope"}, timeout=5)
    assert unknown.status_code == 404
    assert requests.post(url, json={}, timeout=5).status_code == 400
    paid = requests.post(url, json=params, timeout=5)
    assert paid.status_code == 200, paid.text
    assert paid.json()["out_trade_no"] == "HK_RP" and paid.json()["status"] == "paid"
    assert sandbox.state.wechat_trades["HK_RP"].state == "SUCCESS"
    assert requests.post(url, json=params, timeout=5).status_code == 409  # never twice
