"""Listing text goes through WeChat's msg_sec_check v2, or the local word list in the sandbox."""

import pytest
import sqlalchemy as sa
from wechatpy.session.memorystorage import MemoryStorage

import core.wechat
from core.extensions import db as _db
from shop.content_check import flagged_by_word_list
from shop.models import Product
from tests import catalogue
from tests.fakes import fake_wechat_api, serve


@pytest.fixture
def yanling(db):
    return catalogue.county()


def _products() -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(Product))


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("炎陵黄桃，香甜多汁", False),
        ("茶陵白芷，晒干切片，可入菜", False),
        ("谨防假冒，认准炎陵黄桃", False),
        ("出售冰毒", True),
        ("冰 毒", True),
        ("冰-毒", True),
        ("ｋ粉", True),
        ("包治百病的神茶", True),
        ("野生穿山甲", True),
    ],
)
def test_word_list(text, flagged):
    assert flagged_by_word_list(text) is flagged


def test_sandbox_rejects_a_flagged_title_and_stores_nothing(client, yanling):
    response = client.post(
        "/api/v1/products",
        json=catalogue.listing(yanling, title="正宗野生穿山甲"),
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["title"]
    assert "安全检测" in error["details"]["title"][0]
    assert _products() == 0


def test_sandbox_names_the_description_when_it_is_the_flagged_field(client, yanling):
    response = client.post(
        "/api/v1/products",
        json=catalogue.listing(yanling, description="喝了包治百病"),
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    assert list(response.json["error"]["details"]) == ["description"]


def test_a_flagged_edit_changes_nothing(client, yanling):
    product = catalogue.on_sale(client, yanling)
    response = client.patch(
        f"/api/v1/products/{product['id']}",
        json={"title": "炎陵黄桃", "description": "另有冰毒出售"},
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    after = client.get(f"/api/v1/products/{product['id']}").json
    assert after["status"] == "on_sale" and after["description"] == product["description"]


@pytest.fixture
def wechat(app, monkeypatch):
    """The app configured for a (fake, loopback) WeChat mini-program."""
    fake = fake_wechat_api(sec_check={"违禁品": "risky", "疗效": "review"})
    monkeypatch.setattr(core.wechat, "_memory_storage", MemoryStorage())
    with serve(fake) as base_url:
        monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", base_url)
        monkeypatch.setitem(app.config, "WECHAT_APPID", "wx-test")
        monkeypatch.setitem(app.config, "WECHAT_SECRET", "s3cret")
        monkeypatch.setitem(app.config, "WECHAT_SEC_CHECK_OPENID", "openid-operator")
        yield fake


def test_wechat_msg_sec_check_v2_is_asked_for_title_and_description(client, yanling, wechat):
    body = catalogue.create(client, yanling, title="炎陵黄桃", description="高山果园")
    assert body["content_flagged"] is False
    assert [check["content"] for check in wechat.sec_checks] == ["炎陵黄桃", "高山果园"]
    for check in wechat.sec_checks:
        assert check["version"] == 2 and check["scene"] == 1
        assert check["openid"] == "openid-operator"  # the staff member has no WeChat openid
    assert (
        "/cgi-bin/token",
        {"grant_type": "client_credential", "appid": "wx-test", "secret": "s3cret"},
    ) in [(path, args) for path, args in wechat.requests]


def test_a_signed_in_wechat_user_checks_with_their_own_openid(client, yanling, wechat):
    yanling.manager.wechat_openid = "openid-liu"
    _db.session.commit()
    catalogue.create(client, yanling)
    assert {check["openid"] for check in wechat.sec_checks} == {"openid-liu"}


def test_wechat_risky_text_is_422_and_nothing_is_stored(client, yanling, wechat):
    response = client.post(
        "/api/v1/products",
        json=catalogue.listing(yanling, description="店内另售违禁品"),
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    assert list(response.json["error"]["details"]) == ["description"]
    assert _products() == 0


def test_wechat_review_verdict_is_passed_to_the_county_reviewer(client, yanling, wechat):
    body = catalogue.create(client, yanling, description="白芷有一定疗效")
    assert body["status"] == "pending_review"
    assert body["content_flagged"] is True
    queue = client.get("/api/v1/products/review-queue", headers=yanling.admin_auth).json
    assert queue["items"][0]["content_flagged"] is True


def test_the_local_word_list_still_applies_before_wechat(client, yanling, wechat):
    response = client.post(
        "/api/v1/products", json=catalogue.listing(yanling, title="出售冰毒"), headers=yanling.manager_auth
    )
    assert response.status_code == 422
    assert [check["content"] for check in wechat.sec_checks] == [catalogue.listing(yanling)["description"]]


def test_wechat_unavailable_is_502_and_nothing_is_stored(client, app, yanling, wechat, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_API_BASE_URL", "http://127.0.0.1:1/")
    response = client.post("/api/v1/products", json=catalogue.listing(yanling), headers=yanling.manager_auth)
    assert response.status_code == 502
    assert response.json["error"]["code"] == "upstream_unavailable"
    assert _products() == 0


def test_unchanged_text_is_not_checked_again(client, yanling, wechat):
    product = catalogue.create(client, yanling)
    wechat.sec_checks.clear()
    sku = product["skus"][0]
    client.patch(
        f"/api/v1/products/{product['id']}",
        json={"title": product["title"], "skus": [{**sku, "price_fen": 100}]},
        headers=yanling.manager_auth,
    )
    assert wechat.sec_checks == []
