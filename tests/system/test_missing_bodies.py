"""Missing, trickled and oversized bodies against gunicorn as shipped (gunicorn.conf.py): they
cost a file descriptor each, never a thread, so `/health` keeps answering (issue 30, item 1).

Timings are printed (run with `-s`), never asserted: the assertion is that every probe is
answered within the client's timeout while the slow clients hold their connections."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.tcp_proxy import free_port

CLIENTS = 64
PROBES = 40
PROBE_TIMEOUT_S = 3.0
MISSING_BODY = (
    b"POST /api/v1/currencies HTTP/1.1\r\nHost: attacker\r\nContent-Type: application/json\r\n"
    b"Content-Length: 100\r\n\r\n"
)


def exchange(port: int, raw: bytes, timeout: float = PROBE_TIMEOUT_S) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one request sent as raw bytes on a fresh connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def health_latencies(port: int) -> list[float]:
    """Seconds each of PROBES `/health` requests took; a probe past PROBE_TIMEOUT_S raises."""
    latencies = []
    for _ in range(PROBES):
        started = time.perf_counter()
        status, _, _ = exchange(port, b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        latencies.append(time.perf_counter() - started)
        assert status == 200
    return latencies


def report(label: str, latencies: list[float]) -> None:
    print(
        f"\n{label}: /health p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms over {len(latencies)} probes"
    )


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory) -> Iterator[int]:
    """gunicorn as the Procfile starts it (gunicorn.conf.py, 8 threads), on a migrated SQLite file."""
    from flask_migrate import upgrade

    from tests.support.apps import make_app

    url = f"sqlite:///{tmp_path_factory.mktemp('bodies') / 'bodies.sqlite'}"
    app = make_app(url)
    with app.app_context():
        upgrade()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SEED_ON_STARTUP": "off", "PORT": str(port)}
    for name in ("APP_ENV", "REDIS_URL", "GUNICORN_THREADS"):
        env.pop(name, None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                if exchange(port, b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def open_clients(port: int, raw: bytes) -> list[socket.socket]:
    clients = []
    for _ in range(CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(raw)
        clients.append(sock)
    return clients


def test_missing_bodies_hold_no_thread(gunicorn_port):
    """64 clients announce 100 bytes and send none (the issue's reproduction): /health answers."""
    clients = open_clients(gunicorn_port, MISSING_BODY)
    try:
        time.sleep(0.5)  # what the old worker needed to hand each of them to a thread
        latencies = health_latencies(gunicorn_port)
    finally:
        for sock in clients:
            sock.close()
    report(f"{CLIENTS} missing-body clients", latencies)


def test_trickled_bodies_hold_no_thread(gunicorn_port):
    """64 anonymous writes whose body trickles in a byte at a time: the 401 waits for the body,
    no thread does, and /health answers meanwhile."""
    clients = open_clients(gunicorn_port, MISSING_BODY)
    try:
        latencies = []
        for _ in range(4):
            for sock in clients:
                sock.sendall(b" ")
            latencies += health_latencies(gunicorn_port)[:10]
    finally:
        for sock in clients:
            sock.close()
    report(f"{CLIENTS} trickled-body clients", latencies)


def test_a_body_that_arrives_is_answered(gunicorn_port):
    """Buffering changes nothing for a client that sends its body: the app reads it (401 here,
    no credentials) and a kept-alive connection serves a pipelined second request."""
    body = json.dumps({"name": "Zeta", "symbol": "ZZZ"}).encode()
    request = MISSING_BODY.replace(b"100", str(len(body)).encode()) + body
    health = b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    status, headers, rest = exchange(gunicorn_port, request + health)
    assert status == 401 and headers["content-type"] == "application/json"
    assert b"}HTTP/1.1 200 OK\r\n" in rest  # the pipelined /health, right after the 401 body


def test_an_oversized_chunked_body_is_413(gunicorn_port):
    """A chunked body past MAX_CONTENT_LENGTH (2 MiB) is 413 JSON, not "body: is not valid JSON"."""
    chunk = b"a" * 65536
    framed = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(40)) + b"0\r\n\r\n"
    request = (
        b"POST /api/v1/currencies HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", gunicorn_port), timeout=PROBE_TIMEOUT_S) as sock:
        sock.sendall(request)
        with contextlib.suppress(OSError):  # the server may answer and close before it is all sent
            sock.sendall(framed)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.split()[1] == b"413"
    assert "larger than" in json.loads(body)["detail"]


def test_a_client_expecting_100_continue_gets_it_before_sending_its_body(gunicorn_port):
    """curl waits for `100 Continue` before a body over 1 KiB: the buffering worker answers it
    (else every such upload would wait for the client's own timeout)."""
    body = json.dumps({"name": "Zeta" * 300, "symbol": "ZZZ"}).encode()
    expect = b"Expect: 100-continue\r\nContent-Length: %d\r\n" % len(body)
    head = MISSING_BODY.replace(b"Content-Length: 100\r\n", expect)
    with socket.create_connection(("127.0.0.1", gunicorn_port), timeout=PROBE_TIMEOUT_S) as sock:
        sock.sendall(head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert b"HTTP/1.1 401 " in data  # the app read the body's headers and asked for credentials
