"""Request and response schemas of batches, certificates, test reports and the trace answer."""

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from core.fields import FullMatch, LocalDateTime
from core.pagination import PageArgs
from core.pii import mask_phone
from shop.batches.models import BASIS_TEXT, COMMITMENT_TEXT, BatchStatus, Commitment, CommitmentBasis, ProducerKind

CONTACT = FullMatch(r"(1\d{10}|0\d{2,3}-?\d{7,8})", error="联系方式应为手机号或带区号的固定电话")


def _values(enum) -> list[str]:
    return [member.value for member in enum]


class CertificateArgs(Schema):
    """The 合格证 fields; product, quantity, producer and origin default from the batch."""

    commitments = fields.List(
        fields.String(validate=validate.OneOf(_values(Commitment))), required=True, validate=validate.Length(min=1)
    )
    basis = fields.String(required=True, validate=validate.OneOf(_values(CommitmentBasis)))
    test_report_id = fields.Integer(strict=True, allow_none=True)
    producer_contact = fields.String(required=True, validate=CONTACT)
    producer_name = fields.String(validate=validate.Length(min=1, max=64))
    product_name = fields.String(validate=validate.Length(min=1, max=60))
    quantity_text = fields.String(validate=validate.Length(min=1, max=40))
    issued_on = fields.Date()


class CorrectionArgs(CertificateArgs):
    correction_reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class ProducerArgs(Schema):
    kind = fields.String(load_default=ProducerKind.SELLER.value, validate=validate.OneOf(_values(ProducerKind)))
    cooperative_name = fields.String(validate=validate.Length(min=2, max=64))
    # Sellers of the same station who are members of the cooperative.
    member_ids = fields.List(fields.Integer(strict=True), validate=validate.Length(max=200))


class BatchArgs(Schema):
    product_id = fields.Integer(strict=True, required=True)
    harvested_on = fields.Date(required=True)
    # In the product's sales unit (箱, 袋 …); each shipped unit takes one.
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1_000_000))
    producer = fields.Nested(ProducerArgs)
    certificate = fields.Nested(CertificateArgs, required=True)


class BatchQueryArgs(PageArgs):
    product_id = fields.Integer()
    station_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(_values(BatchStatus)))


class RevokeBatchArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class LabelArgs(Schema):
    # How many labels; default one A4 sheet.
    count = fields.Integer(validate=validate.Range(min=1, max=400))


class TestReportUploadArgs(Schema):
    __test__ = False
    station_id = fields.Integer(required=True)


class TestReportFileArgs(Schema):
    __test__ = False
    file = Upload(required=True)


class TestReportSchema(Schema):
    __test__ = False
    id = fields.Integer()
    station_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    byte_size = fields.Integer()
    sha256 = fields.String()
    created_at = LocalDateTime()


class CertificateSchema(Schema):
    id = fields.Integer()
    no = fields.String()
    product_name = fields.String()
    quantity_text = fields.String()
    producer_name = fields.String()
    producer_contact = fields.Function(lambda c: mask_phone(c.producer_contact))
    origin = fields.String()
    issued_on = fields.Date()
    commitments = fields.List(fields.String())
    commitments_text = fields.Function(lambda c: [COMMITMENT_TEXT[Commitment(item)] for item in c.commitments])
    basis = fields.String()
    basis_text = fields.Function(lambda c: BASIS_TEXT[CommitmentBasis(c.basis)])
    test_report = fields.Nested(TestReportSchema, allow_none=True)
    supersedes_id = fields.Integer(allow_none=True)
    correction_reason = fields.String(allow_none=True)
    issued_by_id = fields.Integer()
    created_at = LocalDateTime()


class MemberSchema(Schema):
    seller_id = fields.Integer()
    name = fields.String(attribute="seller.name")
    household_category = fields.String(attribute="seller.household_category")


class BatchSchema(Schema):
    id = fields.Integer()
    trace_code = fields.String()
    trace_url = fields.String()
    product_id = fields.Integer()
    product_title = fields.String(attribute="product.title")
    station_id = fields.Integer()
    seller_id = fields.Integer()
    origin_village_code = fields.String()
    harvested_on = fields.Date()
    quantity = fields.Integer()
    remaining_quantity = fields.Integer()
    unit = fields.String()
    producer_kind = fields.String()
    cooperative_name = fields.String(allow_none=True)
    members = fields.List(fields.Nested(MemberSchema))
    status = fields.String()
    scan_count = fields.Integer()
    certificate = fields.Nested(CertificateSchema, allow_none=True)
    created_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)
    revoked_at = LocalDateTime(allow_none=True)
    revoked_reason = fields.String(allow_none=True)


class BatchDetailSchema(BatchSchema):
    # Every certificate ever issued for the batch, oldest first (corrections supersede).
    certificates = fields.List(fields.Nested(CertificateSchema))


class LineBatchSchema(Schema):
    """The batch an order line shipped from, as order details and shipping labels show it."""

    id = fields.Integer()
    trace_code = fields.String()
    harvested_on = fields.Date()
    certificate_no = fields.Function(lambda batch: batch.certificate.no if batch.certificate else None)


# The public trace answer (API.md, Traceability) ---------------------------------


class _Ref(Schema):
    id = fields.Integer()
    title = fields.String()


class _Place(Schema):
    code = fields.String()
    name = fields.String()


class _Station(Schema):
    id = fields.Integer()
    name = fields.String()


class TraceCertificateSchema(Schema):
    no = fields.String()
    issued_on = fields.Date()
    producer = fields.String(allow_none=True)
    commitments = fields.List(fields.String())
    commitments_text = fields.List(fields.String())
    basis = fields.String()
    basis_text = fields.String()
    origin = fields.String()
    superseded_count = fields.Integer()


class TraceBatchSchema(Schema):
    harvested_on = fields.Date()
    quantity = fields.Integer()
    unit = fields.String()
    status = fields.String()
    certificate = fields.Nested(TraceCertificateSchema, allow_none=True)


class BeneficiarySchema(Schema):
    category = fields.String()
    category_text = fields.String()
    name_masked = fields.String(allow_none=True)
    share_bps = fields.Integer()


class TraceMemberSchema(Schema):
    category = fields.String()
    category_text = fields.String()
    name_masked = fields.String(allow_none=True)


class TraceCooperativeSchema(Schema):
    name = fields.String()
    members = fields.List(fields.Nested(TraceMemberSchema))


class TraceSchema(Schema):
    code = fields.String()
    product = fields.Nested(_Ref)
    village = fields.Nested(_Place)
    township = fields.Nested(_Place)
    station = fields.Nested(_Station)
    batch = fields.Nested(TraceBatchSchema)
    poverty_certified = fields.Boolean()
    beneficiary = fields.Nested(BeneficiarySchema)
    cooperative = fields.Nested(TraceCooperativeSchema, allow_none=True)
    scans = fields.Integer()
