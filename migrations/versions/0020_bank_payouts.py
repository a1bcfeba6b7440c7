"""payouts by bank batch (银行代发): payees' bank accounts, a payout's method and export time

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 03:40:00

In seller-of-record mode the centre pays villagers for their goods, most of
them by bank: a party with a bank account on file is paid by a line of the
county's bank batch file instead of an Alipay transfer.
"""
import sqlalchemy as sa
from alembic import op

import core.db  # noqa: F401 - UTCDateTime in the columns


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payee_bank_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('party_type', sa.String(length=16), nullable=False),
        sa.Column('party_id', sa.Integer(), nullable=False),
        sa.Column('account_name', sa.String(length=64), nullable=False),
        sa.Column('account_no', sa.Text(), nullable=False),
        sa.Column('bank_name', sa.String(length=64), nullable=False),
        sa.Column('consented_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "party_type IN ('seller', 'station', 'centre')", name=op.f('ck_payee_bank_accounts_known_party_type')
        ),
        sa.ForeignKeyConstraint(
            ['recorded_by_id'], ['users.id'], name=op.f('fk_payee_bank_accounts_recorded_by_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payee_bank_accounts')),
        sa.UniqueConstraint('party_type', 'party_id', name=op.f('uq_payee_bank_accounts_party_type_party_id')),
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('method', sa.String(length=8), server_default='alipay', nullable=False))
        batch_op.add_column(sa.Column('bank_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('exported_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint('known_method', "method IN ('alipay', 'bank')")


def downgrade():
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_constraint('known_method', type_='check')
        batch_op.drop_column('exported_at')
        batch_op.drop_column('bank_name')
        batch_op.drop_column('method')
    op.drop_table('payee_bank_accounts')
