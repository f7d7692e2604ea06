"""Hardening: production start-up checks, security headers, CORS allow-list, trusted proxies."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

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
    "X-Data-Through",
]
# Browsers may call the data surfaces: /api/v1, the CoinGecko subset /api/v3 and /compat/krispyto.
CORS_PATHS = r"^/(api|compat)/"
# scheme://host[:port], nothing else: an origin is never a path, a query or a pattern.
ORIGIN_PATTERN = re.compile(
    r"^(https?)://([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:[0-9]{1,5})?\Z"
)
# One DNS label: what `*` stands for in `https://*.partner.com`.
DNS_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"


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


def cors_origin_pattern(entry: str) -> re.Pattern:
    """One `CORS_ORIGINS` entry as an anchored, case-insensitive pattern; ValueError when malformed.

    An entry is an exact origin (`https://charts.example.com`, `http://127.0.0.1:3000`), or a
    subdomain pattern whose only `*` is the first label of the host (`https://*.partner.com`: one
    label, so `https://a.partner.com`, never `https://partner.com`, `https://a.b.partner.com` or
    `https://xpartner.com.evil.net`). flask-cors would read any other `*` as an unanchored regular
    expression, so nothing reaches it as text: every entry is compiled here, escaped and anchored.
    """
    origin = entry.strip().lower()
    wildcard = origin.startswith(("http://*.", "https://*."))
    concrete = origin.replace("*", "a", 1) if wildcard else origin
    if "*" in concrete or not ORIGIN_PATTERN.match(concrete):
        raise ValueError(
            f"CORS_ORIGINS entry {entry!r} is not an origin: scheme://host[:port] with no path or trailing "
            "slash, or a subdomain pattern such as https://*.partner.com (a `*` only as the first label)"
        )
    if not wildcard:
        return re.compile(re.escape(origin) + r"\Z", re.IGNORECASE)
    scheme, rest = origin.split("://*", 1)
    return re.compile(re.escape(scheme + "://") + DNS_LABEL + re.escape(rest) + r"\Z", re.IGNORECASE)


def register_cors(app: Flask) -> None:
    """CORS for the origins in `CORS_ORIGINS` (none by default) on the data surfaces; preflights
    (a GET with `Content-Type: application/json`, as the Krispyto client sends) are answered too."""
    entries = app.config["CORS_ORIGINS"]
    if not entries:
        return
    try:
        origins = [cors_origin_pattern(entry) for entry in entries]
    except ValueError as error:
        raise RuntimeError(str(error)) from None
    CORS(
        app,
        resources={CORS_PATHS: {"origins": origins}},
        expose_headers=EXPOSED_HEADERS,
        allow_headers=["Authorization", "Content-Type", "If-None-Match", "X-Request-ID"],
        max_age=600,
        vary_header=True,
    )


def register_security(app: Flask) -> None:
    """Proxy headers, CORS and security headers on every response."""
    warn_about_production_settings(app)
    if app.config["TRUSTED_PROXIES"] > 0:
        trust_proxies(app, app.config["TRUSTED_PROXIES"])
    register_cors(app)

    app.after_request(relative_redirect)

    @app.after_request
    def security_headers(response: Response) -> Response:
        """Add each header the view did not set itself: one pass over the response's headers
        (werkzeug's `setdefault` costs an exception per missing header)."""
        present = {name.lower() for name, _ in response.headers}
        docs = request.path.startswith(DOCS_PATHS)
        wanted = DOCS_SECURITY_HEADERS if docs else SECURITY_HEADERS
        response.headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response


def relative_redirect(response: Response) -> Response:
    """A redirect's Location is made relative (RFC 9110 10.2.2 allows it): the app never sends a
    client to another site, so a host in it can only come from the request.

    Werkzeug's slash redirects (`//api/v1//dashboard` -> 308) build an absolute URL from the
    Host header, which the client chose: `Host: evil.example` came back as
    `Location: http://evil.example/...`, a redirect a cache or a link could carry to others."""
    location = response.headers.get("Location")
    if location and 300 <= response.status_code < 400 and "//" in location:
        parts = urlsplit(location)
        if parts.netloc:
            relative = "/" + parts.path.lstrip("/")  # never `//host...`, itself a host to browsers
            response.headers["Location"] = relative + (f"?{parts.query}" if parts.query else "")
    return response
