"""Promises that a one-line bug could break unnoticed before: each test here fails with that bug.

Written from the outside (HTTP requests, a Redis and a gunicorn of the test's own); the expected
values are spelled out here, never read from the implementation. `docs/testing.md` lists which
bug each test catches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
import redis
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app
from tests.support.cache_helpers import FakeClock, added_testcoin
from tests.support.services import REQUIRE_SERVICES
from tests.support.tcp_proxy import free_port
from tests.support.writable import basic, records_of

# 1. A create empties the cached catalogue -----------------------------------------------------


def test_creating_a_currency_empties_the_cached_catalogue(writable):
    """The catalogue and the coin's own page are read (and cached) BEFORE the create."""
    client = writable.test_client()
    before = client.get("/api/v1/currencies")
    assert before.headers["X-Total-Count"] == "2"
    assert [row["symbol"] for row in client.get("/api/v1/currencies").get_json()] == ["AAA", "BBB"]
    assert client.get("/api/v1/currencies/ggg").status_code == 404
    assert client.get("/api/v1/currencies/ggg").status_code == 404  # now a cached 404

    created = client.post("/api/v1/currencies", json={"name": "Gamma", "symbol": "GGG"}, headers=basic("wes"))
    assert created.status_code == 201

    after = client.get("/api/v1/currencies")
    assert after.headers["X-Total-Count"] == "3"
    assert [row["symbol"] for row in after.get_json()] == ["AAA", "BBB", "GGG"]
    assert after.headers["ETag"] != before.headers["ETag"]
    one = client.get("/api/v1/currencies/ggg")
    assert one.status_code == 200 and one.get_json()["name"] == "Gamma"


# 2. Candles are validated in full -------------------------------------------------------------

PRICE_RULE = "prices must satisfy low <= open, close <= high"


@pytest.mark.parametrize(
    "candle",
    [
        {"open": 2.0, "high": 3.0, "low": 1.0, "close": 3.5},  # close above high
        {"open": 2.0, "high": 3.0, "low": 1.0, "close": 0.5},  # close below low
        {"open": 3.5, "high": 3.0, "low": 1.0, "close": 2.0},  # open above high
        {"open": 0.5, "high": 3.0, "low": 1.0, "close": 2.0},  # open below low
        {"open": 2.0, "high": 1.0, "low": 3.0, "close": 2.0},  # low above high
    ],
    ids=["close>high", "close<low", "open>high", "open<low", "low>high"],
)
def test_an_inconsistent_candle_is_refused(writable, candle):
    client = writable.test_client()
    before = records_of(writable, "AAA")
    batch = [{"date": "2021-01-03", **candle}]
    response = client.put("/api/v1/currencies/aaa/records", json=batch, headers=basic("wes"))
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"[0]": PRICE_RULE}
    assert response.get_json()["detail"] == "1 of 1 candles are invalid; nothing was written"
    assert records_of(writable, "AAA") == before


def test_a_candle_on_its_bounds_is_accepted(writable):
    """close == high and open == low (and a flat candle) are consistent: the refusals above are not blanket."""
    client = writable.test_client()
    batch = [
        {"date": "2021-01-03", "open": 1.0, "high": 3.0, "low": 1.0, "close": 3.0},
        {"date": "2021-01-04", "open": 3.0, "high": 3.0, "low": 1.0, "close": 1.0},
        {"date": "2021-01-05", "open": 2.0, "high": 2.0, "low": 2.0, "close": 2.0},
    ]
    response = client.put("/api/v1/currencies/aaa/records", json=batch, headers=basic("wes"))
    assert response.status_code == 200 and response.get_json()["upserted"] == 3
    assert records_of(writable, "AAA") == 5


# 3. Coins without a market cap come last in the catalogue ---------------------------------------


