"""What the matrix found that its one valid request per cell cannot keep found: probes with other input."""

import io

from tests.authz.world import png


def _transfer(client, header, reference: str):
    form = {
        "payment_reference": reference,
        "amount_fen": "100",
        "payer_account_name": "某单位",
        "bank_serial_no": "PROBE0000000001",
        "received_on": "2026-01-05",
        "receipt": (io.BytesIO(png()), "回单.png"),
    }
    return client.post("/api/v1/bank-transfers", headers=header, data=form, content_type="multipart/form-data")


def test_a_buyer_cannot_tell_known_payment_references_from_unknown_ones(client, world):
    """POST /bank-transfers looked the reference up before the role: 422 "付款参考号不存在" to anyone."""
    for reference in ("ZZDW99999999", world["ids"]["payment_reference"]):
        for role in ("buyer", "seller", "station_manager_own", "poverty_office"):
            response = _transfer(client, world["headers"][role], reference)
            assert response.status_code == 403 and response.json["error"]["code"] == "forbidden", (role, reference)


def test_a_test_report_is_served_only_by_its_scoped_route(client, world):
    """/media/<key> served every stored file to anyone, test reports included, which GET /test-reports/<id>
    shows to their station and county only (another station gets 404)."""
    key = world["ids"]["test_report_key"]
    for role in ("anonymous", "station_manager_other", "station_manager_own"):
        with client.get(f"/media/{key}", headers=world["headers"][role]) as response:
            assert response.status_code == 404, role
    own = world["headers"]["station_manager_own"]
    with client.get(f"/api/v1/test-reports/{world['ids']['test_report']}", headers=own) as response:
        assert response.status_code == 200 and response.data.startswith(b"%PDF")


def _pairs(ids):
    """(role, method, url, request, status): a record the role may act on, paired with county B's."""
    ship_b = {"station_id": ids["station_b"], "carrier": "顺丰速运", "tracking_no": "SF0000000009"}
    product = {
        "station_id": ids["station"],
        "seller_id": ids["seller_b"],
        "category": "fruit",
        "title": "桃子新品",
        "unit": "箱",
        "origin_village_code": ids["village"],
        "skus": [{"name": "a", "price_fen": 100, "stock": 1}],
    }
    manager = "station_manager_own"
    return [
        (manager, "PATCH", f"/api/v1/products/{ids['product']}/skus/{ids['sku_b']}", {"json": {"stock": 5}}, 422),
        (
            manager,
            "DELETE",
            f"/api/v1/products/{ids['product']}/images/{ids['image_b']}",
            {},
            404,
        ),  # another product's image: as if absent
        (manager, "POST", f"/api/v1/orders/{ids['order']}/shipments", {"json": ship_b}, 403),
        (manager, "POST", "/api/v1/products", {"json": product}, 422),
        (manager, "GET", f"/api/v1/ledger/balances?owner=station:{ids['station_b']}", {}, 404),
        (
            manager,
            "GET",
            f"/api/v1/orders/{ids['welfare_order']}/deliveries/labels?station_id={ids['station_b']}",
            {},
            403,
        ),
        (
            "buyer",
            "POST",
            "/api/v1/refunds",
            {"json": {"order_id": ids["order"], "line_ids": [ids["line_b"]], "reason": "不想要了"}},
            422,
        ),
        ("county_admin_own", "POST", "/api/v1/settlements/run", {"json": {"county_code": "430224"}}, 404),
        ("county_admin_own", "GET", "/api/v1/reports/sales?region=430224&from=2026-10-01&to=2026-10-31", {}, 403),
    ]


def test_a_record_of_ones_own_paired_with_someone_elses_is_refused(client, world):
    """Routes naming two records (or a record and a body id) check both: none of these pairs gets through."""
    got = []
    for role, method, url, request, status in _pairs(world["ids"]):
        with client.open(url, method=method, headers=world["headers"][role], **request) as response:
            got.append((role, method, url, response.status_code, status))
    assert [row for row in got if row[3] != row[4]] == []
