"""Declarative base, column types and transaction helpers shared by all models."""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

from core import clock

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (``core.clock``'s, so a script can set it back)."""
    return clock.utcnow()


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every engine (SQLite stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def after_commit(callback) -> None:
    """Run ``callback()`` once the current transaction commits (dropped on rollback)."""
    from core.extensions import db

    db.session.info.setdefault("after_commit", []).append(callback)


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _run_after_commit(session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT was released (begin_nested): the real commit is to come
        return
    for callback in session.info.pop("after_commit", []):
        try:
            callback()
        except Exception:
            logging.getLogger(__name__).exception("after-commit callback failed")


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _drop_after_commit(session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop("after_commit", None)


def configure_sqlite(engine: sa.Engine) -> None:
    """Make SQLite transactional the way PostgreSQL is.

    pysqlite defers BEGIN and breaks SAVEPOINT; take over transaction control
    (SQLAlchemy's documented recipe) and enforce foreign keys. Transactions
    start with BEGIN IMMEDIATE so two writers queue on the busy timeout instead
    of deadlocking when both try to upgrade a read lock (background tasks and
    requests write at the same time); WAL keeps readers unblocked meanwhile.
    """
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def postgresql_only_index(*args, **kwargs) -> sa.Index:
    """An index that exists only on PostgreSQL (e.g. pg_trgm GIN); SQLite has none.

    The migration creates it behind a dialect check and ``include_object_for``
    keeps it out of schema comparisons on other engines.
    """
    return sa.Index(*args, info={"postgresql_only": True}, **kwargs)


def include_object_for(dialect_name: str):
    """Alembic ``include_object`` hook for a connection of ``dialect_name``."""

    def include_object(obj, name, type_, reflected, compare_to):
        if type_ == "index" and not reflected and obj.info.get("postgresql_only"):
            return dialect_name == "postgresql"
        return True

    return include_object


def one_of(column: str, values: Iterable[str]) -> str:
    """SQL for a CHECK constraint that ``column`` holds one of ``values`` (a StrEnum or its members).

    The text is the same as for the plain strings, so a model built from an
    enum still matches the migration that spelled the values out.
    """
    return f"{column} IN ({','.join(repr(str(v)) for v in values)})"
