"""Household income by category (脱贫户, 监测对象), the old figure as their sum, and reports frozen before the split."""

import io
import json

import sqlalchemy as sa
from openpyxl import load_workbook

from core.extensions import db as _db
from core.pii import sm3_hex
from reports.analytics import ADDED_FIGURES
from reports.models import SalesReport
from tests import factories
from tests.reports import test_reports
from tests.reports.test_reports import EXPECTED, OCTOBER, OTHER_VILLAGE, _paid

month = test_reports.month  # the reports tests' October in 炎陵

SELLER_SHARE = 10000 - 300 - 500


def _monitored_sale(month_fixture):
    """A 监测对象 household's honey, sold once in October 2026."""
    station = factories.station(OTHER_VILLAGE, service_fee_bps=500)
    seller = factories.seller(station, household_category="monitored", household_no="4302250099")
    honey = factories.product(
        station, seller_record=seller, title="炎陵土蜂蜜", category_slug="local_food", skus=(("500克", 10000, 10),)
    )
    _paid(factories.user(("buyer", None)), [(honey.skus[0], 1)], OCTOBER)
    return 10000 * SELLER_SHARE // 10000


def test_income_is_split_by_category_and_the_old_figure_is_their_sum(client, month):
    honey_income = _monitored_sale(month)
    url = "/api/v1/reports/sales?region=430225&from=2026-10-01&to=2026-10-31&group_by=category"
    body = client.get(url, headers=month["county"]).json
    totals = body["totals"]
    assert totals["tuopin_household_income_fen"] == EXPECTED["tuopin_household_income_fen"]
    assert totals["monitored_household_income_fen"] == honey_income
    assert totals["poor_household_income_fen"] == EXPECTED["poor_household_income_fen"] + honey_income
    rows = {row["key"]: row for row in body["rows"]}
    assert rows["local_food"]["monitored_household_income_fen"] == honey_income
    assert rows["tea"]["tuopin_household_income_fen"] == EXPECTED["tuopin_household_income_fen"]
    svg = client.get(
        "/api/v1/reports/charts/monthly.svg?region=430225&until=2026-10&months=2", headers=month["office"]
    ).get_data(as_text=True)
    assert f"2026-10 监测对象收入 {honey_income / 100:.2f} 元" in svg and "贫困户" not in svg


def _approved_before_the_split(client, month) -> int:
    """A report frozen, submitted and approved by the code before 2026's vocabulary (no split figures)."""
    rid = client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"}).json[
        "id"
    ]
    report = _db.session.get(SalesReport, rid)
    snapshot = json.loads(report.snapshot)
    for figures in [snapshot["totals"], *snapshot["villages"], *snapshot["categories"]]:
        for name in ADDED_FIGURES:
            del figures[name]
    report.snapshot = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    report.digest = sm3_hex(report.snapshot.encode())
    _db.session.commit()
    client.post(f"/api/v1/reports/{rid}/submit", headers=month["county"])
    approved = client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"})
    assert approved.json["status"] == "approved"
    return rid


def test_a_report_approved_before_the_change_still_verifies(client, month, app):
    rid = _approved_before_the_split(client, month)
    verified = client.get(f"/api/v1/reports/{rid}/verify", headers=month["office"]).json
    assert verified == {"report_id": rid, "digest_ok": True, "drift": []}
    result = app.test_cli_runner().invoke(args=["reports", "verify", str(rid)])
    assert result.exit_code == 0 and "digest: ok" in result.output
    frozen = client.get(f"/api/v1/reports/{rid}", headers=month["office"]).json["snapshot"]["totals"]
    assert frozen["poor_household_income_fen"] == EXPECTED["poor_household_income_fen"]
    assert "tuopin_household_income_fen" not in frozen  # shown as frozen, never filled in afterwards
    # Real drift is still reported, the old figure included.
    _monitored_sale(month)
    drift = {
        item["field"] for item in client.get(f"/api/v1/reports/{rid}/verify", headers=month["office"]).json["drift"]
    }
    assert "totals.poor_household_income_fen" in drift and "totals.monitored_household_income_fen" not in drift


def test_exports_name_the_categories_the_office_and_leave_unfrozen_figures_empty(client, month, app, monkeypatch):
    monkeypatch.setitem(app.config, "OFFICE_NAME", "株洲市乡村振兴局")
    old = _approved_before_the_split(client, month)
    with client.get(f"/api/v1/reports/{old}/export", headers=month["county"]) as xlsx:  # a stored file, streamed
        book = load_workbook(io.BytesIO(xlsx.data))
    summary = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["审核单位"] == "株洲市乡村振兴局"
    assert summary["脱贫户及监测对象收入（元）"] == EXPECTED["poor_household_income_fen"] / 100
    assert summary["其中：脱贫户收入（元）"] is None and summary["其中：监测对象收入（元）"] is None
    assert next(book["月度趋势"].iter_rows(values_only=True)) == (
        "月份",
        "销售额（元）",
        "脱贫户收入（元）",
        "监测对象收入（元）",
    )
    with client.get(f"/api/v1/reports/{old}/export?format=csv", headers=month["county"]) as csv_file:
        text = csv_file.data.decode("utf-8-sig")
    assert "脱贫户及监测对象收入（元）" in text and "贫困户收入" not in text and "株洲市乡村振兴局" in text


def test_the_reviewing_office_is_named_from_configuration(client, month, app, monkeypatch):
    monkeypatch.setitem(app.config, "OFFICE_NAME", "株洲市乡村振兴局")
    rid = client.post("/api/v1/reports", headers=month["county"], json={"region": "430225", "period": "2026-10"}).json[
        "id"
    ]
    early = client.post(f"/api/v1/reports/{rid}/review", headers=month["office"], json={"decision": "approve"})
    assert early.status_code == 409 and "株洲市乡村振兴局" in early.json["error"]["message"]


def test_exports_write_names_as_text_never_as_formulas(client, month):
    from shop.models import Category

    for category in _db.session.scalars(sa.select(Category)):
        category.name = f"=CMD|{category.slug}"[:32]
    _db.session.commit()
    rid = _approved_before_the_split(client, month)
    with client.get(f"/api/v1/reports/{rid}/export?format=csv", headers=month["county"]) as csv_file:
        text = csv_file.data.decode("utf-8-sig")
    assert "'=CMD|fruit" in text and ",=CMD" not in text and ',"=CMD' not in text
    with client.get(f"/api/v1/reports/{rid}/export", headers=month["county"]) as xlsx:
        book = load_workbook(io.BytesIO(xlsx.data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert any(cell.value == "=CMD|fruit" for cell in cells)
