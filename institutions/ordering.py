"""Buying as a unit: placing canteen and union welfare orders, recipient lists, paying by transfer terms.

A union welfare order carries one copy of the gift set (``items``) per recipient:
each recipient is a delivery whose lines are that recipient's own order lines,
so stations ship, buyers receive and refunds work per recipient with the shop's
state machine and the ledger's per-line split unchanged.
"""

import csv
import io
import json
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from openpyxl import load_workbook

from core.clock import BEIJING, beijing_today
from core.db import utcnow
from core.errors import Forbidden, NotFound, ValidationFailed
from core.extensions import db
from core.models import User
from core.validators import is_mobile, normalise_phone
from institutions.models import (
    PaymentMethod,
    Purpose,
    RecipientList,
    Unit,
    UnitDelivery,
    UnitDeliveryLine,
    UnitKind,
    UnitOrder,
)
from institutions.units import get_unit, membership
from shop.orders.models import Order, OrderStatus
from shop.orders.placement import _check_cart, _check_on_sale, _load_skus, _snapshot, reserve_stock
from shop.orders.states import append_order_event
from villages.models import Region, Village

MAX_RECIPIENTS = 500
MAX_GIFT_ITEMS = 5  # SKUs in one gift set: recipients × items lines at most 2,500
MAX_LIST_BYTES = 2 * 1024 * 1024
TRANSFER_DUE_DAYS = 15
RECIPIENT_COLUMNS = {"姓名": "name", "name": "name", "手机": "phone", "手机号": "phone", "phone": "phone"}
RECIPIENT_COLUMNS |= {"地区代码": "region_code", "region_code": "region_code"}
RECIPIENT_COLUMNS |= {"详细地址": "detail", "地址": "detail", "detail": "detail"}


def _check_purpose(unit: Unit, purpose: str) -> None:
    if purpose not in tuple(Purpose):
        raise ValidationFailed.field("purpose", "采购用途应为 canteen（食堂采购）或 union_welfare（工会福利）")
    if purpose == Purpose.UNION_WELFARE and unit.kind != UnitKind.TRADE_UNION:
        raise ValidationFailed.field("purpose", "工会福利订单须以工会名义下单")
    if purpose == Purpose.CANTEEN and unit.kind == UnitKind.TRADE_UNION:
        raise ValidationFailed.field("purpose", "工会不能下食堂采购订单")


def check_recipient(raw: dict, regions: set[str]) -> tuple[dict | None, dict[str, list[str]]]:
    """One recipient normalised, or its problems by field."""
    problems: dict[str, list[str]] = {}
    name = str(raw.get("name") or "").strip()
    phone = normalise_phone(str(raw.get("phone") or ""))
    region_code = str(raw.get("region_code") or "").strip()
    detail = str(raw.get("detail") or "").strip()
    if not 1 <= len(name) <= 32:
        problems["name"] = ["姓名应为 1–32 个字符"]
    if not is_mobile(phone):
        problems["phone"] = ["手机号格式不正确"]
    if region_code not in regions:
        problems["region_code"] = ["地区代码不存在"]
    if not 2 <= len(detail) <= 200:
        problems["detail"] = ["详细地址应为 2–200 个字符"]
    if problems:
        return None, problems
    return {"name": name, "phone": phone, "region_code": region_code, "detail": detail}, {}


def check_recipients(rows: list[dict], field: str = "recipients", first_row: int = 0) -> list[dict]:
    """All recipients valid, or 422 with each bad row's problems by field.

    Rows are numbered like the request's own validation errors: list indexes
    from 0 for JSON, the spreadsheet's row numbers (header = 1) for files.
    """
    if not 1 <= len(rows) <= MAX_RECIPIENTS:
        raise ValidationFailed.field(field, f"收件人应为 1–{MAX_RECIPIENTS} 位")
    codes = {str(row.get("region_code") or "").strip() for row in rows}
    regions = set(db.session.scalars(sa.select(Region.code).where(Region.code.in_(codes))))
    clean, errors = [], {}
    for number, row in enumerate(rows, start=first_row):
        recipient, problems = check_recipient(row, regions)
        if problems:
            errors[str(number)] = problems
        else:
            clean.append(recipient)
    if errors:
        raise ValidationFailed(details={field: errors})
    return clean


