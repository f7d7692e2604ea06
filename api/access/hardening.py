"""Hardening: production start-up checks, security headers, CORS allow-list, trusted proxies."""

from __future__ import annotations

import logging

import click
from flask import Flask, Response, request
from flask.helpers import get_debug_flag
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEVELOPMENT_SECRET_KEY, FALLBACK_DATABASE_URL, SettingsError

log = logging.getLogger(__name__)

# The API, the page and everything else: only this origin, no framing, no plugins.
STRICT_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (flasgger) starts itself with an inline script and inline styles.
APIDOCS_CSP = STRICT_CSP + "; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", STRICT_CSP),
)
DOCS_PATHS = ("/apidocs", "/flasgger_static", "/oauth2-redirect")
DOCS_SECURITY_HEADERS = (*SECURITY_HEADERS[:-1], ("Content-Security-Policy", APIDOCS_CSP))
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


def debugger_requested(app: Flask) -> bool:
    """Whether the debugger is on, whichever way it was asked for.

    `ProductionConfig.DEBUG = False` hides `--debug` and `FLASK_DEBUG` from `app.debug`, yet
    `flask run` reads them itself and serves Werkzeug's console; `--debugger`
    (or FLASK_RUN_DEBUGGER) reaches only the `run` command's own parameters."""
    if app.debug or get_debug_flag():
        return True
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.info_name == "run" and context.params.get("debugger"))


def check_production_settings(app: Flask) -> None:
    """Refuse to start a production app with a missing or weak SECRET_KEY, with the debugger on,
    or on the fallback SQLite file because no database was configured (each instance would keep
    its own data). A database URL given explicitly, SQLite included, is the operator's choice."""
    if app.config["APP_ENV"] != "production":
        return
    secret = app.config.get("SECRET_KEY") or ""
    if secret == DEVELOPMENT_SECRET_KEY or len(secret) < 32:
        raise SettingsError(
            "APP_ENV=production needs SECRET_KEY: a random value of at least 32 characters "
            '(e.g. python3 -c "import secrets; print(secrets.token_hex(32))"; on Elastic Beanstalk: '
            "eb setenv SECRET_KEY=...)"
        )
    if debugger_requested(app):
        raise SettingsError(
            "APP_ENV=production refuses to run with the debugger on "
            "(drop --debug/--debugger, unset FLASK_DEBUG and DEBUG)"
        )
    fallback = app.config["SQLALCHEMY_DATABASE_URI"] == FALLBACK_DATABASE_URL
    if fallback and not app.config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise SettingsError(
            "APP_ENV=production needs a database: set DATABASE_URL (or attach RDS, which sets RDS_*). "
            "To run on the local SQLite file instance/crypto.sqlite anyway (one host, e.g. the Docker "
            "quick start), set ALLOW_SQLITE_IN_PRODUCTION=on"
        )


def warn_about_production_settings(app: Flask) -> None:
    """Settings that work on one instance and silently degrade on several: a warning at start-up."""
    if app.config["APP_ENV"] == "production" and not app.config.get("REDIS_URL"):
        log.warning(
            "REDIS_URL is not set: the response cache, its invalidation and the rate limits are kept per "
            "instance (limits per worker). With more than one instance, a write or the daily ingest leaves "
            "the others serving stale data for up to CACHE_TTL=%s s; set REDIS_URL "
            "(docs/deploy-elastic-beanstalk.md, ElastiCache).",
            app.config.get("CACHE_TTL"),
        )


def trust_proxies(app: Flask, hops: int) -> None:
    """Take the client's address and scheme from the proxies in front, and nothing else.

    `hops` proxies each append one address to X-Forwarded-For (on Elastic Beanstalk: the load
    balancer appends the client's, nginx the load balancer's: 2). X-Forwarded-Proto is one value
    set by the outermost proxy that terminates TLS and passed on unchanged, hence 1. Nobody in
    front sets X-Forwarded-Host, so a client could forge it: not trusted."""
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1, x_host=0, x_port=0, x_prefix=0)


def register_security(app: Flask) -> None:
    """Proxy headers, CORS and security headers on every response."""
    warn_about_production_settings(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        trust_proxies(app, app.config["TRUSTED_PROXIES"])
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
        """Add each header the view did not set itself: one pass over the response's headers
        (werkzeug's `setdefault` costs an exception per missing header)."""
        present = {name.lower() for name, _ in response.headers}
        docs = request.path.startswith(DOCS_PATHS)
        wanted = DOCS_SECURITY_HEADERS if docs else SECURITY_HEADERS
        response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response
