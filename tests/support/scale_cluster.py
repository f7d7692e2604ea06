"""App instances (gunicorn masters) and nginx in front of them, for the scale-out tests and bench.

Each `Instance` is one gunicorn master with its workers on a port of its own, as one Elastic
Beanstalk instance would run it; `Balancer` is nginx from `deploy/local-scale/nginx.conf.template`.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.paths import ROOT
from tests.support.tcp_proxy import free_port

TEMPLATE = ROOT / "deploy" / "local-scale" / "nginx.conf.template"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def request(port: int, path: str, method: str = "GET", body: bytes | None = None, headers=None) -> Answer:
    """One request on a new connection; status 0 (and the error as body) when it failed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.read(), dict(response.getheaders()))
    except (OSError, http.client.HTTPException) as error:
        return Answer(0, repr(error).encode())
    finally:
        connection.close()


@dataclass
class Instance:
    """One gunicorn master on `port` with `env`; `stop()` is a graceful SIGTERM, as a deploy does."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    metrics: Path | None = None

    def start(self) -> None:
        self.metrics = metrics = Path(tempfile.mkdtemp(prefix=f"crypto-metrics-{self.name}-"))
        env = {k: v for k, v in os.environ.items() if k != "FLASK_RUN_FROM_CLI"} | self.env
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}"]
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [*command, "app:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def workers(self) -> set[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return {int(child) for child in children.split()}

    def wait_ready(self, workers: int) -> None:
        """Bounded wait until every worker is up and /ready answers 200 (the start-up step, which
        seeds an empty database in the background, has finished; not a timing check)."""
        for _ in range(2400):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
            if len(self.workers()) == workers and request(self.port, "/ready").status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        if self.metrics is not None:
            shutil.rmtree(self.metrics, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text().splitlines()[-lines:])


@dataclass
class Balancer:
    """nginx on `port` in front of `upstream_ports` (the binary from Debian's nginx package)."""

    port: int
    upstream_ports: list[int]
    prefix: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="crypto-nginx-")))
    process: subprocess.Popen | None = None

    def start(self) -> None:
        upstreams = "\n        ".join(f"server 127.0.0.1:{port} max_fails=0;" for port in self.upstream_ports)
        config = (
            TEMPLATE.read_text()
            .replace("@PREFIX@", str(self.prefix))
            .replace("@LISTEN@", str(self.port))
            .replace("@UPSTREAMS@", upstreams)
        )
        (self.prefix / "nginx.conf").write_text(config)
        command = [nginx_binary(), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf")]
        command += ["-e", str(self.prefix / "nginx-error.log"), "-g", "daemon off;"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        for _ in range(400):  # bounded wait for the listener
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'nginx-error.log').read_text()}")
            if request(self.port, "/health").status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            self.process.wait(timeout=30)
        shutil.rmtree(self.prefix, ignore_errors=True)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def new_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports
