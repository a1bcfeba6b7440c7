"""Authentication services: WeChat code exchange, staff passwords, refresh."""

import logging

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from wechatpy.exceptions import WeChatClientException

from core.auth import issue_tokens, user_from_refresh_token
from core.db import utcnow
from core.errors import Unauthorized, UpstreamUnavailable, ValidationFailed
from core.extensions import db
from core.models import Role, RoleGrant, User
from core.pii import mask_phone
from core.throttle import LOGIN_BY_ACCOUNT, LOGIN_BY_ADDRESS, guessing
from core.wechat import wechat_client

log = logging.getLogger(__name__)
_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``."""
    return _hasher.hash(password)


def _password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def grant_role(user: User, role: str, region_code: str | None = None, station_id: int | None = None) -> RoleGrant:
    """Give ``user`` a role unless an identical grant exists."""
    for grant in user.grants:
        if (grant.role, grant.region_code, grant.station_id) == (role, region_code, station_id):
            return grant
    grant = RoleGrant(role=role, region_code=region_code, station_id=station_id)
    user.grants.append(grant)
    db.session.flush()
    return grant


def start_session(user: User) -> dict:
    user.last_login_at = utcnow()
    db.session.flush()
    return {**issue_tokens(user), "user": user}


def login_with_wechat(code: str) -> dict:
    """Exchange a mini-program login code (code2session) and sign the user in."""
    try:
        session = wechat_client().wxa.code_to_session(code)
    except WeChatClientException as exc:
        if exc.errcode in (40029, 40163, 40226, 45011):
            raise Unauthorized("微信登录凭证无效或已使用，请重新登录") from exc
        log.warning("code2session failed: errcode=%s", exc.errcode)
        raise UpstreamUnavailable("微信登录服务暂时不可用") from exc
    except OSError as exc:
        log.warning("code2session unreachable: %s", type(exc).__name__)
        raise UpstreamUnavailable("微信登录服务暂时不可用") from exc
    openid = session.get("openid")
    if not openid:
        raise UpstreamUnavailable("微信登录服务返回了无效数据")
    user = db.session.scalar(sa.select(User).where(User.wechat_openid == openid))
    if user is None:
        user = User(wechat_openid=openid, display_name="微信用户")
        db.session.add(user)
        db.session.flush()
    if session.get("unionid"):
        user.wechat_unionid = session["unionid"]
    if not user.is_active:
        raise Unauthorized("账号已停用")
    grant_role(user, Role.BUYER)
    return start_session(user)


def login_with_password(username: str, password: str, client_address: str | None = None) -> dict:
    """Check a staff member's password and sign them in (failures slow down per account and address)."""
    account_key, address_key = f"{username.strip().lower()}", f"{client_address or '?'}"
    with guessing((LOGIN_BY_ACCOUNT, account_key), (LOGIN_BY_ADDRESS, address_key)) as attempt:
        user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
        if not _password_matches(user.password_hash if user else None, password):
            attempt.failed()
            raise Unauthorized("用户名或密码错误")
        attempt.succeeded()
    if not user.is_active:
        raise Unauthorized("账号已停用")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return start_session(user)


def refresh_session(refresh_token: str) -> dict:
    """New tokens for a valid refresh token."""
    user = user_from_refresh_token(refresh_token)
    return {**issue_tokens(user), "user": user}


def confirm_phone_number(user: User, code: str) -> dict:
    """Ask WeChat for the number behind a getPhoneNumber button's code and keep it encrypted on the user."""
    try:
        client = wechat_client()  # constructing it may already fetch the access token
        reply = client.post(client.base_url + "wxa/business/getuserphonenumber", data={"code": code})
    except WeChatClientException as exc:
        if exc.errcode == 40029:
            raise ValidationFailed.field("code", "手机号授权已失效，请重新点击获取手机号") from exc
        log.warning("getuserphonenumber failed: errcode=%s", exc.errcode)
        raise UpstreamUnavailable("微信手机号服务暂时不可用") from exc
    except OSError as exc:
        log.warning("getuserphonenumber unreachable: %s", type(exc).__name__)
        raise UpstreamUnavailable("微信手机号服务暂时不可用") from exc
    number = ((reply or {}).get("phone_info") or {}).get("purePhoneNumber")
    if not isinstance(number, str) or not number.isdigit():
        raise UpstreamUnavailable("微信手机号服务返回了无效数据")
    user.phone = number
    db.session.flush()
    return {"phone_masked": mask_phone(number)}
