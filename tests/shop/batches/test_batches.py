"""Recording batches with their 合格证: validation, scope, corrections, immutability, revocation, test reports."""

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from core.clock import beijing_today
from core.extensions import db as _db
from shop.batches.models import Batch, Certificate
from tests import factories
from tests.shop.batches.conftest import batch_body, certificate_body, record

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_station_records_a_batch_with_its_certificate(client, traced):
    batch = record(client, traced, quantity=30)
    assert re.fullmatch(r"[23456789A-HJ-NP-Z]{10}", batch["trace_code"])
    assert batch["trace_url"].endswith(f"/t/{batch['trace_code']}")
    assert (batch["quantity"], batch["remaining_quantity"], batch["unit"], batch["status"]) == (30, 30, "箱", "open")
    certificate = batch["certificate"]
    assert certificate["product_name"] == "炎陵黄桃" and certificate["quantity_text"] == "30 箱"
    assert certificate["producer_name"] == "李秀英" and certificate["producer_contact"] == "138****5678"
    assert certificate["origin"].startswith("湖南省") and certificate["basis_text"] == "质量控制"
    assert certificate["no"].startswith("HG430225") and certificate["supersedes_id"] is None
    assert certificate["commitments_text"][0] == "不使用禁用农药兽药、停用兽药"
    stored = _db.session.get(Certificate, certificate["id"])
    raw = _db.session.execute(
        sa.text("SELECT producer_contact FROM batch_certificates WHERE id = :i"), {"i": stored.id}
    )
    assert "13812345678" not in raw.scalar()  # encrypted at rest
    listed = client.get(f"/api/v1/batches?product_id={traced['peaches'].id}", headers=traced["yanling_admin"]).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == batch["id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"harvested_on": "2026-13-01"}, "harvested_on"),
        ({"certificate": certificate_body(commitments=["residues_within_limits"])}, "certificate"),
        ({"certificate": certificate_body(basis="own_testing")}, "certificate"),
        ({"certificate": certificate_body(producer_contact="12")}, "certificate"),
        ({"certificate": certificate_body(commitments=["made_up"])}, "certificate"),
    ],
)
def test_bad_batches_are_422_and_record_nothing(client, traced, change, field):
    body = {**batch_body(traced["peaches"].id), **change}
    response = client.post("/api/v1/batches", headers=traced["peach_manager"], json=body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error" and field in response.json["error"]["details"]
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 0


def test_harvest_in_the_future_and_issue_before_harvest_are_refused(client, traced):
    future = batch_body(traced["peaches"].id, beijing_today() + timedelta(days=1))
    assert client.post("/api/v1/batches", headers=traced["peach_manager"], json=future).status_code == 422
    early = batch_body(traced["peaches"].id, date(2026, 7, 10), issued_on="2026-07-01")
    response = client.post("/api/v1/batches", headers=traced["peach_manager"], json=early)
    assert response.status_code == 422 and "certificate" in response.json["error"]["details"]


def test_only_the_products_station_or_its_county_records_batches(client, traced):
    body = batch_body(traced["peaches"].id)
    assert client.post("/api/v1/batches", json=body).status_code == 401
    assert client.post("/api/v1/batches", headers=traced["garlic_manager"], json=body).status_code == 403
    assert client.post("/api/v1/batches", headers=traced["chaling_admin"], json=body).status_code == 403
    assert client.post("/api/v1/batches", headers=traced["yanling_admin"], json=body).status_code == 201
    batch_id = _db.session.scalar(sa.select(Batch.id))
    assert client.get(f"/api/v1/batches/{batch_id}", headers=traced["garlic_manager"]).status_code == 404
    assert client.get("/api/v1/batches", headers=traced["garlic_manager"]).json["total"] == 0


def test_a_cooperative_batch_lists_member_households(client, traced):
    member = factories.seller(
        traced["peach_station"], name="王小红", household_category="monitored", household_no="4302250009"
    )
    stranger = factories.seller(traced["garlic_station"])
    body = batch_body(traced["peaches"].id)
    body["producer"] = {"kind": "cooperative", "cooperative_name": "霞阳黄桃专业合作社", "member_ids": [stranger.id]}
    assert client.post("/api/v1/batches", headers=traced["peach_manager"], json=body).status_code == 422
    body["producer"]["member_ids"] = [member.id, traced["seller"].id]
    created = client.post("/api/v1/batches", headers=traced["peach_manager"], json=body)
    assert created.status_code == 201, created.json
    assert created.json["certificate"]["producer_name"] == "霞阳黄桃专业合作社"
    assert {m["household_category"] for m in created.json["members"]} == {"tuopin", "monitored"}


def test_a_correction_supersedes_and_the_old_certificate_stays(client, traced):
    batch = record(client, traced)
    first = batch["certificate"]
    body = certificate_body(quantity_text="30 箱（约 300 斤）")
    assert (
        client.post(
            f"/api/v1/batches/{batch['id']}/certificates", headers=traced["peach_manager"], json=body
        ).status_code
        == 422
    )  # a correction needs its reason
    body["correction_reason"] = "数量填写有误"
    corrected = client.post(f"/api/v1/batches/{batch['id']}/certificates", headers=traced["peach_manager"], json=body)
    assert corrected.status_code == 201, corrected.json
    assert corrected.json["certificate"]["supersedes_id"] == first["id"]
    assert corrected.json["certificate"]["quantity_text"] == "30 箱（约 300 斤）"
    assert [c["id"] for c in corrected.json["certificates"]] == [first["id"], corrected.json["certificate"]["id"]]
    old = _db.session.get(Certificate, first["id"])
    _db.session.refresh(old)
    assert (old.quantity_text, old.no) == ("20 箱", first["no"])


def test_issued_certificates_cannot_be_changed_or_deleted_within_two_years(client, traced):
    batch = record(client, traced)
    certificate_id = batch["certificate"]["id"]
    for statement in (
        "UPDATE batch_certificates SET quantity_text = '99 箱' WHERE id = :i",
        "DELETE FROM batch_certificates WHERE id = :i",
    ):
        with pytest.raises(sa.exc.DatabaseError), _db.session.begin_nested():
            _db.session.execute(sa.text(statement), {"i": certificate_id})
    assert (
        _db.session.scalar(sa.text("SELECT quantity_text FROM batch_certificates WHERE id = :i"), {"i": certificate_id})
        == "20 箱"
    )
    # One issued three years ago may go (the retention period is over); it still may not change.
    old = Certificate(
        batch_id=batch["id"],
        no="HGOLD",
        product_name="炎陵黄桃",
        quantity_text="1 箱",
        producer_name="李秀英",
        producer_contact="13812345678",
        origin="湖南省",
        issued_on=beijing_today().replace(year=beijing_today().year - 3),
        commitments=["no_banned_substances"],
        basis="quality_control",
        supersedes_id=certificate_id,
        correction_reason="测试",
        issued_by_id=batch["certificate"]["issued_by_id"],
    )
    _db.session.add(old)
    _db.session.flush()
    with pytest.raises(sa.exc.DatabaseError), _db.session.begin_nested():
        _db.session.execute(sa.text("UPDATE batch_certificates SET no = 'X' WHERE id = :i"), {"i": old.id})
    _db.session.execute(sa.text("DELETE FROM batch_certificates WHERE id = :i"), {"i": old.id})
    assert _db.session.scalar(sa.text("SELECT count(*) FROM batch_certificates WHERE id = :i"), {"i": old.id}) == 0


def test_the_county_revokes_and_the_station_closes(client, traced):
    batch = record(client, traced)
    url = f"/api/v1/batches/{batch['id']}"
    assert (
        client.post(f"{url}/revoke", headers=traced["peach_manager"], json={"reason": "抽检不合格"}).status_code == 403
    )
    assert (
        client.post(f"{url}/revoke", headers=traced["chaling_admin"], json={"reason": "抽检不合格"}).status_code == 404
    )
    revoked = client.post(f"{url}/revoke", headers=traced["yanling_admin"], json={"reason": "抽检不合格"})
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    assert revoked.json["revoked_reason"] == "抽检不合格"
    assert client.post(f"{url}/revoke", headers=traced["yanling_admin"], json={"reason": "再次"}).status_code == 409
    assert client.get(f"{url}/labels.pdf", headers=traced["peach_manager"]).status_code == 409
    body = {**certificate_body(), "correction_reason": "更正"}
    assert client.post(f"{url}/certificates", headers=traced["peach_manager"], json=body).status_code == 409
    other = record(client, traced)
    closed = client.post(f"/api/v1/batches/{other['id']}/close", headers=traced["peach_manager"])
    assert closed.status_code == 200 and closed.json["status"] == "closed" and closed.json["closed_at"]
    assert client.post(f"/api/v1/batches/{other['id']}/close", headers=traced["peach_manager"]).status_code == 409


def test_a_certificate_on_testing_cites_an_uploaded_report(client, traced):
    station_id = traced["peach_station"].id
    url = f"/api/v1/test-reports?station_id={station_id}"
    bad = client.post(url, headers=traced["peach_manager"], data={"file": (io.BytesIO(b"hello"), "r.txt")})
    assert bad.status_code == 422
    other = client.post(url, headers=traced["garlic_manager"], data={"file": (io.BytesIO(PDF), "r.pdf")})
    assert other.status_code == 404  # another station: not revealed
    uploaded = client.post(url, headers=traced["peach_manager"], data={"file": (io.BytesIO(PDF), "检测报告.pdf")})
    assert uploaded.status_code == 201, uploaded.json
    report = uploaded.json
    assert (report["content_type"], report["byte_size"], report["filename"]) == (
        "application/pdf",
        len(PDF),
        "检测报告.pdf",
    )
    batch = record(client, traced, basis="commissioned_testing", test_report_id=report["id"])
    assert batch["certificate"]["test_report"]["id"] == report["id"]
    assert batch["certificate"]["basis_text"] == "委托检测"
    with client.get(f"/api/v1/test-reports/{report['id']}", headers=traced["yanling_admin"]) as download:
        assert download.status_code == 200 and download.data == PDF
    assert client.get(f"/api/v1/test-reports/{report['id']}", headers=traced["garlic_manager"]).status_code == 404
    garlic_report = client.post(
        f"/api/v1/test-reports?station_id={traced['garlic_station'].id}",
        headers=traced["garlic_manager"],
        data={"file": (io.BytesIO(PDF), "r.pdf")},
    ).json
    body = batch_body(traced["peaches"].id, basis="own_testing", test_report_id=garlic_report["id"])
    assert client.post("/api/v1/batches", headers=traced["peach_manager"], json=body).status_code == 422
