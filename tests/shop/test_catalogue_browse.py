"""The public catalogue: visibility, search, filters, sorting, query counts, ETags, the cache."""

import os
import uuid

import pytest
from werkzeug.datastructures import MultiDict

from core.db import utcnow
from core.extensions import db as _db
from shop import browse
from shop.cache import catalogue_cache
from tests import catalogue, factories
from tests.catalogue import CHALING_VILLAGE, YANLING_OTHER_VILLAGE

LIST_ITEM_FIELDS = {
    "id",
    "title",
    "price_fen",
    "cover_image_url",
    "station",
    "village",
    "poverty_certified",
    "sales_count",
}


@pytest.fixture
def yanling(db):
    return catalogue.county()


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_anonymous_buyers_see_only_on_sale_products_of_active_stations(client, yanling):
    selling = catalogue.on_sale(client, yanling, title="炎陵黄桃")
    waiting = catalogue.create(client, yanling, title="炎陵笋干")
    rejected = catalogue.create(client, yanling, title="炎陵红薯干")
    client.post(
        f"/api/v1/products/{rejected['id']}/review",
        json={"decision": "reject", "reason": "描述不实"},
        headers=yanling.admin_auth,
    )
    withdrawn = catalogue.on_sale(client, yanling, title="炎陵雪梨")
    client.post(f"/api/v1/products/{withdrawn['id']}/off-shelf", json={}, headers=yanling.manager_auth)
    suspended = catalogue.county(YANLING_OTHER_VILLAGE)
    hidden = catalogue.on_sale(client, suspended, title="炎陵茶叶")
    suspended.station.status = "suspended"
    _db.session.commit()

    assert _ids(client.get("/api/v1/products")) == [selling["id"]]
    assert client.get(f"/api/v1/products/{selling['id']}").status_code == 200
    for product in (waiting, rejected, withdrawn, hidden):
        response = client.get(f"/api/v1/products/{product['id']}")
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"


def test_list_items_have_exactly_the_contract_fields(client, yanling):
    product = catalogue.on_sale(client, yanling)
    item = client.get("/api/v1/products").json["items"][0]
    assert set(item) == LIST_ITEM_FIELDS
    assert item["price_fen"] == 6800
    assert item["station"] == {"id": yanling.station.id, "name": yanling.station.name}
    assert item["village"]["code"] == yanling.station.village_code and item["village"]["name"]
    assert item["poverty_certified"] is False and item["sales_count"] == 0
    detail = client.get(f"/api/v1/products/{product['id']}").json
    assert set(detail) >= LIST_ITEM_FIELDS
    assert [set(sku) for sku in detail["skus"]] == [{"id", "name", "price_fen", "stock"}] * 2
    assert detail["description"] and detail["unit"] == "箱" and detail["category"]["slug"] == "fruit"
    assert detail["seller_village"]["code"] == yanling.station.village_code
    assert "seller" not in detail  # a villager's name and household status stay with the staff


def test_staff_in_scope_see_an_unpublished_product_and_others_do_not(client, yanling):
    product = catalogue.create(client, yanling)
    staff = client.get(f"/api/v1/products/{product['id']}", headers=yanling.admin_auth)
    assert staff.status_code == 200
    assert staff.json["status"] == "pending_review"
    assert staff.headers["Cache-Control"].startswith("private")
    chaling_admin = factories.user(("county_admin", CHALING_VILLAGE[:6]))
    outside = client.get(f"/api/v1/products/{product['id']}", headers=factories.auth_header(chaling_admin))
    assert outside.status_code == 404
    buyer = factories.user(("buyer", None))
    assert client.get(f"/api/v1/products/{product['id']}", headers=factories.auth_header(buyer)).status_code == 404


def test_search_finds_chinese_text_in_title_and_description(client, yanling):
    peach = catalogue.on_sale(client, yanling, title="炎陵黄桃 5斤装", description="高山果园")
    garlic = catalogue.on_sale(client, yanling, title="紫皮大蒜", description="茶陵特产，配黄桃也不错")
    catalogue.on_sale(client, yanling, title="攸县香干", description="豆制品")
    assert sorted(_ids(client.get("/api/v1/products?q=黄桃"))) == sorted([peach["id"], garlic["id"]])
    assert _ids(client.get("/api/v1/products?q=高山果园")) == [peach["id"]]
    assert _ids(client.get("/api/v1/products?q=不存在的东西")) == []


