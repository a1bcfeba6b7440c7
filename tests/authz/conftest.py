"""The matrix's fixtures: the world built once per module, each cell in a savepoint rolled back after it.

The root ``db`` fixture builds a transaction per test; building the world per cell (≈2,000 of them) would
cost minutes, so here one connection holds the world for the whole module and every cell opens a
SAVEPOINT on it that is rolled back when the cell ends: a cell that writes (places an order, suspends a
station) leaves the next cell the same world.
"""

import time

import pytest

from core.extensions import db as _db
from core.extensions import limiter
from shop.cache import reset_catalogue_cache
from tests.authz.world import build_world
from tests.conftest import ConnectionSession
from villages.regions import forget_kept_regions


def _bind_session(connection):
    _db.session = _db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": ConnectionSession}
    )


@pytest.fixture(scope="module")
def world_upload_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("authz-uploads")


@pytest.fixture
def upload_dir(app, world_upload_dir, monkeypatch):
    """The world's uploads (photos, test reports) stay readable in every cell."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(world_upload_dir))
    return world_upload_dir


@pytest.fixture(scope="module")
def world_connection(app, world_upload_dir):
    """(connection, world): the world committed inside a transaction rolled back after the module."""
    original_upload_dir = app.config.get("UPLOAD_DIR")
    app.config["UPLOAD_DIR"] = str(world_upload_dir)
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _bind_session(connection)
        started = time.monotonic()
        try:
            world = build_world(app.test_client())
            world["build_seconds"] = time.monotonic() - started
            _db.session.remove()
            yield connection, world
        finally:
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()
            reset_catalogue_cache(app)
            forget_kept_regions(app)
            limiter.reset()
            app.config["UPLOAD_DIR"] = original_upload_dir


@pytest.fixture
def world(app, world_connection, upload_dir):
    """The world for one cell: a savepoint on the module's connection, rolled back when the cell ends."""
    connection, built = world_connection
    with app.app_context():
        savepoint = connection.begin_nested()
        original = _db.session
        _bind_session(connection)
        try:
            yield built
        finally:
            _db.session.remove()
            _db.session = original
            if savepoint.is_active:
                savepoint.rollback()
            reset_catalogue_cache(app)
            forget_kept_regions(app)
            limiter.reset()


@pytest.fixture
def client(app, world):
    return app.test_client()
