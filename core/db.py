"""Declarative base, column types and transaction helpers shared by all models."""

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Session

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


# -- after commit, after rollback ---------------------------------------------------------------
# The one place that ties work outside the database to the fate of the session's transaction:
# callbacks wait in ``session.info`` with the savepoint they were registered in, and run once the
# outermost transaction commits (``after_commit``) or rolls back (``after_rollback``). A savepoint
# that is released hands its callbacks to the enclosing one; a savepoint rolled back runs its
# after-rollback callbacks and drops its after-commit ones (Saleor's ``transaction.on_commit``,
# Django's ``on_commit`` semantics).
_PENDING = "transaction_callbacks"
_COMMIT, _ROLLBACK = "commit", "rollback"


def after_commit(callback: Callable[[], object], session: Session | None = None, *, once: bool = False) -> None:
    """Run ``callback()`` once the current transaction commits; dropped if it rolls back.

    ``once``: register it only if this transaction does not already wait to run it (a change
    counted once per transaction, however many rows it touched).
    """
    _register(_COMMIT, callback, session, once)


def after_rollback(callback: Callable[[], object], session: Session | None = None, *, once: bool = False) -> None:
    """Run ``callback()`` if the current transaction (or the savepoint it was registered in) rolls back."""
    _register(_ROLLBACK, callback, session, once)


def _register(when: str, callback, session: Session | None, once: bool) -> None:
    if session is None:
        from core.extensions import db

        session = db.session()
    pending = session.info.setdefault(_PENDING, [])
    if once and any(entry[0] == when and entry[2] == callback for entry in pending):
        return
    if not session.in_transaction():
        session.begin()  # a session that has run nothing has no transaction, and its rollback fires no event
    pending.append((when, session.get_nested_transaction(), callback))


def _run(callbacks) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logging.getLogger(__name__).exception("transaction callback failed")


@sa.event.listens_for(Session, "after_commit")
def _transaction_committed(session: Session) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    released = session.get_nested_transaction()
    if released is not None:  # a SAVEPOINT was released: the real commit is still to come
        enclosing = released.parent
        while enclosing is not None and not enclosing.nested:
            enclosing = enclosing.parent
        session.info[_PENDING] = [
            (when, enclosing if savepoint is released else savepoint, callback) for when, savepoint, callback in pending
        ]
        return
    del session.info[_PENDING]
    _run(callback for when, _, callback in pending if when == _COMMIT)


@sa.event.listens_for(Session, "after_soft_rollback")
def _transaction_rolled_back(session: Session, previous_transaction) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    if previous_transaction.nested:
        undone = [entry for entry in pending if entry[1] is previous_transaction]
        session.info[_PENDING] = [entry for entry in pending if entry[1] is not previous_transaction]
    elif previous_transaction.parent is None:
        undone = session.info.pop(_PENDING)
    else:
        return  # an inner, non-savepoint transaction (a failed flush): the outer rollback decides
    _run(callback for when, _, callback in undone if when == _ROLLBACK)


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
