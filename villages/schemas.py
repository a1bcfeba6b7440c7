"""Schemas for regions."""

from marshmallow import Schema, fields, validate

from core.pagination import PageArgs


class RegionQueryArgs(PageArgs):
    parent = fields.String(validate=validate.Regexp(r"^\d{2,12}$", error="地区代码应为数字"))


class RegionSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()
