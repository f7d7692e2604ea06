"""Deployment files keep their invariants (no Docker engine or AWS account is needed to check)."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.support.dockerfile import dockerfile_instructions
from tests.support.paths import ROOT

EB_TOP_LEVEL_KEYS = {
    "option_settings",
    "packages",
    "sources",
    "files",
    "users",
    "groups",
    "commands",
    "container_commands",
    "services",
    "Resources",
    "Outputs",
}
# Namespaces and options this project sets, as the EB developer guide lists them ("General options
# for all environments", "Platform specific options"); an unknown one fails `eb create`.
EB_OPTIONS = {
    "aws:elasticbeanstalk:application": {"Application Healthcheck URL"},
    "aws:elasticbeanstalk:application:environment": None,  # any environment property
    "aws:elasticbeanstalk:environment": {"LoadBalancerType", "EnvironmentType", "ServiceRole"},
    "aws:elasticbeanstalk:environment:process:default": {
        "HealthCheckPath",
        "MatcherHTTPCode",
        "HealthCheckInterval",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "Port",
        "Protocol",
    },
    "aws:elasticbeanstalk:healthreporting:system": {"SystemType", "ConfigDocument", "HealthCheckSuccessThreshold"},
    "aws:elasticbeanstalk:cloudwatch:logs": {"StreamLogs", "DeleteOnTerminate", "RetentionInDays"},
    "aws:elasticbeanstalk:cloudwatch:logs:health": {"HealthStreamingEnabled", "DeleteOnTerminate", "RetentionInDays"},
    "aws:elbv2:listener:443": {
        "ListenerEnabled",
        "Protocol",
        "SSLCertificateArns",
        "SSLPolicy",
        "DefaultProcess",
        "Rules",
    },
}


def test_dockerfile_invariants():
    steps = dockerfile_instructions()
    froms = [args for op, args in steps if op == "FROM"]
    assert len(froms) == 2 and all(f.startswith("python:3.11-slim") for f in froms)  # multi-stage, slim 3.11
    copies = [args for op, args in steps if op == "COPY"]
    assert not any(".env" in args for args in copies)
    assert not any(args.split()[0] == "." for args in copies)  # no blanket copy of the work tree
    runs = " ".join(args for op, args in steps if op == "RUN")
    assert "-r requirements.txt" in runs
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    assert any(op == "USER" for op, _ in steps[last_from:])
    healthchecks = [args for op, args in steps if op == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/health" in healthchecks[0]
    assert not (ROOT / "Dockerfile").read_text().startswith("# syntax=")  # no frontend fetched from Docker Hub
    command = [args for op, args in steps if op == "CMD"][-1]
    assert command == '["sh", "serving/start.sh"]'
    start = (ROOT / "serving" / "start.sh").read_text()
    assert "flask db upgrade" in start and "exec gunicorn -c gunicorn.conf.py" in start and "app:app" in start
    # The runtime stage copies an installed virtualenv, never a folder of wheels it would have to delete.
    assert not any("wheel" in args for op, args in steps[last_from:] if op in ("COPY", "RUN"))


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".git", ".venv", "instance"):
        assert entry in ignored


def test_requirements_are_pinned():
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "-r ")):
                assert re.match(r"^[A-Za-z0-9_.\-\[\]]+==[\w.]+$", line), f"{name}: {line}"


def test_procfile_runs_gunicorn_with_its_config_and_the_job_worker():
    assert (ROOT / "Procfile").read_text().splitlines() == [
        "web: gunicorn -c gunicorn.conf.py app:app",
        "worker: flask worker",
    ]


def test_gunicorn_config(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp")
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings: dict = {"__file__": str(ROOT / "gunicorn.conf.py")}  # gunicorn loads it as a module
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), settings)
    assert settings["bind"] == "0.0.0.0:9123"
    # Without Redis as many processes as with it (limits, throttle and cache version shared through
    # files: tests/system/test_embedded_processes.py), threads for concurrency.
    assert settings["workers"] == 3 and settings["threads"] == 8
    assert settings["worker_class"] == "serving.gthread_worker.HeaderBufferingWorker"
    assert settings["accesslog"] is None and settings["graceful_timeout"] > 0
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with_redis: dict = {"__file__": str(ROOT / "gunicorn.conf.py")}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), with_redis)
    assert with_redis["workers"] == 3
    # The worker timeout exceeds every database bound (connect, statement + grace, pool): seconds.
    assert with_redis["timeout"] > 5 + 7 + 5


def test_env_example_lists_every_setting():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    reads = r'(?:_int|_float|_flag|_day|environ\.get|environ\[)\(?"([A-Z_]+)"'
    read = set(re.findall(reads, (ROOT / "config.py").read_text()))
    read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    assert read - documented == set()


# Elastic Beanstalk (docs/deploy-elastic-beanstalk.md): the files as cloned must let
# `eb init -p python-3.11` + `eb create --envvars SECRET_KEY=...` work without editing.
INGEST_SCRIPT = "/usr/local/bin/crypto-api-ingest-update"
SECRETS = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "RDS_PASSWORD"}


def eb_document(path: Path) -> dict:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), path
    assert set(document) <= EB_TOP_LEVEL_KEYS, (path, set(document) - EB_TOP_LEVEL_KEYS)
    return document


def option_settings(document: dict) -> list[tuple[str, str, object]]:
    """(namespace, option, value) from either form the guide allows: a mapping or a list."""
    settings = document.get("option_settings", {})
    if isinstance(settings, list):
        return [(item["namespace"], item["option_name"], item["value"]) for item in settings]
    return [(namespace, option, value) for namespace, options in settings.items() for option, value in options.items()]


def all_eb_settings() -> tuple[dict, dict]:
    """Merged option settings and container commands of every .ebextensions file, checked one by one."""
    files = sorted((ROOT / ".ebextensions").glob("*.config"))
    assert files
    settings: dict = {}
    commands: dict = {}
    for path in files:
        document = eb_document(path)
        for namespace, option, value in option_settings(document):
            assert namespace in EB_OPTIONS, (path.name, namespace)
            assert EB_OPTIONS[namespace] is None or option in EB_OPTIONS[namespace], (path.name, namespace, option)
            settings.setdefault(namespace, {})[option] = value
        commands.update(document.get("container_commands", {}))
    return settings, commands


def test_ebextensions_use_documented_namespaces_and_options():
    settings, commands = all_eb_settings()
    assert settings["aws:elasticbeanstalk:application"]["Application Healthcheck URL"] == "/health"
    assert settings["aws:elasticbeanstalk:environment:process:default"]["HealthCheckPath"] == "/health"
    assert settings["aws:elasticbeanstalk:environment"]["LoadBalancerType"] == "application"
    assert settings["aws:elasticbeanstalk:cloudwatch:logs"]["StreamLogs"] is True
    environment = settings["aws:elasticbeanstalk:application:environment"]
    assert environment["APP_ENV"] == "production" and environment["FLASK_APP"] == "app"
    assert environment["TRUSTED_PROXIES"] == "2"  # ALB + nginx each append one address
    assert not SECRETS & set(environment)  # secrets come from --envvars / eb setenv
    # The settings check runs before the migration: leader-only commands run in name order.
    leader = sorted(name for name, command in commands.items() if command.get("leader_only"))
    assert [commands[name]["command"] for name in leader] == [
        "bash deploy/eb-check-settings.sh",
        "source /var/app/venv/*/bin/activate && flask db upgrade",
    ]
    assert (ROOT / "deploy" / "eb-check-settings.sh").is_file()


def test_https_listener_and_redirect_are_an_opt_in_pair():
    for path in (ROOT / ".ebextensions").glob("*.config"):
        text = path.read_text()
        assert "aws:elbv2:listener:443" not in text and "AWSEBV2LoadBalancerListener" not in text, path
        assert "arn:aws:acm" not in text, path  # no placeholder certificate as cloned
    document = eb_document(ROOT / "deploy" / "eb-https.config")
    listener = {option: value for namespace, option, value in option_settings(document)}
    assert {namespace for namespace, _, _ in option_settings(document)} == {"aws:elbv2:listener:443"}
    assert set(listener) <= EB_OPTIONS["aws:elbv2:listener:443"]
    assert listener["Protocol"] == "HTTPS" and listener["ListenerEnabled"] is True
    assert listener["SSLCertificateArns"].startswith("arn:aws:acm:")
    redirect = document["Resources"]["AWSEBV2LoadBalancerListener"]["Properties"]
    action = redirect["DefaultActions"][0]
    assert redirect["Port"] == 80 and redirect["Protocol"] == "HTTP" and action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS" and action["RedirectConfig"]["Port"] == "443"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"
    guide = (ROOT / "docs" / "deploy-elastic-beanstalk.md").read_text()
    assert "cp deploy/eb-https.config .ebextensions/" in guide


def test_enhanced_health_does_not_count_application_4xx():
    settings, _ = all_eb_settings()
    health = settings["aws:elasticbeanstalk:healthreporting:system"]
    assert health["SystemType"] == "enhanced"
    document = health["ConfigDocument"]
    assert document["Version"] == 1
    assert document["Rules"]["Environment"]["Application"]["ApplicationRequests4xx"] == {"Enabled": False}


def test_daily_ingest_is_installed_on_every_instance_as_root():
    document = eb_document(ROOT / ".ebextensions" / "03_daily_ingest.config")
    files = document["files"]
    script = files[INGEST_SCRIPT]
    assert (script["owner"], script["group"], script["mode"]) == ("root", "root", "000755")
    service = files["/etc/systemd/system/crypto-api-ingest.service"]["content"]
    assert "User=root" in service and f"ExecStart={INGEST_SCRIPT}" in service
    assert "StandardOutput=append:/var/log/crypto-api-ingest.log" in service  # written by systemd as root
    timer = files["/etc/systemd/system/crypto-api-ingest.timer"]["content"]
    assert "OnCalendar=*-*-* 00:15:00 UTC" in timer and "Persistent=true" in timer
    assert "WantedBy=timers.target" in timer
    # `commands` run on every instance at provisioning: a replaced leader does not lose the job.
    assert "container_commands" not in document
    enable = [command["command"] for command in document["commands"].values()]
    assert enable == ["systemctl daemon-reload && systemctl enable --now crypto-api-ingest.timer"]
    content = script["content"]
    assert 'app_user="${CRYPTO_API_USER:-webapp}"' in content
    assert 'runuser -u "${app_user}"' in content and '"${venv_bin}/flask" ingest --update' in content
    assert ">> /var/log" not in content  # the app user never opens a root-owned log


def test_eb_check_settings_names_what_is_missing():
    def check(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(ROOT / "deploy" / "eb-check-settings.sh")],
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
            timeout=30,
        )

    empty = check()
    assert empty.returncode == 1
    assert "SECRET_KEY" in empty.stderr and "eb setenv SECRET_KEY=" in empty.stderr
    assert "DATABASE_URL" in empty.stderr and "2 setting(s) missing" in empty.stderr
    no_database = check(SECRET_KEY="k" * 40)
    assert no_database.returncode == 1 and "1 setting(s) missing" in no_database.stderr
    assert check(SECRET_KEY="k" * 40, RDS_HOSTNAME="db.example").returncode == 0
    assert check(SECRET_KEY="k" * 40, DATABASE_URL="postgresql://u:p@h/d").returncode == 0
    assert check(SECRET_KEY="k" * 40, ALLOW_SQLITE_IN_PRODUCTION="on").returncode == 0
    assert check(SECRET_KEY="short", DATABASE_URL="postgresql://u:p@h/d").returncode == 1


class IngestSandbox:
    """The daily job's script with a fake get-config and a stub flask, run as root like systemd does."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("bin", "venv/bin", "app", "out"):
            (root / folder).mkdir(parents=True)
        os.chmod(root / "out", 0o777)
        self.record = root / "out" / "flask-record"
        self.environment = root / "environment.json"
        self.script = root / "crypto-api-ingest-update"
        document = yaml.safe_load((ROOT / ".ebextensions" / "03_daily_ingest.config").read_text())
        self.script.write_text(document["files"][INGEST_SCRIPT]["content"])
        self.write_tool("bin/get-config", '[ "$1" = environment ] || exit 2\ncat "$FAKE_EB_ENVIRONMENT"')
        self.write_tool(
            "venv/bin/flask",
            f'{{ echo "user=$(id -un)"; echo "args=$*"; echo "cwd=$(pwd)"; env -0; }} > {self.record}\n'
            'exit "${STUB_EXIT:-0}"',
        )
        for path in (root, *root.rglob("*")):
            if path != root / "out":
                os.chmod(path, 0o755)

    def write_tool(self, name: str, body: str) -> None:
        (self.root / name).write_text(f"#!/bin/sh\n{body}\n")

    def run(self, environment: object, *, as_user: str | None = None, **extra: str) -> subprocess.CompletedProcess:
        self.environment.write_text(json.dumps(environment))
        os.chmod(self.environment, 0o644)
        env = {
            "PATH": f"{self.root / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
            "CRYPTO_API_APP_DIR": str(self.root / "app"),
            "CRYPTO_API_USER": "nobody",
            "CRYPTO_API_VENV_BIN": str(self.root / "venv" / "bin"),
            "FAKE_EB_ENVIRONMENT": str(self.environment),
            "ROOT_ONLY_SETTING": "the job must not leak its own environment to the app",
            **extra,
        }
        command = ["bash", str(self.script)]
        if as_user:
            user = pwd.getpwnam(as_user)
            command = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *command]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    def flask_saw(self) -> dict:
        """What the stub flask recorded: user, args, cwd and its exact environment."""
        raw = self.record.read_bytes().decode()
        head, _, environ = raw.partition("cwd=")
        cwd, _, environ = environ.partition("\n")
        lines = dict(line.split("=", 1) for line in head.strip().splitlines())
        env = dict(item.split("=", 1) for item in environ.split("\0") if item)
        return {**lines, "cwd": cwd, "env": env}


