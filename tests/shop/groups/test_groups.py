"""Group buying end to end through the sandbox gateways: open, join, succeed, expire and refund once."""

from datetime import timedelta

import sqlalchemy as sa

from console.services.station_work import orders_to_ship
from core.clock import beijing_today
from core.db import utcnow
from core.extensions import db as _db
from payments.models import GatewayRefund, Payment
from reports.analytics import sales_figures
from shop.groups.lifecycle import expire_group
from shop.groups.models import GroupBuy
from shop.groups.tasks import expire_groups
from shop.models import Sku
from shop.orders.fulfilment import expire_overdue_orders
from shop.orders.models import Order
from tests import factories
from tests.ledger_helpers import assert_books_balance, balances
from tests.orders import ADDRESS, YANLING, pay, place
from tests.shop.groups.conftest import join, open_group, pay_through


def _group(client, group_id):
    response = client.get(f"/api/v1/groups/{group_id}")
    assert response.status_code == 200, response.json
    return response.json


def _ship(client, shop, order_id):
    body = {"station_id": shop["peach_station"].id, "carrier": "顺丰速运", "tracking_no": f"SF{order_id:010d}"}
    return client.post(f"/api/v1/orders/{order_id}/shipments", headers=shop["peach_manager"], json=body)


def _sales_today():
    today = beijing_today()
    totals = sales_figures("430225", today - timedelta(days=1), today + timedelta(days=1), None)["totals"]
    return totals["gmv_fen"], totals["orders"], totals["refunded_fen"]


def _refunds_of(order_id):
    _db.session.expire_all()
    return _db.session.scalars(
        sa.select(GatewayRefund).join(Payment).where(Payment.order_id == order_id).order_by(GatewayRefund.id)
    ).all()


def _overdue(group_id):
    """Move the group's deadline (and its unpaid orders') into the past."""
    group = _db.session.get(GroupBuy, group_id)
    past = utcnow() - timedelta(minutes=1)
    group.expires_at = past
    for member in group.members:
        if member.order.expires_at > past:
            member.order.expires_at = past
    _db.session.commit()


def _stock():
    _db.session.expire_all()
    return _db.session.scalar(sa.select(Sku.stock).where(Sku.id == _db.session.query(GroupBuy.sku_id).scalar()))


def test_offer_needs_a_lister_and_a_lower_price(client, shop):
    sku = shop["peach_5"]
    url = f"/api/v1/products/{sku.product_id}/group-offers"
    body = {"sku_id": sku.id, "price_fen": 5800, "group_size": 3, "hours": 24}
    assert client.post(url, headers=shop["buyer_header"], json=body).status_code == 403
    too_dear = client.post(url, headers=shop["peach_manager"], json={**body, "price_fen": 6800})
    assert too_dear.status_code == 422 and "price_fen" in too_dear.json["error"]["details"]
    made = client.post(url, headers=shop["peach_manager"], json=body)
    assert made.status_code == 201, made.json
    assert made.json["regular_price_fen"] == 6800 and made.json["group_size"] == 3
    assert client.post(url, headers=shop["peach_manager"], json=body).json["error"]["code"] == "invalid_state"
    assert [offer["id"] for offer in client.get(url).json] == [made.json["id"]]
    closed = client.post(f"/api/v1/group-offers/{made.json['id']}/close", headers=shop["peach_manager"])
    assert closed.status_code == 200 and closed.json["is_active"] is False
    assert client.get(url).json == []


