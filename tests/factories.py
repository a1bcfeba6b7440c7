"""factory_boy factories for the records tests need, and the thin functions most tests call.

Factories only flush: the records belong to the test's transaction (rolled
back at the end, see conftest.py). A request under test runs after whatever
the test arranged has been committed (conftest's test client commits first),
so a request that fails and rolls back never takes the arranged records with it.
"""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from core.auth import issue_tokens
from core.db import utcnow
from core.extensions import db
from core.models import Role, RoleGrant, User
from core.pii import digest
from core.services import hash_password
from shop.models import Product, ProductStatus, Sku
from villages.models import Centre, Region, RegionLevel, Seller, Station, Village, VillageWorker, WorkerKind

LEVEL_BY_LENGTH = {4: RegionLevel.CITY, 6: RegionLevel.COUNTY, 9: RegionLevel.TOWNSHIP, 12: RegionLevel.VILLAGE}
# Hashing a password costs time; every factory user shares this one unless told otherwise.
DEFAULT_PASSWORD = "correct-horse-1"


class _Factory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - the session conftest swaps in per test
        sqlalchemy_session_persistence = "flush"


class RegionFactory(_Factory):
    class Meta:
        model = Region
        sqlalchemy_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"4302{n:02d}")
    level = factory.LazyAttribute(lambda region: LEVEL_BY_LENGTH[len(region.code)])
    name = factory.LazyAttribute(lambda region: f"测试{region.level}{region.code}")
    # The code one level up (city 4302 ← county 430225 ← township 430225100 ← village 430225100201).
    parent_code = factory.LazyAttribute(
        lambda region: {6: region.code[:4], 9: region.code[:6], 12: region.code[:9]}.get(len(region.code))
    )

    @factory.post_generation
    def village_facts(region, create, extracted, **kwargs):
        """A village-level region has its policy-facts row."""
        if create and region.level == RegionLevel.VILLAGE and db.session.get(Village, region.code) is None:
            db.session.add(Village(code=region.code))
            db.session.flush()


class UserFactory(_Factory):
    class Meta:
        model = User
        exclude = ("password",)

    password = DEFAULT_PASSWORD
    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password_hash = factory.LazyAttribute(lambda user: hash_password(user.password))


class RoleGrantFactory(_Factory):
    class Meta:
        model = RoleGrant

    user = factory.SubFactory(UserFactory)
    role = Role.BUYER
    region_code = None
    station_id = None


class CentreFactory(_Factory):
    class Meta:
        model = Centre

    county_code = "430225"
    name = factory.LazyAttribute(lambda centre: f"{centre.county_code}县域电商中心")
    commission_bps = 300


class StationFactory(_Factory):
    class Meta:
        model = Station

    village_code = "430225100201"
    centre = factory.SubFactory(CentreFactory)
    name = factory.Sequence(lambda n: f"服务站{n}")
    address = "村部一楼"
    service_fee_bps = 500


class SellerFactory(_Factory):
    class Meta:
        model = Seller
        exclude = ("number",)

    number = factory.Sequence(lambda n: n)
    station = factory.SubFactory(StationFactory)
    name = "李秀英"
    phone = factory.LazyAttribute(lambda seller: f"139{seller.number:08d}")
    phone_digest = factory.LazyAttribute(lambda seller: digest(seller.phone, "phone"))
    poor_household = False
    household_no = factory.LazyAttribute(lambda seller: "4302250001" if seller.poor_household else None)


class VillageWorkerFactory(_Factory):
    class Meta:
        model = VillageWorker
        exclude = ("number",)

    number = factory.Sequence(lambda n: n)
    village_code = "430225100201"
    kind = WorkerKind.INFO_OFFICER
    name = "张三"
    phone = factory.LazyAttribute(lambda worker: f"137{worker.number:08d}")
    phone_digest = factory.LazyAttribute(lambda worker: digest(worker.phone, "phone"))
    left_on = None


class SkuFactory(_Factory):
    class Meta:
        model = Sku

    name = "5斤装"
    price_fen = 6800
    stock = 100
    position = 0


