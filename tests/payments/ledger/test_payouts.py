"""Payout batches through the Alipay sandbox: success, failure with the reason, crash and re-run, scoping."""

import pytest
import sqlalchemy as sa

from core.extensions import db as _db
from payments.ledger.models import Payout
from payments.providers.alipay import AlipayProvider
from tests import factories
from tests.ledger_helpers import (
    assert_books_balance,
    balances,
    paid_order,
    release_after_hold,
    ship_and_confirm,
)

YANLING = "430225"


@pytest.fixture
def alipay_sandbox(app_on_sandbox):
    return app_on_sandbox


def _released_peach_sale(client, shop, quantity: int = 1) -> dict:
    order = paid_order(client, shop, [(shop["peach_5"], quantity)])
    ship_and_confirm(client, shop, order["id"])
    assert release_after_hold() == 1
    return order


def _run(client, shop, county=YANLING, who="yanling_admin", **headers):
    return client.post("/api/v1/settlements/run", headers={**shop[who], **headers}, json={"county_code": county})


def _payouts(client, shop, who="yanling_admin", **query):
    response = client.get("/api/v1/payouts", headers=shop[who], query_string={"region": YANLING, **query})
    assert response.status_code == 200, response.json
    return response.json


def test_a_batch_pays_seller_station_and_centre(client, ledger_shop, alipay_sandbox):
    shop = ledger_shop
    _released_peach_sale(client, shop)
    station, centre = shop["peach_station"], shop["peach_station"].centre
    patched = client.patch(
        f"/api/v1/stations/{station.id}", headers=shop["yanling_admin"], json={"payout_alipay_account": "13900000011"}
    )
    assert patched.status_code == 200 and patched.json["payout_alipay_account"] == "139****0011"
    patched = client.patch(
        f"/api/v1/centres/{centre.id}", headers=shop["yanling_admin"], json={"payout_alipay_account": "yl@example.com"}
    )
    assert patched.status_code == 200, patched.json
    batch = _run(client, shop)
    assert batch.status_code == 201, batch.json
    assert sorted((p["owner"], p["amount_fen"]) for p in batch.json["payouts"]) == [
        (f"centre:{centre.id}", 204),
        (f"seller:{shop['peach_seller'].id}", 6256),
        (f"station:{station.id}", 340),
    ]
    assert batch.json["total_fen"] == 6800 and batch.json["skipped"] == []
    listed = _payouts(client, shop)
    assert listed["total"] == 3 and {p["status"] for p in listed["items"]} == {"success"}
    assert all(p["completed_at"] and p["created_at"].endswith("+08:00") for p in listed["items"])
    assert len(alipay_sandbox.state.transfers) == 3
    transfer = alipay_sandbox.state.transfers[next(p["out_biz_no"] for p in listed["items"] if p["amount_fen"] == 6256)]
    assert (transfer.account, transfer.name, transfer.amount_fen) == ("13900000001", "李秀英", 6256)
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 6256)
    assert balances("station", station.id) == (0, 0, 340)
    again = _run(client, shop)
    assert again.json["payouts"] == [] and len(alipay_sandbox.state.transfers) == 3
    assert_books_balance()


def test_parties_without_an_account_are_listed_as_skipped(client, ledger_shop, alipay_sandbox):
    _released_peach_sale(client, ledger_shop)
    batch = _run(client, ledger_shop).json
    assert [p["owner"] for p in batch["payouts"]] == [f"seller:{ledger_shop['peach_seller'].id}"]
    assert {s["owner"].split(":")[0] for s in batch["skipped"]} == {"station", "centre"}
    assert all(s["reason"] == "未登记银行账户或支付宝收款账户" for s in batch["skipped"])


def test_a_failed_transfer_returns_the_money_with_the_gateways_reason(client, ledger_shop, alipay_sandbox):
    shop = ledger_shop
    shop["peach_seller"].payout_alipay_account = "invalid@example.com"
    _db.session.commit()
    _released_peach_sale(client, shop)
    _run(client, shop)
    (failed,) = _payouts(client, shop)["items"]
    assert failed["status"] == "failed" and failed["failure_reason"] == "PAYEE_NOT_EXIST: 收款账号不存在"
    assert balances("seller", shop["peach_seller"].id) == (0, 6256, 0)
    assert_books_balance()
    shop["peach_seller"].payout_alipay_account = "13900000001"
    _db.session.commit()
    _run(client, shop)
    statuses = [p["status"] for p in _payouts(client, shop)["items"]]
    assert statuses == ["success", "failed"]
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 6256)
    assert_books_balance()


