"""Migration 0004 upgrades a database that already holds data, in place, and downgrades again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from api.extensions import db
from tests.support.apps import make_app
from tests.support.services import BACKENDS

ROWS = [
    # (currency_id, date, close, volume, marketcap): CSV rows carry a market cap (maybe 0); the
    # row without one came from an exchange ingestion before 0004 (volume in coins, unknown source).
    (1, "2021-07-05", 100.0, 5e9, 2e12),
    (1, "2021-07-06", 80.0, 4e9, 1.6e12),
    (1, "2021-07-07", 90.0, 30013.0, None),
    (2, "2021-07-06", 2.0, 0.0, 0.0),
]


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_0004_marks_existing_rows_and_derives_supply(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade(revision="0003")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO currency (id, name, symbol) VALUES (1, 'Bitcoin', 'BTC'), (2, 'Z', 'Z')"))
            for currency_id, day, close, volume, marketcap in ROWS:
                conn.execute(
                    sa.text(
                        "INSERT INTO record (currency_id, date, open, high, low, close, volume, marketcap) "
                        "VALUES (:c, :d, :p, :p, :p, :p, :v, :m)"
                    ),
                    {"c": currency_id, "d": day, "p": close, "v": volume, "m": marketcap},
                )
        upgrade()
        with db.engine.connect() as conn:
            lineage = conn.execute(
                sa.text(
                    "SELECT currency_id, date, source, volume_estimated, marketcap_estimated FROM record "
                    "ORDER BY currency_id, date"
                )
            ).all()
            supply = conn.execute(
                sa.text("SELECT symbol, circulating_supply, supply_as_of FROM currency ORDER BY id")
            ).all()
        assert [(row[0], str(row[1]), row[2], bool(row[3]), bool(row[4])) for row in lineage] == [
            (1, "2021-07-05", "csv", False, False),
            (1, "2021-07-06", "csv", False, False),
            (1, "2021-07-07", "unknown", False, False),
            (2, "2021-07-06", "csv", False, False),
        ]
        # 1.6e12 / 80 on the newest day with a reported market cap; Z never reported one.
        assert [(s, c, str(d) if d else None) for s, c, d in supply] == [
            ("BTC", 1.6e12 / 80.0, "2021-07-06"),
            ("Z", None, None),
        ]
        downgrade(revision="0003")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("record")}
        assert "source" not in columns and "marketcap" in columns
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM record")).scalar() == 4  # no data lost
        db.engine.dispose()
