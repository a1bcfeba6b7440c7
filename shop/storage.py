"""Where product images live: a small storage interface, local files by default.

Another backend (object storage) implements the same four methods and is chosen
in ``storage()``. Files follow the database transaction: a file written during
a transaction that rolls back is removed, and a deletion is carried out only
once the transaction has committed.
"""

import logging
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol

import sqlalchemy as sa
from flask import Response, current_app, send_from_directory
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.extensions import db

log = logging.getLogger(__name__)

_WRITTEN, _TO_DELETE = "shop_storage_written", "shop_storage_to_delete"
# Keys are random and never reused, so a browser may keep a file for a year.
IMMUTABLE_MAX_AGE = 365 * 24 * 3600


class Storage(Protocol):
    def save(self, key: str, data: bytes, content_type: str) -> None: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def url(self, key: str) -> str: ...
    def response(self, key: str) -> Response: ...


def _checked_key(key: str) -> str:
    """A relative POSIX path without '..' (keys become file names)."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key: {key!r}")
    return str(path)


class LocalStorage:
    """Files under a directory, served by the app at ``base_url``."""

    def __init__(self, root: Path, base_url: str):
        self.root = Path(root)
        self.base_url = base_url

    def _path(self, key: str) -> Path:
        return self.root / _checked_key(key)

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def url(self, key: str) -> str:
        return self.base_url + _checked_key(key)

    def response(self, key: str) -> Response:
        try:
            path = self._path(key)
        except ValueError as exc:
            raise NotFound("文件不存在") from exc
        if not path.is_file():
            raise NotFound("文件不存在")
        return send_from_directory(self.root, _checked_key(key), max_age=IMMUTABLE_MAX_AGE)


def upload_dir() -> Path:
    """UPLOAD_DIR, or ``uploads`` in the app's instance folder."""
    configured = current_app.config.get("UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def storage() -> Storage:
    """The storage of the current app (built once per configuration)."""
    root, base_url = upload_dir(), current_app.config["MEDIA_BASE_URL"]
    cached = current_app.extensions.get("shop_storage")
    if cached is None or (cached.root, cached.base_url) != (root, base_url):
        cached = current_app.extensions["shop_storage"] = LocalStorage(root, base_url)
    return cached


def media_url(key: str | None) -> str | None:
    """The public URL of a stored file (None for no file)."""
    return storage().url(key) if key else None


def _in_transaction() -> Session:
    # A session that has run nothing yet has no transaction, and its rollback fires no event.
    session = db.session()
    if not session.in_transaction():
        session.begin()
    return session


def save_in_transaction(key: str, data: bytes, content_type: str) -> None:
    """Store a file that is removed again if the current transaction rolls back."""
    session = _in_transaction()
    session.info.setdefault(_WRITTEN, []).append(key)
    storage().save(key, data, content_type)


def delete_after_commit(key: str) -> None:
    """Remove a file once the current transaction has committed."""
    _in_transaction().info.setdefault(_TO_DELETE, []).append(key)


@sa.event.listens_for(Session, "after_commit")
def _files_after_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    for key in session.info.pop(_TO_DELETE, []):
        try:
            storage().delete(key)
        except OSError:
            log.exception("could not delete stored file %s", key)


@sa.event.listens_for(Session, "after_soft_rollback")
def _files_after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is not None:
        return  # a savepoint; the outer transaction decides
    session.info.pop(_TO_DELETE, None)
    for key in session.info.pop(_WRITTEN, []):
        try:
            storage().delete(key)
        except OSError:
            log.exception("could not remove file of a rolled-back upload %s", key)
