"""Who is calling, and whether they may: HTTP Basic for stored users, Bearer tokens, roles.

One decision for every route (`authorize_request`, run before each request whenever READ_AUTH or
METRICS_AUTH is on; with both off no read needs a user and it is not registered): with READ_AUTH=on,
everything that serves data needs a user of any role; only the endpoints in `OPEN_ENDPOINTS` (probes,
static files, the docs shell, the token endpoint with its own rules) stay open, so a route added
later is protected by default. Writes name their role on the resource. Roles nest: an admin may do
what a writer may, and a writer what a reader may.

Failed logins are throttled here too (`api.access.login_throttle`), on every route that checks
credentials, and a verified Basic password is remembered briefly (`VerdictCache`) so that reads
with Basic do not pay for scrypt every time. Schemes are matched case-insensitively (RFC 9110),
a 403 names the roles the route needs, and a token may renew itself (`issue_token`), so an
attacker holding the account lock cannot lock out a user who holds a token (docs/security.md).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from flask import Flask, Response, current_app, g, request
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

from api.access.login_throttle import LoginThrottle
from api.errors import ApiError
from api.extensions import db
from api.models import Token, User

log = logging.getLogger(__name__)


def auth_scheme_presented() -> str:
    """The Authorization header's scheme, lower-cased: RFC 9110 11.1 makes schemes case-insensitive."""
    return request.headers.get("Authorization", "").strip().split(" ", 1)[0].lower()[:16]


class BasicAuth(HTTPBasicAuth):
    """Flask-HTTPAuth's Basic, choosing itself for `basic`, `Basic`, `BASIC`... (it compares case-sensitively)."""

    def is_compatible_auth(self, headers) -> bool:
        return auth_scheme_presented() == "basic"

    def get_auth(self):
        # Its parser ignores the scheme: "Bearer <base64 of a:b>" must not be read as Basic credentials.
        return super().get_auth() if auth_scheme_presented() == "basic" else None


class TokenAuth(HTTPTokenAuth):
    """Flask-HTTPAuth's Bearer, chosen for `bearer` as for `Bearer` (Werkzeug already parses either)."""

    def is_compatible_auth(self, headers) -> bool:
        return auth_scheme_presented() == "bearer"


class RoleAuth(MultiAuth):
    """Basic or Bearer; remembers the roles a view needs, so that a 403 can say which."""

    def login_required(self, f=None, role=None, optional=None):
        checked = super().login_required(role=role, optional=optional)

        def decorator(view):
            guarded = checked(view)

            @functools.wraps(view)
            def decorated(*args, **kwargs):
                g.required_roles = role
                return guarded(*args, **kwargs)

            return decorated

        return decorator(f) if f is not None else decorator


basic_auth = BasicAuth(realm="crypto-api")
token_auth = TokenAuth(scheme="Bearer", realm="crypto-api")
auth = RoleAuth(basic_auth, token_auth)

CHALLENGES = 'Basic realm="crypto-api", Bearer realm="crypto-api"'
# The HTML page asks browsers for Basic only: that is the challenge they show a login dialog for.
BROWSER_CHALLENGE = 'Basic realm="crypto-api"'
BEARER_CHALLENGE = 'Bearer realm="crypto-api"'
WRITERS = ["writer", "admin"]
ADMINS = ["admin"]
READERS = ["reader", "writer", "admin"]
READ_METHODS = ("GET", "HEAD")
# Open with READ_AUTH=on: probes, static files, the docs shell and spec (no live data), and the
# token endpoint (it checks Basic or Bearer itself). `/metrics` follows METRICS_AUTH instead.
OPEN_ENDPOINTS = frozenset(
    {
        "health.health",
        "health.ready",
        "static",
        "flasgger.static",
        "flasgger.apidocs",
        "flasgger.<lambda>",
        "flasgger.oauth_redirect",
        "flasgger.apispec_1",
        "flasgger.openapi",  # the same document as apispec_1: open at both URLs (issue 30)
        "v1.tokens",
    }
)
BROWSER_ENDPOINTS = frozenset({"pages.dashboard_page_view"})


@functools.cache
def unknown_user_hash() -> str:
    """A real hash to check against when the user does not exist, so both paths cost the same."""
    return generate_password_hash(secrets.token_hex(16))


