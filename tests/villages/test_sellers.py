"""Sellers: registration, masking, encryption at rest, audited reveal, binding, own page."""

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.db import utcnow
from core.extensions import db as _db
from core.pii import PiiKeyError
from tests import factories
from villages.models import PiiAccess, Seller

VILLAGE = "430225100201"
OTHER_VILLAGE = "430224100201"
PHONE = "13812345678"
ID_CARD = "11010519491231002X"


@pytest.fixture
def people(db):
    station = factories.station(VILLAGE)
    other = factories.station(OTHER_VILLAGE)
    return {
        "station": station,
        "other_station": other,
        "manager": factories.auth_header(factories.user(("station_manager", VILLAGE, station.id))),
        "other_manager": factories.auth_header(factories.user(("station_manager", OTHER_VILLAGE, other.id))),
        "county": factories.auth_header(factories.user(("county_admin", "430225"))),
        "other_county": factories.auth_header(factories.user(("county_admin", "430224"))),
        "office": factories.auth_header(factories.user(("poverty_office", "4302"))),
    }


def _register(client, people, **overrides):
    body = {
        "name": "李秀英",
        "phone": PHONE,
        "id_card_no": ID_CARD,
        "poor_household": True,
        "household_no": "4302250017",
        "payout_alipay_account": "lixiuying@example.com",
        **overrides,
    }
    return client.post(f"/api/v1/stations/{people['station'].id}/sellers", headers=people["manager"], json=body)


def _wechat_user():
    account = factories.user(("buyer", None), wechat_openid=f"openid-{utcnow().timestamp()}")
    return account, factories.auth_header(account)


def test_registration_masks_personal_data_and_hands_out_a_bind_code(client, people):
    response = _register(client, people)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["phone"] == "138****5678"
    assert body["id_card_no"] == "1101**********002X"
    assert body["payout_alipay_account"] == "l***@example.com"
    assert PHONE not in response.get_data(as_text=True)
    assert len(body["bind_code"]) == 6 and body["bind_code"].isdigit()
    assert body["bound"] is False


def test_raw_rows_hold_no_personal_data_in_plaintext(client, people):
    seller_id = _register(client, people).json["id"]
    for fragment in ("5678", "13812345678", "002X", "4302250017", "lixiuying"):
        hits = _db.session.execute(
            sa.text(
                "SELECT count(*) FROM sellers WHERE id = :id AND (phone LIKE :p OR id_card_no LIKE :p"
                " OR household_no LIKE :p OR payout_alipay_account LIKE :p OR phone_digest LIKE :p)"
            ),
            {"id": seller_id, "p": f"%{fragment}%"},
        ).scalar()
        assert hits == 0, fragment
    raw = _db.session.execute(sa.text("SELECT phone FROM sellers WHERE id = :id"), {"id": seller_id}).scalar()
    assert raw.startswith("sm4gcm:")


def test_decryption_with_the_wrong_key_fails_loudly(app, client, people, monkeypatch):
    seller_id = _register(client, people).json["id"]
    _db.session.expunge_all()
    monkeypatch.setitem(app.config, "PII_KEY", base64.b64encode(b"W" * 32).decode())
    monkeypatch.delitem(app.extensions, "pii_keyring", raising=False)
    with pytest.raises(PiiKeyError):
        _db.session.get(Seller, seller_id)
    app.extensions.pop("pii_keyring", None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"id_card_no": "110105194912310021"}, "id_card_no"),
        ({"name": ""}, "name"),
        ({"poor_household": True, "household_no": None}, "household_no"),
    ],
)
def test_bad_seller_input_is_422_and_stores_nothing(client, people, overrides, field):
    response = _register(client, people, **overrides)
    assert response.status_code == 422
    assert field in response.json["error"]["details"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Seller)) == 0


def test_the_same_phone_twice_at_one_station_is_refused(client, people):
    assert _register(client, people).status_code == 201
    again = _register(client, people, id_card_no=None)
    assert again.status_code == 422 and "phone" in again.json["error"]["details"]


