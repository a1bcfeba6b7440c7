"""Reports on a hand-built month: exact figures, the ledger cross-check, the review workflow, exports."""

import io
import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from core.clock import BEIJING
from core.extensions import db as _db
from payments.ledger.models import LedgerAccount, LedgerEntry
from payments.models import GatewayRefund
from payments.providers import RefundResult
from payments.refunds import apply_refund_result
from reports.models import SalesReport
from shop.orders.after_sales import decide_refund, request_refund
from shop.orders.models import Order, OrderLine
from shop.orders.placement import place_order
from tests import factories
from tests.orders import ADDRESS, pay
from villages.models import Village

POOR_VILLAGE, OTHER_VILLAGE = "430225101201", "430225101202"
OCTOBER = datetime(2026, 10, 15, 10, 0, tzinfo=BEIJING)
NOVEMBER = datetime(2026, 11, 2, 10, 0, tzinfo=BEIJING)


def _paid(buyer, items, when):
    order = place_order(buyer, [{"sku_id": sku.id, "quantity": qty} for sku, qty in items], ADDRESS)
    _db.session.commit()
    pay(order.id)
    order = _db.session.get(Order, order.id)
    order.paid_at = when
    _db.session.commit()
    return order


@pytest.fixture
def month(db):
    """October 2026 in 炎陵: a certified product from a poverty village and a poor household's tea."""
    factories.region(POOR_VILLAGE)
    factories.region(OTHER_VILLAGE)
    _db.session.get(Village, POOR_VILLAGE).is_poverty_village = True
    _db.session.commit()
    peach_station = factories.station(POOR_VILLAGE, service_fee_bps=500)
    tea_station = factories.station(OTHER_VILLAGE, service_fee_bps=500)
    peaches = factories.product(
        peach_station,
        poverty_certified=True,
        certificate_no="YL-2026-01",
        certified_on=OCTOBER.date(),
        skus=(("5斤装", 6800, 50),),
    )
    poor_seller = factories.seller(tea_station, poor_household=True)
    tea = factories.product(
        tea_station, seller_record=poor_seller, title="炎陵红茶", category_slug="tea", skus=(("250克", 5000, 50),)
    )
    one, two = factories.user(("buyer", None)), factories.user(("buyer", None))
    manager = factories.user(("station_manager", OTHER_VILLAGE, tea_station.id))
    first = _paid(one, [(peaches.skus[0], 2), (tea.skus[0], 1)], OCTOBER)
    second = _paid(two, [(tea.skus[0], 2)], OCTOBER)
    refund = request_refund(two, second.id, [second.lines[0].id], "茶叶受潮")
    decide_refund(manager, refund.id, "approve", None)
    _db.session.commit()
    sent = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == refund.id))
    apply_refund_result(sent, RefundResult(sent.out_refund_no, "success", refund_id="R1"))
    _db.session.commit()
    _paid(one, [(peaches.skus[0], 1)], NOVEMBER)  # another month
    place_order(one, [{"sku_id": peaches.skus[0].id, "quantity": 1}], ADDRESS)  # never paid
    _db.session.commit()
    return {
        "first": first,
        "county": factories.auth_header(factories.user(("county_admin", "430225"))),
        "other_county": factories.auth_header(factories.user(("county_admin", "430224"))),
        "office": factories.auth_header(factories.user(("poverty_office", "4302"))),
    }


EXPECTED = {
    "gmv_fen": 13600 + 5000,
    "orders": 1,
    "buyers": 1,
    "units": 3,
    "poverty_village_gmv_fen": 13600,
    "poor_household_income_fen": 5000 - 5000 * 300 // 10000 - 5000 * 500 // 10000,
    # The tea seller registered with poor_household=true: a 脱贫户.
    "tuopin_household_income_fen": 5000 - 5000 * 300 // 10000 - 5000 * 500 // 10000,
    "monitored_household_income_fen": 0,
    "certified_product_gmv_fen": 13600,
    "refunded_fen": 10000,
}


def _sales(client, month, group_by=None, who="county"):
    url = "/api/v1/reports/sales?region=430225&from=2026-10-01&to=2026-10-31"
    return client.get(url + (f"&group_by={group_by}" if group_by else ""), headers=month[who])


def test_totals_are_exact(client, month):
    body = _sales(client, month).json
    assert body["totals"] == EXPECTED
    assert body["rows"] == []


