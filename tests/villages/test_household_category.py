"""The 2026 vocabulary: 脱贫户 / 监测对象 / 一般农户 beside the contract's poor_household flag; name consent."""

import os

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from app import create_app
from core.config import TestConfig
from core.extensions import db as _db
from tests import factories
from tests.villages import test_sellers
from tests.villages.test_sellers import _register, _wechat_user
from villages.models import Seller

people = test_sellers.people  # the sellers tests' fixture


def test_poor_household_true_still_means_tuopin(client, people):
    body = _register(client, people).json
    assert (body["household_category"], body["poor_household"]) == ("tuopin", True)
    assert body["show_name_on_trace"] is False


@pytest.mark.parametrize(
    ("fields", "category", "poor"),
    [
        ({"household_category": "monitored", "poor_household": True}, "monitored", True),
        ({"household_category": "monitored"}, "monitored", True),
        ({"household_category": "ordinary", "household_no": None, "poor_household": False}, "ordinary", False),
        ({"poor_household": False, "household_no": None}, "ordinary", False),
    ],
)
def test_categories_on_registration(client, people, fields, category, poor):
    response = _register(client, people, **fields)
    assert response.status_code == 201, response.json
    assert (response.json["household_category"], response.json["poor_household"]) == (category, poor)
    stored = _db.session.get(Seller, response.json["id"])
    assert stored.household_category == category
    assert _db.session.scalar(sa.select(Seller.id).where(Seller.poor_household.is_(poor), Seller.id == stored.id))


@pytest.mark.parametrize(
    "fields",
    [
        {"household_category": "ordinary", "poor_household": True},
        {"household_category": "tuopin", "poor_household": False},
        {"household_category": "poor"},
        {"household_category": "monitored", "household_no": None},
    ],
)
def test_inconsistent_or_unknown_categories_are_422(client, people, fields):
    response = _register(client, people, **fields)
    assert response.status_code == 422, response.json
    assert set(response.json["error"]["details"]) & {"poor_household", "household_category", "household_no"}
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Seller)) == 0


def test_only_the_county_changes_the_category_and_a_monitored_household_stays_monitored(client, people):
    seller_id = _register(client, people).json["id"]
    url = f"/api/v1/sellers/{seller_id}"
    assert client.patch(url, headers=people["manager"], json={"household_category": "monitored"}).status_code == 403
    changed = client.patch(url, headers=people["county"], json={"household_category": "monitored"})
    assert changed.status_code == 200 and changed.json["household_category"] == "monitored"
    again = client.patch(url, headers=people["county"], json={"poor_household": True})
    assert again.json["household_category"] == "monitored"  # true does not demote a 监测对象
    ordinary = client.patch(url, headers=people["county"], json={"poor_household": False})
    assert (ordinary.json["household_category"], ordinary.json["poor_household"]) == ("ordinary", False)


def test_consent_to_be_shown_is_recorded_by_the_station_or_given_by_the_villager(client, people):
    seller_id = _register(client, people, show_name_on_trace=True).json["id"]
    seller = _db.session.get(Seller, seller_id)
    assert seller.show_name_on_trace and seller.name_consent_at is not None
    withdrawn = client.patch(
        f"/api/v1/sellers/{seller_id}", headers=people["manager"], json={"show_name_on_trace": False}
    )
    assert withdrawn.json["show_name_on_trace"] is False
    account, header = _wechat_user()
    seller.user_id = account.id
    _db.session.commit()
    given = client.put("/api/v1/sellers/me/name-consent", headers=header, json={"show_name_on_trace": True})
    assert given.status_code == 200 and given.json["show_name_on_trace"] is True
    assert client.put("/api/v1/sellers/me/name-consent", headers=header, json={}).status_code == 422
    _, stranger = _wechat_user()
    assert (
        client.put("/api/v1/sellers/me/name-consent", headers=stranger, json={"show_name_on_trace": True}).status_code
        == 404
    )


def test_monitored_households_products_may_be_certified_ordinary_ones_outside_poverty_villages_not(client, db):
    station = factories.station("430225100201")
    admin = factories.auth_header(factories.user(("county_admin", "430225")))
    monitored = factories.product(
        station, factories.seller(station, household_category="monitored", household_no="X1234")
    )
    ordinary = factories.product(station, factories.seller(station))
    ok = client.post(f"/api/v1/products/{monitored.id}/certification", headers=admin, json={"certificate_no": "C-1"})
    assert ok.status_code == 200 and ok.json["poverty_certified"] is True
    refused = client.post(
        f"/api/v1/products/{ordinary.id}/certification", headers=admin, json={"certificate_no": "C-2"}
    )
    assert refused.status_code == 422
    assert "脱贫户、监测对象" in refused.json["error"]["details"]["poverty_certified"][0]


