"""Sellers (villagers): registration, personal data, bind codes, their own page."""

import secrets
from datetime import timedelta

import sqlalchemy as sa

from core.auth import scope_for
from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.pagination import paginate
from core.pii import digest, digest_candidates
from core.services import grant_role
from core.throttle import BIND_BY_ACCOUNT, BIND_BY_ADDRESS, guessing
from core.validators import normalise_phone
from villages.access import SELLER_MANAGERS, ensure_station_access, read_scope
from villages.models import SUPPORTED_HOUSEHOLDS, HouseholdCategory, PiiAccess, PiiSubject, Seller, Station
from villages.signals import seller_dashboard_requested
from villages.stations import ensure_active, get_station

BIND_CODE_DAYS = 7
PERSONAL_FIELDS = ("phone", "id_card_no", "household_no", "payout_alipay_account")


def _manage_scope(actor: User):
    return scope_for(actor, *SELLER_MANAGERS)


def _set_personal_data(seller: Seller, data: dict) -> None:
    if "phone" in data:
        seller.phone = normalise_phone(data["phone"])
        seller.phone_digest = digest(seller.phone, "phone")
    if "id_card_no" in data:
        seller.id_card_no = data["id_card_no"].upper() if data["id_card_no"] else None
        seller.id_card_digest = digest(seller.id_card_no, "id_card_no") if seller.id_card_no else None
    for field in ("household_no", "payout_alipay_account"):
        if field in data:
            setattr(seller, field, data[field] or None)


def _check_poor_household(seller: Seller) -> None:
    if seller.household_category in SUPPORTED_HOUSEHOLDS and not seller.household_no:
        raise ValidationFailed.field("household_no", "脱贫户和监测对象须填写户编号")


def _set_household(seller: Seller, data: dict) -> None:
    """``household_category`` wins; the contract's ``poor_household`` alone still works (true → 脱贫户)."""
    if "household_category" in data:
        seller.household_category = data["household_category"]
    elif "poor_household" in data:
        seller.poor_household = data["poor_household"]


def _set_name_consent(seller: Seller, data: dict) -> None:
    if "show_name_on_trace" in data and data["show_name_on_trace"] != seller.show_name_on_trace:
        seller.show_name_on_trace = data["show_name_on_trace"]
        seller.name_consent_at = utcnow() if seller.show_name_on_trace else None


def _check_phone_unique(seller: Seller) -> None:
    clash = db.session.scalar(
        sa.select(Seller.id).where(
            Seller.station_id == seller.station.id,
            Seller.phone_digest == seller.phone_digest,
            Seller.id != (seller.id or 0),
        )
    )
    if clash is not None:
        raise ValidationFailed.field("phone", "该手机号已在本服务站登记")


def _new_bind_code(seller: Seller) -> str:
    """A fresh 6-digit code, unique among live codes; only its digest is kept."""
    now = utcnow()
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        code_digest = digest(code, "bind_code")
        live = db.session.scalar(
            sa.select(Seller.id).where(Seller.bind_code_digest == code_digest, Seller.bind_code_expires_at > now)
        )
        if live is None:
            seller.bind_code_digest = code_digest
            seller.bind_code_expires_at = now + timedelta(days=BIND_CODE_DAYS)
            return code


def register_seller(actor: User, station_id: int, data: dict) -> tuple[Seller, str]:
    """Register a villager at a station; returns the seller and their bind code."""
    station = get_station(station_id)
    ensure_station_access(_manage_scope(actor), station)
    ensure_active(station)
    seller = Seller(
        station=station,
        name=data["name"],
        household_category=HouseholdCategory.ORDINARY,
        show_name_on_trace=False,
        created_by_id=actor.id,
    )
    _set_household(seller, data)
    _set_name_consent(seller, data)
    _set_personal_data(seller, data)
    _check_poor_household(seller)
    _check_phone_unique(seller)
    db.session.add(seller)
    code = _new_bind_code(seller)
    db.session.flush()
    return seller, code


def _seller(seller_id: int) -> Seller:
    seller = db.session.get(Seller, seller_id)
    if seller is None:
        raise NotFound("卖家不存在")
    return seller


def seller_for_reader(actor: User, seller_id: int) -> Seller:
    seller = _seller(seller_id)
    ensure_station_access(read_scope(actor), seller.station)
    return seller


def seller_for_manager(actor: User, seller_id: int) -> Seller:
    seller = _seller(seller_id)
    ensure_station_access(_manage_scope(actor), seller.station)
    return seller


# Where the money goes and whose household policy supports: only the county changes these after registration.
COUNTY_ONLY_FIELDS = ("payout_alipay_account", "poor_household", "household_category", "household_no")


