"""Side by side with the reference implementation (krispyto-server), in one run, on the same data.

Usage: `python bench/versus_reference.py --reference /tmp/krispyto [--seconds 8] [--rounds 3]`.
`--reference` is a checkout of the reference's public repository with its own virtualenv in
`venv/` (docs/performance.md: how to set it up); its code is never copied into this repository.
Everything runs on SQLite from the bundled CSVs: this project's schema seeded as usual, and the
reference's two tables (its models: `currency`, `record` with a `DateTime` day at 23:59:59, no
index but the keys) filled with the same rows. Each configuration serves under gunicorn on
127.0.0.1 and `wrk -t2 -c16` runs each URL; the rounds are interleaved (every configuration once
per round) and each cell is the median round. Rate limits off, access log at WARNING.

- reference: its app under gunicorn with 2 sync workers;
- this project with `WEB_CONCURRENCY=1` (how `make run` shipped before issue 29) and with the
  default (one process per core), each with the response cache off and on.

After each run the bench waits until the server answers a search within 0.5 s again (the
reference's sync workers go on serving requests whose clients wrk has closed). Prints numbers and
the ratio to the reference; asserts nothing (a wrong status is printed).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from harness import ROOT, WrkResult, free_port, machine, median_run, seeded_database, wrk

QUERY = "date=2021-07-05&order_by=crypto&order_type=desc"  # the reference requires all three
PATHS = {
    "dashboard?id=all": f"dashboard?id=all&{QUERY}",
    "dashboard?id=btc,eth": f"dashboard?id=btc,eth&{QUERY}",
    "search?name=bitcoin": "search?name=bitcoin",
}
# The reference reads its URI from a class attribute built at import from DB_* variables; this shim
# (written into the reference's folder, outside this repository) points it at the SQLite file.
SHIM = """import os
from config.settings import Config
Config.SQLALCHEMY_DATABASE_URI = os.environ["REFERENCE_DATABASE_URI"]
from app import create_app
app = create_app(Config)
"""


def reference_database(ours: str, path: Path) -> None:
    """The reference's schema (as its models create it) with this project's seeded rows."""
    source = sqlite3.connect(ours)
    target = sqlite3.connect(path)
    target.executescript(
        "CREATE TABLE currency (id INTEGER PRIMARY KEY, name VARCHAR(50), symbol VARCHAR(10));"
        "CREATE TABLE record (id INTEGER PRIMARY KEY, currency_id INTEGER REFERENCES currency (id),"
        " date DATETIME, high FLOAT, low FLOAT, open FLOAT, close FLOAT, volume FLOAT, marketcap FLOAT);"
    )
    target.executemany("INSERT INTO currency VALUES (?, ?, ?)", source.execute("SELECT id, name, symbol FROM currency"))
    rows = source.execute(
        "SELECT currency_id, date || ' 23:59:59.000000', high, low, open, close, volume, marketcap"
        " FROM record ORDER BY currency_id, date"
    )
    target.executemany(
        "INSERT INTO record (currency_id, date, high, low, open, close, volume, marketcap)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    target.commit()
    target.close()
    source.close()


def wait_for(url: str, process: subprocess.Popen) -> None:
    for _ in range(300):  # bounded wait for start-up
        if process.poll() is not None:
            raise RuntimeError(f"server exited at start ({url})")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start ({url})")


def start_reference(folder: Path, database: Path) -> tuple[subprocess.Popen, str]:
    (folder / "bench_wsgi.py").write_text(SHIM)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["REFERENCE_DATABASE_URI"] = f"sqlite:///{database}"
    command = [str(folder / "venv/bin/gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "bench_wsgi:app"]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/"
    wait_for(base + "search?name=bitcoin", process)
    return process, base


def start_ours(database_url: str, workdir: Path, name: str, workers: str | None, cache_ttl: str):
    port = free_port()
    metrics = workdir / f"metrics-{name}"
    metrics.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WEB_CONCURRENCY", "FLASK_RUN_FROM_CLI")}
    env |= {
        "DATABASE_URL": database_url,
        "CACHE_TTL": cache_ttl,
        "CACHE_VERSION_FILE": str(workdir / f"version-{name}"),
        "SHARED_STATE_FILE": str(workdir / f"state-{name}.sqlite"),
        "RATELIMIT_ENABLED": "off",
        "SEED_ON_STARTUP": "off",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    if workers:
        env["WEB_CONCURRENCY"] = workers
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "app:app"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1/"
    wait_for(base.replace("/api/v1/", "/health"), process)
    return process, base


def status_of(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=30).status
    except urllib.error.HTTPError as error:
        return error.code


def drain(base: str) -> None:
    """Wait until a server has worked off the requests wrk left queued (a sync worker finishes each
    one after its client has gone): the next URL's run must not pay for this one's backlog."""
    for _ in range(120):  # bounded: about two minutes at most
        started = time.perf_counter()
        status_of(base + PATHS["search?name=bitcoin"])
        if time.perf_counter() - started < 0.5:
            return
    print(f"warning: {base} still busy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", type=Path, required=True, help="the reference's checkout, with venv/")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="versus-reference-"))
    ours = workdir / "ours.sqlite"
    url = seeded_database(f"sqlite:///{ours}")
    reference_database(str(ours), workdir / "reference.sqlite")
    cores = str(os.cpu_count())
    servers = {"reference (2 sync workers)": start_reference(args.reference.resolve(), workdir / "reference.sqlite")}
    for label, workers in (("1 process", "1"), (f"default ({cores} processes)", None)):
        for cache, ttl in (("cache off", "0"), ("cache on", "1800")):
            name = f"{label}, {cache}"
            servers[name] = start_ours(url, workdir, str(len(servers)), workers, ttl)
    try:
        for name, (_, base) in servers.items():
            statuses = {path: status_of(base + query) for path, query in PATHS.items()}
            print(f"{name}: statuses {statuses}", flush=True)
        results: dict[tuple[str, str], list[WrkResult]] = {}
        for _ in range(args.rounds):
            for path, query in PATHS.items():
                for name, (_, base) in servers.items():
                    results.setdefault((name, path), []).append(wrk(base + query, args.seconds, 16))
                    drain(base)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=30)
    print(f"\n{machine()}; wrk -t2 -c16, {args.seconds} s x {args.rounds} interleaved rounds, median; req/s")
    names = list(servers)
    print("| | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for path in PATHS:
        reference = median_run(results[(names[0], path)]).rate
        cells = [f"{median_run(results[(names[0], path)]).rate:,.0f}"]
        for name in names[1:]:
            rate = median_run(results[(name, path)]).rate
            cells.append(f"{rate:,.0f} ({rate / reference:.1f}x)" if reference else f"{rate:,.0f}")
        print(f"| `{path}` | " + " | ".join(cells) + " |")
    print("\nruns (req/s): ")
    for (name, path), runs in results.items():
        print(f"  {name:34} {path:22} " + " / ".join(f"{run.rate:,.0f}" for run in runs))


if __name__ == "__main__":
    main()
