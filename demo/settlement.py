"""Demo money flow: orders in 炎陵县 paid, shipped, received, past the hold, released and batched for payout.

Everything goes through the real services (checkout, payment application,
shipping, receipt, hold release, the payout batch), so the ledger the demo
shows is the one production would write. The orders are paid through the
gateway simulator (``demo.gateway``), so they are on its bills. Receipt dates
are moved back past the hold, the way time would. The payout batch is only
recorded: its payouts stay ``pending``, unknown to the simulator, until
``flask settlements retry-payouts`` sends them (a payout never attempted is
sent, not queried). Run once: when the demo buyer exists the step does nothing.
"""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from core.db import utcnow
from core.extensions import db
from core.models import Role, User
from core.services import grant_role
from demo.gateway import pay_through_simulator
from payments.ledger.payouts import run_settlement
from payments.ledger.settlement import release_held_funds
from payments.providers import Channel
from shop.models import Product, ProductStatus
from shop.orders.fulfilment import confirm_receipt, ship_station_lines
from shop.orders.placement import place_order
from villages.models import Centre, Station

COUNTY = "430225"  # 炎陵县
DEMO_BUYER_OPENID = "demo-buyer-openid"
DEMO_BUYER_ALIPAY_ID = "2088000000000225"  # the same buyer in the Alipay mini-program (pays alipay_mini)
ADDRESS = {"name": "王女士", "phone": "13812345678", "region_code": "4302", "detail": "株洲市芦淞区建设中路1号"}
ORDERS = 8  # the first 5 are received and past the hold, 2 more received recently, 1 only paid


def _give_payout_accounts(stations: set[int]) -> None:
    """Stations and the centre get demo Alipay accounts, so their shares are paid out too."""
    for station in db.session.scalars(sa.select(Station).where(Station.id.in_(stations))):
        station.payout_alipay_account = station.payout_alipay_account or f"station{station.id}@example.com"
    for centre in db.session.scalars(sa.select(Centre).where(Centre.county_code == COUNTY)):
        centre.payout_alipay_account = centre.payout_alipay_account or "yanling-centre@example.com"


def seed_settlement() -> dict:
    """Seed once; returns counts (empty when already seeded or there is nothing to sell)."""
    if db.session.scalar(sa.select(User.id).where(User.wechat_openid == DEMO_BUYER_OPENID)) is not None:
        return {}
    admin = db.session.scalar(sa.select(User).where(User.username == "yanling"))
    products = db.session.scalars(
        sa.select(Product)
        .join(Station, Station.id == Product.station_id)
        .where(Product.status == ProductStatus.ON_SALE, Station.village_code.like(f"{COUNTY}%"))
        .order_by(Product.id)
    ).all()
    offers = [(p, sku) for p in products for sku in p.skus[:1] if sku.stock >= 2][:ORDERS]
    if admin is None or not offers:
        return {}
    buyer = User(
        display_name="王女士（演示买家）", wechat_openid=DEMO_BUYER_OPENID, alipay_user_id=DEMO_BUYER_ALIPAY_ID
    )
    db.session.add(buyer)
    db.session.flush()
    grant_role(buyer, Role.BUYER)
    hold = timedelta(days=current_app.config["SETTLEMENT_HOLD_DAYS"])
    received_long_ago = utcnow() - hold - timedelta(days=3)
    for number, (product, sku) in enumerate(offers):
        order = place_order(buyer, [{"sku_id": sku.id, "quantity": 1 + number % 2}], ADDRESS)
        pay_through_simulator(buyer, order, Channel.WECHAT_JSAPI if number % 2 == 0 else Channel.ALIPAY_MINI)
        if number >= 7:
            continue
        ship_station_lines(admin, order.id, product.station_id, "中国邮政", f"DEMO{order.id:010d}")
        confirm_receipt(buyer, order.id)
        if number < 5:  # received more than the hold ago
            order.completed_at = received_long_ago
            for line in order.lines:
                line.completed_at = received_long_ago
    db.session.flush()
    _give_payout_accounts({product.station_id for product, _ in offers})
    released = release_held_funds()
    batch = run_settlement(admin, COUNTY, send=False)["batch"]
    return {"orders": len(offers), "released_lines": released, "payouts": len(batch.payouts), "batch_id": batch.id}
