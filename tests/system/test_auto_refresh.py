"""Fresh by itself: served the way `make run` serves (`flask db upgrade`, then gunicorn with
gunicorn.conf.py, SQLite, the bundled data), the server catches up at start-up with no command.

The exchanges are the faked world (tests/support/fake_exchanges.py) on a real HTTP server on 127.0.0.1,
reached through EXCHANGE_URL_OVERRIDE; nothing leaves the machine. AUTO_UPDATE is off in every
other test (tests/conftest.py); here it is on, as it is by default.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from serving import auto_update
from tests.support.fake_exchanges import TODAY, YESTERDAY, FakeWorld, serve_world


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}


@pytest.fixture
def served(tmp_path, project_root):
    """`make run`'s way of serving, against the fake world: yields (base URL, world, log path)."""
    world = FakeWorld()
    with serve_world(world) as exchanges:
        env = {k: v for k, v in os.environ.items() if k not in ("FLASK_RUN_FROM_CLI", "REDIS_URL")}
        env |= {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'crypto.sqlite'}",
            "CACHE_VERSION_FILE": str(tmp_path / "cache-version"),
            "FLASK_APP": "app",
            "AUTO_UPDATE": "on",
            "EXCHANGE_URL_OVERRIDE": exchanges,
            "INGEST_BACKOFF_SECONDS": "0",
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "INFO",
        }
        flask = [sys.executable, "-m", "flask"]
        subprocess.run([*flask, "db", "upgrade"], cwd=project_root, env=env, check=True, capture_output=True)
        port = free_port()
        log_path = tmp_path / "gunicorn.log"
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "app:app"]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, cwd=project_root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield f"http://127.0.0.1:{port}", world, log_path
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_make_run_catches_up_at_start_up_with_no_command(served):
    base, world, log_path = served
    deadline = time.monotonic() + 240
    ready: dict = {}
    while time.monotonic() < deadline:
        status, ready = get_json(f"{base}/ready")
        current = status == 200 and (ready.get("stalest_coin") or {}).get("last_day") == YESTERDAY.isoformat()
        if current and "auto-update: exit" in log_path.read_text():
            break
        time.sleep(1)
    log = log_path.read_text()
    assert (ready.get("stalest_coin") or {}).get("last_day") == YESTERDAY.isoformat(), (ready, log[-4000:])
    assert ready["data_through"] == YESTERDAY.isoformat() and ready["stale_coins"] == 0
    assert ready["delisted_coins"] == 1  # XEM
    status, xem = get_json(f"{base}/api/v1/currencies/xem")
    assert status == 200 and (xem["status"], xem["status_since"]) == ("delisted", "2024-06-16")
    assert "22 active, 1 delisted, 0 stale" in log and "auto-update: exit 0; next run in 24.0 h" in log
    assert world.count("binance", "/api/v3/exchangeInfo") == 1
    # The web worker never imported ccxt: the update ran in a subprocess of the master.
    assert world.count() > 20


def test_the_updater_retries_sooner_after_a_failure_and_stops(monkeypatch):
    """The loop itself: the first run after the start delay, a failed run retried within the hour."""
    calls: list[float] = []
    codes = iter([1, 0])
    monkeypatch.setattr(auto_update, "run_once", lambda timeout_s, emit: calls.append(timeout_s) or next(codes))
    lines: list[str] = []
    stop = auto_update.threading.Event()
    waits: list[float] = []
    real_wait = stop.wait

    def wait(delay):
        waits.append(delay)
        if len(waits) > 2:
            stop.set()
        return real_wait(0)

    stop.wait = wait
    thread = auto_update.start_updater(86_400, 1020, lines.append, stop=stop, first_delay_s=2.0)
    thread.join(timeout=10)
    assert waits == [2.0, auto_update.RETRY_AFTER_FAILURE_S, 86_400]
    assert calls == [1020, 1020]
    assert lines == ["auto-update: exit 1; next run in 1.0 h", "auto-update: exit 0; next run in 24.0 h"]


def test_auto_update_is_off_in_tests_and_on_by_default():
    from config import Config
    from tests.support.settings import TestConfig

    assert os.environ["AUTO_UPDATE"] == "off" and TestConfig.AUTO_UPDATE is False
    assert 'AUTO_UPDATE = _flag("AUTO_UPDATE", True)' in Path(sys.modules["config"].__file__).read_text()
    assert Config.AUTO_UPDATE_INTERVAL_HOURS == 24
    assert TODAY - timedelta(days=1) == YESTERDAY


def test_one_update_at_a_time_on_a_sqlite_file(tmp_path):
    import sqlalchemy as sa

    from utilities.advisory_lock import DAILY_INGEST_LOCK, exclusive_run

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'one.sqlite'}")
    other_process = sa.create_engine(f"sqlite:///{tmp_path / 'one.sqlite'}")
    # flock is per open file description: a second open (as another process would) is refused.
    with exclusive_run(engine, DAILY_INGEST_LOCK) as first, exclusive_run(other_process, DAILY_INGEST_LOCK) as second:
        assert (first, second) == (True, False)
    with exclusive_run(other_process, DAILY_INGEST_LOCK) as again:
        assert again is True  # released when the first run ended
    assert exclusive_run_in_memory()


def exclusive_run_in_memory() -> bool:
    import sqlalchemy as sa

    from utilities.advisory_lock import DAILY_INGEST_LOCK, exclusive_run

    with exclusive_run(sa.create_engine("sqlite://"), DAILY_INGEST_LOCK) as held:
        return held
