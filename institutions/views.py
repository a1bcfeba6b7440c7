"""Unit API: units and their people, targets, invoice details, recipient lists, welfare deliveries,
bank transfers and the unit documents."""

from datetime import date

import sqlalchemy as sa
from flask import Response, request
from flask_smorest import Blueprint

from core.auth import authenticated, require_user
from core.db import utcnow
from core.errors import NotFound
from core.extensions import db
from core.openapi import may_answer
from core.pagination import page_schema, paginate
from institutions import deliveries, documents, ordering, transfers, units
from institutions.models import BankTransfer, UnitOrder
from institutions.schemas import (
    BankRefundListArgs,
    BankRefundSchema,
    BankRefundSentArgs,
    BankTransferArgs,
    BankTransferListArgs,
    BankTransferReturnArgs,
    BankTransferSchema,
    DeliveryLabelArgs,
    DeliveryLabelSchema,
    DeliveryPageSchema,
    DeliveryReceiptArgs,
    RecipientListSchema,
    RecipientListUploadArgs,
    ShipDeliveriesArgs,
    TransferReceiptUploadArgs,
    UnitArgs,
    UnitBindArgs,
    UnitInviteArgs,
    UnitInviteSchema,
    UnitInvoiceInfoSchema,
    UnitListArgs,
    UnitMemberSchema,
    UnitOrderSchema,
    UnitPatchArgs,
    UnitPeriodArgs,
    UnitSchema,
    UnitTargetArgs,
    UnitTargetSchema,
)
from shop.storage import storage

units_blp = Blueprint("units", __name__, description="单位消费帮扶：单位、采购员、预留份额、工会福利、对公转账、单据")

XLSX = documents.XLSX


