"""Setting units up: who may, credit codes, invites, purchasers, targets, invoice details."""

from datetime import timedelta

import sqlalchemy as sa

from core.extensions import db as _db
from institutions.models import Unit, UnitInvite, UnitMember, UnitTarget
from tests import factories
from tests.institutions.conftest import credit_code, join


def test_office_and_platform_set_units_up_others_cannot(client, units):
    body = {"name": "醴陵市教育局", "credit_code": credit_code("11430281MB1234567"), "kind": "budget_unit"}
    county = factories.auth_header(factories.user(("county_admin", "430225")))
    factories.region("430281", "醴陵市")
    assert client.post("/api/v1/units", json={**body, "region_code": "4302"}).status_code == 401
    assert client.post("/api/v1/units", headers=county, json={**body, "region_code": "4302"}).status_code == 403
    assert (
        client.post("/api/v1/units", headers=units["zhao_header"], json={**body, "region_code": "4302"}).status_code
        == 403
    )
    created = client.post("/api/v1/units", headers=units["office"], json={**body, "region_code": "430281"})
    assert created.status_code == 201, created.json
    assert created.json["credit_code"] == body["credit_code"] and created.json["kind"] == "budget_unit"


def test_a_wrong_check_character_is_refused_and_nothing_is_stored(client, units):
    good = credit_code("11430281MB7654321")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = _db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
    response = client.post(
        "/api/v1/units",
        headers=units["office"],
        json={"name": "某单位", "credit_code": bad, "kind": "budget_unit", "region_code": "4302"},
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert "credit_code" in response.json["error"]["details"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Unit)) == before
    duplicate = client.post(
        "/api/v1/units",
        headers=units["office"],
        json={
            "name": "重复",
            "credit_code": units["hospital"]["credit_code"],
            "kind": "enterprise",
            "region_code": "4302",
        },
    )
    assert duplicate.status_code == 422 and "credit_code" in duplicate.json["error"]["details"]


def test_guessing_invite_codes_slows_down_per_account_and_per_address(client, units):
    def guess(header, n, address="203.0.113.7"):
        body = {"code": f"{n:08d}"}
        return client.post("/api/v1/units/bind", headers=header, json=body, environ_base={"REMOTE_ADDR": address})

    one = factories.auth_header(factories.user(("buyer", None)))
    assert [guess(one, n).status_code for n in range(5)] == [422] * 5
    waiting = guess(one, 5)
    assert waiting.status_code == 429 and waiting.json["error"]["details"]["retry_after_seconds"] > 0
    # A second account from the same address uses up the address's ten; a third then has to wait at once.
    two = factories.auth_header(factories.user(("buyer", None)))
    assert [guess(two, n).status_code for n in range(10, 15)] == [422] * 5
    third = factories.auth_header(factories.user(("buyer", None)))
    assert guess(third, 20).status_code == 429
    # The real purchaser elsewhere is not locked out by the guesser, and the right code works.
    invite = client.post(f"/api/v1/units/{units['hospital']['id']}/invites", headers=units["hospital_admin"], json={})
    real = factories.auth_header(factories.user(("buyer", None)))
    joined = client.post(
        "/api/v1/units/bind",
        headers=real,
        json={"code": invite.json["code"]},
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
    )
    assert joined.status_code == 200


def test_invites_are_single_use_and_expire(client, units):
    invite = client.post(f"/api/v1/units/{units['hospital']['id']}/invites", headers=units["hospital_admin"], json={})
    assert invite.status_code == 201 and invite.json["role"] == "purchaser" and len(invite.json["code"]) == 8
    stored = _db.session.get(UnitInvite, invite.json["id"])
    assert invite.json["code"] not in stored.code_digest  # only the digest is kept
    first = factories.auth_header(factories.user(("buyer", None)))
    second = factories.auth_header(factories.user(("buyer", None)))
    assert client.post("/api/v1/units/bind", headers=first, json={"code": invite.json["code"]}).status_code == 200
    reused = client.post("/api/v1/units/bind", headers=second, json={"code": invite.json["code"]})
    assert reused.status_code == 422
    late = client.post(f"/api/v1/units/{units['hospital']['id']}/invites", headers=units["hospital_admin"], json={})
    record = _db.session.get(UnitInvite, late.json["id"])
    record.expires_at = record.created_at - timedelta(seconds=1)
    _db.session.commit()
    assert client.post("/api/v1/units/bind", headers=second, json={"code": late.json["code"]}).status_code == 422


