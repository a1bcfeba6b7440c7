"""The unit report and the 通报 table: a month built by hand, every number checked."""

import io
import json
from datetime import datetime

import pytest
from openpyxl import load_workbook

from core.clock import BEIJING
from core.extensions import db as _db
from core.pii import sm3_hex
from reports.models import SalesReport
from shop.orders.models import Order
from tests import factories
from tests.institutions.conftest import recipients, unit_order, units  # noqa: F401 - the fixture
from tests.institutions.test_bank_transfers import record
from tests.ledger_helpers import refund_lines
from tests.orders import pay, place

YANLING, CHALING = "430225", "430224"


def _paid_at(order_id: int, *moment) -> None:
    _db.session.get(Order, order_id).paid_at = datetime(*moment, tzinfo=BEIJING)
    _db.session.commit()


def _placed(response) -> int:
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.fixture
def october(client, units):  # noqa: F811 - the fixture imported above
    """Hospital, school, union and an enterprise; orders in September, October and November 2026."""
    u = units
    hospital, school, union = u["hospital"]["id"], u["school"]["id"], u["union"]["id"]
    for unit, admin, year, budget, ratio in (
        (hospital, "hospital_admin", 2026, 100_000_000, 1500),
        (hospital, "hospital_admin", 2025, 10_000_000, 1000),
        (school, "school_admin", 2026, 20_000_000, 1000),
    ):
        saved = client.put(
            f"/api/v1/units/{unit}/targets/{year}",
            headers=u[admin],
            json={"canteen_budget_fen": budget, "ratio_bps": ratio},
        )
        assert saved.status_code == 200
    zhao = u["zhao_header"]
    h1 = _placed(unit_order(client, zhao, hospital, [(u["peach_10"], 3), (u["tofu"], 2)]))
    pay(h1)
    _paid_at(h1, 2026, 10, 1, 0, 10)  # just inside October in Beijing (30 September in UTC)
    h2 = _placed(unit_order(client, zhao, hospital, [(u["garlic"], 10)]))
    pay(h2)
    _paid_at(h2, 2026, 9, 15, 10, 0)
    h3 = _placed(unit_order(client, zhao, hospital, [(u["garlic"], 5), (u["peach_5"], 1)]))
    pay(h3)
    _paid_at(h3, 2026, 10, 20, 9, 0)
    peach_line = next(line.id for line in _db.session.get(Order, h3).lines if line.unit_price_fen == 6800)
    refund_lines(client, {"buyer_header": zhao, "platform": u["platform"]}, h3, [peach_line])
    _placed(unit_order(client, zhao, hospital, [(u["garlic"], 1)]))  # never paid
    school_buyer = u["school_admin"]
    s1 = _placed(unit_order(client, school_buyer, school, [(u["peach_5"], 2)], "canteen", "bank_transfer"))
    reference = client.get(f"/api/v1/unit-orders/{s1}", headers=school_buyer).json["payment_reference"]
    assert record(client, u, reference, 13_600, "SCHOOL0000000001", header=u["yanling_admin"]).status_code == 201
    _paid_at(s1, 2026, 10, 5, 14, 0)
    gift = [(u["peach_5"], 1), (u["tofu"], 1)]
    u1 = _placed(unit_order(client, zhao, union, gift, "union_welfare", recipients=recipients(3)))
    pay(u1)
    _paid_at(u1, 2026, 10, 31, 23, 30)
    u0 = _placed(unit_order(client, zhao, union, [(u["garlic"], 1)], "union_welfare", recipients=recipients(2)))
    pay(u0)
    _paid_at(u0, 2026, 11, 1, 0, 30)  # November in Beijing, still 31 October in UTC
    private = _placed(place(client, u, [(u["peach_5"], 1)]))  # a private buyer's order never counts
    pay(private)
    _paid_at(private, 2026, 10, 10, 10, 0)
    return u


