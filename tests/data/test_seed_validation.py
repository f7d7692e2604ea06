"""`flask seed` validates rows as the API does (issue 30, item 14): a symbol the API could not
name, a look-alike name, values outside docs/limits.md and days after today are refused with
the file and line, and a run is all or nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from api.extensions import db
from tests.support.apps import make_app
from tests.support.fixtures_csv import HEADER, write_coin_csv
from tests.support.services import BACKENDS
from tests.support.writable import basic
from utilities.csv_source import CsvSourceError
from utilities.seeding import seed_from_csv

backends = pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


@pytest.fixture
def migrated(empty_database_url) -> Iterator[tuple[str, sa.Engine]]:
    """A migrated, empty database and an engine on it."""
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    engine = sa.create_engine(empty_database_url)
    yield empty_database_url, engine
    engine.dispose()


def stored(engine: sa.Engine) -> tuple[list[str], int]:
    with engine.connect() as conn:
        symbols = conn.execute(sa.text("SELECT symbol FROM currency ORDER BY symbol")).scalars().all()
        return symbols, conn.execute(sa.text("SELECT count(*) FROM record")).scalar()


def row(name: str, symbol: str, day: str, high="2", low="1", open_="1", close="2", volume="10", cap="1000") -> str:
    return f"1,{name},{symbol},{day} 23:59:59,{high},{low},{open_},{close},{volume},{cap}\n"


@backends
def test_a_symbol_the_api_cannot_name_is_refused_from_a_zip(migrated, tmp_path):
    """`A$B` was listed, but GET and DELETE answered 404: it could not be removed through the API."""
    _url, engine = migrated
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("coin_Good.csv", HEADER + row("Good", "GOOD", "2021-01-01"))
        zipped.writestr("coin_Evil.csv", HEADER + row("Evil", "A$B", "2021-01-01"))
    with pytest.raises(CsvSourceError, match=re.escape("coin_Evil.csv line 2: Symbol 'A$B' must be 1-20 ASCII")):
        seed_from_csv(engine, str(archive), progress=False)
    assert stored(engine) == ([], 0)  # not even the good file: all or nothing


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (row("Bit\u202ecoin", "BIDI", "2021-01-01"), "line 2: Name 'Bit\\u202ecoin' must not contain control, bidi"),
        (row("Bitcoin\u200b", "ZW", "2021-01-01"), "line 2: Name 'Bitcoin\\u200b' must not contain control"),
        (row("Coin", "CÖIN", "2021-01-01"), "line 2: Symbol 'CÖIN' must be 1-20 ASCII"),
        (row("Coin", "TOO-LONG-A-SYMBOL-XYZ", "2021-01-01"), "line 2: Symbol 'TOO-LONG-A-SYMBOL-XYZ' must be"),
        (row("Coin", "BIG", "2021-01-01", high="1.7e308", close="1.7e308"), "line 2: High must be 0 or between"),
        (row("Coin", "TINY", "2021-01-01", low="5e-324", open_="5e-324"), "line 2: Open must be 0 or between"),
        (row("Coin", "VOL", "2021-01-01", volume="1.7e308"), "line 2: Volume must be at most 1e+15 USD"),
        (row("Coin", "CAP", "2021-01-01", cap="1e17"), "line 2: Marketcap must be at most 1e+16 USD"),
        (row("Coin", "LOHI", "2021-01-01", low="3"), "line 2: prices must satisfy Low <= Open, Close <= High"),
        (row("Coin", "LATE", TOMORROW), "line 2: Date must not be after today (UTC"),
        (row("Coin", "LATE", "9999-12-31"), "line 2: Date must not be after today (UTC"),
        (row("Coin", "EARLY", "1899-12-31"), "line 2: Date must be on or after 1900-01-01"),
    ],
)
@pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)
def test_rows_the_api_would_refuse_are_named_with_file_and_line(migrated, tmp_path, line, message):
    _url, engine = migrated
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "a_good.csv", "Good", "GOOD", [("2021-01-01", 1.0)])
    (folder / "b_bad.csv").write_text(HEADER + line, encoding="utf-8")
    with pytest.raises(CsvSourceError, match=re.escape(f"b_bad.csv {message}")):
        seed_from_csv(engine, str(folder), progress=False)
    assert stored(engine) == ([], 0)


@backends
def test_a_later_bad_file_leaves_earlier_files_unwritten(migrated, tmp_path):
    """The issue: earlier files were committed before a later file failed."""
    _url, engine = migrated
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "a.csv", "Alpha", "AAA", [("2021-01-01", 1.0), ("2021-01-02", 2.0)])
    write_coin_csv(folder / "b.csv", "Beta", "BBB", [("2021-01-01", 5.0)])
    bad = write_coin_csv(folder / "c.csv", "Gamma", "CCC", [("2021-01-01", 1.0)])
    bad.write_text(bad.read_text() + row("Gamma", "CCC", "2021-01-02", volume="nan"))
    with pytest.raises(CsvSourceError, match=re.escape("c.csv line 3: Volume must be a finite non-negative")):
        seed_from_csv(engine, str(folder), progress=False)
    assert stored(engine) == ([], 0)
    bad.unlink()
    result = seed_from_csv(engine, str(folder), progress=False)
    assert (result.files, stored(engine)) == (2, (["AAA", "BBB"], 3))


@backends
def test_seeded_coins_can_be_read_and_deleted_through_the_api(migrated, tmp_path):
    """What seeding accepts, the API can name: every seeded symbol answers GET and DELETE."""
    url, engine = migrated
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "a.csv", "Dot.Coin", "d.o-t_1", [("2021-01-01", 1.0)])
    seed_from_csv(engine, str(folder), progress=False)
    app = make_app(url)
    with app.app_context():
        from api.models import User

        admin = User(name="ann", role="admin")
        admin.set_password("admin-password-1")
        db.session.add(admin)
        db.session.commit()
    client = app.test_client()
    assert client.get("/api/v1/currencies/D.O-T_1").status_code == 200
    assert client.delete("/api/v1/currencies/d.o-t_1", headers=basic("ann", "admin-password-1")).status_code == 204
    with app.app_context():
        db.engine.dispose()
