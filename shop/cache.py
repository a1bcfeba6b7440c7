"""The catalogue cache: rendered public pages keyed by a catalogue version number.

Every committed change to a product, SKU, image, category or station status
bumps the version (after the commit, from a session event, so no request can
miss it), and readers only look up entries of the current version; old
entries are never served and expire on their own. The store is Redis when
``REDIS_URL`` is set — shared by every worker — or a dict in this process.
"""

import logging
import threading
import time
from collections import OrderedDict
from typing import Protocol

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from core.db import after_commit

log = logging.getLogger(__name__)

# Tables whose rows the public catalogue shows.
WATCHED_TABLES = frozenset({"products", "skus", "product_images", "categories", "stations"})


class CatalogueCache(Protocol):
    def version(self) -> int: ...
    def bump(self) -> int: ...
    def get(self, key: str) -> bytes | None: ...
    def set(self, key: str, value: bytes) -> None: ...
    def clear(self) -> None: ...


class MemoryCache:
    """One process only: fine for development and a single worker."""

    def __init__(self, max_entries: int = 2000):
        self._lock = threading.Lock()
        self._version = 1
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self.max_entries = max_entries

    def version(self) -> int:
        return self._version

    def bump(self) -> int:
        with self._lock:
            self._version += 1
            self._entries.clear()  # nothing of an older version is read again
            return self._version

    def get(self, key: str) -> bytes | None:
        return self._entries.get(key)

    def set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RedisCache:
    """Shared by every worker; entries expire after ``ttl`` seconds.

    An entry never changes once stored (its key names the catalogue version),
    so each worker also keeps the entries it has read in a small local LRU:
    a hit then costs one round trip to Redis (the version), not two, and no
    page body crosses the wire. With ``version_seconds`` a worker also reuses
    the version it read for that long: a hit then costs no round trip at all,
    and a change committed by another worker shows there within that time (at
    once in the worker that made it).
    """

    def __init__(self, url: str, prefix: str, ttl: int, version_seconds: float = 0.0, local_entries: int = 256):
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors = (redis.RedisError, OSError)
        self.prefix = f"{prefix}catalogue:"
        self.ttl = ttl
        self._local = MemoryCache(max_entries=local_entries)
        # The version read from Redis is trusted this long (0: read on every request).
        self.version_seconds = version_seconds
        self._version: tuple[int, float] = (0, 0.0)

    def version(self) -> int:
        held, until = self._version
        if time.monotonic() < until:
            return held
        try:
            version = int(self._redis.get(self.prefix + "version") or 0)
        except self._errors as exc:
            log.warning("catalogue cache unavailable: %s", type(exc).__name__)
            return -1  # no cache this request
        self._version = (version, time.monotonic() + self.version_seconds)
        return version

    def bump(self) -> int:
        version = int(self._redis.incr(self.prefix + "version"))
        self._version = (version, time.monotonic() + self.version_seconds)
        return version

    def get(self, key: str) -> bytes | None:
        value = self._local.get(key)
        if value is not None:
            return value
        try:
            value = self._redis.get(self.prefix + key)
        except self._errors as exc:
            log.warning("catalogue cache unavailable: %s", type(exc).__name__)
            return None
        if value is not None:
            self._local.set(key, value)
        return value

    def set(self, key: str, value: bytes) -> None:
        self._local.set(key, value)
        try:
            self._redis.set(self.prefix + key, value, ex=self.ttl)
        except self._errors as exc:
            log.warning("catalogue cache unavailable: %s", type(exc).__name__)

    def clear(self) -> None:
        self._local.clear()
        keys = list(self._redis.scan_iter(match=self.prefix + "*", count=500))
        if keys:
            self._redis.delete(*keys)


def catalogue_cache() -> CatalogueCache:
    """The current app's cache, built once per configuration."""
    config = current_app.config
    settings = (
        config.get("REDIS_URL"),
        config["CACHE_KEY_PREFIX"],
        config["CATALOGUE_CACHE_SECONDS"],
        config.get("CATALOGUE_VERSION_SECONDS", 0.0),
    )
    held = current_app.extensions.get("catalogue_cache")
    if held is None or held[0] != settings:
        url, prefix, ttl, version_seconds = settings
        cache = RedisCache(url, prefix, ttl, version_seconds) if url else MemoryCache()
        held = current_app.extensions["catalogue_cache"] = (settings, cache)
    return held[1]


def reset_catalogue_cache(app) -> None:
    """Forget the app's cache object (tests: a rolled-back test leaves no entries behind)."""
    held = app.extensions.pop("catalogue_cache", None)
    if held is not None and isinstance(held[1], MemoryCache):
        held[1].clear()


def versioned_key(key: str) -> str | None:
    """``key`` within the current catalogue version; None when the cache is unavailable."""
    version = catalogue_cache().version()
    return None if version < 0 else f"v{version}:{key}"


def bump_catalogue_version() -> None:
    """Make every cached page stale; call after a change is committed."""
    try:
        catalogue_cache().bump()
    except Exception:
        log.exception("could not bump the catalogue version; cached pages expire on their own")


# Change tracking --------------------------------------------------------------


def mark_catalogue_changed(session: Session) -> None:
    """The current transaction changes what the catalogue shows: bump the version once it commits."""
    after_commit(bump_catalogue_version, session, once=True)


@sa.event.listens_for(Session, "before_flush")
def _track_flushed_changes(session: Session, flush_context, instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table in WATCHED_TABLES and (obj not in session.dirty or session.is_modified(obj)):
            mark_catalogue_changed(session)
            return


@sa.event.listens_for(Session, "do_orm_execute")
def _track_bulk_statements(state) -> None:
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in WATCHED_TABLES:
            mark_catalogue_changed(state.session)
