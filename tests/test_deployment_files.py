"""Deployment files keep their invariants (no Docker engine or AWS account is needed to check)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
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
EB_NAMESPACES = {
    "aws:elasticbeanstalk:application",
    "aws:elasticbeanstalk:application:environment",
    "aws:elasticbeanstalk:environment",
    "aws:elasticbeanstalk:environment:process:default",
    "aws:elasticbeanstalk:environment:proxy",
    "aws:elasticbeanstalk:healthreporting:system",
    "aws:elasticbeanstalk:cloudwatch:logs",
    "aws:elasticbeanstalk:cloudwatch:logs:health",
    "aws:elasticbeanstalk:container:python",
    "aws:elasticbeanstalk:command",
    "aws:autoscaling:asg",
    "aws:autoscaling:launchconfiguration",
    "aws:elbv2:listener:default",
    "aws:elbv2:listener:443",
    "aws:elbv2:loadbalancer",
}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


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
    command = [args for op, args in steps if op == "CMD"][-1]
    assert "gunicorn -c gunicorn.conf.py app:app" in command and "flask db upgrade" in command


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


def test_daily_ingest_cron_runs_on_the_leader_only():
    document = yaml.safe_load((ROOT / ".ebextensions" / "03_ingest_cron.config").read_text())
    script = document["files"]["/usr/local/bin/crypto-api-ingest-update"]["content"]
    assert "flask ingest --update" in script
    install = document["container_commands"]["02_install_ingest_cron"]
    assert install["leader_only"] is True and "/etc/cron.d/" in install["command"]


def test_gunicorn_config(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp")
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), settings)
    assert settings["bind"] == "0.0.0.0:9123"
    # Without Redis: one process (in-memory limits and cache stay exact), threads for concurrency.
    assert settings["workers"] == 1 and settings["threads"] == 8
    assert settings["worker_class"] == "utilities.gthread_worker.HeaderBufferingWorker"
    assert settings["accesslog"] is None and settings["graceful_timeout"] > 0
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with_redis: dict = {}
    exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), with_redis)
    assert with_redis["workers"] == 3
    # The worker timeout exceeds every database bound (connect, statement + grace, pool): seconds.
    assert with_redis["timeout"] > 5 + 7 + 5


def test_ebextensions_are_valid_elastic_beanstalk_yaml():
    files = sorted((ROOT / ".ebextensions").glob("*.config"))
    assert files
    settings: dict = {}
    commands: dict = {}
    for path in files:
        document = yaml.safe_load(path.read_text())
        assert isinstance(document, dict), path
        assert set(document) <= EB_TOP_LEVEL_KEYS, (path, set(document) - EB_TOP_LEVEL_KEYS)
        for namespace, options in document.get("option_settings", {}).items():
            assert namespace in EB_NAMESPACES, (path, namespace)
            assert isinstance(options, dict) and options, (path, namespace)
            settings.setdefault(namespace, {}).update(options)
        commands.update(document.get("container_commands", {}))
    assert settings["aws:elasticbeanstalk:application"]["Application Healthcheck URL"] == "/health"
    assert settings["aws:elasticbeanstalk:environment:process:default"]["HealthCheckPath"] == "/health"
    assert settings["aws:elasticbeanstalk:cloudwatch:logs"]["StreamLogs"] is True
    assert settings["aws:elbv2:listener:443"]["Protocol"] == "HTTPS"
    assert "DATABASE_URL" not in settings["aws:elasticbeanstalk:application:environment"]  # secrets via eb setenv
    migrate = [c for c in commands.values() if "flask db upgrade" in c["command"]]
    assert len(migrate) == 1 and migrate[0]["leader_only"] is True


def test_http_listener_redirects_to_https():
    document = yaml.safe_load((ROOT / ".ebextensions" / "02_https.config").read_text())
    listener = document["Resources"]["AWSEBV2LoadBalancerListener"]["Properties"]
    action = listener["DefaultActions"][0]
    assert listener["Port"] == 80 and action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS" and action["RedirectConfig"]["StatusCode"] == "HTTP_301"


def test_env_example_lists_every_setting():
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    read = set(re.findall(r'(?:_int|_flag|environ\.get|environ\[)\(?"([A-Z_]+)"', (ROOT / "config.py").read_text()))
    read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (ROOT / "gunicorn.conf.py").read_text()))
    assert read - documented == set()
