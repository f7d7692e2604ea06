"""Issue 30 item 5: an attacker cannot keep a user locked out.

The reproduction: the victim logs in once from home; the attacker sends 10 wrong guesses from one
address and one from each of 50 others (the defaults: 10 per pair, 50 per account), which locks
Basic logins to the account from every address the victim has not used. A token issued before the
attack renews itself from anywhere for as long as the attack lasts (up to TOKEN_RENEWAL_MAX after
the password login), and the address it renews from becomes one the account lock spares.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from api.extensions import db
from api.models import Token
from tests.support.apps import make_app
from tests.support.writable import basic, bearer

HOME = {"REMOTE_ADDR": "198.51.100.10"}
TRAVEL = [{"REMOTE_ADDR": f"198.51.100.{number}"} for number in range(100, 110)]
ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
OTHERS = [{"REMOTE_ADDR": f"203.0.113.{number}"} for number in range(100, 150)]


@pytest.fixture
def throttled(writable):
    """The writable database's app with the shipped throttle defaults on."""
    app = make_app(
        writable.config["SQLALCHEMY_DATABASE_URI"],
        CACHE_VERSION_FILE=writable.config["CACHE_VERSION_FILE"],
        RATELIMIT_ENABLED=True,
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def attack(client, rounds: int = 1) -> None:
    """The issue's attack: 10 wrong guesses from one address, then one from each of 50 others."""
    for _ in range(rounds):
        for _ in range(10):
            client.post("/api/v1/tokens", headers=basic("wes", "guess-1234"), environ_base=ATTACKER)
        for address in OTHERS:
            client.post("/api/v1/tokens", headers=basic("wes", "guess-5678"), environ_base=address)


def new_token(client, headers, address) -> str:
    answer = client.post("/api/v1/tokens", headers=headers, environ_base=address)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["token"]


def test_a_token_from_before_the_attack_keeps_the_victim_working(throttled):
    client = throttled.test_client()
    token = new_token(client, basic("wes"), HOME)
    attack(client)
    # The account lock holds for addresses the victim never used (the trade-off the lock exists for) ...
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=TRAVEL[0]).status_code == 429
    # ... but the token renews itself there, round after round of the attack.
    for round_number, address in enumerate(TRAVEL[:4]):
        attack(client)
        token = new_token(client, bearer(token), address)
        renamed = client.put(
            "/api/v1/currencies/aaa",
            json={"name": f"Alpha {round_number}"},
            headers=bearer(token),
            environ_base=address,
        )
        assert renamed.status_code == 200
    # Renewing from an address made it one of the victim's: Basic works there despite the attack.
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=TRAVEL[3]).status_code == 201
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=HOME).status_code == 201
    # The attacker's own addresses stay locked.
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=ATTACKER).status_code == 429


def set_token_times(app, **values) -> None:
    with app.app_context():
        db.session.execute(sa.update(Token).values(**values))
        db.session.commit()


def test_renewal_ends_at_the_bound_set_by_the_password_login(writable):
    client = writable.test_client()
    login = client.post("/api/v1/tokens", headers=basic("wes")).get_json()
    bound = datetime.now(UTC) + timedelta(minutes=10)  # nearer than TOKEN_TTL (1 h)
    set_token_times(writable, renewable_until=bound)
    renewed = client.post("/api/v1/tokens", headers=bearer(login["token"]))
    assert renewed.status_code == 201
    # The successor never outlives the bound, whatever TOKEN_TTL says.
    assert abs(datetime.fromisoformat(renewed.get_json()["expires_at"]) - bound) < timedelta(seconds=2)
    set_token_times(writable, renewable_until=datetime.now(UTC) - timedelta(seconds=1))
    refused = client.post("/api/v1/tokens", headers=bearer(renewed.get_json()["token"]))
    assert refused.status_code == 401
    assert refused.get_json() == {"detail": "This token may not be renewed: log in with Basic credentials"}
    assert "WWW-Authenticate" in refused.headers


def test_a_token_issued_before_the_migration_does_not_renew(writable):
    client = writable.test_client()
    token = client.post("/api/v1/tokens", headers=basic("wes")).get_json()["token"]
    set_token_times(writable, renewable_until=None)
    assert client.post("/api/v1/tokens", headers=bearer(token)).status_code == 401
    assert client.put("/api/v1/currencies/aaa", json={"name": "Still"}, headers=bearer(token)).status_code == 200


def test_expired_and_revoked_tokens_do_not_renew(writable):
    client = writable.test_client()
    token = client.post("/api/v1/tokens", headers=basic("wes")).get_json()["token"]
    set_token_times(writable, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert client.post("/api/v1/tokens", headers=bearer(token)).status_code == 401
    other = client.post("/api/v1/tokens", headers=basic("wes")).get_json()["token"]
    assert client.delete("/api/v1/tokens", headers=bearer(other)).status_code == 204
    assert client.post("/api/v1/tokens", headers=bearer(other)).status_code == 401
