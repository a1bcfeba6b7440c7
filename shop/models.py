"""The catalogue: categories, products with SKUs and images, and their review trail."""

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import UTCDateTime, one_of, postgresql_only_index, utcnow
from core.extensions import db
from core.models import User
from core.vocabulary import LabelledEnum
from villages.models import Region, Seller, Station, StationStatus

MAX_PRICE_FEN = 10_000_000  # 100,000 yuan
MAX_SKUS = 20
MAX_IMAGES = 9


class ProductStatus(LabelledEnum):
    PENDING_REVIEW = "pending_review", "待审核"
    ON_SALE = "on_sale", "在售"
    REJECTED = "rejected", "已驳回"
    OFF_SHELF = "off_shelf", "已下架"


class ReviewAction(LabelledEnum):
    """What an entry of a listing's review trail records."""

    SUBMITTED = "submitted", "提交审核"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "驳回"
    CERTIFIED = "certified", "认定为扶贫产品"
    CERTIFICATION_REVOKED = "certification_revoked", "撤销扶贫认定"
    TAKEN_OFF_SHELF = "taken_off_shelf", "下架"


class ReviewDecision(StrEnum):
    """A reviewer's answer (products, after-sales requests and reports use the same two words)."""

    APPROVE = "approve"
    REJECT = "reject"


class Category(db.Model):
    """A product category from the managed list (水果, 茶叶 …); the slug never changes."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(32), unique=True)
    sort_order: Mapped[int] = mapped_column(default=0)
    # Inactive categories take no new listings but keep their products.
    is_active: Mapped[bool] = mapped_column(default=True)


class Product(db.Model):
    """A listing a station puts up on behalf of one of its sellers."""

    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", ProductStatus), name="known_status"),
        sa.CheckConstraint(f"min_price_fen > 0 AND min_price_fen <= {MAX_PRICE_FEN}", name="min_price_range"),
        sa.CheckConstraint("sales_count >= 0", name="sales_count_non_negative"),
        sa.CheckConstraint(
            "poverty_certified = false OR (certificate_no IS NOT NULL AND certified_on IS NOT NULL)",
            name="certificate_recorded",
        ),
        # The public list: on-sale products by each sort order.
        sa.Index("ix_products_status_published_at", "status", "published_at"),
        sa.Index("ix_products_status_min_price_fen", "status", "min_price_fen"),
        sa.Index("ix_products_status_sales_count", "status", "sales_count"),
        # Substring search (ILIKE '%q%') on PostgreSQL; works for Chinese text too.
        postgresql_only_index(
            "ix_products_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        postgresql_only_index(
            "ix_products_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(sa.ForeignKey("stations.id"), index=True)
    seller_id: Mapped[int] = mapped_column(sa.ForeignKey("sellers.id"), index=True)
    category_slug: Mapped[str] = mapped_column(sa.ForeignKey("categories.slug"), index=True)
    # Where it was grown or made; a village in the station's county.
    origin_village_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    title: Mapped[str] = mapped_column(sa.String(60))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # Sales unit shown beside the price: 箱, 斤, 盒 …
    unit: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=ProductStatus.PENDING_REVIEW)
    # Lowest active SKU price, kept in step with the SKUs so a list page needs no join to them.
    min_price_fen: Mapped[int]
    # Units sold, kept up to date by orders.
    sales_count: Mapped[int] = mapped_column(default=0)
    # Storage key of the cover (first image) thumbnail; denormalised for the list page.
    cover_image_key: Mapped[str | None] = mapped_column(sa.String(160))
    # 扶贫产品认定: only for poor-household sellers or poverty villages.
    poverty_certified: Mapped[bool] = mapped_column(default=False, index=True)
    certificate_no: Mapped[str | None] = mapped_column(sa.String(64))
    certified_on: Mapped[date | None] = mapped_column(sa.Date)
    certified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The reason of the latest rejection, shown to the station until it resubmits.
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # WeChat's content check said "review" (let through to the human reviewer).
    content_flagged: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # First time it went on sale; the "newest" order of the public list.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    station: Mapped[Station] = relationship(lazy="joined", innerjoin=True)
    seller: Mapped[Seller] = relationship(lazy="select")
    origin_village: Mapped[Region] = relationship(lazy="joined", innerjoin=True)
    category: Mapped[Category] = relationship(lazy="joined", innerjoin=True)
    certified_by: Mapped[User | None] = relationship(foreign_keys=[certified_by_id], lazy="select")
    skus: Mapped[list["Sku"]] = relationship(
        back_populates="product",
        order_by="Sku.position, Sku.id",
        cascade="all, delete-orphan",
    )
    images: Mapped[list["ProductImage"]] = relationship(
        back_populates="product",
        order_by="ProductImage.position, ProductImage.id",
        cascade="all, delete-orphan",
    )

    @property
    def active_skus(self) -> list["Sku"]:
        return [sku for sku in self.skus if sku.is_active is not False]  # None: not yet flushed

    @property
    def is_public(self) -> bool:
        """Buyers can see and order it."""
        return self.status == ProductStatus.ON_SALE and self.station.status == StationStatus.ACTIVE


class Sku(db.Model):
    """One size or pack of a product (5斤装 / 10斤装) with its price and stock.

    Order lines keep their own copy of name and price, so editing a SKU never
    changes orders already placed; a SKU that orders refer to is deactivated,
    not deleted.
    """

    __tablename__ = "skus"
    __table_args__ = (
        sa.CheckConstraint(f"price_fen > 0 AND price_fen <= {MAX_PRICE_FEN}", name="price_range"),
        sa.CheckConstraint("stock >= 0", name="stock_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(32))
    price_fen: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[Product] = relationship(back_populates="skus")


class ProductImage(db.Model):
    """A re-encoded product photo (metadata stripped) and its thumbnail, in storage."""

    __tablename__ = "product_images"
    __table_args__ = (
        sa.CheckConstraint("width > 0 AND height > 0", name="positive_size"),
        sa.CheckConstraint("byte_size > 0", name="positive_byte_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    # Storage keys (paths under UPLOAD_DIR for local storage).
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    thumbnail_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    # 0 is the cover.
    position: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="images")


class ProductReviewEvent(db.Model):
    """Append-only trail of a listing: submissions, decisions, certification, take-downs."""

    __tablename__ = "product_review_events"
    __table_args__ = (sa.CheckConstraint(one_of("action", ReviewAction), name="known_action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    certificate_no: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship()
    actor: Mapped[User | None] = relationship(lazy="joined")
