"""Checkout: validate the cart, reserve stock atomically, snapshot every line."""

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from core.db import utcnow
from core.errors import Conflict, ValidationFailed
from core.extensions import db
from core.faults import fault_after_commit, fault_point
from core.models import User
from core.validators import normalise_phone
from shop.models import Product, Sku
from shop.orders.models import Order, OrderLine, OrderStatus, Presale
from shop.orders.pickup_points import attach_pickup, pickup_address, pickup_station
from shop.orders.quota import open_presales, release_quota, reserve_quota
from shop.orders.states import append_order_event
from shop.signals import unit_order_requested
from villages.models import Region, Station, Village

MAX_LINES = 50


class OutOfStock(Conflict):
    code, message = "out_of_stock", "库存不足"


class ProductNotOnSale(Conflict):
    code, message = "product_not_on_sale", "商品已下架或暂停销售"


def _load_skus(sku_ids: list[int]) -> dict[int, Sku]:
    rows = db.session.scalars(sa.select(Sku).where(Sku.id.in_(sku_ids)).options(sa.orm.joinedload(Sku.product))).all()
    return {sku.id: sku for sku in rows}


def _check_cart(items: list[dict]) -> dict[int, int]:
    if not 1 <= len(items) <= MAX_LINES:
        raise ValidationFailed.field("items", f"每单 1–{MAX_LINES} 种商品")
    quantities: dict[int, int] = {}
    for item in items:
        if item["sku_id"] in quantities:
            raise ValidationFailed.field("items", f"商品规格 {item['sku_id']} 重复，请合并数量")
        quantities[item["sku_id"]] = item["quantity"]
    return quantities


def _check_on_sale(quantities: dict[int, int], skus: dict[int, Sku]) -> None:
    missing = sorted(set(quantities) - set(skus))
    if missing:
        raise ValidationFailed(details={"items": [f"商品规格不存在：{', '.join(map(str, missing))}"]})
    closed = sorted(sku_id for sku_id, sku in skus.items() if not (sku.is_active and sku.product.is_public))
    if closed:
        raise ProductNotOnSale(details={"sku_ids": closed})


def _check_unpaid_holdings(buyer: User, quantities: dict[int, int], now) -> None:
    """One buyer may not tie up a SKU's stock, or pile up unpaid orders, while others wait.

    The buyer's row is locked first, so two checkouts of the same buyer are
    judged one after the other.
    """
    db.session.execute(sa.select(User.id).where(User.id == buyer.id).with_for_update())
    config = current_app.config
    unpaid = (Order.buyer_id == buyer.id, Order.status == OrderStatus.PENDING_PAYMENT, Order.expires_at > now)
    if (
        db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(*unpaid))
        >= config["UNPAID_ORDERS_PER_BUYER"]
    ):
        raise Conflict(
            f"您有 {config['UNPAID_ORDERS_PER_BUYER']} 笔未支付的订单，请先支付或取消",
            details={"max_unpaid_orders": config["UNPAID_ORDERS_PER_BUYER"]},
        )
    held = dict(
        db.session.execute(
            sa.select(OrderLine.sku_id, sa.func.sum(OrderLine.quantity))
            .join(Order, Order.id == OrderLine.order_id)
            .where(*unpaid, OrderLine.sku_id.in_(list(quantities)))
            .group_by(OrderLine.sku_id)
        ).all()
    )
    cap = config["UNPAID_UNITS_PER_SKU"]
    over = sorted(sku_id for sku_id, qty in quantities.items() if held.get(sku_id, 0) + qty > cap)
    if over:
        raise Conflict(
            f"同一商品规格未支付的数量最多 {cap} 件，请先支付或取消已有订单",
            details={"sku_ids": over, "max_unpaid_units": cap},
        )