class ProductFactory(_Factory):
    """A product with SKUs (``skus``: (name, price, stock) triples); on sale unless told otherwise, no review trail."""

    class Meta:
        model = Product
        exclude = ("sku_specs",)

    sku_specs = (("5斤装", 6800, 100),)
    seller = factory.SubFactory(SellerFactory)
    station = factory.LazyAttribute(lambda product: product.seller.station)
    category_slug = "fruit"
    origin_village_code = factory.LazyAttribute(lambda product: product.station.village_code)
    title = "炎陵黄桃"
    description = "高山黄桃，香甜多汁"
    unit = "箱"
    status = ProductStatus.ON_SALE
    published_at = factory.LazyAttribute(lambda product: utcnow() if product.status == ProductStatus.ON_SALE else None)
    min_price_fen = factory.LazyAttribute(lambda product: min(price for _, price, _ in product.sku_specs))
    skus = factory.LazyAttribute(
        lambda product: [
            SkuFactory.build(name=name, price_fen=price, stock=stock, position=position)
            for position, (name, price, stock) in enumerate(product.sku_specs)
        ]
    )


# Thin functions: the call sites of the suite, built on the factories above. ------------------------


def region(code: str, name: str | None = None, level: str | None = None) -> Region:
    """A region and any missing ancestors (city 4302 → … → ``code``)."""
    parent = None
    for length in (4, 6, 9, 12):
        if length > len(code):
            break
        part = code[:length]
        if db.session.get(Region, part) is None:
            RegionFactory(
                code=part,
                name=name if part == code and name else f"测试{LEVEL_BY_LENGTH[length]}{part}",
                level=level if part == code and level else LEVEL_BY_LENGTH[length],
                parent_code=parent,
            )
        parent = part
    return db.session.get(Region, code)


def user(*grants: tuple, username: str | None = None, password: str = DEFAULT_PASSWORD, **fields) -> User:
    """A user with the given grants, each ``(role, region_code[, station_id])``."""
    if username is not None:
        fields["username"] = username
    account = UserFactory(password=password, **fields)
    for grant in grants:
        role, region_code, station_id = (*grant, None, None)[:3]
        RoleGrantFactory(user=account, role=role, region_code=region_code, station_id=station_id)
    return account


def auth_header(account: User) -> dict:
    return {"Authorization": f"Bearer {issue_tokens(account)['token']}"}


def centre(county_code: str = "430225", commission_bps: int = 300, name: str | None = None) -> Centre:
    region(county_code)
    extra = {"name": name} if name else {}
    return CentreFactory(county_code=county_code, commission_bps=commission_bps, **extra)


def station(village_code: str = "430225100201", service_fee_bps: int = 500, centre_record=None, **fields) -> Station:
    """A station in ``village_code``, under the county's first centre (made when there is none)."""
    region(village_code)
    if centre_record is None:
        centre_record = db.session.query(Centre).filter_by(county_code=village_code[:6]).first() or centre(
            village_code[:6]
        )
    return StationFactory(village_code=village_code, centre=centre_record, service_fee_bps=service_fee_bps, **fields)


def seller(station_record=None, phone: str | None = None, poor_household: bool = False, **fields) -> Seller:
    if phone is not None:
        fields["phone"] = phone
    return SellerFactory(station=station_record or station(), poor_household=poor_household, **fields)


def worker(village_code: str, kind: str = WorkerKind.INFO_OFFICER, left_on=None) -> VillageWorker:
    region(village_code)
    return VillageWorkerFactory(village_code=village_code, kind=kind, left_on=left_on)


def product(
    station_record=None,
    seller_record=None,
    status: str = ProductStatus.ON_SALE,
    skus: tuple = (("5斤装", 6800, 100),),
    **fields,
) -> Product:
    """A product with SKUs; on sale unless told otherwise (no review trail)."""
    station_record = station_record or (seller_record.station if seller_record else station())
    seller_record = seller_record or seller(station_record)
    return ProductFactory(station=station_record, seller=seller_record, status=status, sku_specs=skus, **fields)
