"""What the bench needs from inside: tokens, payments awaiting notification, hand-written report SQL,
and SQL statements per request (the test client, with the app configured as the servers are)."""

import os
import secrets
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import psycopg
import sqlalchemy as sa
from psycopg import sql

from bench.dataset import Dataset, check_columns, libpq_url
from reports.analytics import beijing_bounds


@contextmanager
def app_for(env: dict):
    """An app built from ``env`` (as a server with that environment builds it), inside its context."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from app import create_app

        app = create_app()
        with app.app_context():
            yield app
    finally:
        os.environ.clear()
        os.environ.update(saved)


def prepare(dataset: Dataset, env: dict, buyers: int) -> dict:
    """Access tokens for ``buyers`` buyers and for the poverty office."""
    from core.auth import issue_tokens
    from core.extensions import db
    from core.models import User

    with app_for(env):
        users = db.session.scalars(sa.select(User).where(User.id.in_(dataset.buyer_ids[:buyers]))).all()
        tokens = [issue_tokens(user)["token"] for user in users]
        office = issue_tokens(db.session.get(User, dataset.poverty_office_id))["token"]
        db.session.rollback()
    return {"tokens": tokens, "office_token": office}


# Reports by hand ------------------------------------------------------------------------

_KEYS = {
    "village": "l.village_code",
    "category": "l.category_slug",
    "month": "to_char(o.paid_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
}
HAND_SALES = """
WITH counted AS (
    SELECT l.id, l.order_id, o.buyer_id, {key} AS key, l.amount_fen - l.refunded_fen AS net,
           l.refunded_fen < l.amount_fen AS live, l.quantity, l.poverty_village, l.poverty_certified,
           l.seller_household_category AS household, l.refunded_fen
    FROM order_lines l JOIN orders o ON o.id = l.order_id
    WHERE o.paid_at >= %(start)s AND o.paid_at < %(end)s
      AND l.village_code LIKE %(prefix)s AND l.status <> 'cancelled'
), income AS (
    SELECT e.order_line_id AS id, sum(e.amount_fen) AS income_fen
    FROM counted c
    JOIN ledger_entries e ON e.order_line_id = c.id
    JOIN ledger_accounts a ON a.id = e.account_id AND a.owner_type = 'seller'
    WHERE c.household IN ('tuopin', 'monitored')
    GROUP BY e.order_line_id
)
SELECT key,
       coalesce(sum(net), 0),
       count(DISTINCT order_id) FILTER (WHERE live),
       count(DISTINCT buyer_id) FILTER (WHERE live),
       coalesce(sum(quantity) FILTER (WHERE live), 0),
       coalesce(sum(net) FILTER (WHERE poverty_village), 0),
       coalesce(sum(income_fen), 0),
       coalesce(sum(income_fen) FILTER (WHERE household = 'tuopin'), 0),
       coalesce(sum(income_fen) FILTER (WHERE household = 'monitored'), 0),
       coalesce(sum(net) FILTER (WHERE poverty_certified), 0),
       coalesce(sum(refunded_fen), 0)