def hash_token(token: str) -> str:
    """Tokens are 256-bit random strings: SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes for timezone-aware columns; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class VerdictCache:
    """Basic credentials verified in the last `ttl` seconds, so a reader does not pay scrypt per request.

    Keyed by HMAC-SHA256(SECRET_KEY, name, password): the process never keeps a password or a
    plain hash of one. A hit is only trusted if the user still exists with the same stored
    password hash, so a password change or a deleted user takes effect at once.
    """

    def __init__(self, secret: str, ttl: int, size: int = 10_000) -> None:
        self.secret, self.ttl, self.size = secret.encode(), ttl, size
        self.entries: dict[bytes, tuple[int, str, float]] = {}
        self.mutex = threading.Lock()

    def key(self, name: str, password: str) -> bytes:
        return hmac.new(self.secret, f"{name}\0{password}".encode(), hashlib.sha256).digest()

    def get(self, key: bytes) -> tuple[int, str] | None:
        with self.mutex:
            entry = self.entries.get(key)
        if entry is None or entry[2] <= time.monotonic():
            return None
        return entry[0], entry[1]

    def put(self, key: bytes, user: User) -> None:
        if self.ttl <= 0:
            return
        with self.mutex:
            if len(self.entries) >= self.size:
                self.entries.clear()  # bounded; the next requests verify again
            self.entries[key] = (user.id, user.password_hash, time.monotonic() + self.ttl)


def client_address() -> str:
    """The caller's address (ProxyFix has applied TRUSTED_PROXIES by now)."""
    return request.remote_addr or "unknown"


def presented_account() -> str | None:
    """The user name a Basic header names (None for Bearer or nothing): the throttle's account."""
    credentials = request.authorization
    if credentials is None or credentials.type != "basic":
        return None
    return (credentials.username or "")[:64]


def check_throttle(account: str | None) -> None:
    """429 before any hashing when this account/client is in back-off after failed logins."""
    throttle: LoginThrottle | None = current_app.extensions["login_throttle"]
    locked = throttle.locked(account, client_address()) if throttle else None
    if locked is not None:
        raise LoginLocked(locked.rule.text, locked.rule.free, locked.retry_after)


class LoginLocked(TooManyRequests):
    """429 for a failed-login back-off, with the same headers as the other limits."""

    def __init__(self, limit_text: str, limit: int, retry_after: int) -> None:
        super().__init__(description=limit_text, retry_after=retry_after)
        # Set last (api.access.rate_limits), over the numbers of the general limit Flask-Limiter stamps.
        g.rate_limit_headers = {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + retry_after),
        }


@basic_auth.verify_password
def verify_password(name: str, password: str) -> User | None:
    if not name or not password or len(name) > 64 or len(password) > 1024:
        return None
    check_throttle(name)
    verdicts: VerdictCache = current_app.extensions["auth_verdicts"]
    key = verdicts.key(name, password)
    remembered = verdicts.get(key)
    user = db.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is not None and remembered is not None and remembered == (user.id, user.password_hash):
        g.auth_scheme, g.auth_user = "basic", user
        return user
    if user is None:
        check_password_hash(unknown_user_hash(), password)
        return None
    if user.check_password(password):
        verdicts.put(key, user)
        if throttle := current_app.extensions["login_throttle"]:
            throttle.succeeded(name, client_address())
        g.auth_scheme, g.auth_user = "basic", user
        return user
    return None


@token_auth.verify_token
def verify_token(token: str) -> User | None:
    if not token or len(token) > 256:
        return None
    check_throttle(None)
    digest = hash_token(token)
    stored = db.session.execute(select(Token).where(Token.token_hash == digest)).scalar_one_or_none()
    if stored is None or not hmac.compare_digest(stored.token_hash, digest):
        return None
    if stored.revoked_at is not None or as_utc(stored.expires_at) <= datetime.now(UTC):
        return None
    g.current_token = stored
    g.auth_scheme, g.auth_user = "bearer", stored.user
    return stored.user


@basic_auth.get_user_roles
@token_auth.get_user_roles
def user_roles(user: User) -> list[str]:
    return [user.role]


@basic_auth.error_handler
@token_auth.error_handler
def auth_error(status: int) -> NoReturn:
    """Raise 401 (missing or wrong credentials, with its challenge) or 403 (role); both logged, failures throttled."""
    if status == 403:
        user = g.get("auth_user")
        log.warning(
            "Forbidden", extra={"user": user.name if user else None, "endpoint": request.endpoint, "reason": "role"}
        )
        # The Bearer challenge a 403 has always carried (Flask-HTTPAuth's wrapper used to add it).
        raise ApiError(403, forbidden_detail(user), headers={"WWW-Authenticate": BEARER_CHALLENGE})
    if request.headers.get("Authorization", "").strip():
        if throttle := current_app.extensions["login_throttle"]:
            throttle.failed(presented_account(), client_address())
        log.warning("Failed login", extra={"endpoint": request.endpoint, "scheme": auth_scheme_presented()})
    challenge = BROWSER_CHALLENGE if request.endpoint in BROWSER_ENDPOINTS else CHALLENGES
    detail = "Authentication required: valid Basic credentials or a Bearer token"
    raise ApiError(401, detail, headers={"WWW-Authenticate": challenge})


