"""Production refuses unsafe starts (debugger, no database server) and trusts exactly the proxies
Elastic Beanstalk puts in front (issue 13 item 5, issue 19 items 4-5)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from api import create_app
from config import FALLBACK_DATABASE_URL, ProductionConfig
from tests.support.paths import ROOT
from tests.support.settings import TestConfig

SECRET = "s" * 40


class Production(ProductionConfig):
    """Production settings on a throwaway database that nothing reads at start-up."""

    SQLALCHEMY_DATABASE_URI = TestConfig.SQLALCHEMY_DATABASE_URI
    SEED_ON_STARTUP = False
    REDIS_URL = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flask_run(*args: str, **env: str) -> tuple[int | None, str]:
    """(exit code, output) of `flask run ARGS` in production; None when it was still serving after 20 s."""
    environ = {
        key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "WERKZEUG_", "DATABASE_"))
    }
    environ.update(
        APP_ENV="production",
        SECRET_KEY=SECRET,
        FLASK_APP="app",
        SEED_ON_STARTUP="off",
        ALLOW_SQLITE_IN_PRODUCTION="on",
        PYTHONUNBUFFERED="1",
        **env,
    )
    command = [str(Path(sys.executable).parent / "flask"), "run", "--port", str(free_port()), *args]
    # A session of its own: the reloader's child holds the output pipe too, and must die with it.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=20)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--debug",), {}),
        (("--no-reload",), {"FLASK_DEBUG": "1"}),
        (("--debugger", "--no-reload"), {}),
        (("--no-reload",), {"FLASK_RUN_DEBUGGER": "true"}),
    ],
    ids=["--debug", "FLASK_DEBUG", "--debugger", "FLASK_RUN_DEBUGGER"],
)
def test_production_flask_run_refuses_the_debugger(args, env):
    code, output = flask_run(*args, **env)
    assert code not in (None, 0), output[-2000:]
    assert "refuses to run with the debugger on" in output
    assert "Debugger is active" not in output


def test_production_flask_run_without_the_debugger_serves():
    """The control: the same command without the debugger is still serving when stopped."""
    code, output = flask_run("--no-reload")
    assert code is None, output[-2000:]
    assert "refuses" not in output


def test_production_refuses_debug_from_configuration():
    with pytest.raises(RuntimeError, match="debugger"):
        create_app(Production, SECRET_KEY=SECRET, DEBUG=True)


def test_production_refuses_the_fallback_sqlite_file_unless_allowed():
    fallback = {"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": FALLBACK_DATABASE_URL}
    with pytest.raises(RuntimeError, match=r"DATABASE_URL.*ALLOW_SQLITE_IN_PRODUCTION"):
        create_app(Production, **fallback)
    assert create_app(Production, **fallback, ALLOW_SQLITE_IN_PRODUCTION=True).config["APP_ENV"] == "production"
    # A database given explicitly needs no opt-in, and building the app does not connect to it.
    unreachable = "postgresql+psycopg2://u:p@127.0.0.1:1/none"
    assert create_app(Production, SECRET_KEY=SECRET, SQLALCHEMY_DATABASE_URI=unreachable)


def test_production_without_any_database_setting_refuses_to_start(monkeypatch):
    """From the environment, as on a server: no DATABASE_URL and no RDS_* means the fallback."""
    from config import database_url

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("RDS_HOSTNAME", raising=False)
    assert database_url() == FALLBACK_DATABASE_URL
    assert database_url({"RDS_HOSTNAME": "db.internal", "RDS_DB_NAME": "ebdb"}).startswith("postgresql+psycopg2://")


def test_development_keeps_its_sqlite_default():
    assert create_app(TestConfig, SQLALCHEMY_DATABASE_URI="sqlite://").config["APP_ENV"] == "development"


def test_production_without_redis_warns_at_start_up(caplog):
    with caplog.at_level(logging.WARNING, logger="api.access.hardening"):
        create_app(Production, SECRET_KEY=SECRET)
    assert any("REDIS_URL is not set" in record.getMessage() for record in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="api.access.hardening"):
        create_app(Production, SECRET_KEY=SECRET, REDIS_URL="redis://127.0.0.1:1/0")
    assert not any("REDIS_URL" in record.getMessage() for record in caplog.records)


# Elastic Beanstalk: client -> ALB (appends the client's address) -> nginx (appends the ALB's,
# $proxy_add_x_forwarded_for) -> gunicorn, which sees nginx on 127.0.0.1.
NGINX = {"REMOTE_ADDR": "127.0.0.1"}
ALB = "172.31.5.9"


def eb_headers(client_address: str, forged: str | None = None) -> dict[str, str]:
    chain = ([forged] if forged else []) + [client_address, ALB]
    return {"X-Forwarded-For": ", ".join(chain), "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}


def eb_trusted_proxies() -> int:
    """TRUSTED_PROXIES as the shipped Elastic Beanstalk configuration sets it."""
    import yaml

    document = yaml.safe_load((ROOT / ".ebextensions" / "01_environment.config").read_text())
    return int(document["option_settings"]["aws:elasticbeanstalk:application:environment"]["TRUSTED_PROXIES"])


@pytest.fixture
def eb_app(app):
    """The seeded app's database, EB's configured proxy count and a small limit to observe the buckets."""
    return create_app(
        TestConfig,
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTED_PROXIES=eb_trusted_proxies(),
        RATELIMIT_ENABLED=True,
        RATELIMIT_DEFAULT="3 per minute",
    )


def test_limiter_sees_the_client_behind_alb_and_nginx(eb_app):
    client = eb_app.test_client()
    first, second = "203.0.113.7", "198.51.100.23"
    statuses = [
        client.get("/api/v1/search?name=btc", headers=eb_headers(first), environ_base=NGINX).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    # A forged left-most entry does not buy a fresh bucket: the client's address is what the ALB appended.
    forged = client.get("/api/v1/search?name=btc", headers=eb_headers(first, forged="10.9.9.9"), environ_base=NGINX)
    assert forged.status_code == 429
    # Another client behind the same ALB and nginx has its own bucket (TRUSTED_PROXIES=1 took the ALB's).
    other = client.get("/api/v1/search?name=btc", headers=eb_headers(second), environ_base=NGINX)
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"


def test_scheme_from_the_alb_host_from_the_request(eb_app):
    from flask import request

    seen = {}

    @eb_app.get("/__probe")
    def probe():
        seen.update(addr=request.remote_addr, scheme=request.scheme, host=request.host)
        return "ok"

    eb_app.test_client().get("/__probe", headers=eb_headers("203.0.113.7"), environ_base=NGINX)
    assert seen == {"addr": "203.0.113.7", "scheme": "https", "host": "localhost"}


def test_eb_config_trusts_two_proxies():
    assert eb_trusted_proxies() == 2
