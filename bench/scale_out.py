"""Scale-out: the dashboard through nginx with 1 and 2 app instances, and the replica's lag.

Usage: `python bench/scale_out.py [--seconds 10] [--connections 16] [--workers 2]`.
Needs `wrk`, `nginx`, `redis-server` and PostgreSQL 15's server binaries (Debian packages). Starts a
primary and a streaming replica of its own (`deploy/local-scale/postgres-pair.sh`, fsync off), a
redis-server of its own, then for 1 and 2 gunicorn instances (each `--workers` workers) behind
nginx: the cached `dashboard?id=all` (Redis), the uncached one on the primary (`CACHE_TTL=0`) and
the uncached one with `DATABASE_REPLICA_URL` (reads on the replica). Everything shares this machine's
cores (wrk, nginx, the instances, both PostgreSQL servers), so a second instance adds no CPU: the
numbers show the overhead of the topology, not the gain of a second host. Then the replica's lag:
single-row writes on the primary, each timed until the replica has replayed it.
Prints Markdown; exits 1 if any answer was not 2xx or any socket failed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from harness import ROOT, WrkResult, machine, seeded_database, wrk

from tests.support.scale_cluster import Balancer, Instance, new_ports

PAIR = ROOT / "deploy" / "local-scale" / "postgres-pair.sh"
DASHBOARD = "/api/v1/dashboard?id=all"
NO_PERSISTENCE = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


def run_topology(instances: int, env: dict[str, str], args: argparse.Namespace, folder: Path) -> WrkResult:
    ports = new_ports(instances + 1)
    apps = [
        Instance(f"bench-{i}", port, env | {"WEB_CONCURRENCY": str(args.workers)}, folder / f"app-{port}.log")
        for i, port in enumerate(ports[:-1])
    ]
    balancer = Balancer(ports[-1], ports[:-1])
    try:
        for app in apps:
            app.start()
        for app in apps:
            app.wait_ready(args.workers)
        balancer.start()
        url = f"http://127.0.0.1:{balancer.port}{DASHBOARD}"
        wrk(url, 2, args.connections)  # warm-up: pools, caches
        return wrk(url, args.seconds, args.connections)
    finally:
        balancer.stop()
        for app in apps:
            app.stop()


def replica_lag(primary: str, replica: str, writes: int) -> tuple[list[float], int]:
    """Milliseconds from each committed write to its replay on the replica; largest lag in WAL bytes."""
    primary_engine = sa.create_engine(primary, isolation_level="AUTOCOMMIT")
    replica_engine = sa.create_engine(replica, isolation_level="AUTOCOMMIT")
    delays, largest = [], 0
    with primary_engine.connect() as p, replica_engine.connect() as r:
        for n in range(writes):
            p.execute(sa.text("UPDATE currency SET name = :n WHERE symbol = 'DOGE'"), {"n": f"Dogecoin {n}"})
            written = time.perf_counter()
            position = p.execute(sa.text("SELECT pg_current_wal_flush_lsn()::text")).scalar()
            for _ in range(10_000):
                behind = r.execute(sa.text("SELECT pg_wal_lsn_diff(:p, pg_last_wal_replay_lsn())"), {"p": position})
                lag = int(behind.scalar())
                largest = max(largest, lag)
                if lag <= 0:
                    break
            delays.append((time.perf_counter() - written) * 1000)
        p.execute(sa.text("UPDATE currency SET name = 'Dogecoin' WHERE symbol = 'DOGE'"))
    primary_engine.dispose()
    replica_engine.dispose()
    return delays, largest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crypto-scale-bench-"))
    pg_folder = Path(tempfile.mkdtemp(prefix="crypto-pg-pair-"))
    primary_port, replica_port, redis_port = new_ports(3)
    redis_server = None
    try:
        env_pg = {"PG_FAST": "1", "PATH": "/usr/bin:/bin"}
        ports = [str(primary_port), str(replica_port)]
        subprocess.run([str(PAIR), "start", str(pg_folder), *ports], check=True, env=env_pg)
        admin = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{primary_port}/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("CREATE DATABASE crypto")
        admin.dispose()
        primary = seeded_database(f"postgresql://postgres@127.0.0.1:{primary_port}/crypto")
        replica = f"postgresql+psycopg2://postgres@127.0.0.1:{replica_port}/crypto"
        redis_server = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(redis_port), *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
        )
        base = {
            "DATABASE_URL": primary,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CACHE_KEY_PREFIX": f"crypto-scale-bench-{uuid.uuid4().hex[:6]}",
            "SEED_ON_STARTUP": "off",
            "RATELIMIT_ENABLED": "off",  # one generator on one address
            "LOG_LEVEL": "WARNING",
        }
        cases = [
            ("cached (Redis + near cache)", base | {"CACHE_TTL": "1800"}),
            ("uncached, primary only", base | {"CACHE_TTL": "0"}),
            ("uncached, reads on the replica", base | {"CACHE_TTL": "0", "DATABASE_REPLICA_URL": replica}),
        ]
        rows, failed = [], 0
        for label, env in cases:
            results = [run_topology(n, env, args, folder) for n in (1, 2)]
            failed += sum(result.non_2xx for result in results)
            rows.append(f"| `dashboard?id=all` {label} | {results[0].cell()} | {results[1].cell()} |")
        delays, largest = replica_lag(primary, replica, 50)
        print(f"\n### Scale-out through nginx ({machine()})\n")
        print(f"wrk {args.seconds} s, {args.connections} connections; gunicorn instances of {args.workers} workers.\n")
        print("| request | 1 instance | 2 instances |\n|---|---|---|")
        print("\n".join(rows))
        print(
            f"\nReplica lag over {len(delays)} single-row writes: median {statistics.median(delays):.2f} ms, "
            f"max {max(delays):.2f} ms from commit to replay; largest backlog seen {largest} WAL bytes."
        )
        sys.exit(1 if failed else 0)
    finally:
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)
        subprocess.run([str(PAIR), "stop", str(pg_folder)], check=False)
        shutil.rmtree(pg_folder, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
