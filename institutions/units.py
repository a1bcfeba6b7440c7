"""Units and their people: set-up by the office, invites, purchasers, targets, invoice details."""

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from core.auth import Scope, ensure_in_scope, scope_for
from core.db import utcnow
from core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import Role, User
from core.pagination import paginate
from core.pii import digest, digest_candidates
from core.throttle import UNIT_BIND_BY_ACCOUNT, UNIT_BIND_BY_ADDRESS, guessing
from institutions.credit_code import is_credit_code, normalise_credit_code
from institutions.models import MemberRole, Unit, UnitInvite, UnitInvoiceInfo, UnitKind, UnitMember, UnitTarget
from villages.models import Region

# Who sets units up and reads every unit in their region.
UNIT_MANAGERS = (Role.PLATFORM_ADMIN, Role.POVERTY_OFFICE)
INVITE_DAYS = 7
BPS = 10_000


def manager_scope(actor: User) -> Scope:
    return scope_for(actor, *UNIT_MANAGERS)


def get_unit(unit_id: int) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    return unit


def membership(user: User, unit_id: int) -> UnitMember | None:
    """The user's active membership of the unit, if any."""
    return db.session.scalar(
        sa.select(UnitMember).where(
            UnitMember.unit_id == unit_id, UnitMember.user_id == user.id, UnitMember.is_active.is_(True)
        )
    )


def is_manager_of(user: User, unit: Unit) -> bool:
    """A platform admin, or the poverty office whose region holds the unit."""
    if not user.has_role(*UNIT_MANAGERS):
        return False
    return manager_scope(user).covers(unit.region_code)


def unit_for_reader(user: User, unit_id: int) -> Unit:
    """Managers over its region and the unit's own members; 404 for anyone else."""
    unit = get_unit(unit_id)
    if is_manager_of(user, unit) or membership(user, unit_id) is not None:
        return unit
    raise NotFound("单位不存在")


def unit_for_admin(user: User, unit_id: int) -> Unit:
    """The unit's own admin (or a manager over its region) may change its people and details."""
    unit = unit_for_reader(user, unit_id)
    member = membership(user, unit_id)
    if is_manager_of(user, unit) or (member is not None and member.role == MemberRole.ADMIN):
        return unit
    raise Forbidden("只有本单位管理员可以执行此操作")


def _check_unit_fields(data: dict, unit: Unit | None) -> None:
    if "credit_code" in data:
        code = normalise_credit_code(data["credit_code"])
        if not is_credit_code(code):
            raise ValidationFailed.field("credit_code", "统一社会信用代码无效（长度、字符或校验位不正确）")
        clash = db.session.scalar(
            sa.select(Unit.id).where(Unit.credit_code == code, Unit.id != (unit.id if unit else 0))
        )
        if clash is not None:
            raise ValidationFailed.field("credit_code", "该统一社会信用代码已登记")
        data["credit_code"] = code
    if "region_code" in data:
        region = db.session.get(Region, data["region_code"])
        if region is None or region.level not in ("city", "county"):
            raise ValidationFailed.field("region_code", "单位所在地应为市或县级地区代码")
    if data.get("parent_id") is not None:
        parent = db.session.get(Unit, data["parent_id"])
        if parent is None:
            raise ValidationFailed.field("parent_id", "上级单位不存在")
        ancestor = parent
        while ancestor is not None:  # a unit cannot be its own ancestor
            if unit is not None and ancestor.id == unit.id:
                raise ValidationFailed.field("parent_id", "上级单位不能是本单位或其下级")
            ancestor = ancestor.parent


def create_unit(actor: User, data: dict) -> Unit:
    """Register a unit (platform admin, or the office within its region)."""
    scope = manager_scope(actor)
    data = dict(data)
    _check_unit_fields(data, None)
    ensure_in_scope(scope, data["region_code"])
    unit = Unit(created_by_id=actor.id, **data)
    db.session.add(unit)
    db.session.flush()
    return unit


def update_unit(actor: User, unit_id: int, data: dict) -> Unit:
    """Correct a unit's details (managers only)."""
    unit = get_unit(unit_id)
    if not is_manager_of(actor, unit):
        raise NotFound("单位不存在") if not user_is_member(actor, unit) else Forbidden()
    data = dict(data)
    _check_unit_fields(data, unit)
    if "region_code" in data:
        ensure_in_scope(manager_scope(actor), data["region_code"])
    for key, value in data.items():
        setattr(unit, key, value)
    db.session.flush()
    return unit


def user_is_member(user: User, unit: Unit) -> bool:
    return membership(user, unit.id) is not None


def list_units(actor: User, kind: str | None, page: int, per_page: int) -> dict:
    """Units in the manager's region, or the units the caller belongs to."""
    statement = sa.select(Unit).order_by(Unit.id)
    if actor.has_role(*UNIT_MANAGERS):
        statement = statement.where(manager_scope(actor).filter(Unit.region_code))
    else:
        mine = sa.select(UnitMember.unit_id).where(UnitMember.user_id == actor.id, UnitMember.is_active.is_(True))
        statement = statement.where(Unit.id.in_(mine))
    if kind:
        statement = statement.where(Unit.kind == kind)
    return paginate(statement, page, per_page)


# Invites and purchasers ------------------------------------------------------


