"""Request and response schemas for orders and after-sales."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.fields import FullMatch, LocalDateTime, enum_string, one_of
from core.pagination import PageArgs
from core.pii import mask_phone
from core.validators import validate_mobile
from shop.batches.schemas import LineBatchSchema
from shop.models import ReviewDecision
from shop.orders.models import LineStatus, OrderStatus, PickupStatus, RefundRequestStatus
from shop.orders.queries import OrderListView, Viewer


class CartItemArgs(Schema):
    sku_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=99))


class AddressArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    phone = fields.String(required=True, validate=validate_mobile)
    region_code = fields.String(required=True, validate=FullMatch(r"\d{4,12}", error="地区代码应为数字"))
    detail = fields.String(required=True, validate=validate.Length(min=2, max=200))


class ContactArgs(Schema):
    """Who collects a pickup order."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    # Omitted: the number the buyer confirmed through WeChat (POST /auth/phone) is used.
    phone = fields.String(validate=validate_mobile)


class OrderArgs(Schema):
    items = fields.List(fields.Nested(CartItemArgs), required=True, validate=validate.Length(min=1, max=50))
    # A delivery address, or a pickup station with a contact (到站自提, no shipping fee).
    address = fields.Nested(AddressArgs)
    pickup_station_id = fields.Integer(
        strict=True, validate=validate.Range(min=1), metadata={"description": "到站自提：自提服务站"}
    )
    contact = fields.Nested(ContactArgs, metadata={"description": "到站自提：取货人姓名与手机号"})

    @validates_schema
    def _address_or_pickup(self, data, **kwargs):
        if "pickup_station_id" in data:
            if "address" in data:
                raise ValidationError("到站自提无需填写收货地址", "address")
            if "contact" not in data:
                raise ValidationError("到站自提请填写取货人", "contact")
        elif "address" not in data:
            raise ValidationError("此字段为必填项", "address")

    # Ordering on behalf of a unit (the institutions package checks these).
    buyer_unit_id = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "下单单位（须为该单位采购员）"}
    )
    purpose = fields.String(metadata={"description": "canteen（食堂采购）| union_welfare（工会福利）"})
    payment_method = fields.String(metadata={"description": "online（默认，小程序支付）| bank_transfer（对公转账）"})
    recipients = fields.List(
        fields.Nested(AddressArgs),
        validate=validate.Length(min=1, max=500),
        metadata={"description": "工会福利：每位收件人一份 items 所列礼包"},
    )
    recipient_list_id = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "工会福利：已上传的收件人名单"}
    )


# The OrderArgs fields that place the order on behalf of a unit.
UNIT_FIELDS = ("buyer_unit_id", "purpose", "payment_method", "recipients", "recipient_list_id")


class OrderQueryArgs(PageArgs):
    view = fields.String(load_default=None, validate=one_of(OrderListView))
    status = fields.String(validate=one_of(OrderStatus))
    station_id = fields.Integer()


class ShipmentLineArgs(Schema):
    line_id = fields.Integer(strict=True, required=True)
    # The batch the line's units came from; null ships the line without one.
    batch_id = fields.Integer(strict=True, required=True, allow_none=True)


