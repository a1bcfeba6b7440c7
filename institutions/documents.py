"""Documents a unit's finance office needs, as XLSX: the 结算单 of an order, the 对账单 to pay
against, and an export of the unit's purchases for its own audit."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Font

from core.auth import scope_for
from core.clock import BEIJING
from core.errors import NotFound
from core.extensions import db
from core.models import Role, User
from core.spreadsheets import xlsx_bytes
from core.vocabulary import label_of
from institutions.models import BankTransfer, PaymentMethod, Purpose, Unit, UnitKind, UnitOrder
from institutions.units import is_manager_of, membership, unit_for_reader
from shop.orders.models import LineStatus, Order, OrderLine, OrderStatus
from villages.models import Centre, Region

YUAN = "#,##0.00"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


def _local(moment) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if moment else ""


def _bold_row(sheet) -> None:
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)


def _money_columns(sheet, columns: tuple[int, ...]) -> None:
    for column in columns:
        sheet.cell(sheet.max_row, column).number_format = YUAN


def _save(book: Workbook) -> bytes:
    return xlsx_bytes(book)  # names and invoice fields written as text, never as formulas


def _payee() -> list[tuple[str, str]]:
    config = current_app.config
    return [
        ("收款单位", config.get("BANK_TRANSFER_PAYEE_NAME") or "（未配置 BANK_TRANSFER_PAYEE_NAME）"),
        ("开户银行", config.get("BANK_TRANSFER_PAYEE_BANK") or "（未配置 BANK_TRANSFER_PAYEE_BANK）"),
        ("银行账号", config.get("BANK_TRANSFER_PAYEE_ACCOUNT") or "（未配置 BANK_TRANSFER_PAYEE_ACCOUNT）"),
    ]


def _unit_header(unit: Unit) -> list[tuple[str, str]]:
    rows = [("单位名称", unit.name), ("统一社会信用代码", unit.credit_code), ("单位类型", UnitKind(unit.kind).label)]
    info = unit.invoice_info
    if info is not None:
        rows += [
            ("开票抬头", info.title),
            ("纳税人识别号", info.tax_id),
            ("地址、电话", f"{info.address} {info.phone}"),
            ("开户行及账号", f"{info.bank_name} {info.bank_account}"),
        ]
    return rows


def order_for_document(actor: User, order_id: int) -> UnitOrder:
    """The unit order, for its buyer, the unit's members, the office, or staff selling lines of it."""
    unit_order = db.session.get(UnitOrder, order_id)
    if unit_order is None:
        raise NotFound("订单不存在")
    if unit_order.order.buyer_id == actor.id or membership(actor, unit_order.unit_id) is not None:
        return unit_order
    if is_manager_of(actor, unit_order.unit):
        return unit_order
    lines = unit_order.order.lines
    if actor.has_role(Role.STATION_MANAGER):  # a station selling lines of it (its scope is its village)
        stations = scope_for(actor, Role.STATION_MANAGER).station_ids
        if stations is None or {line.station_id for line in lines} & stations:
            return unit_order
    if actor.has_role(Role.COUNTY_ADMIN):  # the county centre selling lines of it
        scope = scope_for(actor, Role.COUNTY_ADMIN)
        counties = db.session.scalars(
            sa.select(Centre.county_code).where(
                Centre.id.in_({line.centre_id for line in lines}), scope.filter(Centre.county_code)
            )
        ).all()
        if counties:
            return unit_order
    raise NotFound("订单不存在")


def _grouped_lines(lines: list[OrderLine]) -> list[dict]:
    """Lines of the same SKU added up (a welfare order has one per recipient)."""
    groups: dict[int, dict] = {}
    for line in lines:
        if line.status == LineStatus.CANCELLED:
            continue
        group = groups.setdefault(
            line.sku_id,
            {
                "title": line.product_title,
                "sku": line.sku_name,
                "unit_price_fen": line.unit_price_fen,
                "quantity": 0,
                "amount_fen": 0,
                "refunded_fen": 0,
                "village_code": line.village_code,
                "poverty": line.poverty_certified or line.poverty_village,
            },
        )
        group["quantity"] += line.quantity
        group["amount_fen"] += line.amount_fen
        group["refunded_fen"] += line.refunded_fen
    return list(groups.values())


