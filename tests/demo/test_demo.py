"""The demo city seed."""

import sqlalchemy as sa

from core.models import User
from demo.seed import seed_demo_city
from shop.models import Product
from tests import factories
from villages.models import Region, Seller, Village


def _counts(db) -> dict:
    return dict(db.session.execute(sa.select(Region.level, sa.func.count()).group_by(Region.level)).all())


def test_seed_builds_the_real_city_and_demo_villages(db):
    seed_demo_city(history=False)
    counts = _counts(db)
    assert counts["city"] == 1 and counts["county"] == 9 and counts["township"] == 112
    villages = db.session.scalars(sa.select(Region).where(Region.level == "village")).all()
    assert all(len(v.code) == 12 and v.code.startswith(v.parent_code) for v in villages)
    assert all("演示" in v.name for v in villages)
    per_township = db.session.execute(
        sa.select(Region.parent_code, sa.func.count()).where(Region.level == "village").group_by(Region.parent_code)
    ).all()
    assert all(6 <= count <= 12 for _, count in per_township)


def _totals(db) -> tuple:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (User, Product))


def test_seed_is_idempotent(db):
    seed_demo_city(history=False)
    before = (_counts(db), _totals(db))
    assert seed_demo_city(history=False)["catalogue"] == {}
    after = (_counts(db), _totals(db))
    assert before == after


def test_seed_creates_one_staff_account_per_role(db):
    result = seed_demo_city(history=False)
    roles = {role for _, _, role, _ in result["staff"]}
    assert {"platform_admin", "poverty_office", "county_admin"} <= roles


def test_demo_command_prints_logins(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "demo-admin-2026" in result.output


def test_seed_shows_policy_targets_with_real_shortfalls(db):
    from villages.models import Centre, Seller, Station, Village

    result = seed_demo_city(history=False)
    assert result["centres"] == 9
    counties = set(db.session.scalars(sa.select(Centre.county_code)))
    assert len(counties) == 9
    poverty = db.session.scalars(sa.select(Village.code).where(Village.is_poverty_village)).all()
    assert poverty and all(code[:6] in ("430225", "430224", "430223") for code in poverty)
    with_station = set(db.session.scalars(sa.select(Station.village_code)))
    covered = sum(code in with_station for code in poverty)
    assert 0.5 * len(poverty) < covered < len(poverty)  # most, not all
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Seller).where(Seller.poor_household)) > 0


def test_seed_lists_a_browsable_catalogue(client, db, upload_dir):
    result = seed_demo_city(history=False)
    counts = result["catalogue"]
    assert counts["products"] == 200 and counts["on_sale"] >= 140 and counts["certified"] > 0
    statuses = dict(db.session.execute(sa.select(Product.status, sa.func.count()).group_by(Product.status)).all())
    assert set(statuses) == {"on_sale", "pending_review", "rejected", "off_shelf"}
    certified = db.session.execute(
        sa.select(Seller.poor_household, Village.is_poverty_village)
        .select_from(Product)
        .join(Seller, Seller.id == Product.seller_id)
        .join(Village, Village.code == Product.origin_village_code)
        .where(Product.poverty_certified.is_(True))
    ).all()
    assert certified and all(poor or poverty_village for poor, poverty_village in certified)
    counties = {code[:6] for code in db.session.scalars(sa.select(Product.origin_village_code))}
    assert {"430225", "430224", "430223", "430281"} <= counties
    page = client.get("/api/v1/products?q=黄桃&per_page=5").json
    assert page["total"] > 0 and all("黄桃" in item["title"] for item in page["items"])
    cover = page["items"][0]["cover_image_url"]
    key = cover.split("/media/", 1)[1]
    assert (upload_dir / key).is_file()
    certified_on_sale = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Product)
        .where(Product.status == "on_sale", Product.poverty_certified.is_(True))
    )
    assert client.get("/api/v1/products?poverty=true").json["total"] == certified_on_sale > 0
    # The demo station manager has a rejected listing to look at, with the county's reason.
    manager = db.session.scalar(sa.select(User).where(User.username == "liu"))
    rejected = client.get(
        f"/api/v1/stations/{manager.grants[0].station_id}/products?status=rejected",
        headers=factories.auth_header(manager),
    ).json
    assert rejected["items"] and rejected["items"][0]["rejection_reason"]


def test_seed_has_orders_in_every_state(db, upload_dir):
    from shop.orders.models import Order, OrderStatus

    result = seed_demo_city(history=False)
    assert result["orders"]
    statuses = set(db.session.scalars(sa.select(Order.status)))
    assert statuses == set(OrderStatus)
    again = seed_demo_city(history=False)
    assert again["orders"] == {}


