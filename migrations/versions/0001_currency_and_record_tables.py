"""Currency and record tables: one row per coin per UTC day.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 16:43:49.405982

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "currency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currency")),
        sa.UniqueConstraint("symbol", name=op.f("uq_currency_symbol")),
    )
    op.create_table(
        "record",
        sa.Column("currency_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("open", sa.Double(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("close", sa.Double(), nullable=False),
        sa.Column("volume", sa.Double(), nullable=True),
        sa.Column("marketcap", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["currency_id"], ["currency.id"], name=op.f("fk_record_currency_id_currency"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("currency_id", "date", name=op.f("pk_record")),
    )
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.create_index("ix_record_date", ["date", "currency_id"], unique=False)


def downgrade():
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_date")

    op.drop_table("record")
    op.drop_table("currency")
