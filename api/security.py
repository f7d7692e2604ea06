"""Hardening: production start-up checks, security headers, CORS allow-list, trusted proxies."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEVELOPMENT_SECRET_KEY

# The API, the page and everything else: only this origin, no framing, no plugins.
STRICT_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (flasgger) starts itself with an inline script and inline styles.
APIDOCS_CSP = STRICT_CSP + "; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
EXPOSED_HEADERS = [
    "ETag",
    "X-Total-Count",
    "X-Request-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Location",
]


def check_production_settings(app: Flask) -> None:
    """Refuse to start a production app with a missing or weak SECRET_KEY, or with debug on."""
    if app.config["APP_ENV"] != "production":
        return
    secret = app.config.get("SECRET_KEY") or ""
    if secret == DEVELOPMENT_SECRET_KEY or len(secret) < 32:
        raise RuntimeError("APP_ENV=production needs SECRET_KEY: a random value of at least 32 characters")
    if app.debug:
        raise RuntimeError("APP_ENV=production refuses to run with debug on (unset FLASK_DEBUG)")


def register_security(app: Flask) -> None:
    """Proxy headers, CORS and security headers on every response."""
    if app.config["TRUSTED_PROXIES"] > 0:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    if app.config["CORS_ORIGINS"]:
        CORS(
            app,
            resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}},
            expose_headers=EXPOSED_HEADERS,
            allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
            max_age=600,
        )

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        docs = request.path.startswith(("/apidocs", "/flasgger_static", "/oauth2-redirect"))
        response.headers.setdefault("Content-Security-Policy", APIDOCS_CSP if docs else STRICT_CSP)
        return response
