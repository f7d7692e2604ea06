"""Every command the Dockerfile runs works in a fresh virtualenv (no Docker engine runs here).

Replays the image build and start outside Docker: copy what the runtime stage copies, install the
pinned requirements into a fresh virtualenv (as the build stage does into /opt/venv), then run the
image's CMD and HEALTHCHECK against a fresh SQLite database on a free loopback port.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.dockerfile import dockerfile_instructions
from tests.support.paths import ROOT
from tests.support.tcp_proxy import free_port


def run(command: str, cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_image_commands_in_a_fresh_virtualenv(tmp_path):
    steps = dockerfile_instructions()
    runtime = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    for op, args in runtime:
        if op == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                path = ROOT / source
                assert path.exists(), f"COPY source missing: {source}"
                target = app_dir / path.name
                shutil.copytree(path, target) if path.is_dir() else shutil.copy(path, target)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "FLASK_"))}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    run(f"pip install --quiet -r {ROOT / 'requirements.txt'}", app_dir, env)

    image_env = {}
    for op, args in runtime:
        if op == "ENV":  # PATH=/opt/venv/bin:$PATH: /opt/venv is absent here, so the fresh one answers
            pairs = dict(pair.split("=", 1) for pair in shlex.split(args))
            image_env.update({key: value.replace("$PATH", env["PATH"]) for key, value in pairs.items()})
    port = free_port()
    env |= image_env | {
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'image.sqlite'}",
        "WEB_CONCURRENCY": "1",
        "SECRET_KEY": "image-test-secret-key-of-forty-characters",
        "CACHE_VERSION_FILE": str(tmp_path / "cache-version"),
    }
    command = json.loads([args for op, args in runtime if op == "CMD"][-1])
    server = subprocess.Popen(command, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):  # bounded wait for start-up, not a timing check
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()[-3000:]
                time.sleep(0.1)
        healthcheck = next(args for op, args in runtime if op == "HEALTHCHECK")
        probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
        assert subprocess.run(probe, env=env, timeout=30).returncode == 0
        for _ in range(300):  # seeding runs in the background: /ready says when it is done
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/dashboard?id=all", timeout=10) as response:
            assert response.headers["X-Total-Count"] == "23"
    finally:
        server.terminate()
        server.wait(timeout=30)
