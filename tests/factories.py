"""Small factories for records the tests need.

Factories commit: inside a test that only releases a savepoint (see
conftest.py), and it keeps the records when a request under test rolls back.
"""

import itertools

from core.auth import issue_tokens
from core.extensions import db
from core.models import User
from core.services import grant_role, hash_password
from villages.models import Region, Village

_sequence = itertools.count(1)


def region(code: str, name: str | None = None, level: str | None = None) -> Region:
    """A region and any missing ancestors (city 4302 → … → ``code``)."""
    levels = {4: "city", 6: "county", 9: "township", 12: "village"}
    parent = None
    for length in (4, 6, 9, 12):
        if length > len(code):
            break
        part = code[:length]
        existing = db.session.get(Region, part)
        if existing is None:
            existing = Region(
                code=part,
                name=name if part == code and name else f"测试{levels[length]}{part}",
                level=levels[length] if part != code else (level or levels[length]),
                parent_code=parent,
            )
            db.session.add(existing)
            if existing.level == "village":
                db.session.add(Village(code=part))
        parent = part
    db.session.commit()
    return db.session.get(Region, code)


def user(*grants: tuple, username: str | None = None, password: str = "correct-horse-1", **fields) -> User:
    """A user with the given grants, each ``(role, region_code[, station_id])``."""
    number = next(_sequence)
    account = User(
        username=username or f"user{number}",
        display_name=fields.pop("display_name", f"用户{number}"),
        password_hash=hash_password(password),
        **fields,
    )
    db.session.add(account)
    db.session.flush()
    for grant in grants:
        role, region_code, station_id = (*grant, None, None)[:3]
        grant_role(account, role, region_code=region_code, station_id=station_id)
    db.session.commit()
    return account


def auth_header(account: User) -> dict:
    return {"Authorization": f"Bearer {issue_tokens(account)['token']}"}


def centre(county_code: str = "430225", commission_bps: int = 300, name: str | None = None):
    from villages.models import Centre

    region(county_code)
    record = Centre(county_code=county_code, name=name or f"{county_code}县域电商中心", commission_bps=commission_bps)
    db.session.add(record)
    db.session.commit()
    return record


def station(village_code: str = "430225100201", service_fee_bps: int = 500, centre_record=None, **fields):
    from villages.models import Centre, Station

    region(village_code)
    if centre_record is None:
        centre_record = db.session.query(Centre).filter_by(county_code=village_code[:6]).first() or centre(
            village_code[:6]
        )
    record = Station(
        village_code=village_code,
        centre=centre_record,
        name=fields.pop("name", f"服务站{next(_sequence)}"),
        address=fields.pop("address", "村部一楼"),
        service_fee_bps=service_fee_bps,
        **fields,
    )
    db.session.add(record)
    db.session.commit()
    return record


def seller(station_record=None, phone: str | None = None, poor_household: bool = False, **fields):
    from core.pii import digest
    from villages.models import Seller

    station_record = station_record or station()
    phone = phone or f"139{next(_sequence):08d}"
    record = Seller(
        station=station_record,
        name=fields.pop("name", "李秀英"),
        phone=phone,
        phone_digest=digest(phone, "phone"),
        poor_household=poor_household,
        household_no=fields.pop("household_no", "4302250001" if poor_household else None),
        **fields,
    )
    db.session.add(record)
    db.session.commit()
    return record


def worker(village_code: str, kind: str = "info_officer", left_on=None):
    from core.pii import digest
    from villages.models import VillageWorker

    region(village_code)
    phone = f"137{next(_sequence):08d}"
    record = VillageWorker(
        village_code=village_code,
        kind=kind,
        name="张三",
        phone=phone,
        phone_digest=digest(phone, "phone"),
        left_on=left_on,
    )
    db.session.add(record)
    db.session.commit()
    return record


def product(
    station_record=None,
    seller_record=None,
    status: str = "on_sale",
    skus: tuple = (("5斤装", 6800, 100),),
    **fields,
):
    """A product with SKUs; on sale unless told otherwise (no review trail)."""
    from core.db import utcnow
    from shop.models import Product, Sku

    station_record = station_record or (seller_record.station if seller_record else station())
    seller_record = seller_record or seller(station_record)
    record = Product(
        station=station_record,
        seller=seller_record,
        category_slug=fields.pop("category_slug", "fruit"),
        origin_village_code=fields.pop("origin_village_code", station_record.village_code),
        title=fields.pop("title", "炎陵黄桃"),
        description=fields.pop("description", "高山黄桃，香甜多汁"),
        unit=fields.pop("unit", "箱"),
        status=status,
        published_at=fields.pop("published_at", utcnow() if status == "on_sale" else None),
        min_price_fen=min(price for _, price, _ in skus),
        skus=[Sku(name=name, price_fen=price, stock=stock, position=i) for i, (name, price, stock) in enumerate(skus)],
        **fields,
    )
    db.session.add(record)
    db.session.commit()
    return record
