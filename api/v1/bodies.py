"""Parse and validate JSON request bodies of the write endpoints; a bad body writes nothing."""

from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import Any

from flask import Request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from api.errors import InvalidParams
from api.v1.params import normalise_symbol, shown
from utilities.value_bounds import MAX_SUPPLY, day_problem, name_problem, utc_today, value_problem

STRICT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
CANDLE_FIELDS = {"date", "open", "high", "low", "close", "volume", "market_cap"}
REPORTED_ERRORS = 50


class DuplicateKeyError(ValueError):
    """A JSON object named one key twice; which value was meant is unknown."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` that refuses a repeated key instead of keeping the last value."""
    body: dict[str, Any] = {}
    for key, value in pairs:
        if key in body:
            raise DuplicateKeyError(key)
        body[key] = value
    return body


def json_body(request: Request) -> Any:
    """The parsed JSON body: 415 when it is not declared JSON, 413 past MAX_CONTENT_LENGTH (a
    chunked body too: reading it raises), 400 when it does not parse or repeats a key.

    The decoder accepts nesting until Python's recursion limit and then raises RecursionError,
    which is not a ValueError, so it is caught on its own."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("The body must be JSON, sent with Content-Type: application/json")
    data = request.get_data(cache=True)  # RequestEntityTooLarge (413) for a Content-Length past it
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        # A streamed (chunked) body is cut at the limit without an error (werkzeug's LimitedStream
        # stops there): parsing the cut would say "not valid JSON". Such a body is too large.
        raise RequestEntityTooLarge(f"The request body is larger than {limit} bytes")
    try:
        body = json.loads(data, object_pairs_hook=unique_keys)
    except DuplicateKeyError as duplicate:
        raise InvalidParams({"body": f"key {shown(duplicate.key)!r} appears more than once"}) from None
    except RecursionError:
        raise InvalidParams({"body": "is nested too deeply (these bodies are at most 2 levels deep)"}) from None
    except ValueError:  # JSONDecodeError, and bytes that are not UTF-8/16/32 (UnicodeDecodeError)
        raise InvalidParams({"body": "is not valid JSON"}) from None
    return body


def storable_text(value: str) -> bool:
    """False for text a database cannot store: lone surrogates (`"\\ud800"` decodes to one,
    and UTF-8 cannot encode it) and NUL, which PostgreSQL rejects in text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _unknown_fields(names: set) -> str:
    return f"unknown field(s): {shown(', '.join(map(str, sorted(names))), 200)}"


