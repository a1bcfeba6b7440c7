"""Request and response schemas of the unit API."""

import re

from flask import current_app
from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.fields import FullMatch, LocalDateTime, SerialNumber
from core.pagination import PageArgs
from core.pii import mask_phone
from institutions.credit_code import is_credit_code
from institutions.models import BankTransferStatus, MemberRole, UnitKind
from payments.models import GatewayRefundStatus
from shop.orders.schemas import OrderLineSchema

CREDIT_CODE_HELP = "18 位统一社会信用代码（GB 32100-2015 校验位）"


def _credit_code(value: str) -> None:
    if not is_credit_code(value):
        raise ValidationError("统一社会信用代码无效（长度、字符或校验位不正确）")


def _tax_id(value: str) -> None:
    """An 18-character tax id is the credit code and must pass its check; older ids are 15–20 characters."""
    if not re.fullmatch(r"[0-9A-Z]{15,20}", value or ""):
        raise ValidationError("纳税人识别号应为 15–20 位数字或大写字母")
    if len(value) == 18 and not is_credit_code(value):
        raise ValidationError("18 位纳税人识别号即统一社会信用代码，校验位不正确")


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


class UnitArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    credit_code = fields.String(required=True, validate=_credit_code, metadata={"description": CREDIT_CODE_HELP})
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in UnitKind]))
    parent_id = fields.Integer(allow_none=True)
    region_code = fields.String(required=True, validate=FullMatch(r"\d{4,6}", error="地区代码应为市或县级代码"))
    address = fields.String(validate=validate.Length(max=200))


class UnitPatchArgs(Schema):
    name = fields.String(validate=validate.Length(min=2, max=100))
    credit_code = fields.String(validate=_credit_code, metadata={"description": CREDIT_CODE_HELP})
    kind = fields.String(validate=validate.OneOf([k.value for k in UnitKind]))
    parent_id = fields.Integer(allow_none=True)
    region_code = fields.String(validate=FullMatch(r"\d{4,6}", error="地区代码应为市或县级代码"))
    address = fields.String(validate=validate.Length(max=200))
    is_active = fields.Boolean()


class UnitListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf([k.value for k in UnitKind]))


class UnitInvoiceInfoSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(min=2, max=100))
    tax_id = fields.String(required=True, validate=_tax_id)
    address = fields.String(required=True, validate=validate.Length(min=2, max=200))
    phone = fields.String(required=True, validate=FullMatch(r"[0-9+\-() ]{5,30}", error="电话格式不正确"))
    bank_name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    bank_account = fields.String(required=True, validate=FullMatch(r"[0-9 ]{8,40}", error="银行账号应为数字"))


class UnitSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    region_code = fields.String()
    address = fields.String(allow_none=True)
    is_active = fields.Boolean()
    invoice_info = fields.Nested(UnitInvoiceInfoSchema, allow_none=True)
    created_at = LocalDateTime()


class UnitInviteArgs(Schema):
    role = fields.String(
        load_default=MemberRole.PURCHASER.value, validate=validate.OneOf([r.value for r in MemberRole])
    )


class UnitInviteSchema(Schema):
    id = fields.Integer()
    unit_id = fields.Integer()
    role = fields.String()
    # Shown once, when issued; only its digest is stored.
    code = fields.String()
    expires_at = LocalDateTime()


class UnitBindArgs(Schema):
    code = fields.String(required=True, validate=FullMatch(r"\d{8}", error="邀请码为 8 位数字"))


class UnitMemberSchema(Schema):
    id = fields.Integer()
    unit_id = fields.Integer()
    user_id = fields.Integer()
    display_name = fields.Function(lambda member: member.user.display_name)
    role = fields.String()
    created_at = LocalDateTime()


class UnitTargetArgs(Schema):
    canteen_budget_fen = fields.Integer(required=True, validate=validate.Range(min=1, max=10**13))
    ratio_bps = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=10000),
        metadata={"description": "预留比例（基点，1000 = 10%）"},
    )


class UnitTargetSchema(Schema):
    year = fields.Integer()
    canteen_budget_fen = fields.Integer()
    ratio_bps = fields.Integer()
    target_fen = fields.Integer()
    updated_at = LocalDateTime()


class RecipientListUploadArgs(Schema):
    file = Upload(
        required=True, metadata={"description": "CSV（UTF-8/GB18030）或 XLSX：姓名、手机、地区代码、详细地址"}
    )


class MaskedRecipientSchema(Schema):
    name = fields.Function(lambda r: _mask_name(r["name"]))
    phone = fields.Function(lambda r: mask_phone(r["phone"]))
    region_code = fields.String()


class RecipientListSchema(Schema):
    id = fields.Integer()
    unit_id = fields.Integer()
    count = fields.Integer()
    recipients = fields.List(fields.Nested(MaskedRecipientSchema))
    created_at = LocalDateTime()


