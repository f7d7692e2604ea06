"""Servers of the tests' own that the system tests stop, kill and replicate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres_pair import PostgresPair, primary_and_replica
from tests.support.postgres_server import OwnPostgres, postgres_of_its_own


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    """A running PostgreSQL of this test's own on a free loopback port."""
    with postgres_of_its_own() as server:
        yield server


@pytest.fixture(scope="module")
def postgres_pair() -> Iterator[PostgresPair]:
    """A primary with an empty `crypto` database and its streaming replica, for one test module."""
    with primary_and_replica() as pair:
        yield pair
