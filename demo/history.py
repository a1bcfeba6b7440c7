"""The demo city's last twelve months: sales, refunds, payouts and monthly reports in all nine counties.

The clock is set back (``core.clock.travel_to``) to each moment of the year and
the real services run there: checkout, payment through the gateway simulator
(which reads the same clock, so its bills carry the same days), shipping,
receipt, after-sales refunds, the hold's release, the counties' payout batches
with their Alipay transfers, and the monthly reports of 炎陵县 and 茶陵县
(generated, submitted and reviewed by the office: the past months approved, last
month's one sent back and one waiting). So every 12-month chart of the console
has twelve bars in every county, and `flask payments reconcile` and `flask ledger
verify` stay clean. Deterministic (seeded random, months counted back from
today); run once: when the year's buyers exist the step does nothing.
"""

import calendar
import logging
import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from core.clock import BEIJING, beijing_now, travel_to
from core.extensions import db
from core.models import Role, User
from core.services import grant_role
from demo.catalogue import placeholder_photo
from demo.gateway import pay_through_simulator, refund_through_simulator, shares_our_clock, transfer_through_simulator
from demo.orders import _managers
from payments.ledger.payouts import run_settlement
from payments.ledger.settlement import release_held_funds
from payments.models import GatewayRefund
from payments.providers import Channel
from reports.snapshots import generate_report, review_report, submit_report
from shop.images import store_image
from shop.listing import create_product, update_sku
from shop.models import Product, ProductStatus, ReviewDecision, Sku
from shop.orders.after_sales import decide_refund, request_refund
from shop.orders.fulfilment import confirm_receipt, ship_station_lines
from shop.orders.placement import place_order
from shop.review import review_product
from villages.models import Centre, HouseholdCategory, Region, RegionLevel, Seller, Station, StationStatus
from villages.sellers import register_seller
from villages.stations import create_station

log = logging.getLogger(__name__)

MONTHS = 12
ALIPAY, WECHAT = (Channel.ALIPAY_MINI, Channel.ALIPAY_WAP), Channel.WECHAT_JSAPI
BUYER_OPENID = "demo-year-buyer-{county}"  # one buyer living in each county
LAST_ORDER_DAY = 15  # orders fall on days 1–15: received by the 19th, past the 7-day hold at the payout run
REPORT_DAY, PAYOUT_DAY = 16, 27
RESTOCK = 60
SKUS_PER_COUNTY = 2  # each county sells a few regular lines all year (and pays a few parties out)
REFUND_EVERY = 3  # months
PAYOUT_EVERY = 3  # months: the centres pay out quarterly
# The counties with demo admins: they run the monthly payouts and prepare the monthly reports
# (county, admin, what last month's report is left as). The other centres' money waits, available.
REPORTING = (("430225", "yanling", "submitted"), ("430224", "chaling", "rejected"))
SENT_BACK = "分村销售额与服务站台账不一致，请核对后重新生成（演示）"


def _months(today) -> list[tuple[int, int]]:
    """(year, month) of the last ``MONTHS`` months, the current one last."""
    year, month, out = today.year, today.month, []
    for _ in range(MONTHS):
        out.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out[::-1]