def reserve_stock(quantities: dict[int, int], presales: dict[int, Presale] | None = None) -> None:
    """Take stock for every SKU or none: conditional updates in a fixed (id) order.

    Each ``UPDATE … WHERE stock >= qty`` locks its row, so concurrent checkouts
    queue per SKU and stock never goes negative; sorting by id avoids deadlocks.
    Any shortfall raises, and the request's rollback returns whatever was taken.
    SKUs on pre-sale (``presales``: SKU id → pre-sale) take its quota instead.
    """
    presales = presales or {}
    short = reserve_quota(quantities, presales)
    for sku_id in sorted(set(quantities) - set(presales)):
        taken = db.session.execute(
            sa.update(Sku)
            .where(Sku.id == sku_id, Sku.stock >= quantities[sku_id])
            .values(stock=Sku.stock - quantities[sku_id])
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            short.append(sku_id)
    if short:
        raise OutOfStock(details={"sku_ids": sorted(short)})


def release_stock(lines: list[OrderLine]) -> None:
    """Give back the stock (or pre-sale quota) an unpaid order held (called once, under the order's lock)."""
    release_quota(lines)
    for line in sorted(lines, key=lambda item: item.sku_id):
        if line.presale_id is not None:
            continue
        db.session.execute(
            sa.update(Sku)
            .where(Sku.id == line.sku_id)
            .values(stock=Sku.stock + line.quantity)
            .execution_options(synchronize_session=False)
        )


def _snapshot(sku: Sku, quantity: int, poverty_villages: set[str], presale: Presale | None = None) -> OrderLine:
    product: Product = sku.product
    station: Station = product.station
    return OrderLine(
        presale_id=presale.id if presale else None,
        ships_from=presale.ships_from if presale else None,
        ships_until=presale.ships_until if presale else None,
        sku_id=sku.id,
        product_id=product.id,
        seller_id=product.seller_id,
        station_id=station.id,
        centre_id=station.centre_id,
        village_code=product.origin_village_code,
        category_slug=product.category_slug,
        product_title=product.title,
        sku_name=sku.name,
        unit_price_fen=sku.price_fen,
        quantity=quantity,
        amount_fen=sku.price_fen * quantity,
        commission_bps=station.centre.commission_bps,
        service_fee_bps=station.service_fee_bps,
        poverty_certified=product.poverty_certified,
        seller_poor_household=product.seller.poor_household,
        seller_household_category=product.seller.household_category,
        poverty_village=product.origin_village_code in poverty_villages,
    )


def place_order(
    buyer: User, items: list[dict], address: dict | None, unit: dict | None = None, pickup: dict | None = None
) -> Order:
    """Create a pending order, reserving stock (or pre-sale quota) for every line or none.

    ``unit`` (``buyer_unit_id``, ``purpose`` …) places it on behalf of a unit:
    the institutions package answers ``unit_order_requested`` with the order.
    ``pickup`` (``station_id`` and ``contact``) has the buyer collect it at a station instead.
    """
    if unit and pickup:
        raise ValidationFailed.field("pickup_station_id", "单位采购暂不支持到站自提")
    if unit:
        answers = unit_order_requested.send(buyer, items=items, address=address, unit=unit)
        placed = [order for _receiver, order in answers if order is not None]
        if not placed:
            raise ValidationFailed.field("buyer_unit_id", "暂不支持单位采购")
        return placed[0]
    quantities = _check_cart(items)
    if pickup is None and db.session.get(Region, address["region_code"]) is None:
        raise ValidationFailed(details={"address": {"region_code": ["收货地区代码不存在"]}})
    skus = _load_skus(list(quantities))
    _check_on_sale(quantities, skus)
    now = utcnow()
    station = pickup and pickup_station(pickup["station_id"], {sku.product.station_id for sku in skus.values()})
    if station:
        contact = dict(pickup["contact"])
        if not contact.get("phone"):  # the mini-program never holds the number WeChat confirmed, only its mask
            if not buyer.phone:
                raise ValidationFailed(details={"contact": {"phone": ["请先授权手机号，或填写取货人手机号"]}})
            contact["phone"] = buyer.phone
        address = pickup_address(station, contact)
    _check_unpaid_holdings(buyer, quantities, now)
    presales = open_presales(skus, now)
    reserve_stock(quantities, presales)
    fault_point("checkout.reserved")
    villages = {sku.product.origin_village_code for sku in skus.values()}
    poverty = set(
        db.session.scalars(sa.select(Village.code).where(Village.code.in_(villages), Village.is_poverty_village))
    )
    order = Order(
        buyer_id=buyer.id,
        total_fen=sum(skus[sku_id].price_fen * qty for sku_id, qty in quantities.items()),
        expires_at=now + timedelta(minutes=current_app.config["ORDER_PAYMENT_TIMEOUT_MINUTES"]),
        address_name=address["name"],
        address_phone=normalise_phone(address["phone"]),
        address_region_code=address["region_code"],
        address_detail=address["detail"],
        lines=[_snapshot(skus[sku_id], qty, poverty, presales.get(sku_id)) for sku_id, qty in quantities.items()],
        created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    if station:
        attach_pickup(order, station)
    append_order_event(order, None, None, OrderStatus.PENDING_PAYMENT, buyer, "下单")
    fault_point("checkout.before_commit")
    fault_after_commit("checkout.committed")
    return order
