"""JSON errors everywhere: unknown routes and methods, and a database that goes away."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app
from tests.support.tcp_proxy import TcpProxy, free_port


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v2/dashboard", "/api/v1/dashboard/extra", "/api"])
def test_unknown_route_is_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json()["detail"].startswith("The requested URL was not found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/dashboard?id=all", "/api/v1/search?name=btc", "/health", "/ready"])
def test_wrong_method_is_json_405_with_allow(client, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_json() == {"detail": "The method is not allowed for the requested URL."}


def test_health_and_ready(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    age = (datetime.now(UTC).date() - date(2021, 7, 6)).days  # the bundled CSVs end on 2021-07-06
    assert ready.get_json() == {
        "status": "ready",
        "database": "ok",
        "cache": {"backend": "off", "status": "ok"},
        "data_through": "2021-07-06",
        "data_age_days": age,
        # Every bundled coin ends on 2021-07-06: the stalest active one is the first by symbol.
        "stalest_coin": {"symbol": "AAVE", "last_day": "2021-07-06", "age_days": age},
        "stale_coins": 23,
        "delisted_coins": 0,
    }


def test_head_is_answered_like_get_without_body(client):
    response = client.head("/api/v1/dashboard?id=btc")
    assert response.status_code == 200
    assert response.get_data() == b""


def test_unexpected_error_is_json_500_without_traceback(tmp_path, monkeypatch):
    import api.v1.search as search

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(search, "find_currency", explode)
    app = make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", TESTING=False)
    response = app.test_client().get("/api/v1/search?name=btc")
    assert response.status_code == 500
    assert response.get_json() == {"detail": "Internal server error"}
    assert b"secret" not in response.get_data()


def test_missing_schema_is_json_500_not_a_traceback(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    response = app.test_client().get("/api/v1/dashboard?id=all")
    assert response.status_code == 500
    assert response.get_json() == {"detail": "Database connection error"}


@pytest.fixture
def postgres_behind_proxy(seeded_database_url):
    """The seeded PostgreSQL database, reached through a proxy on a port that starts closed."""
    url = sa.make_url(seeded_database_url)
    proxy = TcpProxy(free_port(), (url.host or "127.0.0.1", url.port or 5432))
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.stop()


@pytest.mark.parametrize("seeded_database_url", ["postgresql"], indirect=True)
def test_database_unreachable_then_back(postgres_behind_proxy):
    proxy, url = postgres_behind_proxy
    client = make_app(url).test_client()
    reads = ["/api/v1/dashboard?id=all", "/api/v1/dashboard?id=btc,eth", "/api/v1/search?name=btc"]

    def assert_down():
        for path in reads:
            response = client.get(path)
            assert response.status_code == 500, path
            assert response.get_json() == {"detail": "Database connection error"}
        ready = client.get("/ready")
        assert ready.status_code == 503
        assert ready.get_json()["database"] == "unavailable"

    def assert_up():
        for path in reads:
            assert client.get(path).status_code == 200, path
        assert client.get("/ready").status_code == 200

    assert_down()  # closed port from the start
    proxy.start()
    assert_up()  # recovers without a restart
    proxy.stop()  # pooled connections die under the app
    assert_down()
    proxy.start()
    assert_up()


@pytest.mark.parametrize("seeded_database_url", ["postgresql"], indirect=True)
def test_connection_killed_after_the_last_query_keeps_the_answer(seeded_database_url, truth):
    """The session's closing ROLLBACK meets a dead connection: the built response still goes out."""
    name = f"crypto-test-{uuid.uuid4().hex[:8]}"
    url = sa.make_url(seeded_database_url).update_query_dict({"application_name": name})
    app = make_app(url.render_as_string(hide_password=False))
    admin = sa.create_engine(seeded_database_url, poolclass=sa.pool.NullPool)

    def kill_app_connections() -> None:
        with admin.connect() as conn:
            sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :n"
            assert conn.execute(sa.text(sql), {"n": name}).scalar() == 1

    app.after_request(lambda response: kill_app_connections() or response)
    client = app.test_client()
    response = client.get("/api/v1/search?name=bitcoin")
    assert response.status_code == 200
    assert response.get_json() == {"name": "Bitcoin", "symbol": "BTC"}
    again = client.get("/api/v1/dashboard?id=btc&date=2021-07-06")  # a new connection from the pool
    assert again.status_code == 200
    assert again.get_json()[0]["price"] == truth.coins["BTC"].days[date(2021, 7, 6)]["Close"]
    admin.dispose()
    with app.app_context():
        db.engine.dispose()
