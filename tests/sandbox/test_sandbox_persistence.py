"""The simulator keeps what it saw in its state file: a restart loses no trade, refund, transfer or notification."""

import json
import time
from contextlib import contextmanager

import pytest
import requests

import sandbox.cli
from core.clock import beijing_now
from payments.providers import get_alipay, get_provider
from sandbox import create_sandbox_app
from sandbox.persistence import StateFileError
from tests.fakes import serve
from tests.payments_fixtures import payment_request, settings_for


@contextmanager
def running(state_file):
    """A simulator loaded from ``state_file``, served on loopback; yields (sandbox, provider settings)."""
    app = create_sandbox_app({"SANDBOX_TIME_FACTOR": 0.001}, state_file=state_file)
    box = app.extensions["sandbox"]
    with serve(app) as base_url:
        box.base_url = base_url
        yield box, settings_for(base_url)
    box.notifier.stop()


def test_a_restart_keeps_trades_refunds_transfers_and_balances(tmp_path):
    state_file = tmp_path / "sandbox-state.json"
    with running(state_file) as (box, config):
        wechat = get_provider("wechat_jsapi", config)
        wechat.create(payment_request("KEEP_WX", "wechat_jsapi", config))
        get_provider("alipay_mini", config).create(payment_request("KEEP_AM", "alipay_mini", config))
        get_provider("wechat_jsapi", config).create(payment_request("KEEP_OPEN", "wechat_jsapi", config))
        paid = box.pay("KEEP_WX")
        box.pay("KEEP_AM", "alipay_mini")
        wechat.refund("KEEP_WX", "KEEP_RF", 1230, 230, "售后退款")
        transfer = get_alipay(config).transfer("KEEP_PO", "13800000000", "张三", 500, "结算")
        requests.post(box.base_url + "sandbox/balances", json={"alipay_balance_fen": 9000}, timeout=5)
        bill_before = get_provider("wechat_jsapi", config).download_bill(beijing_now().date())
        pending = len(box.notifier.pending())
    assert pending == 2  # nobody acknowledged the payment notifications (the notify URL is dead)
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert {t["out_trade_no"] for t in saved["wechat_trades"]} == {"KEEP_WX", "KEEP_OPEN"}
    assert list(tmp_path.iterdir()) == [state_file]  # written atomically: no temporary file left behind

    with running(state_file) as (box, config):
        trade = get_provider("wechat_jsapi", config).query("KEEP_WX")
        assert (trade.status, trade.transaction_id, trade.amount_fen) == ("refunded", paid["transaction_id"], 1230)
        assert get_provider("alipay_mini", config).query("KEEP_AM").status == "paid"
        assert get_provider("wechat_jsapi", config).query("KEEP_OPEN").status == "pending"
        refund = get_provider("wechat_jsapi", config).query_refund("KEEP_WX", "KEEP_RF")
        assert (refund.status, refund.amount_fen) == ("success", 230)
        again = get_alipay(config).query_transfer("KEEP_PO")
        assert (again.status, again.order_id) == ("success", transfer.order_id)
        assert box.state.alipay_balance_fen == 9000
        assert get_provider("wechat_jsapi", config).download_bill(beijing_now().date()) == bill_before
        assert len(box.notifier.pending()) == 2  # the queue survived: still owed to the notify URL
        box.notifier.run_until_settled()
        assert all(len(d.attempts) > 1 for d in box.notifier.deliveries if d.kind == "payment")


def test_a_trade_opened_before_a_restart_can_be_paid_after_it(tmp_path):
    state_file = tmp_path / "state.json"
    with running(state_file) as (_, config):
        params = get_provider("wechat_jsapi", config).create(payment_request("LATER_WX", "wechat_jsapi", config))
    with running(state_file) as (box, _):
        answer = requests.post(
            box.base_url + "sandbox/pay",
            json={"out_trade_no": "LATER_WX", "channel": "wechat_jsapi", "request_payment": params},
            timeout=5,
        )
        assert answer.status_code == 200 and answer.json()["status"] == "paid"
    with running(state_file) as (box, config):
        assert get_provider("wechat_jsapi", config).query("LATER_WX").status == "paid"


def test_without_a_state_file_nothing_is_written(tmp_path, sandbox):
    get_provider("wechat_jsapi", settings_for(sandbox.base_url)).create(
        payment_request("MEM_WX", "wechat_jsapi", settings_for(sandbox.base_url))
    )
    assert sandbox.state_file is None and "MEM_WX" in sandbox.state.wechat_trades


def test_an_unreadable_state_file_is_refused_not_overwritten(tmp_path, app, monkeypatch):
    state_file = tmp_path / "broken.json"
    state_file.write_text('{"format": 1, "wechat_trades": [{"nonsense": true}]}', encoding="utf-8")
    with pytest.raises(StateFileError):
        create_sandbox_app({}, state_file=state_file)
    monkeypatch.setattr(sandbox.cli, "run_simple", lambda *args, **kwargs: None)
    result = app.test_cli_runner().invoke(args=["sandbox", "serve", "--state-file", str(state_file)])
    assert result.exit_code != 0 and "--in-memory" in result.output
    assert "nonsense" in state_file.read_text(encoding="utf-8")


def test_serve_loads_the_state_file_it_is_given(tmp_path, app, monkeypatch):
    state_file = tmp_path / "served.json"
    with running(state_file) as (_, config):
        get_provider("wechat_jsapi", config).create(payment_request("SERVED_WX", "wechat_jsapi", config))
    calls = []
    monkeypatch.setattr(sandbox.cli, "run_simple", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setenv("SANDBOX_STATE_FILE", str(state_file))
    result = app.test_cli_runner().invoke(args=["sandbox", "serve", "--port", "5099"])
    assert result.exit_code == 0, result.output
    assert f"state in {state_file} (1 trades" in result.output
    assert "SERVED_WX" in calls[0][2].extensions["sandbox"].state.wechat_trades


def test_latency_hook_slows_the_payment_gateways(sandbox):
    config = settings_for(sandbox.base_url)
    assert requests.post(sandbox.base_url + "sandbox/latency", json={"seconds": 31}, timeout=5).status_code == 400
    assert requests.post(sandbox.base_url + "sandbox/latency", json={"seconds": "x"}, timeout=5).status_code == 400
    assert requests.post(sandbox.base_url + "sandbox/latency", json={"seconds": 0.5}, timeout=5).json() == {
        "seconds": 0.5
    }
    started = time.monotonic()
    get_provider("wechat_jsapi", config).query("NOT_THERE")
    assert time.monotonic() - started >= 0.5
