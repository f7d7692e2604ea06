"""Bounded resources and safe start-up: jobs (400/404/429/503, never 500), the cache's size
bound, Redis's memory policy check, and an app built with every dependency down."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from api.extensions import db
from api.redis_policy import check_redis_memory_policy, memory_policy_problems
from tests.support.apps import make_app
from tests.support.services import require_redis
from tests.support.tcp_proxy import free_port

HISTORY_10Y = "/api/v1/currencies/BTC/history?start=2013-04-29&end=2021-07-06"


@pytest.fixture
def jobs_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    url = require_redis()
    prefix = f"crypto-api-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.srem("rq:queues", f"rq:queue:{prefix}-crypto-api-backfill")
    client.close()


def on_demand_app(database_url: str, redis_url: str, prefix: str, tmp_path, **settings):
    return make_app(
        database_url,
        REDIS_URL=redis_url,
        ON_DEMAND_INGEST=True,
        CACHE_KEY_PREFIX=prefix,
        CACHE_VERSION_FILE=str(tmp_path / "v"),
        **settings,
    )


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.get_json()
    assert set(body) >= {"detail"} and body["detail"]
    return body


def test_job_ids_rq_refuses_are_404_not_500(seeded_database_url, jobs_prefix, tmp_path):
    client = on_demand_app(seeded_database_url, require_redis(), jobs_prefix, tmp_path).test_client()
    for job_id in ("a%20b", "a.b", "x" * 201, "%C3%9F", "a:b"):
        assert_json_error(client.get(f"/api/v1/jobs/{job_id}"), 404)


def test_redis_down_makes_jobs_503_not_500(seeded_database_url, tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    client = on_demand_app(seeded_database_url, closed, "crypto-api-test-down", tmp_path).test_client()
    status = client.get("/api/v1/jobs/crypto-api-test-down-backfill-NOPE")
    assert_json_error(status, 503)
    assert status.headers["Retry-After"] == "5"
    queued = client.get("/api/v1/dashboard?id=nopecoin")
    assert_json_error(queued, 503)
    assert queued.headers["Retry-After"] == "5"
    # Known symbols still answer from the database (the cache falls back as before).
    assert client.get("/api/v1/dashboard?id=btc").status_code == 200


def test_one_request_queues_at_most_the_cap(seeded_database_url, jobs_prefix, tmp_path):
    app = on_demand_app(seeded_database_url, require_redis(), jobs_prefix, tmp_path, ON_DEMAND_MAX_SYMBOLS=3)
    client = app.test_client()
    symbols = [f"ZZ{n}" for n in range(4)]
    body = assert_json_error(client.get(f"/api/v1/dashboard?id={','.join(symbols)}"), 404)
    assert "at most 3" in body["detail"] and all(symbol in body["detail"] for symbol in symbols)
    connection = redis.Redis.from_url(require_redis())
    assert connection.llen(f"rq:queue:{jobs_prefix}-crypto-api-backfill") == 0  # nothing queued
    queued = client.get(f"/api/v1/dashboard?id={','.join(symbols[:3])}")
    assert queued.status_code == 202 and set(queued.get_json()["jobs"]) == set(symbols[:3])
    assert connection.llen(f"rq:queue:{jobs_prefix}-crypto-api-backfill") == 3
    connection.close()


def test_job_creation_is_throttled_per_client(seeded_database_url, jobs_prefix, tmp_path):
    app = on_demand_app(seeded_database_url, require_redis(), jobs_prefix, tmp_path, ON_DEMAND_JOBS_PER_HOUR=2)
    client = app.test_client()
    first = client.get("/api/v1/dashboard?id=zza")
    assert first.status_code == 202
    # Asking again for a queued symbol reuses its job and costs no quota.
    assert client.get("/api/v1/dashboard?id=zza").get_json()["job"] == first.get_json()["job"]
    assert client.get("/api/v1/dashboard?id=zzb").status_code == 202
    refused = client.get("/api/v1/dashboard?id=zzc")
    assert_json_error(refused, 429)
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    other = client.get("/api/v1/dashboard?id=zzc", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 202  # the quota is per client
    job = client.get(f"/api/v1/jobs/{first.get_json()['job']}")
    assert job.status_code == 200 and job.get_json()["symbol"] == "ZZA"


def test_symbols_with_dots_get_a_job_id_rq_accepts(seeded_database_url, jobs_prefix, tmp_path):
    client = on_demand_app(seeded_database_url, require_redis(), jobs_prefix, tmp_path).test_client()
    queued = client.get("/api/v1/dashboard?id=zz.x,zz_x")
    assert queued.status_code == 202
    jobs = queued.get_json()["jobs"]
    assert len(set(jobs.values())) == 2  # "." and "_" do not collide
    for job_id in jobs.values():
        assert client.get(f"/api/v1/jobs/{job_id}").get_json()["status"] == "queued"


@pytest.mark.parametrize("backend", ["in-process", "redis"])
def test_responses_above_the_bound_are_served_but_not_cached(seeded_database_url, tmp_path, backend, jobs_prefix):
    settings = {"CACHE_TTL": 300, "CACHE_VERSION_FILE": str(tmp_path / "v"), "CACHE_MAX_ENTRY_KB": 64}
    if backend == "redis":
        settings |= {"REDIS_URL": require_redis(), "CACHE_KEY_PREFIX": jobs_prefix, "CACHE_NEAR_TTL": 0}
    app = make_app(seeded_database_url, **settings)
    client = app.test_client()
    big = client.get(HISTORY_10Y)
    small = client.get("/api/v1/search?name=bitcoin")
    assert big.status_code == 200 and len(big.get_data()) > 64 * 1024
    assert small.status_code == 200
    assert client.get(HISTORY_10Y).get_data() == big.get_data()
    cache = app.extensions["response_cache"].backend
    if backend == "redis":
        keys = [key.decode() for key in cache.client.scan_iter(f"{jobs_prefix}:v1:*")]
        stored = [len(cache.client.get(key)) for key in keys]
    else:
        stored = [len(value) for value in cache._entries.values()]
    assert len(stored) == 1 and stored[0] < 64 * 1024  # only the small answer
    with app.app_context():
        db.engine.dispose()


def test_memory_policy_rules():
    assert memory_policy_problems(100 << 20, "volatile-lru") == []
    assert memory_policy_problems(100 << 20, "volatile-lfu") == []
    assert len(memory_policy_problems(0, "noeviction")) == 2
    assert len(memory_policy_problems(100 << 20, "allkeys-lru")) == 1
    assert "maxmemory is 0" in memory_policy_problems(0, "volatile-lru")[0]


def test_memory_policy_checked_on_a_real_redis(own_redis, caplog):
    url = f"redis://127.0.0.1:{own_redis['port']}/0"
    assert len(check_redis_memory_policy(url)) == 2  # redis-server's defaults: 0 and noeviction
    assert sum("Redis memory policy" in record.getMessage() for record in caplog.records) == 2
    client = redis.Redis(port=own_redis["port"])
    client.config_set("maxmemory", "64mb")
    client.config_set("maxmemory-policy", "volatile-lru")
    client.close()
    assert check_redis_memory_policy(url) == []
    assert check_redis_memory_policy(f"redis://127.0.0.1:{free_port()}/0") == []  # down: a log line only


def test_building_the_app_touches_no_dependency(tmp_path):
    """Database and Redis on closed ports: create_app still returns, /health 200, /ready 503,
    data routes the JSON 500 of the contract."""
    database = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nowhere"
    app = make_app(
        database,
        SEED_ON_STARTUP=True,
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        CACHE_TTL=60,
        CACHE_VERSION_FILE=str(tmp_path / "v"),
    )
    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert_json_error(client.get("/ready"), 503)
    assert client.get("/api/v1/dashboard?id=all").get_json() == {"detail": "Database connection error"}
