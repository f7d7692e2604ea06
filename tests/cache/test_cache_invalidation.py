"""The one invalidation rule (api/cache/invalidation.py): cached reads are invalidated after a
commit that changed currency or record rows, whoever wrote them, and at no other time.

Each test counts the data version in the in-process backend's version file (it moves by one per
invalidation) on a fresh, migrated database of each backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from api.extensions import db
from api.models import Currency, User
from api.sql.writes import create_currency, rename_currency, upsert_records
from tests.support.apps import make_app
from tests.support.fixtures_csv import write_coin_csv
from tests.support.services import BACKENDS, new_database_url
from utilities.seeding import seed_from_csv


@pytest.fixture(params=BACKENDS)
def fresh_app(request, tmp_path) -> Iterator[Flask]:
    """A migrated, empty database with the in-process cache on."""
    app = make_app(
        new_database_url(request, request.param, tmp_path), CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "v")
    )
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def version(app: Flask) -> int:
    path = Path(app.config["CACHE_VERSION_FILE"])
    return int(path.read_text()) if path.exists() else 0


def test_each_committed_write_of_the_write_layer_invalidates_once(fresh_app):
    with fresh_app.app_context():
        create_currency(db.session, "Testcoin", "TSTC")
        assert version(fresh_app) == 1
        candles = [{"date": date(2021, 7, 5), **dict.fromkeys(("open", "high", "low", "close"), 1.0)}]
        candles[0] |= {"volume": 10.0, "marketcap": 1000.0}
        assert upsert_records(db.session, "TSTC", candles) == 1
        assert version(fresh_app) == 2
        assert rename_currency(db.session, "TSTC", "Testcoin 2") is True
        assert version(fresh_app) == 3


def test_a_write_that_changed_no_row_does_not_invalidate(fresh_app):
    with fresh_app.app_context():
        assert rename_currency(db.session, "NOPE", "Nothing") is False
        assert version(fresh_app) == 0


def test_a_rolled_back_write_does_not_invalidate(fresh_app):
    with fresh_app.app_context():
        db.session.add(Currency(name="Testcoin", symbol="TSTC"))
        db.session.flush()
        db.session.rollback()
        assert version(fresh_app) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Currency)) == 0


def test_a_write_is_invalidated_only_once_committed(fresh_app):
    """Between the statement and the commit, readers must keep the old version."""
    with fresh_app.app_context():
        db.session.add(Currency(name="Testcoin", symbol="TSTC"))
        db.session.flush()
        assert version(fresh_app) == 0
        db.session.commit()
        assert version(fresh_app) == 1


def test_writes_to_other_tables_do_not_invalidate(fresh_app):
    with fresh_app.app_context():
        user = User(name="reader-1", role="reader")
        user.set_password("a long enough password")
        db.session.add(user)
        db.session.commit()
        assert version(fresh_app) == 0


def test_core_writes_invalidate_too(fresh_app, tmp_path):
    """Seeding (and ingestion) write through Core connections, not the session."""
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "coin.csv", "Testcoin", "TSTC", [("2021-07-05", 1.0), ("2021-07-06", 2.0)])
    with fresh_app.app_context():
        seed_from_csv(db.engine, str(folder), progress=False)
        seeded = version(fresh_app)
        assert seeded >= 1
        with db.engine.begin() as conn:
            conn.execute(sa.delete(Currency).where(Currency.symbol == "TSTC"))
        assert version(fresh_app) == seeded + 1


def test_the_flask_seed_command_invalidates(fresh_app, tmp_path):
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "coin.csv", "Testcoin", "TSTC", [("2021-07-05", 1.0)])
    result = fresh_app.test_cli_runner().invoke(args=["seed", "--source", str(folder)])
    assert result.exit_code == 0, result.output
    assert version(fresh_app) >= 1
