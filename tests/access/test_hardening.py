"""Security headers, CORS allow-list, and a production config that refuses unsafe settings."""

from __future__ import annotations

import pytest

from api import create_app
from config import ProductionConfig
from tests.support.apps import make_app
from tests.support.settings import TestConfig


@pytest.mark.parametrize("path", ["/api/v1/dashboard?id=btc", "/nope", "/health", "/"])
def test_security_headers_everywhere(client, path):
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp


def test_a_header_the_view_sets_is_kept_and_not_doubled(seeded_database_url):
    app = make_app(seeded_database_url)

    @app.get("/framed")
    def framed():
        return "", 204, {"x-frame-options": "SAMEORIGIN", "Content-Security-Policy": "default-src 'none'"}

    headers = app.test_client().get("/framed").headers
    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert headers.getlist("Referrer-Policy") == ["no-referrer"]


def test_apidocs_policy_allows_its_inline_script_only(client):
    csp = client.get("/apidocs/").headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in csp and "default-src 'self'" in csp


def test_cors_allow_list(seeded_database_url):
    app = make_app(seeded_database_url, CORS_ORIGINS=["https://charts.example.com"])
    client = app.test_client()
    allowed = client.get("/api/v1/search?name=btc", headers={"Origin": "https://charts.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://charts.example.com"
    assert "X-Total-Count" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.get("/api/v1/search?name=btc", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = client.options(
        "/api/v1/currencies",
        headers={
            "Origin": "https://charts.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://charts.example.com"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_no_cors_headers_without_an_allow_list(client):
    response = client.get("/api/v1/search?name=btc", headers={"Origin": "https://charts.example.com"})
    assert "Access-Control-Allow-Origin" not in response.headers


class Production(ProductionConfig):
    SQLALCHEMY_DATABASE_URI = TestConfig.SQLALCHEMY_DATABASE_URI
    SEED_ON_STARTUP = False


@pytest.mark.parametrize("secret", [None, "", "dev-only-change-me", "too-short"])
def test_production_refuses_a_missing_or_weak_secret_key(secret):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Production, SECRET_KEY=secret)


def test_production_refuses_debug():
    with pytest.raises(RuntimeError, match="debug"):
        create_app(Production, SECRET_KEY="s" * 40, DEBUG=True)


def test_production_starts_with_a_real_secret(monkeypatch):
    app = create_app(Production, SECRET_KEY="s" * 40)
    assert app.config["APP_ENV"] == "production" and not app.debug
    monkeypatch.setenv("APP_ENV", "production")
    from config import config_for_environment

    assert config_for_environment() is ProductionConfig
