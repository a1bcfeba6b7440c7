"""Stored files follow the database transaction; keys cannot escape the upload directory."""

import pytest

from core.extensions import db as _db
from shop.storage import LocalStorage, delete_after_commit, save_in_transaction, storage


def test_a_file_written_in_a_rolled_back_transaction_is_removed(app, db, upload_dir):
    save_in_transaction("products/1/a.jpg", b"jpeg bytes", "image/jpeg")
    assert (upload_dir / "products/1/a.jpg").read_bytes() == b"jpeg bytes"
    _db.session.rollback()
    assert not (upload_dir / "products/1/a.jpg").exists()


def test_a_file_written_in_a_committed_transaction_stays(app, db, upload_dir):
    save_in_transaction("products/1/b.jpg", b"jpeg bytes", "image/jpeg")
    _db.session.commit()
    _db.session.rollback()  # a later rollback does not reach back
    assert (upload_dir / "products/1/b.jpg").exists()


def test_a_deletion_waits_for_the_commit(app, db, upload_dir):
    storage().save("products/1/c.jpg", b"old", "image/jpeg")
    delete_after_commit("products/1/c.jpg")
    _db.session.rollback()
    assert (upload_dir / "products/1/c.jpg").exists()  # the change was abandoned: the file stays
    delete_after_commit("products/1/c.jpg")
    _db.session.commit()
    assert not (upload_dir / "products/1/c.jpg").exists()


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x.jpg", "products/../../x.jpg", "products//x.jpg", "./x"])
def test_keys_stay_inside_the_directory(tmp_path, key):
    local = LocalStorage(tmp_path, "http://example.test/media/")
    with pytest.raises(ValueError):
        local.save(key, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        local.url(key)
