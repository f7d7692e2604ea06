"""JSON errors everywhere: unknown routes and methods, and a database that goes away."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import make_app
from tests.tcp_proxy import TcpProxy, free_port


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
    assert ready.get_json() == {"status": "ready", "database": "ok", "cache": {"backend": "off", "status": "ok"}}


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
