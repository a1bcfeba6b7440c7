"""Demo village data: centres, poverty flags, coverage, stations, workers, sellers.

Deterministic (seeded by region codes) and run once: when any centre exists the
step does nothing, so seeding twice changes nothing. It leaves real gaps on
purpose so the policy-metrics page has shortfalls to show.
"""

import random
from datetime import date, timedelta

import sqlalchemy as sa

from core.extensions import db
from core.models import Role, User
from core.pii import digest
from core.services import grant_role, hash_password
from villages.models import Centre, Region, RegionLevel, Seller, Station, Village, VillageWorker, WorkerKind

POVERTY_COUNTIES = ("430225", "430224", "430223")
DEMO_STATION_MANAGER = ("liu", "demo-liu-2026")
_SURNAMES = "李王张刘陈杨黄赵周吴谭罗彭谢"
_GIVEN = ("秀英", "建国", "桂花", "春生", "冬梅", "志强", "满秀", "国华", "小红", "德明", "玉兰", "海平")
_CARRIER_DAY = date(2024, 1, 1)


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"


def _coverage_day(rng: random.Random) -> date:
    return _CARRIER_DAY + timedelta(days=rng.randint(0, 900))


def _village_facts(village: Village, rng: random.Random) -> None:
    poverty = village.code[:6] in POVERTY_COUNTIES and rng.random() < 0.34
    village.is_poverty_village = poverty
    village.households = rng.randint(180, 900)
    village.registered_poor_households = rng.randint(20, 90) if poverty else rng.randint(0, 15)
    village.fibre_covered = rng.random() < (0.9 if poverty else 0.75)
    village.fibre_covered_on = _coverage_day(rng) if village.fibre_covered else None
    village.mobile_4g_covered = rng.random() < 0.93
    village.mobile_4g_covered_on = _coverage_day(rng) if village.mobile_4g_covered else None


def _add_worker(village: Village, kind: str, rng: random.Random) -> None:
    phone = _phone(rng)
    db.session.add(
        VillageWorker(
            village_code=village.code,
            kind=kind,
            name=_person(rng),
            phone=phone,
            phone_digest=digest(phone, "phone"),
            trained_on=_coverage_day(rng),
            certificate_no=f"ZZDS{rng.randint(100000, 999999)}",
        )
    )


def _add_sellers(station: Station, rng: random.Random, poverty: bool) -> None:
    for _ in range(rng.randint(2, 5)):
        phone = _phone(rng)
        poor = rng.random() < (0.5 if poverty else 0.15)
        db.session.add(
            Seller(
                station=station,
                name=_person(rng),
                phone=phone,
                phone_digest=digest(phone, "phone"),
                poor_household=poor,
                household_no=f"{station.village_code[:6]}{rng.randint(10000, 99999)}" if poor else None,
                payout_alipay_account=phone,
            )
        )


def _centres() -> dict[str, Centre]:
    centres = {}
    for county in db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)):
        centre = Centre(county_code=county.code, name=f"{county.name}县域电商服务中心", commission_bps=300)
        db.session.add(centre)
        centres[county.code] = centre
    db.session.flush()
    return centres


def _station_manager(station: Station) -> None:
    username, password = DEMO_STATION_MANAGER
    user = User(username=username, display_name="刘站长", password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    grant_role(user, Role.STATION_MANAGER, region_code=station.village_code, station_id=station.id)


def seed_village_data() -> dict:
    """Seed once; returns what was created (empty when already seeded)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Centre)):
        return {}
    centres = _centres()
    villages = db.session.scalars(sa.select(Village).order_by(Village.code)).all()
    stations = []
    for village in villages:
        rng = random.Random(int(village.code))
        _village_facts(village, rng)
        if rng.random() < 0.85:
            _add_worker(village, WorkerKind.INFO_OFFICER, rng)
        if rng.random() < 0.7:
            _add_worker(village, WorkerKind.ECOMMERCE_TALENT, rng)
        wants_station = rng.random() < (0.8 if village.is_poverty_village else 0.15)
        if wants_station:
            station = Station(
                village_code=village.code,
                centre=centres[village.code[:6]],
                name=f"{village.region.name.removesuffix('（演示）')}服务站（演示）",
                address=f"{village.region.name}村部",
                service_fee_bps=500,
            )
            db.session.add(station)
            _add_sellers(station, rng, village.is_poverty_village)
            stations.append(station)
    db.session.flush()
    first_yanling = next(s for s in stations if s.village_code.startswith("430225"))
    _station_manager(first_yanling)
    return {"centres": len(centres), "stations": len(stations), "manager_station": first_yanling}