def _xlsx(body: bytes, name: str) -> Response:
    return Response(body, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def _range(args: dict) -> tuple[date, date]:
    """A YYYY-MM month or a whole year."""
    if args.get("period"):
        year, month = (int(part) for part in args["period"].split("-"))
        first = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return first, date.fromordinal(following.toordinal() - 1)
    return date(args["year"], 1, 1), date(args["year"], 12, 31)


# Units -------------------------------------------------------------------------


@units_blp.post("/units")
@authenticated
@units_blp.arguments(UnitArgs)
@units_blp.response(201, UnitSchema)
def create_unit(args, actor):
    """Register a unit with its credit code (platform admin, or the poverty office in its region)."""
    return units.create_unit(actor, args)


@units_blp.get("/units")
@authenticated
@units_blp.arguments(UnitListArgs, location="query")
@units_blp.response(200, page_schema(UnitSchema, "UnitPage"))
def list_units(args, actor):
    """Units in the manager's region, or the units the caller buys for."""
    return units.list_units(actor, args.get("kind"), args["page"], args["per_page"])


@units_blp.get("/units/<int:unit_id>")
@authenticated
@units_blp.response(200, UnitSchema)
def get_unit(unit_id, actor):
    """One unit (its managers and its own members)."""
    return units.unit_for_reader(actor, unit_id)


@units_blp.patch("/units/<int:unit_id>")
@authenticated
@units_blp.arguments(UnitPatchArgs)
@units_blp.response(200, UnitSchema)
def update_unit(args, unit_id, actor):
    """Correct a unit's details (platform admin or the poverty office)."""
    return units.update_unit(actor, unit_id, args)


@units_blp.post("/units/<int:unit_id>/invites")
@authenticated
@units_blp.arguments(UnitInviteArgs)
@units_blp.response(201, UnitInviteSchema)
def issue_invite(args, unit_id, actor):
    """A single-use 8-digit invite code (unit admins invite purchasers; managers also admins)."""
    invite, code = units.issue_invite(actor, unit_id, args["role"])
    invite.code = code
    return invite


@units_blp.post("/units/bind")
@authenticated
@units_blp.arguments(UnitBindArgs)
@units_blp.response(200, UnitMemberSchema)
@may_answer(units_blp, 429)  # wrong codes slow down (core.throttle)
def bind(args, actor):
    """Join the unit an invite code was issued for (the code is then spent)."""
    return units.bind_invite(actor, args["code"], request.remote_addr)


@units_blp.get("/units/<int:unit_id>/members")
@authenticated
@units_blp.response(200, UnitMemberSchema(many=True))
def members(unit_id, actor):
    """The unit's active admins and purchasers (unit admin or managers)."""
    return units.list_members(actor, unit_id)


@units_blp.post("/units/<int:unit_id>/members/<int:member_id>/remove")
@authenticated
@units_blp.response(200, UnitMemberSchema)
def remove_member(unit_id, member_id, actor):
    """A unit admin removes a purchaser."""
    return units.remove_member(actor, unit_id, member_id)


@units_blp.put("/units/<int:unit_id>/targets/<int:year>")
@authenticated
@units_blp.arguments(UnitTargetArgs)
@units_blp.response(200, UnitTargetSchema)
def set_target(args, unit_id, year, actor):
    """A budget unit's reserved share for the year: canteen food budget × ratio."""
    if not 2000 <= year <= 2100:
        raise NotFound("年份不存在")
    return units.set_target(actor, unit_id, year, args["canteen_budget_fen"], args["ratio_bps"])


@units_blp.get("/units/<int:unit_id>/targets")
@authenticated
@units_blp.response(200, UnitTargetSchema(many=True))
def targets(unit_id, actor):
    """The unit's targets by year (the unit and the office)."""
    return units.list_targets(actor, unit_id)


@units_blp.put("/units/<int:unit_id>/invoice-info")
@authenticated
@units_blp.arguments(UnitInvoiceInfoSchema)
@units_blp.response(200, UnitInvoiceInfoSchema)
def set_invoice_info(args, unit_id, actor):
    """Store the unit's 开票信息 for the seller of record."""
    return units.set_invoice_info(actor, unit_id, args)


@units_blp.post("/units/<int:unit_id>/recipient-lists")
@authenticated
@units_blp.arguments(RecipientListUploadArgs, location="files")
@units_blp.response(201, RecipientListSchema)
def upload_recipients(args, unit_id, actor):
    """Upload a union welfare recipient list (CSV or XLSX, ≤ 500 rows); answers it masked."""
    listing = ordering.upload_recipient_list(actor, unit_id, args["file"])
    listing_view = {
        "id": listing.id,
        "unit_id": listing.unit_id,
        "count": listing.count,
        "recipients": ordering.recipients_of_list(listing),
        "created_at": listing.created_at,
    }
    return listing_view


@units_blp.get("/units/<int:unit_id>/statement")
@authenticated
@units_blp.arguments(UnitPeriodArgs, location="query")
@units_blp.response(200, content_type=XLSX)
def statement(args, unit_id, actor):
    """对账单 (XLSX): outstanding transfer orders with the payee account, payments and transfers of the period."""
    unit = units.unit_for_reader(actor, unit_id)
    first, last = _range(args)
    return _xlsx(documents.statement(unit, first, last, utcnow()), f"statement-{unit.id}-{first:%Y%m%d}-{last:%Y%m%d}")


@units_blp.get("/units/<int:unit_id>/purchases/export")
@authenticated
@units_blp.arguments(UnitPeriodArgs, location="query")
@units_blp.response(200, content_type=XLSX)
def purchases_export(args, unit_id, actor):
    """The unit's paid purchases of a month or year, one row per order and SKU (XLSX)."""
    unit = units.unit_for_reader(actor, unit_id)
    first, last = _range(args)
    return _xlsx(documents.purchases_export(unit, first, last), f"purchases-{unit.id}-{first:%Y%m%d}-{last:%Y%m%d}")


# Unit orders and welfare deliveries -------------------------------------------------


@units_blp.get("/unit-orders/<int:order_id>")
@authenticated
@units_blp.response(200, UnitOrderSchema)
def unit_order(order_id, actor):
    """The unit side of an order: unit, purpose, payment reference and due date, transfers received."""
    record = documents.order_for_document(actor, order_id)
    record.transfers = list(
        db.session.scalars(sa.select(BankTransfer).where(BankTransfer.order_id == order_id).order_by(BankTransfer.id))
    )
    record.received_fen = sum(t.amount_fen - t.returned_fen for t in record.transfers)
    record.recipients = len(ordering.deliveries_of(order_id))
    return record


@units_blp.get("/orders/<int:order_id>/settlement-statement")
@authenticated
@units_blp.response(200, content_type=XLSX)
def settlement_statement(order_id, actor):
    """结算单 (XLSX): unit, credit code, invoice details, items, amounts, poverty counties of origin."""
    record = documents.order_for_document(actor, order_id)
    return _xlsx(documents.settlement_statement(record), f"settlement-{order_id}")


@units_blp.get("/orders/<int:order_id>/deliveries")
@authenticated
@units_blp.response(200, DeliveryPageSchema)
def list_deliveries(order_id, actor):
    """Recipients of a union welfare order (masked) with their status; stations see their lines."""
    return _delivery_page(order_id)


def _delivery_page(order_id: int) -> dict:
    rows = deliveries.deliveries_for(require_user(), order_id)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    order_status = db.session.get(UnitOrder, order_id).order.status
    return {"order_id": order_id, "order_status": order_status, "counts": counts, "items": rows}


@units_blp.get("/orders/<int:order_id>/deliveries/labels")
@authenticated
@units_blp.arguments(DeliveryLabelArgs, location="query")
@units_blp.response(200, DeliveryLabelSchema(many=True))
def delivery_labels(args, order_id, actor):
    """Full recipient addresses for the station shipping them (audited)."""
    return deliveries.delivery_labels(actor, order_id, args["station_id"])


@units_blp.post("/orders/<int:order_id>/deliveries/shipments")
@authenticated
@units_blp.arguments(ShipDeliveriesArgs)
@units_blp.response(201, DeliveryPageSchema)
def ship_deliveries(args, order_id, actor):
    """The station ships one parcel per listed recipient (carrier and tracking number each)."""
    deliveries.ship_deliveries(actor, order_id, args["station_id"], args["parcels"])
    return _delivery_page(order_id)


@units_blp.post("/orders/<int:order_id>/deliveries/receipts")
@authenticated
@units_blp.arguments(DeliveryReceiptArgs)
@units_blp.response(200, DeliveryPageSchema)
def confirm_deliveries(args, order_id, actor):
    """The unit confirms listed recipients received their parcels; the order completes with the last."""
    deliveries.confirm_deliveries(actor, order_id, args["delivery_ids"])
    return _delivery_page(order_id)


# Bank transfers ------------------------------------------------------------------


@units_blp.post("/bank-transfers")
@authenticated
@units_blp.arguments(BankTransferArgs, location="form")
@units_blp.arguments(TransferReceiptUploadArgs, location="files")
@units_blp.response(201, BankTransferSchema)
def record_transfer(args, files, actor):
    """The county centre records a received 对公转账 (multipart: fields and the receipt image).

    Exact amount: the order is paid. Short: held until the rest arrives.
    Excess: the order is paid, the excess held. Late or for a paid/cancelled
    order: held. Held money waits in suspense until returned. The same bank
    serial number again returns the first record (200) and changes nothing.
    """
    transfer, created = transfers.record_transfer(actor, args, files["receipt"])
    return transfer, 201 if created else 200


@units_blp.get("/bank-transfers")
@authenticated
@units_blp.arguments(BankTransferListArgs, location="query")
@units_blp.response(200, page_schema(BankTransferSchema, "BankTransferPage"))
def list_transfers(args, actor):
    """Transfers recorded for orders of the caller's county (``status=held``: the suspense list)."""
    statement = transfers.transfers_for(actor, args.get("status"), args.get("order_id"))
    return paginate(statement, args["page"], args["per_page"])


@units_blp.get("/bank-transfers/<int:transfer_id>/receipt")
@authenticated
@units_blp.response(200, content_type="image/jpeg")
def bank_transfer_receipt(transfer_id, actor):
    """The bank receipt image (the county that recorded the transfer; platform admins)."""
    response = storage().response(transfers.transfer_for_reader(actor, transfer_id).receipt_image_key)
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@units_blp.post("/bank-transfers/<int:transfer_id>/return")
@authenticated
@units_blp.arguments(BankTransferReturnArgs)
@units_blp.response(200, BankTransferSchema)
def return_transfer(args, transfer_id, actor):
    """Resolve held money: the centre sent it back to the payer (its own bank serial number)."""
    return transfers.return_held(actor, transfer_id, args["return_serial_no"])


@units_blp.get("/bank-transfers/refunds")
@authenticated
@units_blp.arguments(BankRefundListArgs, location="query")
@units_blp.response(200, page_schema(BankRefundSchema, "BankRefundPage"))
def list_bank_refunds(args, actor):
    """Approved after-sales refunds of orders paid by transfer (``status=pending``: still to send)."""
    statement = transfers.bank_refunds_for(actor, args.get("status"))
    return paginate(statement, args["page"], args["per_page"])


@units_blp.post("/bank-transfers/refunds/<int:refund_id>/sent")
@authenticated
@units_blp.arguments(BankRefundSentArgs)
@units_blp.response(200, BankRefundSchema)
def bank_refund_sent(args, refund_id, actor):
    """The county centre transferred the refund back; the lines are refunded and the ledger reversed."""
    return transfers.record_refund_sent(actor, refund_id, args["bank_serial_no"])
