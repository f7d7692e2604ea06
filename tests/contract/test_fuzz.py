"""schemathesis' own runner, every check on, against the served OpenAPI document.

The app is served on 127.0.0.1 (tests/support/contract_server.py: two coins, an admin user, rate limits
off) and `st run` drives it through all four phases (examples, coverage, fuzzing, stateful links)
with `--checks all`: no 5xx; documented status codes, content types (bodiless 204/304 included),
headers and schemas; schema-valid requests accepted (`positive_data_acceptance`) and invalid ones
rejected (`negative_data_rejection`); unsupported methods and missing auth refused. Every request
carries the admin's Basic credentials, so the writes are exercised. Rules relating two values,
which OpenAPI 3.0 cannot state, are kept by tests/support/schemathesis_hooks.py on positive cases only
(see docs/api-contract.md). The table of cases by check is printed (`pytest -s`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.support.contract_server import ADMIN, seeded_app, serving
from tests.support.paths import ROOT

EXAMPLES = 30  # per operation and phase: about 1,100 test cases, 4-6 minutes on one core
SEED = 20210706  # fixed: the same cases on every run, so a failure reproduces
OPERATIONS = {
    "/api/v1/dashboard": ["get"],
    "/api/v1/search": ["get"],
    "/api/v1/currencies": ["get", "post"],
    "/api/v1/currencies/{symbol}": ["get", "put", "delete"],
    "/api/v1/currencies/{symbol}/history": ["get"],
    "/api/v1/currencies/{symbol}/records": ["put", "delete"],
    "/api/v1/tokens": ["post", "delete"],
    "/api/v1/jobs/{job_id}": ["get"],
    "/health": ["get"],
    "/ready": ["get"],
    "/metrics": ["get"],
    # the other clients' contracts (api/compat/)
    "/compat/krispyto/dashboard": ["get"],
    "/compat/krispyto/search": ["get"],
    "/api/v3/ping": ["get"],
    "/api/v3/simple/price": ["get"],
    "/api/v3/simple/supported_vs_currencies": ["get"],
    "/api/v3/coins/list": ["get"],
    "/api/v3/coins/markets": ["get"],
    "/api/v3/coins/{coin}": ["get"],
    "/api/v3/coins/{coin}/market_chart": ["get"],
    "/api/v3/coins/{coin}/market_chart/range": ["get"],
    "/api/v3/coins/{coin}/ohlc": ["get"],
    "/api/v3/coins/{coin}/history": ["get"],
    "/api/v3/search": ["get"],
}
WRITES = {
    "POST /api/v1/currencies",
    "PUT /api/v1/currencies/{symbol}",
    "DELETE /api/v1/currencies/{symbol}",
    "PUT /api/v1/currencies/{symbol}/records",
    "DELETE /api/v1/currencies/{symbol}/records",
}


def summarise(ndjson: Path) -> tuple[Counter, Counter, dict[str, set[int]]]:
    """(passed by check, failed by check, response statuses by operation) from the event log."""
    passed, failed = Counter(), Counter()
    statuses: dict[str, set[int]] = defaultdict(set)
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        for results in (recorder.get("checks") or {}).values():
            for result in results:
                if result["status"] == "success":
                    passed[result["name"]] += 1
                elif result["status"] == "failure":
                    failed[result["name"]] += 1
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            case = recorder["cases"][case_id]["value"]
            response = interaction.get("response") or {}
            if "status_code" in response:
                statuses[f"{case['method']} {case['path']}"].add(response["status_code"])
    return passed, failed, statuses


@pytest.fixture(scope="module")
def schemathesis_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path_factory.mktemp("schemathesis")
    report = folder / "events.ndjson"
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    with serving(seeded_app(folder)) as base_url:
        command = [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{base_url}/openapi.json",
            "--checks=all",
            f"--auth={ADMIN[0]}:{ADMIN[1]}",
            f"--max-examples={EXAMPLES}",
            f"--seed={SEED}",
            "--workers=1",
            "--suppress-health-check=all",
            "--continue-on-failure",
            "--request-timeout=30",
            "--report=ndjson",
            f"--report-ndjson-path={report}",
        ]
        result = subprocess.run(command, env=environment, cwd=folder, capture_output=True, text=True, timeout=1500)
    return result, report


def test_every_check_passes_on_every_operation(schemathesis_run):
    result, report = schemathesis_run
    passed, failed, statuses = summarise(report)
    print(f"\nschemathesis {' '.join(result.args[1:3])}: cases by check (passed / failed)")
    for name in sorted(set(passed) | set(failed)):
        print(f"  {name:30} {passed[name]:6} / {failed[name]}")
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert sum(failed.values()) == 0, failed
    # Every check of schemathesis ran, the two data checks on hundreds of cases.
    assert {"positive_data_acceptance", "negative_data_rejection", "ignored_auth", "unsupported_method"} <= set(passed)
    assert passed["not_a_server_error"] >= 800, passed
    documented = {f"{method.upper()} {path}" for path, methods in OPERATIONS.items() for method in methods}
    assert documented <= set(statuses), documented - set(statuses)
    # Methods a path does not document were tried too (`unsupported_method`): all 405.
    assert {code for operation in set(statuses) - documented for code in statuses[operation]} <= {200, 405}
    # The writes were exercised past authentication: each succeeded at least once.
    for operation in WRITES:
        assert any(200 <= status < 300 for status in statuses[operation]), (operation, statuses[operation])
    assert any(status == 400 for operation in WRITES for status in statuses[operation])
