"""Coin status, per-value lineage of volume and market cap, and supply over time.

- `currency.status` (`active`, `delisted`, `stale`) with `status_since` (the first UTC day of that
  state) and `status_reason`: a coin that no source carries any more is a state, not an error.
- `record.volume_source` and `record.marketcap_source`: who supplied each of the two figures
  (`csv`, `coingecko`, an exchange id, `api`), since a candle from an exchange can carry the
  aggregator's market cap and total volume. Existing rows take the record's `source` (market cap
  only where one is stored).
- `supply`: circulating supply per coin per known day (`csv`, `coingecko`, `api`), so an estimated
  market cap uses a supply interpolated between known points, never one carried for years.
  Seeded from each coin's current `circulating_supply` / `supply_as_of`.

Adding columns with constant defaults rewrites no table (PostgreSQL 11+ and SQLite).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, never batch mode: on SQLite batch mode may copy and drop `currency`, and
    # with foreign keys on, dropping it cascades to every record.
    op.add_column("currency", sa.Column("status", sa.String(16), server_default=sa.text("'active'"), nullable=False))
    op.add_column("currency", sa.Column("status_since", sa.Date(), nullable=True))
    op.add_column("currency", sa.Column("status_reason", sa.String(200), nullable=True))
    op.add_column("record", sa.Column("volume_source", sa.String(32), nullable=True))
    op.add_column("record", sa.Column("marketcap_source", sa.String(32), nullable=True))
    op.execute("UPDATE record SET volume_source = source WHERE volume IS NOT NULL")
    op.execute("UPDATE record SET marketcap_source = source WHERE marketcap IS NOT NULL")
    op.create_table(
        "supply",
        sa.Column("currency_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("circulating_supply", sa.Double(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["currency_id"], ["currency.id"], name="fk_supply_currency_id_currency", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("currency_id", "date", name="pk_supply"),
    )
    op.execute(
        "INSERT INTO supply (currency_id, date, circulating_supply, source) "
        "SELECT id, supply_as_of, circulating_supply, 'csv' FROM currency "
        "WHERE circulating_supply IS NOT NULL AND supply_as_of IS NOT NULL"
    )


def downgrade():
    op.drop_table("supply")
    # Plain DROP COLUMN (SQLite 3.35+), not batch mode: batch mode would copy and drop `currency`,
    # and with foreign keys on, dropping it cascades to every record (migration 0004 says why).
    for column in ("marketcap_source", "volume_source"):
        op.drop_column("record", column)
    for column in ("status_reason", "status_since", "status"):
        op.drop_column("currency", column)
