"""Exchange ingestion through ccxt against recorded-format Binance responses (never the network)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest
import redis
import sqlalchemy as sa
from flask_migrate import upgrade

from api.extensions import db
from tests.support.apps import make_app
from tests.support.fake_binance import kline, synthetic_days
from tests.support.services import BACKENDS, new_database_url, require_redis
from utilities.exchange_client import make_exchange
from utilities.exchange_ingest import ingest_market

FIRST = date(2021, 1, 1)


@pytest.fixture(params=BACKENDS)
def ingest_app(request, tmp_path):
    """A migrated, empty database (cache on, to see invalidation)."""
    url = new_database_url(request, request.param, tmp_path)
    app = make_app(url, CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "cache-version"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def stored(app, symbol: str = "BTC") -> dict[date, tuple]:
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT r.date, r.open, r.high, r.low, r.close, r.volume, r.marketcap FROM record r "
                "JOIN currency c ON c.id = r.currency_id WHERE c.symbol = :s"
            ),
            {"s": symbol},
        ).all()
    return {(r[0] if isinstance(r[0], date) else date.fromisoformat(r[0])): tuple(r[1:]) for r in rows}


def expected(klines: dict[date, list]) -> dict[date, tuple]:
    """open, high, low, close, the QUOTE volume (index 7: dollars, not coins), no market cap."""
    return {day: (*(float(k[i]) for i in (1, 2, 3, 4, 7)), None) for day, k in klines.items()}


def run(app, market="BTC/USDT", since=FIRST, until=date(2030, 1, 1), **kwargs):
    sleeps: list[float] = []
    # The synthetic series run past today's date: pretend it is 2030 (no candle after "today" is stored).
    with app.app_context():
        summary = ingest_market(
            db.engine, make_exchange("binance"), market, since, until, sleep=sleeps.append, today=until, **kwargs
        )
    return summary, sleeps


def test_pages_through_the_whole_range(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 2500)
    summary, _ = run(ingest_app)
    assert (summary.stored, summary.pages, summary.skipped, summary.error) == (2500, 3, 0, None)
    assert [call["startTime"] for call in fake_binance.kline_calls[:3]] == [
        str(1609459200000 + n * 1000 * 86_400_000) for n in range(3)
    ]
    assert stored(ingest_app) == expected(fake_binance.klines["BTCUSDT"])
    with ingest_app.app_context(), db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name, symbol FROM currency")).all() == [("BTC", "BTC")]


def test_until_bounds_the_range(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 100)
    summary, _ = run(ingest_app, since=date(2021, 1, 10), until=date(2021, 1, 19))
    assert summary.stored == 10
    assert sorted(stored(ingest_app)) == [date(2021, 1, 10) + timedelta(days=n) for n in range(10)]


def test_retries_after_429_and_500_with_backoff(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 30)
    fake_binance.failures = [429, 500]
    summary, sleeps = run(ingest_app, backoff=0.5)
    assert summary.error is None and summary.stored == 30
    assert sleeps == [0.5, 1.0]  # exponential back-off, then success


def test_permanent_failure_is_reported_clearly(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 30)
    fake_binance.failures = [500] * 10
    summary, sleeps = run(ingest_app, retries=3, backoff=1.0)
    assert sleeps == [1.0, 2.0, 4.0]
    assert summary.stored == 0 and "gave up after 4 attempts" in summary.error
    assert summary.describe().startswith("BTC/USDT: stored nothing, skipped 0 bad candles; FAILED")
    assert stored(ingest_app) == {}


def test_bad_candles_are_skipped_and_counted(ingest_app, fake_binance, caplog):
    klines = synthetic_days(FIRST, 10)
    klines[date(2021, 1, 3)][4] = "NaN"  # non-finite close
    klines[date(2021, 1, 4)][1] = "-1"  # negative open
    klines[date(2021, 1, 5)][3] = "99999"  # low above high
    klines[date(2021, 1, 6)][0] += 3_600_000  # not a whole UTC day
    fake_binance.klines["BTCUSDT"] = klines
    summary, _ = run(ingest_app)
    assert (summary.stored, summary.skipped) == (6, 4)
    assert date(2021, 1, 3) not in stored(ingest_app) and len(stored(ingest_app)) == 6
    assert sum("skipped" in r.getMessage() for r in caplog.records) == 4


def test_rerun_is_idempotent_and_replaces_changed_days(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 1200)
    run(ingest_app)
    first = stored(ingest_app)
    run(ingest_app)
    assert stored(ingest_app) == first and len(first) == 1200
    fake_binance.klines["BTCUSDT"][FIRST] = kline(FIRST, 1, 2, 0.5, 1.5, 7)
    run(ingest_app)
    assert stored(ingest_app)[FIRST] == (1.0, 2.0, 0.5, 1.5, float(fake_binance.klines["BTCUSDT"][FIRST][7]), None)


def test_a_run_failing_after_two_batches_then_a_rerun_converges(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 2500)
    fake_binance.fail_after = 2
    summary, _ = run(ingest_app, retries=1)
    assert summary.stored == 2000 and summary.error  # two committed pages survive the failure
    assert f"nothing stored after {FIRST + timedelta(days=1999)}" in summary.describe()
    assert len(stored(ingest_app)) == 2000
    fake_binance.fail_after = None
    summary, _ = run(ingest_app)
    assert summary.error is None
    assert stored(ingest_app) == expected(fake_binance.klines["BTCUSDT"])


def test_cli_update_fetches_only_new_days_and_invalidates_the_cache(ingest_app, fake_binance, tmp_path):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 20)
    runner = ingest_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "ingest",
            "--exchange",
            "binance",
            "--symbols",
            "BTC/USDT",
            "--since",
            "2021-01-01",
            "--until",
            "2021-01-20",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "BTC/USDT: stored 20 days (2021-01-01 .. 2021-01-20), skipped 0 bad candles" in result.output
    client = ingest_app.test_client()
    assert client.get("/api/v1/dashboard?id=btc").get_json()[0]["date"] == "2021-01-20"
    version = (tmp_path / "cache-version").read_text()

    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 25)
    fake_binance.kline_calls.clear()
    result = runner.invoke(args=["ingest", "--update", "--until", "2021-01-25"])
    assert result.exit_code == 0, result.output
    assert fake_binance.kline_calls[0]["startTime"] == str(1609459200000 + 20 * 86_400_000)  # from 2021-01-21
    assert "stored 5 days (2021-01-21 .. 2021-01-25)" in result.output
    assert (tmp_path / "cache-version").read_text() != version
    assert client.get("/api/v1/dashboard?id=btc").get_json()[0]["date"] == "2021-01-25"  # not the cached answer


def test_cli_reports_failures_and_exits_nonzero(ingest_app, fake_binance):
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 5)
    runner = ingest_app.test_cli_runner()
    result = runner.invoke(
        args=["ingest", "--symbols", "BTC/USDT,NOPE/USDT", "--since", "2021-01-01", "--until", "2021-01-05"]
    )
    assert result.exit_code == 1
    assert "BTC/USDT: stored 5 days" in result.output
    assert "NOPE/USDT: stored nothing" in result.output and "FAILED" in result.output
    assert "1 of 2 markets failed" in result.output
    assert runner.invoke(args=["ingest", "--symbols", "BTC/USDT"]).exit_code == 2  # no --since
    assert runner.invoke(args=["ingest", "--symbols", "BTC/USDT", "--since", "2021-13-01"]).exit_code == 2


def test_creating_the_web_app_does_not_import_ccxt(project_root):
    code = (
        "import sys\n"
        "from api import create_app\n"
        "from tests.support.settings import TestConfig\n"
        "app = create_app(TestConfig)\n"
        "app.test_client().get('/health')\n"
        "print('ccxt' in sys.modules, 'rq' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=project_root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


def test_without_redis_unknown_symbols_stay_404(ingest_app):
    app = make_app(ingest_app.config["SQLALCHEMY_DATABASE_URI"], ON_DEMAND_INGEST=True)
    client = app.test_client()
    assert client.get("/api/v1/dashboard?id=btc").status_code == 404
    assert client.get("/api/v1/jobs/anything").status_code == 404


def test_on_demand_backfill_job_from_202_to_finished(ingest_app, fake_binance, tmp_path):
    url = require_redis()
    prefix = f"crypto-api-test-{uuid.uuid4().hex[:12]}"
    app = make_app(
        ingest_app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=url,
        ON_DEMAND_INGEST=True,
        CACHE_TTL=300,
        CACHE_KEY_PREFIX=prefix,
        CACHE_VERSION_FILE=str(tmp_path / "v2"),
        INGEST_DEFAULT_SINCE=date(2021, 1, 1),
    )
    fake_binance.klines["BTCUSDT"] = synthetic_days(FIRST, 40)
    client = app.test_client()
    try:
        queued = client.get("/api/v1/dashboard?id=btc")
        assert queued.status_code == 202
        body = queued.get_json()
        assert "queued" in body["detail"] and body["jobs"] == {"BTC": body["job"]}
        again = client.get("/api/v1/dashboard?id=btc")
        assert again.status_code == 202 and again.get_json()["job"] == body["job"]  # not queued twice
        status = client.get(f"/api/v1/jobs/{body['job']}")
        assert status.status_code == 200 and status.get_json()["status"] == "queued"
        assert status.get_json()["symbol"] == "BTC"

        from rq import SimpleWorker

        from api.backfill_jobs import _connection, _queue

        with app.app_context():
            worker = SimpleWorker([_queue()], connection=_connection(), name=f"{prefix}-worker")
            assert worker.work(burst=True)
        finished = client.get(f"/api/v1/jobs/{body['job']}").get_json()
        assert finished["status"] == "finished"
        assert finished["result"]["stored"] == 40 and finished["result"]["symbol"] == "BTC"
        rows = client.get("/api/v1/dashboard?id=btc")
        assert rows.status_code == 200 and rows.get_json()[0]["symbol"] == "BTC"
        assert client.get("/api/v1/jobs/nope").status_code == 404
    finally:
        connection = redis.Redis.from_url(url)
        keys = list(connection.scan_iter(f"*{prefix}*"))
        if keys:
            connection.delete(*keys)
        connection.srem("rq:queues", f"rq:queue:{prefix}-crypto-api-backfill")
        connection.srem("rq:workers", f"rq:worker:{prefix}-worker")
        connection.delete("rq:clean_groups")  # the worker's maintenance marker
        with app.app_context():
            db.engine.dispose()