def test_only_the_sellers_station_or_county_registers(client, people):
    url = f"/api/v1/stations/{people['station'].id}/sellers"
    body = {"name": "王五", "phone": "13912345678"}
    assert client.post(url, headers=people["other_manager"], json=body).status_code == 404
    assert client.post(url, headers=people["other_county"], json=body).status_code == 404
    assert client.post(url, headers=people["office"], json=body).status_code == 403
    assert client.post(url, headers=people["county"], json=body).status_code == 201


def test_suspended_stations_cannot_register_sellers(client, people):
    people["station"].status = "suspended"
    _db.session.commit()
    assert _register(client, people).status_code == 409


def test_seller_reads_are_scoped_and_masked(client, people):
    seller_id = _register(client, people).json["id"]
    assert client.get(f"/api/v1/sellers/{seller_id}", headers=people["other_manager"]).status_code == 404
    assert client.get(f"/api/v1/sellers/{seller_id}", headers=people["other_county"]).status_code == 404
    body = client.get(f"/api/v1/sellers/{seller_id}", headers=people["office"]).json
    assert body["phone"] == "138****5678"
    listed = client.get("/api/v1/sellers", headers=people["other_manager"]).json
    assert listed["total"] == 0


def test_find_a_seller_by_phone_through_the_digest(client, people):
    seller_id = _register(client, people).json["id"]
    found = client.post("/api/v1/sellers/search", headers=people["county"], json={"phone": PHONE}).json
    assert [s["id"] for s in found["items"]] == [seller_id]
    none = client.post("/api/v1/sellers/search", headers=people["county"], json={"phone": "13900000000"}).json
    assert none["total"] == 0


def test_full_personal_data_only_through_the_audited_endpoint(client, people):
    seller_id = _register(client, people).json["id"]
    url = f"/api/v1/sellers/{seller_id}/personal-data"
    assert client.post(url, headers=people["office"], json={}).status_code == 403
    assert client.post(url, headers=people["other_county"], json={}).status_code == 404
    response = client.post(url, headers=people["manager"], json={"reason": "核对收款账号"})
    assert response.status_code == 200
    assert response.json["phone"] == PHONE and response.json["id_card_no"] == ID_CARD
    log = _db.session.scalars(sa.select(PiiAccess)).all()
    assert len(log) == 1 and log[0].subject_id == seller_id and log[0].reason == "核对收款账号"


def test_bind_code_binds_once_and_grants_the_seller_role(client, people):
    code = _register(client, people).json["bind_code"]
    _, header = _wechat_user()
    response = client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": code})
    assert response.status_code == 200, response.json
    assert response.json["bound"] is True
    me = client.get("/api/v1/me", headers=header).json
    assert "seller" in me["roles"]
    _, other = _wechat_user()
    reuse = client.post("/api/v1/sellers/bind", headers=other, json={"bind_code": code})
    assert reuse.status_code == 422 and reuse.json["error"]["code"] == "validation_error"


def test_expired_and_wrong_bind_codes_are_refused(client, people):
    seller_id = _register(client, people).json["id"]
    code = client.post(f"/api/v1/sellers/{seller_id}/bind-code", headers=people["manager"]).json["bind_code"]
    seller = _db.session.get(Seller, seller_id)
    seller.bind_code_expires_at = utcnow() - timedelta(seconds=1)
    _db.session.commit()
    _, header = _wechat_user()
    assert client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": code}).status_code == 422
    malformed = client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": "12ab"})
    assert malformed.status_code == 422


def test_reissued_bind_code_replaces_the_old_one(client, people):
    registered = _register(client, people).json
    fresh = client.post(f"/api/v1/sellers/{registered['id']}/bind-code", headers=people["manager"]).json
    _, header = _wechat_user()
    old = client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": registered["bind_code"]})
    if registered["bind_code"] != fresh["bind_code"]:
        assert old.status_code == 422
    assert (
        client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": fresh["bind_code"]}).status_code == 200
    )


def test_guessing_bind_codes_is_rate_limited(client, people):
    _, header = _wechat_user()
    statuses = [
        client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": f"{n:06d}"}).status_code
        for n in range(6)
    ]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


