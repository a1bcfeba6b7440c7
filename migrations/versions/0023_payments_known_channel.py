"""payments: channel is one of payments.providers.Channel (bank_transfer included)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 03:10:00

Unit orders paid by 对公转账 record a payment with channel ``bank_transfer``;
the CHECK names it beside the three gateway channels.
"""
from alembic import op


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

CHANNELS = ('wechat_jsapi', 'alipay_mini', 'alipay_wap', 'bank_transfer')


def upgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'known_channel', 'channel IN (' + ','.join(repr(channel) for channel in CHANNELS) + ')'
        )


def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint('known_channel', type_='check')