def test_a_group_of_three_succeeds_and_only_then_ships(client, group_shop, gateway):
    shop = group_shop
    leader, second, third = shop["headers"][:3]
    opened = open_group(client, leader, shop["offer"].id)
    group_id, order = opened["group"]["id"], opened["order"]
    assert opened["group"]["status"] == "opening" and opened["group"]["share_path"].endswith(f"id={group_id}")
    assert order["total_fen"] == 5800 and order["lines"][0]["unit_price_fen"] == 5800
    assert join(client, second, group_id).json["error"]["code"] == "group_closed"  # not open until the leader pays

    pay_through(client, gateway, leader, order["id"], "wechat_jsapi")
    gateway.deliver_due()
    forming = _group(client, group_id)
    assert forming["status"] == "forming" and 24 * 3600 - 60 < forming["seconds_left"] <= 24 * 3600
    assert _ship(client, shop, order["id"]).json["error"]["code"] == "invalid_state"  # not before success
    asked = client.post(
        "/api/v1/refunds",
        headers=leader,
        json={"order_id": order["id"], "line_ids": [order["lines"][0]["id"]], "reason": "不想拼了"},
    )
    assert asked.status_code == 409  # the money waits for the group: refunded in full if it fails

    joined = join(client, second, group_id)
    assert joined.status_code == 201, joined.json
    assert join(client, second, group_id).status_code == 409  # one place per buyer
    pay_through(client, gateway, second, joined.json["order"]["id"], "alipay_wap")
    gateway.deliver_due()
    last = join(client, third, group_id).json
    pay_through(client, gateway, third, last["order"]["id"], "wechat_jsapi")
    gateway.deliver_due()

    done = _group(client, group_id)
    assert done["status"] == "succeeded" and done["paid_members"] == 3 and done["places_left"] == 0
    assert [m["name_masked"] for m in done["members"]] == ["王**", "李**", "赵**"]
    assert [m["is_leader"] for m in done["members"]] == [True, False, False]
    assert join(client, shop["headers"][3], group_id).json["error"]["code"] == "group_closed"
    assert _ship(client, shop, order["id"]).status_code == 201
    for view in (client.get(f"/api/v1/orders/{order['id']}", headers=leader).json,):
        assert view["status"] == "shipped"
    assert _sales_today() == (3 * 5800, 3, 0)  # reports count each member's order at the group price
    # The ledger takes each member's payment like any order's.
    assert balances("seller", shop["peach_5"].product.seller_id)[0] > 0
    assert_books_balance()


def test_an_expired_group_refunds_each_member_once_through_their_channel(client, group_shop, gateway):
    shop = group_shop
    leader, second, third = shop["headers"][:3]
    stock_before = shop["peach_5"].stock
    opened = open_group(client, leader, shop["offer"].id)
    group_id, leader_order = opened["group"]["id"], opened["order"]["id"]
    wechat = pay_through(client, gateway, leader, leader_order, "wechat_jsapi")
    gateway.deliver_due()
    second_order = join(client, second, group_id).json["order"]["id"]
    alipay = pay_through(client, gateway, second, second_order, "alipay_wap")
    gateway.deliver_due()
    third_order = join(client, third, group_id).json["order"]["id"]  # joins but never pays
    assert _stock() == stock_before - 3

    _overdue(group_id)
    assert expire_groups() == 1
    assert expire_groups() == 0  # the job runs again: nothing more
    assert expire_group(group_id) is False  # nor when a copy gets to the group directly
    gateway.deliver_due()  # WeChat tells the app the refund went through

    for order_id, payment in ((leader_order, wechat), (second_order, alipay)):
        refunds = _refunds_of(order_id)
        assert [(r.payment_id, r.amount_fen, r.status) for r in refunds] == [(payment["id"], 5800, "success")]
        view = client.get(f"/api/v1/orders/{order_id}", headers=leader if order_id == leader_order else second).json
        assert view["status"] == "refunded" and view["lines"][0]["refunded_fen"] == 5800
    assert len(gateway.state.alipay_refunds) == 1
    assert [r.refund_fee for r in gateway.state.wechat_refunds.values()] == [5800]
    expired = _group(client, group_id)
    assert expired["status"] == "expired" and expired["seconds_left"] == 0
    assert [m["status"] for m in expired["members"]] == ["refunded", "refunded", "joined"]

    assert expire_overdue_orders() == 1  # the unpaid joiner's order, due no later than the group
    _db.session.commit()
    assert _db.session.get(Order, third_order).status == "cancelled"
    assert _stock() == stock_before  # every member's units are back on sale
    assert balances("seller", shop["peach_5"].product.seller_id)[0] == 0  # the ledger reversed both payments
    assert _sales_today() == (0, 0, 2 * 5800)  # reports: paid, then refunded in full
    assert_books_balance()


def test_a_payment_notified_after_the_group_expired_is_refunded_too(client, group_shop, gateway):
    shop = group_shop
    leader, second = shop["headers"][:2]
    opened = open_group(client, leader, shop["offer"].id)
    group_id, leader_order = opened["group"]["id"], opened["order"]["id"]
    pay_through(client, gateway, leader, leader_order, "alipay_wap")
    gateway.deliver_due()
    late_order = join(client, second, group_id).json["order"]["id"]
    late = pay_through(client, gateway, second, late_order, "wechat_jsapi")  # paid; the notification is late

    _overdue(group_id)
    assert expire_groups() == 1
    assert [r.amount_fen for r in _refunds_of(late_order)] == []  # not paid as far as the app knows yet
    gateway.deliver_due()  # the late payment notification, then WeChat's refund notification
    gateway.deliver_due()
    refunds = _refunds_of(late_order)
    assert [(r.payment_id, r.status, r.reason) for r in refunds] == [(late["id"], "success", "after_sales")]
    assert _db.session.get(Order, late_order).status == "refunded"
    assert expire_groups() == 0
    gateway.send_variant(late["out_trade_no"], "duplicate")  # the success again changes nothing
    assert len(_refunds_of(late_order)) == 1
    assert len(_refunds_of(leader_order)) == 1
    members = _group(client, group_id)["members"]
    assert [m["status"] for m in members] == ["refunded", "refunded"]
    assert_books_balance()


