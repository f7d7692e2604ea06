"""Who is calling: HTTP Basic for stored users, Bearer tokens, and roles (Flask-HTTPAuth).

Roles nest: an admin may do what a writer may, and a writer what a reader may.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import Response, current_app, g
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth, MultiAuth
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from api.extensions import db
from api.models import Token, User
from api.responses import json_response

basic_auth = HTTPBasicAuth(realm="crypto-api")
token_auth = HTTPTokenAuth(scheme="Bearer", realm="crypto-api")
auth = MultiAuth(basic_auth, token_auth)

CHALLENGES = 'Basic realm="crypto-api", Bearer realm="crypto-api"'
WRITERS = ["writer", "admin"]
ADMINS = ["admin"]
READERS = ["reader", "writer", "admin"]


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


@basic_auth.verify_password
def verify_password(name: str, password: str) -> User | None:
    if not name or not password or len(name) > 64 or len(password) > 1024:
        return None
    user = db.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        check_password_hash(unknown_user_hash(), password)
        return None
    if user.check_password(password):
        g.auth_scheme = "basic"
        return user
    return None


@token_auth.verify_token
def verify_token(token: str) -> User | None:
    if not token or len(token) > 256:
        return None
    digest = hash_token(token)
    stored = db.session.execute(select(Token).where(Token.token_hash == digest)).scalar_one_or_none()
    if stored is None or not hmac.compare_digest(stored.token_hash, digest):
        return None
    if stored.revoked_at is not None or as_utc(stored.expires_at) <= datetime.now(UTC):
        return None
    g.current_token = stored
    g.auth_scheme = "bearer"
    return stored.user


@basic_auth.get_user_roles
@token_auth.get_user_roles
def user_roles(user: User) -> list[str]:
    return [user.role]


@basic_auth.error_handler
@token_auth.error_handler
def auth_error(status: int) -> Response:
    """401: missing or wrong credentials (with WWW-Authenticate, added by Flask-HTTPAuth); 403: role."""
    if status == 403:
        return json_response({"detail": "Your role may not do this"}, 403)
    detail = {"detail": "Authentication required: valid Basic credentials or a Bearer token"}
    return json_response(detail, 401, headers={"WWW-Authenticate": CHALLENGES})


def issue_token(user: User) -> tuple[str, Token]:
    """A new random token for `user`; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=current_app.config["TOKEN_TTL"])
    stored = Token(user=user, token_hash=hash_token(token), expires_at=datetime.now(UTC) + ttl)
    db.session.add(stored)
    db.session.commit()
    return token, stored


def revoke_token(stored: Token) -> None:
    stored.revoked_at = datetime.now(UTC)
    db.session.commit()
