"""Reading the Postman collection: every request, however deeply its folders nest."""

from __future__ import annotations


def requests_of(items: list[dict]) -> list[dict]:
    found = []
    for item in items:
        found += requests_of(item["item"]) if "item" in item else [item]
    return found
