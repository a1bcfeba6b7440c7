"""order lines: commission and service fee together at most the whole line

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "rates_within_line",
            "commission_bps >= 0 AND service_fee_bps >= 0 AND commission_bps + service_fee_bps <= 10000",
        )


def downgrade():
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint("rates_within_line", type_="check")
