"""County review of listings and poverty-alleviation product certification (扶贫产品认定)."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from core.auth import ensure_overlaps
from core.clock import beijing_today
from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.pagination import paginate
from shop.access import can_see_unpublished, get_product, product_for_reviewer, review_scope
from shop.listing import record_review_event, revoke
from shop.models import Product, ProductReviewEvent, ProductStatus, ReviewAction, ReviewDecision
from villages.models import SUPPORTED_HOUSEHOLDS, Station, Village


def certification_allowed(product: Product) -> bool:
    """Only a product of a 脱贫户 or 监测对象 household, or from a poverty village, may be certified."""
    if product.seller.household_category in SUPPORTED_HOUSEHOLDS:
        return True
    village = db.session.get(Village, product.origin_village_code)
    return bool(village and village.is_poverty_village)


def _certify(product: Product, actor: User, certificate_no: str | None, certified_on: date | None) -> None:
    if not certificate_no:
        raise ValidationFailed.field("certificate_no", "扶贫产品认定须填写认定证书编号")
    if not certification_allowed(product):
        raise ValidationFailed.field("poverty_certified", "只有脱贫户、监测对象或贫困村的产品可以认定为扶贫产品")
    product.poverty_certified = True
    product.certificate_no = certificate_no
    product.certified_on = certified_on or beijing_today()
    product.certified_by_id = actor.id
    record_review_event(product, ReviewAction.CERTIFIED, actor, certificate_no=certificate_no)


def review_product(actor: User, product_id: int, decision: dict) -> Product:
    """Approve (→ on_sale, optionally certified) or reject (→ rejected, with a reason)."""
    product = product_for_reviewer(actor, product_id)
    if product.status != ProductStatus.PENDING_REVIEW:
        raise Conflict("该商品不在待审核状态")
    reason = (decision.get("reason") or "").strip() or None
    if decision["decision"] == ReviewDecision.REJECT:
        if not reason:
            raise ValidationFailed.field("reason", "驳回时须填写原因，便于服务站修改")
        if decision.get("poverty_certified"):
            raise ValidationFailed.field("poverty_certified", "驳回的商品不能认定为扶贫产品")
        product.status, product.rejection_reason = ProductStatus.REJECTED, reason
        record_review_event(product, ReviewAction.REJECTED, actor, reason=reason)
    else:
        product.status, product.rejection_reason = ProductStatus.ON_SALE, None
        product.published_at = product.published_at or utcnow()
        record_review_event(product, ReviewAction.APPROVED, actor, reason=reason)
        if decision.get("poverty_certified") and not product.poverty_certified:
            _certify(product, actor, decision.get("certificate_no"), decision.get("certified_on"))
    product.content_flagged = False
    db.session.flush()
    return product


def certify_product(actor: User, product_id: int, certificate_no: str, certified_on: date | None) -> Product:
    """Certify an on-sale or waiting product as a poverty-alleviation product."""
    product = product_for_reviewer(actor, product_id)
    if product.status not in (ProductStatus.ON_SALE, ProductStatus.PENDING_REVIEW):
        raise Conflict("只有在售或待审核的商品可以认定")
    if product.poverty_certified:
        raise Conflict("该商品已认定为扶贫产品")
    _certify(product, actor, certificate_no, certified_on)
    db.session.flush()
    return product


def revoke_certification(actor: User, product_id: int, reason: str) -> Product:
    """Withdraw a certification, with the reason kept in the trail."""
    product = product_for_reviewer(actor, product_id)
    if not product.poverty_certified:
        raise Conflict("该商品未认定为扶贫产品")
    revoke(product, actor, reason)
    db.session.flush()
    return product


def review_queue(actor: User, status: str, region: str | None, page: int, per_page: int) -> dict:
    """Products of the reviewer's county in ``status`` (waiting ones first by submission)."""
    scope = review_scope(actor)
    statement = (
        sa.select(Product)
        .join(Product.station)
        .where(Product.status == status, scope.filter(Station.village_code))
        .options(selectinload(Product.seller), selectinload(Product.skus))
        .order_by(Product.submitted_at, Product.id)
    )
    if region:
        ensure_overlaps(scope, region)
        statement = statement.where(Station.village_code.startswith(region, autoescape=True))
    return paginate(statement, page, per_page)


def review_history(actor: User, product_id: int) -> list[ProductReviewEvent]:
    """Who submitted, approved, rejected or certified a product, and when."""
    product = get_product(product_id)
    if not can_see_unpublished(actor, product):
        raise NotFound("商品不存在")
    return list(
        db.session.scalars(
            sa.select(ProductReviewEvent)
            .where(ProductReviewEvent.product_id == product.id)
            .order_by(ProductReviewEvent.created_at, ProductReviewEvent.id)
        )
    )