def _name(value: Any, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        errors["name"] = "must be a non-empty string"
    elif not storable_text(value):
        errors["name"] = "must be valid Unicode text (no lone surrogates such as \\ud800, no NUL)"
    elif len(value.strip()) > 100:
        errors["name"] = "must be at most 100 printable characters"
    elif (problem := name_problem(value)) is not None:
        errors["name"] = problem
    else:
        return value.strip()
    return None


def _symbol(value: Any, errors: dict[str, str]) -> str | None:
    symbol = normalise_symbol(value) if isinstance(value, str) else None
    if symbol is None:
        errors["symbol"] = "must be 1-20 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
    return symbol


def currency_body(body: Any, *, path_symbol: str | None = None) -> tuple[str, str]:
    """(name, symbol) from `{"name", "symbol"}`; on PUT the symbol may be left out (it is the path's)."""
    if not isinstance(body, dict):
        raise InvalidParams({"body": 'must be a JSON object like {"name": "Bitcoin", "symbol": "BTC"}'})
    errors: dict[str, str] = {}
    unknown = set(body) - {"name", "symbol", *SUPPLY_FIELDS}
    if unknown:
        errors["body"] = _unknown_fields(unknown)
    name = _name(body.get("name"), errors)
    if path_symbol is None or "symbol" in body:
        symbol = _symbol(body.get("symbol"), errors)
        if path_symbol is not None and symbol is not None and symbol != path_symbol:
            errors["symbol"] = f"must match the path ({path_symbol}); symbols cannot be renamed"
    else:
        symbol = path_symbol
    if errors:
        raise InvalidParams(errors)
    return name, symbol


SUPPLY_FIELDS = ("circulating_supply", "supply_as_of")


def supply_body(body: dict, today: date) -> tuple[float, date] | None:
    """(circulating supply, the day it held) when the currency body sets one; `supply_as_of`
    defaults to today (UTC). Market caps of ingested days are estimated from it."""
    if "circulating_supply" not in body:
        if "supply_as_of" in body:
            raise InvalidParams({"supply_as_of": "needs circulating_supply"})
        return None
    errors: dict[str, str] = {}
    supply = body["circulating_supply"]
    try:
        value = float(supply) if isinstance(supply, int | float) and not isinstance(supply, bool) else math.nan
    except OverflowError:  # an integer too large for a float
        value = math.inf
    if not (math.isfinite(value) and 0 < value <= MAX_SUPPLY):
        errors["circulating_supply"] = f"must be a positive number of coins in circulation, at most {MAX_SUPPLY:g}"
    raw_day = body.get("supply_as_of", today.isoformat())
    day = None
    if not isinstance(raw_day, str) or not STRICT_DATE.match(raw_day):
        errors["supply_as_of"] = "must be an ISO day, YYYY-MM-DD"
    else:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            errors["supply_as_of"] = "must be an existing day, YYYY-MM-DD"
    if day is not None and (problem := day_problem(day, today, "supply_as_of")) is not None:
        errors["supply_as_of"] = problem
    if errors:
        raise InvalidParams(errors)
    return value, day


def _number(candle: dict, field: str, required: bool) -> float | None:
    value = candle.get(field)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} must be a number")
    try:
        number = float(value)
    except OverflowError:  # an integer of 309+ digits: no double holds it
        raise ValueError(f"{field} is too large for a number of this API (at most about 1.8e308)") from None
    problem = value_problem(field, number)
    if problem is not None:
        raise ValueError(problem)
    return number


def _candle(candle: Any, today: date) -> dict:
    """One validated candle, as the columns of `record`; ValueError says what is wrong."""
    if not isinstance(candle, dict):
        raise ValueError("must be an object with date, open, high, low, close[, volume, market_cap]")
    unknown = set(candle) - CANDLE_FIELDS
    if unknown:
        raise ValueError(_unknown_fields(unknown))
    raw_day = candle.get("date")
    if not isinstance(raw_day, str) or not STRICT_DATE.match(raw_day):
        raise ValueError("date must be an ISO day, YYYY-MM-DD")
    day = date.fromisoformat(raw_day)  # ValueError for impossible days such as 2021-02-30
    problem = day_problem(day, today)
    if problem is not None:
        raise ValueError(problem)
    values = {field: _number(candle, field, required=True) for field in ("open", "high", "low", "close")}
    if (
        not values["low"] <= min(values["open"], values["close"])
        or not max(values["open"], values["close"]) <= values["high"]
    ):
        raise ValueError("prices must satisfy low <= open, close <= high")
    return {
        "date": day,
        **values,
        "volume": _number(candle, "volume", required=False),
        "marketcap": _number(candle, "market_cap", required=False),
    }


def candles_body(body: Any, limit: int, today: date | None = None) -> list[dict]:
    """Every candle valid (none after `today`, default today in UTC), or InvalidParams naming
    the bad rows (`[index]`: reason)."""
    today = today or utc_today()
    if not isinstance(body, list) or not body:
        raise InvalidParams({"body": "must be a non-empty JSON array of candles"})
    if len(body) > limit:
        raise InvalidParams({"body": f"at most {limit} candles per request, got {len(body)}"})
    errors: dict[str, str] = {}
    candles, seen = [], set()
    for index, raw in enumerate(body):
        try:
            candle = _candle(raw, today)
            if candle["date"] in seen:
                raise ValueError(f"date {candle['date'].isoformat()} appears more than once")
        except ValueError as error:
            if len(errors) < REPORTED_ERRORS:
                errors[f"[{index}]"] = str(error)
            else:
                errors["..."] = "more invalid candles not listed"
            continue
        seen.add(candle["date"])
        candles.append(candle)
    if errors:
        bad = len(body) - len(candles)
        raise InvalidParams(errors, detail=f"{bad} of {len(body)} candles are invalid; nothing was written")
    return candles