def _row(report: dict, unit_id: int) -> dict:
    return next(row for row in report["rows"] if row["unit_id"] == unit_id)


def test_every_number_of_the_october_table(client, october):
    u = october
    report = client.get("/api/v1/reports/units", headers=u["office"], query_string={"period": "2026-10"})
    assert report.status_code == 200, report.json
    body = report.json
    assert (body["year"], body["period"], body["from"], body["to"]) == (2026, "2026-10", "2026-10-01", "2026-10-31")
    assert body["units_ranked"] == 4
    assert body["totals"] == {
        "orders": 4,
        "purchases_fen": 99_900,
        "poverty_purchases_fen": 87_400,
        "canteen_poverty_fen": 67_000,
        "union_welfare_fen": 27_900,
        "union_welfare_poverty_fen": 20_400,
    }
    assert [row["unit_id"] for row in body["rows"]] == [
        u["school"]["id"],
        u["hospital"]["id"],
        u["union"]["id"],
        u["company"]["id"],
    ]
    assert [row["rank"] for row in body["rows"]] == [1, 2, 3, 4]
    hospital = _row(body, u["hospital"]["id"])
    assert {k: hospital[k] for k in ("orders", "purchases_fen", "poverty_purchases_fen", "canteen_poverty_fen")} == {
        "orders": 2,
        "purchases_fen": 58_400,
        "poverty_purchases_fen": 53_400,
        "canteen_poverty_fen": 53_400,
    }
    assert (hospital["union_welfare_fen"], hospital["union_welfare_poverty_fen"]) == (0, 0)
    assert hospital["by_county"] == [
        {"code": CHALING, "name": f"测试county{CHALING}", "poverty_purchases_fen": 15_000},
        {"code": YANLING, "name": f"测试county{YANLING}", "poverty_purchases_fen": 38_400},
    ]
    assert hospital["by_category"] == [
        {"slug": "fruit", "name": "水果", "poverty_purchases_fen": 38_400},
        {"slug": "vegetables", "name": "蔬菜", "poverty_purchases_fen": 15_000},
    ]
    assert hospital["target"] == {
        "year": 2026,
        "canteen_budget_fen": 100_000_000,
        "ratio_bps": 1500,
        "target_fen": 15_000_000,
        "counted_fen": 83_400,  # September's 30,000 counts toward the year
        "share_bps": 55,
        "remaining_fen": 14_916_600,
    }
    school = _row(body, u["school"]["id"])
    assert (school["orders"], school["purchases_fen"], school["poverty_purchases_fen"]) == (1, 13_600, 13_600)
    assert school["canteen_poverty_fen"] == 13_600
    assert school["by_county"] == [{"code": YANLING, "name": f"测试county{YANLING}", "poverty_purchases_fen": 13_600}]
    assert school["target"]["target_fen"] == 2_000_000 and school["target"]["counted_fen"] == 13_600
    assert school["target"]["share_bps"] == 68 and school["target"]["remaining_fen"] == 1_986_400
    union = _row(body, u["union"]["id"])
    assert {k: union[k] for k in ("orders", "purchases_fen", "poverty_purchases_fen", "canteen_poverty_fen")} == {
        "orders": 1,
        "purchases_fen": 27_900,
        "poverty_purchases_fen": 20_400,
        "canteen_poverty_fen": 0,
    }
    assert (union["union_welfare_fen"], union["union_welfare_poverty_fen"]) == (27_900, 20_400)
    assert union["by_category"] == [{"slug": "fruit", "name": "水果", "poverty_purchases_fen": 20_400}]
    assert union["target"] is None and union["parent_id"] == u["hospital"]["id"]
    company = _row(body, u["company"]["id"])
    assert (
        company["orders"] == company["purchases_fen"] == 0 and company["by_county"] == [] and company["target"] is None
    )


