"""Rate limits (Flask-Limiter), one limiter per app.

Storage is Redis when `REDIS_URL` is set, memory otherwise. If Redis stops answering, the
limiter falls back to in-memory limits (it never fails a request and never stops limiting)
and returns to Redis when it answers again.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from redis.backoff import NoBackoff
from redis.retry import Retry

# Probes and metrics are polled by infrastructure and never limited.
EXEMPT_ENDPOINTS = ("health.health", "health.ready", "prometheus_metrics", "static")
PROTECTED_ENDPOINTS = ("v1.tokens", "v1.currencies", "v1.currency", "v1.records")


def failed_authentication(response: Response) -> bool:
    return response.status_code == 401


def public_read() -> bool:
    """Public reads are not held back by a client's failed logins (unless reads need a login)."""
    return request.method in ("GET", "HEAD", "OPTIONS") and not current_app.config["READ_AUTH"]


def register_rate_limits(app: Flask) -> Limiter:
    """Default limit per client, a strict one on tokens, and a brute-force limit on failed logins."""
    redis_url = app.config["REDIS_URL"]
    options = {}
    if redis_url:
        timeout = app.config["CACHE_REDIS_TIMEOUT_MS"] / 1000
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[app.config["RATELIMIT_DEFAULT"]],  # one budget per client across endpoints
        storage_uri=redis_url or "memory://",
        storage_options=options,
        key_prefix=f"{app.config['CACHE_KEY_PREFIX']}-limits",
        strategy="moving-window",  # no burst of 2x the limit across a window boundary
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        enabled=app.config["RATELIMIT_ENABLED"],
    )
    # Flask-Limiter applies a decorated limit when the decorated view runs: swap the views in.
    views = app.view_functions
    for endpoint in EXEMPT_ENDPOINTS:
        if endpoint in views:
            views[endpoint] = limiter.exempt(views[endpoint])
    views["v1.tokens"] = limiter.limit(app.config["RATELIMIT_TOKENS"])(views["v1.tokens"])
    auth_failures = limiter.shared_limit(
        app.config["RATELIMIT_AUTH_FAILURES"],
        scope="auth-failures",
        deduct_when=failed_authentication,
        exempt_when=public_read,
        override_defaults=False,  # the default limit still applies to these endpoints
    )
    for endpoint in PROTECTED_ENDPOINTS:
        views[endpoint] = auth_failures(views[endpoint])
    app.extensions["rate_limiter"] = limiter
    return limiter
