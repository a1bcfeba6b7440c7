"""Payment request and response schemas."""

from marshmallow import Schema, fields, validate

from core.fields import LocalDateTime
from payments.providers import CHANNELS


class PaymentArgs(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))


class PaymentSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    channel = fields.String()
    out_trade_no = fields.String()
    amount_fen = fields.Integer()
    status = fields.String()
    params = fields.Dict()
    created_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)
