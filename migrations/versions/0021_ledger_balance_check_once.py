"""ledger: the commit-time balance check sums each posting once, not once per entry

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 03:00:00

The deferred trigger summed the whole posting for every entry it inserted: a
2,000-line order's payment posting (6,001 entries) summed 36 million rows at
commit, over 6 s, past WeChat's 5 s for a notification. Now only the last entry
a (sub)transaction inserted into a posting sums it (the check still runs at
commit and still sees every entry); the index on (posting_id, id) finds whether
a later entry of the same transaction exists in one probe. It replaces the
index on posting_id alone.
"""
from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

SUM_EACH_TIME = """
    CREATE OR REPLACE FUNCTION ledger_check_posting_balanced() RETURNS trigger AS $$
    DECLARE total bigint;
    BEGIN
        SELECT COALESCE(SUM(amount_fen), 0) INTO total FROM ledger_entries WHERE posting_id = NEW.posting_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger posting % is unbalanced by % fen', NEW.posting_id, total;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
"""

SUM_ONCE = """
    CREATE OR REPLACE FUNCTION ledger_check_posting_balanced() RETURNS trigger AS $$
    DECLARE
        total bigint;
        inserted_by xid;
    BEGIN
        -- A later entry of this posting written by the same (sub)transaction checks for this one.
        SELECT xmin INTO inserted_by FROM ledger_entries WHERE id = NEW.id;
        IF EXISTS (
            SELECT 1 FROM ledger_entries
            WHERE posting_id = NEW.posting_id AND id > NEW.id AND xmin = inserted_by
        ) THEN
            RETURN NULL;
        END IF;
        SELECT COALESCE(SUM(amount_fen), 0) INTO total FROM ledger_entries WHERE posting_id = NEW.posting_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger posting % is unbalanced by % fen', NEW.posting_id, total;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
"""


def upgrade():
    op.create_index('ix_ledger_entries_posting_id_id', 'ledger_entries', ['posting_id', 'id'])
    op.drop_index('ix_ledger_entries_posting_id', table_name='ledger_entries')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(SUM_ONCE)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(SUM_EACH_TIME)
    op.create_index('ix_ledger_entries_posting_id', 'ledger_entries', ['posting_id'])
    op.drop_index('ix_ledger_entries_posting_id_id', table_name='ledger_entries')
