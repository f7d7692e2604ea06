"""Rate limits: 429 with the headers, brute-force limiting, and limits that survive Redis failing."""

from __future__ import annotations

import uuid

import pytest
import redis

from api.extensions import db
from api.models import User
from tests.support.apps import make_app
from tests.support.services import require_redis
from tests.support.tcp_proxy import free_port
from tests.support.writable import basic

RATE_HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def limited(seeded_database_url, tmp_path):
    """Factory of apps with rate limits on; each gets its own key prefix."""
    apps = []

    def build(**settings):
        prefix = f"crypto-api-test-{uuid.uuid4().hex[:12]}"
        app = make_app(
            seeded_database_url,
            RATELIMIT_ENABLED=True,
            CACHE_KEY_PREFIX=prefix,
            CACHE_VERSION_FILE=str(tmp_path / "v"),
            **settings,
        )
        apps.append((app, prefix))
        return app

    yield build
    for app, prefix in apps:
        url = app.config.get("REDIS_URL")
        if url and "127.0.0.1:6379" in url:
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(f"*{prefix}*"))
            if keys:
                client.delete(*keys)
        with app.app_context():
            db.engine.dispose()


def assert_limited(response, limit: int) -> None:
    assert response.status_code == 429
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json()["detail"].startswith(f"Rate limit exceeded ({limit} per 1 minute)")
    for header in RATE_HEADERS:
        assert header in response.headers
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["Retry-After"]) > 0


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_the_request_after_the_limit_gets_429(limited, storage):
    settings = {"RATELIMIT_DEFAULT": "5 per minute"}
    if storage == "redis":
        settings["REDIS_URL"] = require_redis()
    client = limited(**settings).test_client()
    for remaining in range(4, -1, -1):
        response = client.get("/api/v1/search?name=btc")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
    assert_limited(client.get("/api/v1/dashboard?id=btc"), 5)
    assert client.get("/health").status_code == 200  # probes are never limited
    assert client.get("/metrics").status_code == 200


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_the_headers_count_the_one_budget_across_endpoints(limited, storage):
    """X-RateLimit-Remaining is what is left of the client's budget, whichever endpoint spent it."""
    settings = {"RATELIMIT_DEFAULT": "4 per minute"}
    if storage == "redis":
        settings["REDIS_URL"] = require_redis()
    client = limited(**settings).test_client()
    paths = ["/api/v1/search?name=btc", "/api/v1/dashboard?id=btc", "/api/v1/currencies", "/api/v1/search?name=eth"]
    for remaining, path in zip((3, 2, 1, 0), paths, strict=True):
        response = client.get(path)
        assert response.status_code == 200, path
        assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == (
            "4",
            str(remaining),
        ), path
    assert_limited(client.get("/api/v1/dashboard?id=eth"), 4)


def test_probes_skip_the_limiter_and_spend_no_budget(limited):
    client = limited(RATELIMIT_DEFAULT="3 per minute").test_client()
    for _ in range(10):
        probe = client.get("/health")
        assert probe.status_code == 200
        assert not [header for header in RATE_HEADERS if header in probe.headers]
    for remaining in (2, 1, 0):  # ten probes later, the client's whole budget is still there
        assert client.get("/api/v1/search?name=btc").headers["X-RateLimit-Remaining"] == str(remaining)
    assert_limited(client.get("/api/v1/search?name=btc"), 3)
    assert client.get("/ready").status_code == 200  # a client out of budget still reaches the probes
    assert client.get("/health").status_code == 200


def test_token_endpoint_has_a_stricter_limit(limited):
    app = limited(RATELIMIT_TOKENS="2 per minute")
    with app.app_context():
        user = User(name="wes", role="writer")
        user.set_password("writer-password-1")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    client = app.test_client()
    try:
        assert [client.post("/api/v1/tokens", headers=basic("wes")).status_code for _ in range(2)] == [201, 201]
        assert_limited(client.post("/api/v1/tokens", headers=basic("wes")), 2)
    finally:
        with app.app_context():
            db.session.delete(db.session.get(User, user_id))
            db.session.commit()


def test_failed_logins_are_limited_even_for_the_right_password_afterwards(limited):
    client = limited(RATELIMIT_AUTH_FAILURES="3 per minute").test_client()
    body = {"name": "X", "symbol": "XXX"}
    for _ in range(3):
        assert client.post("/api/v1/currencies", json=body, headers=basic("wes", "guess")).status_code == 401
    assert_limited(client.post("/api/v1/currencies", json=body, headers=basic("wes", "guess")), 3)
    assert_limited(client.post("/api/v1/tokens", headers=basic("wes", "another-guess")), 3)
    # Reads and successful requests do not count as failures.
    assert client.get("/api/v1/currencies/btc").status_code == 200


def test_redis_on_a_closed_port_still_limits_in_memory(limited):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    client = limited(REDIS_URL=closed, RATELIMIT_DEFAULT="4 per minute").test_client()
    statuses = [client.get("/api/v1/search?name=btc").status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert client.get("/api/v1/dashboard?id=btc").status_code == 429  # never a 500, never unlimited


def test_limits_are_shared_through_redis(limited):
    url = require_redis()  # skips without TEST_REDIS_URL, fails instead under REQUIRE_SERVICES=1
    first = limited(REDIS_URL=url, RATELIMIT_DEFAULT="3 per minute")
    second = make_app(
        first.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        REDIS_URL=url,
        RATELIMIT_DEFAULT="3 per minute",
        CACHE_KEY_PREFIX=first.config["CACHE_KEY_PREFIX"],
        CACHE_VERSION_FILE=first.config["CACHE_VERSION_FILE"],
    )
    assert [first.test_client().get("/api/v1/search?name=btc").status_code for _ in range(2)] == [200, 200]
    assert second.test_client().get("/api/v1/search?name=btc").status_code == 200
    assert second.test_client().get("/api/v1/search?name=btc").status_code == 429  # another worker, same budget
    with second.app_context():
        db.engine.dispose()