def test_unit_admin_manages_purchasers_but_not_admins(client, units):
    hospital = units["hospital"]["id"]
    refused = client.post(f"/api/v1/units/{hospital}/invites", headers=units["hospital_admin"], json={"role": "admin"})
    assert refused.status_code == 403
    outsider = client.post(f"/api/v1/units/{hospital}/invites", headers=units["school_admin"], json={})
    assert outsider.status_code == 404
    purchaser_cannot = client.post(f"/api/v1/units/{hospital}/invites", headers=units["zhao_header"], json={})
    assert purchaser_cannot.status_code == 403
    members = client.get(f"/api/v1/units/{hospital}/members", headers=units["hospital_admin"])
    zhao = next(m for m in members.json if m["user_id"] == units["zhao"].id)
    removed = client.post(f"/api/v1/units/{hospital}/members/{zhao['id']}/remove", headers=units["hospital_admin"])
    assert removed.status_code == 200
    assert not _db.session.get(UnitMember, zhao["id"]).is_active
    # A removed purchaser can no longer buy for the unit.
    order = client.post(
        "/api/v1/orders",
        headers=units["zhao_header"],
        json={
            "items": [{"sku_id": units["garlic"].id, "quantity": 1}],
            "address": {"name": "赵", "phone": "13800000000", "region_code": "4302", "detail": "医院后勤科"},
            "buyer_unit_id": hospital,
        },
    )
    assert order.status_code == 422 and "buyer_unit_id" in order.json["error"]["details"]
    # Invited back, she is a member again.
    join(client, units["hospital_admin"], hospital, user=units["zhao"])
    assert _db.session.get(UnitMember, zhao["id"]).is_active


def test_target_is_budget_times_ratio_set_by_the_unit_and_seen_by_the_office(client, units):
    hospital = units["hospital"]["id"]
    body = {"canteen_budget_fen": 123_456_789, "ratio_bps": 1500}
    assert (
        client.put(f"/api/v1/units/{hospital}/targets/2026", headers=units["zhao_header"], json=body).status_code == 403
    )
    saved = client.put(f"/api/v1/units/{hospital}/targets/2026", headers=units["hospital_admin"], json=body)
    assert saved.status_code == 200
    assert saved.json["target_fen"] == 123_456_789 * 1500 // 10000 == 18_518_518
    again = client.put(
        f"/api/v1/units/{hospital}/targets/2026", headers=units["hospital_admin"], json={**body, "ratio_bps": 3000}
    )
    assert again.json["target_fen"] == 37_037_036
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(UnitTarget)) == 1
    seen = client.get(f"/api/v1/units/{hospital}/targets", headers=units["office"])
    assert [t["target_fen"] for t in seen.json] == [37_037_036]
    union = units["union"]["id"]
    no_target = client.put(f"/api/v1/units/{union}/targets/2026", headers=units["union_admin"], json=body)
    assert no_target.status_code == 422
    bad = client.put(f"/api/v1/units/{hospital}/targets/2026", headers=units["hospital_admin"], json={"ratio_bps": 0})
    assert bad.status_code == 422 and set(bad.json["error"]["details"]) == {"canteen_budget_fen", "ratio_bps"}


def test_invoice_info_is_stored_and_checked(client, units):
    hospital = units["hospital"]["id"]
    info = {
        "title": "株洲市中心医院",
        "tax_id": units["hospital"]["credit_code"],
        "address": "株洲市芦淞区",
        "phone": "0731-12345678",
        "bank_name": "中国工商银行株洲分行",
        "bank_account": "1903 0000 0000 0000 000",
    }
    saved = client.put(f"/api/v1/units/{hospital}/invoice-info", headers=units["hospital_admin"], json=info)
    assert saved.status_code == 200
    shown = client.get(f"/api/v1/units/{hospital}", headers=units["office"])
    assert shown.json["invoice_info"]["tax_id"] == info["tax_id"]
    wrong = client.put(
        f"/api/v1/units/{hospital}/invoice-info",
        headers=units["hospital_admin"],
        json={**info, "tax_id": info["tax_id"][:17] + ("0" if info["tax_id"][17] != "0" else "1")},
    )
    assert wrong.status_code == 422 and "tax_id" in wrong.json["error"]["details"]


