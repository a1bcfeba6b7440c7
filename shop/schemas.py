"""Request and response schemas of the catalogue."""

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.fields import FullMatch, LocalDateTime, enum_string, one_of
from core.pagination import PageArgs
from shop.models import MAX_PRICE_FEN, MAX_SKUS, ProductStatus, ReviewAction, ReviewDecision
from shop.storage import media_url

SORTS = ("newest", "price_asc", "price_desc", "sales")
PRICE = validate.Range(min=1, max=MAX_PRICE_FEN, error="价格应在 1 分到 10 万元（10000000 分）之间")
STOCK = validate.Range(min=0, max=10_000_000, error="库存应为 0 到 10000000 之间的整数")


class Trimmed(fields.String):
    """A string with surrounding whitespace removed before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


TITLE = {"validate": validate.Length(min=2, max=60)}
DESCRIPTION = {"validate": validate.Length(max=5000)}
UNIT = {"validate": validate.Length(min=1, max=16)}
VILLAGE_CODE = {"validate": FullMatch(r"\d{12}", error="村级代码应为12位数字")}
SLUG = FullMatch(r"[a-z][a-z0-9_]{1,31}", error="分类标识应为小写字母、数字和下划线")


# Categories -----------------------------------------------------------------


class CategorySchema(Schema):
    slug = fields.String()
    name = fields.String()
    sort_order = fields.Integer()
    is_active = fields.Boolean()


class CategoryQueryArgs(Schema):
    include_inactive = fields.Boolean(load_default=False)


class CategoryArgs(Schema):
    slug = fields.String(required=True, validate=SLUG)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=32))
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=10000))
    is_active = fields.Boolean()


class CategoryPatchArgs(Schema):
    name = Trimmed(validate=validate.Length(min=1, max=32))
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=10000))
    is_active = fields.Boolean()


# Listing --------------------------------------------------------------------


class SkuArgs(Schema):
    name = Trimmed(required=True, validate=validate.Length(min=1, max=32))
    price_fen = fields.Integer(required=True, strict=True, validate=PRICE)
    stock = fields.Integer(required=True, strict=True, validate=STOCK)


class SkuEditArgs(SkuArgs):
    id = fields.Integer(strict=True)


def _unique_sku_names(skus: list[dict]) -> None:
    seen = set()
    for position, sku in enumerate(skus or []):
        if sku["name"] in seen:
            raise ValidationError({str(position): {"name": ["规格名称重复"]}}, "skus")
        seen.add(sku["name"])


class ProductArgs(Schema):
    station_id = fields.Integer(required=True, strict=True)
    seller_id = fields.Integer(required=True, strict=True)
    category = fields.String(required=True, validate=validate.Length(min=1, max=32))
    title = Trimmed(required=True, **TITLE)
    description = Trimmed(load_default="", **DESCRIPTION)
    unit = Trimmed(required=True, **UNIT)
    origin_village_code = fields.String(required=True, **VILLAGE_CODE)
    skus = fields.List(
        fields.Nested(SkuArgs),
        required=True,
        validate=validate.Length(min=1, max=MAX_SKUS, error=f"规格数量应为 1 到 {MAX_SKUS} 个"),
    )

    @validates_schema
    def _skus_unique(self, data, **kwargs):
        _unique_sku_names(data.get("skus"))


class ProductPatchArgs(Schema):
    """Any of the listing's fields; ``skus`` is the whole new list (entries with ``id`` keep their SKU)."""

    category = fields.String(validate=validate.Length(min=1, max=32))
    title = Trimmed(**TITLE)
    description = Trimmed(**DESCRIPTION)
    unit = Trimmed(**UNIT)
    origin_village_code = fields.String(**VILLAGE_CODE)
    skus = fields.List(
        fields.Nested(SkuEditArgs),
        validate=validate.Length(min=1, max=MAX_SKUS, error=f"规格数量应为 1 到 {MAX_SKUS} 个"),
    )

    @validates_schema
    def _skus_unique(self, data, **kwargs):
        _unique_sku_names(data.get("skus"))


class SkuPatchArgs(Schema):
    price_fen = fields.Integer(strict=True, validate=PRICE)
    stock = fields.Integer(strict=True, validate=STOCK)


class OffShelfArgs(Schema):
    reason = Trimmed(validate=validate.Length(max=200))


class ImageUploadArgs(Schema):
    file = Upload(required=True)


class ImageOrderArgs(Schema):
    image_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(min=1))


class StationProductQueryArgs(PageArgs):
    status = fields.String(validate=one_of(ProductStatus))
    seller_id = fields.Integer()


# Review ---------------------------------------------------------------------


class ReviewArgs(Schema):
    decision = fields.String(required=True, validate=one_of(ReviewDecision))
    reason = Trimmed(validate=validate.Length(max=200))
    poverty_certified = fields.Boolean()
    certificate_no = Trimmed(validate=validate.Length(min=2, max=64))
    certified_on = fields.Date()


