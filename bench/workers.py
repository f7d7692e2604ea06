"""Worker models side by side: throughput, and `/health` while slow clients hold sockets open.

Usage: `python bench/workers.py [--seconds 5]`. Needs `wrk`. SQLite seeded from the bundled CSVs,
the in-process cache, rate limits off. For each model: wrk -t2 -c64 on `/health` and the cached
dashboard, then `/health` probed every 0.1 s for 12 s (3 s timeout) while 4, then 64, sockets
send `GET /health` and one header line every 2 s without ever finishing. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from harness import ROOT, free_port, seeded_database, wrk

MODELS = {
    "sync, 2 workers": ["--worker-class", "sync", "--workers", "2"],
    "gthread, 1 worker x 8 threads": ["--worker-class", "gthread", "--workers", "1", "--threads", "8"],
    "HeaderBufferingWorker, 1 x 8 (shipped without Redis)": [],
    "HeaderBufferingWorker, 2 x 8": ["--workers", "2"],
}


def slow_clients_probe(port: int, count: int, seconds: float = 12) -> str:
    """`/health` answers while `count` slow clients trickle header lines."""
    sockets = []
    for _ in range(count):
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: slow\r\n")
        sockets.append(slow)
    stop = threading.Event()

    def trickle() -> None:
        line = 0
        while not stop.wait(2):
            line += 1
            for slow in sockets:
                with contextlib.suppress(OSError):
                    slow.sendall(f"X-Slow-{line}: x\r\n".encode())

    threading.Thread(target=trickle, daemon=True).start()
    latencies, failed = [], 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3).read()
            latencies.append((time.perf_counter() - started) * 1000)
        except OSError:
            failed += 1
        time.sleep(0.1)
    stop.set()
    for slow in sockets:
        slow.close()
    if not latencies:
        return f"0 ok, {failed} timed out"
    latencies.sort()
    p50, worst = latencies[len(latencies) // 2], latencies[-1]
    return f"{len(latencies)} ok, {failed} timed out, p50 {p50:.1f} ms, max {worst:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory()
    url = seeded_database(f"sqlite:///{workdir.name}/workers.sqlite")
    env = {**os.environ, "DATABASE_URL": url, "SEED_ON_STARTUP": "off", "LOG_LEVEL": "WARNING"}
    env |= {"RATELIMIT_ENABLED": "off", "CACHE_TTL": "1800", "CACHE_VERSION_FILE": f"{workdir.name}/v"}
    env.pop("REDIS_URL", None)
    print("| worker model | `/health` | cached dashboard | `/health`, 4 slow clients | 64 slow clients |")
    print("|---|---|---|---|---|")
    for name, options in MODELS.items():
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *options]
        server = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(100):  # bounded wait for start-up
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            health = wrk(f"http://127.0.0.1:{port}/health", args.seconds, 64)
            dashboard = wrk(f"http://127.0.0.1:{port}/api/v1/dashboard?id=all", args.seconds, 64)
            few, many = slow_clients_probe(port, 4), slow_clients_probe(port, 64)
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"| {name} | {health.cell()} | {dashboard.cell()} | {few} | {many} |", flush=True)
    workdir.cleanup()


if __name__ == "__main__":
    main()
