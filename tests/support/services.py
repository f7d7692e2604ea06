"""PostgreSQL and Redis for the tests: where they are, and skips that cannot pass silently.

`TEST_DATABASE_URL` / `TEST_REDIS_URL`; when unset, the servers at their default local
addresses are used if they answer. Without a server those tests skip, or fail when
`REQUIRE_SERVICES=1` (CI).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import normalise_database_url

BACKENDS = ["sqlite", "postgresql"]
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


def _postgres_answers(url: str) -> bool:
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=1).close()
    except psycopg2.OperationalError:
        return False
    return True


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


def _service_url(variable: str, local: str, answers) -> tuple[str, str]:
    """(url, how it was found): the variable's value, else the local default when it answers."""
    value = os.environ.get(variable, "").strip()
    if value:
        return value, variable
    if answers(local):
        return local, "found at its default address"
    return "", ""


POSTGRES_URL, POSTGRES_FROM = _service_url("TEST_DATABASE_URL", LOCAL_POSTGRES, _postgres_answers)
POSTGRES_URL = normalise_database_url(POSTGRES_URL)
REDIS_URL, REDIS_FROM = _service_url("TEST_REDIS_URL", LOCAL_REDIS, _redis_answers)


def missing(what: str) -> None:
    """Skip for a missing prerequisite, or fail under REQUIRE_SERVICES=1 (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {what}")
    pytest.skip(what)


def require_service(url: str, variable: str, example: str) -> str:
    """The service's URL, or skip (fail under REQUIRE_SERVICES) when it is not configured."""
    if url:
        return url
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {variable} is not set")
    pytest.skip(f"these tests need {variable} (e.g. {example})")


def require_postgres() -> str:
    return require_service(POSTGRES_URL, "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def require_redis() -> str:
    return require_service(REDIS_URL, "TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def new_database_url(request, backend: str, folder: Path) -> str:
    """A fresh, empty database: one more on the PostgreSQL test server, or a SQLite file in `folder`."""
    if backend == "postgresql":
        return request.getfixturevalue("postgres_databases").create()
    return f"sqlite:///{folder / 'test.sqlite'}"


class PostgresDatabases:
    """Create throwaway databases on the test server and drop them at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = sa.make_url(server_url)
        self.admin = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.created: list[str] = []

    def create(self) -> str:
        name = f"{self.server_url.database}_t{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()
