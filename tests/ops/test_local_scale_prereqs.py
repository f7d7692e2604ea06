"""deploy/local-scale/start.sh checks its prerequisites first and cleans up after any failure (issue 26).

Before: without nginx it printed "nginx on 28080", exited 127 silently, and left PostgreSQL, Redis
and two gunicorns running.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.services import missing
from tests.support.tcp_proxy import free_port

START = ROOT / "deploy" / "local-scale" / "start.sh"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start(folder: Path, **settings: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "REDIS_"))}
    return subprocess.run(
        ["bash", str(START), str(folder)], env=env | settings, capture_output=True, text=True, timeout=600
    )


def test_missing_nginx_is_named_and_nothing_starts(tmp_path):
    folder = tmp_path / "cluster"
    ports = {"PRIMARY_PORT": free_port(), "REDIS_PORT": free_port()}
    result = start(folder, NGINX=str(tmp_path / "no-nginx"), **{k: str(v) for k, v in ports.items()})
    assert result.returncode == 1
    assert "missing prerequisites, nothing started" in result.stderr
    assert f"nginx at {tmp_path / 'no-nginx'} (apt-get install nginx" in result.stderr
    assert not folder.exists()  # not even its folder
    assert not any(listening(port) for port in ports.values())


def test_every_missing_prerequisite_is_listed_at_once(tmp_path):
    result = start(tmp_path / "c", NGINX="/nonexistent/nginx", PG_BIN="/nonexistent/pg", PYTHON="/nonexistent/py")
    assert result.returncode == 1
    for name in ("virtualenv", "initdb", "pg_ctl", "pg_basebackup", "nginx"):
        assert name in result.stderr
    assert result.stdout == ""


def test_a_failing_step_stops_what_was_started():
    """nginx that fails to start (here /bin/false): PostgreSQL, Redis and the gunicorns are stopped."""
    if not (PG_BIN / "initdb").exists() or not shutil.which("redis-server"):
        missing("PostgreSQL 15's server binaries and redis-server (apt-get install postgresql-15 redis-server)")
    # Under /tmp with its parent open: as root the servers run as `postgres`, who cannot enter
    # pytest's private tmp_path.
    parent = Path(tempfile.mkdtemp(prefix="crypto-local-scale-test-"))
    parent.chmod(0o755)
    try:
        check_failing_step_cleans_up(parent / "cluster")
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def check_failing_step_cleans_up(folder: Path) -> None:
    ports = {name: free_port() for name in ("PRIMARY_PORT", "REPLICA_PORT", "REDIS_PORT", "LB_PORT")}
    app_ports = [free_port(), free_port()]
    settings = {name: str(port) for name, port in ports.items()} | {
        "APP_PORTS": " ".join(map(str, app_ports)),
        "NGINX": shutil.which("false") or "/bin/false",
        "PG_FAST": "1",
        "WEB_CONCURRENCY": "1",
    }
    result = start(folder, **settings)
    assert result.returncode != 0
    assert "local-scale: failed" in result.stderr and "NGINX" in result.stderr  # the failing command
    assert "stopping what this run started: postgres redis apps nginx" in result.stderr
    still = [port for port in [*ports.values(), *app_ports] if listening(port)]
    assert still == [], result.stderr[-3000:]
    for pidfile in folder.glob("*.pid"):
        pid = int(pidfile.read_text().split()[0])
        assert not Path(f"/proc/{pid}").exists(), f"{pidfile.name}: {pid} still runs"
