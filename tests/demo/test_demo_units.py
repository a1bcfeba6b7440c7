"""The demo's units: targets, canteen orders paid by transfer, a union gift to fifty employees."""

import sqlalchemy as sa

from core.clock import beijing_today
from demo.seed import seed_demo_city
from institutions.models import BankTransfer, Unit, UnitDelivery, UnitOrder, UnitTarget
from institutions.units import manager_scope
from payments.ledger.verify import verify_ledger
from reports.units import units_in, units_report
from shop.orders.models import Order


def test_demo_units_buy_and_the_table_shows_them(db):
    result = seed_demo_city(history=False)
    assert result["units"]["units"] == 4 and result["units"]["welfare_recipients"] == 50
    units = {unit.name: unit for unit in db.session.scalars(sa.select(Unit))}
    assert {"株洲市中心医院", "株洲市中心医院工会"} <= set(units)
    assert units["株洲市中心医院工会"].parent_id == units["株洲市中心医院"].id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnitTarget)) == 3
    transfers = db.session.scalars(sa.select(BankTransfer).order_by(BankTransfer.id)).all()
    assert [t.status for t in transfers] == ["applied", "applied", "held"]
    welfare = db.session.scalar(sa.select(UnitOrder).where(UnitOrder.purpose == "union_welfare"))
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(UnitDelivery).where(UnitDelivery.order_id == welfare.order_id)
        )
        == 50
    )
    assert db.session.get(Order, welfare.order_id).status == "paid"  # 30 of 50 shipped, 20 received
    from core.models import User

    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    table = units_report(units_in(manager_scope(admin)), beijing_today().year, None)
    hospital = next(row for row in table["rows"] if row["name"] == "株洲市中心医院")
    assert hospital["canteen_poverty_fen"] > 0 and hospital["target"]["counted_fen"] == hospital["canteen_poverty_fen"]
    union = next(row for row in table["rows"] if row["name"] == "株洲市中心医院工会")
    assert union["union_welfare_fen"] == db.session.get(Order, welfare.order_id).total_fen
    assert verify_ledger() == []
    assert seed_demo_city(history=False)["units"] == {}  # idempotent
