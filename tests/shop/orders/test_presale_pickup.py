"""Pre-sale (预售) and pickup at a station (到站自提), end to end through the gateway simulator."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.clock import beijing_today
from core.db import utcnow
from core.extensions import db as _db
from core.extensions import limiter
from payments.models import GatewayRefund, ShippingUpload
from shop.models import Sku
from shop.orders.models import BuyerNotification, Order, OrderPickup, Presale
from shop.orders.presale import tell_buyers_of_late_presales, warn_presale_deadlines
from tests import factories
from tests.orders import ADDRESS, YANLING, pay, place
from tests.payments.test_payments_flow import _open

v3 = pytest.mark.parametrize("gateway", ["v3"], indirect=True)
CONTACT = {"name": "李先生", "phone": "13912345678"}


@pytest.fixture(autouse=True)
def _forget_throttles():
    limiter.storage.reset()
    yield
    limiter.storage.reset()


def _presale(client, shop, *, quota=3, ships_in=(10, 20), sku=None, header=None):
    today = beijing_today()
    body = {
        "quota": quota,
        "order_from": (utcnow() - timedelta(hours=1)).isoformat(),
        "order_until": (utcnow() + timedelta(days=5)).isoformat(),
        "ships_from": (today + timedelta(days=ships_in[0])).isoformat(),
        "ships_until": (today + timedelta(days=ships_in[1])).isoformat(),
    }
    if sku is not None:
        body["sku_id"] = sku.id
    product_id = shop["peach_5"].product_id
    return client.post(f"/api/v1/products/{product_id}/presales", headers=header or shop["peach_manager"], json=body)


def _pickup_order(client, shop, station, items=None):
    body = {
        "items": [{"sku_id": sku.id, "quantity": qty} for sku, qty in (items or [(shop["peach_5"], 1)])],
        "pickup_station_id": station.id,
        "contact": CONTACT,
    }
    return client.post("/api/v1/orders", headers=shop["buyer_header"], json=body)


def _paid_through_wechat(client, shop, gateway, order_id):
    payment = _open(client, shop, order_id, "wechat_jsapi")
    gateway.pay(payment["out_trade_no"], request_payment=payment["params"])
    gateway.deliver_due()
    order = client.get(f"/api/v1/orders/{order_id}", headers=shop["buyer_header"]).json
    assert order["status"] == "paid"
    return order


# -- pre-sale ---------------------------------------------------------------------------------------


def test_a_presale_takes_quota_not_stock_and_the_order_shows_the_window(client, shop):
    created = _presale(client, shop, quota=3, sku=shop["peach_5"])
    assert created.status_code == 201, created.json
    assert created.json["remaining"] == 3
    stock = shop["peach_5"].stock
    placed = place(client, shop, [(shop["peach_5"], 2)])
    assert placed.status_code == 201, placed.json
    (line,) = placed.json["lines"]
    assert (line["presale_id"], line["ships_from"], line["ships_until"]) == (
        created.json["id"],
        created.json["ships_from"],
        created.json["ships_until"],
    )
    _db.session.expire_all()
    assert _db.session.get(Sku, shop["peach_5"].id).stock == stock  # goods not harvested yet
    public = client.get(f"/api/v1/products/{shop['peach_5'].product_id}/presales").json
    assert public[0]["sold"] == 2 and public[0]["remaining"] == 1
    over = place(client, shop, [(shop["peach_5"], 2)])
    assert over.status_code == 409 and over.json["error"]["code"] == "out_of_stock"
    assert over.json["error"]["details"]["sku_ids"] == [shop["peach_5"].id]
    # The other SKU is not on pre-sale: it takes stock as ever.
    other = place(client, shop, [(shop["peach_10"], 1)]).json
    assert other["lines"][0]["presale_id"] is None
    # Cancelling the unpaid pre-sale order gives its quota back.
    assert client.post(f"/api/v1/orders/{placed.json['id']}/cancel", headers=shop["buyer_header"]).status_code == 200
    _db.session.expire_all()
    assert _db.session.get(Presale, created.json["id"]).sold == 0


def test_only_the_products_station_opens_a_presale_and_windows_are_checked(client, shop):
    assert _presale(client, shop, header=shop["garlic_manager"]).status_code == 404
    assert _presale(client, shop, header=shop["buyer_header"]).status_code == 403
    backwards = _presale(client, shop, ships_in=(20, 10))
    assert backwards.status_code == 422 and "ships_until" in backwards.json["error"]["details"]
    assert _presale(client, shop).status_code == 201
    clash = _presale(client, shop, sku=shop["peach_10"])
    assert clash.status_code == 409  # the product-wide pre-sale already covers that SKU


def test_the_station_plans_its_harvest_by_delivery_window(client, shop):
    early = _presale(client, shop, quota=10, sku=shop["peach_5"], ships_in=(5, 8)).json
    late = _presale(client, shop, quota=10, sku=shop["peach_10"], ships_in=(20, 30)).json
    for items in ([(shop["peach_5"], 2)], [(shop["peach_5"], 1), (shop["peach_10"], 3)], [(shop["garlic"], 1)]):
        pay(place(client, shop, items).json["id"])
    place(client, shop, [(shop["peach_5"], 4)])  # unpaid: not in the plan
    plan = client.get(f"/api/v1/stations/{shop['peach_station'].id}/presale-plan", headers=shop["peach_manager"])
    assert plan.status_code == 200, plan.json
    windows = plan.json["windows"]
    assert [(w["ships_from"], w["ships_until"], w["orders"], w["units"]) for w in windows] == [
        (early["ships_from"], early["ships_until"], 2, 3),
        (late["ships_from"], late["ships_until"], 1, 3),
    ]
    assert windows[0]["items"][0]["sku_name"] == "5斤装"
    garlic = client.get(f"/api/v1/stations/{shop['peach_station'].id}/presale-plan", headers=shop["garlic_manager"])
    assert garlic.status_code == 404


@v3
def test_a_presale_not_shipped_in_its_window_is_cancelled_with_a_full_refund(client, shop, gateway):
    presale_id = _presale(client, shop, quota=5, sku=shop["peach_5"]).json["id"]
    order = place(client, shop, [(shop["peach_5"], 2), (shop["garlic"], 1)]).json
    _paid_through_wechat(client, shop, gateway, order["id"])
    early = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop["buyer_header"])
    assert early.status_code == 409 and early.json["error"]["code"] == "invalid_state"
    # The window ends without the peaches being shipped.
    presale = _db.session.get(Presale, presale_id)
    _db.session.execute(
        sa.text("UPDATE order_lines SET ships_from = :a, ships_until = :b WHERE presale_id = :p"),
        {"a": beijing_today() - timedelta(days=10), "b": beijing_today() - timedelta(days=1), "p": presale.id},
    )
    _db.session.commit()
    assert tell_buyers_of_late_presales() == 1
    _db.session.commit()
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop["buyer_header"])
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "refunding"
    gateway.deliver_due()
    _db.session.expire_all()
    refund = _db.session.scalar(sa.select(GatewayRefund))
    assert refund.status == "success" and refund.amount_fen == order["total_fen"]
    final = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
    assert final["status"] == "refunded" and {line["refunded_fen"] for line in final["lines"]} == {
        line["amount_fen"] for line in final["lines"]
    }
    notes = _db.session.scalars(sa.select(BuyerNotification.kind).where(BuyerNotification.order_id == order["id"]))
    assert list(notes) == ["presale_overdue"]


@v3
def test_stations_are_warned_before_a_presale_window_ends(client, shop, gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_PRESALE_DUE_TEMPLATE_ID", "tpl-presale-due")
    _presale(client, shop, quota=5, sku=shop["peach_5"], ships_in=(0, 2))
    far = _presale(client, shop, quota=5, sku=shop["peach_10"], ships_in=(10, 20)).json
    manager = factories.user(("station_manager", YANLING, shop["peach_station"].id), wechat_openid="openid-manager")
    pay(place(client, shop, [(shop["peach_5"], 1)]).json["id"])
    pay(place(client, shop, [(shop["peach_10"], 1)]).json["id"])
    assert warn_presale_deadlines() == 1
    _db.session.commit()
    sent = [m for m in gateway.state.subscribe_messages if m["template_id"] == "tpl-presale-due"]
    assert [m["touser"] for m in sent] == ["openid-manager"]
    assert warn_presale_deadlines() == 0  # once per pre-sale
    notes = _db.session.scalars(sa.select(BuyerNotification).where(BuyerNotification.user_id == manager.id)).all()
    assert [(n.kind, n.status) for n in notes] == [("presale_due", "sent")]
    assert _db.session.get(Presale, far["id"]).warned_at is None


# -- pickup at a station ----------------------------------------------------------------------------


@v3
def test_pickup_at_the_selling_station_end_to_end(client, shop, gateway, app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_PICKUP_READY_TEMPLATE_ID", "tpl-pickup-ready")
    placed = _pickup_order(client, shop, shop["peach_station"])
    assert placed.status_code == 201, placed.json
    assert placed.json["fulfilment"] == "pickup" and "code" not in placed.json["pickup"]
    assert placed.json["address"]["phone"] == "139****5678" and placed.json["total_fen"] == 6800  # no shipping fee
    order = _paid_through_wechat(client, shop, gateway, placed.json["id"])
    code = order["pickup"]["code"]
    assert len(code) == 6 and code.isdigit() and order["pickup"]["status"] == "awaiting_goods"
    png = client.get(f"/api/v1/orders/{order['id']}/pickup-code.png", headers=shop["buyer_header"])
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    assert client.get(f"/api/v1/orders/{order['id']}/pickup-code.png", headers=shop["peach_manager"]).status_code == 404

    arrived = client.post(f"/api/v1/orders/{order['id']}/pickup/arrived", headers=shop["peach_manager"])
    assert arrived.status_code == 200, arrived.json
    assert arrived.json["pickup"]["status"] == "ready" and "code" not in arrived.json["pickup"]
    assert arrived.json["contact"] == {"name": "李**", "phone": "139****5678"}
    upload = gateway.state.shipping_uploads[-1]
    assert upload["logistics_type"] == 4 and "tracking_no" not in upload["shipping_list"][0]
    assert _db.session.scalar(sa.select(ShippingUpload.status)) == "uploaded"
    (message,) = [m for m in gateway.state.subscribe_messages if m["template_id"] == "tpl-pickup-ready"]
    assert message["touser"] == "openid-buyer"

    wrong = client.post(
        f"/api/v1/orders/{order['id']}/pickup",
        headers=shop["peach_manager"],
        json={"code": f"{(int(code) + 1) % 10**6:06d}"},
    )
    assert wrong.status_code == 422 and "code" in wrong.json["error"]["details"]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["status"] == "shipped"
    right = client.post(f"/api/v1/orders/{order['id']}/pickup", headers=shop["peach_manager"], json={"code": code})
    assert right.status_code == 200, right.json
    assert right.json["pickup"]["status"] == "collected" and right.json["lines"][0]["status"] == "completed"
    final = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json
    assert final["status"] == "completed" and final["completed_at"]
    again = client.post(f"/api/v1/orders/{order['id']}/pickup", headers=shop["peach_manager"], json={"code": code})
    assert again.status_code == 409


def test_wrong_pickup_codes_are_throttled_like_logins(client, shop):
    order_id = _pickup_order(client, shop, shop["peach_station"]).json["id"]
    pay(order_id)
    client.post(f"/api/v1/orders/{order_id}/pickup/arrived", headers=shop["peach_manager"])
    code = _db.session.get(OrderPickup, order_id).code
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [
        client.post(
            f"/api/v1/orders/{order_id}/pickup", headers=shop["peach_manager"], json={"code": wrong}
        ).status_code
        for _ in range(5)
    ]
    assert answers == [422] * 5
    blocked = client.post(f"/api/v1/orders/{order_id}/pickup", headers=shop["peach_manager"], json={"code": code})
    assert blocked.status_code == 429 and blocked.json["error"]["code"] == "rate_limited"
    assert blocked.json["error"]["details"]["retry_after_seconds"] > 0
    assert _db.session.get(Order, order_id).status == "shipped"


def test_a_scanned_qr_code_hands_over_only_its_own_order(client, shop):
    first, second = (_pickup_order(client, shop, shop["peach_station"]).json["id"] for _ in range(2))
    for order_id in (first, second):
        pay(order_id)
        client.post(f"/api/v1/orders/{order_id}/pickup/arrived", headers=shop["peach_manager"])
    code = _db.session.get(OrderPickup, first).code
    other = client.post(
        f"/api/v1/orders/{second}/pickup", headers=shop["peach_manager"], json={"code": f"zzpickup:{first}:{code}"}
    )
    assert other.status_code == 422
    scanned = client.post(
        f"/api/v1/orders/{first}/pickup", headers=shop["peach_manager"], json={"code": f"zzpickup:{first}:{code}"}
    )
    assert scanned.status_code == 200 and scanned.json["status"] == "completed"


def test_pickup_stations_are_of_the_goods_township_or_offer_pickup(client, shop):
    refused = _pickup_order(client, shop, shop["garlic_station"])  # another county, no pickup service
    assert refused.status_code == 422 and "pickup_station_id" in refused.json["error"]["details"]
    neighbour = factories.station("430225100202", centre_record=shop["peach_station"].centre)  # same township
    assert _pickup_order(client, shop, neighbour).status_code == 201
    both = client.post(
        "/api/v1/orders",
        headers=shop["buyer_header"],
        json={"items": [{"sku_id": shop["peach_5"].id, "quantity": 1}], "address": ADDRESS, "pickup_station_id": 1},
    )
    assert both.status_code == 422
    shop["garlic_station"].offers_pickup = True
    assert _pickup_order(client, shop, shop["garlic_station"]).status_code == 201


@v3
def test_goods_shipped_to_another_pickup_station(client, shop, gateway):
    shop["garlic_station"].offers_pickup = True
    order = _pickup_order(client, shop, shop["garlic_station"]).json
    _paid_through_wechat(client, shop, gateway, order["id"])
    early = client.post(f"/api/v1/orders/{order['id']}/pickup/arrived", headers=shop["garlic_manager"])
    assert early.status_code == 409  # the peaches have not left their station
    assert client.post(f"/api/v1/orders/{order['id']}/pickup/arrived", headers=shop["peach_manager"]).status_code == 404
    ship = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF1234567890"}
    assert (
        client.post(f"/api/v1/orders/{order['id']}/shipments", headers=shop["peach_manager"], json=ship).status_code
        == 201
    )
    assert gateway.state.shipping_uploads[-1]["logistics_type"] == 4  # declared as 用户自提
    waiting = client.get(
        f"/api/v1/stations/{shop['garlic_station'].id}/pickups?status=awaiting_goods", headers=shop["garlic_manager"]
    ).json
    assert [o["id"] for o in waiting] == [order["id"]]
    assert (
        client.post(f"/api/v1/orders/{order['id']}/pickup/arrived", headers=shop["garlic_manager"]).status_code == 200
    )
    code = client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["pickup"]["code"]
    handed = client.post(f"/api/v1/orders/{order['id']}/pickup", headers=shop["garlic_manager"], json={"code": code})
    assert handed.status_code == 200 and handed.json["status"] == "completed"


@v3
def test_uncollected_goods_go_back_to_stock_with_a_refund(client, shop, gateway):
    order = _pickup_order(client, shop, shop["peach_station"], [(shop["peach_5"], 3)]).json
    _paid_through_wechat(client, shop, gateway, order["id"])
    client.post(f"/api/v1/orders/{order['id']}/pickup/arrived", headers=shop["peach_manager"])
    stock = _db.session.get(Sku, shop["peach_5"].id).stock
    too_soon = client.post(f"/api/v1/orders/{order['id']}/pickup/return", headers=shop["peach_manager"])
    assert too_soon.status_code == 409 and too_soon.json["error"]["details"]["uncollected_days"] == 7
    _db.session.get(OrderPickup, order["id"]).arrived_at = utcnow() - timedelta(days=8)
    _db.session.commit()
    returned = client.post(f"/api/v1/orders/{order['id']}/pickup/return", headers=shop["peach_manager"])
    assert returned.status_code == 200, returned.json
    assert returned.json["pickup"]["status"] == "returned"
    gateway.deliver_due()
    _db.session.expire_all()
    assert _db.session.get(Sku, shop["peach_5"].id).stock == stock + 3
    assert _db.session.scalar(sa.select(GatewayRefund.amount_fen)) == order["total_fen"]
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["status"] == "refunded"


# -- the ledger and reports treat them like any other order -----------------------------------------


def test_a_collected_pickup_settles_from_the_handover_and_a_presale_counts_in_reports(client, ledger_shop):
    from payments.ledger.tasks import release_all
    from tests.ledger_helpers import assert_books_balance, balances

    shop = ledger_shop
    _presale(client, shop, quota=5, sku=shop["peach_10"])
    presale_order = place(client, shop, [(shop["peach_10"], 1)]).json
    pay(presale_order["id"])
    order_id = _pickup_order(client, shop, shop["peach_station"]).json["id"]
    pay(order_id)
    seller = shop["peach_seller"].id
    pending_before = balances("seller", seller)[0]
    assert pending_before > 0
    client.post(f"/api/v1/orders/{order_id}/pickup/arrived", headers=shop["peach_manager"])
    handed_at = utcnow()
    code = _db.session.get(OrderPickup, order_id).code
    assert (
        client.post(f"/api/v1/orders/{order_id}/pickup", headers=shop["peach_manager"], json={"code": code}).json[
            "status"
        ]
        == "completed"
    )
    hold = client.application.config["SETTLEMENT_HOLD_DAYS"]
    assert release_all(handed_at + timedelta(days=hold - 1)) == 0  # the hold starts at the handover
    assert release_all(utcnow() + timedelta(days=hold, minutes=1)) == 1
    _db.session.commit()
    assert balances("seller", seller)[1] > 0
    assert_books_balance()
    period = f"from={beijing_today() - timedelta(days=1)}&to={beijing_today()}"
    report = client.get(
        f"/api/v1/reports/sales?region=4302&group_by=region&{period}",
        headers=factories.auth_header(factories.user(("poverty_office", "4302"))),
    )
    assert report.status_code == 200, report.json
    assert report.json["totals"]["orders"] == 2
    assert report.json["totals"]["gmv_fen"] == presale_order["total_fen"] + 6800


def test_an_uncollected_pickup_is_not_confirmed_automatically(client, shop):
    from shop.orders.fulfilment import auto_confirm_shipped_orders

    order_id = _pickup_order(client, shop, shop["peach_station"]).json["id"]
    pay(order_id)
    client.post(f"/api/v1/orders/{order_id}/pickup/arrived", headers=shop["peach_manager"])
    delivered = place(client, shop, [(shop["garlic"], 1)]).json["id"]
    pay(delivered)
    ship = {"station_id": shop["garlic_station"].id, "carrier": "中国邮政", "tracking_no": "EMS1234567890"}
    client.post(f"/api/v1/orders/{delivered}/shipments", headers=shop["garlic_manager"], json=ship)
    assert auto_confirm_shipped_orders(utcnow() + timedelta(days=30)) == 1
    _db.session.commit()
    assert _db.session.get(Order, delivered).status == "completed"
    assert _db.session.get(Order, order_id).status == "shipped"  # waits for its code, or the return


def test_the_buyer_cannot_confirm_receipt_of_goods_still_on_the_shelf(client, shop):
    order_id = _pickup_order(client, shop, shop["peach_station"]).json["id"]
    pay(order_id)
    early = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=shop["buyer_header"])
    assert early.status_code == 409 and early.json["error"]["code"] == "invalid_state"  # not even arrived
    client.post(f"/api/v1/orders/{order_id}/pickup/arrived", headers=shop["peach_manager"])
    refused = client.post(f"/api/v1/orders/{order_id}/confirm-receipt", headers=shop["buyer_header"])
    assert refused.status_code == 409 and refused.json["error"]["code"] == "invalid_state"
    assert _db.session.get(Order, order_id).status == "shipped"
    assert _db.session.get(OrderPickup, order_id).status == "ready"
    # Still uncollected after the wait: the station can take the goods back and refund.
    _db.session.get(OrderPickup, order_id).arrived_at = utcnow() - timedelta(days=8)
    _db.session.commit()
    returned = client.post(f"/api/v1/orders/{order_id}/pickup/return", headers=shop["peach_manager"])
    assert returned.status_code == 200, returned.json
    assert returned.json["pickup"]["status"] == "returned"


def test_goods_refunded_in_full_are_not_handed_over(client, shop, gateway):
    order = _pickup_order(client, shop, shop["peach_station"]).json
    paid = _paid_through_wechat(client, shop, gateway, order["id"])
    code = paid["pickup"]["code"]
    client.post(f"/api/v1/orders/{order['id']}/pickup/arrived", headers=shop["peach_manager"])
    asked = client.post(
        "/api/v1/refunds",
        headers=shop["buyer_header"],
        json={"order_id": order["id"], "line_ids": [line["id"] for line in order["lines"]], "reason": "不想要了"},
    )
    assert asked.status_code == 201, asked.json
    pickup_url = f"/api/v1/orders/{order['id']}/pickup"
    while_asked = client.post(pickup_url, headers=shop["peach_manager"], json={"code": code})
    assert while_asked.status_code == 409 and while_asked.json["error"]["code"] == "invalid_state"
    decided = client.post(
        f"/api/v1/refunds/{asked.json['id']}/decision", headers=shop["peach_manager"], json={"decision": "approve"}
    )
    assert decided.status_code == 200, decided.json
    gateway.deliver_due()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=shop["buyer_header"]).json["status"] == "refunded"
    handed = client.post(pickup_url, headers=shop["peach_manager"], json={"code": code})
    assert handed.status_code == 409 and handed.json["error"]["code"] == "invalid_state"
    _db.session.expire_all()
    assert _db.session.get(OrderPickup, order["id"]).status == "ready"
    assert _db.session.get(Order, order["id"]).status == "refunded"


@v3
def test_a_retried_message_task_sends_only_what_failed(client, shop, gateway, app, monkeypatch):
    """The records of what went out are committed before the task asks for a retry, so the retry skips them."""
    from core.tasks import enqueue, task_definitions

    monkeypatch.setitem(app.config, "WECHAT_PRESALE_DUE_TEMPLATE_ID", "tpl-presale-due")
    presale = _presale(client, shop, quota=5, sku=shop["peach_5"], ships_in=(0, 2)).json
    station_id = shop["peach_station"].id
    willing = factories.user(("station_manager", YANLING, station_id), wechat_openid="openid-manager")
    factories.user(("station_manager", YANLING, station_id), wechat_openid="refused-manager")  # declines (43101)
    _db.session.commit()
    definition = task_definitions()["orders.notify_presale_due"]
    for _ in range(2):  # the first run and its retry (eager mode logs the RetryLater)
        enqueue(app, definition, (presale["id"],))
    sent = [m["touser"] for m in gateway.state.subscribe_messages if m["template_id"] == "tpl-presale-due"]
    assert sent == ["openid-manager"]
    notes = _db.session.scalars(sa.select(BuyerNotification).where(BuyerNotification.presale_id == presale["id"]))
    outcomes = sorted((note.user_id == willing.id, note.status) for note in notes)
    # The refusing manager failed twice; the fixture's manager (no WeChat) was skipped once.
    assert outcomes == [(False, "failed"), (False, "failed"), (False, "skipped"), (True, "sent")]


def test_a_pickup_contact_without_a_phone_uses_the_number_wechat_confirmed(client, shop):
    body = {
        "items": [{"sku_id": shop["peach_5"].id, "quantity": 1}],
        "pickup_station_id": shop["peach_station"].id,
        "contact": {"name": "张女士"},
    }
    refused = client.post("/api/v1/orders", headers=shop["buyer_header"], json=body)
    assert refused.status_code == 422
    assert "phone" in refused.json["error"]["details"]["contact"]
    shop["buyer"].phone = "13912340000"
    _db.session.commit()
    placed = client.post("/api/v1/orders", headers=shop["buyer_header"], json=body)
    assert placed.status_code == 201, placed.json
    assert placed.json["address"]["phone"] == "139****0000"