def test_a_crash_after_the_transfer_never_pays_twice(client, ledger_shop, alipay_sandbox, monkeypatch, app):
    shop = ledger_shop
    _released_peach_sale(client, shop)
    real_transfer = AlipayProvider.transfer

    def transfer_then_crash(self, *args, **kwargs):
        real_transfer(self, *args, **kwargs)  # the gateway pays …
        raise RuntimeError("worker killed before the commit")  # … and we never record it

    monkeypatch.setattr(AlipayProvider, "transfer", transfer_then_crash)
    _run(client, shop)
    payout = _db.session.scalar(sa.select(Payout).execution_options(populate_existing=True))
    assert (payout.status, payout.attempts) == ("processing", 1)
    assert len(alipay_sandbox.state.transfers) == 1
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 0)  # in payout clearing
    assert_books_balance()
    monkeypatch.setattr(AlipayProvider, "transfer", real_transfer)
    rerun = _run(client, shop)
    assert rerun.json["retried"] == 1 and rerun.json["payouts"] == []
    _db.session.refresh(payout)
    assert payout.status == "success" and payout.gateway_order_id
    assert len(alipay_sandbox.state.transfers) == 1
    calls = [r.params["method"] for r in alipay_sandbox.recorded("alipay")]
    assert calls.count("alipay.fund.trans.uni.transfer") == 1
    assert calls.count("alipay.fund.trans.common.query") == 1
    assert balances("seller", shop["peach_seller"].id) == (0, 0, 6256)
    assert app.test_cli_runner().invoke(args=["settlements", "retry-payouts"]).output == "payouts checked: 0\n"
    assert_books_balance()


def test_a_crash_before_the_gateway_heard_of_it_resends_the_same_number(client, ledger_shop, alipay_sandbox, app):
    shop = ledger_shop
    _released_peach_sale(client, shop)
    payout_id = None

    def crash_before_sending(self, out_biz_no, *args, **kwargs):
        raise RuntimeError("network cable pulled")

    original = AlipayProvider.transfer
    AlipayProvider.transfer = crash_before_sending
    try:
        _run(client, shop)
    finally:
        AlipayProvider.transfer = original
    payout = _db.session.scalar(sa.select(Payout).execution_options(populate_existing=True))
    payout_id, out_biz_no = payout.id, payout.out_biz_no
    assert payout.status == "processing" and not alipay_sandbox.state.transfers
    result = app.test_cli_runner().invoke(args=["settlements", "retry-payouts"])
    assert result.exit_code == 0, result.output
    payout = _db.session.get(Payout, payout_id, populate_existing=True)
    assert payout.status == "success" and list(alipay_sandbox.state.transfers) == [out_biz_no]


