"""Issue 30 items 8 and 9: a password policy, safe user names unique regardless of case, and
`flask users set-password`, `set-role` and `revoke-tokens` (through Flask's CLI runner)."""

from __future__ import annotations

import gzip

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from api.extensions import db
from tests.support.apps import make_app
from tests.support.paths import ROOT
from tests.support.services import BACKENDS
from tests.support.writable import PASSWORDS, basic, bearer, scalar, token_for

INSERT_USER = "INSERT INTO user_account (name, password_hash, role, created_at) VALUES (:n, 'x', :r, :t)"
GOOD = "tulip-harbour-87"  # 16 characters: enough for an admin too


def create(runner, name: str, role: str, password: str):
    return runner.invoke(args=["users", "create", "--role", role, "--", name], input=f"{password}\n{password}\n")


@pytest.mark.parametrize(
    ("role", "password", "rule"),
    [
        ("admin", " " * 8, "at least 16 characters"),
        ("admin", " " * 20, "at least 5 different characters"),
        ("admin", "password", "at least 16 characters"),
        ("admin", "12345678", "at least 16 characters"),
        ("writer", "12345678", "at least 12 characters"),
        ("admin", "aaaaaaaaaaaaaaaaaaaa", "at least 5 different characters"),
        ("writer", "password1234", "list of common passwords"),
        ("writer", "PASSWORD1234", "list of common passwords"),  # compared lower-cased
        ("writer", "qwertyuiop123", "list of common passwords"),
        ("admin", "1q2w3e4r5t6y7u8i", "list of common passwords"),
        ("admin", "newadmin-password", "must not contain the user name"),
        ("writer", "NEWADMIN-12345", "must not contain the user name"),
        ("writer", "x" * 1025, "at most 1024 characters"),
    ],
)
def test_create_refuses_weak_passwords(writable, role, password, rule):
    result = create(writable.test_cli_runner(), "newadmin", role, password)
    assert result.exit_code == 1 and rule in result.output
    assert scalar(writable, "SELECT count(*) FROM user_account WHERE name = 'newadmin'") == 0


def test_the_bundled_list_is_the_documented_one():
    with gzip.open(ROOT / "data" / "common-passwords.txt.gz", "rt", encoding="utf-8") as lines:
        entries = [line.strip() for line in lines]
    assert len(entries) == 19_640 and entries[:4] == ["123456", "123456789", "qwerty", "password"]
    assert all(entry == entry.lower() for entry in entries)


def test_a_good_password_creates_a_user_who_can_log_in(writable):
    result = create(writable.test_cli_runner(), "newadmin", "admin", GOOD)
    assert result.exit_code == 0 and "Created admin newadmin" in result.output
    assert writable.test_client().post("/api/v1/tokens", headers=basic("newadmin", GOOD)).status_code == 201


@pytest.mark.parametrize(
    "name",
    ["ali:ce", "alice\nforged\tadmin", " alice", "alice ", "", "a" * 65, "-alice", "ali ce", "alïce", "alice\u200b"],
)
def test_create_refuses_unsafe_names(writable, name):
    runner = writable.test_cli_runner()
    result = create(runner, name, "reader", GOOD)
    assert result.exit_code != 0 and "NAME must be 1-64 characters" in result.output
    assert scalar(writable, "SELECT count(*) FROM user_account") == 3  # ann, wes, rea only


@pytest.mark.parametrize("name", ["a", "alice.smith", "ops_bot-2", "alice@example.org", "A" * 64])
def test_create_accepts_safe_names(writable, name):
    assert create(writable.test_cli_runner(), name, "reader", GOOD).exit_code == 0


def test_names_are_unique_regardless_of_case(writable):
    runner = writable.test_cli_runner()
    result = create(runner, "WES", "admin", GOOD)
    assert result.exit_code == 1 and "user WES already exists (as wes)" in result.output
    assert scalar(writable, "SELECT count(*) FROM user_account WHERE lower(name) = 'wes'") == 1


def test_the_database_refuses_a_name_differing_only_by_case(writable):
    """The index of migration 0006 holds even for a writer that skips the command's check."""
    with writable.app_context():
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text(INSERT_USER), {"n": "Ann", "r": "admin", "t": "2026-12-02 00:00:00"})
        db.engine.dispose()


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_migration_0006_stops_on_names_differing_only_by_case(empty_database_url, monkeypatch):
    import flask_migrate

    errors: list[str] = []  # what `flask db upgrade` prints (alembic's logging config may hide it from caplog)
    monkeypatch.setattr(flask_migrate.log, "error", errors.append)
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade(revision="0005")
        with db.engine.begin() as conn:
            for name in ("alice", "Alice", "bob"):
                conn.execute(sa.text(INSERT_USER), {"n": name, "r": "reader", "t": "2026-12-02 00:00:00"})
        with pytest.raises(SystemExit):  # `flask db upgrade` logs the message and exits 1
            upgrade()
        assert len(errors) == 1 and "user names that differ only by case: alice (2 accounts)" in errors[0]
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM user_account WHERE name = 'Alice'"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0006"
        downgrade(revision="0005")
        upgrade()
        db.engine.dispose()


