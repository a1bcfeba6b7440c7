"""Request ids, JSON logs without personal data, /metrics and its protection, /readyz naming what fails."""

import io
import json
import logging
import re

import pytest
import sqlalchemy as sa

from core.extensions import db as _db
from core.logs import PersonalDataFilter, RequestIdFilter, json_formatter, mask_personal_data
from core.metrics import reset_database_cache
from payments.applying import store_gateway_message
from tests.orders import ADDRESS, pay, place


@pytest.fixture
def log_lines():
    """Everything logged (INFO and up) through the app's JSON formatter and filters, as parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(PersonalDataFilter())
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_every_response_carries_a_request_id(client):
    sent = client.get("/healthz", headers={"X-Request-ID": "mini-7f3a.42"})
    assert sent.headers["X-Request-ID"] == "mini-7f3a.42"  # the caller's
    made = client.get("/api/v1/products/999999")
    assert made.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])  # a new one, on errors too
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["X-Request-ID"])  # not echoed into logs and headers
    assert client.get("/nowhere").headers["X-Request-ID"]


def test_log_lines_of_a_request_carry_its_id(client, log_lines):
    # The sandbox is unreachable in tests (port 9): the WeChat login logs a warning and answers 502.
    response = client.post("/api/v1/auth/wechat-login", json={"code": "abc"}, headers={"X-Request-ID": "req-login-1"})
    assert response.status_code == 502
    lines = [line for line in log_lines() if line["logger"] == "core.services"]
    assert lines and all(line["request_id"] == "req-login-1" for line in lines)
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])


def test_tasks_a_request_enqueues_log_under_its_id(client, ledger_shop, log_lines):
    """The refund task of an approved after-sales request (gateway unreachable) logs with the approving request's id."""
    from tests.ledger_helpers import paid_order

    order = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)], channel="alipay_wap")
    asked = client.post(
        "/api/v1/refunds",
        headers=ledger_shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "坏了"},
    )
    client.post(
        f"/api/v1/refunds/{asked.json['id']}/decision",
        headers={**ledger_shop["platform"], "X-Request-ID": "req-approve-9"},
        json={"decision": "approve"},
    )
    task_lines = [line for line in log_lines() if line["logger"] == "payments.refunds"]
    assert task_lines and {line["request_id"] for line in task_lines} == {"req-approve-9"}


def test_no_personal_data_reaches_the_logs(client, shop, log_lines):
    buyer = shop["buyer"]
    order = place(client, shop, [(shop["peach_5"], 1)]).json
    pay(order["id"])
    client.get(f"/api/v1/orders/{order['id']}/shipping-label", headers=shop["peach_manager"])
    client.post("/api/v1/auth/wechat-login", json={"code": "13812345678"})
    logging.getLogger("tests").warning("a careless line with %s", "13812345678 and 430225199001011234")
    text = json.dumps(log_lines(), ensure_ascii=False)
    for personal in (ADDRESS["phone"], ADDRESS["name"], ADDRESS["detail"], buyer.wechat_openid, "430225199001011234"):
        assert personal not in text
    assert "138****5678" in text  # the careless line, masked


def test_masking_leaves_ids_and_trade_numbers_alone():
    assert mask_personal_data("tel 13812345678.") == "tel 138****5678."
    assert mask_personal_data("RF20260101000000012313812345678ab") == "RF20260101000000012313812345678ab"
    assert mask_personal_data("order 1234 paid 6800 fen") == "order 1234 paid 6800 fen"


def _metrics(client, **kwargs) -> str:
    reset_database_cache()
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


def _value(text: str, name: str, **labels) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_show_requests_orders_payments_tasks_notifications_and_the_ledger(client, ledger_shop):
    from tests.ledger_helpers import paid_order

    before = _metrics(client)
    paid = paid_order(client, ledger_shop, [(ledger_shop["peach_5"], 1)])
    place(client, ledger_shop, [(ledger_shop["garlic"], 1)])
    client.get("/api/v1/orders/999999", headers=ledger_shop["buyer_header"])
    store_gateway_message("wechat_jsapi", "notification", "X1", "<xml/>", True, "duplicate")
    store_gateway_message("alipay_wap", "notification", "X2", {"a": "b"}, False, "rejected: bad signature")
    _db.session.commit()
    text = _metrics(client)
    route = "/api/v1/orders/<int:order_id>"
    assert _value(text, "zz_http_requests_total", endpoint=route, status="404") == 1 + (
        _value(before, "zz_http_requests_total", endpoint=route, status="404") or 0
    )
    assert _value(text, "zz_http_requests_total", endpoint="/api/v1/orders", status="201") >= 2
    assert _value(text, "zz_http_request_duration_seconds_count", endpoint="/api/v1/orders") >= 2
    assert _value(text, "zz_orders", status="paid") == 1
    assert _value(text, "zz_orders", status="pending_payment") == 1
    assert _value(text, "zz_payments", channel="wechat_jsapi", status="paid") == 1
    assert _value(text, "zz_gateway_messages_total", channel="wechat_jsapi", verdict="duplicate") >= 1
    assert _value(text, "zz_gateway_messages_total", channel="alipay_wap", verdict="unverified") >= 1
    assert _value(text, "zz_task_runs_total", task="orders.notify_sellers", outcome="success") >= 1
    assert _value(text, "zz_task_duration_seconds_count", task="orders.notify_sellers") >= 1
    assert _value(text, "zz_ledger_verification", figure="ok") == 1
    assert _value(text, "zz_ledger_verification", figure="problems") == 0
    assert paid["id"]


def test_metrics_answer_only_loopback_clients_without_a_token(client):
    assert client.get("/metrics").status_code == 200
    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "forbidden"


def test_metrics_need_the_token_when_one_is_set(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret")
    assert client.get("/metrics").status_code == 401  # loopback is not enough any more
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    remote = client.get(
        "/metrics", headers={"Authorization": "Bearer scrape-secret"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert remote.status_code == 200


def test_readiness_names_the_part_that_fails(app, client, monkeypatch):
    assert client.get("/readyz").json == {"status": "ok"}
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")
    failing = client.get("/readyz")
    assert failing.status_code == 503
    assert failing.json["error"]["code"] == "not_ready"
    assert "redis" in failing.json["error"]["message"]
    assert failing.json["error"]["details"]["database"] == "ok"
    assert failing.json["error"]["details"]["redis"] != "ok"
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.extensions, "celery_enabled", True)
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:9//")
    broker = client.get("/readyz")
    assert broker.status_code == 503 and list(broker.json["error"]["details"]) == ["database", "broker"]
    assert broker.json["error"]["details"]["broker"] != "ok"


def test_readiness_checks_a_reachable_redis_and_broker(app, client, monkeypatch):
    import os

    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set (CI sets it)")
    monkeypatch.setitem(app.config, "REDIS_URL", url)
    monkeypatch.setitem(app.extensions, "celery_enabled", True)
    assert client.get("/readyz").json == {"status": "ok"}
    assert _db.session.scalar(sa.text("SELECT 1")) == 1
