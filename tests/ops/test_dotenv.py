"""One configuration path: `.env` is read by the app, gunicorn.conf.py and `make run` alike (issue 26).

Before, gunicorn.conf.py read `os.environ` only and the Makefile exported its own PORT and
WEB_CONCURRENCY: with REDIS_URL in `.env` the app used Redis while gunicorn started one process.
Each test works on a copy of the project with its own `.env` (the checkout's is never touched),
and runs in a subprocess so `.env` cannot leak into this process's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.services import require_redis
from tests.support.tcp_proxy import free_port

BIN = Path(sys.executable).parent
# Settings that must come from the `.env` under test, not from the shell running pytest.
CLEARED = {"PORT", "REDIS_URL", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "DATABASE_URL", "APP_ENV"}
PROJECT = ["api", "utilities", "serving", "migrations", "data", "app.py", "config.py", "gunicorn.conf.py", "Makefile"]


def clean_env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in CLEARED and not key.startswith("FLASK_")}
    return env | settings


def project_copy(folder: Path, dotenv: str) -> Path:
    """The files `make run` needs, and a `.env` beside them."""
    for name in PROJECT:
        source = ROOT / name
        target = folder / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    shutil.copy(ROOT / "requirements.txt", folder / "requirements.txt")
    (folder / ".env").write_text(dotenv)
    return folder


def gunicorn_settings(folder: Path, **environment: str) -> dict:
    """gunicorn.conf.py as gunicorn itself loads it (its own file loader), in a fresh process."""
    script = (
        "import json, sys; from gunicorn.app.base import Application; "
        "cfg = Application.get_config_from_filename(None, sys.argv[1]); "
        "print(json.dumps({k: cfg[k] for k in ('bind', 'workers', 'threads', 'timeout')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder / "gunicorn.conf.py")],
        cwd=folder,
        env=clean_env(**environment),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


DOTENV = "PORT=9321\nREDIS_URL=redis://127.0.0.1:6379/15\nWEB_CONCURRENCY=3\nGUNICORN_THREADS=5\nGUNICORN_TIMEOUT=41\n"


def test_gunicorn_conf_reads_dotenv(tmp_path):
    settings = gunicorn_settings(project_copy(tmp_path, DOTENV))
    assert settings == {"bind": "0.0.0.0:9321", "workers": 3, "threads": 5, "timeout": 41}


def test_the_environment_wins_over_dotenv(tmp_path):
    """As in config.py (python-dotenv never overrides): an operator's `export` beats the file."""
    settings = gunicorn_settings(project_copy(tmp_path, DOTENV), PORT="9400", WEB_CONCURRENCY="2")
    assert settings["bind"] == "0.0.0.0:9400" and settings["workers"] == 2 and settings["threads"] == 5


def test_app_and_gunicorn_read_the_same_file(tmp_path):
    """config.py and gunicorn.conf.py name the `.env` beside themselves: one file, not two."""
    folder = project_copy(tmp_path, "CACHE_TTL=77\n")
    script = "import config; print(config.ENV_FILE, config.Config.CACHE_TTL)"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, env=clean_env(PYTHONPATH=str(folder)),
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert result.stdout.split() == [str(folder / ".env"), "77"]
    assert 'Path(__file__).resolve().parent / ".env"' in (ROOT / "gunicorn.conf.py").read_text()


class MakeRun:
    """`make run` in a project copy, on the shared virtualenv (VENV points the install stamp elsewhere)."""

    def __init__(self, folder: Path, *make_args: str) -> None:
        stamp = folder / "venv-stamp"
        stamp.mkdir()
        (stamp / ".runtime-installed").touch()  # newer than requirements.txt: no pip install
        self.log = folder / "make-run.log"
        command = ["make", "--no-print-directory", "run", f"VENV={stamp}", f"BIN={BIN}", *make_args]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=folder, env=clean_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_health(self, port: int) -> None:
        for _ in range(600):  # bounded wait for start-up, not a timing check
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                return
            except OSError:
                assert self.process.poll() is None, self.output()[-3000:]
                time.sleep(0.1)
        pytest.fail(f"no /health on port {port}:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)


@pytest.fixture
def make_run():
    started: list[MakeRun] = []

    def start(folder: Path, *make_args: str) -> MakeRun:
        started.append(MakeRun(folder, *make_args))
        return started[-1]

    yield start
    for run in started:
        run.stop()


def test_make_run_takes_port_redis_and_workers_from_dotenv(tmp_path, make_run):
    redis_url = require_redis()
    port = free_port()
    dotenv = (
        f"PORT={port}\nREDIS_URL={redis_url}\nWEB_CONCURRENCY=2\nCACHE_KEY_PREFIX=dotenv-{port}\n"
        f"DATABASE_URL=sqlite:///{tmp_path / 'run.sqlite'}\nCACHE_VERSION_FILE={tmp_path / 'cache-version'}\n"
    )
    run = make_run(project_copy(tmp_path, dotenv))
    run.wait_for_health(port)
    for _ in range(600):  # both workers boot; bounded wait
        if run.output().count("Booting worker") >= 2:
            break
        time.sleep(0.1)
    assert run.output().count("Booting worker") == 2, run.output()[-3000:]
    assert f"Listening at: http://127.0.0.1:{port}" in run.output()


def test_make_run_port_on_the_command_line_wins(tmp_path, make_run):
    port = free_port()
    dotenv = f"PORT=1\nDATABASE_URL=sqlite:///{tmp_path / 'run.sqlite'}\nCACHE_VERSION_FILE={tmp_path / 'v'}\n"
    run = make_run(project_copy(tmp_path, dotenv), f"PORT={port}")
    run.wait_for_health(port)


def test_a_taken_port_is_one_line(tmp_path, make_run):
    """Before: gunicorn's "Connection in use" five times, then an exit."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = make_run(project_copy(tmp_path, f"PORT={port}\nDATABASE_URL=sqlite:///{tmp_path / 'r.sqlite'}\n"))
        assert run.process.wait(timeout=120) != 0
    output = run.output()
    assert "Connection in use" not in output and "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"port {port} on 127.0.0.1 is already in use" in errors[0]
    assert f"make run PORT={port + 1}" in errors[0]
    assert "Starting gunicorn" not in output  # stopped before migrating or serving
