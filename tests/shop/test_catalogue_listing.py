"""Listing products: validation, who may list for which station, edits, off-shelf."""

import pytest
import sqlalchemy as sa

from core.extensions import db as _db
from shop.models import Product, ProductReviewEvent, Sku
from tests import catalogue, factories
from tests.catalogue import CHALING_VILLAGE, YANLING_OTHER_VILLAGE


@pytest.fixture
def yanling(db):
    return catalogue.county()


def test_categories_are_a_public_managed_list(client):
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    names = {item["slug"]: item["name"] for item in response.json["items"]}
    assert names["fruit"] == "水果" and names["tea"] == "茶叶" and names["grain_oil"] == "粮油"
    assert {"vegetables", "meat_eggs", "dried_goods", "handicrafts"} <= set(names)


def test_platform_admin_manages_categories_and_inactive_ones_take_no_listings(client, yanling):
    admin = factories.user(("platform_admin", None))
    created = client.post(
        "/api/v1/categories",
        json={"slug": "flowers", "name": "花卉苗木", "sort_order": 95},
        headers=factories.auth_header(admin),
    )
    assert created.status_code == 201
    off = client.patch("/api/v1/categories/flowers", json={"is_active": False}, headers=factories.auth_header(admin))
    assert off.json["is_active"] is False
    response = client.post(
        "/api/v1/products", json=catalogue.listing(yanling, category="flowers"), headers=yanling.manager_auth
    )
    assert response.status_code == 422 and "category" in response.json["error"]["details"]
    assert (
        client.post("/api/v1/categories", json={"slug": "x1", "name": "某"}, headers=yanling.admin_auth).status_code
        == 403
    )


