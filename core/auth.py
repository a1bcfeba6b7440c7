"""Tokens, the current user, role checks and region scoping (implemented once)."""

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.errors import Forbidden, NotFound, Unauthorized
from core.extensions import db
from core.models import Role, User

_ACCESS, _REFRESH = "access-token", "refresh-token"


def _serializer(kind: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=kind)


def issue_tokens(user: User) -> dict:
    """A short-lived access token and a long-lived refresh token for ``user``."""
    payload = {"uid": user.id, "ver": user.token_version}
    return {
        "token": _serializer(_ACCESS).dumps(payload),
        "refresh_token": _serializer(_REFRESH).dumps(payload),
        "expires_in": current_app.config["ACCESS_TOKEN_SECONDS"],
    }


def user_from_token(token: str, kind: str = _ACCESS) -> User:
    """The active user a token names, or Unauthorized."""
    max_age = current_app.config["ACCESS_TOKEN_SECONDS" if kind == _ACCESS else "REFRESH_TOKEN_SECONDS"]
    try:
        payload = _serializer(kind).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise Unauthorized("登录已过期，请重新登录") from exc
    except BadSignature as exc:
        raise Unauthorized("登录凭证无效") from exc
    user = db.session.get(User, payload.get("uid"))
    if user is None or not user.is_active or user.token_version != payload.get("ver"):
        raise Unauthorized("登录凭证已失效，请重新登录")
    return user


def user_from_refresh_token(token: str) -> User:
    return user_from_token(token, _REFRESH)


def current_user() -> User | None:
    """The authenticated user of this request, or None when no token was sent."""
    if "current_user" not in g:
        header = request.headers.get("Authorization", "")
        if not header:
            g.current_user = None
        else:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Authorization 头格式应为 Bearer <token>")
            g.current_user = user_from_token(token.strip())
    return g.current_user


def require_user() -> User:
    """The authenticated user, or 401."""
    user = current_user()
    if user is None:
        raise Unauthorized()
    return user


def authenticated(view):
    """Authenticate, then hand the view the signed-in user as ``actor`` (keyword argument).

    Place it directly under the route decorator, above ``@idempotent`` and
    ``@blp.arguments``: it then runs before any argument is parsed, so an
    anonymous request is 401 ``invalid_token`` whatever its body or query
    (tests/core/test_authenticate_first.py walks every route to check).
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, actor=require_user(), **kwargs)

    apidoc = getattr(wrapper, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = [{"bearerAuth": []}]
    wrapper._apidoc = apidoc
    return wrapper


@dataclass(frozen=True)
class Scope:
    """What part of the city a user may act on for a given set of roles.

    ``prefixes`` is None for unrestricted access, otherwise a tuple of
    administrative-code prefixes; ``station_ids`` likewise limits station-bound
    roles to their stations.
    """

    prefixes: tuple[str, ...] | None
    station_ids: frozenset[int] | None = None

    @property
    def unrestricted(self) -> bool:
        return self.prefixes is None

    def covers(self, region_code: str | None) -> bool:
        if self.prefixes is None:
            return True
        return bool(region_code) and any(region_code.startswith(p) for p in self.prefixes)

    def overlaps(self, region_code: str) -> bool:
        """Some of ``region_code`` lies in the scope (it contains or is inside a prefix)."""
        if self.prefixes is None:
            return True
        return any(p.startswith(region_code) or region_code.startswith(p) for p in self.prefixes)

    def covers_station(self, station_id: int | None) -> bool:
        return self.station_ids is None or station_id in self.station_ids

    def filter(self, column) -> sa.ColumnElement[bool]:
        """A WHERE clause limiting ``column`` (an administrative code) to this scope."""
        if self.prefixes is None:
            return sa.true()
        if not self.prefixes:
            return sa.false()
        return sa.or_(*(column.startswith(prefix, autoescape=True) for prefix in self.prefixes))

    def station_filter(self, column) -> sa.ColumnElement[bool]:
        if self.station_ids is None:
            return sa.true()
        return column.in_(sorted(self.station_ids)) if self.station_ids else sa.false()


def scope_for(user: User, *roles: str) -> Scope:
    """The union of ``user``'s grants among ``roles`` as a Scope; 403 if none apply."""
    grants = [grant for grant in user.grants if grant.role in roles]
    if not grants:
        raise Forbidden()
    if any(grant.role == Role.PLATFORM_ADMIN for grant in grants):
        return Scope(prefixes=None)
    prefixes = tuple(sorted({grant.region_code for grant in grants if grant.region_code}))
    if all(grant.role == Role.STATION_MANAGER for grant in grants):
        stations = frozenset(grant.station_id for grant in grants if grant.station_id is not None)
        return Scope(prefixes=prefixes, station_ids=stations)
    return Scope(prefixes=prefixes)


def ensure_in_scope(scope: Scope, region_code: str | None, *, hide: bool = False) -> None:
    """403 (or 404 when ``hide``, so existence is not revealed) outside the scope."""
    if not scope.covers(region_code):
        raise NotFound() if hide else Forbidden()


def ensure_overlaps(scope: Scope, region_code: str) -> None:
    """403 when a region filter asks for nothing the caller may see."""
    if not scope.overlaps(region_code):
        raise Forbidden()
