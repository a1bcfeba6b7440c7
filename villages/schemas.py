"""Request and response schemas of the villages package."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.fields import FullMatch, LocalDateTime, enum_string, one_of
from core.models import STAFF_ROLES
from core.pagination import PageArgs
from core.pii import mask_account, mask_id_card, mask_middle, mask_phone
from core.validators import validate_id_card, validate_mobile
from villages.metrics import COUNTERS
from villages.models import HouseholdCategory, StationStatus, WorkerKind

CODE = FullMatch(r"\d{4,12}", error="地区代码应为4–12位数字")
BPS = validate.Range(min=0, max=10000, error="费率应在 0–10000 基点之间")


class RegionQueryArgs(PageArgs):
    parent = fields.String(validate=FullMatch(r"\d{2,12}", error="地区代码应为数字"))


class RegionSchema(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.String()


# Villages -------------------------------------------------------------------


class VillageQueryArgs(PageArgs):
    region = fields.String(validate=CODE)
    poverty = fields.Boolean()


class StationBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = enum_string(StationStatus)


class VillageSchema(Schema):
    code = fields.String()
    name = fields.String(attribute="region.name")
    township_code = fields.String(attribute="region.parent_code")
    is_poverty_village = fields.Boolean()
    households = fields.Integer()
    registered_poor_households = fields.Integer()
    fibre_covered = fields.Boolean()
    fibre_covered_on = fields.Date(allow_none=True)
    mobile_4g_covered = fields.Boolean()
    mobile_4g_covered_on = fields.Date(allow_none=True)
    updated_at = LocalDateTime()


class VillageDetailSchema(VillageSchema):
    stations = fields.List(fields.Nested(StationBriefSchema))
    info_officers = fields.Integer()
    ecommerce_talents = fields.Integer()


class VillagePatchArgs(Schema):
    is_poverty_village = fields.Boolean()
    households = fields.Integer(strict=True, validate=validate.Range(min=0, max=100000))
    registered_poor_households = fields.Integer(strict=True, validate=validate.Range(min=0, max=100000))
    fibre_covered = fields.Boolean()
    fibre_covered_on = fields.Date()
    mobile_4g_covered = fields.Boolean()
    mobile_4g_covered_on = fields.Date()


# Centres --------------------------------------------------------------------


class CentreArgs(Schema):
    county_code = fields.String(required=True, validate=FullMatch(r"\d{6}", error="县级代码应为6位数字"))
    name = fields.String(required=True, validate=validate.Length(min=2, max=64))
    commission_bps = fields.Integer(strict=True, required=True, validate=BPS)


class CentrePatchArgs(Schema):
    name = fields.String(validate=validate.Length(min=2, max=64))
    payout_alipay_account = fields.String(allow_none=True, validate=validate.Length(min=5, max=100))


class CentreQueryArgs(PageArgs):
    county_code = fields.String(validate=FullMatch(r"\d{6}"))


class CentreSchema(Schema):
    id = fields.Integer()
    county_code = fields.String()
    name = fields.String()
    commission_bps = fields.Integer()
    payout_alipay_account = fields.Function(lambda c: mask_account(c.payout_alipay_account))
    created_at = LocalDateTime()


# Stations -------------------------------------------------------------------


class ManagerArgs(Schema):
    username = fields.String(required=True, validate=FullMatch(r"[A-Za-z0-9_.-]{3,64}"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    display_name = fields.String(validate=validate.Length(max=64))


class StationArgs(Schema):
    village_code = fields.String(required=True, validate=FullMatch(r"\d{12}", error="村级代码应为12位数字"))
    name = fields.String(required=True, validate=validate.Length(min=2, max=64))
    address = fields.String(required=True, validate=validate.Length(min=2, max=200))
    service_fee_bps = fields.Integer(strict=True, required=True, validate=BPS)
    centre_id = fields.Integer(strict=True)
    manager = fields.Nested(ManagerArgs)


class StationPatchArgs(Schema):
    name = fields.String(validate=validate.Length(min=2, max=64))
    address = fields.String(validate=validate.Length(min=2, max=200))
    service_fee_bps = fields.Integer(strict=True, validate=BPS)
    payout_alipay_account = fields.String(allow_none=True, validate=validate.Length(min=5, max=100))
    # Buyers of any township may collect orders here (到站自提).
    offers_pickup = fields.Boolean()


class SuspendArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class StationQueryArgs(PageArgs):
    region = fields.String(validate=CODE)
    status = fields.String(validate=one_of(StationStatus))


class PlaceSchema(Schema):
    code = fields.String()
    name = fields.String()


class CentreBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    commission_bps = fields.Integer()


class StationSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String()
    village_code = fields.String()
    village = fields.Nested(PlaceSchema)
    centre = fields.Nested(CentreBriefSchema)
    service_fee_bps = fields.Integer()
    status = enum_string(StationStatus)
    suspended_reason = fields.String(allow_none=True)
    offers_pickup = fields.Boolean()
    payout_alipay_account = fields.Function(lambda s: mask_account(s.payout_alipay_account))
    created_at = LocalDateTime()


# Sellers --------------------------------------------------------------------


class SellerArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    phone = fields.String(required=True, validate=validate_mobile)
    id_card_no = fields.String(allow_none=True, validate=validate_id_card)
    # The contract's flag: true means 脱贫户 when household_category is not given.
    poor_household = fields.Boolean()
    household_category = fields.String(validate=validate.OneOf([c.value for c in HouseholdCategory]))
    # The villager agreed to be shown as 李** on trace pages.
    show_name_on_trace = fields.Boolean()
    household_no = fields.String(allow_none=True, validate=FullMatch(r"[0-9A-Za-z-]{4,32}"))
    payout_alipay_account = fields.String(allow_none=True, validate=validate.Length(min=5, max=100))

    @validates_schema
    def _household_is_consistent(self, data, **kwargs):
        category = data.get("household_category")
        if (
            category is not None
            and "poor_household" in data
            and data["poor_household"] != (category != HouseholdCategory.ORDINARY)
        ):
            raise ValidationError("poor_household 与 household_category 不一致", "poor_household")
        supported = data.get("poor_household") or category in ("tuopin", "monitored")
        if supported and not data.get("household_no") and not self.partial:
            raise ValidationError("脱贫户和监测对象须填写户编号", "household_no")


class SellerPatchArgs(SellerArgs):
    """Any subset of the registration fields."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class SellerQueryArgs(PageArgs):
    station_id = fields.Integer()