def test_a_payment_for_an_order_cancelled_with_the_group_goes_back(client, group_shop, gateway):
    """The joiner's order expired (with the group) before the money was notified: returned automatically."""
    shop = group_shop
    leader, second = shop["headers"][:2]
    opened = open_group(client, leader, shop["offer"].id)
    group_id = opened["group"]["id"]
    pay_through(client, gateway, leader, opened["order"]["id"], "wechat_jsapi")
    gateway.deliver_due()
    late_order = join(client, second, group_id).json["order"]["id"]
    late = pay_through(client, gateway, second, late_order, "alipay_wap")
    _overdue(group_id)
    assert expire_groups() == 1
    expire_overdue_orders()  # cancels the joiner's order (closing its payment finds it paid: sent back)
    _db.session.commit()
    gateway.deliver_due()
    refunds = _refunds_of(late_order)
    assert [(r.payment_id, r.status) for r in refunds] == [(late["id"], "success")]
    assert _db.session.get(Order, late_order).status == "cancelled"
    assert [m["status"] for m in _group(client, group_id)["members"]] == ["refunded"]
    assert_books_balance()


def test_places_are_counted_and_freed_by_unpaid_orders(client, group_shop, gateway):
    shop = group_shop
    shop["offer"].group_size = 2
    _db.session.commit()
    leader, second, third = shop["headers"][:3]
    opened = open_group(client, leader, shop["offer"].id)
    group_id = opened["group"]["id"]
    pay_through(client, gateway, leader, opened["order"]["id"], "wechat_jsapi")
    gateway.deliver_due()
    holding = join(client, second, group_id).json["order"]["id"]
    full = join(client, third, group_id)
    assert full.status_code == 409 and full.json["error"]["code"] == "group_full"
    _db.session.get(Order, holding).expires_at = utcnow() - timedelta(minutes=1)
    _db.session.commit()
    assert expire_overdue_orders() == 1
    _db.session.commit()
    assert _group(client, group_id)["places_left"] == 1
    assert join(client, third, group_id).status_code == 201


def test_a_group_whose_first_buyer_never_pays_is_cancelled(client, group_shop):
    shop = group_shop
    opened = open_group(client, shop["headers"][0], shop["offer"].id)
    _db.session.get(Order, opened["order"]["id"]).expires_at = utcnow() - timedelta(minutes=1)
    _db.session.commit()
    expire_overdue_orders()
    _db.session.commit()
    assert _group(client, opened["group"]["id"])["status"] == "cancelled"
    assert join(client, shop["headers"][1], opened["group"]["id"]).json["error"]["code"] == "group_closed"


def test_unknown_group_is_404_and_joining_needs_a_login(client, group_shop):
    assert client.get("/api/v1/groups/999999").status_code == 404
    assert join(client, {}, 1).status_code == 401


def test_the_station_sees_a_group_order_to_ship_only_once_the_group_succeeded(client, group_shop):
    shop = group_shop
    station = shop["peach_station"]
    manager = factories.user(("station_manager", YANLING, station.id))
    shop["offer"].group_size = 2
    _db.session.commit()
    opened = open_group(client, shop["headers"][0], shop["offer"].id)
    pay(opened["order"]["id"])
    joined = join(client, shop["headers"][1], opened["group"]["id"]).json
    assert [view.id for view in orders_to_ship(manager, station)] == []  # forming: not ready to ship
    pay(joined["order"]["id"], "alipay_wap")
    assert _group(client, opened["group"]["id"])["status"] == "succeeded"
    assert sorted(view.id for view in orders_to_ship(manager, station)) == [
        opened["order"]["id"],
        joined["order"]["id"],
    ]


