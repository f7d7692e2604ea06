"""Every `flask` command's known failures are one line on stderr with the cause and the fix (issue 26).

Runs the real `flask` entry point in a subprocess, as an operator would: the database down, the
schema missing, Redis down, an unknown exchange, a bad setting. Each answer is exactly one line
starting `Error:`, names the setting to fix, never shows a traceback, and exits with the code
api/commands/failures.py documents (69 retry later, 78 fix the configuration, 65 fix the input).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.commands.failures import EX_CONFIG, EX_DATAERR, EX_UNAVAILABLE
from tests.support.paths import ROOT
from tests.support.tcp_proxy import free_port

FLASK = str(Path(sys.executable).with_name("flask"))
# Settings the outer shell may carry: each test says exactly what it runs with.
CLEARED = ("DATABASE_URL", "REDIS_URL", "APP_ENV", "SECRET_KEY", "LOG_LEVEL", "CACHE_TTL", "RDS_HOSTNAME")


def flask(*args: str, cwd: Path = ROOT, **settings: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in CLEARED and not key.startswith("FLASK_")}
    env |= {"FLASK_APP": "app", "PYTHONPATH": str(ROOT)} | settings
    return subprocess.run([FLASK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def assert_one_line(result: subprocess.CompletedProcess, exit_code: int, *named: str) -> str:
    """Exactly one stderr line, `Error: ...`, naming each of `named`; no traceback anywhere."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for word in named:
        assert word in lines[0]
    assert result.returncode == exit_code, (result.returncode, lines[0])
    return lines[0]


DATABASE_COMMANDS = [
    ["users", "create", "bob", "--role", "reader", "--password", "long-enough-password"],
    ["users", "list"],
    ["tokens", "purge"],
    ["seed"],
    ["data", "report", "--no-progress"],
    ["ingest", "--update"],
    ["db", "upgrade"],
]


@pytest.fixture
def closed_postgres() -> str:
    """A PostgreSQL URL where nothing listens (with a password, which must never be printed)."""
    return f"postgresql://crypto:s3cret-password@127.0.0.1:{free_port()}/crypto"


@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_database_down_is_one_line(command, closed_postgres):
    line = assert_one_line(flask(*command, DATABASE_URL=closed_postgres), EX_UNAVAILABLE, "DATABASE_URL")
    assert "Connection refused" in line and "does not answer" in line
    assert "s3cret-password" not in line


@pytest.mark.parametrize("command", [["users", "list"], ["seed"], ["data", "report", "--no-progress"]])
def test_schema_missing_on_sqlite_says_flask_db_upgrade(command, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    assert_one_line(flask(*command, DATABASE_URL=url), EX_CONFIG, "`flask db upgrade`", "schema is missing")


def test_schema_missing_on_postgresql_says_flask_db_upgrade(postgres_databases):
    """PostgreSQL reports a missing table as a ProgrammingError (SQLSTATE 42P01), not as SQLite does."""
    url = postgres_databases.create()
    assert_one_line(flask("users", "list", DATABASE_URL=url), EX_CONFIG, "`flask db upgrade`", "user_account")


def test_redis_down_is_one_line_for_the_worker(tmp_path):
    redis_url = f"redis://:redis-password@127.0.0.1:{free_port()}/0"
    result = flask("worker", "--burst", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}", REDIS_URL=redis_url)
    line = assert_one_line(result, EX_UNAVAILABLE, "REDIS_URL", "Redis does not answer")
    assert "redis-password" not in line


def test_unknown_exchange_is_one_line(tmp_path):
    result = flask(
        "ingest", "--exchange", "binanse", "--symbols", "BTC/USDT", "--since", "2021-01-01",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )  # fmt: skip
    assert_one_line(result, EX_DATAERR, "'binanse'", "--exchange")


def test_production_without_secret_key_names_it(tmp_path):
    result = flask("db", "upgrade", APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert_one_line(result, EX_CONFIG, "SECRET_KEY")


def test_a_setting_that_is_not_a_number_names_it(tmp_path):
    result = flask("users", "list", CACHE_TTL="half an hour", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert_one_line(result, EX_CONFIG, "CACHE_TTL='half an hour'", ".env")


def test_log_level_debug_keeps_the_traceback(closed_postgres):
    result = flask("users", "list", DATABASE_URL=closed_postgres, LOG_LEVEL="DEBUG")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "OperationalError" in result.stderr


def test_the_debug_flag_keeps_the_traceback(closed_postgres):
    result = flask("--debug", "users", "list", DATABASE_URL=closed_postgres)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_unknown_failures_keep_their_traceback():
    """Only known causes are translated: anything else must stay loud (no catch-all)."""
    from api.commands.failures import explain

    assert explain(KeyError("bug")) is None
    assert explain(ValueError("unknown exchange 'x'")) is None  # only the exchange client's own class


def test_every_registered_command_is_guarded(app):
    """`db` comes from Flask-Migrate: the guard must reach commands this project did not write."""
    from api.commands.failures import Guarded

    assert {"db", "seed", "users", "ingest", "worker", "data", "tokens"} <= set(app.cli.commands)
    assert all(isinstance(command, Guarded) for command in app.cli.commands.values())


def test_data_report_names_an_unknown_symbol(app):
    """Before: `--symbols AAVE,XYZ` reported AAVE and said nothing about XYZ."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["data", "report", "--symbols", "aave,XYZ", "--no-progress"])
    assert result.exit_code == EX_DATAERR
    assert "unknown symbol(s): XYZ" in result.output and "AAVE" not in result.output.split("unknown")[1]
    assert runner.invoke(args=["data", "report", "--symbols", "aave", "--no-progress"]).exit_code == 0


def test_seed_prints_progress_lines_when_not_on_a_terminal(tmp_path):
    """Before: without a terminal click's bar printed its label once and nothing per file."""
    url = f"sqlite:///{tmp_path / 'seed.sqlite'}"
    assert flask("db", "upgrade", DATABASE_URL=url).returncode == 0
    result = flask("seed", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("Seeding from CSV: ")]
    assert len(lines) == 23  # one per bundled coin file
    assert lines[0].startswith("Seeding from CSV: 1/23 ") and lines[-1].startswith("Seeding from CSV: 23/23 ")
    assert "Inserted 37082 new records from 23 files" in result.stdout