@pytest.fixture
def ingest_sandbox():
    if os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("setpriv"):
        pytest.skip("the sandbox runs the job as root and drops to an unprivileged user (runuser, setpriv)")
    root = Path(tempfile.mkdtemp(prefix="crypto-api-ingest-", dir="/tmp"))  # reachable by `nobody`
    try:
        yield IngestSandbox(root)
    finally:
        shutil.rmtree(root)


EB_ENVIRONMENT = {
    "APP_ENV": "production",
    "FLASK_APP": "app",
    "SECRET_KEY": "k" * 64,
    "DATABASE_URL": "postgresql://crypto:p%40ss@db.internal:5432/crypto",
    "NOTE": "spaces and\na newline survive",
}


def test_daily_ingest_script_runs_flask_as_the_app_user_with_the_eb_environment(ingest_sandbox):
    result = ingest_sandbox.run(EB_ENVIRONMENT)
    assert result.returncode == 0, result.stderr
    saw = ingest_sandbox.flask_saw()
    assert saw["user"] == "nobody" and saw["args"] == "ingest --update"
    assert saw["cwd"] == str(ingest_sandbox.root / "app")
    for key, value in EB_ENVIRONMENT.items():
        assert saw["env"][key] == value
    assert "ROOT_ONLY_SETTING" not in saw["env"] and "FAKE_EB_ENVIRONMENT" not in saw["env"]
    assert "flask ingest --update as nobody" in result.stdout


