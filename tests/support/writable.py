"""A writable database with users, for the write, permission and hostile-input tests."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from api.extensions import db
from api.models import User
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fixtures_csv import write_coin_csv

PASSWORDS = {"ann": "admin-password-1", "wes": "writer-password-1", "rea": "reader-password-1"}
ROLES = {"ann": "admin", "wes": "writer", "rea": "reader"}
GOOD_CANDLES = [
    {"date": "2021-01-03", "open": 3.0, "high": 4.0, "low": 2.5, "close": 3.5, "volume": 10, "market_cap": 100},
    {"date": "2021-01-04", "open": 3.5, "high": 3.9, "low": 3.1, "close": 3.2},
]


def basic(name: str, password: str | None = None) -> dict[str, str]:
    raw = f"{name}:{password or PASSWORDS[name]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def writable_app(url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on `url`, a fresh database given two small coins (AAA: 2 days, BBB: 1 day) and three users."""
    folder = tmp_path / "csv"
    folder.mkdir()
    write_coin_csv(folder / "a.csv", "Alpha", "AAA", [("2021-01-01", 1.0), ("2021-01-02", 2.0)])
    write_coin_csv(folder / "b.csv", "Beta", "BBB", [("2021-01-01", 5.0)])
    app = make_app(url, CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "cache-version"))
    migrate_and_seed(app, str(folder))
    with app.app_context():
        for name, role in ROLES.items():
            user = User(name=name, role=role)
            user.set_password(PASSWORDS[name])
            db.session.add(user)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


def scalar(app, sql: str, **params):
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def records_of(app, symbol: str) -> int:
    return scalar(
        app, "SELECT count(*) FROM record r JOIN currency c ON c.id = r.currency_id WHERE c.symbol = :s", s=symbol
    )


def token_for(client, name: str) -> str:
    response = client.post("/api/v1/tokens", headers=basic(name))
    assert response.status_code == 201
    return response.get_json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def database_state(app) -> tuple:
    """(currencies, records, AAA's name): what a refused write must leave alone."""
    return (
        scalar(app, "SELECT count(*) FROM currency"),
        scalar(app, "SELECT count(*) FROM record"),
        scalar(app, "SELECT name FROM currency WHERE symbol = 'AAA'"),
    )