class ShipmentArgs(Schema):
    station_id = fields.Integer(strict=True, required=True)
    # Optional: the batch of some lines; the others take their product's oldest open batch.
    lines = fields.List(fields.Nested(ShipmentLineArgs), validate=validate.Length(max=50))

    @validates_schema
    def _each_line_once(self, data, **kwargs):
        ids = [item["line_id"] for item in data.get("lines", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("每个订单行只能指定一个批次", "lines")

    carrier = fields.String(required=True, validate=validate.Length(min=2, max=40))
    tracking_no = fields.String(required=True, validate=FullMatch(r"[A-Za-z0-9-]{6,40}", error="运单号格式不正确"))


class ShipmentSchema(Schema):
    id = fields.Integer()
    station_id = fields.Integer()
    carrier = fields.String()
    tracking_no = fields.String()
    shipped_at = LocalDateTime()


class OrderLineSchema(Schema):
    id = fields.Integer()
    sku_id = fields.Integer()
    product_id = fields.Integer()
    product_title = fields.String()
    sku_name = fields.String()
    unit_price_fen = fields.Integer()
    quantity = fields.Integer()
    amount_fen = fields.Integer()
    refunded_fen = fields.Integer()
    status = enum_string(LineStatus)
    station_id = fields.Integer()
    seller_id = fields.Integer()
    village_code = fields.String()
    poverty_certified = fields.Boolean()
    shipment = fields.Nested(ShipmentSchema, allow_none=True)
    batch = fields.Nested(LineBatchSchema, allow_none=True)
    # Pre-sale lines: the delivery window promised at checkout (Beijing dates).
    presale_id = fields.Integer(allow_none=True)
    ships_from = fields.Date(allow_none=True)
    ships_until = fields.Date(allow_none=True)


class PickupSchema(Schema):
    station_id = fields.Integer()
    station_name = fields.String(attribute="station.name")
    station_address = fields.String(attribute="station.address")
    status = enum_string(PickupStatus)
    arrived_at = LocalDateTime(allow_none=True)
    collected_at = LocalDateTime(allow_none=True)
    returned_at = LocalDateTime(allow_none=True)


def _pickup(view) -> dict | None:
    """The pickup of an order; its code only for the buyer, once paid."""
    pickup = view.order.pickup
    if pickup is None:
        return None
    dumped = PickupSchema().dump(pickup)
    if getattr(view, "viewer", None) == Viewer.BUYER and view.order.status != OrderStatus.PENDING_PAYMENT:
        dumped["code"] = pickup.code
    return dumped


class MaskedAddressSchema(Schema):
    """The full address only comes from the audited shipping label."""

    name = fields.Function(lambda order: order.address_name[:1] + "*" * max(len(order.address_name) - 1, 1))
    phone = fields.Function(lambda order: mask_phone(order.address_phone))
    region_code = fields.String(attribute="address_region_code")
    detail = fields.Function(lambda order: order.address_detail[:6] + "……" if len(order.address_detail) > 6 else "……")


class FullAddressSchema(Schema):
    name = fields.String(attribute="address_name")
    phone = fields.String(attribute="address_phone")
    region_code = fields.String(attribute="address_region_code")
    detail = fields.String(attribute="address_detail")


class OrderGroupSchema(Schema):
    id = fields.Integer()
    status = fields.String(
        metadata={
            "description": "opening | forming | succeeded | expired | cancelled (forming: paid, waits for the group)"
        }
    )


class OrderSchema(Schema):
    id = fields.Integer()
    status = enum_string(OrderStatus)
    expired = fields.Boolean()
    cancel_reason = fields.String(allow_none=True)
    total_fen = fields.Integer()
    # For staff: the sum of the lines they can see.
    lines_total_fen = fields.Integer()
    expires_at = LocalDateTime()
    created_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)
    paid_channel = fields.String(allow_none=True)
    shipped_at = LocalDateTime(allow_none=True)
    completed_at = LocalDateTime(allow_none=True)
    address = fields.Function(lambda view: MaskedAddressSchema().dump(view.order))
    lines = fields.List(fields.Nested(OrderLineSchema))
    fulfilment = fields.Function(
        lambda view: "pickup" if view.order.pickup else "delivery", metadata={"description": "delivery | pickup"}
    )
    pickup = fields.Function(_pickup, allow_none=True)
    # The group buy the order belongs to (null for an ordinary order): a paid order of a
    # forming group is not to be shipped yet, and is refunded if the group fails.
    group = fields.Nested(OrderGroupSchema, allow_none=True)


class PickupCodeArgs(Schema):
    code = fields.String(
        required=True, validate=validate.Length(min=6, max=64), metadata={"description": "6 位取货码或扫码内容"}
    )


class PickupQueryArgs(Schema):
    status = fields.String(validate=one_of(PickupStatus))


class PickupOrderSchema(Schema):
    """A pickup order as its pickup station sees it: every line, the buyer masked, never the code."""

    id = fields.Integer()
    status = enum_string(OrderStatus)
    total_fen = fields.Integer()
    paid_at = LocalDateTime(allow_none=True)
    contact = fields.Function(
        lambda order: {
            "name": MaskedAddressSchema().dump(order)["name"],
            "phone": mask_phone(order.address_phone),
        }
    )
    pickup = fields.Function(lambda order: PickupSchema().dump(order.pickup))
    lines = fields.List(fields.Nested(OrderLineSchema))


class PresaleArgs(Schema):
    sku_id = fields.Integer(
        strict=True, allow_none=True, metadata={"description": "只预售此规格；不填则整个商品共用配额"}
    )
    quota = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1_000_000))
    order_from = fields.AwareDateTime(required=True, format="iso")
    order_until = fields.AwareDateTime(required=True, format="iso")
    ships_from = fields.Date(required=True)
    ships_until = fields.Date(required=True)


class PresaleSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    sku_id = fields.Integer(allow_none=True)
    quota = fields.Integer()
    sold = fields.Integer()
    remaining = fields.Function(lambda presale: presale.quota - presale.sold)
    order_from = LocalDateTime()
    order_until = LocalDateTime()
    ships_from = fields.Date()
    ships_until = fields.Date()
    created_at = LocalDateTime()


class PresalePlanItemSchema(Schema):
    product_id = fields.Integer()
    product_title = fields.String()
    sku_id = fields.Integer()
    sku_name = fields.String()
    units = fields.Integer()
    orders = fields.Integer()


class PresalePlanWindowSchema(Schema):
    ships_from = fields.Date()
    ships_until = fields.Date()
    orders = fields.Integer()
    units = fields.Integer()
    items = fields.List(fields.Nested(PresalePlanItemSchema))


class PresalePlanSchema(Schema):
    station_id = fields.Integer()
    windows = fields.List(fields.Nested(PresalePlanWindowSchema))


class ShippingLabelSchema(Schema):
    id = fields.Integer()
    address = fields.Function(lambda view: FullAddressSchema().dump(view.order))
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderEventSchema(Schema):
    id = fields.Integer()
    line_id = fields.Integer(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = LocalDateTime()


class RefundArgs(Schema):
    order_id = fields.Integer(strict=True, required=True)
    line_ids = fields.List(fields.Integer(strict=True), required=True, validate=validate.Length(min=1, max=50))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class RefundDecisionArgs(Schema):
    decision = fields.String(required=True, validate=one_of(ReviewDecision))
    reason = fields.String(validate=validate.Length(max=200))


class RefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    status = enum_string(RefundRequestStatus)
    amount_fen = fields.Integer()
    reason = fields.String()
    decision_reason = fields.String(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)
    refunded_at = LocalDateTime(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    line_ids = fields.Function(lambda refund: [item.line_id for item in refund.lines])
    created_at = LocalDateTime()
