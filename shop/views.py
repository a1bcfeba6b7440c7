"""Catalogue API: categories, listing, images, review, the public catalogue; media files."""

import functools

from flask import Blueprint as FlaskBlueprint
from flask import request
from flask_smorest import Blueprint

from core.auth import current_user, login_required, require_user
from core.pagination import PageArgs, page_schema
from shop import browse, categories, images, listing, review
from shop import dashboard as _dashboard  # noqa: F401 - subscribes to the seller page signal
from shop.http import CachedPage, json_response
from shop.schemas import (
    CategoryArgs,
    CategoryPatchArgs,
    CategoryQueryArgs,
    CategorySchema,
    CertifyArgs,
    ImageOrderArgs,
    ImageSchema,
    ImageUploadArgs,
    ManagedProductListItemSchema,
    ManagedProductSchema,
    OffShelfArgs,
    ProductArgs,
    ProductDetailSchema,
    ProductPageSchema,
    ProductPatchArgs,
    ProductQueryArgs,
    ReviewArgs,
    ReviewEventSchema,
    ReviewQueueArgs,
    RevokeArgs,
    SkuPatchArgs,
    StationProductQueryArgs,
)
from shop.storage import storage

products_blp = Blueprint("products", __name__, description="商品目录：分类、上架、图片、审核与扶贫产品认定")
media_bp = FlaskBlueprint("media", __name__)


class CategoryListArgs(CategoryQueryArgs, PageArgs):
    """The category filters plus the contract's page arguments."""


# Categories -----------------------------------------------------------------


@products_blp.get("/categories")
@products_blp.arguments(CategoryListArgs, location="query")
@products_blp.response(200, page_schema(CategorySchema, "CategoryPage"))
def list_categories(args):
    """The managed category list, in display order; public."""
    return categories.list_categories(args["include_inactive"], args["page"], args["per_page"])


@products_blp.post("/categories")
@login_required
@products_blp.arguments(CategoryArgs)
@products_blp.response(201, CategorySchema)
def create_category(args):
    """Add a category (platform admins)."""
    return categories.create_category(require_user(), args)


@products_blp.patch("/categories/<slug>")
@login_required
@products_blp.arguments(CategoryPatchArgs)
@products_blp.response(200, CategorySchema)
def patch_category(changes, slug):
    """Rename, reorder or (de)activate a category (platform admins)."""
    return categories.update_category(require_user(), slug, changes)


# Listing --------------------------------------------------------------------


@products_blp.post("/products")
@login_required
@products_blp.arguments(ProductArgs)
@products_blp.response(201, ManagedProductSchema)
def create_product(args):
    """List a product for one of the station's sellers; it waits for county review."""
    return listing.create_product(require_user(), args)


@products_blp.patch("/products/<int:product_id>")
@login_required
@products_blp.arguments(ProductPatchArgs)
@products_blp.response(200, ManagedProductSchema)
def patch_product(changes, product_id):
    """Edit a listing; new text on an on-sale product sends it back to review, price and stock do not."""
    return listing.update_product(require_user(), product_id, changes)


@products_blp.patch("/products/<int:product_id>/skus/<int:sku_id>")
@login_required
@products_blp.arguments(SkuPatchArgs)
@products_blp.response(200, ManagedProductSchema)
def patch_sku(changes, product_id, sku_id):
    """Change one SKU's price or stock; the product stays on sale."""
    return listing.update_sku(require_user(), product_id, sku_id, changes)


@products_blp.post("/products/<int:product_id>/off-shelf")
@login_required
@products_blp.arguments(OffShelfArgs)
@products_blp.response(200, ManagedProductSchema)
def off_shelf(args, product_id):
    """Take a product out of sale."""
    return listing.take_off_shelf(require_user(), product_id, args.get("reason"))


@products_blp.post("/products/<int:product_id>/submit")
@login_required
@products_blp.response(200, ManagedProductSchema)
def resubmit(product_id):
    """Send a rejected or off-shelf product back to county review."""
    return listing.resubmit(require_user(), product_id)


@products_blp.get("/stations/<int:station_id>/products")
@login_required
@products_blp.arguments(StationProductQueryArgs, location="query")
@products_blp.response(200, page_schema(ManagedProductListItemSchema, "StationProductPage"))
def station_products(args, station_id):
    """A station's products in every status, with rejection reasons."""
    return listing.list_station_products(
        require_user(), station_id, args.get("status"), args.get("seller_id"), args["page"], args["per_page"]
    )


