"""Where stored files (product photos, report exports) live: local files by default, or an S3-compatible store.

``STORAGE_BACKEND=local`` keeps files under ``UPLOAD_DIR``, served by the app at
``/media/``; ``s3`` puts them in ``S3_BUCKET`` of any S3-compatible store (Aliyun
OSS, Tencent COS, MinIO) through boto3, so several machines share them without a
shared disk; their URLs then start with ``S3_PUBLIC_BASE_URL`` (a CDN or the
bucket's public address) and ``/media/`` streams them from the bucket.
Files follow the database transaction: a file written during a transaction that
rolls back is removed, and a deletion is carried out only once the transaction
has committed.
"""

import logging
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from flask import Response, current_app, send_from_directory

from core.db import after_commit, after_rollback
from core.errors import NotFound

log = logging.getLogger(__name__)

# Keys are random and never reused, so a browser may keep a file for a year.
IMMUTABLE_MAX_AGE = 365 * 24 * 3600


class Storage(Protocol):
    def save(self, key: str, data: bytes, content_type: str) -> None: ...
    def load(self, key: str) -> bytes | None: ...
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

    def load(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

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


class S3Storage:
    """Objects in a bucket of an S3-compatible store (boto3); public URLs under ``public_base_url``."""

    def __init__(self, client, bucket: str, public_base_url: str):
        self.client = client
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/") + "/"

    @classmethod
    def from_config(cls, config) -> "S3Storage":
        import boto3
        from botocore.config import Config as BotoConfig

        client = boto3.client(
            "s3",
            endpoint_url=config.get("S3_ENDPOINT_URL") or None,
            region_name=config["S3_REGION"],
            aws_access_key_id=config["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=config["S3_SECRET_ACCESS_KEY"],
            config=BotoConfig(
                s3={"addressing_style": config.get("S3_ADDRESSING_STYLE") or "auto"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )
        return cls(client, config["S3_BUCKET"], config["S3_PUBLIC_BASE_URL"])

    def save(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=_checked_key(key),
            Body=data,
            ContentType=content_type,
            CacheControl=f"public, max-age={IMMUTABLE_MAX_AGE}, immutable",
        )

    def load(self, key: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=_checked_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=_checked_key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=_checked_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def url(self, key: str) -> str:
        return self.public_base_url + _checked_key(key)

    def response(self, key: str) -> Response:
        """Stream the object (``/media/`` keeps working when the proxy or the client asks the app)."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=_checked_key(key))
        except ValueError as exc:
            raise NotFound("文件不存在") from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound("文件不存在") from exc
            raise
        body = answer["Body"]
        response = Response(
            body.iter_chunks(64 * 1024), mimetype=answer.get("ContentType") or "application/octet-stream"
        )
        response.headers["Content-Length"] = str(answer["ContentLength"])
        response.headers["Cache-Control"] = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
        if answer.get("ETag"):
            response.headers["ETag"] = answer["ETag"]
        response.call_on_close(body.close)
        return response


# What /media/ serves: product photos, the only stored files meant for anyone. Bank-transfer receipts
# (GET /bank-transfers/<id>/receipt), test reports (GET /test-reports/<id>) and approved report exports
# (reports/archive.py) live in the same storage, but only their own endpoints hand them out, to the
# people allowed to read them.
PUBLIC_PREFIXES = ("products/",)


def is_public(key: str) -> bool:
    """Whether ``/media/`` (and a public bucket policy) may serve the key."""
    return key.startswith(PUBLIC_PREFIXES)


def upload_dir() -> Path:
    """UPLOAD_DIR, or ``uploads`` in the app's instance folder."""
    configured = current_app.config.get("UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


_S3_SETTINGS = (
    "S3_ENDPOINT_URL",
    "S3_BUCKET",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_PUBLIC_BASE_URL",
    "S3_ADDRESSING_STYLE",
)


def storage() -> Storage:
    """The storage of the current app (built once per configuration)."""
    config = current_app.config
    if config.get("STORAGE_BACKEND", "local") == "s3":
        settings = ("s3", *(config.get(name) for name in _S3_SETTINGS))
        factory = lambda: S3Storage.from_config(config)  # noqa: E731 - built only when the settings change
    else:
        root, base_url = upload_dir(), config["MEDIA_BASE_URL"]
        settings = ("local", root, base_url)
        factory = lambda: LocalStorage(root, base_url)  # noqa: E731
    cached = current_app.extensions.get("shop_storage")
    if cached is None or cached[0] != settings:
        cached = current_app.extensions["shop_storage"] = (settings, factory())
    return cached[1]


def media_url(key: str | None) -> str | None:
    """The public URL of a stored file (None for no file)."""
    return storage().url(key) if key else None


def save_in_transaction(key: str, data: bytes, content_type: str) -> None:
    """Store a file that is removed again if the current transaction rolls back."""
    after_rollback(lambda: _remove(key, "could not remove file of a rolled-back upload %s"))
    storage().save(key, data, content_type)


def delete_after_commit(key: str) -> None:
    """Remove a file once the current transaction has committed."""
    after_commit(lambda: _remove(key, "could not delete stored file %s"))


def _remove(key: str, failure: str) -> None:
    try:
        storage().delete(key)
    except (OSError, BotoCoreError, ClientError):
        log.exception(failure, key)