class CertifyArgs(Schema):
    certificate_no = Trimmed(required=True, validate=validate.Length(min=2, max=64))
    certified_on = fields.Date()


class RevokeArgs(Schema):
    reason = Trimmed(required=True, validate=validate.Length(min=2, max=200))


class ReviewQueueArgs(PageArgs):
    status = fields.String(load_default=ProductStatus.PENDING_REVIEW.value, validate=one_of(ProductStatus))
    region = fields.String(validate=FullMatch(r"\d{4,12}", error="地区代码应为4–12位数字"))


class ReviewEventSchema(Schema):
    id = fields.Integer()
    action = enum_string(ReviewAction)
    actor = fields.Function(lambda event: event.actor.display_name if event.actor else None)
    actor_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    certificate_no = fields.String(allow_none=True)
    created_at = LocalDateTime()


# Public catalogue -----------------------------------------------------------


class ProductQueryArgs(PageArgs):
    q = Trimmed(validate=validate.Length(max=50))
    category = fields.String(validate=validate.Length(max=32))
    region = fields.String(validate=FullMatch(r"\d{2,12}", error="地区代码应为数字"))
    poverty = fields.Boolean()
    # One station's products (its page in the mini-program, opened from its poster code).
    station = fields.Integer(validate=validate.Range(min=1))
    sort = fields.String(load_default="newest", validate=validate.OneOf(SORTS))


class StationRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class VillageRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class ProductListItemSchema(Schema):
    """Exactly the contract's list item."""

    id = fields.Integer()
    title = fields.String()
    price_fen = fields.Integer()
    cover_image_url = fields.String(allow_none=True)
    station = fields.Nested(StationRefSchema)
    village = fields.Nested(VillageRefSchema)
    poverty_certified = fields.Boolean()
    sales_count = fields.Integer()


class ProductPageSchema(Schema):
    items = fields.List(fields.Nested(ProductListItemSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class SkuSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    price_fen = fields.Integer()
    stock = fields.Integer()


class ImageSchema(Schema):
    id = fields.Integer()
    url = fields.Function(lambda image: media_url(image.key))
    thumbnail_url = fields.Function(lambda image: media_url(image.thumbnail_key))
    width = fields.Integer()
    height = fields.Integer()
    position = fields.Integer()
    is_cover = fields.Function(lambda image: image.position == 0)


class CategoryRefSchema(Schema):
    slug = fields.String()
    name = fields.String()


class CertificationSchema(Schema):
    certificate_no = fields.String()
    certified_on = fields.Date()


def _certification(product):
    return CertificationSchema().dump(product) if product.poverty_certified else None


class ProductDetailSchema(Schema):
    """A product's page: the list item's fields plus SKUs, text, photos and certification."""

    id = fields.Integer()
    title = fields.String()
    price_fen = fields.Integer(attribute="min_price_fen")
    cover_image_url = fields.Function(lambda product: media_url(product.cover_image_key))
    station = fields.Nested(StationRefSchema)
    village = fields.Nested(VillageRefSchema, attribute="origin_village")
    poverty_certified = fields.Boolean()
    sales_count = fields.Integer()
    status = enum_string(ProductStatus)
    description = fields.String()
    unit = fields.String()
    category = fields.Nested(CategoryRefSchema)
    seller_village = fields.Nested(VillageRefSchema, attribute="station.village")
    certification = fields.Function(_certification, allow_none=True)
    skus = fields.List(fields.Nested(SkuSchema), attribute="active_skus")
    images = fields.List(fields.Nested(ImageSchema))


class SellerRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    poor_household = fields.Boolean()
    household_category = fields.String()


class ManagedProductSchema(ProductDetailSchema):
    """What the station and the county see: status, why it was rejected, the review facts."""

    seller = fields.Nested(SellerRefSchema)
    origin_village_code = fields.String()
    rejection_reason = fields.String(allow_none=True)
    content_flagged = fields.Boolean()
    certified_by_id = fields.Integer(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    submitted_at = LocalDateTime()
    published_at = LocalDateTime(allow_none=True)


class ManagedProductListItemSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    status = enum_string(ProductStatus)
    rejection_reason = fields.String(allow_none=True)
    price_fen = fields.Integer(attribute="min_price_fen")
    stock = fields.Function(lambda product: sum(sku.stock for sku in product.active_skus))
    cover_image_url = fields.Function(lambda product: media_url(product.cover_image_key))
    category = fields.String(attribute="category_slug")
    seller = fields.Nested(SellerRefSchema)
    station_id = fields.Integer()
    origin_village_code = fields.String()
    poverty_certified = fields.Boolean()
    content_flagged = fields.Boolean()
    sales_count = fields.Integer()
    submitted_at = LocalDateTime()
    updated_at = LocalDateTime()


class SceneSchema(Schema):
    """What a mini-program code's scene opens: ``id`` for a station, product or group; ``code`` for a trace label."""

    kind = fields.String()
    id = fields.Integer()
    code = fields.String()
    name = fields.String()  # a station's name
    village = fields.Nested(VillageRefSchema)  # a station's village