def _rows_from_csv(data: bytes) -> list[dict]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")  # what Excel on a Chinese Windows saves CSV as
    return list(csv.DictReader(io.StringIO(text)))


def _rows_from_xlsx(data: bytes) -> list[dict]:
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows = book.active.iter_rows(values_only=True)
    header = [str(value or "").strip() for value in next(rows, ())]
    out = [dict(zip(header, row, strict=False)) for row in rows if any(value not in (None, "") for value in row)]
    book.close()
    return out


def parse_recipient_file(filename: str, data: bytes) -> list[dict]:
    """Rows of a CSV (UTF-8 or GB18030) or XLSX list with columns 姓名, 手机, 地区代码, 详细地址."""
    if len(data) > MAX_LIST_BYTES:
        raise ValidationFailed.field("file", "名单文件不能超过 2 MB")
    try:
        if filename.lower().endswith(".xlsx"):
            rows = _rows_from_xlsx(data)
        elif filename.lower().endswith(".csv"):
            rows = _rows_from_csv(data)
        else:
            raise ValidationFailed.field("file", "名单应为 .csv 或 .xlsx 文件")
    except (ValueError, KeyError, OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("file", "无法读取名单文件") from exc
    renamed = []
    for row in rows:
        renamed.append(
            {
                RECIPIENT_COLUMNS[key.strip()]: value
                for key, value in row.items()
                if key and key.strip() in RECIPIENT_COLUMNS
            }
        )
    if rows and not {"name", "phone", "region_code", "detail"} <= set(renamed[0]):
        raise ValidationFailed.field("file", "名单须有 姓名、手机、地区代码、详细地址 四列")
    return check_recipients(renamed, "file", first_row=2)


def upload_recipient_list(actor: User, unit_id: int, upload) -> RecipientList:
    """Store a parsed recipient list (encrypted) for a later union welfare order."""
    unit = get_unit(unit_id)
    if membership(actor, unit.id) is None:
        raise NotFound("单位不存在")
    if unit.kind != UnitKind.TRADE_UNION:
        raise ValidationFailed.field("file", "只有工会可以上传福利收件人名单")
    recipients = parse_recipient_file(upload.filename or "", upload.stream.read(MAX_LIST_BYTES + 1))
    listing = RecipientList(
        unit_id=unit.id,
        uploaded_by_id=actor.id,
        count=len(recipients),
        recipients=json.dumps(recipients, ensure_ascii=False),
    )
    db.session.add(listing)
    db.session.flush()
    return listing


def recipients_of_list(listing: RecipientList) -> list[dict]:
    return json.loads(listing.recipients)


def _recipients(unit: Unit, actor: User, fields: dict) -> list[dict]:
    if "recipient_list_id" in fields and "recipients" in fields:
        raise ValidationFailed.field("recipients", "recipients 与 recipient_list_id 只能提供一个")
    if "recipient_list_id" in fields:
        listing = db.session.get(RecipientList, fields["recipient_list_id"])
        if listing is None or listing.unit_id != unit.id:
            raise ValidationFailed.field("recipient_list_id", "收件人名单不存在")
        return recipients_of_list(listing)
    if "recipients" in fields:
        return check_recipients(fields["recipients"])
    raise ValidationFailed.field("recipients", "工会福利订单须提供收件人")


def due_date_and_deadline() -> tuple:
    """The transfer's last day (Beijing) and the end of that day as the order's deadline."""
    days = current_app.config.get("UNIT_TRANSFER_DUE_DAYS", TRANSFER_DUE_DAYS)
    due_on = beijing_today() + timedelta(days=days)
    return due_on, datetime.combine(due_on + timedelta(days=1), time.min, BEIJING)


def _build_order(buyer: User, items: list[dict], address: dict, recipients: list[dict] | None) -> Order:
    """A pending unit order; with ``recipients``, one delivery per recipient, each with its own gift lines.

    The shop's checks (cart, on sale, stock for all or nothing) apply; the shop's
    per-buyer caps on unpaid holdings do not: a unit's purchaser is bound by an
    invite, buys in canteen and gift quantities, and a transfer order holds its
    stock only until its due date.
    """
    gift = _check_cart(items)
    if recipients is not None and len(gift) > MAX_GIFT_ITEMS:
        raise ValidationFailed.field("items", f"福利礼包最多 {MAX_GIFT_ITEMS} 种商品")
    if db.session.get(Region, address["region_code"]) is None:
        raise ValidationFailed(details={"address": {"region_code": ["收货地区代码不存在"]}})
    skus = _load_skus(list(gift))
    _check_on_sale(gift, skus)
    copies = len(recipients) if recipients is not None else 1
    reserve_stock({sku_id: quantity * copies for sku_id, quantity in gift.items()})
    villages = {sku.product.origin_village_code for sku in skus.values()}
    poverty = set(
        db.session.scalars(sa.select(Village.code).where(Village.code.in_(villages), Village.is_poverty_village))
    )
    now = utcnow()
    per_copy = sum(skus[sku_id].price_fen * quantity for sku_id, quantity in gift.items())
    order = Order(
        buyer_id=buyer.id,
        total_fen=per_copy * copies,
        expires_at=now + timedelta(minutes=current_app.config["ORDER_PAYMENT_TIMEOUT_MINUTES"]),
        address_name=address["name"],
        address_phone=normalise_phone(address["phone"]),
        address_region_code=address["region_code"],
        address_detail=address["detail"],
        created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    if recipients is None:
        order.lines.extend(_snapshot(skus[sku_id], quantity, poverty) for sku_id, quantity in gift.items())
        db.session.flush()
        append_order_event(order, None, None, OrderStatus.PENDING_PAYMENT, buyer, "单位采购下单")
        return order
    for seq, recipient in enumerate(recipients, start=1):
        delivery = UnitDelivery(order_id=order.id, seq=seq, **recipient)
        db.session.add(delivery)
        lines = [_snapshot(skus[sku_id], quantity, poverty) for sku_id, quantity in gift.items()]
        order.lines.extend(lines)
        db.session.flush()
        db.session.add_all(UnitDeliveryLine(order_line_id=line.id, delivery_id=delivery.id) for line in lines)
    db.session.flush()
    append_order_event(
        order, None, None, OrderStatus.PENDING_PAYMENT, buyer, f"工会福利下单（{len(recipients)} 位收件人）"
    )
    return order


def place_unit_order(buyer: User, items: list[dict], address: dict, unit: dict) -> Order:
    """A purchaser orders on behalf of the unit (answers ``shop.signals.unit_order_requested``)."""
    if "buyer_unit_id" not in unit:
        raise ValidationFailed.field("buyer_unit_id", "请选择下单单位")
    record = db.session.get(Unit, unit["buyer_unit_id"])
    if record is None or membership(buyer, record.id) is None:
        raise ValidationFailed.field("buyer_unit_id", "您不是该单位的采购员")
    if not record.is_active:
        raise Forbidden("单位已停用")
    purpose = unit.get("purpose") or Purpose.CANTEEN
    _check_purpose(record, purpose)
    method = unit.get("payment_method") or PaymentMethod.ONLINE
    if method not in tuple(PaymentMethod):
        raise ValidationFailed.field("payment_method", "付款方式应为 online 或 bank_transfer")
    if purpose == Purpose.UNION_WELFARE:
        order = _build_order(buyer, items, address, _recipients(record, buyer, unit))
    else:
        if "recipients" in unit or "recipient_list_id" in unit:
            raise ValidationFailed.field("recipients", "只有工会福利订单按收件人配送")
        order = _build_order(buyer, items, address, None)
    unit_order = UnitOrder(
        order_id=order.id, unit_id=record.id, purpose=purpose, payment_method=method, placed_by_id=buyer.id
    )
    if method == PaymentMethod.BANK_TRANSFER:
        # The transfer's due date is the order's deadline: the expiry job cancels it
        # and releases the stock when the day ends unpaid.
        unit_order.due_on, order.expires_at = due_date_and_deadline()
        unit_order.payment_reference = f"ZZDW{order.id:08d}"
    db.session.add(unit_order)
    db.session.flush()
    return order


def unit_order_of(order_id: int) -> UnitOrder | None:
    return db.session.get(UnitOrder, order_id)


def deliveries_of(order_id: int) -> list[UnitDelivery]:
    return list(
        db.session.scalars(sa.select(UnitDelivery).where(UnitDelivery.order_id == order_id).order_by(UnitDelivery.seq))
    )
