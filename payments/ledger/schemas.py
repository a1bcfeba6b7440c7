"""Settlement request and response schemas (fields listed explicitly)."""

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from core.fields import FullMatch, LocalDateTime, enum_string, one_of
from core.pagination import PageArgs
from core.pii import mask_bank_account
from payments.ledger.models import PayoutMethod, PayoutStatus

CODE = FullMatch(r"\d{4,12}", error="应为4到12位的行政区划代码")


class BalanceArgs(Schema):
    owner = fields.String(required=True, validate=validate.Length(min=1, max=40))


class BalanceSchema(Schema):
    owner = fields.String()
    pending_fen = fields.Integer()
    available_fen = fields.Integer()
    paid_out_fen = fields.Integer()


class SettlementRunArgs(Schema):
    county_code = fields.String(required=True, validate=FullMatch(r"\d{6}", error="县级代码应为6位数字"))


class PayoutSchema(Schema):
    id = fields.Integer()
    batch_id = fields.Integer()
    owner = fields.String()
    payee_name = fields.String()
    payee_account = fields.String(attribute="masked_account")
    # alipay: an Alipay transfer; bank: a line of the county's 银行代发 file (bank_name is its 开户行).
    method = enum_string(PayoutMethod)
    bank_name = fields.String(allow_none=True)
    exported_at = LocalDateTime(allow_none=True)
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


class BankAccountArgs(Schema):
    account_name = fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"description": "户名（与银行登记一致）"}
    )
    account_no = fields.String(required=True, validate=validate.Length(min=8, max=40), metadata={"description": "账号"})
    bank_name = fields.String(
        required=True,
        validate=validate.Length(min=2, max=64),
        metadata={"description": "开户行"},
    )
    consent = fields.Boolean(required=True, metadata={"description": "收款人本人已同意以此账户收款"})


class BankAccountSchema(Schema):
    owner = fields.Function(lambda a: f"{a.party_type}:{a.party_id}")
    account_name = fields.String()
    account_no = fields.Function(lambda a: mask_bank_account(a.account_no))
    bank_name = fields.String()
    consented_at = LocalDateTime()
    updated_at = LocalDateTime()


class BankFileArgs(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv")))


class BankResultUploadArgs(Schema):
    file = Upload(required=True, metadata={"description": "银行回单文件（CSV 或 XLSX）：参考号、金额、状态、失败原因"})


class BankResultProblemSchema(Schema):
    row = fields.Integer()
    reference = fields.String()
    problem = fields.String()


class BankResultSchema(Schema):
    paid = fields.Integer()
    failed = fields.Integer()
    unchanged = fields.Integer(metadata={"description": "已有结果的行（重复导入不改变任何数据）"})
    in_transfer = fields.Integer(metadata={"description": "仍在银行处理中的款项（回单未提及）"})
    problems = fields.List(fields.Nested(BankResultProblemSchema))