def _region_names(codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return dict(db.session.execute(sa.select(Region.code, Region.name).where(Region.code.in_(codes))).all())


def settlement_statement(unit_order: UnitOrder) -> bytes:
    """结算单: unit, credit code and invoice details, items, amounts, poverty counties of origin."""
    order: Order = unit_order.order
    groups = _grouped_lines(order.lines)
    names = _region_names({g["village_code"] for g in groups} | {g["village_code"][:6] for g in groups})
    book = Workbook()
    sheet = book.active
    sheet.title = "结算单"
    sheet.append([f"消费帮扶采购结算单（订单 {order.id}）"])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in [
        *_unit_header(unit_order.unit),
        ("订单编号", str(order.id)),
        ("采购用途", Purpose(unit_order.purpose).label),
        ("付款方式", PaymentMethod(unit_order.payment_method).label),
        ("付款参考号", unit_order.payment_reference or ""),
        ("订单状态", label_of(OrderStatus, order.status)),
        ("下单时间", _local(order.created_at)),
        ("付款时间", _local(order.paid_at)),
    ]:
        sheet.append([label, value])
    sheet.append([])
    sheet.append(["商品", "规格", "单价（元）", "数量", "金额（元）", "已退款（元）", "产地村", "产地县", "帮扶产品"])
    _bold_row(sheet)
    for group in groups:
        county = group["village_code"][:6]
        sheet.append(
            [
                group["title"],
                group["sku"],
                _yuan(group["unit_price_fen"]),
                group["quantity"],
                _yuan(group["amount_fen"]),
                _yuan(group["refunded_fen"]),
                names.get(group["village_code"], group["village_code"]),
                names.get(county, county),
                "是" if group["poverty"] else "否",
            ]
        )
        _money_columns(sheet, (3, 5, 6))
    amount = sum(g["amount_fen"] for g in groups)
    refunded = sum(g["refunded_fen"] for g in groups)
    poverty = sum(g["amount_fen"] - g["refunded_fen"] for g in groups if g["poverty"])
    sheet.append(["合计", "", "", sum(g["quantity"] for g in groups), _yuan(amount), _yuan(refunded)])
    _bold_row(sheet)
    _money_columns(sheet, (5, 6))
    sheet.append(["结算金额（元）", _yuan(amount - refunded)])
    _money_columns(sheet, (2,))
    sheet.append(["其中帮扶产品（元）", _yuan(poverty)])
    _money_columns(sheet, (2,))
    counties = sorted({g["village_code"][:6] for g in groups if g["poverty"]})
    sheet.append(["帮扶产品产地县", "、".join(names.get(code, code) for code in counties)])
    for column, width in zip("ABCDEFGHI", (22, 40, 12, 8, 14, 14, 24, 14, 10), strict=True):
        sheet.column_dimensions[column].width = width
    return _save(book)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return datetime.combine(first, time.min, BEIJING), datetime.combine(last + timedelta(days=1), time.min, BEIJING)


def _paid_between(unit: Unit, first: date, last: date) -> list[UnitOrder]:
    start, end = _bounds(first, last)
    return list(
        db.session.scalars(
            sa.select(UnitOrder)
            .join(Order, Order.id == UnitOrder.order_id)
            .where(UnitOrder.unit_id == unit.id, Order.paid_at >= start, Order.paid_at < end)
            .order_by(Order.paid_at, Order.id)
        )
    )


def _section(sheet, title: str, headers: list[str]) -> None:
    """A blank line, the section's bold title and its bold column headers."""
    sheet.append([])
    sheet.append([title])
    _bold_row(sheet)
    sheet.append(headers)
    _bold_row(sheet)


def _outstanding_rows(sheet, unit: Unit, now: datetime) -> None:
    """一、待付款: unpaid bank-transfer orders still within their deadline, less what is held for them."""
    _section(
        sheet,
        "一、待付款（对公转账，请在备注中填写付款参考号）",
        ["订单编号", "付款参考号", "用途", "下单时间", "付款截止日", "应付金额（元）"],
    )
    outstanding = db.session.scalars(
        sa.select(UnitOrder)
        .join(Order, Order.id == UnitOrder.order_id)
        .where(
            UnitOrder.unit_id == unit.id,
            UnitOrder.payment_method == PaymentMethod.BANK_TRANSFER,
            Order.status == OrderStatus.PENDING_PAYMENT,
            Order.expires_at > now,
        )
        .order_by(Order.id)
    ).all()
    for unit_order in outstanding:
        order = unit_order.order
        held = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(BankTransfer.held_fen), 0)).where(BankTransfer.order_id == order.id)
        )
        sheet.append(
            [
                order.id,
                unit_order.payment_reference,
                Purpose(unit_order.purpose).label,
                _local(order.created_at),
                unit_order.due_on.isoformat(),
                _yuan(order.total_fen - held),
            ]
        )
        _money_columns(sheet, (6,))


