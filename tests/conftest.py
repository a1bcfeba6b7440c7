"""Fixtures: one migrated database per test process, one rolled-back transaction per test.

The database is SQLite in a temporary file unless ``TEST_DATABASE_URL`` names
another (PostgreSQL in CI); that database's ``public`` schema is dropped and
rebuilt by ``flask db upgrade`` at the start of the run.

Run in parallel (``pytest -n 3``, pytest-xdist, as `make test` does), every
worker has a database of its own: SQLite files are per process anyway, and on
PostgreSQL worker ``gw1`` creates ``<that name>_gw1`` beside the named one,
points ``TEST_DATABASE_URL`` at it for the rest of its run (so the databases
that tests derive from it, ``…_fuzz``, ``…_multi``, are its own too) and drops
it at the end. Redis-using tests keep their keys and queues under a prefix of
their own (a fresh uuid), and servers the tests start take ports from
``tests.ports``, which no two processes share.
"""

import os
import tempfile
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event

from app import create_app
from core.config import TestConfig
from core.extensions import db as _db
from core.extensions import limiter
from shop.cache import reset_catalogue_cache
from villages.regions import forget_kept_regions

# Fixtures of the order tests (`shop`), the payment sandbox and the settlement tests.
pytest_plugins = ("tests.orders", "tests.payments_fixtures", "tests.ledger_helpers")


WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1… in an xdist worker; None in a serial run
# Tests whose fixtures are too dear to build on every worker (a served demo city with Chromium, gunicorn
# clusters, an S3 emulator) run on one worker: `make test` uses --dist loadgroup.
ONE_WORKER_FIXTURES = ("live_server", "cluster", "s3_server")
# Tests that open dozens of connections at once (a served app with a production-sized pool, forty
# threads): on several workers together they exceed PostgreSQL's max_connections (seen in CI), so they
# share one worker and run one after another.
MANY_CONNECTIONS_FIXTURES = ("live", "committed")


_WORKER_DATABASE = pytest.StashKey[sa.URL]()


def _admin_engine(url: sa.URL) -> sa.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def pytest_configure(config):
    """In an xdist worker on PostgreSQL: a database of the worker's own, named for it."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not (WORKER and url.startswith("postgresql")):
        return
    base = sa.make_url(url)
    own = base.set(database=f"{base.database}_{WORKER}")
    admin = _admin_engine(base)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    config.stash[_WORKER_DATABASE] = own


def pytest_unconfigure(config):
    own = config.stash.get(_WORKER_DATABASE, None)
    if own is None:
        return
    admin = _admin_engine(own)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
    admin.dispose()


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (it runs later and renames the items)
def pytest_collection_modifyitems(config, items):
    for item in items:
        shared = next((name for name in ONE_WORKER_FIXTURES if name in item.fixturenames), None)
        if shared is None and any(name in item.fixturenames for name in MANY_CONNECTIONS_FIXTURES):
            item.add_marker(pytest.mark.many_connections)  # `make test` runs these alone, after the rest
            shared = "many_connections"
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared))


def _database_url(tmp_dir: str) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir}/test.db"


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """Argon2 at production cost dominates the suite's time; tests need only correctness."""
    import core.services

    original = core.services._hasher
    core.services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    core.services._hasher = original


class ArrangedFirstClient(FlaskClient):
    """A test client that commits what the test arranged before each request.

    Factories only flush; a real request finds its data committed, and a
    request that fails rolls back its own work only, never the test's records.
    Inside a test, "commit" releases a savepoint of the transaction that the
    ``db`` fixture rolls back at the end.
    """

    def open(self, *args, **kwargs):
        if _db.session.registry.has():
            _db.session.commit()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    tmp_dir = tempfile.mkdtemp(prefix="zhuzhou-test-")
    url = _database_url(tmp_dir)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    config = TestConfig()
    config.SQLALCHEMY_DATABASE_URI = url
    config.INSTANCE_PATH = tmp_dir
    app = create_app(config)
    app.test_client_class = ArrangedFirstClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        _db.engine.dispose()  # close pooled connections before the interpreter collects them


class ConnectionSession(FlaskSession):
    """Flask-SQLAlchemy picks the engine itself; pin the test's connection instead."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def db(app):
    """A session bound to a transaction that is rolled back after the test.

    Commits made by the code under test become savepoint releases, so every
    test sees a clean database.
    """
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionSession}
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()
            # Pages cached during the test show rows that were just rolled back.
            reset_catalogue_cache(app)
            forget_kept_regions(app)
    limiter.reset()


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path, monkeypatch):
    """Uploaded files of one test, in a directory of its own (row ids repeat after rollbacks)."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def emptied_afterwards(app):
    """For tests whose data is really committed (the row-locking tests): every table is emptied after the test.

    Reference data the migrations seed (categories) stays. Fixtures that commit
    ask for this one first, so it empties the tables after they have stopped
    their servers and closed their own engines.
    """
    yield
    with app.app_context():
        _db.session.remove()
        tables = ", ".join(t.name for t in _db.metadata.sorted_tables if t.name != "categories")
        with _db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def count_queries(db):
    """``with count_queries() as queries:`` collects the SQL run inside the block."""

    @contextmanager
    def counter():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
                statements.append(statement)

        engine = _db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counter
