"""The benchmark city: a PostgreSQL database shaped like 株洲 after a few years of sales.

The real regions (``demo/data/zhuzhou_divisions.csv``), ~1,200 villages, ~300
stations, ~5,000 products, ~20,000 buyers and 1,000,000 paid order lines over
the last 12 months, with refunds and the ledger postings the app itself would
have written for them (balanced postings, per-line credits = paid − refunded;
``flask ledger verify`` passes on it). Rows are streamed with COPY, one
connection per table so every table loads at once from a single generating
pass; foreign keys are not re-checked row by row (``session_replication_role
= replica``) because the generator writes them consistent by construction,
and the ledger check below and ``flask ledger verify`` prove it. Before any
row is written, ``check_columns`` compares the column lists with the migrated
schema, so a migration that adds a NOT NULL column stops the build by name.

The database is built once and reused: ``bench_dataset`` holds the dataset
key (version and scale), the keys the data was written with and the
dates it spans. A database with another key (or none) is dropped and rebuilt.
"""

import base64
import json
import os
import random
import secrets
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from core.pii import PiiKeyring
from payments.ledger.split import split_line

DATASET_VERSION = "2"  # 2: sellers and order lines carry the household category (migration 0015)
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/zz_bench"
DIVISIONS_CSV = Path(__file__).resolve().parent.parent / "demo" / "data" / "zhuzhou_divisions.csv"
CITY = "4302"
CHANNELS = (("wechat_jsapi", 0.8), ("alipay_mini", 0.1), ("alipay_wap", 0.1))
COMMISSION_BPS = 300  # centres
SERVICE_FEE_BPS = 500  # stations
REFUND_SHARE = 0.03  # orders with one line refunded in full
HOT_SKU_TITLE = "炎陵黄桃（爆款限量）"
MONITORED_SHARE = 0.25  # of the supported (formerly 建档立卡) sellers: 监测对象 rather than 脱贫户


@dataclass(frozen=True)
class Scale:
    villages: int = 1200
    stations: int = 300
    products: int = 5000
    buyers: int = 20000
    lines: int = 1_000_000
    months: int = 12

    @classmethod
    def from_env(cls) -> "Scale":
        """``BENCH_LINES`` / ``BENCH_PRODUCTS`` … shrink the city (for trying the bench out)."""
        values = {}
        for name in cls.__dataclass_fields__:
            raw = os.environ.get(f"BENCH_{name.upper()}")
            if raw:
                values[name] = int(raw)
        return cls(**values)

    @property
    def key(self) -> str:
        return (
            f"v{DATASET_VERSION}:{self.villages}v:{self.stations}s:{self.products}p:"
            f"{self.buyers}b:{self.lines}l:{self.months}m"
        )


@dataclass
class Dataset:
    """What the rest of the bench needs to know about a built database."""

    url: str
    key: str
    pii_key: str
    secret_key: str
    first_day: date
    last_day: date
    hot_sku_id: int
    checkout_sku_ids: list[int] = field(default_factory=list)
    product_ids: list[int] = field(default_factory=list)
    buyer_ids: list[int] = field(default_factory=list)
    poverty_office_id: int = 0
    build_seconds: float = 0.0
    reused: bool = False
    counts: dict = field(default_factory=dict)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg wants it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _server_and_name(url: str) -> tuple[str, str]:
    base, _, name = libpq_url(url).rpartition("/")
    return base + "/postgres", name.split("?")[0]