# Images ---------------------------------------------------------------------


@products_blp.post("/products/<int:product_id>/images")
@login_required
@products_blp.arguments(ImageUploadArgs, location="files")
@products_blp.response(201, ImageSchema)
def upload_image(args, product_id):
    """Add a JPEG/PNG/WebP photo (≤ 5 MB; metadata stripped); the first one is the cover."""
    return images.upload_image(require_user(), product_id, args["file"])


@products_blp.delete("/products/<int:product_id>/images/<int:image_id>")
@login_required
@products_blp.response(204)
def delete_image(product_id, image_id):
    """Remove a photo."""
    images.delete_image(require_user(), product_id, image_id)


@products_blp.put("/products/<int:product_id>/images/order")
@login_required
@products_blp.arguments(ImageOrderArgs)
@products_blp.response(200, ManagedProductSchema)
def reorder_images(args, product_id):
    """Reorder the photos; the first becomes the cover."""
    return images.reorder_images(require_user(), product_id, args["image_ids"])


@products_blp.before_request
def _limit_upload_size():
    if request.endpoint == "products.upload_image":
        request.max_content_length = images.MAX_IMAGE_BYTES + 256 * 1024  # multipart overhead


# Review ---------------------------------------------------------------------


@products_blp.post("/products/<int:product_id>/review")
@login_required
@products_blp.arguments(ReviewArgs)
@products_blp.response(200, ManagedProductSchema)
def review_product(args, product_id):
    """Approve (optionally certifying it) or reject a listing (county admin of its county)."""
    return review.review_product(require_user(), product_id, args)


@products_blp.post("/products/<int:product_id>/certification")
@login_required
@products_blp.arguments(CertifyArgs)
@products_blp.response(200, ManagedProductSchema)
def certify_product(args, product_id):
    """Certify a product as a poverty-alleviation product (扶贫产品认定)."""
    return review.certify_product(require_user(), product_id, args["certificate_no"], args.get("certified_on"))


@products_blp.post("/products/<int:product_id>/certification/revoke")
@login_required
@products_blp.arguments(RevokeArgs)
@products_blp.response(200, ManagedProductSchema)
def revoke_certification(args, product_id):
    """Withdraw a product's poverty-alleviation certification, with a reason."""
    return review.revoke_certification(require_user(), product_id, args["reason"])


@products_blp.get("/products/review-queue")
@login_required
@products_blp.arguments(ReviewQueueArgs, location="query")
@products_blp.response(200, page_schema(ManagedProductListItemSchema, "ReviewQueuePage"))
def review_queue(args):
    """Listings of the caller's county waiting for review (or in another status)."""
    return review.review_queue(require_user(), args["status"], args.get("region"), args["page"], args["per_page"])


@products_blp.get("/products/<int:product_id>/reviews")
@login_required
@products_blp.response(200, ReviewEventSchema(many=True))
def review_history(product_id):
    """A product's trail: submissions, decisions with reasons, certification."""
    return review.review_history(require_user(), product_id)


# Public catalogue -----------------------------------------------------------


def list_fast_path(view):
    """Answer a cached list page before argument parsing: the mini-program's hottest reads."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = browse.list_cache_key(request.args)
        hit = CachedPage(key).hit() if key else None
        return hit if hit is not None else view(*args, **kwargs)

    return wrapper


@products_blp.get("/products")
@list_fast_path
@products_blp.arguments(ProductQueryArgs, location="query")
@products_blp.response(200, ProductPageSchema)
def list_products(args):
    """On-sale products: search, filters, sorting; every page is cached under the catalogue version."""
    page = CachedPage(browse.list_cache_key(request.args))
    return page.hit() or page.store(ProductPageSchema().dump(browse.list_public_products(**args)))


@products_blp.get("/products/<int:product_id>")
@products_blp.response(200, ProductDetailSchema)
def get_product(product_id):
    """A product's page with SKUs; unpublished ones only for staff in scope and their seller."""
    page = CachedPage(f"product:{product_id}")
    hit = page.hit()
    if hit is not None:
        return hit
    product, public = browse.product_for_viewer(product_id, current_user)
    if public:
        return page.store(ProductDetailSchema().dump(product))
    return json_response(ManagedProductSchema().dump(product), private=True)


@media_bp.get("/media/<path:key>")
def media(key):
    """A stored product image (keys never change, so it may be cached for long)."""
    return storage().response(key)