class SellerSearchArgs(SellerQueryArgs):
    """Search by phone in the body: a query string would carry the number into access logs."""

    phone = fields.String(required=True, validate=validate_mobile)


class BindArgs(Schema):
    bind_code = fields.String(required=True, validate=FullMatch(r"\d{6}", error="绑定码为6位数字"))


class NameConsentArgs(Schema):
    show_name_on_trace = fields.Boolean(required=True)


class RevealArgs(Schema):
    reason = fields.String(validate=validate.Length(max=200))


class SellerSchema(Schema):
    """A seller with personal data masked."""

    id = fields.Integer()
    station_id = fields.Integer()
    name = fields.String()
    phone = fields.Function(lambda s: mask_phone(s.phone))
    id_card_no = fields.Function(lambda s: mask_id_card(s.id_card_no))
    poor_household = fields.Boolean()
    household_category = fields.String()
    show_name_on_trace = fields.Boolean()
    household_no = fields.Function(lambda s: mask_middle(s.household_no))
    payout_alipay_account = fields.Function(lambda s: mask_account(s.payout_alipay_account))
    bound = fields.Function(lambda s: s.user_id is not None)
    bound_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class SellerWithCodeSchema(SellerSchema):
    bind_code = fields.String()
    bind_code_expires_at = LocalDateTime()


class SellerPersonalDataSchema(Schema):
    """Full values, only from the audited endpoint."""

    id = fields.Integer()
    name = fields.String()
    phone = fields.String()
    id_card_no = fields.String(allow_none=True)
    household_no = fields.String(allow_none=True)
    payout_alipay_account = fields.String(allow_none=True)


class MonthSalesSchema(Schema):
    orders = fields.Integer()
    units = fields.Integer()
    gmv_fen = fields.Integer()


class BalancesSchema(Schema):
    pending_fen = fields.Integer()
    available_fen = fields.Integer()
    paid_out_fen = fields.Integer()


class MySellerPageSchema(Schema):
    seller = fields.Nested(SellerSchema)
    station = fields.Nested(StationBriefSchema, attribute="seller.station")
    products = fields.List(fields.Dict())
    sales_this_month = fields.Nested(MonthSalesSchema)
    balances = fields.Nested(BalancesSchema)
    payouts = fields.List(fields.Dict())


# Workers --------------------------------------------------------------------


class WorkerArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    phone = fields.String(required=True, validate=validate_mobile)
    kind = fields.String(required=True, validate=one_of(WorkerKind))
    trained_on = fields.Date()
    certificate_no = fields.String(validate=validate.Length(max=64))


class WorkerQueryArgs(PageArgs):
    include_left = fields.Boolean(load_default=False)


class LeaveArgs(Schema):
    left_on = fields.Date()


class WorkerSchema(Schema):
    id = fields.Integer()
    village_code = fields.String()
    kind = enum_string(WorkerKind)
    name = fields.String()
    phone = fields.Function(lambda w: mask_phone(w.phone))
    trained_on = fields.Date(allow_none=True)
    certificate_no = fields.String(allow_none=True)
    left_on = fields.Date(allow_none=True)
    active = fields.Function(lambda w: w.left_on is None)


# Metrics --------------------------------------------------------------------


class MetricsArgs(Schema):
    region = fields.String(required=True, validate=CODE)


_COUNTER_FIELDS = {name: fields.Integer() for name in COUNTERS}
RegionCountsSchema = Schema.from_dict(
    {"region": fields.String(), "region_name": fields.String(), "level": fields.String(), **_COUNTER_FIELDS},
    name="RegionCounts",
)


class ShortfallSchema(Schema):
    village_code = fields.String()
    name = fields.String()
    is_poverty_village = fields.Boolean()
    missing = fields.List(fields.String())


class VillageMetricsSchema(RegionCountsSchema):
    children = fields.List(fields.Nested(RegionCountsSchema))
    shortfalls = fields.List(fields.Nested(ShortfallSchema))


# Staff accounts (the console's platform administration) ------------------------


class StaffArgs(Schema):
    username = fields.String(
        required=True, validate=FullMatch(r"[A-Za-z0-9_.-]{3,64}", error="用户名为 3–64 位字母、数字或 _ . -")
    )
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    display_name = fields.String(validate=validate.Length(max=64))
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    region_code = fields.String(validate=CODE)
    station_id = fields.Integer()
