"""Every request of the Postman collection is an operation of the served OpenAPI document.

Three requests are not operations on purpose, and are held to what the document implies: the
document itself (`/apispec_1.json`), and two probes that a route or method the document does
not list answers a JSON 404 or 405.
"""

import json
import re

from tests.support.paths import POSTMAN
from tests.support.postman import requests_of

DOCUMENT_ROUTES = {"/apispec_1.json", "/openapi.json"}


def status_tested(request: dict) -> str:
    code = "\n".join(line for event in request["event"] for line in event["script"]["exec"])
    return code.split("pm.response.to.have.status(")[1].split(")")[0]


def test_every_postman_request_is_a_documented_operation(client):
    spec = client.get("/openapi.json").get_json()
    templates = [
        (re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$"), method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
    ]
    collection = json.loads((POSTMAN / "crypto-api.postman_collection.json").read_text())
    undocumented = []
    for request in requests_of(collection["item"]):
        path = request["request"]["url"]["raw"].removeprefix("{{baseUrl}}").split("?")[0]
        method = request["request"]["method"]
        if any(template.match(path) and method == documented for template, documented in templates):
            continue
        if path in DOCUMENT_ROUTES and method == "GET":
            continue
        undocumented.append((method, path, status_tested(request)))
    # Only the probes remain: an unknown route (404) and a method the path does not have (405).
    assert sorted(undocumented) == [("GET", "/api/v1/nope", "404"), ("POST", "/api/v1/dashboard", "405")]
    assert "post" not in spec["paths"]["/api/v1/dashboard"] and "/api/v1/nope" not in spec["paths"]
