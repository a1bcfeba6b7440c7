"""Catalogue API: categories, listing, images, review, the public catalogue; media files."""

import functools

from flask import Blueprint as FlaskBlueprint
from flask import request
from flask_smorest import Blueprint

from core.auth import authenticated, current_user
from core.errors import NotFound
from core.pagination import PageArgs, page_schema
from shop import browse, categories, images, listing, review, scenes
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
    SceneSchema,
    SkuPatchArgs,
    StationProductQueryArgs,
)
from shop.storage import is_public, storage

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
@authenticated
@products_blp.arguments(CategoryArgs)
@products_blp.response(201, CategorySchema)
def create_category(args, actor):
    """Add a category (platform admins)."""
    return categories.create_category(actor, args)


@products_blp.patch("/categories/<slug>")
@authenticated
@products_blp.arguments(CategoryPatchArgs)
@products_blp.response(200, CategorySchema)
def patch_category(changes, slug, actor):
    """Rename, reorder or (de)activate a category (platform admins)."""
    return categories.update_category(actor, slug, changes)


# Listing --------------------------------------------------------------------


@products_blp.post("/products")
@authenticated
@products_blp.arguments(ProductArgs)
@products_blp.response(201, ManagedProductSchema)
def create_product(args, actor):
    """List a product for one of the station's sellers; it waits for county review."""
    return listing.create_product(actor, args)


@products_blp.patch("/products/<int:product_id>")
@authenticated
@products_blp.arguments(ProductPatchArgs)
@products_blp.response(200, ManagedProductSchema)
def patch_product(changes, product_id, actor):
    """Edit a listing; new text on an on-sale product sends it back to review, price and stock do not."""
    return listing.update_product(actor, product_id, changes)


@products_blp.patch("/products/<int:product_id>/skus/<int:sku_id>")
@authenticated
@products_blp.arguments(SkuPatchArgs)
@products_blp.response(200, ManagedProductSchema)
def patch_sku(changes, product_id, sku_id, actor):
    """Change one SKU's price or stock; the product stays on sale."""
    return listing.update_sku(actor, product_id, sku_id, changes)


@products_blp.post("/products/<int:product_id>/off-shelf")
@authenticated
@products_blp.arguments(OffShelfArgs)
@products_blp.response(200, ManagedProductSchema)
def off_shelf(args, product_id, actor):
    """Take a product out of sale."""
    return listing.take_off_shelf(actor, product_id, args.get("reason"))


@products_blp.post("/products/<int:product_id>/submit")
@authenticated
@products_blp.response(200, ManagedProductSchema)
def resubmit(product_id, actor):
    """Send a rejected or off-shelf product back to county review."""
    return listing.resubmit(actor, product_id)


@products_blp.get("/stations/<int:station_id>/products")
@authenticated
@products_blp.arguments(StationProductQueryArgs, location="query")
@products_blp.response(200, page_schema(ManagedProductListItemSchema, "StationProductPage"))
def station_products(args, station_id, actor):
    """A station's products in every status, with rejection reasons."""
    return listing.list_station_products(
        actor, station_id, args.get("status"), args.get("seller_id"), args["page"], args["per_page"]
    )


# Images ---------------------------------------------------------------------


@products_blp.post("/products/<int:product_id>/images")
@authenticated
@products_blp.arguments(ImageUploadArgs, location="files")
@products_blp.response(201, ImageSchema)
def upload_image(args, product_id, actor):
    """Add a JPEG/PNG/WebP photo (≤ 5 MB; metadata stripped); the first one is the cover."""
    return images.upload_image(actor, product_id, args["file"])


@products_blp.delete("/products/<int:product_id>/images/<int:image_id>")
@authenticated
@products_blp.response(204)
def delete_image(product_id, image_id, actor):
    """Remove a photo."""
    images.delete_image(actor, product_id, image_id)


@products_blp.put("/products/<int:product_id>/images/order")
@authenticated
@products_blp.arguments(ImageOrderArgs)
@products_blp.response(200, ManagedProductSchema)
def reorder_images(args, product_id, actor):
    """Reorder the photos; the first becomes the cover."""
    return images.reorder_images(actor, product_id, args["image_ids"])


@products_blp.before_request
def _limit_upload_size():
    if request.endpoint == "products.upload_image":
        request.max_content_length = images.MAX_IMAGE_BYTES + 256 * 1024  # multipart overhead


# Review ---------------------------------------------------------------------


@products_blp.post("/products/<int:product_id>/review")
@authenticated
@products_blp.arguments(ReviewArgs)
@products_blp.response(200, ManagedProductSchema)
def review_product(args, product_id, actor):
    """Approve (optionally certifying it) or reject a listing (county admin of its county)."""
    return review.review_product(actor, product_id, args)


@products_blp.post("/products/<int:product_id>/certification")
@authenticated
@products_blp.arguments(CertifyArgs)
@products_blp.response(200, ManagedProductSchema)
def certify_product(args, product_id, actor):
    """Certify a product as a poverty-alleviation product (扶贫产品认定)."""
    return review.certify_product(actor, product_id, args["certificate_no"], args.get("certified_on"))


@products_blp.post("/products/<int:product_id>/certification/revoke")
@authenticated
@products_blp.arguments(RevokeArgs)
@products_blp.response(200, ManagedProductSchema)
def revoke_certification(args, product_id, actor):
    """Withdraw a product's poverty-alleviation certification, with a reason."""
    return review.revoke_certification(actor, product_id, args["reason"])


@products_blp.get("/products/review-queue")
@authenticated
@products_blp.arguments(ReviewQueueArgs, location="query")
@products_blp.response(200, page_schema(ManagedProductListItemSchema, "ReviewQueuePage"))
def review_queue(args, actor):
    """Listings of the caller's county waiting for review (or in another status)."""
    return review.review_queue(actor, args["status"], args.get("region"), args["page"], args["per_page"])


@products_blp.get("/products/<int:product_id>/reviews")
@authenticated
@products_blp.response(200, ReviewEventSchema(many=True))
def review_history(product_id, actor):
    """A product's trail: submissions, decisions with reasons, certification."""
    return review.review_history(actor, product_id)


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
@products_blp.doc(
    responses={
        "200": {
            "description": "ProductDetail for everyone; ManagedProduct (status, review facts) for staff in scope",
            "content": {
                "application/json": {
                    "schema": {
                        "anyOf": [
                            {"$ref": "#/components/schemas/ProductDetail"},
                            {"$ref": "#/components/schemas/ManagedProduct"},
                        ]
                    }
                }
            },
        }
    }
)
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
    """A stored file the API links to (keys never change, so it may be cached for long)."""
    if not is_public(key):
        raise NotFound("文件不存在")
    return storage().response(key)


@products_blp.get("/scenes/<scene>")
@products_blp.response(200, SceneSchema)
def resolve_scene(scene):
    """What the scene of a mini-program code this backend generated opens (public); unknown → 404."""
    return scenes.resolve_scene(scene)
