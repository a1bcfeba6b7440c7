"""`flask demo seed`: an idempotent, deterministic demo city."""

import random
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from core.extensions import db
from core.models import Role, User
from demo.batches import seed_batches
from demo.catalogue import seed_catalogue
from demo.gateway import demo_simulator
from demo.groups import seed_groups
from demo.history import seed_history
from demo.orders import seed_orders
from demo.presale_pickup import seed_presale_and_pickup
from demo.settlement import seed_settlement
from demo.units import seed_units
from demo.villages import DEMO_STATION_MANAGER, seed_village_data
from villages.cli import create_staff
from villages.models import Region, RegionLevel, Village
from villages.regions import import_regions

DIVISIONS_CSV = Path(__file__).resolve().parent / "data" / "zhuzhou_divisions.csv"
CITY = "4302"
_VILLAGE_WORDS = "东南西北上下新和平安兴福寿丰乐青山石竹桃花茶溪田坪塘湾源"

# Demo staff accounts: username, password, role, region.
DEMO_STAFF = (
    ("admin", "demo-admin-2026", Role.PLATFORM_ADMIN, None),
    ("fupin", "demo-fupin-2026", Role.POVERTY_OFFICE, CITY),
    ("yanling", "demo-yanling-2026", Role.COUNTY_ADMIN, "430225"),
    ("chaling", "demo-chaling-2026", Role.COUNTY_ADMIN, "430224"),
)


def is_rural_township(code: str) -> bool:
    """Towns (镇, 1xx) and townships (乡, 2xx) have villages; street offices (0xx) do not."""
    return code[6:9] >= "100"


def demo_villages(townships: list[Region]) -> list[tuple[str, str, str]]:
    """Deterministic demo villages: (code, name, township code), 6–12 per rural township."""
    villages = []
    for township in townships:
        if not is_rural_township(township.code):
            continue
        rng = random.Random(int(township.code))
        for number in range(1, rng.randint(6, 12) + 1):
            word = "".join(rng.sample(_VILLAGE_WORDS, 2))
            name = f"{word}村（演示）"
            villages.append((f"{township.code}{200 + number:03d}", name, township.code))
    return villages


def seed_regions() -> int:
    """The real divisions plus the demo villages; returns the number of villages."""
    import_regions(DIVISIONS_CSV.read_text(encoding="utf-8"))
    townships = list(db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.TOWNSHIP)))
    existing = set(db.session.scalars(sa.select(Region.code).where(Region.level == RegionLevel.VILLAGE)))
    villages = demo_villages(townships)
    for code, name, township in villages:
        if code not in existing:
            db.session.add(Region(code=code, name=name, level=RegionLevel.VILLAGE, parent_code=township))
            db.session.add(Village(code=code))
    db.session.flush()
    return len(villages)


def seed_staff() -> list[tuple[str, str, str, bool]]:
    """One staff account per role; returns (username, password, role, created)."""
    out = []
    for username, password, role, region in DEMO_STAFF:
        created = db.session.scalar(sa.select(User.id).where(User.username == username)) is None
        if created:
            create_staff(username, password, role, region, None)
        out.append((username, password, role, created))
    return out


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0


def seed_demo_city(history: bool = True) -> dict:
    """Everything the demo shows; running it twice changes nothing.

    ``history=False`` leaves out the last twelve months (tests of today's demo, and the fuzz world,
    which need the city but not a year of sales: the year is most of the seed's time).
    """
    villages = seed_regions()
    staff = seed_staff()
    village_data = seed_village_data()
    if village_data:
        username, password = DEMO_STATION_MANAGER
        staff.append((username, password, Role.STATION_MANAGER, True))
    catalogue = seed_catalogue(village_data.get("manager_station"))
    batches = seed_batches()  # before the orders: their shipments take units from the batches
    with demo_simulator(current_app):  # the demo's orders are paid through the gateway simulator
        # First the last twelve months, then today's orders in every state.
        history = seed_history() if history else {}
        orders = seed_orders(village_data.get("manager_station"))
        settlement = seed_settlement()
        units = seed_units()
        presale_pickup = seed_presale_and_pickup(village_data.get("manager_station"))
        groups = seed_groups(village_data.get("manager_station"))  # after the others: they pick from the stock left
    return {
        "villages": villages,
        "staff": staff,
        **village_data,
        "catalogue": catalogue,
        "batches": batches,
        "settlement": settlement,
        "orders": orders,
        "history": history,
        "units": units,
        "presale_pickup": presale_pickup,
        "groups": groups,
    }
