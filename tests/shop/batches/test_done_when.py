"""Issue 17's "done when", end to end through the API.

A station manager records a batch with its certificate, prints its labels and
ships from it; the QR code on the label opens a trace page showing origin,
certificate and benefit; reports split income by household category and still
verify a snapshot approved before the change.
"""

import io
import json
from datetime import timedelta

import pypdf
import pypdfium2
import sqlalchemy as sa
import zxingcpp

from core.clock import BEIJING, beijing_now, beijing_today
from core.extensions import db as _db
from core.pii import sm3_hex
from reports.analytics import ADDED_FIGURES
from reports.models import SalesReport
from shop.orders.models import Order
from tests import factories
from tests.orders import pay, place
from tests.shop.batches.conftest import certificate_body

PDF = b"%PDF-1.4\n% a test report\n%%EOF\n"


def _last_month() -> tuple[str, object]:
    first_of_month = beijing_today().replace(day=1)
    previous = first_of_month - timedelta(days=1)
    return f"{previous:%Y-%m}", beijing_now().replace(year=previous.year, month=previous.month, day=15, hour=10)


def test_batch_certificate_labels_shipping_trace_and_reports(client, traced):
    county, office = traced["yanling_admin"], factories.auth_header(factories.user(("poverty_office", "4302")))
    manager = traced["peach_manager"]

    # Last month, before the 2026 vocabulary: a sale, frozen and approved without the category split.
    period, last_month = _last_month()
    earlier = place(client, traced, [(traced["peach_5"], 1)]).json["id"]
    pay(earlier)
    _db.session.get(Order, earlier).paid_at = last_month.astimezone(BEIJING)
    _db.session.commit()
    rid = client.post("/api/v1/reports", headers=county, json={"region": "430225", "period": period}).json["id"]
    report = _db.session.get(SalesReport, rid)
    snapshot = json.loads(report.snapshot)
    for figures in [snapshot["totals"], *snapshot["villages"], *snapshot["categories"]]:
        for name in ADDED_FIGURES:
            figures.pop(name)
    report.snapshot = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    report.digest = sm3_hex(report.snapshot.encode())
    _db.session.commit()
    client.post(f"/api/v1/reports/{rid}/submit", headers=county)
    assert client.post(f"/api/v1/reports/{rid}/review", headers=office, json={"decision": "approve"}).status_code == 200

    # The station records the batch with a certificate issued on its own testing.
    uploaded = client.post(
        f"/api/v1/test-reports?station_id={traced['peach_station'].id}",
        headers=manager,
        data={"file": (io.BytesIO(PDF), "农残检测.pdf")},
    )
    assert uploaded.status_code == 201
    recorded = client.post(
        "/api/v1/batches",
        headers=manager,
        json={
            "product_id": traced["peaches"].id,
            "harvested_on": (beijing_today() - timedelta(days=1)).isoformat(),
            "quantity": 12,
            "certificate": certificate_body(basis="own_testing", test_report_id=uploaded.json["id"]),
        },
    )
    assert recorded.status_code == 201, recorded.json
    batch = recorded.json

    # It prints the labels; the QR code on them reads as the batch's trace URL.
    sheet = client.get(f"/api/v1/batches/{batch['id']}/labels.pdf", headers=manager)
    assert sheet.status_code == 200
    text = pypdf.PdfReader(io.BytesIO(sheet.data)).pages[0].extract_text().replace("\x00", "")
    assert batch["certificate"]["no"] in text and "承诺依据：自行检测" in text
    page = pypdfium2.PdfDocument(sheet.data)[0].render(scale=200 / 72).to_pil()
    scanned = {result.text for result in zxingcpp.read_barcodes(page)}
    assert scanned == {batch["trace_url"]}

    # A buyer's order ships from it.
    order_id = place(client, traced, [(traced["peach_10"], 2)]).json["id"]
    pay(order_id)
    body = {"station_id": traced["peach_station"].id, "carrier": "顺丰速运", "tracking_no": "SF2026000017"}
    shipped = client.post(f"/api/v1/orders/{order_id}/shipments", headers=manager, json=body)
    assert shipped.status_code == 201 and shipped.json["lines"][0]["batch"]["id"] == batch["id"]
    detail = client.get(f"/api/v1/batches/{batch['id']}", headers=manager).json
    assert detail["remaining_quantity"] == 10

    # Scanning the label opens the trace page: origin, certificate, benefit.
    path = scanned.pop().removeprefix("http://127.0.0.1:5000")
    html = client.get(path).get_data(as_text=True)
    for expected in (traced["peach_station"].name, batch["certificate"]["no"], "自行检测", "李**家（脱贫户）", "92.0%"):
        assert expected in html, expected
    answer = client.get(f"/api/v1/trace/{batch['trace_code']}").json
    assert answer["village"]["code"] == traced["village"] and answer["beneficiary"]["category"] == "tuopin"
    assert answer["scans"] == 2

    # Reports split household income by category; the old approved report still verifies.
    today = beijing_today()
    sales = client.get(
        f"/api/v1/reports/sales?region=430225&from={today:%Y-%m}-01&to={today.isoformat()}", headers=county
    ).json["totals"]
    seller_income = 2 * 12800 - 2 * 12800 * 300 // 10000 - 2 * 12800 * 500 // 10000
    assert sales["tuopin_household_income_fen"] == seller_income == sales["poor_household_income_fen"]
    assert sales["monitored_household_income_fen"] == 0
    verified = client.get(f"/api/v1/reports/{rid}/verify", headers=office).json
    assert verified["digest_ok"] is True and verified["drift"] == []
    assert _db.session.scalar(sa.select(SalesReport.status).where(SalesReport.id == rid)) == "approved"
