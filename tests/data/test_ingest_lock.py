"""`flask ingest --update` on several instances at once: exactly one does the work."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from api.commands import ingest as ingest_cli
from api.extensions import db
from utilities.advisory_lock import DAILY_INGEST_LOCK
from utilities.exchange_ingest import UpdateReport


def run_update(app, monkeypatch) -> tuple[object, list]:
    """Invoke `flask ingest --update` with the planned update replaced by a recorder (no exchange)."""
    calls: list = []

    def recorder(until, coins):
        calls.append((until, coins))
        return UpdateReport(outcomes=[], requests=0, nothing_reachable=False, unreachable=[])

    monkeypatch.setattr(ingest_cli, "run_planned_update", recorder)
    result = app.test_cli_runner().invoke(args=["ingest", "--update", "--until", "2021-07-10"])
    return result, calls


def test_update_runs_when_nobody_holds_the_lock(app, monkeypatch):
    result, calls = run_update(app, monkeypatch)
    assert result.exit_code == 0, result.output
    assert calls == [(date(2021, 7, 10), None)]


def test_second_update_on_postgresql_skips_while_the_first_runs(app, monkeypatch):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return  # one SQLite file has one host: nothing to race with
        other_instance = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with other_instance.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": DAILY_INGEST_LOCK}).scalar()
        result, calls = run_update(app, monkeypatch)
        assert result.exit_code == 0, result.output
        assert "skipped" in result.output and calls == []
        connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": DAILY_INGEST_LOCK})
    result, calls = run_update(app, monkeypatch)
    assert result.exit_code == 0 and len(calls) == 1
    with other_instance.connect() as connection:  # the finished run released its lock
        assert connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": DAILY_INGEST_LOCK}).scalar()
    other_instance.dispose()


def test_explicit_backfills_are_not_serialised(app, monkeypatch):
    calls: list = []
    monkeypatch.setattr(ingest_cli, "run_ingest", lambda name, markets, until, **_: calls.append(markets) or [])
    result = app.test_cli_runner().invoke(args=["ingest", "--symbols", "BTC/USDT", "--since", "2021-07-01"])
    assert result.exit_code == 0, result.output
    assert [market for market, _ in calls[0]] == ["BTC/USDT"]
