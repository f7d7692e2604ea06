"""Fresh by itself: gunicorn's master runs `flask ingest --update --at-startup` in a subprocess at
start-up, then every AUTO_UPDATE_INTERVAL_HOURS (docs/ingestion.md, "Fresh by itself").

A subprocess, never a thread of a web worker: ccxt never enters the request path and a long run
never holds a worker. The loop is a daemon thread of the master started once the server is ready,
so it never blocks boot. One run at a time across instances is the command's own lock (the
PostgreSQL advisory lock, or a file lock beside a SQLite file). No Flask here.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "flask", "--app", "app", "ingest", "--update", "--at-startup"]
# After a failed run (offline, database not migrated yet) the next try comes sooner than a day.
RETRY_AFTER_FAILURE_S = 3600.0


def run_once(timeout_s: float, emit: Callable[[str], None]) -> int:
    """One update in a subprocess, bounded by `timeout_s`; its last lines go to `emit`. Its exit code."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    try:
        done = subprocess.run(COMMAND, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        emit(f"auto-update: `flask ingest --update` did not finish within {timeout_s:.0f} s; stopped")
        return -1
    for line in (done.stdout + done.stderr).strip().splitlines()[-30:]:
        emit(f"auto-update: {line}")
    return done.returncode


def start_updater(
    interval_s: float,
    timeout_s: float,
    emit: Callable[[str], None],
    stop: threading.Event | None = None,
    first_delay_s: float = 2.0,
) -> threading.Thread:
    """Start the loop on a daemon thread: run now (after `first_delay_s`), then every `interval_s`."""
    stop = stop or threading.Event()

    def loop() -> None:
        delay = first_delay_s
        while not stop.wait(delay):
            code = run_once(timeout_s, emit)
            delay = interval_s if code == 0 else min(interval_s, RETRY_AFTER_FAILURE_S)
            emit(f"auto-update: exit {code}; next run in {delay / 3600:.1f} h")

    thread = threading.Thread(target=loop, name="auto-update", daemon=True)
    thread.start()
    return thread
