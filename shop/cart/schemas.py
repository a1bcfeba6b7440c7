"""Cart request and response bodies (API.md "Mini-program")."""

from marshmallow import Schema, fields, validate

from shop.cart.models import MAX_QUANTITY


class CartQuantityArgs(Schema):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_QUANTITY))


class CartItemSchema(Schema):
    sku_id = fields.Integer()
    quantity = fields.Integer()
    product_id = fields.Integer()
    title = fields.String()
    sku_name = fields.String()
    price_fen = fields.Integer()
    image_url = fields.String(allow_none=True)
    station_id = fields.Integer()
    stock = fields.Integer()
    available = fields.Boolean()
    reason = fields.String(allow_none=True)


class CartSchema(Schema):
    items = fields.List(fields.Nested(CartItemSchema))
    total_fen = fields.Integer()
