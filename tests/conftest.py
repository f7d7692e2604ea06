"""Shared fixtures: databases per backend, a seeded app per backend, and CSV ground truth.

PostgreSQL and Redis tests use `TEST_DATABASE_URL` / `TEST_REDIS_URL`; when those are unset,
the servers at their default local addresses are used if they answer (each use gets a fresh
database, dropped afterwards, and a key prefix of its own). Without a server those tests skip,
or fail when `REQUIRE_SERVICES=1` (CI), so a missing service can never pass silently; the run
ends with one line saying what was skipped and how to include it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from api import create_app
from api.extensions import db
from config import BUNDLED_CSV, normalise_database_url
from tests.settings import TestConfig
from tests.truth import CsvTruth, load_truth
from utilities.seeding import seed_from_csv

# Fixtures of their own modules: Chromium and a live server; recorded exchange responses; a
# redis-server of the test's own; a writable database with users.
pytest_plugins = ["tests.browser", "tests.fake_binance", "tests.redis_server", "tests.writable"]

BACKENDS = ["sqlite", "postgresql"]
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/15"
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"
# No test may reach a real exchange: every app, gunicorn and `flask` process a test starts inherits
# this (the start-up and daily update are off); tests of the update turn it on against a fake.
os.environ["AUTO_UPDATE"] = "off"


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


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(require_postgres())
    yield databases
    databases.drop_all()


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    """A fresh, empty database of the backend the test is parametrized with."""
    return new_database_url(request, request.param, tmp_path)


def make_app(database_url: str, **overrides):
    """A test app on `database_url`."""
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, **overrides)


def migrate_and_seed(app, source: str = str(BUNDLED_CSV)) -> None:
    with app.app_context():
        upgrade()
        seed_from_csv(db.engine, source, progress=False)
        db.engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def seeded_database_url(request, tmp_path_factory) -> str:
    """A database per backend, migrated and seeded from the bundled CSVs once per session."""
    url = new_database_url(request, request.param, tmp_path_factory.mktemp("seeded"))
    migrate_and_seed(make_app(url))
    return url


@pytest.fixture(scope="session")
def app(seeded_database_url):
    """An app on the seeded database of each backend (read-only: tests must not write to it)."""
    application = make_app(seeded_database_url)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def truth() -> CsvTruth:
    """Every CSV row, read with the csv module alone (not through the app's code)."""
    return load_truth(BUNDLED_CSV)


@pytest.fixture
def sql_statements(app) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs during the test."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    yield statements
    sa.event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def pytest_terminal_summary(terminalreporter) -> None:
    """One line before pytest's own summary: which services ran, and how to include skipped tests."""
    skipped = terminalreporter.stats.get("skipped", [])
    services = [
        f"PostgreSQL {'(' + POSTGRES_FROM + ')' if POSTGRES_URL else 'absent: set TEST_DATABASE_URL'}",
        f"Redis {'(' + REDIS_FROM + ')' if REDIS_URL else 'absent: set TEST_REDIS_URL'}",
    ]
    hint = "" if not skipped else " (reasons below; Chromium tests need `apt-get install chromium chromium-driver`)"
    terminalreporter.write_line(f"services: {', '.join(services)}; {len(skipped)} tests skipped{hint}")
