"""Schemas for auth and the current user."""

from marshmallow import Schema, fields, validate


class WechatLoginArgs(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class AlipayLoginArgs(Schema):
    auth_code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class PasswordLoginArgs(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256), load_only=True)


class RefreshArgs(Schema):
    refresh_token = fields.String(required=True)


class GrantSchema(Schema):
    role = fields.String()
    region_code = fields.String(allow_none=True)
    station_id = fields.Integer(allow_none=True)


class UserSchema(Schema):
    id = fields.Integer()
    roles = fields.List(fields.String())
    display_name = fields.String()
    username = fields.String(allow_none=True)


class MeSchema(UserSchema):
    scopes = fields.List(fields.Nested(GrantSchema), attribute="grants")


class TokenSchema(Schema):
    token = fields.String()
    refresh_token = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserSchema)


class StatusSchema(Schema):
    status = fields.String()


class PhoneCodeArgs(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class PhoneSchema(Schema):
    phone_masked = fields.String()


class SubscribeTemplatesSchema(Schema):
    order_shipped = fields.String(allow_none=True)
    pickup_ready = fields.String(allow_none=True)
    refund_result = fields.String(allow_none=True)
    group_result = fields.String(allow_none=True)
    presale_due = fields.String(allow_none=True)


class ClientConfigSchema(Schema):
    office_name = fields.String()
    service_phone = fields.String(allow_none=True)
    subscribe_templates = fields.Nested(SubscribeTemplatesSchema)
    min_client_version = fields.String()
