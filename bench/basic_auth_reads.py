"""Requests per second of Basic-authenticated reads (`READ_AUTH=on`), in one process, one thread.

Usage: `python bench/basic_auth_reads.py [--seconds N]`. Uses a temporary SQLite file seeded with
one small coin, the response cache on (so the number is the cost of authentication, not of SQL),
and compares a Basic read, a Bearer read and an anonymous read with READ_AUTH off. Prints numbers;
asserts nothing. Each run is bounded by `--seconds` per case.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from api import create_app
from api.extensions import db
from api.models import User
from tests.support.settings import TestConfig
from utilities.seeding import seed_from_csv

CSV = "SNo,Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap\n1,Alpha,AAA,2021-01-01 23:59:59,1,1,1,1,1,1\n"
PASSWORD = "reader-password-1"
PATH = "/api/v1/search?name=aaa"


def rate(client, headers: dict[str, str], seconds: float) -> tuple[float, int]:
    """(requests per second, status of the last answer) over `seconds` of back-to-back requests."""
    count, status, started = 0, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        status = client.get(PATH, headers=headers).status_code
        count += 1
    return count / elapsed, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--cache-ttl", type=int, default=60, help="AUTH_CACHE_TTL (0: scrypt every time)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "a.csv").write_text(CSV)
        url = f"sqlite:///{folder}/bench.sqlite"
        settings = {
            "SQLALCHEMY_DATABASE_URI": url,
            "CACHE_TTL": 300,
            "CACHE_VERSION_FILE": f"{folder}/v",
            "LOG_LEVEL": "WARNING",
        }
        app = create_app(TestConfig, READ_AUTH=True, AUTH_CACHE_TTL=args.cache_ttl, **settings)
        with app.app_context():
            upgrade()
            seed_from_csv(db.engine, folder, progress=False)
            user = User(name="rea", role="reader")
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.commit()
        client = app.test_client()
        basic = {"Authorization": "Basic " + base64.b64encode(f"rea:{PASSWORD}".encode()).decode()}
        token = client.post("/api/v1/tokens", headers=basic).get_json()["token"]
        cases = {
            "Basic (READ_AUTH=on)": (client, basic),
            "Bearer (READ_AUTH=on)": (client, {"Authorization": f"Bearer {token}"}),
            "anonymous (READ_AUTH=off)": (create_app(TestConfig, **settings).test_client(), {}),
        }
        print(
            f"GET {PATH}, cached response, AUTH_CACHE_TTL={args.cache_ttl}, {args.seconds:.0f} s per case, one thread"
        )
        for name, (case_client, headers) in cases.items():
            per_second, status = rate(case_client, headers, args.seconds)
            print(f"  {name:28} {per_second:8.1f} req/s  (last status {status})")


if __name__ == "__main__":
    main()