def test_staff_accounts_cannot_bind(client, people):
    code = _register(client, people).json["bind_code"]
    response = client.post("/api/v1/sellers/bind", headers=people["county"], json={"bind_code": code})
    assert response.status_code == 422


def test_sellers_me_shows_the_own_profile(client, people):
    code = _register(client, people).json["bind_code"]
    _, header = _wechat_user()
    assert client.get("/api/v1/sellers/me", headers=header).status_code == 404
    client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": code})
    body = client.get("/api/v1/sellers/me", headers=header).json
    assert body["seller"]["name"] == "李秀英"
    assert body["seller"]["phone"] == "138****5678"
    assert body["station"]["id"] == people["station"].id
    assert body["balances"] == {"pending_fen": 0, "available_fen": 0, "paid_out_fen": 0}


def test_patch_seller_updates_digest_and_masks(client, people):
    seller_id = _register(client, people).json["id"]
    response = client.patch(f"/api/v1/sellers/{seller_id}", headers=people["manager"], json={"phone": "13700001111"})
    assert response.status_code == 200 and response.json["phone"] == "137****1111"
    found = client.post("/api/v1/sellers/search", headers=people["county"], json={"phone": "13700001111"}).json
    assert found["total"] == 1


def test_rotate_key_re_encrypts_and_keeps_lookups_working(app, client, people, monkeypatch):
    seller_id = _register(client, people).json["id"]
    old_key = app.config["PII_KEY"]
    new_key = base64.b64encode(b"N" * 32).decode()
    monkeypatch.setitem(app.config, "PII_KEY", new_key)
    monkeypatch.setitem(app.config, "PII_PREVIOUS_KEYS", old_key)
    app.extensions.pop("pii_keyring", None)
    try:
        result = app.test_cli_runner().invoke(args=["pii", "rotate-key"])
        assert result.exit_code == 0, result.output
        assert "sellers: 1 rows" in result.output
        raw = _db.session.execute(sa.text("SELECT phone FROM sellers WHERE id = :id"), {"id": seller_id}).scalar()
        from core.pii import PiiKeyring

        new_ring = PiiKeyring(new_key)
        assert raw.split(":")[1] == new_ring.current.key_id
        assert new_ring.decrypt(raw, "seller.phone") == PHONE
        found = client.post("/api/v1/sellers/search", headers=people["county"], json={"phone": PHONE}).json
        assert found["total"] == 1
    finally:
        app.extensions.pop("pii_keyring", None)


def test_a_refreshed_token_does_not_reset_bind_guesses(client, db):
    factories.user(("buyer", None), username="guesser", password="peaches-2026", wechat_openid="openid-guesser")
    tokens = client.post("/api/v1/auth/login", json={"username": "guesser", "password": "peaches-2026"}).json
    header = {"Authorization": f"Bearer {tokens['token']}"}
    for n in range(5):
        assert client.post("/api/v1/sellers/bind", headers=header, json={"bind_code": f"{n:06d}"}).status_code == 422
    fresh = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json["token"]
    again = client.post(
        "/api/v1/sellers/bind", headers={"Authorization": f"Bearer {fresh}"}, json={"bind_code": "000009"}
    )
    assert again.status_code == 429


def test_only_the_county_changes_where_a_sellers_money_goes(client, db):
    station = factories.station("430225100201")
    seller = factories.seller(station)
    manager = factories.auth_header(factories.user(("station_manager", "430225100201", station.id)))
    county = factories.auth_header(factories.user(("county_admin", "430225")))
    change = {"payout_alipay_account": "13700000000"}
    assert client.patch(f"/api/v1/sellers/{seller.id}", headers=manager, json=change).status_code == 403
    assert client.patch(f"/api/v1/sellers/{seller.id}", headers=manager, json={"name": "李秀英"}).status_code == 200
    assert client.patch(f"/api/v1/sellers/{seller.id}", headers=county, json=change).status_code == 200
    log = _db.session.scalars(sa.select(PiiAccess).where(PiiAccess.subject_id == seller.id)).all()
    assert [(entry.fields, entry.reason) for entry in log] == [("payout_alipay_account", "changed")]