def test_the_year_and_a_units_own_page(client, october):
    u = october
    year = client.get("/api/v1/reports/units", headers=u["office"], query_string={"year": 2026}).json
    hospital = _row(year, u["hospital"]["id"])
    assert (hospital["orders"], hospital["purchases_fen"], hospital["poverty_purchases_fen"]) == (3, 88_400, 83_400)
    assert hospital["by_county"][0] == {
        "code": CHALING,
        "name": f"测试county{CHALING}",
        "poverty_purchases_fen": 45_000,
    }
    assert hospital["target"]["counted_fen"] == 83_400
    union = _row(year, u["union"]["id"])
    assert (union["orders"], union["union_welfare_fen"], union["union_welfare_poverty_fen"]) == (2, 33_900, 26_400)
    assert year["totals"]["purchases_fen"] == 88_400 + 13_600 + 33_900
    own = client.get(
        "/api/v1/reports/units",
        headers=u["zhao_header"],
        query_string={"period": "2026-10", "unit_id": u["hospital"]["id"]},
    ).json
    assert [row["unit_id"] for row in own["rows"]] == [u["hospital"]["id"]] and own["rows"][0]["rank"] == 2
    assert own["units_ranked"] == 4
    assert client.get("/api/v1/reports/units", headers=u["zhao_header"], query_string={"year": 2026}).status_code == 422
    school_asks = client.get(
        "/api/v1/reports/units", headers=u["school_admin"], query_string={"year": 2026, "unit_id": u["hospital"]["id"]}
    )
    assert school_asks.status_code == 404
    other_city = factories.auth_header(factories.user(("poverty_office", "4301")))
    assert client.get("/api/v1/reports/units", headers=other_city, query_string={"year": 2026}).json["rows"] == []
    both = client.get("/api/v1/reports/units", headers=u["office"], query_string={"year": 2026, "period": "2026-10"})
    assert both.status_code == 422
    assert client.get("/api/v1/reports/units", query_string={"year": 2026}).status_code == 401


def test_the_monthly_snapshot_and_export_carry_the_table(client, october):
    u = october
    created = client.post("/api/v1/reports", headers=u["office"], json={"region": "4302", "period": "2026-10"})
    assert created.status_code == 201, created.json
    report = _db.session.get(SalesReport, created.json["id"])
    frozen = json.loads(report.snapshot)
    live = client.get("/api/v1/reports/units", headers=u["office"], query_string={"period": "2026-10"}).json["rows"]
    assert [{k: v for k, v in row.items() if k != "key"} for row in frozen["units"]] == live
    assert client.get(f"/api/v1/reports/{report.id}/verify", headers=u["office"]).json["drift"] == []
    export = client.get(f"/api/v1/reports/{report.id}/export", headers=u["office"], query_string={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(export.data))["单位消费帮扶"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "单位", "统一社会信用代码")
    assert [(row[0], row[1]) for row in rows[1:]] == [
        (1, "株洲市第二中学"),
        (2, "株洲市中心医院"),
        (3, "株洲市中心医院工会"),
        (4, "株洲某国有企业"),
    ]
    assert float(rows[2][5]) == 534.0 and float(rows[2][9]) == 150_000.0 and float(rows[2][11]) == 0.0055


def test_a_snapshot_made_before_the_unit_table_still_verifies(client, october):
    u = october
    created = client.post("/api/v1/reports", headers=u["office"], json={"region": "4302", "period": "2026-10"})
    report = _db.session.get(SalesReport, created.json["id"])
    older = json.loads(report.snapshot)
    del older["units"]
    report.snapshot = json.dumps(older, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    report.digest = sm3_hex(report.snapshot.encode())
    _db.session.commit()
    verified = client.get(f"/api/v1/reports/{report.id}/verify", headers=u["office"]).json
    assert verified["digest_ok"] is True and verified["drift"] == []
    export = client.get(f"/api/v1/reports/{report.id}/export", headers=u["office"], query_string={"format": "xlsx"})
    assert "单位消费帮扶" not in load_workbook(io.BytesIO(export.data)).sheetnames
