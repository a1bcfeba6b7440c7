"""Settlement request and response schemas (fields listed explicitly)."""

from marshmallow import Schema, fields, validate

from core.fields import LocalDateTime, enum_string, one_of
from core.pagination import PageArgs
from core.pii import mask_account
from payments.ledger.models import PayoutStatus

CODE = validate.Regexp(r"^\d{4,12}$", error="应为4到12位的行政区划代码")


class BalanceArgs(Schema):
    owner = fields.String(required=True, validate=validate.Length(min=1, max=40))


class BalanceSchema(Schema):
    owner = fields.String()
    pending_fen = fields.Integer()
    available_fen = fields.Integer()
    paid_out_fen = fields.Integer()


class SettlementRunArgs(Schema):
    county_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="县级代码应为6位数字"))


class PayoutSchema(Schema):
    id = fields.Integer()
    batch_id = fields.Integer()
    owner = fields.String()
    payee_name = fields.String()
    payee_account = fields.Function(lambda p: mask_account(p.payee_account))
    amount_fen = fields.Integer()
    out_biz_no = fields.String()
    status = enum_string(PayoutStatus)
    failure_reason = fields.String(allow_none=True)
    attempts = fields.Integer()
    created_at = LocalDateTime()
    completed_at = LocalDateTime(allow_none=True)


class SkippedSchema(Schema):
    owner = fields.String()
    name = fields.String()
    reason = fields.String()


class PayoutBatchSchema(Schema):
    id = fields.Integer(attribute="batch.id")
    county_code = fields.String(attribute="batch.county_code")
    created_at = LocalDateTime(attribute="batch.created_at")
    payouts = fields.List(fields.Nested(PayoutSchema), attribute="batch.payouts")
    total_fen = fields.Function(lambda result: sum(p.amount_fen for p in result["batch"].payouts))
    skipped = fields.List(fields.Nested(SkippedSchema))
    # Unfinished payouts of earlier batches sent again (after a query) by this run.
    retried = fields.Integer()


class PayoutQueryArgs(PageArgs):
    region = fields.String(validate=CODE)
    status = fields.String(validate=one_of(PayoutStatus))
    batch_id = fields.Integer()
