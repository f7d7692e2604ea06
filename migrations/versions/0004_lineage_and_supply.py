"""Lineage and supply: where each record came from, which values are estimates, each coin's supply.

`record.source` (`csv`, an exchange id, `api`), `record.volume_estimated` and
`record.marketcap_estimated`; `currency.circulating_supply` with `currency.supply_as_of`.
Existing databases upgrade in place: rows become `source = 'csv'` except those with no market cap,
which no CSV row lacks (they came from an earlier exchange ingestion or a write): those become
`'unknown'`. Each coin's supply is derived from its newest reported market cap (market cap / close).
Adding columns with constant defaults rewrites no table (PostgreSQL 11+; on SQLite batch mode
issues a plain ADD COLUMN).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEWEST_REPORTED = (
    "SELECT {column} FROM record r WHERE r.currency_id = currency.id AND r.marketcap > 0 AND r.close > 0 "
    "AND r.source = 'csv' ORDER BY r.date DESC LIMIT 1"
)


def upgrade():
    with op.batch_alter_table("record") as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(32), server_default=sa.text("'csv'"), nullable=False))
        batch_op.add_column(sa.Column("volume_estimated", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("marketcap_estimated", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("currency") as batch_op:
        batch_op.add_column(sa.Column("circulating_supply", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("supply_as_of", sa.Date(), nullable=True))
    op.execute("UPDATE record SET source = 'unknown' WHERE marketcap IS NULL")
    op.execute(
        "UPDATE currency SET "
        f"circulating_supply = ({NEWEST_REPORTED.format(column='r.marketcap / r.close')}), "
        f"supply_as_of = ({NEWEST_REPORTED.format(column='r.date')})"
    )


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: batch mode would copy and drop
    # `currency`, and with foreign keys on, dropping it cascades to every record (all data lost).
    for column in ("supply_as_of", "circulating_supply"):
        op.drop_column("currency", column)
    for column in ("marketcap_estimated", "volume_estimated", "source"):
        op.drop_column("record", column)
