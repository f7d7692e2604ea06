"""`flask ingest --update` against the faked real world of late 2026 (tests/support/fake_exchanges.py).

Usage: `.venv/bin/python bench/update_world.py [--database-url URL]`. Without a URL it uses a
temporary SQLite file; pass an empty scratch PostgreSQL database to measure there. Seeds the
bundled CSVs, then measures: the gap fill (2021-07-07 .. yesterday, 23 coins), a no-op second run,
an offline run (every exchange refusing connections) and prints the table per coin (source used,
first and last day filled, days missing, status). Nothing leaves the machine. Prints numbers only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from config import BUNDLED_CSV, normalise_database_url  # noqa: E402
from tests.support.fake_exchanges import HOSTS, SEAM, YESTERDAY, FakeWorld, world_mock  # noqa: E402
from tests.support.settings import TestConfig  # noqa: E402
from utilities.seeding import seed_from_csv  # noqa: E402


def run(app, world: FakeWorld) -> tuple[float, int, int, str]:
    started = time.monotonic()
    with world_mock(world):
        result = app.test_cli_runner().invoke(args=["ingest", "--update"])
    return time.monotonic() - started, len(world.attempts), result.exit_code, result.output


def table(app) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        coins = conn.execute(sa.text("SELECT id, symbol, status, status_since FROM currency ORDER BY symbol")).all()
        lines = ["| coin | source(s) used | first day filled | last day filled | days missing | status |",
                 "|---|---|---|---|---|---|"]  # fmt: skip
        for currency_id, symbol, status, since in coins:
            found = conn.execute(
                sa.text("SELECT date, source FROM record WHERE currency_id = :c AND date >= :d ORDER BY date"),
                {"c": currency_id, "d": SEAM},
            ).all()
            days = [d if isinstance(d, date) else date.fromisoformat(d) for d, _ in found]
            sources = list(dict.fromkeys(s for _, s in found))
            through = YESTERDAY if status == "active" else (since if isinstance(since, date) or since is None
                                                            else date.fromisoformat(since))  # fmt: skip
            expected = (through - SEAM).days + 1 if through else 0
            state = status if status == "active" else f"{status} since {since}"
            lines.append(
                f"| {symbol} | {', '.join(sources) or '-'} | {days[0] if days else '-'} | {days[-1] if days else '-'} "
                f"| {expected - len(set(days))} | {state} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = normalise_database_url(args.database_url) if args.database_url else None
    url = url or f"sqlite:///{tempfile.mkdtemp(prefix='update-world-')}/bench.sqlite"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if args.database_url:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        upgrade()
        seed_from_csv(db.engine, str(BUNDLED_CSV))
    backend = url.split(":", 1)[0]
    seconds, requests, code, output = run(app, FakeWorld())
    print(f"[{backend}] gap fill {SEAM} .. {YESTERDAY}: {seconds:.1f} s, {requests} requests, exit {code}")
    print("   ", output.strip().splitlines()[-1])
    seconds, requests, code, _ = run(app, FakeWorld())
    print(f"[{backend}] no-op second run: {seconds:.2f} s, {requests} requests, exit {code}")
    print("\n".join(table(app)))
    with app.app_context(), db.engine.begin() as conn:  # one day behind everywhere, then offline
        conn.execute(sa.text("DELETE FROM record WHERE date >= :d"), {"d": YESTERDAY - timedelta(days=3)})
    seconds, requests, code, output = run(app, FakeWorld(unreachable=set(HOSTS)))
    print(f"[{backend}] offline run: {seconds:.2f} s, {requests} connection attempts, exit {code}")
    print("   ", output.strip().splitlines()[0])


if __name__ == "__main__":
    main()