def test_a_group_order_on_a_presale_takes_quota_and_carries_the_window(client, group_shop):
    from shop.orders.models import Presale
    from tests.shop.orders.test_presale_pickup import _presale

    created = _presale(client, group_shop, quota=2, sku=group_shop["peach_5"])
    assert created.status_code == 201, created.json
    stock = _db.session.get(Sku, group_shop["peach_5"].id).stock
    opened = open_group(client, group_shop["headers"][0], group_shop["offer"].id, quantity=2)
    (line,) = opened["order"]["lines"]
    assert (line["presale_id"], line["ships_from"], line["ships_until"]) == (
        created.json["id"],
        created.json["ships_from"],
        created.json["ships_until"],
    )
    _db.session.expire_all()
    assert _db.session.get(Sku, group_shop["peach_5"].id).stock == stock  # not harvested yet: quota, not stock
    assert _db.session.get(Presale, created.json["id"]).sold == 2
    over = client.post(
        "/api/v1/groups",
        headers=group_shop["headers"][1],
        json={"offer_id": group_shop["offer"].id, "quantity": 1, "address": ADDRESS},
    )
    assert over.status_code == 409 and over.json["error"]["code"] == "out_of_stock"  # the quota is sold out
    cancelled = client.post(f"/api/v1/orders/{opened['order']['id']}/cancel", headers=group_shop["headers"][0])
    assert cancelled.status_code == 200, cancelled.json
    _db.session.expire_all()
    assert _db.session.get(Presale, created.json["id"]).sold == 0


def test_a_members_failed_expiry_refund_is_sent_again(client, group_shop, gateway):
    from shop.orders.models import RefundRequest

    shop = group_shop
    leader = shop["headers"][0]
    opened = open_group(client, leader, shop["offer"].id)
    group_id, order_id = opened["group"]["id"], opened["order"]["id"]
    wechat = pay_through(client, gateway, leader, order_id, "wechat_jsapi")
    gateway.deliver_due()
    stock = _stock()
    _overdue(group_id)
    gateway.state.wechat_refund_outcome = "CLOSED"  # WeChat closed the refund: the money never left
    assert expire_groups() == 1
    gateway.deliver_due()
    assert [r.status for r in _refunds_of(order_id)] == ["failed"]
    assert client.get(f"/api/v1/orders/{order_id}", headers=leader).json["status"] == "paid"  # the money is held

    gateway.state.wechat_refund_outcome = "SUCCESS"
    expire_groups()
    gateway.deliver_due()
    assert [r.status for r in _refunds_of(order_id)] == ["failed"]  # not again at once: an hour apart
    failed = _db.session.scalar(sa.select(RefundRequest).where(RefundRequest.order_id == order_id))
    failed.created_at = utcnow() - timedelta(hours=2)
    _db.session.commit()
    expire_groups()
    expire_groups()  # a second run finds the refund under way or done: nothing more
    gateway.deliver_due()
    refunds = _refunds_of(order_id)
    assert [(r.payment_id, r.amount_fen, r.status) for r in refunds] == [
        (wechat["id"], 5800, "failed"),
        (wechat["id"], 5800, "success"),
    ]
    view = client.get(f"/api/v1/orders/{order_id}", headers=leader).json
    assert view["status"] == "refunded" and view["lines"][0]["refunded_fen"] == 5800
    expire_groups()
    assert len(_refunds_of(order_id)) == 2
    assert _stock() == stock + 1  # the member's unit went back on sale once, with the first refund
    assert balances("seller", shop["peach_5"].product.seller_id)[0] == 0
    assert_books_balance()


def test_staff_see_which_paid_orders_wait_for_their_group(client, group_shop, gateway):
    shop = group_shop
    leader = shop["headers"][0]
    opened = open_group(client, leader, shop["offer"].id)
    group_id, order_id = opened["group"]["id"], opened["order"]["id"]
    assert opened["order"]["group"] == {"id": group_id, "status": "opening"}
    pay_through(client, gateway, leader, order_id, "wechat_jsapi")
    gateway.deliver_due()
    plain = place(client, shop, [(shop["peach_10"], 1)]).json["id"]
    pay(plain)
    listed = client.get("/api/v1/orders?view=staff", headers=shop["peach_manager"]).json["items"]
    by_id = {item["id"]: item for item in listed}
    assert by_id[order_id]["status"] == "paid" and by_id[order_id]["group"] == {"id": group_id, "status": "forming"}
    assert by_id[plain]["group"] is None
    one = client.get(f"/api/v1/orders/{order_id}", headers=shop["peach_manager"]).json
    assert one["group"] == {"id": group_id, "status": "forming"}
