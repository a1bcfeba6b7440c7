"""shipping uploads: WeChat's logistics_type (1 express … 4 the buyer picks up at a station)

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("shipping_uploads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("logistics_type", sa.SmallInteger(), server_default="1", nullable=False))
        batch_op.create_check_constraint("known_logistics_type", "logistics_type IN (1,2,3,4)")


def downgrade():
    with op.batch_alter_table("shipping_uploads", schema=None) as batch_op:
        batch_op.drop_constraint("known_logistics_type", type_="check")
        batch_op.drop_column("logistics_type")
