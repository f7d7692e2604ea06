"""Seeding from CSV: every row, idempotent, exactly once under concurrent start, any source."""

from __future__ import annotations

import functools
import http.server
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from api.extensions import db
from config import BUNDLED_CSV
from tests.support.apps import make_app
from tests.support.fixtures_csv import HEADER, write_coin_csv
from tests.support.paths import SHARED_CSV_DIR
from tests.support.services import BACKENDS
from tests.support.tcp_proxy import free_port
from tests.support.truth import CsvTruth
from utilities.csv_source import CsvSourceError
from utilities.seeding import inspect_and_seed, seed_from_csv

backends = pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)


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


def stored_rows(engine: sa.Engine) -> dict[tuple[str, date], tuple]:
    """Every record keyed by (symbol, day)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.symbol, r.date, r.open, r.high, r.low, r.close, r.volume, r.marketcap "
                "FROM record r JOIN currency c ON c.id = r.currency_id"
            )
        ).all()
    return {
        (row[0], row[1] if isinstance(row[1], date) else date.fromisoformat(row[1])): tuple(row[2:]) for row in rows
    }


def expected_rows(truth: CsvTruth) -> dict[tuple[str, date], tuple]:
    fields = ("Open", "High", "Low", "Close", "Volume", "Marketcap")
    return {
        (symbol, day): tuple(values[f] for f in fields)
        for symbol, coin in truth.coins.items()
        for day, values in coin.days.items()
    }


@backends
def test_seed_loads_every_row_exactly(migrated, truth):
    _url, engine = migrated
    result = seed_from_csv(engine, str(BUNDLED_CSV), progress=False)
    assert (result.files, result.records_inserted, result.records_total) == (23, 37082, 37082)
    assert truth.total_rows == 37082
    assert stored_rows(engine) == expected_rows(truth)
    with engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT symbol, name FROM currency")).all())
    assert names == {symbol: coin.name for symbol, coin in truth.coins.items()}


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_seed_leaves_the_planner_statistics_of_the_data(migrated):
    """Without them PostgreSQL guesses 200 distinct days and scans the whole table per dashboard."""
    _url, engine = migrated
    seed_from_csv(engine, str(BUNDLED_CSV), progress=False)
    with engine.connect() as conn:
        days = conn.execute(
            sa.text("SELECT n_distinct FROM pg_stats WHERE tablename = 'record' AND attname = 'date'")
        ).scalar()
        coins = conn.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'currency'")).scalar()
    assert days is not None and days > 2000  # 2,991 days in the bundled data (a sampled estimate)
    assert coins == 23


@backends
def test_seed_is_idempotent_and_converges(migrated, truth):
    _url, engine = migrated
    seed_from_csv(engine, str(BUNDLED_CSV), progress=False)
    with engine.connect() as conn:
        ids_before = conn.execute(sa.text("SELECT symbol, id FROM currency ORDER BY id")).all()
    again = seed_from_csv(engine, str(BUNDLED_CSV), progress=False)
    assert (again.records_inserted, again.records_total) == (0, 37082)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT symbol, id FROM currency ORDER BY id")).all() == ids_before
        conn.execute(sa.text("DELETE FROM record WHERE date >= '2021-01-01'"))
    repaired = seed_from_csv(engine, str(BUNDLED_CSV), progress=False)
    assert repaired.records_total == 37082
    assert repaired.records_inserted > 3000
    assert stored_rows(engine) == expected_rows(truth)


@backends
def test_startup_inspector_seeds_only_empty_tables(migrated, caplog):
    _url, engine = migrated
    caplog.set_level(logging.INFO, logger="utilities.seeding")
    first = inspect_and_seed(engine, str(BUNDLED_CSV))
    second = inspect_and_seed(engine, str(BUNDLED_CSV))
    assert first.seeded and first.records_inserted == 37082
    assert not second.seeded and second.records_total == 37082
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Seeded 37082 records from 23 CSV files") for m in messages)
    assert any("tables already hold data (37082 records); not seeding" in m for m in messages)


def test_startup_step_seeds_but_building_the_app_does_not(tmp_path):
    from api.startup import start_in_background

    url = f"sqlite:///{tmp_path / 'start.sqlite'}"
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    started = make_app(url, SEED_ON_STARTUP=True, CACHE_TTL=60, CACHE_VERSION_FILE=str(tmp_path / "v"))
    client = started.test_client()
    assert client.get("/api/v1/dashboard?id=all").status_code == 204  # create_app did no I/O: still empty
    thread = start_in_background(started)  # what gunicorn's post_worker_init hook does
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert client.get("/ready").status_code == 200
    assert client.get("/api/v1/dashboard?id=all").headers["X-Total-Count"] == "23"
    # The seed invalidated cached reads: once per committed transaction, and a run is one (all or nothing).
    assert (tmp_path / "v").read_text() == "1"


def test_inspector_says_schema_is_missing(tmp_path, caplog):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'blank.sqlite'}")
    result = inspect_and_seed(engine, str(BUNDLED_CSV))
    assert not result.seeded
    assert "run `flask db upgrade` first" in result.reason
    assert any("flask db upgrade" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


@pytest.fixture
def zip_server(tmp_path) -> Iterator[str]:
    """Serve the bundled zip over HTTP on 127.0.0.1; yields the base URL."""
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "crypto.zip").write_bytes(BUNDLED_CSV.read_bytes())
    (tmp_path / "served" / "not-a-zip.zip").write_text("hello")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "served"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@backends
def test_seed_from_url(migrated, zip_server, truth):
    _url, engine = migrated
    result = seed_from_csv(engine, f"{zip_server}/crypto.zip", progress=False)
    assert result.records_total == 37082
    assert stored_rows(engine) == expected_rows(truth)


@pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)
def test_seed_from_bad_urls_is_a_clear_error(migrated, zip_server):
    _url, engine = migrated
    with pytest.raises(CsvSourceError, match=r"cannot download .*/missing\.zip: HTTP Error 404"):
        seed_from_csv(engine, f"{zip_server}/missing.zip", progress=False)
    with pytest.raises(CsvSourceError, match=r"not-a-zip\.zip is not a zip file"):
        seed_from_csv(engine, f"{zip_server}/not-a-zip.zip", progress=False)
    with pytest.raises(CsvSourceError, match="cannot download"):
        seed_from_csv(engine, f"http://127.0.0.1:{free_port()}/x.zip", progress=False)


@pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)
def test_seed_from_folder_matches_bundled_zip(migrated, tmp_path, truth):
    _url, engine = migrated
    folder = tmp_path / "csv"
    with zipfile.ZipFile(BUNDLED_CSV) as archive:
        archive.extractall(folder)
    assert seed_from_csv(engine, str(folder), progress=False).records_total == 37082
    assert stored_rows(engine) == expected_rows(truth)


def test_bundled_zip_is_the_shared_data():
    from tests.support.services import REQUIRE_SERVICES

    if not SHARED_CSV_DIR.is_dir():
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {SHARED_CSV_DIR} is not beside this checkout")
        pytest.skip("../shared is not beside this checkout")
    with zipfile.ZipFile(BUNDLED_CSV) as archive:
        bundled = {name: archive.read(name) for name in archive.namelist()}
    shared = {path.name: path.read_bytes() for path in SHARED_CSV_DIR.glob("*.csv")}
    assert bundled == shared


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("3,Bad,BAD,2021-01-03 23:59:59,1,1,1,-1,1,1\n", "line 4: Close must be a finite non-negative number"),
        ("3,Bad,BAD,2021-01-03 23:59:59,1,1,1,nan,1,1\n", "line 4: Close must be a finite non-negative number"),
        ("3,Bad,BAD,2021-01-03 23:59:59,1,1,x,1,1,1\n", "line 4: Open is not a number"),
        ("3,Bad,BAD,2021-31-01 23:59:59,1,1,1,1,1,1\n", "line 4: Date is not YYYY-MM-DD"),
        ("3,Bad,BAD,2021-01-03 23:59:59,1,1,1\n", "line 4: expected 10 columns, got 7"),
        ("3,Bad,OTHER,2021-01-03 23:59:59,1,1,1,1,1,1\n", "line 4: symbol 'OTHER' differs"),
        ("3,Bad,BAD,2021-01-02 23:59:59,1,1,1,1,1,1\n", "line 4: duplicate day 2021-01-02"),
    ],
)
@pytest.mark.parametrize("empty_database_url", ["sqlite"], indirect=True)
def test_bad_csv_row_is_named_and_nothing_of_the_run_is_written(migrated, tmp_path, bad_line, message):
    _url, engine = migrated
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "a_good.csv", "Good", "GOOD", [("2021-01-01", 1.0), ("2021-01-02", 2.0)])
    bad = write_coin_csv(folder / "b_bad.csv", "Bad", "BAD", [("2021-01-01", 1.0), ("2021-01-02", 2.0)])
    bad.write_text(bad.read_text() + bad_line)
    with pytest.raises(CsvSourceError, match=re.escape(message)):
        seed_from_csv(engine, str(folder), progress=False)
    with engine.connect() as conn:  # all or nothing for a run (issue 30): not even the good file
        assert conn.execute(sa.text("SELECT count(*) FROM record")).scalar() == 0
        assert conn.execute(sa.text("SELECT symbol FROM currency")).scalars().all() == []


def test_wrong_header_is_rejected(tmp_path):
    from utilities.csv_source import read_source

    (tmp_path / "x.csv").write_text(HEADER.replace("Close", "Closing") + "1,A,A,2021-01-01,1,1,1,1,1,1\n")
    with pytest.raises(CsvSourceError, match="expected header"):
        list(read_source(str(tmp_path)))


@backends
def test_flask_seed_command(migrated):
    url, _engine = migrated
    app = make_app(url)
    result = app.test_cli_runner().invoke(args=["seed", "--source", str(BUNDLED_CSV)])
    assert result.exit_code == 0, result.output
    assert "Inserted 37082 new records from 23 files" in result.output
    again = app.test_cli_runner().invoke(args=["seed"])
    assert "Inserted 0 new records from 23 files" in again.output
    missing = app.test_cli_runner().invoke(args=["seed", "--source", "/nowhere"])
    assert missing.exit_code == 1
    assert "CSV source not found: /nowhere" in missing.output


def _wait_for_lines(
    log_path: Path, pattern: str, count: int, process: subprocess.Popen, deadline_s: float
) -> list[str]:
    """Poll a log until `count` lines match (a bounded wait for start-up, not a timing check)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        lines = [line for line in log_path.read_text().splitlines() if re.search(pattern, line)]
        if len(lines) >= count or process.poll() is not None:
            return lines
        time.sleep(0.1)
    return lines


@backends
def test_two_gunicorn_workers_on_empty_database_seed_once(migrated, tmp_path, project_root):
    url, engine = migrated
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    env = {**os.environ, "DATABASE_URL": url, "SEED_ON_STARTUP": "on", "LOG_LEVEL": "INFO"}
    env["CACHE_VERSION_FILE"] = str(tmp_path / "cache-version")
    env.pop("FLASK_RUN_FROM_CLI", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=project_root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        lines = _wait_for_lines(log_path, r"Seeded \d+ records|not seeding", 2, process, 120)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/dashboard?id=all", timeout=10) as response:
            assert response.headers["X-Total-Count"] == "23"
    finally:
        process.terminate()
        process.wait(timeout=30)
    output = log_path.read_text()
    assert len(lines) == 2, output
    assert len([line for line in lines if "Seeded 37082 records from 23 CSV files" in line]) == 1, output
    assert len([line for line in lines if "tables already hold data (37082 records)" in line]) == 1, output
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM record")).scalar() == 37082
        assert conn.execute(sa.text("SELECT min(id), max(id), count(*) FROM currency")).one() == (1, 23, 23)