def test_station_manager_lists_a_product_that_waits_for_review(client, yanling):
    body = catalogue.create(client, yanling)
    assert body["status"] == "pending_review"
    assert body["price_fen"] == 6800  # the lowest SKU
    assert [(sku["name"], sku["price_fen"], sku["stock"]) for sku in body["skus"]] == [
        ("5斤装", 6800, 50),
        ("10斤装", 12800, 20),
    ]
    assert body["category"] == {"slug": "fruit", "name": "水果"}
    assert body["station"]["id"] == yanling.station.id
    product = _db.session.get(Product, body["id"])
    assert product.min_price_fen == 6800 and product.created_by_id == yanling.manager.id
    events = _db.session.scalars(sa.select(ProductReviewEvent.action)).all()
    assert events == ["submitted"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "桃"}, "title"),
        ({"title": "桃" * 61}, "title"),
        ({"title": "   桃   "}, "title"),
        ({"unit": ""}, "unit"),
        ({"skus": []}, "skus"),
        ({"skus": [{"name": f"规格{i}", "price_fen": 100, "stock": 1} for i in range(21)]}, "skus"),
        ({"skus": [{"name": "5斤装", "price_fen": 0, "stock": 1}]}, "skus"),
        ({"skus": [{"name": "5斤装", "price_fen": 10_000_001, "stock": 1}]}, "skus"),
        ({"skus": [{"name": "5斤装", "price_fen": 68.5, "stock": 1}]}, "skus"),
        ({"skus": [{"name": "5斤装", "price_fen": 6800, "stock": -1}]}, "skus"),
        (
            {
                "skus": [
                    {"name": "5斤装", "price_fen": 1, "stock": 1},
                    {"name": "5斤装", "price_fen": 2, "stock": 1},
                ]
            },
            "skus",
        ),
        ({"origin_village_code": "4302251002"}, "origin_village_code"),
        ({"origin_village_code": "430225100299"}, "origin_village_code"),
        ({"category": "weapons"}, "category"),
    ],
)
def test_invalid_listings_are_422_naming_the_field(client, yanling, change, field):
    response = client.post("/api/v1/products", json=catalogue.listing(yanling, **change), headers=yanling.manager_auth)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["details"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_price_bounds_are_inclusive(client, yanling):
    skus = [
        {"name": "一分", "price_fen": 1, "stock": 0},
        {"name": "十万元", "price_fen": 10_000_000, "stock": 0},
    ]
    body = catalogue.create(client, yanling, skus=skus)
    assert body["price_fen"] == 1


def test_the_seller_must_belong_to_the_station(client, yanling):
    other_station = factories.station(YANLING_OTHER_VILLAGE)
    stranger = factories.seller(other_station)
    response = client.post(
        "/api/v1/products",
        json=catalogue.listing(yanling, seller_id=stranger.id),
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    assert "seller_id" in response.json["error"]["details"]


def test_a_station_manager_lists_only_for_their_own_station(client, yanling):
    other_station = factories.station(YANLING_OTHER_VILLAGE)
    other_seller = factories.seller(other_station)
    body = catalogue.listing(yanling, station_id=other_station.id, seller_id=other_seller.id)
    response = client.post("/api/v1/products", json=body, headers=yanling.manager_auth)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_the_origin_village_must_lie_in_the_station_county(client, yanling):
    factories.region(CHALING_VILLAGE)
    response = client.post(
        "/api/v1/products",
        json=catalogue.listing(yanling, origin_village_code=CHALING_VILLAGE),
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    assert "origin_village_code" in response.json["error"]["details"]


def test_a_county_admin_may_list_for_a_station_of_the_county(client, yanling):
    response = client.post("/api/v1/products", json=catalogue.listing(yanling), headers=yanling.admin_auth)
    assert response.status_code == 201


def test_a_suspended_station_cannot_list(client, yanling):
    yanling.station.status = "suspended"
    _db.session.commit()
    response = client.post("/api/v1/products", json=catalogue.listing(yanling), headers=yanling.manager_auth)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "invalid_state"


def test_listing_needs_a_signed_in_staff_member(client, yanling):
    assert client.post("/api/v1/products", json=catalogue.listing(yanling)).status_code == 401
    buyer = factories.user(("buyer", None))
    response = client.post("/api/v1/products", json=catalogue.listing(yanling), headers=factories.auth_header(buyer))
    assert response.status_code == 403


# Edits ------------------------------------------------------------------------


def test_editing_the_title_of_an_on_sale_product_sends_it_back_to_review(client, yanling):
    product = catalogue.on_sale(client, yanling)
    response = client.patch(
        f"/api/v1/products/{product['id']}", json={"title": "炎陵高山黄桃"}, headers=yanling.manager_auth
    )
    assert response.status_code == 200
    assert response.json["status"] == "pending_review"
    assert response.json["title"] == "炎陵高山黄桃"
    # Buyers no longer see it until the county looks again.
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 404


@pytest.mark.parametrize("field", ["description", "unit", "category"])
def test_other_content_edits_also_need_review(client, yanling, field):
    product = catalogue.on_sale(client, yanling)
    value = {"description": "新的描述", "unit": "斤", "category": "dried_goods"}[field]
    response = client.patch(f"/api/v1/products/{product['id']}", json={field: value}, headers=yanling.manager_auth)
    assert response.json["status"] == "pending_review"


def test_price_and_stock_edits_keep_the_product_on_sale(client, yanling):
    product = catalogue.on_sale(client, yanling)
    small, large = product["skus"]
    response = client.patch(
        f"/api/v1/products/{product['id']}",
        json={
            "skus": [
                {"id": small["id"], "name": "5斤装", "price_fen": 5900, "stock": 80},
                {"id": large["id"], "name": "10斤装", "price_fen": 11800, "stock": 0},
            ]
        },
        headers=yanling.manager_auth,
    )
    assert response.status_code == 200
    assert response.json["status"] == "on_sale"
    assert response.json["price_fen"] == 5900
    one = client.patch(
        f"/api/v1/products/{product['id']}/skus/{large['id']}",
        json={"price_fen": 4900, "stock": 3},
        headers=yanling.manager_auth,
    )
    assert one.json["status"] == "on_sale" and one.json["price_fen"] == 4900
    assert client.get(f"/api/v1/products/{product['id']}").json["price_fen"] == 4900


def test_an_unchanged_title_is_not_an_edit(client, yanling):
    product = catalogue.on_sale(client, yanling)
    response = client.patch(
        f"/api/v1/products/{product['id']}", json={"title": product["title"]}, headers=yanling.manager_auth
    )
    assert response.json["status"] == "on_sale"


def test_a_removed_sku_is_kept_for_orders_but_no_longer_sold(client, yanling):
    product = catalogue.on_sale(client, yanling)
    small, large = product["skus"]
    response = client.patch(
        f"/api/v1/products/{product['id']}",
        json={"skus": [{"id": large["id"], "name": "10斤装", "price_fen": 12800, "stock": 20}]},
        headers=yanling.manager_auth,
    )
    assert response.json["status"] == "on_sale"
    assert [sku["id"] for sku in response.json["skus"]] == [large["id"]]
    assert response.json["price_fen"] == 12800
    kept = _db.session.get(Sku, small["id"])
    assert kept is not None and kept.is_active is False


def test_a_new_sku_is_new_text_and_needs_review(client, yanling):
    product = catalogue.on_sale(client, yanling)
    skus = [{k: sku[k] for k in ("id", "name", "price_fen", "stock")} for sku in product["skus"]]
    skus.append({"name": "礼盒装", "price_fen": 19800, "stock": 5})
    response = client.patch(f"/api/v1/products/{product['id']}", json={"skus": skus}, headers=yanling.manager_auth)
    assert response.json["status"] == "pending_review"
    assert len(response.json["skus"]) == 3


def test_a_sku_of_another_product_cannot_be_edited_through_this_one(client, yanling):
    first = catalogue.create(client, yanling)
    second = catalogue.create(client, yanling, title="炎陵笋干")
    foreign = second["skus"][0]["id"]
    response = client.patch(
        f"/api/v1/products/{first['id']}",
        json={"skus": [{"id": foreign, "name": "5斤装", "price_fen": 1, "stock": 1}]},
        headers=yanling.manager_auth,
    )
    assert response.status_code == 422
    assert (
        client.patch(
            f"/api/v1/products/{first['id']}/skus/{foreign}", json={"stock": 1}, headers=yanling.manager_auth
        ).status_code
        == 422
    )


def test_another_station_cannot_edit_a_product(client, yanling):
    product = catalogue.create(client, yanling)
    other = catalogue.county(YANLING_OTHER_VILLAGE)
    response = client.patch(f"/api/v1/products/{product['id']}", json={"title": "改个名"}, headers=other.manager_auth)
    assert response.status_code == 404  # not on sale: its existence is not revealed


def test_off_shelf_and_back_through_review(client, yanling):
    product = catalogue.on_sale(client, yanling)
    off = client.post(
        f"/api/v1/products/{product['id']}/off-shelf", json={"reason": "已售罄"}, headers=yanling.manager_auth
    )
    assert off.status_code == 200 and off.json["status"] == "off_shelf"
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 404
    again = client.post(f"/api/v1/products/{product['id']}/off-shelf", json={}, headers=yanling.manager_auth)
    assert again.status_code == 409 and again.json["error"]["code"] == "invalid_state"
    back = client.post(f"/api/v1/products/{product['id']}/submit", headers=yanling.manager_auth)
    assert back.json["status"] == "pending_review"
    assert catalogue.approve(client, yanling, product["id"])["status"] == "on_sale"


def test_only_rejected_or_off_shelf_products_are_resubmitted(client, yanling):
    product = catalogue.create(client, yanling)
    response = client.post(f"/api/v1/products/{product['id']}/submit", headers=yanling.manager_auth)
    assert response.status_code == 409


def test_station_manager_sees_every_status_with_the_rejection_reason(client, yanling):
    waiting = catalogue.create(client, yanling, title="茶陵大蒜")
    rejected = catalogue.create(client, yanling, title="炎陵笋干")
    client.post(
        f"/api/v1/products/{rejected['id']}/review",
        json={"decision": "reject", "reason": "图片不清晰，请补拍"},
        headers=yanling.admin_auth,
    )
    selling = catalogue.on_sale(client, yanling, title="炎陵黄桃")
    response = client.get(f"/api/v1/stations/{yanling.station.id}/products", headers=yanling.manager_auth)
    assert response.status_code == 200
    by_id = {item["id"]: item for item in response.json["items"]}
    assert by_id[waiting["id"]]["status"] == "pending_review"
    assert by_id[rejected["id"]]["status"] == "rejected"
    assert by_id[rejected["id"]]["rejection_reason"] == "图片不清晰，请补拍"
    assert by_id[selling["id"]]["stock"] == 70
    only_rejected = client.get(
        f"/api/v1/stations/{yanling.station.id}/products?status=rejected", headers=yanling.manager_auth
    )
    assert [item["id"] for item in only_rejected.json["items"]] == [rejected["id"]]
    other = catalogue.county(YANLING_OTHER_VILLAGE)
    assert client.get(f"/api/v1/stations/{yanling.station.id}/products", headers=other.manager_auth).status_code == 404


def test_the_villager_sees_their_products_on_their_own_page(client, yanling):
    villager = factories.user(("seller", yanling.station.village_code), wechat_openid="openid-li")
    yanling.seller.user_id = villager.id
    _db.session.commit()
    product = catalogue.create(client, yanling)
    page = client.get("/api/v1/sellers/me", headers=factories.auth_header(villager))
    assert page.status_code == 200
    assert [(p["id"], p["status"]) for p in page.json["products"]] == [(product["id"], "pending_review")]
    # …and may open their own listing while it waits for review.
    assert client.get(f"/api/v1/products/{product['id']}", headers=factories.auth_header(villager)).status_code == 200
