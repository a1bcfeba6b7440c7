"""Product photos: only real images, metadata stripped, nothing stored when refused."""

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from core.extensions import db as _db
from shop.images import MAX_IMAGE_BYTES
from shop.models import ProductImage
from shop.storage import upload_dir
from tests import catalogue
from tests.catalogue import YANLING_OTHER_VILLAGE


@pytest.fixture
def yanling(db):
    return catalogue.county()


def _stored_files(app, product_id: int) -> list[Path]:
    with app.app_context():
        folder = upload_dir() / "products" / str(product_id)
    return sorted(folder.glob("*")) if folder.exists() else []


def _upload(client, place, product_id, data: bytes, filename: str = "photo.jpg", content_type="image/jpeg"):
    # Encoded in memory: the test client leaves large bodies in a temporary file it never closes.
    upload = FileStorage(io.BytesIO(data), filename=filename, content_type=content_type)
    stream, length, boundary = stream_encode_multipart({"file": upload}, use_tempfile=False)
    return client.post(
        f"/api/v1/products/{product_id}/images",
        input_stream=stream,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=place.manager_auth,
    )


def _phone_photo_with_gps() -> bytes:
    """A JPEG as a phone writes it: maker, rotation and the GPS position of the farm."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Xiaomi"
    exif[ExifTags.Base.Orientation] = 6  # taken upright, stored sideways
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (26.0, 29.0, 13.5),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (113.0, 46.0, 1.2),
    }
    return catalogue.image_bytes("JPEG", size=(640, 480), exif=exif)


def test_a_phone_photo_is_stored_without_its_gps_position(client, app, yanling):
    original = _phone_photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the premise
    product = catalogue.create(client, yanling)
    response = _upload(client, yanling, product["id"], original)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["is_cover"] is True and body["position"] == 0
    assert (body["width"], body["height"]) == (480, 640)  # rotation applied before the EXIF went
    files = _stored_files(app, product["id"])
    assert len(files) == 2  # the image and its thumbnail
    for path in files:
        data = path.read_bytes()
        stored = Image.open(io.BytesIO(data))
        assert stored.format == "JPEG"
        assert dict(stored.getexif()) == {}
        assert "exif" not in stored.info and "icc_profile" not in stored.info
        assert b"Exif" not in data and b"Xiaomi" not in data
    thumbnail = next(p for p in files if p.name.endswith("-thumb.jpg"))
    assert max(Image.open(io.BytesIO(thumbnail.read_bytes())).size) <= 400


def test_the_stored_image_is_served_at_its_url_and_becomes_the_cover(client, app, yanling):
    product = catalogue.create(client, yanling)
    body = _upload(client, yanling, product["id"], catalogue.image_bytes()).json
    assert body["url"].startswith("http://127.0.0.1:5000/media/products/")
    path = body["url"].removeprefix("http://127.0.0.1:5000")
    with client.get(path) as served:
        assert served.status_code == 200
        assert served.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(served.data)).size == (640, 480)
    detail = client.get(f"/api/v1/products/{product['id']}", headers=yanling.manager_auth).json
    assert detail["cover_image_url"] == body["thumbnail_url"]
    assert [image["id"] for image in detail["images"]] == [body["id"]]


def test_media_paths_cannot_leave_the_upload_directory(client, yanling):
    assert client.get("/media/../conftest.py").status_code == 404
    assert client.get("/media/%2e%2e/%2e%2e/etc/passwd").status_code == 404
    assert client.get("/media/products/1/missing.jpg").status_code == 404


def test_a_text_file_named_jpg_is_refused_and_nothing_is_stored(client, app, yanling):
    product = catalogue.create(client, yanling)
    response = _upload(client, yanling, product["id"], "这不是图片\n".encode() * 100, "peach.jpg")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert "file" in response.json["error"]["details"]
    assert _stored_files(app, product["id"]) == []
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(ProductImage)) == 0


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",  # a real format, but not one we take
        catalogue.image_bytes("JPEG")[:400],  # truncated
        b"",
    ],
    ids=["gif", "truncated-jpeg", "empty"],
)
def test_other_bad_files_are_refused(client, app, yanling, data):
    product = catalogue.create(client, yanling)
    response = _upload(client, yanling, product["id"], data)
    assert response.status_code == 422
    assert _stored_files(app, product["id"]) == []


def test_an_image_over_5_mb_is_refused(client, app, yanling):
    product = catalogue.create(client, yanling)
    response = _upload(client, yanling, product["id"], b"\xff\xd8\xff" + b"\0" * MAX_IMAGE_BYTES)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert response.json["error"]["message"]
    assert _stored_files(app, product["id"]) == []


def test_a_request_far_over_the_limit_is_refused_before_it_is_read(client, app, yanling):
    product = catalogue.create(client, yanling)
    response = _upload(client, yanling, product["id"], b"\xff\xd8\xff" + b"\0" * (7 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    assert _stored_files(app, product["id"]) == []


def test_png_with_transparency_and_webp_are_accepted(client, yanling):
    product = catalogue.create(client, yanling)
    png = _upload(client, yanling, product["id"], catalogue.image_bytes("PNG"), "a.png", "image/png")
    webp = _upload(client, yanling, product["id"], catalogue.image_bytes("WEBP"), "b.webp", "image/webp")
    assert png.status_code == 201 and webp.status_code == 201
    assert webp.json["is_cover"] is False and webp.json["position"] == 1


def test_a_new_photo_on_an_on_sale_product_sends_it_back_to_review(client, yanling):
    product = catalogue.on_sale(client, yanling)
    assert _upload(client, yanling, product["id"], catalogue.image_bytes()).status_code == 201
    listed = client.get(f"/api/v1/stations/{yanling.station.id}/products", headers=yanling.manager_auth).json
    assert listed["items"][0]["status"] == "pending_review"


def test_photos_are_reordered_and_deleted(client, app, yanling):
    product = catalogue.create(client, yanling)
    first = _upload(client, yanling, product["id"], catalogue.image_bytes(color=(255, 0, 0))).json
    second = _upload(client, yanling, product["id"], catalogue.image_bytes(color=(0, 255, 0))).json
    reordered = client.put(
        f"/api/v1/products/{product['id']}/images/order",
        json={"image_ids": [second["id"], first["id"]]},
        headers=yanling.manager_auth,
    )
    assert reordered.status_code == 200
    assert reordered.json["cover_image_url"] == second["thumbnail_url"]
    bad_order = client.put(
        f"/api/v1/products/{product['id']}/images/order",
        json={"image_ids": [second["id"]]},
        headers=yanling.manager_auth,
    )
    assert bad_order.status_code == 422
    deleted = client.delete(f"/api/v1/products/{product['id']}/images/{second['id']}", headers=yanling.manager_auth)
    assert deleted.status_code == 204
    assert len(_stored_files(app, product["id"])) == 2  # only the first photo and its thumbnail remain
    detail = client.get(f"/api/v1/products/{product['id']}", headers=yanling.manager_auth).json
    assert [image["id"] for image in detail["images"]] == [first["id"]]
    assert detail["images"][0]["is_cover"] is True
    assert detail["cover_image_url"] == first["thumbnail_url"]


def test_another_station_cannot_add_photos(client, app, yanling):
    product = catalogue.create(client, yanling)
    other = catalogue.county(YANLING_OTHER_VILLAGE)
    response = _upload(client, other, product["id"], catalogue.image_bytes())
    assert response.status_code == 404
    assert _stored_files(app, product["id"]) == []
