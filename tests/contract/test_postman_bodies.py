"""Every Postman request checks its body's shape and at least one value, not only the status."""

import json
import re

from tests.support.paths import POSTMAN

COLLECTION = POSTMAN / "crypto-api.postman_collection.json"


def requests_of(items: list[dict]) -> list[dict]:
    found = []
    for item in items:
        found += requests_of(item["item"]) if "item" in item else [item]
    return found


def test_every_request_checks_the_body_shape_and_a_value():
    requests = requests_of(json.loads(COLLECTION.read_text())["item"])
    assert len(requests) >= 64
    for request in requests:
        code = "\n".join(line for e in request["event"] if e["listen"] == "test" for line in e["script"]["exec"])
        assert 'pm.test("body: shape and values"' in code, request["name"]
        body = code.split('pm.test("body: shape and values"')[1]
        assert re.search(r"pm\.response\.(json|text)\(\)", body), request["name"]  # the body is read
        assert re.search(r"\.to\.(eql|include|match)\(|have\.all\.keys\(", body), request["name"]  # and compared