def test_rows_by_village_category_region_and_month(client, month):
    villages = {row["key"]: row for row in _sales(client, month, "village").json["rows"]}
    assert villages[POOR_VILLAGE]["gmv_fen"] == 13600 and villages[POOR_VILLAGE]["poor_household_income_fen"] == 0
    assert villages[OTHER_VILLAGE]["gmv_fen"] == 5000 and villages[OTHER_VILLAGE]["refunded_fen"] == 10000
    assert villages[OTHER_VILLAGE]["poor_household_income_fen"] == EXPECTED["poor_household_income_fen"]
    categories = {row["key"]: row["gmv_fen"] for row in _sales(client, month, "category").json["rows"]}
    assert categories == {"fruit": 13600, "tea": 5000}
    regions = _sales(client, month, "region").json["rows"]
    assert [(row["key"], row["gmv_fen"]) for row in regions] == [("430225101", 18600)]
    months = _sales(client, month, "month").json["rows"]
    assert [(row["key"], row["gmv_fen"]) for row in months] == [("2026-10", 18600)]


def test_totals_equal_the_ledger(client, month):
    body = _sales(client, month).json["totals"]
    lines = (
        sa.select(OrderLine.id)
        .join(Order)
        .where(
            Order.paid_at >= datetime(2026, 10, 1, tzinfo=BEIJING),
            Order.paid_at < datetime(2026, 11, 1, tzinfo=BEIJING),
        )
    )
    credited = _db.session.scalar(
        sa.select(sa.func.sum(LedgerEntry.amount_fen))
        .join(LedgerAccount)
        .where(LedgerAccount.owner_type.in_(("seller", "station", "centre")), LedgerEntry.order_line_id.in_(lines))
    )
    assert credited == body["gmv_fen"]


def test_sales_are_scoped_and_cost_a_fixed_number_of_queries(client, month, count_queries):
    assert _sales(client, month, who="other_county").status_code == 403
    assert _sales(client, month, who="office").status_code == 200
    with count_queries() as queries:
        _sales(client, month, "village")
    assert len(queries) <= 6


def test_report_workflow_and_immutability(client, month, app):
    created = client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"})
    assert created.status_code == 201, created.json
    report = created.json
    assert report["status"] == "draft" and len(report["digest"]) == 64
    assert report["snapshot"]["totals"] == EXPECTED
    assert report["snapshot"]["policy"]["villages"] == 2
    rid = report["id"]
    assert (
        client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"}).status_code
        == 409
    )
    assert client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"]).json["status"] == "submitted"
    assert (
        client.post(f"/api/v1/reports/{rid}/review", headers=month["county"], json={"decision": "approve"}).status_code
        == 403
    )
    no_comment = client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "reject"})
    assert no_comment.status_code == 422
    rejected = client.post(
        f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "reject", "comment": "请核对退款"}
    )
    assert rejected.json["status"] == "rejected"
    again = client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"})
    assert again.status_code == 201 and again.json["id"] == rid and again.json["version"] == 2
    client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"])
    approved = client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"})
    assert approved.json["status"] == "approved"
    assert [e["action"] for e in approved.json["events"]] == [
        "generated",
        "submitted",
        "rejected",
        "regenerated",
        "submitted",
        "approved",
    ]
    for attempt in (
        client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"}),
        client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"]),
        client.post(
            f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "reject", "comment": "x"}
        ),
    ):
        assert attempt.status_code == 409
    assert client.get(f"/api/v1/reports/{rid}", headers=month["other_county"]).status_code == 404


def test_drift_is_shown_beside_an_approved_report_and_tampering_is_caught(client, month, app):
    rid = client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"}).json[
        "id"
    ]
    client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"])
    client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"})
    digest_before = _db.session.get(SalesReport, rid).digest
    first = month["first"]
    tea_line = next(line for line in first.lines if line.product_title == "炎陵红茶")
    refund = request_refund(first.buyer, first.id, [tea_line.id], "迟到的退款")
    decide_refund(factories.user(("platform_admin", None)), refund.id, "approve", None)
    _db.session.commit()
    sent = _db.session.scalar(sa.select(GatewayRefund).where(GatewayRefund.refund_request_id == refund.id))
    apply_refund_result(sent, RefundResult(sent.out_refund_no, "success", refund_id="R2"))
    _db.session.commit()
    result = app.test_cli_runner().invoke(args=["reports", "verify", str(rid)])
    assert result.exit_code == 0 and "digest: ok" in result.output
    assert "drift: totals.gmv_fen: frozen 18600 → live 13600" in result.output
    report = _db.session.get(SalesReport, rid)
    assert (report.digest, report.status) == (digest_before, "approved")
    assert json.loads(report.snapshot)["totals"]["gmv_fen"] == 18600  # never rewritten
    tampered = json.loads(report.snapshot)
    tampered["totals"]["gmv_fen"] += 100
    report.snapshot = json.dumps(tampered, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    _db.session.commit()
    result = app.test_cli_runner().invoke(args=["reports", "verify", str(rid)])
    assert result.exit_code == 1 and "MISMATCH" in result.output


def test_exports_open_in_excel(client, month):
    rid = client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"}).json[
        "id"
    ]
    xlsx = client.get(f"/api/v1/reports/{rid}/export?format=xlsx", headers=month["county"])
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames == ["汇总", "分村", "分品类", "月度趋势", "单位消费帮扶"]
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["销售额（元）"] == 186 and summary["退款额（元）"] == 100
    assert summary["状态"] == "草稿" and len(summary["SM3 摘要"]) == 64
    villages = list(book["分村"].iter_rows(values_only=True))
    assert villages[0][:3] == ("村代码", "名称", "销售额（元）")
    assert {row[0]: row[2] for row in villages[1:]} == {POOR_VILLAGE: 136, OTHER_VILLAGE: 50}
    assert book["月度趋势"]._charts
    csv_body = client.get(f"/api/v1/reports/{rid}/export?format=csv", headers=month["county"]).data
    assert csv_body.startswith("\ufeff".encode()) and "186.00" in csv_body.decode("utf-8-sig")


