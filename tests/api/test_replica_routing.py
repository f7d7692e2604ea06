"""DATABASE_REPLICA_URL without a real replica: settings, and every way a bad replica falls back.

The real streaming replica (lag, stop under load, stale reads) is in `test_replica.py`; these run
in the ordinary suite on the seeded PostgreSQL test database, read-only.
"""

from __future__ import annotations

import socket

import pytest

from api.extensions import db
from config import engine_options, replica_url
from tests.support.apps import make_app
from tests.support.tcp_proxy import free_port

PATHS = ("/api/v1/dashboard?id=all", "/api/v1/currencies/BTC", "/api/v1/search?name=eth")
postgres_only = pytest.mark.parametrize("seeded_database_url", ["postgresql"], indirect=True)


def test_replica_url_is_optional_and_pinned_to_psycopg2():
    assert replica_url({}) is None
    assert replica_url({"DATABASE_REPLICA_URL": "  "}) is None
    assert (
        replica_url({"DATABASE_REPLICA_URL": "postgres://u@replica:5432/d"}) == "postgresql+psycopg2://u@replica:5432/d"
    )


def test_without_a_replica_nothing_changes(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert app.extensions["read_router"].state() == {"configured": False, "reads": {}}


def test_a_replica_is_ignored_when_the_primary_is_not_postgresql(tmp_path, caplog):
    url = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x"
    app = make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", DATABASE_REPLICA_URL=url)
    assert app.extensions["read_router"].engine is None
    assert "DATABASE_REPLICA_URL is ignored" in caplog.text


def replica_app(primary: str, replica: str, **settings):
    return make_app(
        primary,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(primary),
        DATABASE_REPLICA_URL=replica,
        DATABASE_REPLICA_CONNECT_TIMEOUT=2,
        **settings,
    )


def answers(app) -> list[tuple[int, bytes]]:
    client = app.test_client()
    return [(response.status_code, response.get_data()) for response in map(client.get, PATHS)]


@pytest.fixture
def references(seeded_database_url) -> list[tuple[int, bytes]]:
    app = make_app(seeded_database_url)
    expected = answers(app)
    with app.app_context():
        db.engine.dispose()
    assert [status for status, _ in expected] == [200] * len(PATHS)
    return expected


@postgres_only
def test_a_replica_that_refuses_connections_costs_no_read(seeded_database_url, references, caplog):
    app = replica_app(
        seeded_database_url, f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/x", DATABASE_REPLICA_COOLDOWN=60
    )
    router = app.extensions["read_router"]
    now = [1000.0]
    router.clock = lambda: now[0]
    assert answers(app) + answers(app) == references * 2
    # One attempt, then the cool-down: the next reads do not try the replica at all.
    assert router.state()["reads"] == {"primary (replica failed)": 1, "primary (replica cooling down)": 5}
    assert caplog.text.count("Read replica failed") == 1
    now[0] += 61
    assert answers(app) == references
    assert router.state()["reads"]["primary (replica failed)"] == 2


@postgres_only
def test_a_replica_that_never_answers_is_given_up_after_the_connect_timeout(seeded_database_url, references):
    """A listener that never speaks (a hung host): libpq's connect_timeout bounds the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        app = replica_app(seeded_database_url, f"postgresql+psycopg2://postgres@127.0.0.1:{port}/x")
        assert answers(app) == references
    assert app.extensions["read_router"].state()["reads"]["primary (replica failed)"] == 1


@postgres_only
def test_a_server_that_is_not_in_recovery_is_never_read_as_a_replica(seeded_database_url, references):
    """A promoted replica (or a primary named by mistake) no longer follows the primary: not used."""
    app = replica_app(seeded_database_url, seeded_database_url)
    assert answers(app) == references
    assert app.extensions["read_router"].state()["reads"] == {"primary (replica behind)": len(PATHS)}
