"""Demo units (单位消费帮扶): a county bureau, a hospital, a school and the hospital's union, with
this year's targets, canteen orders paid by bank transfer and a union gift to fifty employees.

Everything goes through the real services. The credit codes are made up for
the demo (their check characters are computed with GB 32100, so they pass
validation); the transfers are marked DEMO in their bank serial numbers.
"""

import io
from types import SimpleNamespace

import sqlalchemy as sa
from PIL import Image

from core.clock import beijing_today
from core.extensions import db
from core.models import Role, User
from core.services import grant_role
from demo.orders import _managers, pay_demo_order
from institutions.credit_code import check_character
from institutions.deliveries import confirm_deliveries, ship_deliveries
from institutions.models import Unit, UnitDelivery
from institutions.transfers import record_transfer
from institutions.units import bind_invite, create_unit, issue_invite, set_invoice_info, set_target
from shop.models import Product, Sku
from shop.orders.models import OrderStatus
from shop.orders.placement import place_order
from villages.models import Station

# name, credit code body (17 characters), kind, region, parent (index), target (budget fen, ratio bps)
DEMO_UNITS = (
    ("炎陵县农业农村局（演示）", "11430225MB0000001", "budget_unit", "430225", None, (120_000_000, 2000)),
    ("株洲市中心医院", "12430200MB0000002", "budget_unit", "4302", None, (800_000_000, 1500)),
    ("株洲市第二中学（演示）", "12430200MB0000003", "budget_unit", "4302", None, (150_000_000, 1000)),
    ("株洲市中心医院工会", "81430200MB0000004", "trade_union", "4302", 1, None),
)
UNIT_ADDRESS = {
    "name": "赵科长",
    "phone": "13800000088",
    "region_code": "430203",
    "detail": "株洲市芦淞区（演示地址）中心医院后勤科",
}
WELFARE_RECIPIENTS = 50


def _demo_user(openid: str, name: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.wechat_openid == openid))
    if user is None:
        user = User(wechat_openid=openid, display_name=name)
        db.session.add(user)
        db.session.flush()
        grant_role(user, Role.BUYER)
    return user


def _receipt():
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (235, 240, 250)).save(buffer, "PNG")
    buffer.seek(0)
    return SimpleNamespace(stream=buffer, filename="回单（演示）.png")


def _skus(count: int, stock: int) -> list[Sku]:
    """On-sale SKUs of certified products with room for the demo's quantities, one per product."""
    rows = db.session.scalars(
        sa.select(Sku)
        .join(Product)
        .where(Product.status == "on_sale", Product.poverty_certified.is_(True), Sku.is_active, Sku.stock >= stock)
        .order_by(Product.id, Sku.id)
    ).all()
    picked, products = [], set()
    for sku in rows:
        if sku.product_id not in products:
            picked.append(sku)
            products.add(sku.product_id)
    return picked[:count]


def _recipients() -> list[dict]:
    districts = ("430202", "430203", "430204", "430211", "430212")
    return [
        {
            "name": f"职工{number:02d}（演示）",
            "phone": f"1390000{number:04d}",
            "region_code": districts[number % len(districts)],
            "detail": f"株洲市职工小区{number}栋（演示地址）",
        }
        for number in range(1, WELFARE_RECIPIENTS + 1)
    ]


def seed_units() -> dict:
    """Units, purchasers, targets and their orders; does nothing when units exist."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Unit)):
        return {}
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    canteen_skus, gift_skus = _skus(3, 40), _skus(2, 2 * WELFARE_RECIPIENTS)
    if admin is None or len(canteen_skus) < 3 or len(gift_skus) < 2:
        return {}
    units: list[Unit] = []
    for name, body, kind, region, parent, _target in DEMO_UNITS:
        data = {"name": name, "credit_code": body + check_character(body), "kind": kind, "region_code": region}
        if parent is not None:
            data["parent_id"] = units[parent].id
        units.append(create_unit(admin, data))
    zhao = _demo_user("demo-unit-zhao", "赵科长（演示采购员）")
    unit_admin = _demo_user("demo-unit-admin", "钱主任（演示单位管理员）")
    year = beijing_today().year
    for unit, (*_, target) in zip(units, DEMO_UNITS, strict=True):
        _, code = issue_invite(admin, unit.id, "admin")
        bind_invite(unit_admin, code)
        _, code = issue_invite(unit_admin, unit.id, "purchaser")
        bind_invite(zhao, code)
        if target:
            set_target(unit_admin, unit.id, year, *target)
    bureau, hospital, school, union = units
    set_invoice_info(
        unit_admin,
        hospital.id,
        {
            "title": hospital.name,
            "tax_id": hospital.credit_code,
            "address": "株洲市芦淞区（演示地址）",
            "phone": "0731-00000000",
            "bank_name": "中国工商银行株洲分行（演示）",
            "bank_account": "1903000000000000000",
        },
    )

    def canteen(unit: Unit, picks) -> tuple:
        items = [{"sku_id": sku.id, "quantity": quantity} for sku, quantity in picks]
        unit_fields = {"buyer_unit_id": unit.id, "purpose": "canteen", "payment_method": "bank_transfer"}
        order = place_order(zhao, items, UNIT_ADDRESS, unit_fields)
        return order, f"ZZDW{order.id:08d}"

    def transfer(reference: str, amount: int, payer: str, serial: str):
        data = {
            "payment_reference": reference,
            "amount_fen": amount,
            "payer_account_name": payer,
            "bank_serial_no": serial,
            "received_on": beijing_today(),
        }
        return record_transfer(admin, data, _receipt())[0]

    paid, reference = canteen(hospital, [(canteen_skus[0], 20), (canteen_skus[1], 10)])
    transfer(reference, paid.total_fen, hospital.name, "DEMO-ICBC-000001")
    exact, reference = canteen(bureau, [(canteen_skus[2], 15)])
    transfer(reference, exact.total_fen, bureau.name, "DEMO-CCB-000002")
    short, reference = canteen(school, [(canteen_skus[0], 10)])
    transfer(reference, short.total_fen - 10_000, school.name, "DEMO-BOC-000003")  # short: held in suspense
    canteen(hospital, [(canteen_skus[1], 5)])  # awaiting its transfer: on the 对账单

    gift = [{"sku_id": sku.id, "quantity": 1} for sku in gift_skus]
    welfare = place_order(
        zhao,
        gift,
        UNIT_ADDRESS,
        {"buyer_unit_id": union.id, "purpose": "union_welfare", "recipients": _recipients()},
    )
    pay_demo_order(welfare)  # the union pays the gift with WeChat Pay, through the simulator
    deliveries = db.session.scalars(
        sa.select(UnitDelivery).where(UnitDelivery.order_id == welfare.id).order_by(UnitDelivery.seq)
    ).all()
    shipped = deliveries[:30]
    for station_id in sorted({line.station_id for line in welfare.lines}):
        parcels = [
            {"delivery_id": d.id, "carrier": "中国邮政", "tracking_no": f"EMS{station_id:04d}{d.seq:06d}"}
            for d in shipped
        ]
        ship_deliveries(_managers(db.session.get(Station, station_id)), welfare.id, station_id, parcels)
    confirm_deliveries(zhao, welfare.id, [d.id for d in deliveries[:20]])
    db.session.flush()
    return {
        "units": len(units),
        "transfer_orders": 4,
        "welfare_recipients": len(deliveries),
        "welfare_shipped": len(shipped),
        "held_fen": 0 if short.status == OrderStatus.PAID else short.total_fen - 10_000,
    }
