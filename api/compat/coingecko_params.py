"""CoinGecko's parameters for `/api/v3`, validated exactly as the OpenAPI document states them
(api/docs/compat_coingecko_*.yml), and its coin ids. No queries here.

Coin ids are CoinGecko's, from the source plan (`data/sources.toml`); a coin the plan does not
name has its lower-case symbol as id, and a symbol the plan gives another id is not an id.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from werkzeug.datastructures import MultiDict

from api.errors import InvalidParams
from api.sql.history import MAX_CANDLES
from api.v1.params import MAX_PAGE, MIN_DATE, normalise_symbol, parse_int, shown, single
from utilities.source_plan import load_source_plan

VS_CURRENCIES = ("usd",)
MAX_IDS = 250
MAX_MARKETS_PER_PAGE = 250
# CoinGecko's `order` values -> (the dashboard's sort key, descending). CoinGecko ids are not
# stored, so the id orders sort by symbol (docs/compat.md).
MARKET_ORDERS = {
    "market_cap_desc": ("market_cap", True),
    "market_cap_asc": ("market_cap", False),
    "volume_desc": ("24h-volume", True),
    "volume_asc": ("24h-volume", False),
    "id_asc": ("symbol", False),
    "id_desc": ("symbol", True),
}
# `price_change_percentage` windows -> the dashboard's change field (None: not computed, null).
CHANGE_WINDOWS = {
    "1h": None,
    "24h": "change_24h",
    "7d": "change_7d",
    "14d": None,
    "30d": "change_1m",
    "200d": None,
    "1y": None,
}
PRICE_EXTRAS = ("include_market_cap", "include_24hr_vol", "include_24hr_change", "include_last_updated_at")
OHLC_DAYS = ("1", "7", "14", "30", "90", "180", "365", "max")
DAYS_PATTERN = re.compile(r"^(?:[1-9][0-9]{0,2}|[1-4][0-9]{3}|5000|max)\Z")
MOMENT_PATTERN = re.compile(r"^[0-9]{1,10}(?:\.[0-9]{1,6})?\Z")
HISTORY_DATE_PATTERN = re.compile(r"^[0-9]{2}-[0-9]{2}-[0-9]{4}\Z")
EPOCH = date(1970, 1, 1)

CoinIds = list[tuple[str, str]]  # (CoinGecko id, stored symbol), in the order asked


class CoinGeckoError(Exception):
    """An error in CoinGecko's shape: its status and `error` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def coin_id(symbol: str) -> str:
    """CoinGecko's id of a stored symbol: the source plan's, else the lower-case symbol."""
    return load_source_plan().coingecko_id(symbol) or symbol.lower()


def symbol_of(raw_id: str) -> str | None:
    """The stored symbol a CoinGecko id names, or None (a symbol the plan gives another id is not an id)."""
    identifier = raw_id.strip().lower()
    planned = load_source_plan().symbol_for_coingecko_id(identifier)
    if planned is not None:
        return planned
    symbol = normalise_symbol(identifier)
    if symbol is None or load_source_plan().coingecko_id(symbol) not in (None, identifier):
        return None
    return symbol


def coin_symbol(raw_id: str) -> tuple[str, str]:
    """(id, symbol) of a path id; CoinGecko's 404 when it can name no coin."""
    symbol = symbol_of(raw_id)
    if symbol is None:
        raise CoinGeckoError(404, "coin not found")
    return raw_id.strip().lower(), symbol


def check_vs_currency(args: MultiDict, name: str = "vs_currency") -> None:
    """`usd` (any case; a list of them for `vs_currencies`) is the only quote stored; anything
    else is CoinGecko's 400 `{"error": "invalid vs_currency"}`."""
    errors: dict[str, str] = {}
    raw = single(args, name, errors)
    if raw is None and not errors:
        raise InvalidParams({name: "is required: usd"})
    values = (raw or "").split(",") if name == "vs_currencies" else [raw or ""]
    if errors or not all(value.lower() in VS_CURRENCIES for value in values):
        raise CoinGeckoError(400, "invalid vs_currency")


