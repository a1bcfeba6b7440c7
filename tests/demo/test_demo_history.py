"""The demo city's last twelve months: every county sells every month, through the real money path."""

import sqlalchemy as sa

from core.clock import BEIJING, beijing_today
from demo.history import MONTHS, seed_history
from demo.seed import seed_demo_city
from payments.ledger.models import Payout
from payments.ledger.verify import verify_ledger
from reports.charts import last_months, monthly_series
from reports.models import SalesReport
from shop.orders.models import Order
from villages.models import Region, RegionLevel


def test_the_city_sold_in_every_county_in_each_of_the_last_twelve_months(db, demo_gateways):
    made = seed_demo_city()["history"]
    assert made["months"] == MONTHS == 12 and made["counties"] == 9

    today = beijing_today()
    months = last_months(f"{today.year:04d}-{today.month:02d}", MONTHS)
    paid = db.session.scalars(sa.select(Order.paid_at).where(Order.paid_at.is_not(None)))
    paid_months = {moment.astimezone(BEIJING).strftime("%Y-%m") for moment in paid}
    assert set(months) <= paid_months

    counties = db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY)).all()
    assert len(counties) == 9
    for county in counties:  # the console's 12-month chart of each county: twelve bars
        series = monthly_series(county, months[-1], MONTHS)
        assert all(gmv > 0 for gmv in series["gmv_fen"]), (county.name, series["gmv_fen"])

    assert verify_ledger() == []
    assert made["refunds"] > 0 and made["payouts"] > 0
    paid_out = db.session.scalars(sa.select(Payout.completed_at).where(Payout.status == "success")).all()
    assert len({moment.astimezone(BEIJING).strftime("%Y-%m") for moment in paid_out}) >= 3  # quarterly runs

    statuses = db.session.execute(sa.select(SalesReport.period, SalesReport.status)).all()
    last = months[-2]
    assert sorted(status for period, status in statuses if period == last) == ["rejected", "submitted"]
    assert {status for period, status in statuses if period < last} == {"approved"}
    assert {period for period, _ in statuses} == set(months[:-1])


def test_the_year_is_seeded_once(db, demo_gateways):
    seed_demo_city()
    orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
    assert seed_history() == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == orders
