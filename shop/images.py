"""Product photos: checked by their content, re-encoded without metadata, with a thumbnail."""

import io
import uuid
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import AppError, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from shop.access import product_for_lister
from shop.listing import send_back_to_review
from shop.models import MAX_IMAGES, Product, ProductImage
from shop.storage import delete_after_commit, save_in_transaction
from villages.stations import ensure_active

MAX_IMAGE_BYTES = 5 * 1024 * 1024
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
# Phone photos are 4000×3000; the mini-program never shows more than this.
MAX_EDGE = 2000
THUMBNAIL_EDGE = 400
# Refuse decompression bombs long before Pillow's own limit.
MAX_PIXELS = 50_000_000
JPEG_QUALITY = 85


class ImageTooLarge(AppError):
    status, code, message = 413, "payload_too_large", "图片不能超过 5 MB"

    def __init__(self):
        super().__init__(details={"file": ["图片不能超过 5 MB，请压缩后再上传"]})


@dataclass(frozen=True)
class ProcessedImage:
    data: bytes
    thumbnail: bytes
    width: int
    height: int


def _not_an_image() -> ValidationFailed:
    return ValidationFailed.field("file", "只支持 JPEG、PNG 或 WebP 格式的图片")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    """Encode with no EXIF, XMP, ICC or comments: nothing but pixels."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True, exif=b"")
    return buffer.getvalue()


def process_image(data: bytes) -> ProcessedImage:
    """Check that ``data`` really is a JPEG/PNG/WebP and re-encode it (and a thumbnail) as JPEG."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge()
    if not data:
        raise ValidationFailed.field("file", "文件为空")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise _not_an_image()
                if probe.width * probe.height > MAX_PIXELS:
                    raise ValidationFailed.field("file", "图片像素过大")
                probe.verify()
            with Image.open(io.BytesIO(data)) as source:
                source.load()
                upright = ImageOps.exif_transpose(source)  # honour the phone's rotation first
                image = _flatten(upright)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _not_an_image() from exc
    except Image.DecompressionBombWarning as exc:
        raise ValidationFailed.field("file", "图片像素过大") from exc
    image.info.clear()
    image.thumbnail((MAX_EDGE, MAX_EDGE), Image.Resampling.LANCZOS)
    thumbnail = image.copy()
    thumbnail.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    return ProcessedImage(_jpeg(image), _jpeg(thumbnail), image.width, image.height)


def refresh_cover(product: Product) -> None:
    """Number the images 0… in order; the first is the cover."""
    images = sorted(product.images, key=lambda image: (image.position, image.id or 0))
    for position, image in enumerate(images):
        image.position = position
    product.cover_image_key = images[0].thumbnail_key if images else None


def store_image(product: Product, processed: ProcessedImage, uploader: User | None) -> ProductImage:
    """Write the files and add the image row (files go again if the transaction rolls back)."""
    name = f"products/{product.id}/{uuid.uuid4().hex}"
    key, thumbnail_key = f"{name}.jpg", f"{name}-thumb.jpg"
    save_in_transaction(key, processed.data, "image/jpeg")
    save_in_transaction(thumbnail_key, processed.thumbnail, "image/jpeg")
    image = ProductImage(
        key=key,
        thumbnail_key=thumbnail_key,
        content_type="image/jpeg",
        width=processed.width,
        height=processed.height,
        byte_size=len(processed.data),
        position=len(product.images),
        uploaded_by_id=uploader.id if uploader else None,
    )
    product.images.append(image)
    refresh_cover(product)
    return image


def read_upload(stream) -> bytes:
    """The uploaded file, or 413 as soon as it passes the limit."""
    data = stream.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageTooLarge()
    return data


def upload_image(actor: User, product_id: int, upload) -> ProductImage:
    """Add a photo to a listing; a new photo on an on-sale product sends it back to review."""
    product = product_for_lister(actor, product_id)
    ensure_active(product.station)
    if len(product.images) >= MAX_IMAGES:
        raise ValidationFailed.field("file", f"每个商品最多 {MAX_IMAGES} 张图片")
    processed = process_image(read_upload(upload.stream))
    image = store_image(product, processed, actor)
    send_back_to_review(product, actor, "新增商品图片，重新审核")
    db.session.flush()
    return image


def delete_image(actor: User, product_id: int, image_id: int) -> Product:
    """Remove a photo (its files go once the change is committed)."""
    product = product_for_lister(actor, product_id)
    image = next((image for image in product.images if image.id == image_id), None)
    if image is None:  # the path names it: an unknown one is not found, not invalid input
        raise NotFound("图片不存在")
    product.images.remove(image)
    delete_after_commit(image.key)
    delete_after_commit(image.thumbnail_key)
    refresh_cover(product)
    db.session.flush()
    return product


def reorder_images(actor: User, product_id: int, image_ids: list[int]) -> Product:
    """Put the photos in the given order; the first becomes the cover."""
    product = product_for_lister(actor, product_id)
    by_id = {image.id: image for image in product.images}
    if sorted(image_ids) != sorted(by_id):
        raise ValidationFailed.field("image_ids", "须按新顺序列出该商品的全部图片")
    for position, image_id in enumerate(image_ids):
        by_id[image_id].position = position
    refresh_cover(product)
    db.session.flush()
    return product
