"""Report request and response schemas."""

import json

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.fields import FullMatch, LocalDateTime, enum_string, one_of
from core.pagination import PageArgs
from reports.analytics import FIGURES, SalesGrouping
from reports.models import ReportAction, ReportStatus
from shop.models import ReviewDecision

CODE = FullMatch(r"\d{4,12}", error="地区代码应为4–12位数字")
PERIOD = FullMatch(r"20\d{2}-(0[1-9]|1[0-2])", error="期间格式应为 YYYY-MM（2000 年以后）")


class SalesQueryArgs(Schema):
    region = fields.String(required=True, validate=CODE)
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")
    group_by = fields.String(validate=one_of(SalesGrouping))

    @validates_schema
    def _range(self, data, **kwargs):
        if data["date_to"] < data["date_from"]:
            raise ValidationError("结束日期不能早于开始日期", "to")
        if (data["date_to"] - data["date_from"]).days > 366:
            raise ValidationError("查询区间不能超过一年", "to")


FiguresSchema = Schema.from_dict({name: fields.Integer() for name in FIGURES}, name="SalesFigures")


class SalesRowSchema(FiguresSchema):
    key = fields.String()
    name = fields.String()


class SalesSchema(Schema):
    totals = fields.Nested(FiguresSchema)
    rows = fields.List(fields.Nested(SalesRowSchema))


class ReportArgs(Schema):
    region = fields.String(required=True, validate=CODE)
    period = fields.String(required=True, validate=PERIOD)


class ReportReviewArgs(Schema):
    decision = fields.String(required=True, validate=one_of(ReviewDecision))
    comment = fields.String(validate=validate.Length(max=500))


class ExportArgs(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))


class ReportListArgs(PageArgs):
    status = fields.String()
    period = fields.String(validate=PERIOD)


class ChartArgs(Schema):
    region = fields.String(required=True, validate=CODE)
    until = fields.String(validate=PERIOD)
    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=36))


class ReportEventSchema(Schema):
    action = enum_string(ReportAction)
    actor_id = fields.Integer(allow_none=True)
    digest = fields.String()
    comment = fields.String(allow_none=True)
    created_at = LocalDateTime()


class ReportSummarySchema(Schema):
    id = fields.Integer()
    region = fields.String(attribute="region_code")
    period = fields.String()
    status = enum_string(ReportStatus)
    version = fields.Integer()
    digest = fields.String()
    created_at = LocalDateTime()
    submitted_at = LocalDateTime(allow_none=True)
    reviewed_at = LocalDateTime(allow_none=True)
    review_comment = fields.String(allow_none=True)


class ReportSchema(ReportSummarySchema):
    snapshot = fields.Function(lambda report: json.loads(report.snapshot))
    events = fields.List(fields.Nested(ReportEventSchema))


class VerifySchema(Schema):
    report_id = fields.Integer()
    digest_ok = fields.Boolean()
    drift = fields.List(fields.Dict())


class UnitReportArgs(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    period = fields.String(validate=PERIOD)
    region = fields.String(validate=CODE)
    unit_id = fields.Integer(metadata={"description": "单位自己的页面（单位成员必填）"})

    @validates_schema
    def _year_or_period(self, data, **kwargs):
        if ("year" in data) == ("period" in data):
            raise ValidationError("请提供 year 或 period 之一", "period")


UNIT_FIGURES = (
    "purchases_fen",
    "poverty_purchases_fen",
    "canteen_poverty_fen",
    "union_welfare_fen",
    "union_welfare_poverty_fen",
)


class UnitCountySchema(Schema):
    code = fields.String()
    name = fields.String()
    poverty_purchases_fen = fields.Integer()


class UnitCategorySchema(Schema):
    slug = fields.String()
    name = fields.String()
    poverty_purchases_fen = fields.Integer()


class UnitTargetProgressSchema(Schema):
    year = fields.Integer()
    canteen_budget_fen = fields.Integer()
    ratio_bps = fields.Integer()
    target_fen = fields.Integer()
    # Canteen purchases of poverty-area products from 1 January to the end of the period.
    counted_fen = fields.Integer()
    share_bps = fields.Integer(allow_none=True)
    remaining_fen = fields.Integer()


UnitFiguresSchema = Schema.from_dict(
    {"orders": fields.Integer(), **{name: fields.Integer() for name in UNIT_FIGURES}}, name="UnitFigures"
)


class UnitReportRowSchema(UnitFiguresSchema):
    rank = fields.Integer()
    unit_id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    credit_code = fields.String()
    region_code = fields.String()
    parent_id = fields.Integer(allow_none=True)
    by_county = fields.List(fields.Nested(UnitCountySchema))
    by_category = fields.List(fields.Nested(UnitCategorySchema))
    target = fields.Nested(UnitTargetProgressSchema, allow_none=True)


class UnitReportSchema(Schema):
    year = fields.Integer()
    period = fields.String(allow_none=True)
    date_from = fields.String(data_key="from")
    date_to = fields.String(data_key="to")
    units_ranked = fields.Integer()
    totals = fields.Nested(UnitFiguresSchema)
    rows = fields.List(fields.Nested(UnitReportRowSchema))