def test_monthly_chart_svg(client, month):
    response = client.get(
        "/api/v1/reports/charts/monthly.svg?region=430225&until=2026-11&months=3", headers=month["office"]
    )
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "2026-10 销售额 186.00 元" in svg


def test_a_chart_month_before_the_year_2000_is_a_clean_error(client, db):
    admin = factories.auth_header(factories.user(("platform_admin", None)))
    chart = client.get("/api/v1/reports/charts/monthly.svg?region=430225&until=0001-01", headers=admin)
    assert chart.status_code == 422


def test_four_eyes_a_county_report_is_prepared_by_the_county_and_reviewed_by_someone_else(client, month):
    body = {"region": "430225", "period": "2026-10"}
    office = month["office"]
    refused = client.post("/api/v1/reports", headers=office, json=body)
    assert refused.status_code == 403  # the office does not write a county's report
    platform = factories.auth_header(factories.user(("platform_admin", None)))
    assert client.post("/api/v1/reports", headers=platform, json=body).status_code == 403
    rid = client.post("/api/v1/reports", headers=month["county"], json=body).json["id"]
    assert client.post(f"/api/v1/reports/{rid}/submit", headers=office).status_code == 403
    assert client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"]).status_code == 200
    approved = client.post(f"/api/v1/reports/{rid}/review", headers=office, json={"decision": "approve"})
    assert approved.status_code == 200 and approved.json["status"] == "approved"


def test_four_eyes_nobody_reviews_a_report_they_generated_or_submitted(client, month):
    first_official = factories.user(("poverty_office", "4302"))
    second_official = factories.user(("poverty_office", "4302"))
    first, second = factories.auth_header(first_official), factories.auth_header(second_official)
    rid = client.post("/api/v1/reports", headers=first, json={"region": "4302", "period": "2026-10"}).json["id"]
    assert client.post(f"/api/v1/reports/{rid}/submit", headers=second).status_code == 200
    for who in (first, second):  # one generated it, the other submitted it
        response = client.post(f"/api/v1/reports/{rid}/review", headers=who, json={"decision": "approve"})
        assert response.status_code == 403
        assert response.json["error"]["code"] == "forbidden"
    third = factories.auth_header(factories.user(("poverty_office", "4302")))
    approved = client.post(f"/api/v1/reports/{rid}/review", headers=third, json={"decision": "approve"})
    assert approved.json["status"] == "approved"
    trail = client.get(f"/api/v1/reports/{rid}", headers=third).json
    actors = [event["actor_id"] for event in trail["events"]]
    assert actors == [first_official.id, second_official.id, actors[-1]] and actors[-1] not in actors[:2]


def test_a_beijing_month_can_be_reported_on_its_first_day_before_utc_catches_up(client, db, monkeypatch):
    """At 00:30 on 1 December in Beijing it is still 30 November in UTC: December has begun all the same."""
    import reports.snapshots

    factories.region("430225100201")
    admin = factories.user(("county_admin", "430225"))
    monkeypatch.setattr(reports.snapshots, "beijing_today", lambda: datetime(2026, 12, 1, tzinfo=BEIJING).date())
    made = client.post(
        "/api/v1/reports", headers=factories.auth_header(admin), json={"region": "430225", "period": "2026-12"}
    )
    assert made.status_code == 201, made.json
    early = client.post(
        "/api/v1/reports", headers=factories.auth_header(admin), json={"region": "430225", "period": "2027-01"}
    )
    assert early.status_code == 422