def forbidden_detail(user: User | None) -> str:
    """The 403's detail: which roles the route needs and which one the caller has."""
    needed = g.get("required_roles")
    if isinstance(needed, str):
        needed = [needed]
    if not needed:
        return "Your role may not do this"
    return f"Your role may not do this: it needs {' or '.join(needed)} (yours is {user.role if user else 'none'})"


def authorize_request() -> Response | None:
    """The one access decision for reads: with READ_AUTH=on every data route needs a user.

    `/metrics` needs one too when METRICS_AUTH=on (whatever READ_AUTH says).
    """
    if request.method not in READ_METHODS or request.endpoint is None:
        return None  # writes carry their role on the resource; OPTIONS (CORS preflight) is open;
        # no endpoint: no route matched, the 404/405 handlers answer
    config = current_app.config
    if request.endpoint == "prometheus_metrics":
        needed = config["METRICS_AUTH"]
    else:
        needed = config["READ_AUTH"] and request.endpoint not in OPEN_ENDPOINTS
    return auth.login_required(role=READERS)(lambda: None)() if needed else None


def register_auth(app: Flask) -> None:
    """Bind the authorization decision, the failed-login throttle and the verdict cache to `app`."""
    app.extensions["auth_verdicts"] = VerdictCache(app.config["SECRET_KEY"], app.config["AUTH_CACHE_TTL"])
    app.extensions["login_throttle"] = None  # RATELIMIT_ENABLED=off turns it off too: a limit on guesses
    if app.config["READ_AUTH"] or app.config["METRICS_AUTH"]:
        app.before_request(authorize_request)  # both off: no read needs a user, no hook on any request
    if not app.config["RATELIMIT_ENABLED"]:
        return
    app.extensions["login_throttle"] = LoginThrottle(
        app.config["SECRET_KEY"],
        pair=app.config["RATELIMIT_AUTH_FAILURES"],
        client=app.config["RATELIMIT_AUTH_FAILURES_PER_CLIENT"],
        account=app.config["RATELIMIT_AUTH_FAILURES_PER_ACCOUNT"],
        base=app.config["AUTH_BACKOFF_SECONDS"],
        cap=app.config["AUTH_BACKOFF_MAX_SECONDS"],
        prefix=app.config["CACHE_KEY_PREFIX"],
        redis_url=app.config["REDIS_URL"],
        timeout=app.config["CACHE_REDIS_TIMEOUT_MS"] / 1000,
        state_file=app.config["SHARED_STATE_FILE"],
    )


def issue_token(user: User, renewed: Token | None = None) -> tuple[str, Token]:
    """A new random token for `user`; only its hash is stored.

    After a password login the token may be renewed (with itself, `POST /api/v1/tokens` with
    Bearer) until TOKEN_RENEWAL_MAX seconds after that login; a renewal inherits that bound.
    """
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=current_app.config["TOKEN_TTL"])
    if renewed is None:
        renewable_until = now + timedelta(seconds=current_app.config["TOKEN_RENEWAL_MAX"])
    else:
        renewable_until = as_utc(renewed.renewable_until)
    expires_at = min(now + ttl, renewable_until)  # no token outlives its chain's bound
    stored = Token(user=user, token_hash=hash_token(token), expires_at=expires_at, renewable_until=renewable_until)
    db.session.add(stored)
    db.session.commit()
    return token, stored


def renewable(stored: Token) -> bool:
    """Whether this (valid) token may mint its successor: a token from before 0006 may not."""
    return stored.renewable_until is not None and as_utc(stored.renewable_until) > datetime.now(UTC)


def remember_address(user: User) -> None:
    """Mark the caller's address as one this user logs in from (the account lock spares it)."""
    if throttle := current_app.extensions["login_throttle"]:
        throttle.succeeded(user.name, client_address())


def revoke_user_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user` (a password change, a lost laptop); the number revoked."""
    now = datetime.now(UTC)
    result = session.execute(
        update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount


def revoke_token(stored: Token) -> None:
    stored.revoked_at = datetime.now(UTC)
    db.session.commit()


def purge_tokens(session: Session, now: datetime | None = None) -> int:
    """Delete tokens that expired or were revoked; the number deleted."""
    now = now or datetime.now(UTC)
    result = session.execute(delete(Token).where(or_(Token.expires_at <= now, Token.revoked_at.is_not(None))))
    session.commit()
    return result.rowcount
