"""The embedded default on every core: two gunicorn workers, no Redis, and the limits hold across both.

gunicorn runs the project's gunicorn.conf.py with `WEB_CONCURRENCY=2` on a SQLite file, without
`REDIS_URL`. Which worker answers is made certain, not left to the kernel: every worker but one is
stopped (SIGSTOP) while a request is sent, so the one left accepts it. The budget, the failed-login
lock and the cache's invalidation are then each exercised half in one worker, half in the other.
Counts, never timings; every wait is bounded.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.extensions import db
from api.models import User
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fixtures_csv import write_coin_csv
from tests.support.tcp_proxy import free_port

BUDGET = 12  # requests per minute per client, across endpoints and workers
FREE_FAILURES = 3  # wrong passwords per (account, client) before the lock
PASSWORD = "writer-password-embedded"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Embedded:
    """gunicorn on the embedded default, and the means to choose which worker answers."""

    port: int
    process: subprocess.Popen
    log_path: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return sorted(int(pid) for pid in children.split())

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-40:])

    @contextmanager
    def only(self, worker: int) -> Iterator[None]:
        """Every other worker stopped: connections made meanwhile can only be accepted by `worker`."""
        others = [pid for pid in self.workers() if pid != worker]
        for pid in others:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in others:
                os.kill(pid, signal.SIGCONT)

    def send(self, worker: int, path: str, method: str = "GET", body: bytes | None = None, headers=None) -> Answer:
        """One request on a new connection, answered by `worker`."""
        with self.only(worker):
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request(method, path, body=body, headers={"Connection": "close"} | (headers or {}))
                response = connection.getresponse()
                return Answer(response.status, dict(response.getheaders()), response.read())
            finally:
                connection.close()


def basic(password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"wes:{password}".encode()).decode()}


@pytest.fixture
def embedded(tmp_path, project_root) -> Iterator[Callable[..., Embedded]]:
    """`embedded(**env)`: a small SQLite database with a writer, and gunicorn with 2 workers on it."""
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "a.csv", "Alpha", "AAA", [("2021-01-01", 1.0), ("2021-01-02", 2.0)])
    write_coin_csv(folder / "b.csv", "Beta", "BBB", [("2021-01-01", 5.0), ("2021-01-02", 6.0)])
    url = f"sqlite:///{tmp_path / 'embedded.sqlite'}"
    app = make_app(url)
    migrate_and_seed(app, str(folder))
    with app.app_context():
        user = User(name="wes", role="writer")
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        db.engine.dispose()
    started: list[Embedded] = []

    def start(**env: str) -> Embedded:
        port = free_port()
        (tmp_path / "metrics").mkdir(exist_ok=True)
        settings = {
            "DATABASE_URL": url,
            "WEB_CONCURRENCY": "2",
            "SHARED_STATE_FILE": str(tmp_path / "shared-state.sqlite"),
            "CACHE_VERSION_FILE": str(tmp_path / "cache-version"),
            "SEED_ON_STARTUP": "off",
            "SECRET_KEY": "embedded-processes-test-secret-key-0123456789",
            "RATELIMIT_ENABLED": "on",
            "RATELIMIT_DEFAULT": f"{BUDGET} per minute",
            "RATELIMIT_TOKENS": "1000 per minute",
            "RATELIMIT_AUTH_FAILURES": f"{FREE_FAILURES} per 5 minutes",
            "AUTH_CACHE_TTL": "0",
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        }
        drop = ("FLASK_RUN_FROM_CLI", "REDIS_URL")
        environment = {k: v for k, v in os.environ.items() if k not in drop} | settings | env
        log_path = tmp_path / f"gunicorn-{port}.log"
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "app:app"]
        with log_path.open("w") as log:
            process = subprocess.Popen(command, cwd=project_root, env=environment, stdout=log, stderr=subprocess.STDOUT)
        service = Embedded(port, process, log_path)
        started.append(service)
        for _ in range(600):  # a bounded wait for both workers to answer
            assert process.poll() is None, f"gunicorn exited at start:\n{service.log_tail()}"
            workers = service.workers()
            if len(workers) == 2 and all(service.send(pid, "/health").status == 200 for pid in workers):
                return service
            time.sleep(0.1)
        pytest.fail(f"two workers did not answer:\n{service.log_tail()}")

    yield start
    for service in started:
        for pid in service.workers():
            os.kill(pid, signal.SIGCONT)
        service.process.terminate()
        service.process.wait(timeout=30)


def test_one_budget_across_two_worker_processes(embedded):
    """Half the budget spent in each worker; the next request is refused by either."""
    service = embedded(CACHE_TTL="0")
    first, second = service.workers()
    statuses = [
        service.send(worker, "/api/v1/search?name=alpha").status
        for worker in [first] * (BUDGET // 2) + [second] * (BUDGET - BUDGET // 2)
    ]
    assert statuses == [200] * BUDGET
    last = service.send(second, "/api/v1/search?name=alpha")
    assert last.status == 429, "the second worker counted only its own requests"
    assert service.send(first, "/api/v1/dashboard?id=all").status == 429
    assert int(last.headers["Retry-After"]) > 0


def test_remaining_counts_down_across_workers(embedded):
    """`X-RateLimit-Remaining` is the one budget's: each answer, from either worker, one less."""
    service = embedded(CACHE_TTL="0")
    first, second = service.workers()
    remaining = [
        int(service.send(worker, "/api/v1/search?name=beta").headers["X-RateLimit-Remaining"])
        for worker in (first, second, first, second)
    ]
    assert remaining == [BUDGET - 1, BUDGET - 2, BUDGET - 3, BUDGET - 4]


def test_failed_logins_in_one_worker_lock_the_other(embedded):
    """Wrong passwords sent to one worker lock the pair out in the other, even with the right one."""
    service = embedded(CACHE_TTL="0", RATELIMIT_DEFAULT="1000 per minute")
    first, second = service.workers()
    wrong = [service.send(first, "/api/v1/tokens", "POST", headers=basic("wrong")).status for _ in range(FREE_FAILURES)]
    assert wrong == [401] * FREE_FAILURES
    refused = service.send(second, "/api/v1/tokens", "POST", headers=basic(PASSWORD))
    assert refused.status == 429, "the second worker did not see the first one's failures"
    assert json.loads(refused.body)["detail"]
    assert int(refused.headers["Retry-After"]) > 0


def test_a_write_in_one_worker_invalidates_the_other_workers_cache(embedded):
    """The second worker caches a dashboard; a write through the first; the second answers the new price."""
    service = embedded(CACHE_TTL="300", RATELIMIT_DEFAULT="1000 per minute")
    first, second = service.workers()
    path = "/api/v1/dashboard?id=aaa&date=2021-01-02"
    before = service.send(second, path)
    assert before.status == 200 and json.loads(before.body)[0]["price"] == 2.0
    assert service.send(second, path).body == before.body  # now a cache entry in the second worker
    token = json.loads(service.send(first, "/api/v1/tokens", "POST", headers=basic(PASSWORD)).body)["token"]
    candle = [{"date": "2021-01-02", "open": 1.0, "high": 9.0, "low": 1.0, "close": 7.5, "volume": 10}]
    written = service.send(
        first,
        "/api/v1/currencies/AAA/records",
        "PUT",
        body=json.dumps(candle).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert written.status == 200, written.body
    after = service.send(second, path)
    assert json.loads(after.body)[0]["price"] == 7.5
