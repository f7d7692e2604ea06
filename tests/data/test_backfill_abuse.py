"""Issue 30 item 7: on-demand backfill cannot be abused.

The whole request's quota is checked before anything is queued, a global cap sits beside the
per-client one, job ids cannot be derived from a symbol, and no key holds a client address.
Against Redis, under a key prefix of the test's own, removed at the end.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterator

import pytest
import redis

from api.extensions import db
from tests.support.apps import make_app
from tests.support.services import require_redis

CLIENT = {"REMOTE_ADDR": "203.0.113.9"}
OTHER = {"REMOTE_ADDR": "198.51.100.77"}
UNKNOWN = ["XXA", "XXB", "XXC", "XXD", "XXE"]  # the writable database holds AAA and BBB only


@pytest.fixture
def backfill(writable) -> Iterator:
    """Build apps with on-demand backfill on Redis, all under one prefix; every key removed after."""
    url = require_redis()
    prefix = f"crypto-api-test-{uuid.uuid4().hex[:12]}"
    connection = redis.Redis.from_url(url)
    built = []

    def build(**settings):
        app = make_app(
            writable.config["SQLALCHEMY_DATABASE_URI"],
            CACHE_VERSION_FILE=writable.config["CACHE_VERSION_FILE"],
            REDIS_URL=url,
            ON_DEMAND_INGEST=True,
            CACHE_KEY_PREFIX=prefix,
            **settings,
        )
        built.append(app)
        return app

    build.prefix, build.redis = prefix, connection
    yield build
    keys = list(connection.scan_iter(f"*{prefix}*"))
    if keys:
        connection.delete(*keys)
    connection.srem("rq:queues", f"rq:queue:{prefix}-crypto-api-backfill")
    for app in built:
        with app.app_context():
            db.engine.dispose()


def queued(backfill) -> int:
    """Jobs waiting in this test's queue."""
    return backfill.redis.llen(f"rq:queue:{backfill.prefix}-crypto-api-backfill")


def dashboard(client, symbols, environ=CLIENT):
    return client.get(f"/api/v1/dashboard?id={','.join(symbols)}", environ_base=environ)


def test_a_request_over_the_quota_queues_nothing(backfill):
    """Before: the quota was taken per symbol, so this 429 had already queued 3 of its 5 jobs."""
    client = backfill(ON_DEMAND_JOBS_PER_HOUR=3).test_client()
    refused = dashboard(client, UNKNOWN)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 3600
    assert queued(backfill) == 0
    assert "none queued" in refused.get_json()["detail"]
    accepted = dashboard(client, UNKNOWN[:3])
    assert accepted.status_code == 202 and len(accepted.get_json()["jobs"]) == 3
    assert queued(backfill) == 3
    assert dashboard(client, UNKNOWN[3:4]).status_code == 429
    assert queued(backfill) == 3
    # Asking again for symbols already queued costs nothing and returns the same jobs.
    again = dashboard(client, UNKNOWN[:3])
    assert again.status_code == 202 and again.get_json()["jobs"] == accepted.get_json()["jobs"]


def test_all_clients_together_have_a_cap(backfill):
    client = backfill(ON_DEMAND_JOBS_PER_HOUR=10, ON_DEMAND_JOBS_PER_HOUR_TOTAL=4).test_client()
    assert dashboard(client, UNKNOWN[:3]).status_code == 202
    assert dashboard(client, UNKNOWN[3:5], OTHER).status_code == 429  # 3 + 2 > 4: the other client too
    assert queued(backfill) == 3
    assert dashboard(client, UNKNOWN[3:4], OTHER).status_code == 202
    assert queued(backfill) == 4


def test_job_ids_cannot_be_derived_from_the_symbol(backfill):
    client = backfill().test_client()
    jobs = dashboard(client, UNKNOWN[:2]).get_json()["jobs"]
    pattern = re.compile(rf"{re.escape(backfill.prefix)}-backfill-[0-9a-f]{{32}}")
    assert all(pattern.fullmatch(job) for job in jobs.values()) and len(set(jobs.values())) == 2
    assert all("XX" not in job for job in jobs.values())
    # The old, guessable id of a queued symbol names no job; the id given out does.
    old_style = f"{backfill.prefix.replace('_', '_5f')}-backfill-XXA"
    assert client.get(f"/api/v1/jobs/{old_style}").status_code == 404
    status = client.get(f"/api/v1/jobs/{jobs['XXA']}")
    assert status.status_code == 200 and status.get_json()["symbol"] == "XXA"


def test_no_key_holds_the_client_address(backfill):
    app = backfill()
    assert dashboard(app.test_client(), UNKNOWN[:1]).status_code == 202
    names = [key.decode() for key in backfill.redis.scan_iter(f"*{backfill.prefix}*")]
    values = [backfill.redis.dump(key) or b"" for key in names]
    assert names and not any("203.0.113.9" in name for name in names)
    assert not any(b"203.0.113.9" in value for value in values)
    digest = hmac.new(app.config["SECRET_KEY"].encode(), b"203.0.113.9", hashlib.sha256).hexdigest()[:32]
    assert any(name.startswith(f"{backfill.prefix}:backfill-quota:{digest}:") for name in names)