def test_seed_shows_the_money_flow(client, db):
    from payments.ledger.models import LineSettlement, Payout
    from payments.ledger.queries import owner_balances
    from payments.ledger.verify import verify_ledger

    result = seed_demo_city(history=False)
    counts = result["settlement"]
    assert counts["orders"] == 8 and counts["released_lines"] == 5 and counts["payouts"] >= 3
    payouts = db.session.scalars(sa.select(Payout).where(Payout.batch_id == counts["batch_id"])).all()
    assert {p.status for p in payouts} == {"pending"}  # recorded, sent later with the sandbox up
    assert {p.party_type for p in payouts} == {"seller", "station", "centre"}
    assert sum(p.amount_fen for p in payouts) > 0
    from demo.settlement import DEMO_BUYER_OPENID
    from shop.orders.models import Order, OrderLine

    pending_lines = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(LineSettlement)
        .join(OrderLine, OrderLine.id == LineSettlement.order_line_id)
        .join(Order, Order.id == OrderLine.order_id)
        .join(User, User.id == Order.buyer_id)
        .where(LineSettlement.released_at.is_(None), User.wechat_openid == DEMO_BUYER_OPENID)
    )
    assert pending_lines == 3  # received recently, or not yet (the settlement demo's own orders)
    assert any(owner_balances("seller", seller_id)["pending_fen"] for seller_id in _line_sellers(db))
    assert verify_ledger() == []
    assert seed_demo_city(history=False)["settlement"] == {}


def _line_sellers(db):
    from payments.ledger.models import LineSettlement

    return db.session.scalars(sa.select(LineSettlement.seller_id).where(LineSettlement.released_at.is_(None)))


def test_seed_records_batches_with_certificates_for_fresh_produce(client, db, upload_dir):
    from shop.batches.models import Batch
    from shop.orders.models import OrderLine

    result = seed_demo_city(history=False)
    counts = result["batches"]
    assert counts["batches"] > 0 and counts["tested"] > 0 and counts["monitored"] > 0 and counts["consented"] > 0
    batches = db.session.scalars(sa.select(Batch)).all()
    assert all(batch.certificate is not None for batch in batches)
    assert {batch.product.category_slug for batch in batches} <= {"fruit", "vegetables", "tea", "meat_eggs", "aquatic"}
    assert any(batch.certificate.test_report is not None for batch in batches)
    categories = set(db.session.scalars(sa.select(Seller.household_category)))
    assert categories == {"tuopin", "monitored", "ordinary"}
    named = db.session.scalar(sa.select(sa.func.count()).select_from(Seller).where(Seller.show_name_on_trace))
    assert named > 0
    answer = client.get(f"/api/v1/trace/{batches[0].trace_code}").json
    assert answer["code"] == batches[0].trace_code and answer["batch"]["certificate"]["no"]
    # Demo orders shipped after the batches were recorded took their units from the product's oldest batch.
    for line in db.session.scalars(sa.select(OrderLine).where(OrderLine.shipment_id.is_not(None))):
        has_batches = any(batch.product_id == line.product_id for batch in batches)
        assert (line.batch_id is not None) == has_batches
    assert seed_demo_city(history=False)["batches"] == {}


def test_seed_has_a_succeeded_and_an_expired_group(client, db, demo_gateways):
    from shop.groups.models import GroupBuy

    result = seed_demo_city(history=False)
    assert result["groups"] == {"succeeded": "succeeded", "expired": "expired", "refunds": 2}
    groups = {group.status: group for group in db.session.scalars(sa.select(GroupBuy))}
    assert set(groups) == {"succeeded", "expired"}
    expired = client.get(f"/api/v1/groups/{groups['expired'].id}").json
    assert [member["status"] for member in expired["members"]] == ["refunded", "refunded"]
    assert {m.order.status for m in groups["expired"].members} == {"refunded"}
    assert {m.order.status for m in groups["succeeded"].members} == {"paid"}
    assert seed_demo_city(history=False)["groups"] == {}


def test_seed_has_a_presale_of_yanling_peaches_and_pickup_orders(db, upload_dir):
    from shop.orders.models import Order, OrderPickup, Presale

    made = seed_demo_city(history=False)["presale_pickup"]
    presale = db.session.get(Presale, made["presale_id"])
    assert db.session.get(Product, presale.product_id).title.startswith("炎陵黄桃")
    assert (presale.ships_from.month, presale.ships_from.day, presale.ships_until.month, presale.ships_until.day) == (
        7,
        20,
        8,
        5,
    )
    assert presale.sold == made["presale_sold"] == 3
    pickups = {p.order_id: p for p in db.session.scalars(sa.select(OrderPickup))}
    assert {label: pickups[order_id].status for label, order_id in made["pickups"].items()} == {
        "awaiting_goods": "awaiting_goods",
        "ready": "ready",
        "collected": "collected",
    }
    assert db.session.get(Order, made["pickups"]["collected"]).status == "completed"
    assert seed_demo_city(history=False)["presale_pickup"] == {}
