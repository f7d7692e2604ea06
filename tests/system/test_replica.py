"""Read replica: reads on a real streaming replica, writes on the primary, and no stale answer.

A primary and a replica of the test's own (`tests/support/postgres_pair.py`), seeded once. Load runs in
this process (threads, one Flask test client each) so the tests can read the router's counts of
where each read went. Counts and answers are asserted, never timings. `pytest -m scale -s` prints
the numbers (lag, reads per server).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis

from api.extensions import db
from api.models import User
from config import engine_options
from tests.support.apps import make_app, migrate_and_seed
from tests.support.postgres_pair import PostgresPair
from tests.support.writable import basic

pytestmark = pytest.mark.scale

WRITER, PASSWORD = "replica-writer", "replica-writer-password"
PATHS = (
    "/api/v1/dashboard?id=all",
    "/api/v1/dashboard?id=btc,eth&order_by=price",
    "/api/v1/currencies/BTC",
    "/api/v1/search?name=btc",
    "/api/v1/currencies/BTC/history?start=2021-06-01&end=2021-06-30",
)


@pytest.fixture(scope="module")
def seeded_pair(postgres_pair: PostgresPair) -> PostgresPair:
    """The pair with the bundled data and a writer, replayed on the replica."""
    app = make_app(postgres_pair.primary_url)
    migrate_and_seed(app)
    with app.app_context():
        writer = User(name=WRITER, role="writer")
        writer.set_password(PASSWORD)
        db.session.add(writer)
        db.session.commit()
        db.engine.dispose()
    postgres_pair.wait_caught_up()
    return postgres_pair


@pytest.fixture
def replica_app(seeded_pair: PostgresPair) -> Iterator[Callable[..., object]]:
    """`replica_app(**settings)`: an app on the primary with DATABASE_REPLICA_URL set to the replica."""
    apps = []

    def build(**settings: object):
        url = seeded_pair.primary_url
        app = make_app(
            url,
            SQLALCHEMY_ENGINE_OPTIONS=engine_options(url),
            DATABASE_REPLICA_URL=seeded_pair.replica_url,
            DATABASE_REPLICA_COOLDOWN=1,
            LOG_LEVEL="WARNING",
            **settings,
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()
        app.extensions["read_router"].dispose()


def reads(app) -> dict[str, int]:
    return app.extensions["read_router"].state()["reads"]


def token(client) -> dict[str, str]:
    response = client.post("/api/v1/tokens", headers=basic(WRITER, PASSWORD))
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['token']}"}


@dataclass
class Read:
    path: str
    after_write: bool  # started after the write's response had arrived
    status: int
    body: bytes


@dataclass
class Readers:
    """`threads` clients read PATHS in turn; actions run at given counts of answers.

    The clients stop once `total` reads are in and, of those, at least `after_write` began after
    `write_answered` was set (counts, so a slow write on a loaded machine cannot shorten the run).
    """

    app: object
    total: int
    after_write: int = 0
    threads: int = 6
    done: list[Read] = field(default_factory=list)
    write_answered: threading.Event = field(default_factory=threading.Event)
    _issued: int = 0
    _done_after_write: int = 0
    _stop: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _finished(self) -> bool:
        return self._stop or (self._issued >= self.total and self._done_after_write >= self.after_write)

    def _client(self) -> None:
        client = self.app.test_client()
        while True:
            with self._changed:
                if self._finished():
                    return
                self._issued += 1
                path = PATHS[self._issued % len(PATHS)]
            after = self.write_answered.is_set()
            response = client.get(path)
            with self._changed:
                self.done.append(Read(path, after, response.status_code, response.get_data()))
                self._done_after_write += after
                self._changed.notify_all()

    def run(self, actions: list[tuple[int, Callable[[], None]]]) -> None:
        workers = [threading.Thread(target=self._client, daemon=True) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        try:
            for threshold, action in actions:
                with self._changed:
                    assert self._changed.wait_for(lambda t=threshold: len(self.done) >= t, timeout=300)
                action()
            with self._changed:  # bounded wait: every read issued has its answer
                finished = self._changed.wait_for(lambda: self._finished() and self._issued == len(self.done), 300)
        finally:
            with self._changed:
                self._stop = True
            for worker in workers:
                worker.join(timeout=300)
        assert finished and len(self.done) >= self.total


def references(app) -> dict[str, bytes]:
    client = app.test_client()
    answers = {path: client.get(path) for path in PATHS}
    assert {path: answer.status_code for path, answer in answers.items()} == dict.fromkeys(PATHS, 200)
    return {path: answer.get_data() for path, answer in answers.items()}


def replica_rows_returned(pair: PostgresPair) -> int:
    return int(
        pair.query(pair.replica_port, "SELECT tup_returned FROM pg_stat_database WHERE datname = current_database()")
    )


def test_reads_run_on_the_replica_and_writes_on_the_primary(replica_app, seeded_pair):
    app = replica_app(CACHE_TTL=0)
    client = app.test_client()
    before = replica_rows_returned(seeded_pair)
    response = client.get("/api/v1/dashboard?id=all")
    assert response.status_code == 200 and len(response.get_json()) == 23
    assert reads(app) == {"replica": 1}
    # The replica's own statistics show the work (flushed when its backends end).
    app.extensions["read_router"].dispose()
    for _ in range(100):  # bounded wait for the statistics to be flushed
        if replica_rows_returned(seeded_pair) > before:
            break
        time.sleep(0.05)
    assert replica_rows_returned(seeded_pair) > before
    # A write goes to the primary (the replica would refuse it: it is read-only).
    headers = token(client)
    renamed = client.put("/api/v1/currencies/ETH", json={"name": "Ethereum (replica test)"}, headers=headers)
    assert renamed.status_code == 200, renamed.get_json()
    restored = client.put("/api/v1/currencies/ETH", json={"name": "Ethereum"}, headers=headers)
    assert restored.status_code == 200
    assert seeded_pair.query(seeded_pair.primary_port, "SELECT name FROM currency WHERE symbol = 'ETH'") == "Ethereum"


def test_replica_stopped_under_load_fails_no_read(replica_app, seeded_pair):
    """Every read computes (cache off); the replica stops and starts again meanwhile."""
    app = replica_app(CACHE_TTL=0)
    expected = references(app)
    load = Readers(app, total=450)
    load.run([(150, seeded_pair.stop_replica), (300, seeded_pair.start_replica)])
    wrong = [(read.path, read.status) for read in load.done if read.status != 200 or read.body != expected[read.path]]
    assert wrong == []
    counts = reads(app)
    assert counts["replica"] > 0 and counts["primary (replica failed)"] >= 1, counts
    # Back on the replica once the cool-down (1 s) has passed: a bounded number of reads.
    client = app.test_client()
    for attempt in range(400):
        if reads(app)["replica"] > counts["replica"]:
            break
        assert client.get(PATHS[attempt % len(PATHS)]).status_code == 200
        time.sleep(0.01)
    assert reads(app)["replica"] > counts["replica"]
    print(f"\nREPLICA stop/start: {len(load.done)} reads, 0 failed; where they went: {reads(app)}")


def test_paused_replica_never_serves_or_caches_a_stale_answer(replica_app, seeded_pair, own_redis):
    """Replay paused, a rename lands; reads that start after its response never show the old name."""
    prefix = f"crypto-api-test-replica-{uuid.uuid4().hex[:8]}"
    app = replica_app(CACHE_TTL=1800, REDIS_URL=f"redis://127.0.0.1:{own_redis['port']}/0", CACHE_KEY_PREFIX=prefix)
    client = app.test_client()
    headers = token(client)
    seeded_pair.wait_caught_up()
    references(app)  # cached, on the replica
    assert reads(app)["replica"] >= len(PATHS)
    seeded_pair.pause_replay()
    new_name = f"Bitcoin {uuid.uuid4().hex[:6]}"
    load = Readers(app, total=600, after_write=300)
    lag: list[int] = []

    def write() -> None:
        response = client.put("/api/v1/currencies/BTC", json={"name": new_name}, headers=headers)
        assert response.status_code == 200, response.get_json()
        load.write_answered.set()
        lag.append(seeded_pair.lag_bytes())

    try:
        load.run([(200, write)])
        # The replica really was behind all along: it still has the old name.
        assert seeded_pair.query(seeded_pair.replica_port, "SELECT name FROM currency WHERE symbol='BTC'") == "Bitcoin"
    finally:
        seeded_pair.resume_replay()
    after = [read for read in load.done if read.after_write]
    mentions_btc = [read for read in after if "/history" not in read.path]
    stale = [read.path for read in mentions_btc if b'"Bitcoin"' in read.body or new_name.encode() not in read.body]
    failed = [read for read in load.done if read.status != 200]
    assert len(after) >= 300 and failed == [] and stale == []
    assert lag[0] > 0
    counts = reads(app)
    assert counts["primary (replica behind)"] >= 1, counts
    # No entry stored under the current data version holds the old name.
    store = redis.Redis(port=own_redis["port"])
    version = store.get(f"{prefix}:data-version").decode()
    entries = [store.get(key) for key in store.scan_iter(f"{prefix}:v1:{version}:*")]
    assert entries and not [entry for entry in entries if b'"Bitcoin"' in entry]
    # Caught up again: misses go back to the replica, and show the new name.
    caught_up_after = seeded_pair.wait_caught_up()
    before = counts["replica"]
    fresh = client.get("/api/v1/dashboard?id=btc&order_by=symbol")
    assert fresh.status_code == 200 and fresh.get_json()[0]["name"] == new_name
    assert reads(app)["replica"] == before + 1
    assert client.put("/api/v1/currencies/BTC", json={"name": "Bitcoin"}, headers=headers).status_code == 200
    print(
        f"\nREPLICA paused: {len(load.done)} reads, {len(after)} after the write's response, {len(stale)} stale, "
        f"lag at the write {lag[0]} WAL bytes, caught up {caught_up_after * 1000:.0f} ms after resume; "
        f"where they went: {reads(app)}"
    )
    store.close()
