"""The image and the compose stack for real, where a Docker daemon and the base images are there.

Builds the image, brings up docker-compose.yml (api, worker, PostgreSQL, Redis) under a project
name of its own, and checks: every service reports `healthy` (the worker by its own check, not the
image's HTTP probe), the app and the worker run as a non-root user, no wheels are left in the
image, and data survives `down` and `up`. It prints the image size and the time from `up` to
`/ready` 200 (numbers for docs/deploy-docker.md, never asserted).

CI has no Docker daemon, so an absent daemon, Compose or base image is a plain skip with its
reason (not `missing`, which would fail under REQUIRE_SERVICES=1). With Compose v2 (`docker
compose`) or v1 (`docker-compose`, Debian 12's package), whichever is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid

import pytest

from tests.support.paths import ROOT
from tests.support.tcp_proxy import free_port

BASE_IMAGES = ("python:3.11-slim", "postgres:15", "redis:7")
SERVICES = ("api", "worker", "db", "redis")


def run(*command: str, env: dict | None = None, timeout: int = 900, check: bool = True) -> str:
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(command)} -> {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def compose_command() -> list[str]:
    """`docker compose` (v2) when the plugin is there, else `docker-compose` (v1); skip otherwise."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on this machine")
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        pytest.skip("no Docker daemon answers (CI has none)")
    for image in BASE_IMAGES:
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=60).returncode != 0:
            pytest.skip(f"base image {image} is not available locally and no registry is reachable")
    if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def wait_ready(port: int, limit: float = 600) -> float:
    """Seconds until /ready answers 200 (bounded wait, not a timing check)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            if get(f"http://127.0.0.1:{port}/ready")[0] == 200:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"/ready did not answer 200 within {limit:.0f} s")


@pytest.fixture
def stack():
    compose = compose_command()
    project = f"cryptotest{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = dict(os.environ, PORT=str(port), COMPOSE_PROJECT_NAME=project)
    if subprocess.run(["docker", "buildx", "version"], capture_output=True, timeout=60).returncode != 0:
        env |= {"DOCKER_BUILDKIT": "0", "COMPOSE_DOCKER_CLI_BUILD": "0"}  # the classic builder

    def cmd(*args: str, **kwargs) -> str:
        return run(*compose, "-p", project, *args, env=env, **kwargs)

    try:
        yield cmd, port
    finally:
        cmd("down", "-v", "--remove-orphans", check=False, timeout=300)


def container(cmd, service: str) -> str:
    return cmd("ps", "-q", service).strip()


def health(container_id: str) -> str:
    return run("docker", "inspect", "-f", "{{.State.Health.Status}}", container_id).strip()


def test_image_and_compose_stack(stack):
    cmd, port = stack
    cmd("build")
    started = time.monotonic()
    cmd("up", "-d")
    after_up = wait_ready(port)  # from `up -d` returning
    up_to_ready = time.monotonic() - started
    ids = {service: container(cmd, service) for service in SERVICES}
    image = run("docker", "inspect", "-f", "{{.Image}}", ids["api"]).strip()
    size = int(run("docker", "image", "inspect", "-f", "{{.Size}}", image).strip())
    print(f"\nimage {size / 1e6:.0f} MB; `up -d` to /ready 200: {up_to_ready:.1f} s ({after_up:.1f} s after up)")

    # Every service healthy, each by its own check (the worker's first runs after its interval).
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and any(health(ids[s]) != "healthy" for s in SERVICES):
        time.sleep(2)
    assert {service: health(ids[service]) for service in SERVICES} == dict.fromkeys(SERVICES, "healthy")
    worker_check = json.loads(run("docker", "inspect", "-f", "{{json .Config.Healthcheck.Test}}", ids["worker"]))
    assert "/health" not in " ".join(worker_check)  # not the image's HTTP probe

    for service in ("api", "worker"):
        assert run("docker", "exec", ids[service], "id", "-u").strip() not in ("", "0")
    assert run("docker", "exec", ids["api"], "sh", "-c", "ls -d /wheels 2>/dev/null || echo none").strip() == "none"
    history = run("docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    assert "/wheels" not in history

    status, _, headers = get(f"http://127.0.0.1:{port}/api/v1/dashboard?id=all&date=2021-07-06")
    assert status == 200 and headers["X-Total-Count"] == "23"

    # Data survives `down` and `up` (the pgdata volume): a user created before is there after.
    run("docker", "exec", ids["api"], "flask", "users", "create", "survivor", "--role", "reader",
        "--password", "a-long-enough-password")  # fmt: skip
    cmd("down")
    cmd("up", "-d")
    wait_ready(port)
    api = container(cmd, "api")
    assert api != ids["api"]  # a new container, the same volume
    assert "survivor\treader" in run("docker", "exec", api, "flask", "users", "list")
