"""mini-program: the server cart and the buyer's phone number confirmed by WeChat

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 03:30:00
"""
import sqlalchemy as sa
from alembic import op

import core.db


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'cart_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('sku_id', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('quantity >= 1 AND quantity <= 99', name=op.f('ck_cart_items_quantity_range')),
        sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], name=op.f('fk_cart_items_sku_id_skus'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cart_items_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_items')),
        sa.UniqueConstraint('user_id', 'sku_id', name=op.f('uq_cart_items_user_id_sku_id')),
    )
    with op.batch_alter_table('cart_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cart_items_sku_id'), ['sku_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_items_user_id'), ['user_id'], unique=False)
    op.add_column('users', sa.Column('phone', sa.Text(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':  # in place: a batch-mode copy of users is refused while rows refer to it
        op.execute('ALTER TABLE users DROP COLUMN phone')
    else:
        op.drop_column('users', 'phone')
    with op.batch_alter_table('cart_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_items_user_id'))
        batch_op.drop_index(batch_op.f('ix_cart_items_sku_id'))
    op.drop_table('cart_items')
