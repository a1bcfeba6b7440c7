"""Idempotency-Key handling for POST endpoints (API.md).

The key row is inserted in the request's own transaction before the work and
its response stored in the same transaction, so it becomes visible exactly when
the work commits. A concurrent request with the same key blocks on the unique
index until the first commits, then finds the stored response and returns it;
if the first request failed, its key row was rolled back with it and the retry
simply runs. The same key with a different body is 409 ``idempotency_conflict``.

A view that commits its intent before calling a gateway (``POST
/orders/<id>/payments``) commits the key row with it, before its response
exists; a retry that finds such a row runs the view again (which reuses the
recorded attempt) and stores its response.
"""

import functools
import hashlib
import json
from datetime import datetime

import sqlalchemy as sa
from flask import Response, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from core.auth import require_user
from core.db import UTCDateTime, utcnow
from core.errors import AppError, ValidationFailed
from core.extensions import db


class IdempotencyConflict(AppError):
    status, code, message = 409, "idempotency_conflict", "同一个 Idempotency-Key 不能用于不同的请求内容"


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(128))
    # SHA-256 of method, path and canonical JSON body.
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _request_hash() -> str:
    payload = request.get_json(silent=True)
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(row: IdempotencyKey, request_hash: str) -> Response:
    if row.request_hash != request_hash:
        raise IdempotencyConflict()
    response = Response(row.response_body, status=row.response_status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Honour an ``Idempotency-Key`` header on this view (place above @blp.response)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return view(*args, **kwargs)
        if len(key) > 128:
            raise ValidationFailed.field("Idempotency-Key", "长度不能超过 128")
        user = require_user()
        request_hash = _request_hash()
        lookup = sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id, IdempotencyKey.key == key)
        row = db.session.scalar(lookup)
        if row is None:
            row = IdempotencyKey(user_id=user.id, key=key, request_hash=request_hash)
            try:
                with db.session.begin_nested():
                    db.session.add(row)
            except IntegrityError:
                # Another request with this key committed while we waited on the index.
                row = db.session.scalar(lookup.execution_options(populate_existing=True))
        if row.request_hash != request_hash:
            raise IdempotencyConflict()
        if row.response_status is not None:
            return _replay(row, request_hash)
        # No stored response: this request's own new row, or the row of one that
        # committed its intent midway (opening a payment commits before calling the
        # gateway, core.unit_of_work) and then failed or is still running. Running the
        # view again is safe there: it reuses the attempt that request recorded.
        response = view(*args, **kwargs)
        row.response_status = response.status_code
        row.response_body = response.get_data(as_text=True)
        db.session.flush()
        return response

    return wrapper
