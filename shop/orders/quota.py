"""Pre-sale quotas: taken at checkout the way stock is, given back when an unpaid order is cancelled."""

from datetime import datetime

import sqlalchemy as sa

from core.extensions import db
from shop.models import Sku
from shop.orders.models import OrderLine, Presale


def open_presales(skus: dict[int, Sku], now: datetime) -> dict[int, Presale]:
    """SKU id → the pre-sale it is sold under now (a SKU's own pre-sale before its product's)."""
    product_ids = {sku.product_id for sku in skus.values()}
    rows = db.session.scalars(
        sa.select(Presale)
        .where(Presale.product_id.in_(product_ids), Presale.order_from <= now, Presale.order_until > now)
        .order_by(Presale.id)
    ).all()
    found: dict[int, Presale] = {}
    for sku_id, sku in skus.items():
        own = [p for p in rows if p.sku_id == sku_id]
        shared = [p for p in rows if p.product_id == sku.product_id and p.sku_id is None]
        if own or shared:
            found[sku_id] = (own or shared)[0]
    return found


def reserve_quota(quantities: dict[int, int], presales: dict[int, Presale]) -> list[int]:
    """Take quota for the pre-sale SKUs, all or none; returns the SKU ids that found too little.

    Like ``reserve_stock``: one conditional ``UPDATE … WHERE sold + qty <= quota``
    per pre-sale in id order, so concurrent checkouts queue on the pre-sale row
    and the quota is never oversold.
    """
    wanted: dict[int, int] = {}
    for sku_id, presale in presales.items():
        wanted[presale.id] = wanted.get(presale.id, 0) + quantities[sku_id]
    short_presales = []
    for presale_id in sorted(wanted):
        taken = db.session.execute(
            sa.update(Presale)
            .where(Presale.id == presale_id, Presale.sold + wanted[presale_id] <= Presale.quota)
            .values(sold=Presale.sold + wanted[presale_id])
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            short_presales.append(presale_id)
    return sorted(sku_id for sku_id, presale in presales.items() if presale.id in short_presales)


def release_quota(lines: list[OrderLine]) -> None:
    """Give back the quota of an unpaid order's pre-sale lines (called once, under the order's lock)."""
    for line in sorted(lines, key=lambda item: item.presale_id or 0):
        if line.presale_id is None:
            continue
        db.session.execute(
            sa.update(Presale)
            .where(Presale.id == line.presale_id)
            .values(sold=Presale.sold - line.quantity)
            .execution_options(synchronize_session=False)
        )
