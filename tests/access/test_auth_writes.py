"""Users, tokens and the write endpoints: who may do what, and what each write leaves behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from api.extensions import db
from api.models import Token, User
from tests.support.apps import make_app
from tests.support.writable import (
    GOOD_CANDLES,
    PASSWORDS,
    ROLES,
    basic,
    bearer,
    database_state,
    records_of,
    scalar,
    token_for,
)

# Users and tokens ----------------------------------------------------------------------------


def test_passwords_and_tokens_are_stored_hashed(writable):
    client = writable.test_client()
    token = token_for(client, "wes")
    with writable.app_context():
        user = db.session.execute(sa.select(User).where(User.name == "wes")).scalar_one()
        assert PASSWORDS["wes"] not in user.password_hash and user.password_hash.startswith("scrypt:")
        stored = db.session.execute(sa.select(Token)).scalar_one()
        assert stored.token_hash != token and len(stored.token_hash) == 64 and token not in stored.token_hash


def test_token_lifecycle(writable):
    client = writable.test_client()
    issued = client.post("/api/v1/tokens", headers=basic("wes"))
    body = issued.get_json()
    assert issued.status_code == 201 and body["token_type"] == "Bearer"
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert issued.headers["Cache-Control"] == "no-store"
    token = body["token"]
    assert client.put("/api/v1/currencies/aaa", json={"name": "A2"}, headers=bearer(token)).status_code == 200
    assert client.delete("/api/v1/tokens", headers=bearer(token)).status_code == 204
    revoked = client.put("/api/v1/currencies/aaa", json={"name": "A3"}, headers=bearer(token))
    assert revoked.status_code == 401
    assert client.delete("/api/v1/tokens", headers=bearer(token)).status_code == 401
    assert client.post("/api/v1/tokens", headers=basic("wes", "wrong")).status_code == 401
    assert client.post("/api/v1/tokens", headers=bearer(token_for(client, "wes"))).status_code == 201  # renewal
    assert client.post("/api/v1/tokens").status_code == 401


def test_unauthenticated_answers_401_with_challenges(writable):
    response = writable.test_client().post("/api/v1/currencies", json={"name": "X", "symbol": "X"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="crypto-api", Bearer realm="crypto-api"'
    assert response.get_json() == {"detail": "Authentication required: valid Basic credentials or a Bearer token"}


def test_users_cli(writable):
    runner = writable.test_cli_runner()
    created = runner.invoke(args=["users", "create", "newbie", "--role", "writer"], input="long-password\n" * 2)
    assert created.exit_code == 0 and "Created writer newbie" in created.output
    assert "long-password" not in created.output
    listed = runner.invoke(args=["users", "list"])
    assert [line.split("\t")[:2] for line in listed.output.splitlines()] == [
        ["ann", "admin"],
        ["newbie", "writer"],
        ["rea", "reader"],
        ["wes", "writer"],
    ]
    assert writable.test_client().post("/api/v1/tokens", headers=basic("newbie", "long-password")).status_code == 201
    again = runner.invoke(args=["users", "create", "newbie", "--role", "reader"], input="long-password\n" * 2)
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=["users", "create", "x", "--role", "reader"], input="short\nshort\n")
    assert short.exit_code == 1
    bad_role = runner.invoke(args=["users", "create", "y", "--role", "root"], input="long-password\n" * 2)
    assert bad_role.exit_code == 2
    assert runner.invoke(args=["users", "delete", "newbie"]).exit_code == 0
    assert scalar(writable, "SELECT count(*) FROM token") == 0  # its token went with it
    assert runner.invoke(args=["users", "delete", "newbie"]).exit_code == 1


# Each write endpoint: who may ------------------------------------------------------------------

WRITES = [
    # (method, path, json body, roles that may, check of the database after success)
    ("post", "/api/v1/currencies", {"name": "Gamma", "symbol": "ggg"}, {"wes", "ann"}),
    ("put", "/api/v1/currencies/aaa", {"name": "Alpha Renamed"}, {"wes", "ann"}),
    ("delete", "/api/v1/currencies/aaa", None, {"ann"}),
    ("put", "/api/v1/currencies/aaa/records", GOOD_CANDLES, {"wes", "ann"}),
    ("delete", "/api/v1/currencies/aaa/records?start=2021-01-02", None, {"ann"}),
]


EXPECTED_AFTER = {
    ("post", "/api/v1/currencies"): (3, 3, "Alpha"),
    ("put", "/api/v1/currencies/aaa"): (2, 3, "Alpha Renamed"),
    ("delete", "/api/v1/currencies/aaa"): (1, 1, None),  # its records went with it
    ("put", "/api/v1/currencies/aaa/records"): (2, 5, "Alpha"),
    ("delete", "/api/v1/currencies/aaa/records?start=2021-01-02"): (2, 2, "Alpha"),
}


@pytest.mark.parametrize(("method", "path", "body", "allowed"), WRITES)
def test_write_endpoint_permissions(writable, method, path, body, allowed):
    client = writable.test_client()
    before = database_state(writable)
    assert before == (2, 3, "Alpha")

    def call(headers):
        return getattr(client, method)(path, json=body, headers=headers)

    expired_token = token_for(client, "ann")
    revoked_token = token_for(client, "ann")
    with writable.app_context():
        for stored in db.session.execute(sa.select(Token)).scalars():
            stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    client.delete("/api/v1/tokens", headers=bearer(token_for(client, "ann")))
    assert client.delete("/api/v1/tokens", headers=bearer(revoked_token)).status_code == 401  # expired first

    refused = [
        call({}),
        call(basic("ann", "wrong-password")),
        call(basic("nobody", "whatever-password")),
        call(bearer(expired_token)),
        call(bearer("not-a-token")),
    ]
    assert [r.status_code for r in refused] == [401] * 5
    assert all(r.headers["WWW-Authenticate"] for r in refused)
    needed = "admin" if allowed == {"ann"} else "writer or admin"
    for name in {"rea", "wes", "ann"} - allowed:
        forbidden = call(basic(name))
        detail = f"Your role may not do this: it needs {needed} (yours is {ROLES[name]})"
        assert forbidden.status_code == 403 and forbidden.get_json() == {"detail": detail}
    assert database_state(writable) == before  # nothing written by any refused call

    name = sorted(allowed)[0]
    response = call(bearer(token_for(client, name)))
    assert response.status_code in (200, 201, 204), response.get_json()
    assert database_state(writable) == EXPECTED_AFTER[(method, path)]


def test_create_answers_201_with_location_and_409_on_duplicates(writable):
    client = writable.test_client()
    created = client.post("/api/v1/currencies", json={"name": "Gamma", "symbol": " ggg "}, headers=basic("wes"))
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/v1/currencies/GGG"
    assert created.get_json()["symbol"] == "GGG" and created.get_json()["first_day"] is None
    assert client.get(created.headers["Location"]).get_json()["name"] == "Gamma"
    duplicate = client.post("/api/v1/currencies", json={"name": "Other", "symbol": "aaa"}, headers=basic("wes"))
    assert duplicate.status_code == 409 and duplicate.get_json() == {"detail": "Symbol AAA already exists"}
    assert scalar(writable, "SELECT name FROM currency WHERE symbol = 'AAA'") == "Alpha"


def test_writes_on_unknown_symbols_are_404(writable):
    client = writable.test_client()
    assert client.put("/api/v1/currencies/zzz", json={"name": "Z"}, headers=basic("wes")).status_code == 404
    assert client.delete("/api/v1/currencies/zzz", headers=basic("ann")).status_code == 404
    assert client.put("/api/v1/currencies/zzz/records", json=GOOD_CANDLES, headers=basic("wes")).status_code == 404
    assert client.delete("/api/v1/currencies/zzz/records", headers=basic("ann")).status_code == 404


# Batches -------------------------------------------------------------------------------------


def test_a_bad_batch_writes_nothing_and_names_the_rows(writable):
    client = writable.test_client()
    batch = [
        *GOOD_CANDLES,
        {"date": "2021-01-05", "open": 1, "high": 0.5, "low": 0.4, "close": 0.45},  # open above high
        {"date": "2021-02-30", "open": 1, "high": 1, "low": 1, "close": 1},
        {"date": "2021-01-06", "open": -1, "high": 1, "low": 0, "close": 1},
        {"date": "2021-01-07", "open": "1", "high": 1, "low": 0, "close": 1},
        {"date": "2021-01-08", "open": 1, "high": 1e400, "low": 0, "close": 1},
        {"date": "2021-01-03", "open": 1, "high": 1, "low": 1, "close": 1},  # the same day twice
        {"date": "2021-01-09", "open": 1, "high": 1, "low": 1, "close": 1, "extra": 1},
        "not an object",
    ]
    before = records_of(writable, "AAA")
    response = client.put("/api/v1/currencies/aaa/records", json=batch, headers=basic("wes"))
    assert response.status_code == 400
    body = response.get_json()
    assert body["detail"] == "8 of 10 candles are invalid; nothing was written"
    assert set(body["errors"]) == {f"[{i}]" for i in range(2, 10)}
    assert body["errors"]["[2]"] == "prices must satisfy low <= open, close <= high"
    assert "appears more than once" in body["errors"]["[7]"]
    assert records_of(writable, "AAA") == before


def test_upsert_is_idempotent_and_replaces_values(writable):
    client = writable.test_client()
    for _ in range(2):
        response = client.put("/api/v1/currencies/aaa/records", json=GOOD_CANDLES, headers=basic("wes"))
        expected = {"symbol": "AAA", "upserted": 2, "first_day": "2021-01-03", "last_day": "2021-01-04"}
        assert response.get_json() == expected
        assert records_of(writable, "AAA") == 4
    changed = [{**GOOD_CANDLES[0], "close": 3.75}, {"date": "2021-01-01", "open": 1, "high": 9, "low": 1, "close": 8}]
    client.put("/api/v1/currencies/aaa/records", json=changed, headers=basic("wes"))
    assert records_of(writable, "AAA") == 4
    history = client.get("/api/v1/currencies/aaa/history?start=2021-01-01").get_json()
    assert [(c["period_start"], c["close"]) for c in history] == [
        ("2021-01-01", 8.0),
        ("2021-01-02", 2.0),
        ("2021-01-03", 3.75),
        ("2021-01-04", 3.2),
    ]
    assert history[2]["volume"] == 10.0 and history[3]["volume"] is None and history[3]["market_cap"] is None


def test_delete_records_range_and_currency_cascade(writable):
    client = writable.test_client()
    client.put("/api/v1/currencies/aaa/records", json=GOOD_CANDLES, headers=basic("wes"))
    deleted = client.delete("/api/v1/currencies/aaa/records?start=2021-01-02&end=2021-01-03", headers=basic("ann"))
    assert deleted.get_json() == {"symbol": "AAA", "deleted": 2}
    remaining = client.get("/api/v1/currencies/aaa/history?start=2021-01-01").get_json()
    assert [c["period_start"] for c in remaining] == ["2021-01-01", "2021-01-04"]
    bad = client.delete("/api/v1/currencies/aaa/records?start=2021-01-05&end=2021-01-01", headers=basic("ann"))
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"start"}
    assert client.delete("/api/v1/currencies/aaa", headers=basic("ann")).status_code == 204
    assert records_of(writable, "AAA") == 0 and scalar(writable, "SELECT count(*) FROM record") == 1
    assert client.get("/api/v1/currencies/aaa").status_code == 404


def test_every_write_invalidates_cached_reads(writable):
    client = writable.test_client()
    assert client.get("/api/v1/currencies/aaa").get_json()["name"] == "Alpha"
    client.put("/api/v1/currencies/aaa", json={"name": "Alpha Two"}, headers=basic("wes"))
    assert client.get("/api/v1/currencies/aaa").get_json()["name"] == "Alpha Two"
    # One URL read before and after each write (an explicit day: the default day is the latest day
    # every active coin has, which BBB holds at 2021-01-01).
    day4 = "/api/v1/dashboard?id=aaa&date=2021-01-04"
    assert client.get(day4).status_code == 204
    client.put("/api/v1/currencies/aaa/records", json=GOOD_CANDLES, headers=basic("wes"))
    assert client.get(day4).get_json()[0]["price"] == 3.2
    client.delete("/api/v1/currencies/aaa/records?start=2021-01-04", headers=basic("ann"))
    assert client.get(day4).status_code == 204
    client.post("/api/v1/currencies", json={"name": "Gamma", "symbol": "GGG"}, headers=basic("wes"))
    assert client.get("/api/v1/currencies").headers["X-Total-Count"] == "3"
    client.delete("/api/v1/currencies/ggg", headers=basic("ann"))
    assert client.get("/api/v1/currencies").headers["X-Total-Count"] == "2"


def test_read_auth_on_protects_reads(writable):
    app = make_app(writable.config["SQLALCHEMY_DATABASE_URI"], READ_AUTH=True)
    client = app.test_client()
    refused = client.get("/api/v1/dashboard?id=all")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"]
    assert client.get("/api/v1/currencies").status_code == 401
    allowed = client.get("/api/v1/dashboard?id=all", headers=basic("rea"))
    assert allowed.status_code == 200 and allowed.headers["Cache-Control"] == "private, max-age=60"
    assert client.get("/api/v1/currencies", headers=bearer(token_for(client, "rea"))).status_code == 200
    assert client.get("/health").status_code == 200 and client.get("/ready").status_code == 200
    with app.app_context():
        db.engine.dispose()
