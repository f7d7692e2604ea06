"""Rate limits (Flask-Limiter), one limiter per app, declared where the route is.

- every client has one budget across endpoints (`RATELIMIT_DEFAULT`, an application limit);
- a view or resource declares a stricter limit with `@rate_limit("SETTING")` (the setting names
  the config value, e.g. `RATELIMIT_TOKENS` on `v1.tokens.Tokens`), or none with `@rate_limit_exempt`
  (probes); `/metrics` and static files are never limited;
- failed logins are throttled separately, per account and client (`api.access.login_throttle`).

Storage is Redis when `REDIS_URL` is set. Without it, counts live in `SHARED_STATE_FILE`, a SQLite
file every worker process of this host shares (`api.access.limiter_storage.SharedFileStorage`), so
the budget is exact across the processes gunicorn runs (as many as with Redis); an app configured
without that file (tests, benches) counts in its own memory. If the store stops answering, the
limiter falls back to in-memory limits (it never fails a request and never stops limiting) and
returns to the store when it answers again.

`Retry-After` is sent on 429 (and 503) only; the `X-RateLimit-*` headers are on every limited answer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from flask import Flask, Response, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from redis.backoff import NoBackoff
from redis.retry import Retry

import api.access.limiter_storage  # noqa: F401  (registers shared-file:// and inline-memory://)

Target = TypeVar("Target")
# Endpoints Flask and the metrics exporter add (no view of ours to mark): never limited.
INFRASTRUCTURE_ENDPOINTS = frozenset({"static", "flasgger.static", "prometheus_metrics"})
RETRY_AFTER_STATUSES = (429, 503)


def rate_limit(setting: str) -> Callable[[Target], Target]:
    """Declare a limit on a view function or a resource class: the config value named `setting`."""

    def mark(target: Target) -> Target:
        target.rate_limit_setting = setting
        return target

    return mark


def rate_limit_exempt(target: Target) -> Target:
    """Declare a view never limited (health probes are polled by infrastructure)."""
    target.rate_limit_exempt = True
    return target


def declared(view: Callable, name: str) -> object:
    """What a view declares: on the function, else on its class (Flask-RESTful resources)."""
    return getattr(view, name, None) or getattr(getattr(view, "view_class", None), name, None)


def register_rate_limits(app: Flask) -> Limiter:
    """The default limit per client and the limits the views declare."""
    # Probes and infrastructure: known now (every route is registered), so their requests skip the
    # limiter's three hooks outright (tens of µs each request) instead of being filtered inside them.
    exempt_endpoints = frozenset(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint in INFRASTRUCTURE_ENDPOINTS or declared(view, "rate_limit_exempt")
    )
    hooks_before = {kind: len(hooks.get(None, ())) for kind, hooks in hook_lists(app).items()}

    @app.after_request
    def retry_after_only_when_refused(response: Response) -> Response:
        """Flask-Limiter stamps Retry-After on every answer; it means "come back later" only on 429/503.

        Registered before the limiter, so it runs after the limiter's own header hook. A refusal by
        the failed-login throttle leaves its headers in `g.rate_limit_headers`.
        """
        if response.status_code not in RETRY_AFTER_STATUSES:
            response.headers.pop("Retry-After", None)
        # A refusal by another limit (the failed-login back-off) states its own numbers, not the default's.
        for name, value in g.get("rate_limit_headers", {}).items():
            response.headers.set(name, value)
        return response

    redis_url = app.config["REDIS_URL"]
    options = {}
    if redis_url:
        timeout = app.config["CACHE_REDIS_TIMEOUT_MS"] / 1000
        options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "retry": Retry(NoBackoff(), 0)}
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[app.config["RATELIMIT_DEFAULT"]],  # one budget per client across endpoints
        storage_uri=storage_uri(redis_url, app.config["SHARED_STATE_FILE"]),
        storage_options=options,
        key_prefix=f"{app.config['CACHE_KEY_PREFIX']}-limits",
        strategy="moving-window",  # no burst of 2x the limit across a window boundary
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        enabled=app.config["RATELIMIT_ENABLED"],
    )
    # Flask-Limiter also reads RATELIMIT_DEFAULT (this app's name for the budget) as a default limit
    # per endpoint: every request then counted in a second window of the same size, one more storage
    # hit (a Redis round trip) that could never refuse first, whose per-endpoint numbers the headers
    # showed. The budget is the application limit alone.
    limiter.limit_manager.set_default_limits([])
    for kind, hooks in hook_lists(app).items():
        added = hooks[None][hooks_before[kind] :]
        hooks[None][hooks_before[kind] :] = [SKIP_EXEMPT[kind](hook, exempt_endpoints) for hook in added]

    @limiter.request_filter
    def exempt() -> bool:
        """For a route registered after this point (the hooks above skip those known now)."""
        endpoint = request.endpoint
        if endpoint is None:
            return False
        view = app.view_functions.get(endpoint)
        return endpoint in INFRASTRUCTURE_ENDPOINTS or bool(view and declared(view, "rate_limit_exempt"))

    # Flask-Limiter applies a route's own limit when the decorated view runs, so each declaring
    # view is wrapped once here (generic: what to limit is read from the view, not listed here).
    for endpoint, view in list(app.view_functions.items()):
        setting = declared(view, "rate_limit_setting")
        if setting:
            app.view_functions[endpoint] = limiter.limit(app.config[setting])(view)
    app.extensions["rate_limiter"] = limiter
    return limiter


def storage_uri(redis_url: str | None, shared_state_file: str | None) -> str:
    """Redis, else the file this host's processes share, else (no file configured) this process's memory."""
    if redis_url:
        return redis_url
    if shared_state_file:
        return "shared-file://" + quote(str(Path(shared_state_file).resolve()))
    return "inline-memory://"


def hook_lists(app: Flask) -> dict[str, dict]:
    """Flask's app-wide hook registries the limiter adds to (documented attributes of `Flask`)."""
    return {
        "before": app.before_request_funcs,
        "after": app.after_request_funcs,
        "teardown": app.teardown_request_funcs,
    }


def _skip_before(hook: Callable, exempt: frozenset[str]) -> Callable:
    @functools.wraps(hook)
    def unless_exempt() -> Response | None:
        return None if request.endpoint in exempt else hook()

    return unless_exempt


def _skip_after(hook: Callable, exempt: frozenset[str]) -> Callable:
    @functools.wraps(hook)
    def unless_exempt(response: Response) -> Response:
        return response if request.endpoint in exempt else hook(response)

    return unless_exempt


def _skip_teardown(hook: Callable, exempt: frozenset[str]) -> Callable:
    @functools.wraps(hook)
    def unless_exempt(error: BaseException | None = None) -> None:
        if request.endpoint not in exempt:
            hook(error)

    return unless_exempt


SKIP_EXEMPT = {"before": _skip_before, "after": _skip_after, "teardown": _skip_teardown}
