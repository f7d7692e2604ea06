"""Several app instances behind nginx, sharing PostgreSQL and Redis as Elastic Beanstalk instances do.

One module-wide cluster: a fresh, empty database on the test PostgreSQL server, migrated once by
`flask db upgrade` (on EB a `leader_only` container command; here the test runs it once, before
any instance starts), then two gunicorn masters x 2 workers started at the same moment (each
worker runs the start-up inspector: four processes race to seed), nginx in front of them. Redis is
the test Redis with a key prefix of this module's own. Counts and answers, never timings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from tests.support.scale_cluster import ROOT, Answer, Balancer, Instance, new_ports, nginx_binary, request
from tests.support.services import REQUIRE_SERVICES, require_redis
from tests.support.writable import basic

pytestmark = pytest.mark.scale

WORKERS = 2
WRITER, PASSWORD = "scale-writer", "scale-out-pass-7Hq2"  # the policy refuses one containing the name
TOKENS_PER_MINUTE = 6
READ_PATHS = (
    "/api/v1/dashboard?id=all",
    "/api/v1/dashboard?id=btc,eth,ada&order_by=price",
    "/api/v1/search?name=bitcoin",
    "/api/v1/currencies",
    "/api/v1/currencies/BTC/history?start=2021-01-01&end=2021-06-30",
)


@dataclass
class Cluster:
    database_url: str
    redis_url: str
    prefix: str
    instances: list[Instance]
    balancer: Balancer
    logs: list[Path] = field(default_factory=list)

    def scalar(self, sql: str):
        engine = sa.create_engine(self.database_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql)).scalar()
        finally:
            engine.dispose()

    def restart(self, instance: Instance) -> None:
        instance.stop()
        instance.start()
        instance.wait_ready(WORKERS)


def flask_command(env: dict[str, str], *args: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "FLASK_RUN_FROM_CLI"} | env
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=environment, check=True)


@pytest.fixture(scope="module")
def cluster(postgres_databases, tmp_path_factory) -> Iterator[Cluster]:
    if nginx_binary() is None:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but nginx is not installed (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    redis_url = require_redis()
    database_url = postgres_databases.create()
    prefix = f"crypto-api-test-scale-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("scale")
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": prefix,
        "CACHE_TTL": "1800",
        "SEED_ON_STARTUP": "on",
        "RATELIMIT_ENABLED": "on",
        "RATELIMIT_DEFAULT": "1000000 per minute",  # the load below is one client
        "RATELIMIT_TOKENS": f"{TOKENS_PER_MINUTE} per minute",
        "LOG_LEVEL": "INFO",
        "WEB_CONCURRENCY": str(WORKERS),
    }
    # The leader's one-off commands, once: migrations, then a writer account.
    flask_command(env | {"LOG_LEVEL": "WARNING"}, "db", "upgrade")
    flask_command(env | {"LOG_LEVEL": "WARNING"}, "users", "create", WRITER, "--role", "writer", "--password", PASSWORD)
    ports = new_ports(3)
    instances = [
        Instance(name, port, env, folder / f"{name}.log") for name, port in zip(("a", "b"), ports[:2], strict=True)
    ]
    balancer = Balancer(ports[2], ports[:2])
    try:
        for instance in instances:  # both at once: four workers race to seed the empty tables
            instance.start()
        for instance in instances:
            instance.wait_ready(WORKERS)
        balancer.start()
        yield Cluster(database_url, redis_url, prefix, instances, balancer)
    finally:
        balancer.stop()
        for instance in instances:
            instance.stop()
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(f"*{prefix}*"))  # the limiter adds a prefix of its own
        if keys:
            client.delete(*keys)
        client.close()


def test_two_instances_seed_an_empty_database_exactly_once(cluster, truth):
    assert cluster.scalar("SELECT count(*) FROM record") == truth.total_rows == 37_082
    assert cluster.scalar("SELECT count(*) FROM currency") == 23
    duplicates = "SELECT count(*) FROM (SELECT 1 FROM record GROUP BY currency_id, date HAVING count(*) > 1) d"
    assert cluster.scalar(duplicates) == 0
    # One of the four workers seeded; the three others found the tables full.
    logs = "\n".join(instance.log_path.read_text() for instance in cluster.instances)
    assert logs.count("Seeded 37082 records") == 1, logs[-3000:]
    assert logs.count("tables already hold data") == 2 * WORKERS - 1
    # Migrations ran once, before the instances (which never migrate): one head, no upgrade logged.
    assert cluster.scalar("SELECT count(*) FROM alembic_version") == 1
    assert "Running upgrade" not in logs
    # No instance ingested from an exchange on its own (the daily ingest is the leader's cron job).
    assert str(cluster.scalar("SELECT max(date) FROM record")) == "2021-07-06"  # the CSVs' last day


def test_a_write_through_one_instance_is_read_at_once_through_the_other(cluster):
    a, b = cluster.instances
    path = "/api/v1/currencies/SOL"
    for _ in range(8):  # warm Redis and the near caches of B's workers (each connection: any worker)
        assert json.loads(request(b.port, path).body)["name"] == "Solana"
        assert json.loads(request(cluster.balancer.port, path).body)["name"] == "Solana"
    new_name = f"Solana {uuid.uuid4().hex[:6]}"
    headers = basic(WRITER, PASSWORD) | {"Content-Type": "application/json"}
    try:
        written = request(a.port, path, "PUT", json.dumps({"name": new_name}).encode(), headers)
        assert written.status == 200, written.body
        seen = [json.loads(request(port, path).body)["name"] for port in (b.port, cluster.balancer.port) * 8]
        assert seen == [new_name] * 16
        dashboard = json.loads(request(b.port, "/api/v1/dashboard?id=sol").body)
        assert dashboard[0]["name"] == new_name
    finally:
        restored = request(a.port, path, "PUT", json.dumps({"name": "Solana"}).encode(), headers)
        assert restored.status == 200
    assert [json.loads(request(b.port, path).body)["name"] for _ in range(4)] == ["Solana"] * 4


def test_rate_limits_count_across_instances(cluster):
    """Token requests alternate between the two instances; the limit is one budget in Redis."""
    a, b = cluster.instances
    login = basic(WRITER, PASSWORD)
    statuses = [request(port, "/api/v1/tokens", "POST", headers=login).status for port in (a.port, b.port) * 6]
    assert statuses == [201] * TOKENS_PER_MINUTE + [429] * (12 - TOKENS_PER_MINUTE)
    refused = request(b.port, "/api/v1/tokens", "POST", headers=basic(WRITER, PASSWORD))
    assert refused.status == 429 and "Retry-After" in refused.headers
    assert "detail" in json.loads(refused.body)


@dataclass
class Load:
    """Clients read through the balancer until stopped; actions run once enough answers are in."""

    port: int
    clients: int = 8
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _client(self, offset: int) -> None:
        turn = offset
        while not self._stop.is_set():
            path = READ_PATHS[turn % len(READ_PATHS)]
            turn += 1
            answer = request(self.port, path)
            with self._changed:
                self.answers.append((path, answer))
                self._changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.answers) >= count, timeout=300)

    def run(self, actions: list[Callable[[], None]], between: int) -> list[int]:
        """Each action runs after `between` more answers; the load ends `between` answers after the last."""
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        marks = []
        try:
            for action in actions:
                self.wait_for(len(self.answers) + between)
                marks.append(len(self.answers))
                action()
                marks.append(len(self.answers))
            self.wait_for(len(self.answers) + between)
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=120)
        return marks


def test_rolling_restart_under_load_loses_no_request(cluster):
    """Each instance in turn gets SIGTERM (graceful) and starts again while 8 clients read via nginx."""
    expected = {path: request(cluster.balancer.port, path) for path in READ_PATHS}
    assert {path: answer.status for path, answer in expected.items()} == dict.fromkeys(READ_PATHS, 200)
    old_pids = [instance.process.pid for instance in cluster.instances]
    load = Load(cluster.balancer.port)
    marks = load.run([lambda i=instance: cluster.restart(i) for instance in cluster.instances], between=150)
    assert [instance.process.pid for instance in cluster.instances] != old_pids
    wrong = [(path, got.status, got.body[:200]) for path, got in load.answers if got.body != expected[path].body]
    wrong += [(path, got.status, b"") for path, got in load.answers if got.status != 200]
    assert wrong == []
    assert marks[1] > marks[0] and marks[3] > marks[2]  # reads were answered during each restart
    print(
        f"\nROLLING RESTART: {len(load.answers)} reads through nginx, 0 lost; instance a restarted between "
        f"answers {marks[0]} and {marks[1]}, b between {marks[2]} and {marks[3]}"
    )