def issue_invite(actor: User, unit_id: int, role: str) -> tuple[UnitInvite, str]:
    """A single-use code (8 digits, valid 7 days); unit admins invite purchasers, managers anyone."""
    unit = unit_for_admin(actor, unit_id)
    if role == MemberRole.ADMIN and not is_manager_of(actor, unit):
        raise Forbidden(f"单位管理员邀请码由平台或{current_app.config['OFFICE_NAME']}签发")
    if not unit.is_active:
        raise Conflict("单位已停用")
    now = utcnow()
    while True:
        code = f"{secrets.randbelow(100_000_000):08d}"
        code_digest = digest(code, "unit_invite")
        live = db.session.scalar(
            sa.select(UnitInvite.id).where(
                UnitInvite.code_digest == code_digest, UnitInvite.used_at.is_(None), UnitInvite.expires_at > now
            )
        )
        if live is None:
            break
    invite = UnitInvite(
        unit_id=unit.id,
        role=role,
        code_digest=code_digest,
        expires_at=now + timedelta(days=INVITE_DAYS),
        created_by_id=actor.id,
    )
    db.session.add(invite)
    db.session.flush()
    return invite, code


def bind_invite(user: User, code: str, client_address: str | None = None) -> UnitMember:
    """The signed-in user joins the unit the code was issued for; the code is then spent (wrong codes slow down)."""
    account_key, address_key = str(user.id), client_address or "?"
    now = utcnow()
    with guessing((UNIT_BIND_BY_ACCOUNT, account_key), (UNIT_BIND_BY_ADDRESS, address_key)) as attempt:
        invite = db.session.scalar(
            sa.select(UnitInvite)
            .where(UnitInvite.code_digest.in_(digest_candidates(code, "unit_invite")), UnitInvite.used_at.is_(None))
            .order_by(UnitInvite.id.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if invite is None or invite.expires_at <= now:
            attempt.failed()
            raise ValidationFailed.field("code", "邀请码无效或已过期，请向单位管理员索取新的邀请码")
        attempt.succeeded()
    member = db.session.scalar(
        sa.select(UnitMember).where(UnitMember.unit_id == invite.unit_id, UnitMember.user_id == user.id)
    )
    if member is not None and member.is_active:
        raise Conflict("您已是该单位成员")
    invite.used_at, invite.used_by_id = now, user.id
    if member is None:
        member = UnitMember(unit_id=invite.unit_id, user_id=user.id, role=invite.role, invite_id=invite.id)
        db.session.add(member)
    else:  # removed earlier, invited back
        member.is_active, member.role, member.invite_id, member.removed_at = True, invite.role, invite.id, None
    db.session.flush()
    return member


def list_members(actor: User, unit_id: int) -> list[UnitMember]:
    unit = unit_for_admin(actor, unit_id)
    return list(
        db.session.scalars(sa.select(UnitMember).where(UnitMember.unit_id == unit.id, UnitMember.is_active.is_(True)))
    )


def remove_member(actor: User, unit_id: int, member_id: int) -> UnitMember:
    """A unit admin removes a purchaser (managers may remove anyone)."""
    unit = unit_for_admin(actor, unit_id)
    member = db.session.get(UnitMember, member_id)
    if member is None or member.unit_id != unit.id or not member.is_active:
        raise NotFound("成员不存在")
    if member.role == MemberRole.ADMIN and not is_manager_of(actor, unit):
        raise Forbidden(f"单位管理员由平台或{current_app.config['OFFICE_NAME']}移除")
    member.is_active, member.removed_at = False, utcnow()
    db.session.flush()
    return member


# Targets and invoice details ---------------------------------------------------


def set_target(actor: User, unit_id: int, year: int, canteen_budget_fen: int, ratio_bps: int) -> UnitTarget:
    """The unit sets its year's canteen food budget and reserved ratio; the target follows."""
    unit = unit_for_admin(actor, unit_id)
    if unit.kind != UnitKind.BUDGET_UNIT:
        raise ValidationFailed.field("year", "只有预算单位需要设定预留份额目标")
    target = db.session.scalar(sa.select(UnitTarget).where(UnitTarget.unit_id == unit.id, UnitTarget.year == year))
    if target is None:
        target = UnitTarget(unit_id=unit.id, year=year)
        db.session.add(target)
    target.canteen_budget_fen, target.ratio_bps = canteen_budget_fen, ratio_bps
    target.target_fen = canteen_budget_fen * ratio_bps // BPS
    target.set_by_id, target.updated_at = actor.id, utcnow()
    db.session.flush()
    return target


def list_targets(actor: User, unit_id: int) -> list[UnitTarget]:
    unit = unit_for_reader(actor, unit_id)
    return list(
        db.session.scalars(sa.select(UnitTarget).where(UnitTarget.unit_id == unit.id).order_by(UnitTarget.year))
    )


def set_invoice_info(actor: User, unit_id: int, data: dict) -> UnitInvoiceInfo:
    """Store the unit's 开票信息 (title, tax id, address and phone, bank and account)."""
    unit = unit_for_admin(actor, unit_id)
    info = db.session.get(UnitInvoiceInfo, unit.id)
    if info is None:
        info = UnitInvoiceInfo(unit_id=unit.id)
        db.session.add(info)
    for key, value in data.items():
        setattr(info, key, value)
    info.updated_by_id, info.updated_at = actor.id, utcnow()
    db.session.flush()
    db.session.refresh(unit)
    return info