def parse_ids(raw: str | None) -> CoinIds | None:
    """(id, symbol) of the comma-separated ids that can name a coin, in order; None when absent."""
    if raw is None:
        return None
    ids = list(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    if len(ids) > MAX_IDS:
        raise InvalidParams({"ids": f"at most {MAX_IDS} ids per request"})
    named = ((identifier, symbol_of(identifier)) for identifier in ids)
    return [(identifier, symbol) for identifier, symbol in named if symbol is not None]


def ids_key(ids: CoinIds | None) -> str:
    """The ids part of a cache key: order does not matter."""
    return "*all*" if ids is None else ",".join(sorted(identifier for identifier, _ in ids))


def flag(args: MultiDict, name: str, errors: dict[str, str]) -> bool:
    """A `true`/`false` parameter (CoinGecko's spelling), default false."""
    raw = single(args, name, errors)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        errors[name] = f"must be true or false, got {shown(raw)!r}"
        return False
    return raw == "true"


def parse_price_args(args: MultiDict) -> tuple[CoinIds, dict[str, bool]]:
    """`simple/price`: the ids and which extra fields to add."""
    check_vs_currency(args, "vs_currencies")
    errors: dict[str, str] = {}
    raw_ids = single(args, "ids", errors)
    extras = {name: flag(args, name, errors) for name in PRICE_EXTRAS}
    if raw_ids is None and not errors:
        errors["ids"] = "is required: comma-separated CoinGecko ids such as bitcoin,ethereum"
    if errors:
        raise InvalidParams(errors)
    return parse_ids(raw_ids) or [], extras


@dataclass(frozen=True)
class MarketsQuery:
    """A validated `coins/markets` request (`ids=None`: every coin)."""

    ids: CoinIds | None
    order: str
    page: int
    per_page: int
    windows: tuple[str, ...]

    def cache_key(self) -> str:
        return f"cg:markets:{ids_key(self.ids)}:{self.order}:{self.page}:{self.per_page}:{','.join(self.windows)}"


def parse_markets_args(args: MultiDict) -> MarketsQuery:
    """`coins/markets`: every parameter at once; raise naming each bad one."""
    check_vs_currency(args)
    errors: dict[str, str] = {}
    raw_ids = single(args, "ids", errors)
    order = single(args, "order", errors) or "market_cap_desc"
    if order not in MARKET_ORDERS:
        errors["order"] = f"must be one of {', '.join(MARKET_ORDERS)}, got {shown(order)!r}"
    page = parse_int(single(args, "page", errors), "page", 1, MAX_PAGE, errors)
    per_page = parse_int(single(args, "per_page", errors), "per_page", 100, MAX_MARKETS_PER_PAGE, errors)
    raw_windows = single(args, "price_change_percentage", errors)
    windows = tuple(dict.fromkeys(raw_windows.split(","))) if raw_windows is not None else ()
    unknown = [window for window in windows if window not in CHANGE_WINDOWS]
    if unknown:
        errors["price_change_percentage"] = f"must be among {', '.join(CHANGE_WINDOWS)}, got {shown(unknown[0])!r}"
    if errors:
        raise InvalidParams(errors)
    return MarketsQuery(parse_ids(raw_ids), order, page, per_page, windows)


def parse_days(args: MultiDict, allowed: tuple[str, ...] | None = None) -> int | None:
    """`days`: a whole number of days back from the latest stored day (1-5000), or `max` (None)."""
    errors: dict[str, str] = {}
    raw = single(args, "days", errors)
    if raw is None and not errors:
        errors["days"] = "is required: a number of days or max"
    elif not errors and not (raw in allowed if allowed is not None else DAYS_PATTERN.match(raw)):
        expected = ", ".join(allowed) if allowed is not None else f"a whole number from 1 to {MAX_CANDLES} or max"
        errors["days"] = f"must be {expected}, got {shown(raw)!r}"
    if errors:
        raise InvalidParams(errors)
    return None if raw == "max" else int(raw)


def parse_moment(raw: str | None, name: str, errors: dict[str, str]) -> float | None:
    """A UNIX timestamp in seconds (`1625443200`, `1625443200.5`)."""
    if raw is None:
        errors.setdefault(name, "is required: a UNIX timestamp in seconds")
        return None
    if not MOMENT_PATTERN.match(raw):
        errors.setdefault(name, f"must be a UNIX timestamp in seconds, got {shown(raw)!r}")
        return None
    return float(raw)


def parse_range_args(args: MultiDict) -> tuple[date, date]:
    """`market_chart/range`: the first and last day whose 00:00 UTC lies in `from`..`to`."""
    check_vs_currency(args)
    errors: dict[str, str] = {}
    since = parse_moment(single(args, "from", errors), "from", errors)
    until = parse_moment(single(args, "to", errors), "to", errors)
    if errors or since is None or until is None:
        raise InvalidParams(errors)
    start = EPOCH + timedelta(days=math.ceil(since / 86_400))
    return max(start, MIN_DATE), EPOCH + timedelta(days=math.floor(until / 86_400))


def parse_history_date(args: MultiDict) -> date:
    """`coins/{id}/history`: `date` as dd-mm-yyyy, a real day from 1900."""
    errors: dict[str, str] = {}
    raw = single(args, "date", errors)
    day = None
    if raw is not None and HISTORY_DATE_PATTERN.match(raw):
        try:
            day = datetime.strptime(raw, "%d-%m-%Y").date()
        except ValueError:
            day = None
    if day is None or day < MIN_DATE:
        errors.setdefault("date", f"must be a day from 1900 as dd-mm-yyyy, got {shown(raw or '')!r}")
        raise InvalidParams(errors)
    return day


def parse_query(args: MultiDict) -> str:
    """`search`: the trimmed query, 1-100 characters."""
    errors: dict[str, str] = {}
    term = (single(args, "query", errors) or "").strip()
    if not errors and not term:
        errors["query"] = "is required: a coin name or symbol such as bitcoin"
    elif len(term) > 100:
        errors["query"] = "must be at most 100 characters"
    if errors:
        raise InvalidParams(errors)
    return term