@pytest.fixture
def scratch_database_url(tmp_path):
    """An empty database of the suite's engine, for running migrations step by step."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path}/old.db"
        return
    base = sa.engine.make_url(url)
    name = f"{base.database}_migration"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_migration_maps_poor_household_flags_to_tuopin(scratch_database_url):
    """Upgrade a database at 0008 holding a poor-household seller and a line that copied the flag."""
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = scratch_database_url
    old_app = create_app(config)
    with old_app.app_context():
        alembic_config = old_app.extensions["migrate"].migrate.get_config()
        command.upgrade(alembic_config, "0008")
        with Session(_db.engine) as session, session.begin():
            for statement in OLD_ROWS:
                session.execute(sa.text(statement))
        command.upgrade(alembic_config, "head")
        sellers = dict(_db.session.execute(sa.text("SELECT id, household_category FROM sellers")).all())
        lines = dict(_db.session.execute(sa.text("SELECT id, seller_household_category FROM order_lines")).all())
        _db.session.remove()
        assert sellers == {1: "tuopin", 2: "ordinary"} and lines == {1: "tuopin", 2: "ordinary"}
        command.downgrade(alembic_config, "0008")
        flags = dict(_db.session.execute(sa.text("SELECT id, poor_household FROM sellers")).all())
        _db.session.remove()
        assert {key: bool(value) for key, value in flags.items()} == {1: True, 2: False}
        _db.engine.dispose()


OLD_ROWS = (
    "INSERT INTO users (id, username, display_name, is_active, token_version, created_at) "
    "VALUES (1, 'u', 'u', TRUE, 0, '2026-01-01')",
    "INSERT INTO regions (code, name, level, parent_code) VALUES ('4302', '株洲市', 'city', NULL)",
    "INSERT INTO regions (code, name, level, parent_code) VALUES ('430225', '炎陵县', 'county', '4302')",
    "INSERT INTO centres (id, county_code, name, commission_bps, created_at)"
    " VALUES (1, '430225', 'c', 300, '2026-01-01')",
    "INSERT INTO stations (id, village_code, centre_id, name, address, service_fee_bps, status, created_at)"
    " VALUES (1, '430225', 1, 's', 'a', 500, 'active', '2026-01-01')",
    "INSERT INTO sellers (id, station_id, name, phone, phone_digest, poor_household, created_at) "
    "VALUES (1, 1, '李秀英', 'x', 'd1', TRUE, '2026-01-01'), (2, 1, '王五', 'y', 'd2', FALSE, '2026-01-01')",
    "INSERT INTO categories (slug, name, sort_order, is_active) SELECT 'zz_test', '测试', 0, TRUE "
    "WHERE NOT EXISTS (SELECT 1 FROM categories WHERE slug = 'zz_test')",
    "INSERT INTO products (id, station_id, seller_id, category_slug, origin_village_code, title, description, unit,"
    " status, min_price_fen, sales_count, poverty_certified, content_flagged, created_at, updated_at, submitted_at)"
    " VALUES (1, 1, 1, 'zz_test', '430225', 't', '', '箱', 'on_sale', 100, 0, FALSE, FALSE,"
    " '2026-01-01', '2026-01-01', '2026-01-01')",
    "INSERT INTO skus (id, product_id, name, price_fen, stock, position, is_active, created_at, updated_at)"
    " VALUES (1, 1, 's', 100, 1, 0, TRUE, '2026-01-01', '2026-01-01')",
    "INSERT INTO orders (id, buyer_id, status, total_fen, expires_at, address_name, address_phone,"
    " address_region_code, address_detail, created_at) VALUES (1, 1, 'paid', 200, '2026-01-01', 'n', 'p',"
    " '4302', 'd', '2026-01-01')",
    "INSERT INTO order_lines (id, order_id, sku_id, product_id, seller_id, station_id, centre_id, village_code,"
    " category_slug, product_title, sku_name, unit_price_fen, quantity, amount_fen, commission_bps, service_fee_bps,"
    " poverty_certified, seller_poor_household, poverty_village, status, refunded_fen) VALUES"
    " (1, 1, 1, 1, 1, 1, 1, '430225', 'zz_test', 't', 's', 100, 1, 100, 300, 500, FALSE, TRUE, FALSE, 'paid', 0),"
    " (2, 1, 1, 1, 2, 1, 1, '430225', 'zz_test', 't', 's', 100, 1, 100, 300, 500, FALSE, FALSE, FALSE, 'paid', 0)",
)