@pytest.mark.parametrize("query", ["%", "_", "/", "桃%"])
def test_search_treats_like_wildcards_literally(client, yanling, query):
    catalogue.on_sale(client, yanling, title="炎陵黄桃")
    assert _ids(client.get("/api/v1/products", query_string={"q": query})) == []


def test_search_finds_a_literal_percent_sign(client, yanling):
    product = catalogue.on_sale(client, yanling, title="含糖量18%的黄桃")
    catalogue.on_sale(client, yanling, title="含糖量18度的黄桃")
    assert _ids(client.get("/api/v1/products", query_string={"q": "18%"})) == [product["id"]]


def test_filters_by_category_region_and_poverty(client, db):
    yanling = catalogue.county(poor_household=True)
    chaling = catalogue.county(CHALING_VILLAGE)
    peach = catalogue.create(client, yanling, title="炎陵黄桃")
    catalogue.approve(client, yanling, peach["id"], poverty_certified=True, certificate_no="YL-1")
    tea = catalogue.on_sale(client, yanling, title="炎陵高山云雾茶", category="tea")
    garlic = catalogue.on_sale(
        client, chaling, title="茶陵大蒜", category="vegetables", origin_village_code=CHALING_VILLAGE
    )
    assert _ids(client.get("/api/v1/products?category=tea")) == [tea["id"]]
    assert sorted(_ids(client.get("/api/v1/products?region=430225"))) == sorted([peach["id"], tea["id"]])
    assert _ids(client.get("/api/v1/products?region=430224")) == [garlic["id"]]
    assert _ids(client.get("/api/v1/products?region=4302")) and len(_ids(client.get("/api/v1/products"))) == 3
    assert _ids(client.get("/api/v1/products?poverty=true")) == [peach["id"]]
    assert _ids(client.get("/api/v1/products?region=430224&category=vegetables&q=大蒜")) == [garlic["id"]]


def test_sort_orders(client, yanling):
    cheap = catalogue.on_sale(client, yanling, title="便宜的", skus=[{"name": "1斤", "price_fen": 990, "stock": 1}])
    dear = catalogue.on_sale(client, yanling, title="贵的", skus=[{"name": "1斤", "price_fen": 99000, "stock": 1}])
    middle = catalogue.on_sale(client, yanling, title="中间的", skus=[{"name": "1斤", "price_fen": 5000, "stock": 1}])
    from shop.models import Product

    _db.session.get(Product, middle["id"]).sales_count = 40
    _db.session.get(Product, cheap["id"]).sales_count = 3
    _db.session.commit()
    assert _ids(client.get("/api/v1/products?sort=price_asc")) == [cheap["id"], middle["id"], dear["id"]]
    assert _ids(client.get("/api/v1/products?sort=price_desc")) == [dear["id"], middle["id"], cheap["id"]]
    assert _ids(client.get("/api/v1/products?sort=sales")) == [middle["id"], cheap["id"], dear["id"]]
    assert _ids(client.get("/api/v1/products?sort=newest")) == [middle["id"], dear["id"], cheap["id"]]
    assert client.get("/api/v1/products?sort=random").status_code == 422


def test_pagination_envelope(client, yanling):
    for number in range(5):
        factories.product(yanling.station, yanling.seller, title=f"黄桃{number}")
    page = client.get("/api/v1/products?page=2&per_page=2").json
    assert (page["page"], page["per_page"], page["total"], len(page["items"])) == (2, 2, 5, 2)
    assert client.get("/api/v1/products?per_page=101").status_code == 422


# Query counts ------------------------------------------------------------------


@pytest.mark.parametrize("query", ["q=黄桃", "category=fruit&sort=price_asc", "page=6", "poverty=false"])
def test_a_list_page_costs_two_queries_whatever_its_size(client, yanling, count_queries, query):
    for number in range(60):
        factories.product(yanling.station, yanling.seller, title=f"炎陵黄桃{number}")
    for per_page in (1, 10, 100):
        catalogue_cache().clear()
        with count_queries() as queries:
            response = client.get(f"/api/v1/products?{query}&per_page={per_page}")
        assert response.status_code == 200
        assert len(queries) <= 2, queries


