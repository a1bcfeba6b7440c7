"""The simulated WeChat platform API through the app's own wechatpy client (core.wechat)."""

import io
from datetime import UTC, datetime

import pytest
import qrcode
import requests
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from core.wechat import PinnedWeChatClient
from payments.providers import get_provider
from sandbox.wechat_api import sandbox_openid
from tests.payments_fixtures import payment_request


@pytest.fixture
def client(sandbox, gateways):
    config, _ = gateways
    return PinnedWeChatClient(
        config["WECHAT_APPID"],
        config["WECHAT_SECRET"],
        config["WECHAT_API_BASE_URL"],
        session=MemoryStorage(),
    )


def _post(client: PinnedWeChatClient, path: str, data: dict) -> dict:
    """An authenticated POST to an API wechatpy has no wrapper for (access token added by wechatpy)."""
    return client.post(path, data=data, api_base_url=client.base_url)


@pytest.fixture
def paid_trade(sandbox, gateways):
    """A WeChat Pay trade paid by sbx_buyer_openid: its transaction id."""
    config, _ = gateways
    get_provider("wechat_jsapi", config).create(payment_request("SHIP_1", "wechat_jsapi", config))
    return sandbox.pay("SHIP_1", "wechat_jsapi")["transaction_id"]


def test_the_apps_wechat_login_works_against_the_sandbox(app, client_app, sandbox, monkeypatch):
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", sandbox.base_url + "wechat-api/")
    response = client_app.post("/api/v1/auth/wechat-login", json={"code": "demo-buyer"})
    assert response.status_code == 200
    assert client_app.post("/api/v1/auth/wechat-login", json={"code": "invalid"}).status_code == 401
    paths = [r.path for r in sandbox.recorded("wechat_api")]
    assert "/wechat-api/cgi-bin/token" in paths and "/wechat-api/sns/jscode2session" in paths


@pytest.fixture
def client_app(app, db):
    return app.test_client()


def test_code2session_gives_a_stable_openid_per_code(client):
    first = client.wxa.code_to_session("code-1")
    assert first["openid"] == sandbox_openid("code-1") == client.wxa.code_to_session("code-1")["openid"]
    assert first["openid"].startswith("sbx_") and len(first["openid"]) == 28
    assert client.wxa.code_to_session("code-2")["openid"] != first["openid"]
    with pytest.raises(WeChatClientException) as refused:
        client.wxa.code_to_session("invalid")
    assert refused.value.errcode == 40029


def test_access_tokens_need_the_right_secret(sandbox):
    url = sandbox.base_url + "wechat-api/cgi-bin/token"
    wrong = requests.get(url, params={"grant_type": "client_credential", "appid": "wx", "secret": "x"}, timeout=5)
    assert wrong.json()["errcode"] == 40013
    unsigned = requests.post(sandbox.base_url + "wechat-api/wxa/msg_sec_check?access_token=nope", json={}, timeout=5)
    assert unsigned.json()["errcode"] == 40001


def test_unlimited_code_is_a_png_qr_of_page_and_scene(client):
    response = client.wxa.get_wxa_code_unlimited("42", page="pages/station/index")
    expected = io.BytesIO()
    qrcode.make("pages/station/index?scene=42").save(expected, format="PNG")
    assert response.content.startswith(b"\x89PNG") and response.content == expected.getvalue()
    with pytest.raises(WeChatClientException) as refused:
        client.wxa.get_wxa_code_unlimited("x" * 33)
    assert refused.value.errcode == 40169


def test_message_security_check_version_2(client):
    clean = _post(client, "wxa/msg_sec_check", {"content": "新鲜黄桃", "version": 2, "scene": 1, "openid": "o"})
    assert clean["result"] == {"suggest": "pass", "label": 100} and clean["trace_id"]
    risky = _post(client, "wxa/msg_sec_check", {"content": "代开发票", "version": 2, "scene": 1, "openid": "o"})
    assert risky["result"] == {"suggest": "risky", "label": 10001}
    assert risky["detail"][0]["keyword"] == "代开发票"
    with pytest.raises(WeChatClientException):
        _post(client, "wxa/msg_sec_check", {"content": "x", "version": 2})  # openid and scene missing


def test_message_security_check_version_1(client):
    assert client.wxa.check_text_security("新鲜黄桃")["errcode"] == 0
    with pytest.raises(WeChatClientException) as refused:
        client.wxa.check_text_security("赌博")
    assert refused.value.errcode == 87014


def test_subscribe_messages_are_recorded(sandbox, client):
    data = {"thing1": {"value": "订单已发货"}}
    answer = client.wxa.send_subscribe_message("sbx_buyer", "TPL_SHIPPED", data, page="pages/order/index")
    assert answer["errcode"] == 0 and answer["msgid"] == 1
    assert sandbox.state.subscribe_messages[0]["touser"] == "sbx_buyer"
    with pytest.raises(WeChatClientException) as refused:
        client.wxa.send_subscribe_message("refused_buyer", "TPL_SHIPPED", data)
    assert refused.value.errcode == 43101
    with pytest.raises(WeChatClientException):
        client.wxa.send_subscribe_message("sbx_buyer", "TPL_SHIPPED", {"thing1": "no value"})


def _shipping(transaction_id: str, **overrides) -> dict:
    return {
        "order_key": {"order_number_type": 2, "transaction_id": transaction_id},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"tracking_no": "SF1234567890", "express_company": "SF", "item_desc": "炎陵黄桃 5斤装"}],
        "upload_time": datetime.now(UTC).isoformat(timespec="seconds"),
        "payer": {"openid": "sbx_buyer_openid"},
        **overrides,
    }


def test_shipping_info_is_validated_and_recorded(sandbox, client, paid_trade):
    assert _post(client, "wxa/sec/order/upload_shipping_info", _shipping(paid_trade))["errcode"] == 0
    (recorded,) = sandbox.state.shipping_uploads
    assert recorded["shipping_list"][0]["tracking_no"] == "SF1234567890"
    order_key = {"order_number_type": 1, "mchid": "9999000001", "out_trade_no": "SHIP_1"}
    by_out_trade_no = _shipping(paid_trade, order_key=order_key)
    assert _post(client, "wxa/sec/order/upload_shipping_info", by_out_trade_no)["errcode"] == 0
    with pytest.raises(WeChatClientException) as third:
        _post(client, "wxa/sec/order/upload_shipping_info", _shipping(paid_trade))
    assert third.value.errcode == 10060003


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"order_key": {"order_number_type": 2, "transaction_id": "4200000000"}}, 10060001),
        ({"payer": {"openid": "someone_else"}}, 10060001),
        ({"logistics_type": 9}, 47001),
        ({"upload_time": "2026-01-01 10:00:00"}, 47001),
        ({"shipping_list": [{"item_desc": "桃"}]}, 47001),  # express needs a tracking number
        ({"shipping_list": [{"tracking_no": "1", "express_company": "SF", "item_desc": ""}]}, 47001),
    ],
)
def test_bad_shipping_uploads_are_refused(client, paid_trade, overrides, errcode):
    with pytest.raises(WeChatClientException) as refused:
        _post(client, "wxa/sec/order/upload_shipping_info", _shipping(paid_trade, **overrides))
    assert refused.value.errcode == errcode


def test_station_pickup_needs_no_tracking_number(client, paid_trade):
    pickup = _shipping(paid_trade, logistics_type=4, shipping_list=[{"item_desc": "到站自提：炎陵黄桃"}])
    assert _post(client, "wxa/sec/order/upload_shipping_info", pickup)["errcode"] == 0
