"""Rate limits hold over ANY window of the limit's length: no double burst at a window boundary.

A limit of 4 per minute, requests at t=0 (1) and t=50 (3), then 4 more at t=61. A fixed window
opened at t=0 is over at t=60 and would let all 4 through: 7 answers within 11 seconds. The
promise is that every minute-long span holds at most 4 successes, so at t=61 at most 1 (the
request of t=0 has left the last minute). Time is a fake wall clock moved by the test.
"""

from __future__ import annotations

import time

import pytest

from api.extensions import db
from tests.support.apps import make_app

PATH = "/api/v1/search?name=btc"


class WallClock:
    """`time.time` replaced by a clock the test moves (the limiter's storage reads the wall clock)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited_client(seeded_database_url, tmp_path, monkeypatch):
    clock = WallClock()
    monkeypatch.setattr(time, "time", clock)
    app = make_app(
        seeded_database_url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_DEFAULT="4 per minute",
        CACHE_VERSION_FILE=str(tmp_path / "v"),
    )
    client = app.test_client()
    client.clock = clock
    yield client
    with app.app_context():
        db.engine.dispose()


def statuses(client, count: int) -> list[int]:
    return [client.get(PATH).status_code for _ in range(count)]


def test_no_double_burst_at_a_window_boundary(limited_client):
    start = limited_client.clock.now
    assert statuses(limited_client, 1) == [200]
    limited_client.clock.now = start + 50
    assert statuses(limited_client, 3) == [200, 200, 200]
    assert statuses(limited_client, 1) == [429]

    limited_client.clock.now = start + 61
    at_61 = statuses(limited_client, 4)
    assert set(at_61) <= {200, 429}
    # With the 3 of t=50, at most 4 successes between t=2 and t=61.
    assert at_61.count(200) <= 1, at_61
    refused = limited_client.get(PATH)
    assert refused.status_code == 429 and refused.get_json()["detail"].startswith("Rate limit exceeded")

    limited_client.clock.now = start + 200  # everything has left the last minute
    assert statuses(limited_client, 4) == [200, 200, 200, 200]
    assert statuses(limited_client, 1) == [429]


def test_the_budget_frees_up_as_requests_leave_the_window(limited_client):
    """The other side: it is a window that moves, not a lock-out (4 per minute stays usable)."""
    start = limited_client.clock.now
    for offset in (0, 20, 40, 50):
        limited_client.clock.now = start + offset
        assert statuses(limited_client, 1) == [200]
    limited_client.clock.now = start + 59
    assert statuses(limited_client, 1) == [429]
    limited_client.clock.now = start + 61  # the request of t=0 has left the last minute
    assert statuses(limited_client, 2) == [200, 429]
    limited_client.clock.now = start + 81  # and the one of t=20
    assert statuses(limited_client, 2) == [200, 429]
