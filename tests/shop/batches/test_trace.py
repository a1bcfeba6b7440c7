"""The public trace answer and page: API.md's shape, scans counted, names only with consent, 404s."""

import sqlalchemy as sa

from core.extensions import db as _db
from shop.batches.models import Batch
from tests import factories
from tests.shop.batches.conftest import batch_body, record


def test_the_trace_json_has_the_contracts_shape_and_counts_scans(client, traced):
    batch = record(client, traced, quantity=25)
    certificate = batch["certificate"]
    first = client.get(f"/api/v1/trace/{batch['trace_code']}")
    assert first.status_code == 200
    body = first.json
    assert body["code"] == batch["trace_code"]
    assert body["product"] == {"id": traced["peaches"].id, "title": "炎陵黄桃"}
    assert body["village"]["code"] == traced["village"] and body["village"]["name"]
    assert body["township"]["code"] == traced["village"][:9]
    assert body["station"] == {"id": traced["peach_station"].id, "name": traced["peach_station"].name}
    assert body["batch"]["harvested_on"] == batch["harvested_on"]
    assert (body["batch"]["quantity"], body["batch"]["unit"], body["batch"]["status"]) == (25, "箱", "open")
    trace_certificate = body["batch"]["certificate"]
    assert trace_certificate["no"] == certificate["no"] and trace_certificate["issued_on"] == certificate["issued_on"]
    assert trace_certificate["producer"] == "李**"
    assert trace_certificate["commitments"] == certificate["commitments"]
    assert trace_certificate["basis"] == "quality_control"
    assert body["poverty_certified"] is False
    # The ledger's split: centre 300 bps, station 500 bps, the household the rest.
    assert body["beneficiary"] == {
        "category": "tuopin",
        "category_text": "脱贫户",
        "name_masked": "李**",
        "share_bps": 10000 - 300 - 500,
    }
    assert body["scans"] == 1
    assert client.get(f"/api/v1/trace/{batch['trace_code'].lower()}").json["scans"] == 2
    assert _db.session.scalar(sa.select(Batch.scan_count).where(Batch.id == batch["id"])) == 2
    assert "13812345678" not in first.get_data(as_text=True)


def test_no_consent_no_name(client, traced):
    traced["seller"].show_name_on_trace = False
    _db.session.commit()
    batch = record(client, traced)
    body = client.get(f"/api/v1/trace/{batch['trace_code']}").json
    assert body["beneficiary"]["name_masked"] is None and body["batch"]["certificate"]["producer"] is None
    assert body["beneficiary"]["category"] == "tuopin"
    page = client.get(f"/t/{batch['trace_code']}").get_data(as_text=True)
    assert "李" not in page and "一户脱贫户" in page


def test_monitored_and_ordinary_households_and_cooperatives(client, traced):
    traced["seller"].household_category = "monitored"
    _db.session.commit()
    batch = record(client, traced)
    assert client.get(f"/api/v1/trace/{batch['trace_code']}").json["beneficiary"]["category"] == "monitored"
    member = factories.seller(traced["peach_station"], name="张大山", show_name_on_trace=False)
    body = batch_body(traced["peaches"].id)
    body["producer"] = {"kind": "cooperative", "cooperative_name": "霞阳黄桃专业合作社", "member_ids": [member.id]}
    code = client.post("/api/v1/batches", headers=traced["peach_manager"], json=body).json["trace_code"]
    answer = client.get(f"/api/v1/trace/{code}").json
    assert answer["batch"]["certificate"]["producer"] == "霞阳黄桃专业合作社"
    assert answer["cooperative"] == {
        "name": "霞阳黄桃专业合作社",
        "members": [{"category": "ordinary", "category_text": "一般农户", "name_masked": None}],
    }


def test_unknown_codes_are_404_and_count_nothing(client, traced):
    for code in ("ABCDEFGH23", "short", "%00", "a" * 40):
        response = client.get(f"/api/v1/trace/{code}")
        assert response.status_code == 404
        assert response.json["error"]["code"] == "not_found"
    page = client.get("/t/ABCDEFGH23")
    assert page.status_code == 404 and "未找到该溯源码" in page.get_data(as_text=True)


def test_the_trace_page_shows_origin_certificate_and_benefit(client, traced):
    certified = client.post(
        f"/api/v1/products/{traced['peaches'].id}/certification",
        headers=traced["yanling_admin"],
        json={"certificate_no": "YL-2026-08"},
    )
    assert certified.status_code == 200, certified.json  # a 脱贫户's product may be certified
    batch = record(client, traced)
    response = client.get(f"/t/{batch['trace_code']}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for expected in (
        "炎陵黄桃",
        traced["peach_station"].name,
        batch["certificate"]["no"],
        "不使用禁用农药兽药、停用兽药",
        "质量控制",
        "李**家（脱贫户）",
        "92.0%",
        "扶贫产品",
        "已被查询 1 次",
        "消费帮扶",
    ):
        assert expected in html, expected
    assert "<script" not in html
    client.post(f"/api/v1/batches/{batch['id']}/revoke", headers=traced["yanling_admin"], json={"reason": "抽检不合格"})
    assert "已被县级主管部门撤销" in client.get(f"/t/{batch['trace_code']}").get_data(as_text=True)
    assert client.get(f"/api/v1/trace/{batch['trace_code']}").json["batch"]["status"] == "revoked"


def test_trace_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/trace/{code}",
        "/t/{code}",
        "/api/v1/batches",
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/labels.pdf",
        "/api/v1/batches/{batch_id}/certificates",
        "/api/v1/batches/{batch_id}/revoke",
        "/api/v1/test-reports",
        "/api/v1/sellers/me/name-consent",
    ):
        assert path in paths, path
