"""Issue 13's gaps: one login wall, failed-login back-off that punishes the guesser only, exact limits,
affordable Basic reads, token purge, and limits declared on the resource (issue 16)."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from api.extensions import db
from api.models import Token, User
from tests.support.writable import PASSWORDS, basic, bearer, scalar, token_for
from utilities import schema as models  # where the models (and their password check) are defined

ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.20"}
OPEN_WITH_READ_AUTH = {
    "health.health",
    "health.ready",
    "static",
    "flasgger.static",
    "flasgger.apidocs",
    "flasgger.<lambda>",
    "flasgger.oauth_redirect",
    "flasgger.apispec_1",
    "flasgger.openapi",
    "prometheus_metrics",  # open unless METRICS_AUTH=on (tested below)
}
URL_VALUES = {"symbol": "aaa", "job_id": "some-job", "filename": "dashboard.css", "coin": "aaa"}
UNAUTHORIZED = {"detail": "Authentication required: valid Basic credentials or a Bearer token"}


def read_urls(app) -> dict[str, str]:
    """Every GET route of the app, with its URL variables filled in."""
    urls = {}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods:
            path = rule.rule
            for name in rule.arguments:
                value = "dashboard.css" if rule.endpoint == "static" else URL_VALUES[name]
                if rule.endpoint == "flasgger.static":
                    value = "swagger-ui.css"
                path = path.replace(f"<path:{name}>", value).replace(f"<string:{name}>", value)
            urls[rule.endpoint] = path
    return urls


# 1. One wall for everything that serves data ----------------------------------------------------


def test_read_auth_refuses_anonymous_requests_on_every_data_route(apps):
    app = apps(READ_AUTH=True)
    client = app.test_client()
    urls = read_urls(app)
    assert {"pages.dashboard_page_view", "v1.dashboard", "v1.history", "v1.search"} <= set(urls)
    for endpoint, url in urls.items():
        response = client.get(url)
        if endpoint in OPEN_WITH_READ_AUTH:
            assert response.status_code in (200, 302), (endpoint, url, response.status_code)
            continue
        assert response.status_code == 401, (endpoint, url, response.status_code)
        # The other clients' contracts (/compat/krispyto, /api/v3) carry the message as `error`.
        foreign = endpoint.startswith(("krispyto.", "coingecko."))
        assert response.get_json() == ({"error": UNAUTHORIZED["detail"]} if foreign else UNAUTHORIZED), endpoint
        assert response.headers["WWW-Authenticate"].startswith('Basic realm="crypto-api"'), endpoint
    csv = client.get("/api/v1/currencies/aaa/history?format=csv&start=2021-01-01")
    assert csv.status_code == 401 and csv.get_json() == UNAUTHORIZED
    page = client.get("/?date=2021-01-02&coin=aaa")
    assert page.status_code == 401 and "Alpha" not in page.get_data(as_text=True)
    # Browsers show a login dialog for a lone Basic challenge.
    assert page.headers.get_all("WWW-Authenticate") == ['Basic realm="crypto-api"']


def test_read_auth_lets_readers_use_the_page_csv_and_api(apps):
    client = apps(READ_AUTH=True).test_client()
    page = client.get("/?date=2021-01-02&coin=aaa", headers=basic("rea"))
    assert page.status_code == 200 and "Alpha" in page.get_data(as_text=True)
    token = token_for(client, "rea")
    assert client.get("/?coin=aaa", headers=bearer(token)).status_code == 200
    csv = client.get("/api/v1/currencies/aaa/history?format=csv&start=2021-01-01", headers=basic("rea"))
    assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
    assert csv.get_data(as_text=True).splitlines()[1].startswith("2021-01-01,1,")


def test_page_is_public_without_read_auth(apps):
    assert apps().test_client().get("/?coin=aaa").status_code == 200


def test_metrics_follow_their_own_setting(apps):
    assert apps(READ_AUTH=True).test_client().get("/metrics").status_code == 200
    client = apps(METRICS_AUTH=True).test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.get_json() == UNAUTHORIZED
    assert client.get("/metrics", headers=basic("rea")).status_code == 200


# 2./3. Failed logins: reads too, only presented credentials, per account and client -----------------


def test_wrong_passwords_on_reads_are_throttled(apps):
    client = apps(READ_AUTH=True, RATELIMIT_ENABLED=True, RATELIMIT_AUTH_FAILURES="5 per minute").test_client()
    statuses = [
        client.get("/api/v1/search?name=aaa", headers=basic("rea", f"guess-{i}"), environ_base=ATTACKER).status_code
        for i in range(5)
    ]
    assert statuses == [401] * 5
    locked = client.get("/api/v1/search?name=aaa", headers=basic("rea"), environ_base=ATTACKER)
    assert locked.status_code == 429  # even the right password, from the guessing client
    assert locked.headers.get_all("Retry-After") == ["30"]  # AUTH_BACKOFF_SECONDS, the first lock
    assert locked.headers.get_all("X-RateLimit-Limit") == ["5"] and locked.headers["X-RateLimit-Remaining"] == "0"
    assert locked.get_json()["detail"].startswith("Rate limit exceeded (5 per 1 minute)")
    page = client.get("/?coin=aaa", headers=basic("rea", "guess-9"), environ_base=ATTACKER)
    assert page.status_code == 429  # the page checks credentials too
    # The owner at another address is not locked out.
    assert client.get("/api/v1/search?name=aaa", headers=basic("rea"), environ_base=ELSEWHERE).status_code == 200


def test_requests_without_credentials_never_count_as_failed_logins(apps):
    client = apps(RATELIMIT_ENABLED=True, RATELIMIT_AUTH_FAILURES="3 per minute").test_client()
    body = {"name": "Gamma", "symbol": "GGG"}
    for _ in range(10):  # what an HTTP client does: send, get the challenge, retry with credentials
        assert client.post("/api/v1/currencies", json=body).status_code == 401
    assert client.post("/api/v1/currencies", json=body, headers=basic("wes")).status_code == 201


def test_a_guesser_behind_the_same_address_locks_only_the_account_it_guesses(apps):
    client = apps(RATELIMIT_ENABLED=True, RATELIMIT_AUTH_FAILURES="3 per minute").test_client()
    body = {"name": "Gamma", "symbol": "GGG"}
    for _ in range(3):
        response = client.post("/api/v1/currencies", json=body, headers=basic("wes", "guess"), environ_base=ATTACKER)
        assert response.status_code == 401
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=ATTACKER).status_code == 429
    # The admin behind the same NAT address, and from anywhere else, still gets a token.
    assert client.post("/api/v1/tokens", headers=basic("ann"), environ_base=ATTACKER).status_code == 201
    assert client.post("/api/v1/tokens", headers=basic("ann"), environ_base=ELSEWHERE).status_code == 201
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=ELSEWHERE).status_code == 201


def test_a_client_spraying_many_accounts_is_throttled(apps):
    client = apps(RATELIMIT_ENABLED=True, RATELIMIT_AUTH_FAILURES_PER_CLIENT="4 per minute").test_client()
    for name in ("ann", "wes", "rea", "nobody"):
        assert client.post("/api/v1/tokens", headers=basic(name, "guess"), environ_base=ATTACKER).status_code == 401
    assert client.post("/api/v1/tokens", headers=basic("rea"), environ_base=ATTACKER).status_code == 429
    assert client.delete("/api/v1/tokens", headers=bearer("forged"), environ_base=ATTACKER).status_code == 429
    assert client.post("/api/v1/tokens", headers=basic("rea"), environ_base=ELSEWHERE).status_code == 201


def test_failed_logins_are_counted_through_redis_for_every_worker(apps):
    import uuid

    import redis

    from tests.support.services import require_redis

    url = require_redis()
    prefix = f"crypto-api-test-{uuid.uuid4().hex[:12]}"
    settings = {"RATELIMIT_ENABLED": True, "REDIS_URL": url, "CACHE_KEY_PREFIX": prefix}
    first, second = (apps(RATELIMIT_AUTH_FAILURES="2 per minute", **settings).test_client() for _ in range(2))
    try:
        assert first.post("/api/v1/tokens", headers=basic("wes", "x"), environ_base=ATTACKER).status_code == 401
        assert second.post("/api/v1/tokens", headers=basic("wes", "y"), environ_base=ATTACKER).status_code == 401
        assert first.post("/api/v1/tokens", headers=basic("wes"), environ_base=ATTACKER).status_code == 429
        assert second.post("/api/v1/tokens", headers=basic("wes"), environ_base=ELSEWHERE).status_code == 201
    finally:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"*{prefix}*"))  # the limiter's keys start with LIMITS:
        if keys:
            client.delete(*keys)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_back_off_doubles_per_failure_up_to_the_cap_and_spares_known_addresses(monkeypatch):
    from api.access.login_throttle import LoginThrottle

    clock = Clock()
    monkeypatch.setattr("api.access.login_throttle.time.monotonic", clock)
    throttle = LoginThrottle(
        "secret", pair="2 per minute", client="100 per minute", account="3 per minute", base=30, cap=100, prefix="t"
    )
    throttle.succeeded("ann", "10.0.0.1")  # ann's own address
    assert throttle.locked("ann", "10.0.0.9") is None
    throttle.failed("ann", "10.0.0.9")
    assert throttle.locked("ann", "10.0.0.9") is None
    throttle.failed("ann", "10.0.0.9")  # second failure: the pair's allowance is used up
    assert throttle.locked("ann", "10.0.0.9").retry_after == 30
    clock.now += 31
    assert throttle.locked("ann", "10.0.0.9") is None
    throttle.failed("ann", "10.0.0.9")  # third: the pair waits 60 s, the account (3 free) locks for 30 s
    assert throttle.locked("ann", "10.0.0.9").retry_after == 60
    assert throttle.locked("ann", "10.0.0.5").retry_after == 30  # an unknown address: account lock
    assert throttle.locked("ann", "10.0.0.1") is None  # ann's known address: never locked by others
    clock.now += 61
    throttle.failed("ann", "10.0.0.9")
    assert throttle.locked("ann", "10.0.0.9").retry_after == 100  # 120 capped at 100
    clock.now += 101
    throttle.succeeded("ann", "10.0.0.9")
    assert throttle.locked("ann", "10.0.0.9") is None


# 4. Exact limits in one process with threads; Retry-After only when refused ----------------------


def test_limits_are_exact_across_threads_of_one_process(apps):
    app = apps(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="25 per minute")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/search?name=aaa"

    def get(_: int) -> tuple[int, dict]:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(get, range(60)))
    finally:
        server.shutdown()
    statuses = [status for status, _ in answers]
    assert statuses.count(200) == 25 and statuses.count(429) == 35
    for status, headers in answers:
        assert headers["X-RateLimit-Limit"] == "25"
        assert ("Retry-After" in headers) == (status == 429)


def test_retry_after_only_on_429(apps):
    client = apps(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="6 per minute").test_client()
    answers = [
        client.get("/api/v1/search?name=aaa"),  # 200
        client.post("/api/v1/currencies", json={"name": "G", "symbol": "GGG"}),  # 401
        client.post("/api/v1/currencies", json={"name": "G", "symbol": "GGG"}, headers=basic("rea")),  # 403
        client.get("/api/v1/search?name=zzz"),  # 404
        client.get("/api/v1/dashboard?id=aaa&date=2021-02-30"),  # 400
    ]
    assert [r.status_code for r in answers] == [200, 401, 403, 404, 400]
    for response in answers:
        assert "Retry-After" not in response.headers, response.status_code
        assert "X-RateLimit-Remaining" in response.headers
    client.get("/api/v1/search?name=aaa")
    refused = client.get("/api/v1/search?name=aaa")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0


# 6. Basic on reads: scrypt once per TTL, invalidated by a password change; 403s counted ------------


@pytest.fixture
def hash_checks(monkeypatch) -> list[str]:
    """Every password hash the app verifies (scrypt: the expensive part of Basic)."""
    checked: list[str] = []
    original = models.check_password_hash

    def counting(stored: str, password: str) -> bool:
        checked.append(password)
        return original(stored, password)

    monkeypatch.setattr(models, "check_password_hash", counting)
    return checked


def test_basic_reads_verify_the_password_once_per_ttl(apps, hash_checks):
    app = apps(READ_AUTH=True, AUTH_CACHE_TTL=60)
    client = app.test_client()
    for _ in range(10):
        assert client.get("/api/v1/search?name=aaa", headers=basic("rea")).status_code == 200
    assert hash_checks == [PASSWORDS["rea"]]
    assert client.get("/api/v1/search?name=aaa", headers=basic("rea", "wrong-password")).status_code == 401
    with app.app_context():  # a password change takes effect at once
        user = db.session.execute(sa.select(User).where(User.name == "rea")).scalar_one()
        user.set_password("a-new-password")
        db.session.commit()
    assert client.get("/api/v1/search?name=aaa", headers=basic("rea")).status_code == 401
    assert client.get("/api/v1/search?name=aaa", headers=basic("rea", "a-new-password")).status_code == 200
    assert client.get("/api/v1/search?name=aaa", headers=basic("rea", "a-new-password")).status_code == 200
    assert hash_checks.count("a-new-password") == 1
    app.test_cli_runner().invoke(args=["users", "delete", "rea"])  # and so does deleting the user
    assert client.get("/api/v1/search?name=aaa", headers=basic("rea", "a-new-password")).status_code == 401


def test_verdict_cache_off_checks_every_time(apps, hash_checks):
    client = apps(READ_AUTH=True, AUTH_CACHE_TTL=0).test_client()
    for _ in range(3):
        assert client.get("/api/v1/search?name=aaa", headers=basic("rea")).status_code == 200
    assert len(hash_checks) == 3


def test_forbidden_requests_are_logged(apps, caplog):
    client = apps().test_client()
    with caplog.at_level("WARNING", logger="api.access.auth"):
        response = client.delete("/api/v1/currencies/aaa", headers=basic("wes"))
    assert response.status_code == 403
    records = [r for r in caplog.records if r.getMessage() == "Forbidden"]
    assert len(records) == 1 and records[0].user == "wes" and records[0].endpoint == "v1.currency"
    metrics = client.get("/metrics").get_data(as_text=True)
    counted = 'crypto_api_http_request_duration_seconds_count{endpoint="v1.currency",method="DELETE",status="403"} 1.0'
    assert counted in metrics.splitlines()


# 5 (token purge) and issue 16 (limits declared on the resource) ----------------------------------


def test_tokens_purge_deletes_expired_and_revoked_tokens_only(writable):
    client = writable.test_client()
    kept, expired, revoked = (token_for(client, "wes") for _ in range(3))
    assert client.delete("/api/v1/tokens", headers=bearer(revoked)).status_code == 204
    with writable.app_context():
        from api.access.auth import hash_token

        stored = db.session.execute(sa.select(Token).where(Token.token_hash == hash_token(expired))).scalar_one()
        stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    result = writable.test_cli_runner().invoke(args=["tokens", "purge"])
    assert result.exit_code == 0 and "Purged 2 expired or revoked tokens" in result.output
    assert scalar(writable, "SELECT count(*) FROM token") == 1
    assert client.put("/api/v1/currencies/aaa", json={"name": "A"}, headers=bearer(kept)).status_code == 200


def test_limits_are_declared_on_the_views_they_limit(writable):
    from api.access.rate_limits import declared

    views = writable.view_functions
    assert declared(views["v1.tokens"], "rate_limit_setting") == "RATELIMIT_TOKENS"
    assert declared(views["health.health"], "rate_limit_exempt")
    assert declared(views["health.ready"], "rate_limit_exempt")
    assert declared(views["v1.dashboard"], "rate_limit_setting") is None
