"""Villages and county centres."""

import sqlalchemy as sa

from core.auth import Scope, ensure_in_scope, ensure_overlaps
from core.clock import beijing_today
from core.errors import NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.pagination import paginate
from villages.access import county_scope, read_scope
from villages.models import Centre, Region, RegionLevel, Village


def list_villages(user: User, region: str | None, poverty: bool | None, page: int, per_page: int) -> dict:
    """Villages in the caller's scope, optionally under ``region`` and by poverty flag."""
    scope = read_scope(user)
    statement = sa.select(Village).join(Village.region).where(scope.filter(Village.code)).order_by(Village.code)
    if region:
        ensure_overlaps(scope, region)
        statement = statement.where(Village.code.startswith(region, autoescape=True))
    if poverty is not None:
        statement = statement.where(Village.is_poverty_village.is_(poverty))
    return paginate(statement, page, per_page)


def get_village(user: User, code: str) -> Village:
    """One village in the caller's scope."""
    village = db.session.get(Village, code)
    if village is None:
        raise NotFound("村不存在")
    ensure_in_scope(read_scope(user), code)
    return village


def village_detail(user: User, code: str) -> Village:
    """A village with its stations and active worker counts."""
    ensure_in_scope(read_scope(user), code)
    village = db.session.scalar(
        sa.select(Village)
        .where(Village.code == code)
        .options(sa.orm.undefer(Village.info_officers), sa.orm.undefer(Village.ecommerce_talents))
    )
    if village is None:
        raise NotFound("村不存在")
    return village


def update_village(user: User, code: str, changes: dict) -> Village:
    """Change a village's policy facts (county admin of its county)."""
    village = db.session.get(Village, code)
    if village is None:
        raise NotFound("村不存在")
    ensure_in_scope(county_scope(user), code)
    for flag in ("fibre_covered", "mobile_4g_covered"):
        if flag in changes:
            became_true = changes[flag] and not getattr(village, flag)
            setattr(village, flag, changes[flag])
            if not changes[flag]:
                setattr(village, f"{flag}_on", None)
            elif became_true or f"{flag}_on" in changes:
                setattr(village, f"{flag}_on", changes.get(f"{flag}_on") or beijing_today())
    for field in ("is_poverty_village", "households", "registered_poor_households"):
        if field in changes:
            setattr(village, field, changes[field])
    if village.registered_poor_households > village.households:
        raise ValidationFailed.field("registered_poor_households", "脱贫户数不能大于总户数")
    db.session.flush()
    return village


def create_centre(county_code: str, name: str, commission_bps: int) -> Centre:
    """A county e-commerce centre (platform admins only, checked by the view)."""
    county = db.session.get(Region, county_code)
    if county is None or county.level != RegionLevel.COUNTY:
        raise ValidationFailed.field("county_code", "县级行政区代码不存在")
    centre = Centre(county_code=county_code, name=name, commission_bps=commission_bps)
    db.session.add(centre)
    db.session.flush()
    return centre


def update_centre(user: User, centre_id: int, changes: dict) -> Centre:
    """Rename a centre or set its payout account (county admin of its county, or platform admin)."""
    scope = county_scope(user)
    centre = db.session.get(Centre, centre_id)
    if centre is None:
        raise NotFound("县域电商中心不存在")
    ensure_in_scope(scope, centre.county_code)
    for field in ("name", "payout_alipay_account"):
        if field in changes:
            setattr(centre, field, changes[field])
    db.session.flush()
    return centre


def list_centres(user: User, county_code: str | None, page: int, per_page: int) -> dict:
    scope: Scope = read_scope(user)
    statement = sa.select(Centre).where(scope_filter_for_centres(scope)).order_by(Centre.id)
    if county_code:
        statement = statement.where(Centre.county_code == county_code)
    return paginate(statement, page, per_page)


def scope_filter_for_centres(scope: Scope):
    """A centre is visible to whoever sees its county or anything inside it."""
    if scope.unrestricted:
        return sa.true()
    return sa.or_(scope.filter(Centre.county_code), *(Centre.county_code == p[:6] for p in scope.prefixes))