def test_list_escapes_a_legacy_name_with_a_newline(writable):
    with writable.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text(INSERT_USER), {"n": "eve\nmallory\tadmin", "r": "reader", "t": "2026-12-02 00:00:00"})
        db.engine.dispose()
    lines = writable.test_cli_runner().invoke(args=["users", "list"]).output.splitlines()
    assert len(lines) == 4 and [line.split("\t")[1] for line in lines] == ["admin", "reader", "reader", "writer"]
    assert lines[1].startswith("eve\\x0amallory\\x09admin\t")


# 9. set-password, set-role, revoke-tokens -------------------------------------------------------


def test_set_password_changes_it_checks_the_policy_and_ends_every_session(writable):
    runner, client = writable.test_cli_runner(), writable.test_client()
    tokens = [token_for(client, "wes"), token_for(client, "wes")]
    weak = runner.invoke(args=["users", "set-password", "wes"], input="password1234\npassword1234\n")
    assert weak.exit_code == 1 and "list of common passwords" in weak.output
    assert client.post("/api/v1/tokens", headers=basic("wes")).status_code == 201  # unchanged so far
    changed = runner.invoke(args=["users", "set-password", "wes"], input=f"{GOOD}\n{GOOD}\n")
    assert changed.exit_code == 0 and "Changed the password of wes; revoked 3 tokens" in changed.output
    assert GOOD not in changed.output
    assert client.post("/api/v1/tokens", headers=basic("wes")).status_code == 401  # the old password
    assert client.post("/api/v1/tokens", headers=basic("wes", GOOD)).status_code == 201
    for token in tokens:
        assert client.put("/api/v1/currencies/aaa", json={"name": "X"}, headers=bearer(token)).status_code == 401
    missing = runner.invoke(args=["users", "set-password", "nobody"], input=f"{GOOD}\n{GOOD}\n")
    assert missing.exit_code == 1 and "no user nobody" in missing.output


def test_set_password_applies_the_admin_length(writable):
    runner = writable.test_cli_runner()
    short = "maple-canyon-4"  # 14: enough for a writer, not for an admin
    assert runner.invoke(args=["users", "set-password", "ann"], input=f"{short}\n{short}\n").exit_code == 1
    assert runner.invoke(args=["users", "set-password", "wes"], input=f"{short}\n{short}\n").exit_code == 0


def test_set_role_takes_effect_at_the_next_request(writable):
    runner, client = writable.test_cli_runner(), writable.test_client()
    token = token_for(client, "rea")
    body = {"name": "Gamma", "symbol": "GGG"}
    assert client.post("/api/v1/currencies", json=body, headers=bearer(token)).status_code == 403
    promoted = runner.invoke(args=["users", "set-role", "rea", "--role", "writer"])
    assert promoted.exit_code == 0 and "rea: reader -> writer" in promoted.output
    assert client.post("/api/v1/currencies", json=body, headers=bearer(token)).status_code == 201
    assert runner.invoke(args=["users", "set-role", "rea", "--role", "root"]).exit_code == 2
    assert runner.invoke(args=["users", "set-role", "nobody", "--role", "reader"]).exit_code == 1


def test_set_role_keeps_one_admin_and_asks_a_new_admin_for_a_longer_password(writable):
    runner = writable.test_cli_runner()
    last = runner.invoke(args=["users", "set-role", "ann", "--role", "writer"])
    assert last.exit_code == 1 and "last admin" in last.output
    promoted = runner.invoke(args=["users", "set-role", "wes", "--role", "admin"])
    assert promoted.exit_code == 0 and "flask users set-password wes" in promoted.output
    assert runner.invoke(args=["users", "set-role", "ann", "--role", "writer"]).exit_code == 0
    assert scalar(writable, "SELECT role FROM user_account WHERE name = 'ann'") == "writer"


def test_revoke_tokens_revokes_every_live_token_of_that_user_only(writable):
    runner, client = writable.test_cli_runner(), writable.test_client()
    mine = [token_for(client, "wes") for _ in range(3)]
    theirs = token_for(client, "ann")
    result = runner.invoke(args=["users", "revoke-tokens", "wes"])
    assert result.exit_code == 0 and "Revoked 3 tokens of wes" in result.output
    for token in mine:
        assert client.put("/api/v1/currencies/aaa", json={"name": "X"}, headers=bearer(token)).status_code == 401
    assert client.put("/api/v1/currencies/aaa", json={"name": "Y"}, headers=bearer(theirs)).status_code == 200
    assert "Revoked 0 tokens of wes" in runner.invoke(args=["users", "revoke-tokens", "wes"]).output
    assert client.post("/api/v1/tokens", headers=basic("wes", PASSWORDS["wes"])).status_code == 201  # Basic still works