def recreate_database(url: str) -> None:
    """Drop (if present) and create the bench database; it belongs to the bench alone."""
    server, name = _server_and_name(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_exists(url: str) -> bool:
    server, name = _server_and_name(url)
    with psycopg.connect(server, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def read_meta(url: str) -> dict | None:
    """The ``bench_dataset`` row of a built database, or None."""
    if not database_exists(url):
        return None
    with psycopg.connect(libpq_url(url)) as conn:
        exists = conn.execute("SELECT to_regclass('public.bench_dataset')").fetchone()[0]
        if exists is None:
            return None
        row = conn.execute("SELECT meta FROM bench_dataset ORDER BY built_at DESC LIMIT 1").fetchone()
        return row[0] if row else None


def migrate(url: str) -> None:
    """``flask db upgrade`` on the bench database (also on a reused one: new indexes arrive here)."""
    from flask_migrate import upgrade

    from app import create_app
    from core.config import Config

    os.environ["DATABASE_URL"] = url
    config = Config()
    config.SQLALCHEMY_DATABASE_URI = url
    app = create_app(config)
    with app.app_context():
        upgrade()


def ensure_dataset(url: str, scale: Scale, *, rebuild: bool = False, log=print) -> Dataset:
    """The dataset at ``url``: reused when its key matches, built (from an empty database) otherwise."""
    meta = None if rebuild else read_meta(url)
    if meta is not None and meta.get("key") == scale.key:
        log(f"dataset {scale.key}: reusing {url.rsplit('@', 1)[-1]} (built {meta['built_at']})")
        migrate(url)
        return _dataset_from_meta(url, meta, reused=True)
    log(f"dataset {scale.key}: building in {url.rsplit('@', 1)[-1]} …")
    started = time.perf_counter()
    recreate_database(url)
    migrate(url)
    meta = Builder(url, scale, log).build()
    meta["build_seconds"] = round(time.perf_counter() - started, 1)
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("UPDATE bench_dataset SET meta = %s", (json.dumps(meta),))
    log(f"dataset built in {meta['build_seconds']:.0f} s: {meta['counts']}")
    return _dataset_from_meta(url, meta, reused=False)


def _dataset_from_meta(url: str, meta: dict, *, reused: bool) -> Dataset:
    return Dataset(
        url=url,
        key=meta["key"],
        pii_key=meta["pii_key"],
        secret_key=meta["secret_key"],
        first_day=date.fromisoformat(meta["first_day"]),
        last_day=date.fromisoformat(meta["last_day"]),
        hot_sku_id=meta["hot_sku_id"],
        checkout_sku_ids=meta["checkout_sku_ids"],
        product_ids=meta["product_ids"],
        buyer_ids=meta["buyer_ids"],
        poverty_office_id=meta["poverty_office_id"],
        build_seconds=meta.get("build_seconds", 0.0),
        reused=reused,
        counts=meta["counts"],
    )


# The generator ------------------------------------------------------------------

_SURNAMES = "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
_GIVEN = "建国华明秀英桂兰志强海燕春梅丽娟玉兰德福金凤国庆红霞文军小平永红"
_VILLAGE_WORDS = "东南西北上下新和平安兴福寿丰乐青山石竹桃花茶溪田坪塘湾源龙凤泉岭冲湖"
_ADJECTIVES = ("高山", "有机", "农家", "生态", "古法", "手工", "头茬", "精选", "散养", "野生", "原生态", "老树")

# Copy lists: table → columns, in the order the generator writes them.
COLUMNS = {
    "regions": ("code", "name", "level", "parent_code"),
    "villages": (
        "code",
        "is_poverty_village",
        "households",
        "registered_poor_households",
        "fibre_covered",
        "mobile_4g_covered",
        "updated_at",
    ),
    "users": ("id", "username", "display_name", "wechat_openid", "is_active", "token_version", "created_at"),
    "role_grants": ("id", "user_id", "role", "region_code", "station_id", "created_at"),
    "centres": ("id", "county_code", "name", "commission_bps", "created_at"),
    "stations": (
        "id",
        "village_code",
        "centre_id",
        "name",
        "address",
        "service_fee_bps",
        "status",
        "offers_pickup",
        "created_at",
    ),
    "sellers": (
        "id",
        "station_id",
        "name",
        "phone",
        "phone_digest",
        "household_category",
        "show_name_on_trace",
        "created_at",
    ),
    "products": (
        "id",
        "station_id",
        "seller_id",
        "category_slug",
        "origin_village_code",
        "title",
        "description",
        "unit",
        "status",
        "min_price_fen",
        "sales_count",
        "cover_image_key",
        "poverty_certified",
        "certificate_no",
        "certified_on",
        "content_flagged",
        "created_at",
        "updated_at",
        "submitted_at",
        "published_at",
    ),
    "skus": ("id", "product_id", "name", "price_fen", "stock", "position", "is_active", "created_at", "updated_at"),
    "product_images": (
        "id",
        "product_id",
        "key",
        "thumbnail_key",
        "content_type",
        "width",
        "height",
        "byte_size",
        "position",
        "created_at",
    ),
    "orders": (
        "id",
        "buyer_id",
        "status",
        "total_fen",
        "expires_at",
        "address_name",
        "address_phone",
        "address_region_code",
        "address_detail",
        "paid_channel",
        "created_at",
        "paid_at",
        "shipped_at",
        "completed_at",
    ),
    "shipments": ("id", "order_id", "station_id", "carrier", "tracking_no", "shipped_by_id", "shipped_at"),
    "order_lines": (
        "id",
        "order_id",
        "sku_id",
        "product_id",
        "seller_id",
        "station_id",
        "centre_id",
        "village_code",
        "category_slug",
        "product_title",
        "sku_name",
        "unit_price_fen",
        "quantity",
        "amount_fen",
        "commission_bps",
        "service_fee_bps",
        "poverty_certified",
        "seller_poor_household",
        "seller_household_category",
        "poverty_village",
        "status",
        "status_before_refund",
        "refunded_fen",
        "shipment_id",
        "completed_at",
    ),
    "order_events": ("id", "order_id", "from_status", "to_status", "actor_id", "reason", "created_at"),
    "payments": (
        "id",
        "order_id",
        "buyer_id",
        "channel",
        "out_trade_no",
        "amount_fen",
        "status",
        "transaction_id",
        "params",
        "created_at",
        "paid_at",
    ),
    "refund_requests": (
        "id",
        "order_id",
        "buyer_id",
        "status",
        "amount_fen",
        "reason",
        "decision_reason",
        "decided_by_id",
        "decided_at",
        "refunded_at",
        "created_at",
    ),
    "refund_request_lines": ("id", "refund_id", "line_id", "amount_fen"),
    "gateway_refunds": (
        "id",
        "payment_id",
        "refund_request_id",
        "out_refund_no",
        "amount_fen",
        "reason",
        "status",
        "gateway_refund_id",
        "attempts",
        "created_at",
        "completed_at",
    ),
    "ledger_accounts": ("id", "owner_type", "owner_id", "bucket", "created_at"),
    "ledger_postings": ("id", "kind", "event_key", "payment_id", "gateway_refund_id", "created_at"),
    "ledger_entries": ("id", "posting_id", "account_id", "amount_fen", "order_line_id"),
    "line_settlements": (
        "order_line_id",
        "payment_id",
        "seller_id",
        "station_id",
        "centre_id",
        "seller_fen",
        "station_fen",
        "centre_fen",
        "reversed_seller_fen",
        "reversed_station_fen",
        "reversed_centre_fen",
    ),
}


class SchemaMismatch(RuntimeError):
    """The bench writes rows the current schema does not take (a migration changed a table)."""


def check_columns(conn: psycopg.Connection, columns: dict[str, tuple[str, ...]]) -> None:
    """Fail before any COPY unless each table's column list fits the migrated schema.

    Every listed column must exist, and every NOT NULL column must be written: those
    without a default would fail deep inside COPY, and those with one (such as
    ``household_category`` defaulting to 'ordinary') would load rows that silently
    mean something else. Serial ids are the one exception.
    """
    problems = []
    for table, written in columns.items():
        rows = conn.execute(
            "SELECT column_name, is_nullable = 'NO', column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
            (table,),
        ).fetchall()
        if not rows:
            problems.append(f"{table}: no such table")
            continue
        present = {name for name, _, _ in rows}
        for name in written:
            if name not in present:
                problems.append(f"{table}.{name}: written by the bench but not in the schema")
        for name, not_null, default in rows:
            if not not_null or name in written:
                continue
            if default is None:
                problems.append(f"{table}.{name}: NOT NULL without a default, not written by the bench")
            elif not default.startswith("nextval("):
                problems.append(f"{table}.{name}: NOT NULL (default {default}), not written by the bench")
    if problems:
        raise SchemaMismatch(
            "the bench dataset no longer matches the schema (update COLUMNS and the generator in bench/dataset.py, "
            "or the COPY in bench/queries.py, to the models, and bump DATASET_VERSION):\n  " + "\n  ".join(problems)
        )


def _load_templates() -> list[tuple[str, str, str, str, tuple]]:
    from demo.catalogue import COUNTY_PRODUCTS, GENERIC_PRODUCTS

    templates = [t for group in COUNTY_PRODUCTS.values() for t in group]
    return templates + list(GENERIC_PRODUCTS)


class Builder:
    """One pass over the city: every row written once, ids assigned here."""

    def __init__(self, url: str, scale: Scale, log):
        self.url = url
        self.scale = scale
        self.log = log
        self.rng = random.Random(20260316)
        self.pii_key = base64.b64encode(secrets.token_bytes(32)).decode()
        self.secret_key = secrets.token_hex(32)
        self.keyring = PiiKeyring(self.pii_key)
        self.counts: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.refunded_lines: list = []
        today = datetime.now(UTC).date()
        self.last_day = today - timedelta(days=1)
        self.first_day = today - timedelta(days=365 * scale.months // 12)
        self.start = datetime.combine(self.first_day, datetime.min.time(), UTC)
        self.end = datetime.combine(today, datetime.min.time(), UTC)

    def next_id(self, table: str) -> int:
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def build(self) -> dict:
        started = time.perf_counter()
        with psycopg.connect(libpq_url(self.url)) as conn:
            check_columns(conn, COLUMNS)
        with ExitStack() as stack:
            conns = {}
            copies = {}
            for table, columns in COLUMNS.items():
                conn = stack.enter_context(psycopg.connect(libpq_url(self.url)))
                conn.execute("SET session_replication_role = replica")
                conn.execute("SET synchronous_commit = off")
                cursor = conn.cursor()
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                copies[table] = stack.enter_context(cursor.copy(statement))
                conns[table] = conn
            self.copies = copies
            meta = self._generate()
        self.log(f"  rows streamed in {time.perf_counter() - started:.0f} s; finishing …")
        self._finish(meta)
        return meta

    def write(self, table: str, *row) -> None:
        self.copies[table].write_row(row)
        self.counts[table] = self.counts.get(table, 0) + 1

    # -- the places -------------------------------------------------------------

    def _regions(self) -> tuple[list[str], list[str]]:
        import csv

        counties, townships = [], []
        with DIVISIONS_CSV.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                self.write("regions", row["code"], row["name"], row["level"], row["parent_code"] or None)
                if row["level"] == "county":
                    counties.append(row["code"])
                elif row["level"] == "township" and row["code"][6:9] >= "100":  # towns and 乡 have villages
                    townships.append(row["code"])
        villages = []
        per_township, extra = divmod(self.scale.villages, len(townships))
        for index, township in enumerate(townships):
            for number in range(1, per_township + (index < extra) + 1):
                code = f"{township}{200 + number:03d}"
                name = "".join(self.rng.sample(_VILLAGE_WORDS, 2)) + "村"
                self.write("regions", code, name, "village", township)
                villages.append(code)
        return counties, villages

    def _villages(self, villages: list[str]) -> set[str]:
        poverty = set()
        now = self.start
        for code in villages:
            households = self.rng.randint(150, 900)
            is_poor = self.rng.random() < 0.25
            if is_poor:
                poverty.add(code)
            poor = self.rng.randint(20, households // 4) if is_poor else self.rng.randint(0, 15)
            self.write("villages", code, is_poor, households, poor, self.rng.random() < 0.9, True, now)
        return poverty

    def _user(self, display_name: str, *, username=None, openid=None) -> int:
        user_id = self.next_id("users")
        self.write("users", user_id, username, display_name, openid, True, 1, self.start)
        return user_id

    def _grant(self, user_id: int, role: str, region=None, station=None) -> None:
        self.write("role_grants", self.next_id("role_grants"), user_id, role, region, station, self.start)

    def _person(self) -> str:
        return self.rng.choice(_SURNAMES) + "".join(self.rng.sample(_GIVEN, 2))

    def _phone(self) -> str:
        return f"1{self.rng.choice('3589')}{self.rng.randint(0, 999999999):09d}"

    # -- the city ---------------------------------------------------------------

    def _generate(self) -> dict:
        rng = self.rng
        counties, villages = self._regions()
        poverty_villages = self._villages(villages)
        office = self._user("扶贫办", username="bench-fupin")
        self._grant(office, "poverty_office", CITY)
        admin = self._user("平台管理员", username="bench-admin")
        self._grant(admin, "platform_admin")
        centres = {}
        for county in counties:
            centre_id = self.next_id("centres")
            self.write("centres", centre_id, county, f"{county}县域电商服务中心", COMMISSION_BPS, self.start)
            centres[county] = centre_id
        # Stations spread over the villages; each has a manager and three or four sellers.
        station_villages = rng.sample(villages, min(self.scale.stations, len(villages)))
        stations = []  # (id, village, centre, manager)
        sellers = []  # (id, station_id, poor_household, household_category)
        # Categories from a stream of their own, so every other draw stays as in dataset version 1.
        categories = random.Random(20261130)
        for village in station_villages:
            station_id = self.next_id("stations")
            centre = centres[village[:6]]
            self.write(
                "stations",
                station_id,
                village,
                centre,
                f"{village[-6:]}村级服务站",
                f"{village}号",
                SERVICE_FEE_BPS,
                "active",
                False,  # offers_pickup: every order is delivered
                self.start,
            )
            manager = self._user(f"站长{station_id}", username=f"bench-station-{station_id}")
            self._grant(manager, "station_manager", village, station_id)
            stations.append((station_id, village, centre, manager))
            for _ in range(rng.randint(3, 4)):
                seller_id = self.next_id("sellers")
                phone = self._phone()
                poor = rng.random() < 0.3
                category = "ordinary"
                if poor:
                    category = "monitored" if categories.random() < MONITORED_SHARE else "tuopin"
                self.write(
                    "sellers",
                    seller_id,
                    station_id,
                    self._person(),
                    self.keyring.encrypt(phone, "seller.phone"),
                    self.keyring.digest(phone, "phone"),
                    category,
                    False,  # show_name_on_trace
                    self.start,
                )
                sellers.append((seller_id, station_id, poor, category))
        buyers = []
        for number in range(self.scale.buyers):
            buyer = self._user("微信用户", openid=f"bench-openid-{number:06d}")
            self._grant(buyer, "buyer")
            buyers.append(buyer)
        products = self._catalogue(stations, sellers, poverty_villages)
        self._accounts(stations, sellers, centres)
        self._orders(stations, buyers, products, poverty_villages)
        return self._meta(office, buyers, products)

    def _catalogue(self, stations, sellers, poverty_villages) -> dict:
        rng = self.rng
        templates = _load_templates()
        sellers_of: dict[int, list] = {}
        for seller in sellers:
            sellers_of.setdefault(seller[1], []).append(seller)
        products = {"by_station": {}, "on_sale": [], "skus": {}, "info": {}}
        span = (self.end - self.start).total_seconds()
        hot_sku = None
        for index in range(self.scale.products):
            station_id, village, centre, _ = stations[index % len(stations)]
            seller_id, _, poor, household = rng.choice(sellers_of[station_id])
            title, category, unit, description, sku_templates = rng.choice(templates)
            if index == 0:
                title, sku_templates = HOT_SKU_TITLE, (("5斤装", 6800),)
            elif rng.random() < 0.7:
                title = f"{rng.choice(_ADJECTIVES)}{title}"[:60]
            product_id = self.next_id("products")
            status = "on_sale" if index == 0 or rng.random() < 0.92 else rng.choice(("pending_review", "off_shelf"))
            certified = (poor or village in poverty_villages) and rng.random() < 0.5
            created = self.start + timedelta(seconds=rng.random() * span * 0.9)
            published = created + timedelta(hours=rng.randint(2, 48)) if status != "pending_review" else None
            factor = rng.choice((0.9, 1.0, 1.0, 1.1, 1.2))
            skus = []
            for position, (sku_name, price) in enumerate(sku_templates):
                sku_id = self.next_id("skus")
                price = max(100, int(price * factor) // 10 * 10)
                stock = 50 if index == 0 else 1_000_000
                self.write("skus", sku_id, product_id, sku_name, price, stock, position, True, created, created)
                skus.append((sku_id, sku_name, price))
            hot_sku = hot_sku or skus[0][0]
            key = f"bench/{product_id}.jpg"
            self.write(
                "product_images", self.next_id("product_images"), product_id, key, key, "image/jpeg", 800, 800, 1, 0,
                created,
            )  # fmt: skip
            self.write(
                "products",
                product_id,
                station_id,
                seller_id,
                category,
                village,
                title,
                description,
                unit,
                status,
                min(price for _, _, price in skus),
                0,  # sales_count: set from the order lines at the end
                key,
                certified,
                f"ZZFP{product_id:06d}" if certified else None,
                created.date() if certified else None,
                False,
                created,
                created,
                created,
                published,
            )
            info = (
                product_id,
                station_id,
                seller_id,
                village,
                category,
                title,
                poor,
                certified,
                skus,
                centre,
                household,
            )
            products["info"][product_id] = info
            if status == "on_sale" and index != 0:
                products["by_station"].setdefault(station_id, []).append(info)
                products["on_sale"].append(product_id)
        products["hot_sku"] = hot_sku
        return products

    def _accounts(self, stations, sellers, centres) -> None:
        self.accounts = {}
        for channel, _ in CHANNELS:
            self.accounts[("gateway", 0, channel)] = self._account("gateway", 0, channel)
        for seller_id, *_ in sellers:
            self.accounts[("seller", seller_id)] = self._account("seller", seller_id, "pending")
        for station_id, *_ in stations:
            self.accounts[("station", station_id)] = self._account("station", station_id, "pending")
        for centre_id in centres.values():
            self.accounts[("centre", centre_id)] = self._account("centre", centre_id, "pending")

    def _account(self, owner_type: str, owner_id: int, bucket: str) -> int:
        account_id = self.next_id("ledger_accounts")
        self.write("ledger_accounts", account_id, owner_type, owner_id, bucket, self.start)
        return account_id

    def _orders(self, stations, buyers, products, poverty_villages) -> None:
        rng = self.rng
        addresses = [
            (
                self.keyring.encrypt(self._person(), "order.address_name"),
                self.keyring.encrypt(self._phone(), "order.address_phone"),
                self.keyring.encrypt(f"{rng.randint(1, 99)}号{rng.randint(1, 30)}栋", "order.address_detail"),
                rng.choice(list(poverty_villages) or [CITY]),
            )
            for _ in range(500)
        ]
        channel_names = [name for name, _ in CHANNELS]
        channel_weights = [weight for _, weight in CHANNELS]
        station_weights = [rng.paretovariate(1.5) for _ in stations]
        line_counts = (1, 1, 1, 2, 2, 3, 3, 4, 5)
        # Sales grow over the year: the order's place in the stream of lines maps to a time whose
        # density rises (the cumulative share of sales by time t is t^1.25).
        span = (self.end - self.start).total_seconds()
        total_lines = self.scale.lines
        refund_posting_keys = []  # (payment_id, order_id, line row …) written after every payment posting
        self.line_sales: dict[int, int] = {}
        written_lines = 0
        now = self.end
        while written_lines < total_lines:
            progress = (written_lines + rng.random()) / total_lines
            created = self.start + timedelta(seconds=span * progress**0.8)
            station_id, _, centre_id, manager = rng.choices(stations, weights=station_weights)[0]
            offer = products["by_station"].get(station_id)
            if not offer:
                continue
            wanted = min(rng.choice(line_counts), total_lines - written_lines)
            picks = []
            seen = set()
            for _ in range(wanted):
                info = rng.choice(offer)
                sku = rng.choice(info[8])
                if sku[0] in seen:
                    continue
                seen.add(sku[0])
                picks.append((info, sku, rng.choice((1, 1, 1, 2, 2, 3))))
            order_id = self.next_id("orders")
            payment_id = order_id
            buyer = rng.choice(buyers)
            channel = rng.choices(channel_names, weights=channel_weights)[0]
            paid_at = created + timedelta(seconds=rng.randint(20, 600))
            shipped_at = paid_at + timedelta(hours=rng.randint(6, 48))
            completed_at = shipped_at + timedelta(days=rng.randint(2, 7))
            if completed_at < now:
                status = "completed"
            elif shipped_at < now:
                status, completed_at = "shipped", None
            else:
                status, shipped_at, completed_at = "paid", None, None
            shipment_id = None
            if shipped_at is not None:
                shipment_id = self.next_id("shipments")
                self.write(
                    "shipments", shipment_id, order_id, station_id, "邮政EMS", f"EMS{order_id:010d}", manager,
                    shipped_at,
                )  # fmt: skip
            total = 0
            lines = []
            for info, (sku_id, sku_name, price), quantity in picks:
                product_id, _, seller_id, village, category, title, poor, certified, _, _, household = info
                line_id = self.next_id("order_lines")
                amount = price * quantity
                total += amount
                lines.append((line_id, amount, seller_id, station_id, centre_id))
                self.line_sales[product_id] = self.line_sales.get(product_id, 0) + quantity
                self.write(
                    "order_lines", line_id, order_id, sku_id, product_id, seller_id, station_id, centre_id, village,
                    category, title, sku_name, price, quantity, amount, COMMISSION_BPS, SERVICE_FEE_BPS, certified,
                    poor, household, village in poverty_villages, status, None, 0, shipment_id, completed_at,
                )  # fmt: skip
            written_lines += len(lines)
            name, phone, detail, region = rng.choice(addresses)
            self.write(
                "orders", order_id, buyer, status, total, created + timedelta(minutes=30), name, phone, region,
                detail, channel, created, paid_at, shipped_at, completed_at,
            )  # fmt: skip
            self._order_events(order_id, buyer, manager, channel, created, paid_at, shipped_at, completed_at)
            out_trade_no = f"ZZ{paid_at:%Y%m%d}{order_id:010d}bench"[:32]
            self.write(
                "payments", payment_id, order_id, buyer, channel, out_trade_no, total, "paid", f"T{payment_id:020d}",
                "{}", created, paid_at,
            )  # fmt: skip
            self._payment_posting(payment_id, channel, total, lines, paid_at)
            if status != "paid" and rng.random() < REFUND_SHARE:
                refund_posting_keys.append((payment_id, order_id, buyer, channel, lines[0], shipped_at))
        self.counts["orders_refunded"] = len(refund_posting_keys)
        for refund in refund_posting_keys:
            self._refund(*refund)
        self.products = products

    def _order_events(self, order_id, buyer, manager, channel, created, paid_at, shipped_at, completed_at) -> None:
        write = self.write
        write("order_events", self.next_id("order_events"), order_id, None, "pending_payment", buyer, "下单", created)
        write(
            "order_events", self.next_id("order_events"), order_id, "pending_payment", "paid", None,
            f"支付成功（{channel}）", paid_at,
        )  # fmt: skip
        if shipped_at is not None:
            write(
                "order_events", self.next_id("order_events"), order_id, "paid", "shipped", manager, "发货", shipped_at
            )
        if completed_at is not None:
            write(
                "order_events", self.next_id("order_events"), order_id, "shipped", "completed", buyer, "确认收货",
                completed_at,
            )  # fmt: skip

    def _payment_posting(self, payment_id, channel, total, lines, paid_at) -> None:
        """What ``post_payment`` writes: each line split into the parties' pending buckets."""
        posting_id = self.next_id("ledger_postings")
        self.write("ledger_postings", posting_id, "payment", f"payment:{payment_id}", payment_id, None, paid_at)
        for line_id, amount, seller_id, station_id, centre_id in lines:
            split = split_line(amount, COMMISSION_BPS, SERVICE_FEE_BPS)
            self.write(
                "line_settlements", line_id, payment_id, seller_id, station_id, centre_id, split.seller_fen,
                split.station_fen, split.centre_fen, 0, 0, 0,
            )  # fmt: skip
            for party, party_id, value in (
                ("seller", seller_id, split.seller_fen),
                ("station", station_id, split.station_fen),
                ("centre", centre_id, split.centre_fen),
            ):
                if value:
                    self.write(
                        "ledger_entries", self.next_id("ledger_entries"), posting_id, self.accounts[(party, party_id)],
                        value, line_id,
                    )  # fmt: skip
        gateway = self.accounts[("gateway", 0, channel)]
        self.write("ledger_entries", self.next_id("ledger_entries"), posting_id, gateway, -total, None)

    def _refund(self, payment_id, order_id, buyer, channel, line, shipped_at) -> None:
        """An approved after-sales request for one whole line, refunded through the gateway, and its reversal."""
        line_id, amount, seller_id, station_id, centre_id = line
        requested = shipped_at + timedelta(days=1)
        refunded = requested + timedelta(hours=4)
        request_id = self.next_id("refund_requests")
        self.write(
            "refund_requests", request_id, order_id, buyer, "refunded", amount, "商品有损坏", "同意退款", None,
            requested + timedelta(hours=2), refunded, requested,
        )  # fmt: skip
        self.write("refund_request_lines", self.next_id("refund_request_lines"), request_id, line_id, amount)
        refund_id = self.next_id("gateway_refunds")
        self.write(
            "gateway_refunds", refund_id, payment_id, request_id, f"RF{refund_id:012d}bench", amount, "售后退款",
            "success", f"R{refund_id:020d}", 1, requested + timedelta(hours=2), refunded,
        )  # fmt: skip
        posting_id = self.next_id("ledger_postings")
        self.write(
            "ledger_postings", posting_id, "refund", f"refund:{refund_id}", payment_id, refund_id, refunded,
        )  # fmt: skip
        split = split_line(amount, COMMISSION_BPS, SERVICE_FEE_BPS)  # a full refund reverses all of it
        for party, party_id, value in (
            ("seller", seller_id, split.seller_fen),
            ("station", station_id, split.station_fen),
            ("centre", centre_id, split.centre_fen),
        ):
            if value:
                self.write(
                    "ledger_entries", self.next_id("ledger_entries"), posting_id, self.accounts[(party, party_id)],
                    -value, line_id,
                )  # fmt: skip
        gateway = self.accounts[("gateway", 0, channel)]
        self.write("ledger_entries", self.next_id("ledger_entries"), posting_id, gateway, amount, None)
        self.refunded_lines.append((line_id, amount, split))

    def _meta(self, office, buyers, products) -> dict:
        on_sale = products["on_sale"]
        checkout = [products["info"][pid][8][0][0] for pid in on_sale[:200]]
        return {
            "key": self.scale.key,
            "pii_key": self.pii_key,
            "secret_key": self.secret_key,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "hot_sku_id": products["hot_sku"],
            "checkout_sku_ids": checkout,
            "product_ids": on_sale[:500],
            "buyer_ids": buyers[:1000],
            "poverty_office_id": office,
            "counts": {},
        }

    def _finish(self, meta: dict) -> None:
        """Refunds and sales counts onto the rows, sequences past the ids, statistics, the dataset row."""
        with psycopg.connect(libpq_url(self.url)) as conn:
            conn.execute("SET session_replication_role = replica")
            with conn.cursor() as cursor:
                cursor.execute("CREATE TEMP TABLE refunded (line_id int PRIMARY KEY, amount int, s int, st int, c int)")
                with cursor.copy("COPY refunded FROM STDIN") as copy:
                    for line_id, amount, split in self.refunded_lines:
                        copy.write_row((line_id, amount, split.seller_fen, split.station_fen, split.centre_fen))
                cursor.execute(
                    "UPDATE order_lines l SET refunded_fen = r.amount, status_before_refund = l.status, "
                    "status = 'refunded' FROM refunded r WHERE l.id = r.line_id"
                )
                cursor.execute(
                    "UPDATE line_settlements s SET reversed_seller_fen = r.s, reversed_station_fen = r.st, "
                    "reversed_centre_fen = r.c FROM refunded r WHERE s.order_line_id = r.line_id"
                )
                # An order whose every line was refunded reads as refunded.
                cursor.execute(
                    "UPDATE orders o SET status = 'refunded' WHERE o.id IN (SELECT l.order_id FROM order_lines l "
                    "JOIN refunded r ON r.line_id = l.id) AND NOT EXISTS (SELECT 1 FROM order_lines x "
                    "WHERE x.order_id = o.id AND x.status <> 'refunded')"
                )
                cursor.execute("CREATE TEMP TABLE sold (product_id int PRIMARY KEY, units int)")
                with cursor.copy("COPY sold FROM STDIN") as copy:
                    for product_id, units in self.line_sales.items():
                        copy.write_row((product_id, units))
                cursor.execute("UPDATE products p SET sales_count = s.units FROM sold s WHERE p.id = s.product_id")
                self.ids["payments"] = self.ids["orders"]  # one payment per order, with the order's id
                for table, last in self.ids.items():
                    cursor.execute(
                        sql.SQL("SELECT setval(pg_get_serial_sequence({}, 'id'), {})").format(
                            sql.Literal(table), sql.Literal(last)
                        )
                    )
                cursor.execute("CREATE TABLE bench_dataset (built_at timestamptz DEFAULT now(), meta json)")
                meta["counts"] = {
                    "villages": self.counts["villages"],
                    "stations": self.counts["stations"],
                    "products": self.counts["products"],
                    "buyers": self.scale.buyers,
                    "orders": self.counts["orders"],
                    "order_lines": self.counts["order_lines"],
                    "refunded_lines": len(self.refunded_lines),
                    "ledger_entries": self.counts["ledger_entries"],
                }
                cursor.execute("INSERT INTO bench_dataset (meta) VALUES (%s)", (json.dumps(meta),))
            conn.commit()
        started = time.perf_counter()
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
        self.log(f"  VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