def test_coins_without_a_market_cap_come_last(writable):
    """NNN has no records at all, CCC only candles without a market cap: both after AAA and BBB
    (market cap 1000 each), on SQLite and on PostgreSQL (where NULLs sort first in a DESC order)."""
    client = writable.test_client()
    for name, symbol in (("Nothing", "NNN"), ("Capless", "CCC")):
        response = client.post("/api/v1/currencies", json={"name": name, "symbol": symbol}, headers=basic("wes"))
        assert response.status_code == 201
    candle = {"date": "2021-01-02", "open": 7.0, "high": 7.0, "low": 7.0, "close": 7.0}
    assert client.put("/api/v1/currencies/ccc/records", json=[candle], headers=basic("wes")).status_code == 200

    rows = client.get("/api/v1/currencies").get_json()
    assert [(row["symbol"], row["latest_market_cap"]) for row in rows] == [
        ("AAA", 1000.0),
        ("BBB", 1000.0),
        ("CCC", None),
        ("NNN", None),
    ]
    assert rows[2]["latest_close"] == 7.0 and rows[3]["latest_close"] is None
    paged = [client.get(f"/api/v1/currencies?per_page=1&page={n}").get_json()[0]["symbol"] for n in (1, 2, 3, 4)]
    assert paged == ["AAA", "BBB", "CCC", "NNN"]


# 5. and 6. History varies on Accept; a 404 never becomes a 304 ---------------------------------


@pytest.fixture
def cached_client(seeded_database_url, tmp_path) -> Iterator:
    """A client of an app with the in-process cache on (TTL 300 s)."""
    app = make_app(seeded_database_url, CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "cache-version"))
    yield app.test_client()
    with app.app_context():
        db.engine.dispose()


def vary(response) -> set[str]:
    return {part.strip().lower() for part in response.headers.get("Vary", "").split(",") if part.strip()}


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "text/csv"])
def test_history_answers_vary_on_accept(cached_client, truth, accept):
    """Both media types, fresh and from the cache: a shared cache must key them on Accept."""
    headers = {"Accept": accept} if accept else {}
    path = "/api/v1/currencies/btc/history?start=2021-07-05&end=2021-07-06"
    for _ in range(2):  # computed, then cached
        response = cached_client.get(path, headers=headers)
        assert response.status_code == 200
        assert "accept" in vary(response)
        if accept == "text/csv":
            assert response.headers["Content-Type"].startswith("text/csv")
        else:
            assert response.headers["Content-Type"] == "application/json"
            closes = [candle["close"] for candle in response.get_json()]
            days = truth.coins["BTC"].days
            assert closes == [days[date(2021, 7, 5)]["Close"], days[date(2021, 7, 6)]["Close"]]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/currencies/nope",
        "/api/v1/currencies/nope/history",
        "/api/v1/dashboard?id=nope",
        "/api/v1/search?name=zz",
    ],
)
def test_a_cached_404_never_becomes_a_304(cached_client, path):
    first = cached_client.get(path)
    assert first.status_code == 404
    second = cached_client.get(path)  # from the cache now
    assert second.status_code == 404 and second.get_data() == first.get_data()
    for tag in (first.headers.get("ETag", '"x"'), "*"):
        conditional = cached_client.get(path, headers={"If-None-Match": tag})
        assert conditional.status_code == 404, tag
        assert conditional.headers["Content-Type"] == "application/json"
        assert conditional.get_json() == first.get_json() and conditional.get_json()["detail"]


def test_a_cached_200_still_becomes_a_304(cached_client):
    """The other side of the rule above: a matching ETag on a success is a 304."""
    path = "/api/v1/currencies/btc"
    etag = cached_client.get(path).headers["ETag"]
    assert cached_client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert cached_client.get(path, headers={"If-None-Match": "*"}).status_code == 304


# 4. Entries cached before a Redis outage are dropped when it comes back ----------------------