def test_a_product_page_costs_three_queries(client, yanling, count_queries):
    product = catalogue.on_sale(client, yanling)
    catalogue_cache().clear()
    with count_queries() as queries:
        assert client.get(f"/api/v1/products/{product['id']}").status_code == 200
    assert len(queries) <= 3, queries  # the product with its station and village, SKUs, images


# ETags -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/products", "/api/v1/products?q=黄桃", "/api/v1/products/{id}"])
def test_etag_and_if_none_match(client, yanling, path):
    product = catalogue.on_sale(client, yanling)
    url = path.format(id=product["id"])
    first = client.get(url)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    client.patch(
        f"/api/v1/products/{product['id']}/skus/{product['skus'][0]['id']}",
        json={"price_fen": 5800},
        headers=yanling.manager_auth,
    )
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


# The cache ---------------------------------------------------------------------


def test_a_cached_home_feed_page_costs_no_sql(client, yanling, count_queries):
    catalogue.on_sale(client, yanling)
    client.get("/api/v1/products")  # fills the cache
    with count_queries() as queries:
        response = client.get("/api/v1/products")
        detail = client.get(f"/api/v1/products/{response.json['items'][0]['id']}")
        client.get(f"/api/v1/products/{response.json['items'][0]['id']}")  # now cached too
    assert response.status_code == 200 and len(response.json["items"]) == 1
    assert detail.status_code == 200
    assert len(queries) == 3  # only the first look at the product page went to the database
    with count_queries() as queries:
        assert client.get(f"/api/v1/products/{detail.json['id']}").status_code == 200
        assert client.get("/api/v1/products", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    assert queries == []


def test_a_change_is_visible_at_once(client, yanling):
    first = catalogue.on_sale(client, yanling, title="炎陵黄桃")
    assert _ids(client.get("/api/v1/products")) == [first["id"]]
    assert client.get(f"/api/v1/products/{first['id']}").json["skus"][0]["stock"] == 50
    second = catalogue.on_sale(client, yanling, title="炎陵笋干")
    assert _ids(client.get("/api/v1/products")) == [second["id"], first["id"]]
    client.patch(
        f"/api/v1/products/{first['id']}/skus/{first['skus'][0]['id']}",
        json={"stock": 7},
        headers=yanling.manager_auth,
    )
    assert client.get(f"/api/v1/products/{first['id']}").json["skus"][0]["stock"] == 7
    client.post(f"/api/v1/products/{second['id']}/off-shelf", json={}, headers=yanling.manager_auth)
    assert _ids(client.get("/api/v1/products")) == [first["id"]]


def test_suspending_a_station_hides_its_products_at_once(client, yanling):
    product = catalogue.on_sale(client, yanling)
    assert _ids(client.get("/api/v1/products")) == [product["id"]]
    client.get(f"/api/v1/products/{product['id']}")
    response = client.post(
        f"/api/v1/stations/{yanling.station.id}/suspend",
        json={"reason": "虚假宣传"},
        headers=yanling.admin_auth,
    )
    assert response.status_code == 200
    assert _ids(client.get("/api/v1/products")) == []
    assert client.get(f"/api/v1/products/{product['id']}").status_code == 404


def test_a_failed_change_does_not_bump_the_version(client, yanling):
    product = catalogue.create(client, yanling)
    version = catalogue_cache().version()
    response = client.patch(f"/api/v1/products/{product['id']}", json={"title": "冰毒"}, headers=yanling.manager_auth)
    assert response.status_code == 422
    assert catalogue_cache().version() == version
    factories.product(yanling.station, yanling.seller)
    _db.session.commit()  # the version moves when a change commits
    assert catalogue_cache().version() > version


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_cache(app, monkeypatch):
    """The catalogue cache in a real Redis under a key prefix of this test's own."""
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        connection.ping()
    except (redis.RedisError, OSError):
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex}:"
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "CACHE_KEY_PREFIX", prefix)
    yield connection, prefix
    keys = list(connection.scan_iter(match=f"{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.close()
    app.extensions.pop("catalogue_cache", None)


def test_the_cache_is_shared_through_redis(client, app, yanling, count_queries, redis_cache):
    connection, prefix = redis_cache
    first = catalogue.on_sale(client, yanling, title="炎陵黄桃")
    assert _ids(client.get("/api/v1/products")) == [first["id"]]
    stored = [key.decode() for key in connection.scan_iter(match=f"{prefix}catalogue:*")]
    assert f"{prefix}catalogue:version" in stored
    assert any(key.endswith(":feed:1:20") for key in stored)
    # Another worker (here: a fresh cache object) finds the page without touching the database.
    app.extensions.pop("catalogue_cache", None)
    with count_queries() as queries:
        assert _ids(client.get("/api/v1/products")) == [first["id"]]
    assert queries == []
    # A change bumps the shared version, so every worker sees it at once.
    second = catalogue.on_sale(client, yanling, title="炎陵笋干")
    app.extensions.pop("catalogue_cache", None)
    assert _ids(client.get("/api/v1/products")) == [second["id"], first["id"]]


def test_the_catalogue_works_when_redis_is_down(client, app, yanling, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    product = factories.product(yanling.station, yanling.seller, published_at=utcnow())
    assert _ids(client.get("/api/v1/products")) == [product.id]
    assert client.get(f"/api/v1/products/{product.id}").status_code == 200
    app.extensions.pop("catalogue_cache", None)


@pytest.mark.parametrize("query", ["per_page=101", "page=0", "page=abc", "sort=newest&poverty=maybe"])
def test_the_cached_path_still_refuses_bad_parameters(client, yanling, query):
    catalogue.on_sale(client, yanling)
    client.get("/api/v1/products")
    assert client.get(f"/api/v1/products?{query}").status_code == 422


def test_every_list_page_is_cached_under_the_catalogue_version(client, yanling, count_queries):
    for number in range(7):
        factories.product(yanling.station, yanling.seller, title=f"黄桃{number}", published_at=utcnow())
    queries_to_cache = (
        "page=6&per_page=1",
        "q=黄桃",
        "category=fruit",
        "sort=price_asc&poverty=false",
        "region=4302&sort=sales&page=2&per_page=3",
    )
    with count_queries() as cold:
        first = {query: client.get(f"/api/v1/products?{query}") for query in queries_to_cache}
    assert all(response.status_code == 200 for response in first.values())
    assert len(cold) == 2 * len(queries_to_cache)  # a count and a page query each, nothing per row
    with count_queries() as warm:
        again = {query: client.get(f"/api/v1/products?{query}") for query in queries_to_cache}
    assert warm == []
    assert {q: r.json for q, r in again.items()} == {q: r.json for q, r in first.items()}
    # A committed change is visible at once on every cached list.
    newest = factories.product(yanling.station, yanling.seller, title="黄桃新品", published_at=utcnow())
    assert client.get("/api/v1/products?q=黄桃").json["total"] == 8
    assert newest.id in _ids(client.get("/api/v1/products?q=黄桃"))


def test_a_list_query_with_unknown_or_repeated_arguments_is_not_cached(client, yanling, count_queries):
    factories.product(yanling.station, yanling.seller, published_at=utcnow())
    assert browse.list_cache_key(MultiDict([("q", "a"), ("q", "b")])) is None
    assert browse.list_cache_key(MultiDict([("colour", "red")])) is None
    for _ in range(2):
        assert client.get("/api/v1/products?colour=red").status_code == 422


def test_a_worker_reuses_the_version_it_read_for_version_seconds(redis_cache):
    from shop.cache import RedisCache

    _, prefix = redis_cache
    reader = RedisCache(REDIS_URL, prefix, 600, version_seconds=60)
    writer = RedisCache(REDIS_URL, prefix, 600, version_seconds=60)
    every_time = RedisCache(REDIS_URL, prefix, 600)
    assert reader.version() == writer.version() == 0
    assert writer.bump() == 1
    assert writer.version() == 1  # the worker that made the change sees it at once
    assert every_time.version() == 1
    assert reader.version() == 0  # another worker within its window still serves version 0
    reader._version = (0, 0.0)  # the window has passed
    assert reader.version() == 1


def test_a_worker_keeps_the_entries_it_read(redis_cache):
    from shop.cache import RedisCache

    connection, prefix = redis_cache
    cache = RedisCache(REDIS_URL, prefix, 600)
    cache.set("v1:feed:1:20", b"etag\n{}")
    connection.delete(f"{prefix}catalogue:v1:feed:1:20")
    assert cache.get("v1:feed:1:20") == b"etag\n{}"  # no round trip for an entry already read
    assert RedisCache(REDIS_URL, prefix, 600).get("v1:feed:1:20") is None


def test_a_product_id_out_of_range_is_not_found(client, db):
    assert client.get(f"/api/v1/products/{10**20}").status_code == 404
