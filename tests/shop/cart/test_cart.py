"""The server cart: live prices, items kept when they cannot be ordered, limits, and paid SKUs leaving it."""

from core.extensions import db as _db
from shop.cart.models import MAX_DISTINCT_SKUS
from shop.models import ProductStatus
from tests import factories
from tests.orders import pay, place


def _put(client, shop, sku_id, quantity, header=None):
    return client.put(
        f"/api/v1/cart/items/{sku_id}", json={"quantity": quantity}, headers=header or shop["buyer_header"]
    )


def test_an_empty_cart(client, shop):
    response = client.get("/api/v1/cart", headers=shop["buyer_header"])
    assert response.status_code == 200
    assert response.json == {"items": [], "total_fen": 0}


def test_items_from_two_stations_with_the_total_from_the_server(client, shop):
    _put(client, shop, shop["peach_5"].id, 2)
    response = _put(client, shop, shop["garlic"].id, 3)
    assert response.status_code == 200
    items = response.json["items"]
    assert [(item["sku_id"], item["quantity"]) for item in items] == [(shop["peach_5"].id, 2), (shop["garlic"].id, 3)]
    assert items[0]["sku_name"] == "5斤装" and items[0]["price_fen"] == 6800 and items[0]["available"] is True
    assert items[0]["station_id"] == shop["peach_station"].id
    assert {items[0]["station_id"], items[1]["station_id"]} == {shop["peach_station"].id, shop["garlic_station"].id}
    assert response.json["total_fen"] == 2 * 6800 + 3 * 3000
    # The same cart from another phone: it lives on the server.
    again = client.get("/api/v1/cart", headers=factories.auth_header(shop["buyer"]))
    assert again.json == response.json


def test_setting_a_quantity_replaces_it_and_zero_or_delete_removes_it(client, shop):
    _put(client, shop, shop["peach_5"].id, 2)
    assert _put(client, shop, shop["peach_5"].id, 5).json["items"][0]["quantity"] == 5
    assert _put(client, shop, shop["peach_5"].id, 0).json["items"] == []
    _put(client, shop, shop["garlic"].id, 1)
    response = client.delete(f"/api/v1/cart/items/{shop['garlic'].id}", headers=shop["buyer_header"])
    assert response.status_code == 200 and response.json == {"items": [], "total_fen": 0}


def test_quantity_out_of_range_is_a_validation_error(client, shop):
    for quantity in (-1, 100, "2", 1.5):
        response = _put(client, shop, shop["peach_5"].id, quantity)
        assert response.status_code == 422, quantity
        assert "quantity" in response.json["error"]["details"]


def test_a_sku_not_on_sale_cannot_be_added(client, shop):
    hidden = factories.product(shop["peach_station"], status=ProductStatus.PENDING_REVIEW)
    assert _put(client, shop, hidden.skus[0].id, 1).status_code == 404
    assert _put(client, shop, 999999, 1).status_code == 404


def test_items_that_went_off_sale_ran_short_or_changed_price_stay_marked(client, shop):
    _put(client, shop, shop["peach_5"].id, 2)
    _put(client, shop, shop["peach_10"].id, 4)
    _put(client, shop, shop["garlic"].id, 1)
    shop["peach_5"].price_fen = 7200
    shop["peach_10"].stock = 3
    shop["garlic"].product.status = ProductStatus.OFF_SHELF
    _db.session.commit()
    body = client.get("/api/v1/cart", headers=shop["buyer_header"]).json
    by_sku = {item["sku_id"]: item for item in body["items"]}
    assert by_sku[shop["peach_5"].id]["price_fen"] == 7200 and by_sku[shop["peach_5"].id]["available"] is True
    assert by_sku[shop["peach_10"].id]["available"] is False and by_sku[shop["peach_10"].id]["reason"] == "库存不足"
    assert by_sku[shop["garlic"].id]["available"] is False and by_sku[shop["garlic"].id]["reason"] == "商品已下架"
    assert body["total_fen"] == 2 * 7200  # only what can be ordered counts


def test_at_most_fifty_distinct_skus(client, shop):
    skus = factories.product(
        shop["peach_station"], skus=tuple((f"{n}号", 100 + n, 5) for n in range(MAX_DISTINCT_SKUS))
    ).skus
    for sku in skus[: MAX_DISTINCT_SKUS - 1]:
        assert _put(client, shop, sku.id, 1).status_code == 200
    assert _put(client, shop, shop["garlic"].id, 1).status_code == 200
    response = _put(client, shop, skus[-1].id, 1)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"
    # Changing the quantity of one already there is still fine.
    assert _put(client, shop, shop["garlic"].id, 2).status_code == 200


def test_each_buyer_sees_only_their_own_cart(client, shop):
    _put(client, shop, shop["peach_5"].id, 2)
    other = factories.auth_header(factories.user(("buyer", None)))
    assert client.get("/api/v1/cart", headers=other).json["items"] == []


def test_paid_skus_leave_the_cart_and_the_others_stay(client, shop):
    _put(client, shop, shop["peach_5"].id, 2)
    _put(client, shop, shop["garlic"].id, 1)
    order = place(client, shop, [(shop["peach_5"], 2)]).json
    # Placing is not paying: the cart keeps the item until the money arrives.
    assert len(client.get("/api/v1/cart", headers=shop["buyer_header"]).json["items"]) == 2
    pay(order["id"])
    items = client.get("/api/v1/cart", headers=shop["buyer_header"]).json["items"]
    assert [item["sku_id"] for item in items] == [shop["garlic"].id]


def test_the_cart_needs_a_login(client, shop):
    assert client.get("/api/v1/cart").status_code == 401
    assert client.put(f"/api/v1/cart/items/{shop['peach_5'].id}", json={"quantity": "x"}).status_code == 401
