"""orders: an index for checkout's unpaid-holdings check (one buyer's unpaid orders)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 20:10:00

At a million order lines the check scanned every unpaid order of the city
through ix_orders_status_expires_at (about 12 ms per query, twice per checkout);
with the buyer first it reads that buyer's few rows.
"""
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_buyer_status_expires_at', 'orders', ['buyer_id', 'status', 'expires_at'])


def downgrade():
    op.drop_index('ix_orders_buyer_status_expires_at', table_name='orders')
