"""schemathesis hooks (SCHEMATHESIS_HOOKS=tests.support.schemathesis_hooks): cross-field rules.

OpenAPI 3.0 cannot state rules that relate two values, so schema-valid generated requests can
still break them and get the documented 400 (each rule is written in its operation's
description). Rather than switching `positive_data_acceptance` off, positive cases are brought
inside those rules just before they are sent; negative cases are left alone. The rules:

* history and record deletion: `start` not after `end` (the two are swapped);
* a batch of candles: `low <= open, close <= high` (low and high widened to the extremes) and
  each day once (repeated days dropped);
* a batch of candles: no day after today, UTC (a later day becomes today), and no positive price
  below 1e-12 (it becomes 0; docs/limits.md);
* creating or renaming a currency: no name character of categories Cc, Cf, Cs, Co, Cn, Zl, Zp
  (each becomes "x");
* renaming a currency: a `symbol` in the body equals the path's (set to it);
* creating or renaming a currency: `supply_as_of` needs `circulating_supply` (dropped without
  it) and is not after today, UTC (a later day becomes today).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

import schemathesis

LOOSE_DAY = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")


def _day(value: object) -> date | None:
    match = LOOSE_DAY.match(value) if isinstance(value, str) else None
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _ordered_range(query: dict) -> None:
    start, end = _day(query.get("start")), _day(query.get("end"))
    if start and end and start > end:
        query["start"], query["end"] = query["end"], query["start"]


def _valid_candles(candles: list) -> list:
    kept, seen = [], set()
    for candle in candles:
        if not isinstance(candle, dict):
            kept.append(candle)
            continue
        day, today = _day(candle.get("date")), datetime.now(UTC).date()
        if day and day > today:
            candle["date"] = today.isoformat()
        if candle.get("date") in seen:
            continue
        seen.add(candle.get("date"))
        for field in ("open", "high", "low", "close"):
            price = candle.get(field)
            if isinstance(price, int | float) and not isinstance(price, bool) and 0 < price < 1e-12:
                candle[field] = 0
        prices = [candle.get(field) for field in ("open", "high", "low", "close")]
        if all(isinstance(p, int | float) and not isinstance(p, bool) for p in prices):
            candle["low"], candle["high"] = min(prices), max(prices)
        kept.append(candle)
    return kept


def _plain_name(body: dict) -> None:
    name = body.get("name")
    if isinstance(name, str):
        refused = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
        body["name"] = "".join("x" if unicodedata.category(ch) in refused else ch for ch in name)


def _valid_supply(body: dict) -> None:
    if "supply_as_of" not in body:
        return
    if "circulating_supply" not in body:
        del body["supply_as_of"]
        return
    day, today = _day(body["supply_as_of"]), datetime.now(UTC).date()
    if day and day > today:
        body["supply_as_of"] = today.isoformat()


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    """Runs in every phase (examples, coverage, fuzzing and stateful links alike)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    method, path = case.operation.method.upper(), case.operation.path
    if path in ("/api/v1/currencies/{symbol}/history", "/api/v1/currencies/{symbol}/records") and case.query:
        _ordered_range(case.query)
    if method == "PUT" and path == "/api/v1/currencies/{symbol}/records" and isinstance(case.body, list):
        case.body = _valid_candles(case.body)
    currency_body = (method, path) in (("POST", "/api/v1/currencies"), ("PUT", "/api/v1/currencies/{symbol}"))
    if currency_body and isinstance(case.body, dict):
        _valid_supply(case.body)
        _plain_name(case.body)
    renaming = method == "PUT" and path == "/api/v1/currencies/{symbol}" and isinstance(case.body, dict)
    if renaming and "symbol" in case.body and "symbol" in (case.path_parameters or {}):
        case.body["symbol"] = case.path_parameters["symbol"]