class DeliverySchema(Schema):
    id = fields.Function(lambda row: row["delivery"].id)
    seq = fields.Function(lambda row: row["delivery"].seq)
    name = fields.Function(lambda row: _mask_name(row["delivery"].name))
    phone = fields.Function(lambda row: mask_phone(row["delivery"].phone))
    region_code = fields.Function(lambda row: row["delivery"].region_code)
    status = fields.String()
    lines = fields.List(fields.Nested(OrderLineSchema))


class DeliveryLabelSchema(Schema):
    id = fields.Function(lambda row: row["delivery"].id)
    seq = fields.Function(lambda row: row["delivery"].seq)
    name = fields.Function(lambda row: row["delivery"].name)
    phone = fields.Function(lambda row: row["delivery"].phone)
    region_code = fields.Function(lambda row: row["delivery"].region_code)
    detail = fields.Function(lambda row: row["delivery"].detail)
    lines = fields.List(fields.Nested(OrderLineSchema))


class DeliveryLabelArgs(Schema):
    station_id = fields.Integer(required=True)


class DeliveryParcelArgs(Schema):
    delivery_id = fields.Integer(required=True)
    carrier = fields.String(required=True, validate=validate.Length(min=2, max=40))
    tracking_no = fields.String(required=True, validate=FullMatch(r"[A-Za-z0-9-]{6,40}", error="运单号格式不正确"))


class ShipDeliveriesArgs(Schema):
    station_id = fields.Integer(required=True)
    parcels = fields.List(fields.Nested(DeliveryParcelArgs), required=True, validate=validate.Length(min=1, max=500))


class DeliveryReceiptArgs(Schema):
    delivery_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=500))


class DeliveryPageSchema(Schema):
    order_id = fields.Integer()
    order_status = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    items = fields.List(fields.Nested(DeliverySchema))


class BankTransferArgs(Schema):
    payment_reference = fields.String(required=True, validate=validate.Length(min=4, max=20))
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1, max=10**11))
    payer_account_name = fields.String(required=True, validate=validate.Length(min=2, max=100))
    bank_serial_no = SerialNumber(
        required=True, validate=FullMatch(r"[A-Za-z0-9-]{6,64}", error="银行流水号应为 6–64 位字母数字")
    )
    received_on = fields.Date(required=True)


class TransferReceiptUploadArgs(Schema):
    receipt = Upload(required=True, metadata={"description": "银行回单图片（JPEG/PNG/WebP ≤ 5 MB）"})


class BankTransferReturnArgs(Schema):
    return_serial_no = SerialNumber(
        required=True, validate=FullMatch(r"[A-Za-z0-9-]{6,64}", error="退款流水号应为 6–64 位字母数字")
    )


class BankTransferListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([s.value for s in BankTransferStatus]))
    order_id = fields.Integer()


def _receipt_url(transfer) -> str:
    """The authenticated receipt endpoint, not /media/: a receipt names the payer's bank account."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/api/v1/bank-transfers/{transfer.id}/receipt"


class BankTransferSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    amount_fen = fields.Integer()
    payer_account_name = fields.String()
    bank_serial_no = fields.String()
    received_on = fields.Date()
    receipt_image_url = fields.Function(lambda t: _receipt_url(t))
    status = fields.String()
    applied_fen = fields.Integer()
    held_fen = fields.Integer()
    returned_fen = fields.Integer()
    hold_reason = fields.String(allow_none=True)
    payment_id = fields.Integer(allow_none=True)
    recorded_at = LocalDateTime()
    return_serial_no = fields.String(allow_none=True)
    returned_at = LocalDateTime(allow_none=True)


class UnitBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    credit_code = fields.String()
    kind = fields.String()


class UnitOrderSchema(Schema):
    order_id = fields.Integer()
    unit = fields.Nested(UnitBriefSchema)
    purpose = fields.String()
    payment_method = fields.String()
    payment_reference = fields.String(allow_none=True)
    due_on = fields.Date(allow_none=True)
    status = fields.Function(lambda u: u.order.status)
    total_fen = fields.Function(lambda u: u.order.total_fen)
    received_fen = fields.Integer()
    recipients = fields.Integer()
    transfers = fields.List(fields.Nested(BankTransferSchema))


class UnitPeriodArgs(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    period = fields.String(validate=FullMatch(r"\d{4}-(0[1-9]|1[0-2])", error="期间格式应为 YYYY-MM"))

    @validates_schema
    def one_of_year_or_period(self, data, **_):
        if ("year" in data) == ("period" in data):
            raise ValidationError("请提供 year 或 period 之一", "period")


class BankRefundListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf([GatewayRefundStatus.PENDING, GatewayRefundStatus.SUCCESS]))


class BankRefundSentArgs(Schema):
    bank_serial_no = SerialNumber(
        required=True, validate=FullMatch(r"[A-Za-z0-9-]{6,64}", error="银行流水号应为 6–64 位字母数字")
    )


class BankRefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Function(lambda refund: refund.payment.order_id)
    refund_request_id = fields.Integer(allow_none=True)
    amount_fen = fields.Integer()
    status = fields.String()
    # The centre's bank serial number of the transfer back, once sent.
    bank_serial_no = fields.String(attribute="gateway_refund_id", allow_none=True)
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)