@pytest.fixture
def persistent_redis(tmp_path) -> Iterator[dict]:
    """A redis-server of the test's own that KEEPS its data across a restart (append-only file,
    fsync on every write), so entries cached before an outage are still there after it."""
    binary = shutil.which("redis-server")
    if binary is None:
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--dir", str(tmp_path)]
    command += ["--appendonly", "yes", "--appendfsync", "always"]
    server: dict = {"port": port, "process": None}

    def start() -> None:
        server["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        probe = redis.Redis(port=port, socket_connect_timeout=1, retry=None)
        try:
            for _ in range(200):  # a bounded wait for start-up (and for the AOF to load)
                if server["process"].poll() is not None:
                    raise RuntimeError("redis-server exited at start")
                try:
                    if probe.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")
        finally:
            probe.close()

    def stop() -> None:
        server["process"].terminate()
        server["process"].wait(timeout=10)

    server["start"], server["stop"] = start, stop
    start()
    yield server
    if server["process"].poll() is None:
        stop()


@pytest.mark.parametrize("near_ttl", [0, 60], ids=["redis-only", "near-cache"])
def test_entries_from_before_a_redis_outage_are_dropped(persistent_redis, seeded_database_url, tmp_path, near_ttl):
    """A write during the outage cannot tell Redis; Redis comes back WITH the old entry, which
    must not be served."""
    url = f"redis://127.0.0.1:{persistent_redis['port']}/0"
    settings = {"CACHE_TTL": 300, "REDIS_URL": url, "CACHE_NEAR_TTL": near_ttl, "CACHE_REDIS_TIMEOUT_MS": 2000}
    app = make_app(seeded_database_url, CACHE_VERSION_FILE=str(tmp_path / "v"), **settings)
    clock = FakeClock()
    app.extensions["response_cache"].backend.clock = clock
    client = app.test_client()
    path = "/api/v1/dashboard?id=all&date=2021-07-06"
    before = client.get(path)
    assert before.headers["X-Total-Count"] == "23"
    admin = redis.Redis(port=persistent_redis["port"])
    stored = sorted(admin.scan_iter("*:v1:*"))
    assert len(stored) == 1
    admin.close()

    persistent_redis["stop"]()
    try:
        with added_testcoin(app, tmp_path / "extra"):  # the write's bump fails: Redis is down
            during = client.get(path)
            assert during.headers["X-Total-Count"] == "24"  # from the database meanwhile
            persistent_redis["start"]()
            admin = redis.Redis(port=persistent_redis["port"])
            assert sorted(admin.scan_iter("*:v1:*")) == stored  # the entry from before is back
            admin.close()
            clock.now += 3600  # past any cool-down
            after = client.get(path)
            assert after.headers["X-Total-Count"] == "24", "an entry from before the outage was served"
            assert "TSTC" in {row["symbol"] for row in after.get_json()}
            assert client.get(path).headers["X-Total-Count"] == "24"
    finally:
        with app.app_context():
            db.engine.dispose()


# 8. Pool pre-ping: killed database connections are replaced, no request fails ------------------


def wait_for_health(port: int, process: subprocess.Popen, log_path) -> None:
    import http.client

    for _ in range(600):  # a bounded wait for start-up, not a timing check
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited at start:\n{log_path.read_text()[-3000:]}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    pytest.fail("gunicorn did not start")


def get(port: int, path: str) -> tuple[int, bytes]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_request_after_every_connection_was_killed_succeeds(postgres_databases, tmp_path, project_root, truth):
    """gunicorn (one worker) configured from the environment only, as in production; every
    PostgreSQL backend of its database is terminated; the very next request must be a 200."""
    from tests.support.apps import migrate_and_seed

    url = postgres_databases.create()
    migrate_and_seed(make_app(url))
    application_name = f"crypto-preping-{uuid.uuid4().hex[:8]}"
    port = free_port()
    (tmp_path / "metrics").mkdir()
    settings = {
        "DATABASE_URL": f"{url}?application_name={application_name}",
        "CACHE_TTL": "0",  # every read reaches PostgreSQL
        "SEED_ON_STARTUP": "off",
        "RATELIMIT_ENABLED": "off",
        "LOG_LEVEL": "WARNING",
        "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    drop = ("FLASK_RUN_FROM_CLI", "REDIS_URL", "APP_ENV")
    environment = {k: v for k, v in os.environ.items() if k not in drop} | settings
    log_path = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "app:app"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=project_root, env=environment, stdout=log, stderr=subprocess.STDOUT)
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        wait_for_health(port, process, log_path)
        path = "/api/v1/dashboard?id=btc&date=2021-07-06"
        status, body = get(port, path)
        assert status == 200
        assert f'"price":{truth.coins["BTC"].days[date(2021, 7, 6)]["Close"]}'.encode() in body.replace(b" ", b"")
        terminate = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"
        with admin.connect() as conn:
            killed = conn.execute(sa.text(terminate), {"n": application_name}).scalar()
        assert killed >= 1  # the worker's pooled connection
        for _ in range(3):
            again = get(port, path)
            assert again == (200, body), (again, log_path.read_text()[-2000:])
    finally:
        admin.dispose()
        process.terminate()
        process.wait(timeout=30)
