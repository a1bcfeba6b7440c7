"""Payment request and response schemas."""

from marshmallow import Schema, fields

from core.fields import LocalDateTime, enum_string, one_of
from payments.models import PaymentStatus
from payments.providers import CHANNELS, Channel


class PaymentArgs(Schema):
    channel = fields.String(required=True, validate=one_of(CHANNELS))


class PaymentSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    channel = enum_string(Channel)
    out_trade_no = fields.String()
    amount_fen = fields.Integer()
    status = enum_string(PaymentStatus)
    params = fields.Dict()
    created_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)
