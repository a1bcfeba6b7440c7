"""The fuzz run's own app: a migrated database of its own with the demo city seeded once per session.

It is not the suite's ``app`` (each of whose tests rolls back): the fuzzer's
requests commit, and other tests must not see the demo city or what the
fuzzer did to it. On SQLite a temporary file; when ``TEST_DATABASE_URL``
names PostgreSQL (the second pass of `make test`), a database of its own
beside that one (``<name>_fuzz``), dropped at the end.
"""

import os
import tempfile
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from core.auth import issue_tokens
from core.config import TestConfig
from core.extensions import db
from core.models import Role, User
from sandbox import create_sandbox_app
from tests.fakes import serve

# One run per role; "anonymous" sends no Authorization header.
ROLES = (
    "anonymous",
    Role.BUYER,
    Role.SELLER,
    Role.STATION_MANAGER,
    Role.COUNTY_ADMIN,
    Role.POVERTY_OFFICE,
    Role.PLATFORM_ADMIN,
)


@contextmanager
def _fuzz_database(tmp_dir: str):
    """The URL of an empty database for the fuzz run."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        yield f"sqlite:///{tmp_dir}/fuzz.db"
        return
    base = sa.make_url(url)
    name = f"{base.database}_fuzz"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def fuzz_app():
    """An app on a fresh SQLite file holding the demo city, its gateways on a simulator of its own."""
    from app import create_app
    from demo.seed import seed_demo_city

    tmp_dir = tempfile.mkdtemp(prefix="zhuzhou-fuzz-")
    simulator = create_sandbox_app({"SANDBOX_TIME_FACTOR": 0.001})
    with serve(simulator) as base_url, _fuzz_database(tmp_dir) as database_url:
        base = base_url.rstrip("/")
        config = TestConfig()
        config.SQLALCHEMY_DATABASE_URI = database_url
        config.INSTANCE_PATH = tmp_dir
        config.UPLOAD_DIR = f"{tmp_dir}/uploads"
        config.SANDBOX_URL = base
        config.WECHAT_API_BASE_URL = base + "/wechat-api/"
        config.WECHAT_PAY_BASE_URL = base + "/wechat-pay/"
        config.ALIPAY_SERVER_URL = base + "/alipay/gateway.do"
        app = create_app(config)
        with app.app_context():
            upgrade()
            seed_demo_city(history=False)
            db.session.commit()
        yield app
        with app.app_context():
            db.engine.dispose()
    simulator.extensions["sandbox"].notifier.stop()


def _user_with_role(role: str) -> User:
    """A demo user holding ``role``; the seller is a demo villager bound to a WeChat user for the run."""
    from villages.models import Seller

    if role == Role.SELLER:
        seller = db.session.scalar(sa.select(Seller).where(Seller.user_id.is_(None)).order_by(Seller.id))
        user = User(wechat_openid="fuzz-seller-openid", display_name="模糊测试卖家")
        db.session.add(user)
        db.session.flush()
        from core.services import grant_role

        grant_role(user, Role.BUYER)
        grant_role(user, Role.SELLER, region_code=seller.station.village_code)
        seller.user_id = user.id
        db.session.commit()
        return user
    from core.models import RoleGrant

    return db.session.scalar(sa.select(User).join(RoleGrant).where(RoleGrant.role == role).order_by(User.id))


@pytest.fixture(scope="session")
def tokens(fuzz_app):
    """role → bearer token of a demo user with that role (none for anonymous)."""
    out = {"anonymous": None}
    with fuzz_app.app_context():
        for role in ROLES[1:]:
            out[role] = issue_tokens(_user_with_role(role))["token"]
    return out


# Path parameter → a query for one demo record of that kind, keyed by (path prefix, parameter). The fuzzer's
# own ids almost never exist; each case is also sent with these, so detail views and actions answer
# on real data too (their 200 bodies checked against the document).
_PRODUCT = "(SELECT min(product_id) FROM product_images)"  # a product with images (and SKUs)
KNOWN_RECORDS = (
    ("/api/v1/centres/", "centre_id", "SELECT min(id) FROM centres"),
    ("/api/v1/stations/", "station_id", "SELECT min(id) FROM stations WHERE village_code LIKE '430225%'"),
    ("/api/v1/sellers/", "seller_id", "SELECT min(id) FROM sellers"),
    ("/api/v1/workers/", "worker_id", "SELECT min(id) FROM village_workers"),
    ("/api/v1/villages/", "code", "SELECT min(code) FROM villages WHERE code LIKE '430225%'"),
    ("/api/v1/categories/", "slug", "SELECT min(slug) FROM categories"),
    ("/api/v1/products/", "product_id", f"SELECT {_PRODUCT}"),
    (
        "/api/v1/products/",
        "sku_id",
        f"SELECT min(id) FROM skus WHERE product_id = {_PRODUCT}",  # noqa: S608 - constants only
    ),
    (
        "/api/v1/products/",
        "image_id",
        f"SELECT min(id) FROM product_images WHERE product_id = {_PRODUCT}",  # noqa: S608 - constants only
    ),
    ("/api/v1/orders/", "order_id", "SELECT max(id) FROM orders"),
    ("/api/v1/unit-orders/", "order_id", "SELECT min(order_id) FROM unit_orders"),
    ("/api/v1/refunds/", "refund_id", "SELECT min(id) FROM refund_requests"),
    ("/api/v1/payments/", "payment_id", "SELECT max(id) FROM payments"),
    ("/api/v1/units/", "unit_id", "SELECT min(id) FROM units"),
    ("/api/v1/units/", "member_id", "SELECT min(id) FROM unit_members WHERE unit_id = (SELECT min(id) FROM units)"),
    ("/api/v1/units/", "year", "SELECT 2026"),
    ("/api/v1/bank-transfers/refunds/", "refund_id", "SELECT min(id) FROM gateway_refunds"),
    ("/api/v1/bank-transfers/", "transfer_id", "SELECT min(id) FROM unit_bank_transfers"),
    ("/api/v1/reports/", "report_id", "SELECT min(id) FROM sales_reports"),
    ("/api/v1/test-reports/", "report_id", "SELECT min(id) FROM batch_test_reports"),
    ("/api/v1/batches/", "batch_id", "SELECT min(id) FROM batches"),
    ("/api/v1/trace/", "code", "SELECT min(trace_code) FROM batches"),
    ("/t/", "code", "SELECT min(trace_code) FROM batches"),
)


@pytest.fixture(scope="session")
def known_records(fuzz_app):
    """(path prefix, parameter) → the value of a demo record (None where the demo has none)."""
    out = {}
    with fuzz_app.app_context():
        for prefix, name, query in KNOWN_RECORDS:
            out[prefix, name] = db.session.execute(sa.text(query)).scalar()
    return out
