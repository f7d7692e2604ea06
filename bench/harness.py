"""What the gunicorn benchmarks share: a seeded database, gunicorn on 127.0.0.1, and wrk."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from config import BUNDLED_CSV, normalise_database_url  # noqa: E402
from tests.support.settings import TestConfig  # noqa: E402
from utilities.seeding import seed_from_csv  # noqa: E402


@dataclass(frozen=True)
class WrkResult:
    rate: float
    p50: str
    p99: str
    non_2xx: int

    def cell(self) -> str:
        return f"{self.rate:8.0f} req/s (p99 {self.p99}" + (f", non-2xx {self.non_2xx})" if self.non_2xx else ")")


def machine() -> str:
    """CPU model, cores, Python and the PostgreSQL client, for the results' heading."""
    cpu = subprocess.run(
        ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True
    )
    server = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    cores = os.cpu_count()
    return f"{cpu.stdout.strip() or platform.machine()}, {cores} cores, Python {platform.python_version()}, {server}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """A redis-server of the bench's own on a free loopback port (nothing saved); yields the port."""
    import redis

    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        for _ in range(100):  # bounded wait for start-up
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def seeded_database(url: str) -> str:
    """Migrate and seed `url` from the bundled CSVs; the normalised URL."""
    url = normalise_database_url(url)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)
        db.engine.dispose()
    return url


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> WrkResult:
    """Requests/s, median and 99th percentile latency, and non-2xx/3xx answers, as wrk reports them."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = int(errors.group(1)) if errors else 0
    failed += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return WrkResult(
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        p50=re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1),
        p99=re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1),
        non_2xx=failed,
    )


def median_run(results: list[WrkResult]) -> WrkResult:
    """The run with the median rate (this machine's noise is larger than many effects)."""
    return sorted(results, key=lambda result: result.rate)[len(results) // 2]


def serve(env: dict[str, str], port: int, workers: int, threads: int = 1) -> subprocess.Popen:
    """gunicorn with the project's gunicorn.conf.py on 127.0.0.1:`port`, once /health answers."""
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--workers", str(workers)]
    command += ["--bind", f"127.0.0.1:{port}"]
    if threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    process = subprocess.Popen(
        [*command, "app:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(300):  # bounded wait for start-up
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("gunicorn did not start")