class _Calendar:
    """Moments of the demo year, never later than the real now (the current month is only partly lived)."""

    def __init__(self, now: datetime):
        self.now = now

    def at(self, year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
        day = min(day, calendar.monthrange(year, month)[1])
        return min(datetime(year, month, day, hour, minute, tzinfo=BEIJING), self.now - timedelta(minutes=2))

    def has_come(self, moment: datetime) -> bool:
        return moment < self.now - timedelta(minutes=2)


def _buyers(counties: list[Region]) -> list[tuple[User, dict]]:
    buyers = []
    for number, county in enumerate(counties, start=1):
        user = User(
            wechat_openid=BUYER_OPENID.format(county=county.code),
            alipay_user_id=f"2088000001{county.code}",
            display_name=f"{county.name}市民（演示买家）",
        )
        db.session.add(user)
        db.session.flush()
        grant_role(user, Role.BUYER)
        address = {
            "name": f"{county.name}市民",
            "phone": f"13900{number:06d}",
            "region_code": county.code,
            "detail": f"{county.name}示范路{number}号（演示地址）",
        }
        buyers.append((user, address))
    return buyers


def _on_sale_skus(county: str) -> list[Sku]:
    return list(
        db.session.scalars(
            sa.select(Sku)
            .join(Product)
            .join(Station, Station.id == Product.station_id)
            .join(Seller, Seller.id == Product.seller_id)
            .where(
                Product.status == ProductStatus.ON_SALE,
                Sku.is_active,
                Station.status == StationStatus.ACTIVE,
                Station.village_code.like(f"{county}%"),
            )
            # 脱贫户 and 监测对象 first: their income is the office's second figure on every chart
            .order_by(Seller.household_category == HouseholdCategory.ORDINARY, Sku.id)
            .limit(SKUS_PER_COUNTY)
        )
    )


def _open_shop(admin: User, county: Region) -> list[Sku]:
    """A county with nothing on sale gets a station, a villager and a listing, as its centre would set them up."""
    village = db.session.scalar(
        sa.select(Region)
        .where(Region.level == RegionLevel.VILLAGE, Region.code.like(f"{county.code}%"))
        .order_by(Region.code)
    )
    name = village.name.removesuffix("（演示）")
    place = {"village_code": village.code, "name": f"{name}服务站（演示）", "address": f"{name}村部"}
    station = create_station(admin, {**place, "service_fee_bps": 500})
    phone = f"1370000{county.code[-4:]}"
    seller, _ = register_seller(
        admin,
        station.id,
        {"name": "周桂花", "phone": phone, "payout_alipay_account": phone},
    )
    product = create_product(
        admin,
        {
            "station_id": station.id,
            "seller_id": seller.id,
            "category": "vegetables",
            "origin_village_code": village.code,
            "title": f"时令蔬菜礼盒·{name}",
            "description": "当天采摘的时令蔬菜，服务站统一分拣打包（演示）",
            "unit": "箱",
            "skus": [{"name": "5斤装", "price_fen": 3990, "stock": RESTOCK}],
        },
    )
    store_image(product, placeholder_photo("时令蔬菜礼盒", "vegetables", product.id), None)
    review_product(admin, product.id, {"decision": ReviewDecision.APPROVE})
    return list(product.skus)


def _stocked(admin: User, sku: Sku, quantity: int) -> Sku:
    """The station restocks a SKU that would run out (the same service as the console's stock field)."""
    db.session.refresh(sku, ["stock"])  # checkout reserves with a conditional UPDATE: read what it left
    if sku.stock < quantity:
        update_sku(admin, sku.product_id, sku.id, {"stock": sku.stock + RESTOCK})
    return sku


def _give_payout_accounts() -> None:
    """Every station and centre can be paid out (demo Alipay accounts), as the money demo does for 炎陵县."""
    for station in db.session.scalars(sa.select(Station).where(Station.payout_alipay_account.is_(None))):
        station.payout_alipay_account = f"station{station.id}@example.com"
    for centre in db.session.scalars(sa.select(Centre).where(Centre.payout_alipay_account.is_(None))):
        centre.payout_alipay_account = f"centre{centre.county_code}@example.com"


class _Year:
    def __init__(self, rng: random.Random, when: _Calendar, admin: User, office: User):
        self.rng, self.when, self.admin, self.office = rng, when, admin, office
        self.counts = {"orders": 0, "refunds": 0, "payouts": 0, "reports": 0}

    def _pay(self, buyer: User, address: dict, picks: list[tuple[Sku, int]], moment: datetime, channel: str):
        with travel_to(moment):
            items = [{"sku_id": _stocked(self.admin, sku, qty).id, "quantity": qty} for sku, qty in picks]
            order = place_order(buyer, items, address)
            pay_through_simulator(buyer, order, channel)
        self.counts["orders"] += 1
        return order

    def sale(self, buyer: User, address: dict, picks: list[tuple[Sku, int]], moment: datetime, channel: str) -> None:
        """Paid, shipped by each station the next day, received three days later (as far as time has come)."""
        order = self._pay(buyer, address, picks, moment, channel)
        shipped = moment + timedelta(days=1, hours=self.rng.randint(0, 6))
        if not self.when.has_come(shipped):
            return
        with travel_to(shipped):
            for station_id in sorted({line.station_id for line in order.lines}):
                actor = _managers(db.session.get(Station, station_id))
                ship_station_lines(actor, order.id, station_id, "中国邮政", f"YZ{order.id:08d}{station_id:04d}")
        received = shipped + timedelta(days=3, hours=self.rng.randint(0, 8))
        if self.when.has_come(received):
            with travel_to(received):
                confirm_receipt(buyer, order.id)

    def refund(self, buyer: User, address: dict, sku: Sku, moment: datetime, channel: str) -> None:
        """A buyer asks for the money back before shipping; the station agrees; the gateway refunds."""
        order = self._pay(buyer, address, [(sku, 1)], moment, channel)
        with travel_to(moment + timedelta(hours=5)):
            request = request_refund(buyer, order.id, [order.lines[0].id], "买错规格了（演示）")
            station = db.session.get(Station, order.lines[0].station_id)
            decide_refund(_managers(station), request.id, ReviewDecision.APPROVE, None)
            refund_through_simulator(
                db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == request.id))
            )
        self.counts["refunds"] += 1

    def payouts(self, moment: datetime) -> None:
        """The month's payout run: held money released; 炎陵县's and 茶陵县's batches transferred at the simulator."""
        with travel_to(moment):
            while release_held_funds(batch_size=500):
                pass
            for county, username, _ in REPORTING:
                actor = db.session.scalar(sa.select(User).where(User.username == username))
                batch = run_settlement(actor, county, send=False)["batch"]
                for payout in batch.payouts:
                    transfer_through_simulator(payout)
                self.counts["payouts"] += len(batch.payouts)

    def month(self, index: int, month: tuple[int, int], counties: list[Region], pools: dict, buyers: list) -> None:
        """The month's sales covering every county (and every third month, a refund)."""
        rng, when = self.rng, self.when
        last_day = LAST_ORDER_DAY if index < MONTHS - 1 else max(1, min(LAST_ORDER_DAY, when.now.day))

        def moment() -> datetime:
            return when.at(*month, rng.randint(1, last_day), rng.randint(8, 21), rng.randint(0, 59))

        # Three baskets cover the nine counties: one paid by Alipay with five stations' lines, two by WeChat Pay
        # with two stations' each (WeChat takes a shipping upload and one re-upload per payment).
        shuffled = rng.sample(counties, len(counties))
        baskets = [(shuffled[:5], rng.choice(ALIPAY)), (shuffled[5:7], WECHAT), (shuffled[7:], WECHAT)]
        for basket, channel in baskets:
            buyer, address = rng.choice(buyers)
            picks = [(rng.choice(pools[county.code]), rng.randint(1, 3)) for county in basket]
            self.sale(buyer, address, picks, moment(), channel)
        if index % REFUND_EVERY == 0:
            buyer, address = buyers[index % len(buyers)]
            self.refund(buyer, address, rng.choice(pools[counties[index % len(counties)].code]), moment(), WECHAT)

    def reports(self, period: str, moment: datetime, last: bool) -> None:
        """炎陵县's and 茶陵县's report of ``period``: approved, or (last month) one waiting and one sent back."""
        with travel_to(moment):
            for county, username, left_as in REPORTING:
                preparer = db.session.scalar(sa.select(User).where(User.username == username))
                report = submit_report(preparer, generate_report(preparer, county, period).id)
                if not last:
                    review_report(self.office, report.id, ReviewDecision.APPROVE, None)
                elif left_as == "rejected":
                    review_report(self.office, report.id, ReviewDecision.REJECT, SENT_BACK)
                self.counts["reports"] += 1