def test_units_are_listed_by_region_and_hidden_from_outsiders(client, units):
    mine = client.get("/api/v1/units", headers=units["zhao_header"])
    assert {u["id"] for u in mine.json["items"]} == {units["hospital"]["id"], units["union"]["id"]}
    everyone = client.get("/api/v1/units", headers=units["office"])
    assert everyone.json["total"] == 4
    other_city = factories.auth_header(factories.user(("poverty_office", "4301")))
    assert client.get("/api/v1/units", headers=other_city).json["total"] == 0
    assert client.get(f"/api/v1/units/{units['hospital']['id']}", headers=other_city).status_code == 404
    assert client.get(f"/api/v1/units/{units['school']['id']}", headers=units["zhao_header"]).status_code == 404
    union = client.get(f"/api/v1/units/{units['union']['id']}", headers=units["office"])
    assert union.json["parent_id"] == units["hospital"]["id"]


def test_every_unit_endpoint_is_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    expected = {
        "/api/v1/units": {"get", "post"},
        "/api/v1/units/{unit_id}": {"get", "patch"},
        "/api/v1/units/{unit_id}/invites": {"post"},
        "/api/v1/units/bind": {"post"},
        "/api/v1/units/{unit_id}/members": {"get"},
        "/api/v1/units/{unit_id}/members/{member_id}/remove": {"post"},
        "/api/v1/units/{unit_id}/targets/{year}": {"put"},
        "/api/v1/units/{unit_id}/targets": {"get"},
        "/api/v1/units/{unit_id}/invoice-info": {"put"},
        "/api/v1/units/{unit_id}/recipient-lists": {"post"},
        "/api/v1/units/{unit_id}/statement": {"get"},
        "/api/v1/units/{unit_id}/purchases/export": {"get"},
        "/api/v1/unit-orders/{order_id}": {"get"},
        "/api/v1/orders/{order_id}/settlement-statement": {"get"},
        "/api/v1/orders/{order_id}/deliveries": {"get"},
        "/api/v1/orders/{order_id}/deliveries/labels": {"get"},
        "/api/v1/orders/{order_id}/deliveries/shipments": {"post"},
        "/api/v1/orders/{order_id}/deliveries/receipts": {"post"},
        "/api/v1/bank-transfers": {"get", "post"},
        "/api/v1/bank-transfers/{transfer_id}/return": {"post"},
        "/api/v1/bank-transfers/refunds": {"get"},
        "/api/v1/bank-transfers/refunds/{refund_id}/sent": {"post"},
        "/api/v1/reports/units": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    order_fields = client.get("/api/v1/openapi.json").json["components"]["schemas"]["OrderArgs"]["properties"]
    assert {"buyer_unit_id", "purpose", "payment_method", "recipients", "recipient_list_id"} <= set(order_fields)


def test_refusals_name_the_office_from_configuration(client, units, app, monkeypatch):
    monkeypatch.setitem(app.config, "OFFICE_NAME", "株洲市乡村振兴局")
    hospital = units["hospital"]["id"]
    invite = client.post(f"/api/v1/units/{hospital}/invites", headers=units["hospital_admin"], json={"role": "admin"})
    assert invite.status_code == 403 and "株洲市乡村振兴局" in invite.json["error"]["message"]
    members = client.get(f"/api/v1/units/{hospital}/members", headers=units["hospital_admin"]).json
    admin = next(m for m in members if m["role"] == "admin")
    removed = client.post(f"/api/v1/units/{hospital}/members/{admin['id']}/remove", headers=units["hospital_admin"])
    assert removed.status_code == 403 and "株洲市乡村振兴局" in removed.json["error"]["message"]
