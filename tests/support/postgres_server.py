"""A PostgreSQL 15 server of the test's own (initdb on a free port), which the test may stop,
start, freeze (SIGSTOP) and thaw. Runs as the `postgres` system user when the tests run as root."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from tests.support.services import missing
from tests.support.tcp_proxy import free_port

BINDIR = Path(os.environ.get("POSTGRES_BINDIR", "/usr/lib/postgresql/15/bin"))


class OwnPostgres:
    """initdb + pg_ctl in a temporary folder; `url(name)` for a database on it."""

    def __init__(self) -> None:
        self.as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="crypto-own-pg-"))
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        command = [str(BINDIR / program), *args]
        if self.as_root:
            command = ["su", "postgres", "-c", shlex.join(command)]
        subprocess.run(command, check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self) -> None:
        """An abrupt stop (as a crash or a failover looks to clients)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def _pids(self) -> list[int]:
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = sa.create_engine(
            f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres",
            isolation_level="AUTOCOMMIT",
            poolclass=sa.pool.NullPool,
        )
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(OSError, ValueError):
                self.thaw()
            subprocess.run(
                [
                    "su",
                    "postgres",
                    "-c",
                    shlex.join([str(BINDIR / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
                ]
                if self.as_root
                else [str(BINDIR / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_of_its_own() -> Iterator[OwnPostgres]:
    """A running PostgreSQL on a free loopback port, removed afterwards (`own_postgres`)."""
    if not (BINDIR / "initdb").exists() or (os.geteuid() == 0 and shutil.which("su") is None):
        missing(f"PostgreSQL's initdb is not in {BINDIR}")
    server = OwnPostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()
