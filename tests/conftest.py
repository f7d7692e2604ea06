"""Fixtures every folder uses: databases per backend, a seeded app per backend, CSV ground truth,
a redis-server of the test's own and a writable database with users.

Helpers that are not fixtures live in `tests/support/` (services, apps, fakes, servers); fixtures
that one folder alone uses live in that folder's `conftest.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.extensions import db
from config import BUNDLED_CSV
from tests.support.apps import make_app, migrate_and_seed
from tests.support.paths import ROOT
from tests.support.redis_server import redis_server_of_its_own
from tests.support.services import (
    BACKENDS,
    POSTGRES_FROM,
    POSTGRES_URL,
    REDIS_FROM,
    REDIS_URL,
    PostgresDatabases,
    new_database_url,
    require_postgres,
)
from tests.support.settings import NO_AGGREGATOR
from tests.support.truth import CsvTruth, load_truth
from tests.support.writable import writable_app

# No test may reach a real exchange: every app, gunicorn and `flask` process a test starts inherits
# this (the start-up and daily update are off); tests of the update turn it on against a fake.
os.environ["AUTO_UPDATE"] = "off"
os.environ["COINGECKO_API_URL"] = NO_AGGREGATOR


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(require_postgres())
    yield databases
    databases.drop_all()


@pytest.fixture
def empty_database_url(request, tmp_path) -> str:
    """A fresh, empty database of the backend the test is parametrized with."""
    return new_database_url(request, request.param, tmp_path)


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
    return ROOT


@pytest.fixture
def own_redis(tmp_path) -> Iterator[dict]:
    """A redis-server of this test's own on a free loopback port, which the test stops and starts."""
    with redis_server_of_its_own(tmp_path) as server:
        yield server


@pytest.fixture(params=BACKENDS)
def writable(request, tmp_path):
    """A fresh database with two small coins (AAA: 2 days, BBB: 1 day) and three users."""
    url = new_database_url(request, request.param, tmp_path)
    yield from writable_app(url, tmp_path)


def pytest_terminal_summary(terminalreporter) -> None:
    """One line before pytest's own summary: which services ran, and how to include skipped tests."""
    skipped = terminalreporter.stats.get("skipped", [])
    services = [
        f"PostgreSQL {'(' + POSTGRES_FROM + ')' if POSTGRES_URL else 'absent: set TEST_DATABASE_URL'}",
        f"Redis {'(' + REDIS_FROM + ')' if REDIS_URL else 'absent: set TEST_REDIS_URL'}",
    ]
    hint = "" if not skipped else " (reasons below; Chromium tests need `apt-get install chromium chromium-driver`)"
    terminalreporter.write_line(f"services: {', '.join(services)}; {len(skipped)} tests skipped{hint}")
