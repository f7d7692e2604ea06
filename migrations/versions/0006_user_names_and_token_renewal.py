"""User names unique regardless of case; tokens that renew themselves until a bound.

- `ux_user_account_name_lower`: a unique index on `lower(name)` (PostgreSQL and SQLite both index
  expressions), so `Alice` cannot be created beside `alice`. Existing names that differ only by
  case stop the upgrade with a message naming them (rename or delete one with `flask users`
  first); nothing is changed silently.
- `token.renewable_until`: the moment after which a token may no longer mint its successor
  (`POST /api/v1/tokens` with Bearer). Existing tokens get NULL: they cannot renew, and expire as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

DUPLICATES = sa.text(
    "SELECT lower(name) AS folded, count(*) AS n FROM user_account GROUP BY lower(name) HAVING count(*) > 1 ORDER BY 1"
)


def upgrade():
    clashes = op.get_bind().execute(DUPLICATES).all()
    if clashes:
        names = ", ".join(f"{row.folded} ({row.n} accounts)" for row in clashes)
        raise RuntimeError(
            f"Migration 0006 stopped: user names that differ only by case: {names}. "
            "Delete or recreate all but one of each (flask users delete NAME), then run flask db upgrade again."
        )
    op.create_index("ux_user_account_name_lower", "user_account", [sa.text("lower(name)")], unique=True)
    # Plain ADD COLUMN (no batch mode): SQLite adds a nullable column in place.
    op.add_column("token", sa.Column("renewable_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("token") as batch_op:
        batch_op.drop_column("renewable_until")
    op.drop_index("ux_user_account_name_lower", table_name="user_account")