FROM counted LEFT JOIN income USING (id)
GROUP BY GROUPING SETS ((key), ())
ORDER BY key NULLS FIRST
"""
FIGURES = (
    "gmv_fen",
    "orders",
    "buyers",
    "units",
    "poverty_village_gmv_fen",
    "poor_household_income_fen",  # 脱贫户 and 监测对象 together
    "tuopin_household_income_fen",
    "monitored_household_income_fen",
    "certified_product_gmv_fen",
    "refunded_fen",
)


def hand_sales(conn: psycopg.Connection, region: str, first: date, last: date, group_by: str):
    """The sales figures of ``reports.analytics.sales_figures``, as one hand-written query: (totals, rows)."""
    start, end = beijing_bounds(first, last)
    rows = conn.execute(
        HAND_SALES.format(key=_KEYS[group_by]), {"start": start, "end": end, "prefix": region + "%"}
    ).fetchall()
    totals = dict(zip(FIGURES, map(int, rows[0][1:]), strict=True))
    return totals, [(row[0], *row[1:]) for row in rows[1:]]


# Payments awaiting their notification ----------------------------------------------------

# What a placed order with an open payment holds (as ``shop.orders.placement`` writes it).
PENDING_COLUMNS = {
    "orders": (
        "id", "buyer_id", "status", "total_fen", "expires_at", "address_name", "address_phone",
        "address_region_code", "address_detail", "created_at",
    ),
    "order_lines": (
        "id", "order_id", "sku_id", "product_id", "seller_id", "station_id", "centre_id", "village_code",
        "category_slug", "product_title", "sku_name", "unit_price_fen", "quantity", "amount_fen", "commission_bps",
        "service_fee_bps", "poverty_certified", "seller_poor_household", "seller_household_category",
        "poverty_village", "status", "refunded_fen",
    ),
    "payments": (
        "id", "order_id", "buyer_id", "channel", "out_trade_no", "amount_fen", "status", "params", "created_at",
    ),
}  # fmt: skip


def _copy(cursor, table: str):
    return cursor.copy(
        sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, PENDING_COLUMNS[table]))
        )
    )


def pending_notifications(dataset: Dataset, env: dict, count: int, lines_per_order: int = 1) -> list[str]:
    """``count`` fresh unpaid orders of ``lines_per_order`` lines with an open WeChat payment each, and the
    notification that pays each (a welfare order of a unit runs to 2,000 lines)."""
    from core.pii import PiiKeyring
    from sandbox.notifications import wechat_payment_body
    from sandbox.settings import SandboxSettings
    from sandbox.state import WeChatTrade

    with app_for(env) as app:
        settings = SandboxSettings.from_config(app.config)
    ring = PiiKeyring(dataset.pii_key)
    address = (
        ring.encrypt("王五", "order.address_name"),
        ring.encrypt("13700137000", "order.address_phone"),
        ring.encrypt("炎陵县霞阳镇3号", "order.address_detail"),
    )
    now = datetime.now(UTC)
    bodies = []
    with psycopg.connect(libpq_url(dataset.url)) as conn:
        check_columns(conn, PENDING_COLUMNS)
        skus = conn.execute(
            """SELECT s.id, s.name, s.price_fen, p.id, p.seller_id, p.station_id, st.centre_id, p.origin_village_code,
                      p.category_slug, p.title, p.poverty_certified, se.household_category IN ('tuopin', 'monitored'),
                      v.is_poverty_village, c.commission_bps, st.service_fee_bps, se.household_category
               FROM skus s JOIN products p ON p.id = s.product_id JOIN stations st ON st.id = p.station_id
               JOIN centres c ON c.id = st.centre_id JOIN sellers se ON se.id = p.seller_id
               JOIN villages v ON v.code = p.origin_village_code WHERE s.id = ANY(%s)""",
            (dataset.checkout_sku_ids,),
        ).fetchall()
        # The checkout buyers (the first few), so the hot-SKU buyers carry no unpaid orders of these.
        buyers = conn.execute(
            "SELECT id, wechat_openid FROM users WHERE id = ANY(%s)", (dataset.buyer_ids[:16],)
        ).fetchall()
        ids = conn.execute(
            "SELECT nextval('orders_id_seq'), nextval('payments_id_seq') FROM generate_series(1, %s)", (count,)
        ).fetchall()
        line_ids = [
            row[0]
            for row in conn.execute(
                "SELECT nextval('order_lines_id_seq') FROM generate_series(1, %s)", (count * lines_per_order,)
            )
        ]

        def order_skus(number: int) -> list[tuple]:
            return [skus[(number + k) % len(skus)] for k in range(lines_per_order)]

        trades = []
        with conn.cursor() as cursor:
            with _copy(cursor, "orders") as copy:
                for number, (order_id, _) in enumerate(ids):
                    buyer, total = buyers[number % len(buyers)], sum(sku[2] for sku in order_skus(number))
                    copy.write_row(
                        (order_id, buyer[0], "pending_payment", total, now + timedelta(days=1), address[0],
                         address[1], "430225", address[2], now)
                    )  # fmt: skip
            with _copy(cursor, "order_lines") as copy:
                for number, (order_id, _) in enumerate(ids):
                    for k, s in enumerate(order_skus(number)):
                        line_id = line_ids[number * lines_per_order + k]
                        copy.write_row(
                            (line_id, order_id, s[0], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[1], s[2], 1, s[2],
                             s[13], s[14], s[10], s[11], s[15], s[12], "pending_payment", 0)
                        )  # fmt: skip
            with _copy(cursor, "payments") as copy:
                for number, (order_id, payment_id) in enumerate(ids):
                    buyer, total = buyers[number % len(buyers)], sum(sku[2] for sku in order_skus(number))
                    out_trade_no = f"ZZ{now:%Y%m%d}{order_id:010d}{secrets.token_hex(5)}"[:32]
                    copy.write_row(
                        (payment_id, order_id, buyer[0], "wechat_jsapi", out_trade_no, total, "pending", "{}", now)
                    )  # fmt: skip
                    trades.append((out_trade_no, total, buyer[1], payment_id))
        conn.commit()
    for out_trade_no, amount, openid, payment_id in trades:
        trade = WeChatTrade(
            out_trade_no=out_trade_no,
            prepay_id="",
            total_fee=amount,
            body="",
            openid=openid,
            notify_url="",
            trade_type="JSAPI",
            time_expire=None,
            created_at=now,
            transaction_id=f"4200{payment_id:024d}",
            time_end=now,
        )
        bodies.append(wechat_payment_body(settings, trade).decode("utf-8"))
    return bodies


# SQL per request -------------------------------------------------------------------------


@contextmanager
def counting(engine):
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def count_per_request(dataset: Dataset, read_env: dict, sandbox_env: dict, reads, token: str, body: str) -> dict:
    """Statements per request: each read cold (catalogue cache emptied) and warm; checkout; a notification."""
    from core.extensions import db
    from shop.cache import bump_catalogue_version

    counts = {}
    with app_for(read_env) as app:
        client = app.test_client()
        for name, paths in reads:
            path = paths[0]
            bump_catalogue_version()
            with counting(db.engine) as cold:
                assert client.get(path).status_code == 200, path
            with counting(db.engine) as warm:
                assert client.get(path).status_code == 200, path
            counts[name] = f"{len(cold)} cold / {len(warm)} warm"
    with app_for(sandbox_env) as app:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        order = {
            "items": [{"sku_id": dataset.checkout_sku_ids[0], "quantity": 1}],
            "address": {"name": "张三", "phone": "13800138000", "region_code": "430225", "detail": "炎陵县霞阳镇1号"},
        }
        with counting(db.engine) as placed:
            answer = client.post("/api/v1/orders", json=order, headers=headers)
            assert answer.status_code == 201, answer.json
        with counting(db.engine) as paid:
            answer = client.post(
                f"/api/v1/orders/{answer.json['id']}/payments", json={"channel": "wechat_jsapi"}, headers=headers
            )
            assert answer.status_code == 201, answer.json
        counts["checkout (order + payment)"] = f"{len(placed)} + {len(paid)}"
        with counting(db.engine) as notified:
            answer = client.post("/api/v1/payments/notify/wechat", data=body.encode(), content_type="text/xml")
            assert answer.status_code == 200 and b"SUCCESS" in answer.data, answer.data
        counts["payment notification"] = str(len(notified))
    return counts
