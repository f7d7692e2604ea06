"""A PostgreSQL primary and a streaming replica of the test's own, on free loopback ports.

Started with `deploy/local-scale/postgres-pair.sh` (initdb, pg_basebackup -R, as the `postgres`
system user when run as root), in a folder under /tmp that user can reach. The shared server on
5432 is never touched.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from tests.support.paths import ROOT
from tests.support.services import missing
from tests.support.tcp_proxy import free_port

SCRIPT = ROOT / "deploy" / "local-scale" / "postgres-pair.sh"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
DATABASE = "crypto"


@dataclass
class PostgresPair:
    """The two servers' URLs and the handles the tests stop, start and pause the replica with."""

    folder: Path
    primary_port: int
    replica_port: int

    def url(self, port: int, database: str = DATABASE) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{port}/{database}"

    @property
    def primary_url(self) -> str:
        return self.url(self.primary_port)

    @property
    def replica_url(self) -> str:
        return self.url(self.replica_port)

    def _run(self, *args: str) -> None:
        subprocess.run([str(SCRIPT), *args], check=True, timeout=120, env={"PG_FAST": "1", "PATH": "/usr/bin:/bin"})

    def stop_replica(self) -> None:
        self._run("replica-stop", str(self.folder))

    def start_replica(self) -> None:
        self._run("replica-start", str(self.folder))

    def query(self, port: int, sql: str, **params) -> object:
        engine = sa.create_engine(self.url(port), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                return conn.execute(sa.text(sql), params).scalar()
        finally:
            engine.dispose()

    def pause_replay(self) -> None:
        self.query(self.replica_port, "SELECT pg_wal_replay_pause()")
        for _ in range(200):  # bounded wait until the startup process has stopped replaying
            if self.query(self.replica_port, "SELECT pg_get_wal_replay_pause_state()") == "paused":
                return
            time.sleep(0.05)
        raise RuntimeError("replay did not pause")

    def resume_replay(self) -> None:
        self.query(self.replica_port, "SELECT pg_wal_replay_resume()")

    def lag_bytes(self) -> int:
        """WAL bytes the primary has flushed and the replica not yet replayed."""
        position = self.query(self.primary_port, "SELECT pg_current_wal_flush_lsn()::text")
        return int(self.query(self.replica_port, "SELECT pg_wal_lsn_diff(:p, pg_last_wal_replay_lsn())", p=position))

    def wait_caught_up(self) -> float:
        """Seconds until the replica has replayed what the primary flushed (bounded wait)."""
        started = time.monotonic()
        for _ in range(600):
            if self.lag_bytes() <= 0:
                return time.monotonic() - started
            time.sleep(0.02)
        raise RuntimeError("the replica did not catch up")


@contextlib.contextmanager
def primary_and_replica() -> Iterator[PostgresPair]:
    """A primary with an empty `crypto` database and its streaming replica (`postgres_pair`)."""
    if not (PG_BIN / "initdb").exists() or shutil.which("su") is None:
        missing(f"PostgreSQL's server binaries are not in {PG_BIN}")
    folder = Path(tempfile.mkdtemp(prefix="crypto-pg-pair-"))
    pair = PostgresPair(folder, free_port(), free_port())
    try:
        pair._run("start", str(folder), str(pair.primary_port), str(pair.replica_port))
        engine = sa.create_engine(pair.url(pair.primary_port, "postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
        engine.dispose()
        yield pair
    finally:
        subprocess.run([str(SCRIPT), "stop", str(folder)], timeout=120, check=False)
        shutil.rmtree(folder, ignore_errors=True)