def update_seller(actor: User, seller_id: int, data: dict) -> Seller:
    """Correct a seller's details; payout account and poverty status only by the county, audited."""
    seller = seller_for_manager(actor, seller_id)
    sensitive = [field for field in COUNTY_ONLY_FIELDS if field in data]
    if sensitive:
        scope_for(actor, Role.COUNTY_ADMIN, Role.PLATFORM_ADMIN)
        db.session.add(
            PiiAccess(
                user_id=actor.id,
                subject_type=PiiSubject.SELLER,
                subject_id=seller.id,
                fields=",".join(sensitive),
                reason="changed",
            )
        )
    if "name" in data:
        seller.name = data["name"]
    _set_household(seller, data)
    _set_name_consent(seller, data)
    _set_personal_data(seller, data)
    _check_poor_household(seller)
    _check_phone_unique(seller)
    db.session.flush()
    return seller


def reissue_bind_code(actor: User, seller_id: int) -> tuple[Seller, str]:
    """A new bind code for a seller who lost theirs (not yet bound)."""
    seller = seller_for_manager(actor, seller_id)
    if seller.user_id is not None:
        raise Conflict("该卖家已绑定微信账号")
    code = _new_bind_code(seller)
    db.session.flush()
    return seller, code


def list_sellers(actor: User, station_id: int | None, phone: str | None, page: int, per_page: int) -> dict:
    """Sellers in scope; ``phone`` is an exact match through the digest column."""
    scope = read_scope(actor)
    statement = (
        sa.select(Seller)
        .join(Seller.station)
        .where(scope.filter(Station.village_code), scope.station_filter(Station.id))
        .order_by(Seller.id)
    )
    if station_id is not None:
        statement = statement.where(Seller.station_id == station_id)
    if phone:
        statement = statement.where(Seller.phone_digest == digest(normalise_phone(phone), "phone"))
    return paginate(statement, page, per_page)


def reveal_personal_data(actor: User, seller_id: int, reason: str | None) -> Seller:
    """Full personal data for the seller's own station or county; audited."""
    seller = seller_for_manager(actor, seller_id)
    db.session.add(
        PiiAccess(
            user_id=actor.id,
            subject_type=PiiSubject.SELLER,
            subject_id=seller.id,
            fields=",".join(PERSONAL_FIELDS),
            reason=reason,
        )
    )
    db.session.flush()
    return seller


def bind_seller(user: User, code: str, client_address: str | None = None) -> Seller:
    """Bind the signed-in WeChat user to the seller holding this bind code (wrong codes slow down)."""
    account_key, address_key = str(user.id), client_address or "?"
    with guessing((BIND_BY_ACCOUNT, account_key), (BIND_BY_ADDRESS, address_key)) as attempt:
        if not user.wechat_openid:
            raise ValidationFailed.field("bind_code", "请使用微信登录后再绑定")
        if db.session.scalar(sa.select(Seller.id).where(Seller.user_id == user.id)) is not None:
            raise Conflict("该微信账号已绑定卖家")
        seller = db.session.scalar(
            sa.select(Seller).where(Seller.bind_code_digest.in_(digest_candidates(code, "bind_code"))).with_for_update()
        )
        if seller is None or seller.bind_code_expires_at <= utcnow() or seller.user_id is not None:
            attempt.failed()
            raise ValidationFailed.field("bind_code", "绑定码无效或已过期，请向服务站索取新的绑定码")
        attempt.succeeded()
    seller.user_id, seller.bound_at = user.id, utcnow()
    seller.bind_code_digest = seller.bind_code_expires_at = None
    grant_role(user, Role.SELLER, region_code=seller.station.village_code)
    db.session.flush()
    return seller


def set_own_name_consent(user: User, consent: bool) -> Seller:
    """The villager decides whether trace pages show their masked name."""
    seller = db.session.scalar(sa.select(Seller).where(Seller.user_id == user.id))
    if seller is None:
        raise NotFound("尚未绑定卖家身份")
    _set_name_consent(seller, {"show_name_on_trace": consent})
    db.session.flush()
    return seller


def my_seller_page(user: User) -> dict:
    """The villager's own profile plus what higher packages contribute."""
    seller = db.session.scalar(sa.select(Seller).where(Seller.user_id == user.id))
    if seller is None:
        raise NotFound("尚未绑定卖家身份")
    page = {
        "seller": seller,
        "products": [],
        "sales_this_month": {"orders": 0, "units": 0, "gmv_fen": 0},
        "balances": {"pending_fen": 0, "available_fen": 0, "paid_out_fen": 0},
        "payouts": [],
    }
    for _receiver, sections in seller_dashboard_requested.send(seller):
        page.update(sections or {})
    return page
