"""A redis-server of the test's own on a free loopback port, which the test may stop and start."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.services import missing
from tests.support.tcp_proxy import free_port


@contextlib.contextmanager
def redis_server_of_its_own(tmp_path: Path) -> Iterator[dict]:
    """A redis-server on a free loopback port, which the test stops and starts (`own_redis`)."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not installed")
    port = free_port()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path)]
    server = {"port": port, "process": None}

    def start():
        server["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        probe = redis.Redis(port=port, socket_connect_timeout=1, retry=None)
        for _ in range(200):  # a bounded wait for start-up, not a timing check
            if server["process"].poll() is not None:
                raise RuntimeError("redis-server exited at start")
            try:
                probe.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop():
        server["process"].terminate()
        server["process"].wait(timeout=10)

    server["start"], server["stop"] = start, stop
    start()
    yield server
    if server["process"].poll() is None:
        stop()
