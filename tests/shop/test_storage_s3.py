"""The S3-compatible storage backend, against moto's S3 server on loopback (what MinIO, OSS or COS would be)."""

import io

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from core.config import Config
from core.extensions import db as _db
from shop.storage import S3Storage, save_in_transaction, storage
from tests import catalogue
from tests.ports import free_port
from tests.shop.test_catalogue_images import _upload

BUCKET = "zz-media"
PUBLIC = "https://media.example.test/zz-media/"


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 in server mode: real HTTP, the real boto3 client, signatures and all."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_app(app, s3_server, monkeypatch):
    """The app storing files in a fresh bucket of the emulator."""
    settings = {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": s3_server,
        "S3_BUCKET": BUCKET,
        "S3_REGION": "cn-south-1",
        "S3_ACCESS_KEY_ID": "test-access-key",
        "S3_SECRET_ACCESS_KEY": "test-secret-key",
        "S3_PUBLIC_BASE_URL": PUBLIC,
        "S3_ADDRESSING_STYLE": "path",
    }
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    client = _client(s3_server)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "cn-south-1"})
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="cn-south-1",
        aws_access_key_id="test-access-key",
        aws_secret_access_key="test-secret-key",
    )


def _keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_the_s3_backend_stores_reads_and_deletes_objects(app, db, s3_app):
    store = storage()
    assert isinstance(store, S3Storage)
    assert not store.exists("exports/a.csv")
    store.save("exports/a.csv", "村,金额\n".encode(), "text/csv; charset=utf-8")
    assert store.exists("exports/a.csv")
    assert store.load("exports/a.csv") == "村,金额\n".encode()
    head = s3_app.head_object(Bucket=BUCKET, Key="exports/a.csv")
    assert head["ContentType"] == "text/csv; charset=utf-8"
    assert "immutable" in head["CacheControl"]
    assert store.url("exports/a.csv") == PUBLIC + "exports/a.csv"
    store.delete("exports/a.csv")
    assert not store.exists("exports/a.csv") and store.load("exports/a.csv") is None
    with pytest.raises(ValueError):
        store.save("../escape.jpg", b"x", "image/jpeg")


def test_an_object_written_in_a_rolled_back_transaction_is_removed_from_the_bucket(app, db, s3_app):
    save_in_transaction("products/9/a.jpg", b"jpeg bytes", "image/jpeg")
    assert _keys(s3_app) == ["products/9/a.jpg"]
    _db.session.rollback()
    assert _keys(s3_app) == []


def test_a_product_photo_goes_to_the_bucket_and_is_served_from_it(client, app, s3_app, upload_dir):
    place = catalogue.county()
    product = catalogue.create(client, place)
    response = _upload(client, place, product["id"], catalogue.image_bytes())
    assert response.status_code == 201, response.json
    body = response.json
    assert body["url"].startswith(PUBLIC + f"products/{product['id']}/")
    assert body["thumbnail_url"].startswith(PUBLIC)
    key = body["url"].removeprefix(PUBLIC)
    assert key in _keys(s3_app) and len(_keys(s3_app)) == 2  # the photo and its thumbnail
    assert not upload_dir.exists()  # nothing on the local disk
    stored = s3_app.get_object(Bucket=BUCKET, Key=key)
    assert stored["ContentType"] == "image/jpeg"
    assert Image.open(io.BytesIO(stored["Body"].read())).size == (640, 480)
    with client.get(f"/media/{key}") as served:  # /media/ streams from the bucket too
        assert served.status_code == 200
        assert served.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(served.data)).size == (640, 480)
    assert client.get("/media/products/1/missing.jpg").status_code == 404
    deleted = client.delete(f"/api/v1/products/{product['id']}/images/{body['id']}", headers=place.manager_auth)
    assert deleted.status_code in (200, 204), deleted.data
    assert _keys(s3_app) == []  # removed once the deletion committed


def test_the_s3_backend_without_its_settings_is_refused_at_startup(monkeypatch):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", "zz-media")
    for name in ("S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError) as refused:
        Config().validate()
    assert "STORAGE_BACKEND=s3 needs S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_PUBLIC_BASE_URL" in str(
        refused.value
    )
    monkeypatch.setenv("STORAGE_BACKEND", "ftp")
    with pytest.raises(RuntimeError, match="STORAGE_BACKEND must be local or s3"):
        Config().validate()