@pytest.mark.parametrize("environment", [{}, {"FLASK_APP": "app"}, {"APP_ENV": "production"}, None])
def test_daily_ingest_script_fails_loudly_without_the_environment(ingest_sandbox, environment):
    result = ingest_sandbox.run(environment)
    assert result.returncode != 0
    assert "environment properties" in result.stderr
    assert not ingest_sandbox.record.exists()  # flask never ran (it would have used SQLite)


def test_daily_ingest_script_fails_loudly_when_get_config_fails(ingest_sandbox):
    ingest_sandbox.write_tool("bin/get-config", "echo 'permission denied' >&2; exit 1")
    result = ingest_sandbox.run(EB_ENVIRONMENT)
    assert result.returncode != 0 and "get-config environment failed" in result.stderr
    assert not ingest_sandbox.record.exists()


def test_daily_ingest_script_refuses_to_start_unprivileged(ingest_sandbox):
    result = ingest_sandbox.run(EB_ENVIRONMENT, as_user="nobody")
    assert result.returncode != 0 and "must start as root" in result.stderr
    assert not ingest_sandbox.record.exists()


def test_daily_ingest_script_passes_on_the_failure_of_flask(ingest_sandbox):
    ingest_sandbox.write_tool("venv/bin/flask", "echo 'ingest failed' >&2; exit 3")
    os.chmod(ingest_sandbox.root / "venv" / "bin" / "flask", 0o755)
    result = ingest_sandbox.run(EB_ENVIRONMENT)
    assert result.returncode == 3 and "ingest failed" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_get(port: int, target: str, headers: str = "") -> tuple[int, str, bytes]:
    """(status, content type, body) of one GET sent byte for byte, as a client would."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), fields.get("Content-Type", ""), body


@pytest.fixture(scope="module")
def gunicorn_port(tmp_path_factory):
    """gunicorn as the Procfile starts it (gunicorn.conf.py), on a migrated SQLite file."""
    from flask_migrate import upgrade

    from tests.support.apps import make_app

    url = f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'limits.sqlite'}"
    app = make_app(url)
    with app.app_context():
        upgrade()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SEED_ON_STARTUP": "off", "WEB_CONCURRENCY": "1", "PORT": str(port)}
    env.pop("APP_ENV", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                if raw_get(port, "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not start")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_documented_maximum_request_reaches_the_app(gunicorn_port):
    """1,000 symbols of 7 characters (docs/limits.md): the app answers, not gunicorn's HTML 414."""
    symbols = [f"Z{n:06d}" for n in range(1000)]
    target = "/api/v1/dashboard?id=" + ",".join(symbols)
    assert len(f"GET {target} HTTP/1.1") <= 8190
    status, content_type, body = raw_get(gunicorn_port, target)
    assert (status, content_type) == (404, "application/json")
    assert json.loads(body)["detail"].startswith("Unknown symbol(s): Z000000, Z000001")
    # A 16,000-byte header line (a large cookie or token) is within the limit too.
    status, content_type, _ = raw_get(gunicorn_port, "/health", "X-Large: " + "a" * 16_000 + "\r\n")
    assert (status, content_type) == (200, "application/json")


def test_requests_beyond_the_documented_limits_are_refused_by_gunicorn(gunicorn_port):
    """What docs/limits.md says about larger requests: gunicorn's own 414/431, before the app."""
    status, _, _ = raw_get(gunicorn_port, "/api/v1/dashboard?id=" + "A" * 8200)
    assert status == 414
    status, _, _ = raw_get(gunicorn_port, "/health", "X-Large: " + "a" * 16_400 + "\r\n")
    assert status == 431