def seed_history() -> dict:
    """Seed once; returns counts (empty when already seeded or the city has no staff)."""
    counties = list(
        db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code))
    )
    if not counties or db.session.scalar(
        sa.select(User.id).where(User.wechat_openid == BUYER_OPENID.format(county=counties[0].code))
    ):
        return {}
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    office = db.session.scalar(sa.select(User).where(User.username == "fupin"))
    if admin is None or office is None:
        return {}
    when = _Calendar(beijing_now())
    with travel_to(when.now - timedelta(days=300)):
        if not shares_our_clock(current_app.config["SANDBOX_URL"]):
            log.warning("the gateway simulator runs on its own clock (a running `flask sandbox serve`): no past year")
            return {}
    pools = {county.code: _on_sale_skus(county.code) or _open_shop(admin, county) for county in counties}
    buyers = _buyers(counties)
    _give_payout_accounts()
    year = _Year(random.Random(2026), when, admin, office)
    months = _months(when.now.date())
    for index, month in enumerate(months):
        year.month(index, month, counties, pools, buyers)
        if index:  # last month's reports, in the middle of this one
            period = "{:04d}-{:02d}".format(*months[index - 1])
            year.reports(period, when.at(*month, REPORT_DAY), last=index == MONTHS - 1)
        if (MONTHS - 2 - index) % PAYOUT_EVERY == 0:  # quarterly, the last run at the end of last month
            year.payouts(when.at(*month, PAYOUT_DAY, 15))
    while release_held_funds(batch_size=500):  # what this month's receipts have already served
        pass
    db.session.flush()
    return {**year.counts, "months": MONTHS, "counties": len(counties)}
