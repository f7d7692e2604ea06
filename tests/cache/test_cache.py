"""The read-through cache: hits cost no SQL, keys normalise, writes invalidate, Redis fails open.

Runs against the in-process backend and a real Redis (`TEST_REDIS_URL`, with a key prefix of
its own per test, deleted afterwards). Time is a fake clock moved by the tests, never a sleep.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pytest
import redis
import sqlalchemy as sa
from flask import Flask

from api.extensions import db
from tests.support.apps import make_app
from tests.support.cache_helpers import FakeClock, added_testcoin
from tests.support.services import require_redis
from tests.support.tcp_proxy import free_port

CACHE_BACKENDS = ["in-process", "redis"]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    url = require_redis()
    prefix = f"crypto-api-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"*{prefix}*"))  # cache entries, and the limiter's LIMITS:... keys
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=CACHE_BACKENDS)
def cached_app(request, seeded_database_url, tmp_path):
    """An app with the cache on (TTL 300 s), in-process or on Redis, with a fake clock."""
    settings = {"CACHE_TTL": 300, "CACHE_VERSION_FILE": str(tmp_path / "cache-version"), "HTTP_CACHE_MAX_AGE": 42}
    if request.param == "redis":
        settings |= {"REDIS_URL": require_redis(), "CACHE_KEY_PREFIX": request.getfixturevalue("redis_prefix")}
    app = clocked_app(seeded_database_url, **settings)
    yield app
    with app.app_context():
        db.engine.dispose()


def clocked_app(database_url: str, **settings):
    """An app whose cache runs on a `FakeClock` (`app.clock`); a near cache of 60 s on Redis."""
    app = make_app(database_url, **({"CACHE_NEAR_TTL": 60} | settings))
    clock = FakeClock()
    app.extensions["response_cache"].backend.clock = clock
    app.clock = clock
    return app


@pytest.fixture
def statements_of() -> Iterator[Callable[[Flask], list[str]]]:
    """`statements_of(app)`: the list that SQL statements `app` runs from now on are appended to."""
    listeners = []

    def watch(app: Flask) -> list[str]:
        seen: list[str] = []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        listeners.append((engine, record))
        return seen

    yield watch
    for engine, record in listeners:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def statements(cached_app, statements_of) -> list[str]:
    return statements_of(cached_app)


def test_second_identical_request_costs_no_sql_and_same_bytes(cached_app, statements):
    client = cached_app.test_client()
    # Not `id=nope`: 404s are not stored (issue 30; tests/access/test_attacks.py).
    paths = ("/api/v1/dashboard?id=all&date=2021-07-05", "/api/v1/search?name=bitcoin")
    for path in paths:
        first = client.get(path)
        used = len(statements)
        assert used > 0, path
        second = client.get(path)
        assert len(statements) == used, path  # no SQL for the hit
        assert second.status_code == first.status_code
        assert second.get_data() == first.get_data()
        assert second.headers["ETag"] == first.headers["ETag"]
        assert second.headers.get("X-Total-Count") == first.headers.get("X-Total-Count")
        assert second.headers["Content-Type"] == first.headers["Content-Type"]


def test_equivalent_queries_share_one_entry(cached_app, statements):
    client = cached_app.test_client()
    reference = client.get("/api/v1/dashboard?id=BTC,aave&date=2021-07-05")
    used = len(statements)
    for path in (
        "/api/v1/dashboard?id=aave,%20btc&date=2021-07-05",
        "/api/v1/dashboard?id=AAVE,BTC&date=2021-7-5",
        "/api/v1/dashboard?id=btc,aave,btc&date=2021-07-05&order_by=name&order_type=desc&page=1&per_page=100",
    ):
        response = client.get(path)
        assert response.get_data() == reference.get_data(), path
    assert len(statements) == used


@pytest.mark.parametrize(
    "other",
    [
        "/api/v1/dashboard?id=btc,aave&date=2021-07-04",
        "/api/v1/dashboard?id=btc,aave&date=2021-07-05&order_type=asc",
        "/api/v1/dashboard?id=btc,aave&date=2021-07-05&order_by=price",
        "/api/v1/dashboard?id=btc,aave&date=2021-07-05&per_page=1",
        "/api/v1/dashboard?id=btc&date=2021-07-05",
    ],
)
def test_different_queries_do_not_share(cached_app, statements, other):
    client = cached_app.test_client()
    client.get("/api/v1/dashboard?id=btc,aave&date=2021-07-05")
    used = len(statements)
    assert client.get(other).status_code == 200
    assert len(statements) > used


def test_entries_expire_after_the_ttl(cached_app, statements):
    client = cached_app.test_client()
    path = "/api/v1/dashboard?id=eth"
    client.get(path)
    backend = cached_app.extensions["response_cache"].backend
    if backend.name == "redis":
        keys = list(backend.client.scan_iter(f"{backend.entry_prefix}*"))
        assert len(keys) == 1
        assert 295 <= backend.client.ttl(keys[0]) <= 300
        backend.client.delete(keys[0])  # what Redis does when the TTL runs out
        cached_app.clock.now += 61  # and the worker's near copy has lapsed (CACHE_NEAR_TTL=60)
    else:
        cached_app.clock.now += 299
        used = len(statements)
        client.get(path)
        assert len(statements) == used  # still fresh at 299 s
        cached_app.clock.now += 2
    used = len(statements)
    assert client.get(path).status_code == 200
    assert len(statements) > used


def test_cache_ttl_zero_turns_the_cache_off(seeded_database_url, tmp_path):
    app = make_app(seeded_database_url, CACHE_TTL=0)
    client = app.test_client()
    seen: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    client.get("/api/v1/search?name=btc")
    response = client.get("/api/v1/search?name=btc")
    assert len(seen) == 2
    assert response.headers["ETag"]  # still conditional-GET friendly


def test_etag_round_trip_and_cache_control(cached_app):
    client = cached_app.test_client()
    first = client.get("/api/v1/dashboard?id=all&date=2021-07-05")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] in ("public, max-age=42", "max-age=42, public")
    not_modified = client.get("/api/v1/dashboard?id=all&date=2021-07-05", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == etag
    other = client.get("/api/v1/dashboard?id=all&date=2021-07-05", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_data() == first.get_data()


def test_a_write_invalidates_and_changes_the_etag(cached_app, tmp_path, seeded_database_url):
    """A seed that adds a coin (then removing it again) is reflected on the next read."""
    client = cached_app.test_client()
    path = "/api/v1/dashboard?id=all&date=2021-07-06"
    before = client.get(path)
    assert before.headers["X-Total-Count"] == "23"
    with added_testcoin(cached_app, tmp_path / "extra"):
        after = client.get(path)
        assert after.headers["X-Total-Count"] == "24"
        assert after.headers["ETag"] != before.headers["ETag"]
        assert "TSTC" in {row["symbol"] for row in after.get_json()}
        assert client.get(path, headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
    assert client.get(path).headers["X-Total-Count"] == "23"


# The worker's near cache in front of Redis ---------------------------------------------------


@pytest.fixture
def redis_app(seeded_database_url, redis_prefix, tmp_path):
    """`redis_app(**settings)`: apps on the test Redis sharing one key prefix (workers of one service)."""
    apps = []

    def make(**settings):
        base = {"CACHE_TTL": 300, "REDIS_URL": require_redis(), "CACHE_KEY_PREFIX": redis_prefix}
        app = clocked_app(seeded_database_url, CACHE_VERSION_FILE=str(tmp_path / "v"), **(base | settings))
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_a_near_hit_sends_nothing_to_redis(redis_app, truth):
    app = redis_app()
    backend = app.extensions["response_cache"].backend
    client = app.test_client()
    path = "/api/v1/dashboard?id=btc&date=2021-07-06"
    first = client.get(path)
    assert first.get_json()[0]["price"] == truth.coins["BTC"].days[date(2021, 7, 6)]["Close"]
    client.get(path)  # the Redis hit that a near copy is made of
    counter = CallCounter(backend.client)
    for _ in range(5):
        response = client.get(path)
        assert response.get_data() == first.get_data() and response.headers["ETag"] == first.headers["ETag"]
    assert counter.calls == 0


def test_without_near_cache_every_hit_asks_redis(redis_app):
    app = redis_app(CACHE_NEAR_TTL=0)
    backend = app.extensions["response_cache"].backend
    assert backend.near is None
    client = app.test_client()
    client.get("/api/v1/search?name=bitcoin")
    counter = CallCounter(backend.client)
    for _ in range(3):
        assert client.get("/api/v1/search?name=bitcoin").status_code == 200
    assert counter.calls == 3


def test_a_server_refusing_subscribe_leaves_redis_hits_without_near_copies(redis_app, statements_of, caplog):
    app = redis_app()
    backend = app.extensions["response_cache"].backend

    class RefusingPubSub:
        def subscribe(self, channel):
            raise redis.ResponseError("NOPERM this user has no permissions to access the channel")

        def close(self):
            pass

    backend.client.pubsub = RefusingPubSub
    statements = statements_of(app)
    client = app.test_client()
    first = client.get("/api/v1/search?name=bitcoin")
    assert first.status_code == 200 and backend.near is None
    used = len(statements)
    counter = CallCounter(backend.client)
    for _ in range(3):
        assert client.get("/api/v1/search?name=bitcoin").get_data() == first.get_data()
    assert len(statements) == used and counter.calls == 3  # Redis hits, each one round trip
    assert len([r for r in caplog.records if "Redis refused SUBSCRIBE" in r.getMessage()]) == 1


def test_a_write_in_one_worker_empties_the_near_copies_of_another(redis_app, tmp_path):
    """Two apps on one Redis prefix stand for two workers: the reader sees the write at once."""
    writer, reader = redis_app(), redis_app()
    path = "/api/v1/dashboard?id=all&date=2021-07-06"
    client = reader.test_client()
    before = client.get(path)
    client.get(path)
    counter = CallCounter(reader.extensions["response_cache"].backend.client)
    assert client.get(path).headers["X-Total-Count"] == "23" and counter.calls == 0  # a near copy
    with added_testcoin(writer, tmp_path / "extra"):
        after = client.get(path)
        assert after.headers["X-Total-Count"] == "24"
        assert after.headers["ETag"] != before.headers["ETag"]
    assert client.get(path).headers["X-Total-Count"] == "23"


def test_near_copies_live_at_most_cache_near_ttl(redis_app, statements_of):
    app = redis_app()
    backend = app.extensions["response_cache"].backend
    client = app.test_client()
    statements = statements_of(app)
    a, b = "/api/v1/dashboard?id=eth", "/api/v1/dashboard?id=btc"
    client.get(a)
    client.get(b)
    for key in backend.client.scan_iter(f"{backend.entry_prefix}*"):
        backend.client.delete(key)  # Redis's copies expire; the worker's near copies remain
    app.clock.now += 59
    used = len(statements)
    client.get(b)  # a full lookup (the last one is 59 s old): Redis has nothing, so the database
    assert len(statements) > used
    used = len(statements)
    client.get(a)
    assert len(statements) == used  # A's near copy, 59 s old, still served
    app.clock.now += 2
    client.get(b)  # B is back in Redis: a full lookup that vouches for the pushed version again
    assert len(statements) == used
    client.get(a)
    assert len(statements) > used  # A's near copy lapsed at 60 s and Redis has none


def test_a_lost_subscription_stops_near_copies_until_it_is_back(own_redis, seeded_database_url, tmp_path):
    """Pub/sub connections killed, then a write: no worker serves a copy from before the write."""
    url = f"redis://127.0.0.1:{own_redis['port']}/0"
    settings = {"CACHE_TTL": 300, "REDIS_URL": url, "CACHE_VERSION_FILE": str(tmp_path / "v")}
    reader, writer = clocked_app(seeded_database_url, **settings), clocked_app(seeded_database_url, **settings)
    near = reader.extensions["response_cache"].backend.near
    client = reader.test_client()
    path = "/api/v1/search?name=testcoin"
    assert client.get(path).status_code == 404
    assert client.get(path).status_code == 404 and near.subscribed
    admin = redis.Redis(port=own_redis["port"])
    assert admin.client_kill_filter(_type="pubsub") == 1  # the reader's (the writer has not read)
    admin.close()
    with added_testcoin(writer, tmp_path / "extra"):
        found = client.get(path)
        assert found.status_code == 200 and found.get_json()["symbol"] == "TSTC"
        assert near.subscribed  # subscribed again by that full lookup
    assert client.get(path).status_code == 404
    for app in (reader, writer):
        with app.app_context():
            db.engine.dispose()


def test_ready_reports_the_cache_state(cached_app):
    body = cached_app.test_client().get("/ready").get_json()
    backend = cached_app.extensions["response_cache"].backend.name
    assert body["cache"] == {"backend": backend, "status": "ok"}


# Redis failures ------------------------------------------------------------------------------


class CallCounter:
    """Counts the commands the app sends to Redis (successful or not)."""

    def __init__(self, client: redis.Redis) -> None:
        self.calls = 0
        original = client.execute_command

        def counted(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        client.execute_command = counted


def test_redis_on_a_closed_port_fails_open_and_cools_down(seeded_database_url, tmp_path, truth, caplog):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = make_app(seeded_database_url, CACHE_TTL=300, REDIS_URL=closed, CACHE_VERSION_FILE=str(tmp_path / "v"))
    backend = app.extensions["response_cache"].backend
    clock = FakeClock()
    backend.clock = clock
    counter = CallCounter(backend.client)
    client = app.test_client()
    expected_btc = truth.coins["BTC"].days[date(2021, 7, 6)]["Close"]

    first = client.get("/api/v1/dashboard?id=btc")
    assert first.status_code == 200 and first.get_json()[0]["price"] == expected_btc
    assert counter.calls == 1  # one failed attempt, no retries
    for _ in range(20):
        response = client.get("/api/v1/dashboard?id=btc")
        assert response.status_code == 200 and response.get_json()[0]["price"] == expected_btc
    assert client.get("/api/v1/search?name=bitcoin").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.get_json()["cache"] == {"backend": "redis", "status": "unavailable"}
    assert counter.calls == 1  # nothing during the cool-down
    clock.now += backend.cooldown + 1
    assert client.get("/api/v1/dashboard?id=btc").status_code == 200
    assert counter.calls == 2  # tried again after the cool-down
    outage_logs = [r for r in caplog.records if "Redis cache unavailable" in r.getMessage()]
    assert len(outage_logs) == 1  # logged once per outage


def test_redis_stopped_and_started_again(own_redis, seeded_database_url, tmp_path):
    url = f"redis://127.0.0.1:{own_redis['port']}/0"
    # A generous Redis timeout: on a loaded machine the default's tens of milliseconds turned a
    # hit into a fail-open miss (a stopped server refuses at once, so this costs no waiting).
    settings = {"CACHE_TTL": 300, "REDIS_URL": url, "CACHE_REDIS_TIMEOUT_MS": 2000}
    app = make_app(seeded_database_url, CACHE_VERSION_FILE=str(tmp_path / "v"), **settings)
    backend = app.extensions["response_cache"].backend
    clock = FakeClock()
    backend.clock = clock
    seen: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    client = app.test_client()
    path = "/api/v1/dashboard?id=all"
    reference = client.get(path).get_data()
    client.get(path)
    assert len(seen) == 1  # a hit

    own_redis["stop"]()
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200 and response.get_data() == reference
    assert len(seen) == 6  # served from the database meanwhile

    own_redis["start"]()
    clock.now += backend.cooldown + 1
    assert client.get(path).get_data() == reference  # Redis answers: entries of before are dropped, re-filled
    used = len(seen)
    assert client.get(path).get_data() == reference
    assert len(seen) == used  # the cache is used again
    assert client.get("/ready").get_json()["cache"]["status"] == "ok"
