"""Fuzz every operation of /apispec_1.json with schemathesis, in-process against the app.

Valid and invalid generated requests must never get a 5xx, must get a documented status code
and content type, responses must match their schemas, and invalid input must be rejected.
Schema-valid requests may still get a documented 400 for rules a schema cannot state (start
after end, 2021-02-30, `all` mixed with symbols), so "valid data accepted" is not checked. Writes
run on a database of their own with an admin's credentials, past authentication.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import content_type_conformance, positive_data_acceptance

from api.extensions import db
from api.models import User
from tests.conftest import make_app, migrate_and_seed
from tests.fixtures_csv import write_coin_csv

EXAMPLES = 60  # per operation and generation mode: about 2,000 requests in all
CREDENTIALS = {"Authorization": "Basic " + base64.b64encode(b"fuzzer:fuzzer-password").decode()}


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-csv")
    write_coin_csv(folder / "a.csv", "Alpha", "AAA", [(f"2021-01-{d:02d}", float(d)) for d in range(1, 29)])
    write_coin_csv(folder / "b.csv", "Bitcoin", "BTC", [(f"2021-01-{d:02d}", 100.0 + d) for d in range(1, 29)])
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.sqlite'}")
    migrate_and_seed(app, str(folder))
    with app.app_context():
        user = User(name="fuzzer", role="admin")
        user.set_password("fuzzer-password")
        db.session.add(user)
        db.session.commit()
    return schemathesis.openapi.from_wsgi("/apispec_1.json", app)


def operations(schema) -> list:
    return [result.ok() for result in schema.get_all_operations()]


@schemathesis.check
def content_type_of_bodies(ctx, response, case):
    """Swagger 2.0 has one `produces` per operation; 204 and 304 carry no body, so no type."""
    if response.status_code in (204, 304):
        return None
    return content_type_conformance(ctx, response, case)


def fuzzer(operation, mode, sent: list[str]):
    """A hypothesis test sending generated requests to one operation."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case):
        writes = operation.method.upper() in ("POST", "PUT", "DELETE") and operation.path != "/api/v1/tokens"
        sent.append(operation.label)
        case.call_and_validate(
            headers=CREDENTIALS if writes else None,
            excluded_checks=[positive_data_acceptance, content_type_conformance],
            additional_checks=[content_type_of_bodies],
        )

    return fuzz


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE])
def test_every_operation_against_its_documentation(fuzz_schema, mode):
    sent: list[str] = []
    unbreakable: list[str] = []
    for operation in operations(fuzz_schema):
        try:
            fuzzer(operation, mode, sent)()
        except Unsatisfiable:
            # Nothing in the request has a constraint to break (e.g. /health, a free-form path id).
            assert mode == schemathesis.GenerationMode.NEGATIVE, operation.label
            unbreakable.append(operation.label)
    print(f"{mode.value}: {len(sent)} requests over {len(set(sent))} operations; no invalid form: {unbreakable}")
    assert len(sent) >= 500, len(sent)
    assert len(set(sent)) >= (16 if mode == schemathesis.GenerationMode.POSITIVE else 10)