def _paid_rows(sheet, unit: Unit, first: date, last: date) -> None:
    """二、本期已付款订单: paid in the range, with what was refunded."""
    _section(
        sheet,
        "二、本期已付款订单",
        ["订单编号", "付款参考号", "用途", "付款方式", "付款时间", "金额（元）", "已退款（元）", "净额（元）"],
    )
    for unit_order in _paid_between(unit, first, last):
        order = unit_order.order
        refunded = sum(line.refunded_fen for line in order.lines)
        sheet.append(
            [
                order.id,
                unit_order.payment_reference or "",
                Purpose(unit_order.purpose).label,
                PaymentMethod(unit_order.payment_method).label,
                _local(order.paid_at),
                _yuan(order.total_fen),
                _yuan(refunded),
                _yuan(order.total_fen - refunded),
            ]
        )
        _money_columns(sheet, (6, 7, 8))


TRANSFER_HEADERS = [
    "银行流水号",
    "到账日期",
    "付款账户名",
    "金额（元）",
    "已入账（元）",
    "暂挂（元）",
    "已退回（元）",
    "订单编号",
]


def _transfer_rows(sheet, unit: Unit, first: date, last: date) -> None:
    """三、本期到账的转账: each bank transfer received in the range and where its money went."""
    _section(
        sheet,
        "三、本期到账的转账",
        TRANSFER_HEADERS,
    )
    transfers = db.session.scalars(
        sa.select(BankTransfer)
        .join(UnitOrder, UnitOrder.order_id == BankTransfer.order_id)
        .where(UnitOrder.unit_id == unit.id, BankTransfer.received_on >= first, BankTransfer.received_on <= last)
        .order_by(BankTransfer.received_on, BankTransfer.id)
    ).all()
    for transfer in transfers:
        sheet.append(
            [
                transfer.bank_serial_no,
                transfer.received_on.isoformat(),
                transfer.payer_account_name,
                _yuan(transfer.amount_fen),
                _yuan(transfer.applied_fen),
                _yuan(transfer.held_fen),
                _yuan(transfer.returned_fen),
                transfer.order_id,
            ]
        )
        _money_columns(sheet, (4, 5, 6, 7))


def statement(unit: Unit, first: date, last: date, now: datetime) -> bytes:
    """对账单: what the unit owes by transfer (with the payee account), what it paid and what arrived."""
    book = Workbook()
    sheet = book.active
    sheet.title = "对账单"
    sheet.append([f"{unit.name} 消费帮扶采购对账单（{first.isoformat()} 至 {last.isoformat()}）"])
    sheet["A1"].font = Font(bold=True, size=14)
    for label, value in [*_unit_header(unit), *_payee()]:
        sheet.append([label, value])
    _outstanding_rows(sheet, unit, now)
    _paid_rows(sheet, unit, first, last)
    _transfer_rows(sheet, unit, first, last)
    for column, width in zip("ABCDEFGH", (20, 18, 12, 18, 18, 14, 14, 14), strict=True):
        sheet.column_dimensions[column].width = width
    return _save(book)


def purchases_export(unit: Unit, first: date, last: date) -> bytes:
    """Every paid purchase of the unit in the range, one row per order and SKU, for its own audit."""
    book = Workbook()
    sheet = book.active
    sheet.title = "采购明细"
    sheet.append(
        [
            "订单编号",
            "付款时间",
            "用途",
            "付款方式",
            "商品",
            "规格",
            "数量",
            "金额（元）",
            "已退款（元）",
            "净额（元）",
            "产地村",
            "产地县",
            "帮扶产品",
        ]
    )
    _bold_row(sheet)
    paid = _paid_between(unit, first, last)
    groups = [(unit_order, group) for unit_order in paid for group in _grouped_lines(unit_order.order.lines)]
    names = _region_names({g["village_code"] for _, g in groups} | {g["village_code"][:6] for _, g in groups})
    for unit_order, group in groups:
        county = group["village_code"][:6]
        sheet.append(
            [
                unit_order.order_id,
                _local(unit_order.order.paid_at),
                Purpose(unit_order.purpose).label,
                PaymentMethod(unit_order.payment_method).label,
                group["title"],
                group["sku"],
                group["quantity"],
                _yuan(group["amount_fen"]),
                _yuan(group["refunded_fen"]),
                _yuan(group["amount_fen"] - group["refunded_fen"]),
                names.get(group["village_code"], group["village_code"]),
                names.get(county, county),
                "是" if group["poverty"] else "否",
            ]
        )
        _money_columns(sheet, (8, 9, 10))
    return _save(book)


def unit_for_documents(actor: User, unit_id: int) -> Unit:
    return unit_for_reader(actor, unit_id)
