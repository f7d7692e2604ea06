"""The dashboard's index carries close, volume and market cap (PostgreSQL: index-only scans).

Replaces ix_record_date (date, currency_id). On PostgreSQL both steps run CONCURRENTLY, outside a
transaction, so reads and writes go on while the index builds on a large table. SQLite has no
INCLUDE: there the new index has the old one's keys.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:20:00
"""

import contextlib

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PRICES = ["close", "volume", "marketcap"]


def upgrade():
    concurrently = _on_postgresql()
    with _outside_the_transaction_if(concurrently):
        op.create_index(
            "ix_record_date_prices",
            "record",
            ["date", "currency_id"],
            postgresql_include=PRICES,
            postgresql_concurrently=concurrently,
        )
        op.drop_index("ix_record_date", table_name="record", postgresql_concurrently=concurrently)


def downgrade():
    concurrently = _on_postgresql()
    with _outside_the_transaction_if(concurrently):
        op.create_index("ix_record_date", "record", ["date", "currency_id"], postgresql_concurrently=concurrently)
        op.drop_index("ix_record_date_prices", table_name="record", postgresql_concurrently=concurrently)


def _on_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _outside_the_transaction_if(needed: bool):
    """CONCURRENTLY cannot run inside a transaction block."""
    return op.get_context().autocommit_block() if needed else contextlib.nullcontext()
