"""Report exports that open in Excel: XLSX (summary, per village, per category, trend chart) and CSV with BOM."""

import csv
import io
import json
from decimal import Decimal

from flask import current_app
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font

from core.spreadsheets import csv_row, xlsx_bytes
from reports.models import ReportStatus, SalesReport

YUAN = "#,##0.00"
HEADERS = (
    ("gmv_fen", "销售额（元）", True),
    ("orders", "订单数", False),
    ("buyers", "买家数", False),
    ("units", "件数", False),
    ("poverty_village_gmv_fen", "贫困村销售额（元）", True),
    ("poor_household_income_fen", "脱贫户及监测对象收入（元）", True),
    ("tuopin_household_income_fen", "其中：脱贫户收入（元）", True),
    ("monitored_household_income_fen", "其中：监测对象收入（元）", True),
    ("certified_product_gmv_fen", "扶贫产品销售额（元）", True),
    ("refunded_fen", "退款额（元）", True),
)


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(fen) / 100


def _figure(row: dict, key: str, money: bool):
    """A figure of a row; reports frozen before a figure existed leave its cell empty."""
    value = row.get(key)
    return _yuan(value) if money else value


def _csv_figure(row: dict, key: str, money: bool) -> str:
    value = row.get(key)
    if value is None:
        return ""
    return f"{_yuan(value):.2f}" if money else str(value)


def _header_lines(report: SalesReport, snapshot: dict) -> list[tuple[str, str]]:
    return [
        ("报表", f"{snapshot['region']['name']} {report.period} 电商销售（消费帮扶）月报"),
        ("审核单位", current_app.config["OFFICE_NAME"]),
        ("地区代码", report.region_code),
        ("状态", ReportStatus(report.status).label),
        ("版本", str(report.version)),
        ("SM3 摘要", report.digest),
        ("审核时间", report.reviewed_at.isoformat() if report.reviewed_at else ""),
    ]


def _figure_rows(sheet, first_column: str, rows: list[dict]) -> None:
    sheet.append([first_column, "名称", *(title for _, title, _ in HEADERS)])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row["key"], row["name"], *(_figure(row, k, money) for k, _, money in HEADERS)])
        for (_, _, money), cell in zip(HEADERS, sheet[sheet.max_row][2:], strict=True):
            if money:
                cell.number_format = YUAN


UNIT_HEADERS = (
    ("purchases_fen", "采购总额（元）"),
    ("poverty_purchases_fen", "帮扶产品采购（元）"),
    ("canteen_poverty_fen", "其中食堂采购（元）"),
    ("union_welfare_fen", "工会福利采购（元）"),
    ("union_welfare_poverty_fen", "其中帮扶产品（元）"),
)


def _unit_rows(sheet, rows: list[dict]) -> None:
    """The 通报 table: rank, unit, credit code, figures, the year's target and the share reached."""
    sheet.append(
        [
            "排名",
            "单位",
            "统一社会信用代码",
            "订单数",
            *(title for _, title in UNIT_HEADERS),
            *("年度目标（元）", "年内累计计入（元）", "完成比例", "主要产地县"),
        ]
    )
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        target = row.get("target")
        share = target["share_bps"] if target and target["share_bps"] is not None else None
        counties = "、".join(item["name"] for item in row["by_county"])
        sheet.append(
            [row["rank"], row["name"], row["credit_code"], row["orders"]]
            + [_yuan(row[key]) for key, _ in UNIT_HEADERS]
            + [
                _yuan(target["target_fen"]) if target else None,
                _yuan(target["counted_fen"]) if target else None,
                Decimal(share) / 10000 if share is not None else None,
                counties,
            ]
        )
        for cell in sheet[sheet.max_row][4:11]:
            cell.number_format = YUAN
        sheet.cell(sheet.max_row, 12).number_format = "0.00%"
    sheet.column_dimensions["B"].width = 30
    sheet.column_dimensions["C"].width = 22


def to_xlsx(report: SalesReport, trend: dict | None = None) -> bytes:
    snapshot = json.loads(report.snapshot)
    book = Workbook()
    summary = book.active
    summary.title = "汇总"
    for label, value in _header_lines(report, snapshot):
        summary.append([label, value])
    summary.append([])
    summary.append(["指标", "数值"])
    for key, title, money in HEADERS:
        summary.append([title, _figure(snapshot["totals"], key, money)])
        if money:
            summary.cell(summary.max_row, 2).number_format = YUAN
    summary.append([])
    for key in (
        "villages",
        "poverty_villages",
        "with_info_officer",
        "with_ecommerce_talent",
        "with_station",
        "poverty_villages_fibre_covered",
        "poverty_villages_4g_covered",
    ):
        summary.append([f"政策指标 {key}", snapshot["policy"].get(key, 0)])
    summary.column_dimensions["A"].width = 28
    summary.column_dimensions["B"].width = 70
    _figure_rows(book.create_sheet("分村"), "村代码", snapshot["villages"])
    _figure_rows(book.create_sheet("分品类"), "品类", snapshot["categories"])
    if trend:
        sheet = book.create_sheet("月度趋势")
        sheet.append(["月份", "销售额（元）", "脱贫户收入（元）", "监测对象收入（元）"])
        for month, gmv, tuopin, monitored in zip(
            trend["months"],
            trend["gmv_fen"],
            trend["tuopin_household_income_fen"],
            trend["monitored_household_income_fen"],
            strict=True,
        ):
            sheet.append([month, _yuan(gmv), _yuan(tuopin), _yuan(monitored)])
        chart = BarChart()
        chart.title = "月度销售额与脱贫户、监测对象收入"
        chart.y_axis.title = "元"
        data = Reference(sheet, min_col=2, max_col=4, min_row=1, max_row=sheet.max_row)
        chart.add_data(data, titles_from_data=True)
        chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=sheet.max_row))
        sheet.add_chart(chart, "E2")
    if "units" in snapshot:  # snapshots made before the unit table have none
        _unit_rows(book.create_sheet("单位消费帮扶"), snapshot["units"])
    return xlsx_bytes(book)  # names written as text, never as formulas


def to_csv(report: SalesReport) -> bytes:
    """UTF-8 with BOM so Excel reads the Chinese correctly; amounts in yuan with two decimals."""
    snapshot = json.loads(report.snapshot)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for label, value in _header_lines(report, snapshot):
        writer.writerow(csv_row([label, value]))
    for section, first_column, rows in (
        ("合计", "", [{"key": "", "name": "合计", **snapshot["totals"]}]),
        ("分村", "村代码", snapshot["villages"]),
        ("分品类", "品类", snapshot["categories"]),
    ):
        writer.writerow([])
        writer.writerow([section])
        writer.writerow([first_column or "范围", "名称", *(title for _, title, _ in HEADERS)])
        for row in rows:
            writer.writerow(csv_row([row["key"], row["name"], *(_csv_figure(row, k, m) for k, _, m in HEADERS)]))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