def test_the_batch_honours_idempotency_keys(client, ledger_shop, alipay_sandbox):
    _released_peach_sale(client, ledger_shop)
    first = _run(client, ledger_shop, **{"Idempotency-Key": "batch-1"})
    second = _run(client, ledger_shop, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true" and second.json == first.json
    assert len(alipay_sandbox.state.transfers) == 1


def test_only_the_countys_admin_or_the_platform_runs_its_batch(client, ledger_shop):
    chaling = factories.auth_header(factories.user(("county_admin", "430224")))
    assert _run(client, {"x": chaling}, who="x").status_code == 404
    assert _run(client, ledger_shop, who="peach_manager").status_code == 403
    assert _run(client, ledger_shop, who="buyer_header").status_code == 403
    assert _run(client, ledger_shop, county="430225100201", who="platform").status_code == 422


def test_payouts_are_listed_within_scope(client, ledger_shop, alipay_sandbox):
    _released_peach_sale(client, ledger_shop)
    _run(client, ledger_shop)
    assert _payouts(client, ledger_shop, who="peach_manager")["total"] == 1
    outside = client.get("/api/v1/payouts", headers=ledger_shop["garlic_manager"], query_string={"region": YANLING})
    assert outside.status_code == 403  # asking for a region outside one's scope
    theirs = client.get("/api/v1/payouts", headers=ledger_shop["garlic_manager"])
    assert theirs.status_code == 200 and theirs.json["total"] == 0
    assert _payouts(client, ledger_shop, who="platform", status="success")["total"] == 1
    assert _payouts(client, ledger_shop, who="platform", status="failed")["total"] == 0
    assert client.get("/api/v1/payouts", headers=ledger_shop["buyer_header"]).status_code == 403


def _balance(client, header, owner):
    return client.get("/api/v1/ledger/balances", headers=header, query_string={"owner": owner})


def test_balances_are_scoped(client, ledger_shop):
    shop = ledger_shop
    paid_order(client, shop, [(shop["peach_5"], 1), (shop["garlic"], 1)])
    peach, garlic = shop["peach_seller"], shop["garlic_seller"]
    villager = factories.user(("seller", shop["peach_station"].village_code), wechat_openid="openid-lixiuying")
    peach.user_id = villager.id
    _db.session.commit()
    mine = _balance(client, factories.auth_header(villager), f"seller:{peach.id}")
    assert mine.status_code == 200
    assert mine.json == {"owner": f"seller:{peach.id}", "pending_fen": 6256, "available_fen": 0, "paid_out_fen": 0}
    assert _balance(client, factories.auth_header(villager), f"seller:{garlic.id}").status_code == 403
    manager = shop["peach_manager"]
    assert _balance(client, manager, f"seller:{peach.id}").status_code == 200
    assert _balance(client, manager, f"station:{shop['peach_station'].id}").json["pending_fen"] == 340
    assert _balance(client, manager, f"seller:{garlic.id}").status_code == 404
    assert _balance(client, manager, f"centre:{shop['peach_station'].centre_id}").status_code == 404
    county = shop["yanling_admin"]
    assert _balance(client, county, f"centre:{shop['peach_station'].centre_id}").json["pending_fen"] == 204
    assert _balance(client, county, f"station:{shop['garlic_station'].id}").status_code == 404
    assert _balance(client, county, "platform").status_code == 403
    poverty = factories.auth_header(factories.user(("poverty_office", "4302")))
    assert _balance(client, poverty, f"seller:{garlic.id}").json["pending_fen"] == 3000 - 90 - 120
    assert _balance(client, shop["platform"], "platform").json["owner"] == "platform"
    assert _balance(client, shop["platform"], "seller:abc").status_code == 422
    assert _balance(client, shop["platform"], "seller:999999").status_code == 404


def test_the_villagers_page_shows_money_and_payouts(client, ledger_shop, alipay_sandbox):
    shop = ledger_shop
    _released_peach_sale(client, shop, quantity=2)
    paid_order(client, shop, [(shop["peach_5"], 1)])
    _run(client, shop)
    villager = factories.user(("seller", shop["peach_station"].village_code), wechat_openid="openid-lixiuying")
    shop["peach_seller"].user_id = villager.id
    _db.session.commit()
    page = client.get("/api/v1/sellers/me", headers=factories.auth_header(villager))
    assert page.status_code == 200, page.json
    assert page.json["balances"] == {"pending_fen": 6256, "available_fen": 0, "paid_out_fen": 12512}
    assert page.json["sales_this_month"] == {"orders": 2, "units": 3, "gmv_fen": 20400}
    (payout,) = page.json["payouts"]
    assert payout["amount_fen"] == 12512 and payout["status"] == "success"
    assert payout["payee_account"] == "139****0001" and payout["completed_at"].endswith("+08:00")


def test_only_the_countys_admin_sets_a_centres_payout_account(client, ledger_shop):
    centre = ledger_shop["peach_station"].centre
    chaling = factories.auth_header(factories.user(("county_admin", "430224")))
    body = {"payout_alipay_account": "yl@example.com"}
    assert client.patch(f"/api/v1/centres/{centre.id}", headers=chaling, json=body).status_code == 403
    assert (
        client.patch(f"/api/v1/centres/{centre.id}", headers=ledger_shop["peach_manager"], json=body).status_code == 403
    )
    ok = client.patch(f"/api/v1/centres/{centre.id}", headers=ledger_shop["yanling_admin"], json=body)
    assert ok.status_code == 200 and ok.json["payout_alipay_account"] == "y***@example.com"
    assert client.patch("/api/v1/centres/999999", headers=ledger_shop["platform"], json=body).status_code == 404
