"""Closed sets of values are StrEnums; the CHECK constraints the migrations created hold the same values."""

import re
from enum import StrEnum

import pytest
import sqlalchemy as sa

from core.db import one_of
from core.extensions import db as _db
from core.models import STAFF_ROLES, Role
from payments.ledger.models import OPEN_PAYOUT, OwnerType, PartyType, PayoutStatus
from payments.models import GatewayRefundStatus, PaymentStatus
from reports.models import ReportAction, ReportStatus
from shop.groups.models import GroupStatus, MemberStatus
from shop.models import ProductStatus, ReviewAction
from shop.orders.models import LineStatus, OrderStatus, RefundRequestStatus
from villages.models import RegionLevel, StationStatus, WorkerKind

# (table, constraint name as the migration created it, the vocabulary the model builds it from)
CHECKS = [
    ("role_grants", "ck_role_grants_known_role", Role),
    ("regions", "ck_regions_known_level", RegionLevel),
    ("stations", "ck_stations_known_status", StationStatus),
    ("village_workers", "ck_village_workers_known_kind", WorkerKind),
    ("products", "ck_products_known_status", ProductStatus),
    ("product_review_events", "ck_product_review_events_known_action", ReviewAction),
    ("orders", "ck_orders_known_status", OrderStatus),
    ("order_lines", "ck_order_lines_known_status", LineStatus),
    ("refund_requests", "ck_refund_requests_known_status", RefundRequestStatus),
    ("group_buys", "ck_group_buys_known_status", GroupStatus),
    ("group_members", "ck_group_members_known_status", MemberStatus),
    ("payments", "ck_payments_known_status", PaymentStatus),
    ("gateway_refunds", "ck_gateway_refunds_known_status", GatewayRefundStatus),
    ("ledger_accounts", "ck_ledger_accounts_known_owner_type", OwnerType),
    ("payouts", "ck_payouts_known_status", PayoutStatus),
    ("payouts", "ck_payouts_known_party_type", PartyType),
    ("sales_reports", "ck_sales_reports_known_status", ReportStatus),
    ("report_events", "ck_report_events_known_action", ReportAction),
]


def test_one_of_spells_an_enum_like_its_plain_values():
    class Colour(StrEnum):
        RED = "red"
        GREEN = "green"

    assert one_of("colour", Colour) == "colour IN ('red','green')" == one_of("colour", ("red", "green"))
    assert OPEN_PAYOUT == "status IN ('pending','processing')"


@pytest.mark.parametrize(("table", "name", "vocabulary"), CHECKS, ids=[name for _, name, _ in CHECKS])
def test_database_check_holds_exactly_the_enum_values(db, table, name, vocabulary):
    checks = {
        check["name"]: check["sqltext"] for check in sa.inspect(_db.session.connection()).get_check_constraints(table)
    }
    assert name in checks
    # SQLite keeps the DDL text, PostgreSQL rewrites it (= ANY (ARRAY['a'::character varying, …])): compare the values.
    assert set(re.findall(r"'([^']*)'", checks[name])) == {member.value for member in vocabulary}


def test_staff_roles_are_defined_once():
    from payments.ledger.queries import STAFF_READERS as ledger_readers
    from villages.access import STAFF_READERS as village_readers

    assert village_readers is STAFF_ROLES and ledger_readers is STAFF_ROLES
    assert set(STAFF_ROLES) == set(Role) - {Role.BUYER, Role.SELLER}
