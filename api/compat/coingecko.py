"""`/api/v3`: a CoinGecko-compatible subset over the stored data, so pycoingecko, coingecko-sdk and
the tools built on them work with only their base URL changed (docs/compat.md).

Coin ids are CoinGecko's, from the source plan (`data/sources.toml`); a coin the plan does not
name has its lower-case symbol as id. Values are the stored daily records with /api/v1's units
(US dollars; volume is the day's traded value in dollars). "Now" is the latest stored day: a
chart of `days=30` ends on the coin's latest stored day. Every point is stamped with 00:00 UTC of
its day in milliseconds; `last_updated` is the end of that day (23:59:59 UTC), when the close was
taken. Only `usd` is quoted: any other currency is a 400 in CoinGecko's `{"error": "..."}` shape.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta

from flasgger import swag_from
from flask import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from api.compat import error_body, with_error_key
from api.docs import spec_path
from api.errors import InvalidParams
from api.extensions import db, response_cache
from api.freshness import with_data_through
from api.responses import json_response
from api.sql.compat import currency_names
from api.sql.currencies import CatalogueQuery, catalogue_page, currency_summary
from api.sql.dashboard import DashboardQuery, UnknownSymbolsError, dashboard_page
from api.sql.history import MAX_CANDLES, HistoryQuery, price_history
from api.sql.tables import latest_day
from api.v1.params import MIN_DATE, normalise_symbol, parse_int, shown, single
from utilities.source_plan import load_source_plan

blueprint = Blueprint("coingecko", __name__, url_prefix="/api/v3")
blueprint.after_request(with_error_key)

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
OHLC_DAYS = ("1", "7", "14", "30", "90", "180", "365", "max")
# The patterns the OpenAPI document states (api/docs/compat_coingecko_*.yml): parsed exactly so.
DAYS_PATTERN = re.compile(r"^(?:[1-9][0-9]{0,2}|[1-4][0-9]{3}|5000|max)\Z")
MOMENT_PATTERN = re.compile(r"^[0-9]{1,10}(?:\.[0-9]{1,6})?\Z")
HISTORY_DATE_PATTERN = re.compile(r"^[0-9]{2}-[0-9]{2}-[0-9]{4}\Z")
EPOCH = date(1970, 1, 1)
DAY_MS = 86_400_000


# -- coin ids -------------------------------------------------------------------------------------


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


# -- parameters -----------------------------------------------------------------------------------


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


def parse_ids(raw: str | None) -> list[tuple[str, str]] | None:
    """(id, symbol) of the comma-separated ids that name a coin, in order; None when absent."""
    if raw is None:
        return None
    ids = list(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    if len(ids) > MAX_IDS:
        raise InvalidParams({"ids": f"at most {MAX_IDS} ids per request"})
    named = ((identifier, symbol_of(identifier)) for identifier in ids)
    return [(identifier, symbol) for identifier, symbol in named if symbol is not None]


def flag(args: MultiDict, name: str, errors: dict[str, str]) -> bool:
    """A `true`/`false` parameter (CoinGecko's spelling), default false."""
    raw = single(args, name, errors)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        errors[name] = f"must be true or false, got {shown(raw)!r}"
        return False
    return raw == "true"


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


# -- shapes ---------------------------------------------------------------------------------------


def day_ms(day: str | date) -> int:
    """00:00 UTC of a day, in milliseconds since the epoch."""
    return ((date.fromisoformat(day) if isinstance(day, str) else day) - EPOCH).days * DAY_MS


def end_of_day(day: str | date) -> datetime:
    """When a day's close was taken: 23:59:59 UTC of that day."""
    start = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime(start.year, start.month, start.day, 23, 59, 59, tzinfo=UTC)


def iso_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def absolute_change(price: float | None, percent: float | None) -> float | None:
    """The dollar change behind a percentage change: price - price / (1 + percent / 100)."""
    if price is None or percent is None or percent == -100:
        return None
    return price - price / (1 + percent / 100)


def market_row(row: dict, windows: list[str]) -> dict:
    """One dashboard row as a `coins/markets` item."""
    price = row["price"]
    item = {
        "id": coin_id(row["symbol"]),
        "symbol": row["symbol"].lower(),
        "name": row["name"],
        "image": "",
        "current_price": price,
        "market_cap": row["market_cap"],
        "market_cap_rank": None,
        "fully_diluted_valuation": None,
        "total_volume": row["volume_24h"],
        "high_24h": None,
        "low_24h": None,
        "price_change_24h": absolute_change(price, row["change_24h"]),
        "price_change_percentage_24h": row["change_24h"],
        "market_cap_change_24h": None,
        "market_cap_change_percentage_24h": None,
        "circulating_supply": None,
        "total_supply": None,
        "max_supply": None,
        "ath": None,
        "ath_change_percentage": None,
        "ath_date": None,
        "atl": None,
        "atl_change_percentage": None,
        "atl_date": None,
        "roi": None,
        "last_updated": iso_time(end_of_day(row["date"])),
    }
    for window in windows:
        field = CHANGE_WINDOWS[window]
        item[f"price_change_percentage_{window}_in_currency"] = row[field] if field else None
    return item


class CoinGeckoError(Exception):
    """An error in CoinGecko's shape: its status and `error` message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@blueprint.errorhandler(CoinGeckoError)
def handle_coingecko_error(error: CoinGeckoError) -> Response:
    return error_body(error.status, error.message)


def coin_not_found() -> Response:
    return error_body(404, "coin not found")


def rows_of(symbols: list[str] | None, **query: object) -> tuple[list[dict], object]:
    """Dashboard rows of the stored ones among `symbols` (None: every coin) on the latest day.

    CoinGecko skips ids it does not know: a symbol that is not stored is dropped, and the page is
    asked again without it (one more statement, only then)."""
    wanted = tuple(symbols) if symbols is not None else None
    if wanted == ():
        return [], None
    try:
        page = dashboard_page(db.session, DashboardQuery(symbols=wanted, day=None, **query))
    except UnknownSymbolsError as error:
        known = tuple(symbol for symbol in wanted if symbol not in set(error.symbols))
        if not known:
            return [], None
        page = dashboard_page(db.session, DashboardQuery(symbols=known, day=None, **query))
    return page.rows, page.data_through


# -- the routes -----------------------------------------------------------------------------------


@blueprint.get("/ping")
@swag_from(spec_path("compat_coingecko_ping.yml"))
def ping() -> Response:
    """CoinGecko's liveness answer (touches nothing)."""
    return json_response({"gecko_says": "(V3) To the Moon!"})


@blueprint.get("/simple/supported_vs_currencies")
@swag_from(spec_path("compat_coingecko_vs_currencies.yml"))
def supported_vs_currencies() -> Response:
    """The quote currencies the stored data has: US dollars only."""
    return json_response(list(VS_CURRENCIES))


def render_simple_price(ids: list[tuple[str, str]], extras: dict[str, bool]) -> Response:
    rows, through = rows_of([symbol for _, symbol in ids], per_page=MAX_IDS)
    by_symbol = {row["symbol"]: row for row in rows}
    prices = {}
    for identifier, symbol in ids:
        row = by_symbol.get(symbol)
        if row is None:
            continue
        entry = {"usd": row["price"]}
        if extras["include_market_cap"]:
            entry["usd_market_cap"] = row["market_cap"]
        if extras["include_24hr_vol"]:
            entry["usd_24h_vol"] = row["volume_24h"]
        if extras["include_24hr_change"]:
            entry["usd_24h_change"] = row["change_24h"]
        if extras["include_last_updated_at"]:
            entry["last_updated_at"] = int(end_of_day(row["date"]).timestamp())
        prices[identifier] = entry
    return with_data_through(json_response(prices), through or latest_day(db.session))


@blueprint.get("/simple/price")
@swag_from(spec_path("compat_coingecko_simple_price.yml"))
def simple_price() -> Response:
    """The latest stored price of coins by CoinGecko id, with optional cap, volume and change."""
    check_vs_currency(request.args, "vs_currencies")
    errors: dict[str, str] = {}
    raw_ids = single(request.args, "ids", errors)
    extras = {
        name: flag(request.args, name, errors)
        for name in ("include_market_cap", "include_24hr_vol", "include_24hr_change", "include_last_updated_at")
    }
    if raw_ids is None and not errors:
        errors["ids"] = "is required: comma-separated CoinGecko ids such as bitcoin,ethereum"
    if errors:
        raise InvalidParams(errors)
    ids = parse_ids(raw_ids) or []
    key = (
        "cg:price:"
        + ",".join(sorted(identifier for identifier, _ in ids))
        + ":"
        + "".join("1" if extras[name] else "0" for name in sorted(extras))
    )
    return response_cache.respond(key, lambda: render_simple_price(ids, extras))


def render_coins_list() -> Response:
    rows = currency_names(db.session)
    coins = [{"id": coin_id(row.symbol), "symbol": row.symbol.lower(), "name": row.name} for row in rows]
    return with_data_through(json_response(coins), rows[0].data_through if rows else None)


@blueprint.get("/coins/list")
@swag_from(spec_path("compat_coingecko_coins_list.yml"))
def coins_list() -> Response:
    """Every stored coin's CoinGecko id, symbol and name."""
    return response_cache.respond("cg:list", render_coins_list)


def render_markets(ids: list[tuple[str, str]] | None, windows: list[str], **query: object) -> Response:
    rows, through = rows_of(None if ids is None else [symbol for _, symbol in ids], **query)
    items = [market_row(row, windows) for row in rows]
    return with_data_through(json_response(items), through or latest_day(db.session))


@blueprint.get("/coins/markets")
@swag_from(spec_path("compat_coingecko_markets.yml"))
def coins_markets() -> Response:
    """Price, market cap, volume and changes of every coin (or of `ids`) on the latest stored day."""
    check_vs_currency(request.args)
    args = request.args
    errors: dict[str, str] = {}
    raw_ids = single(args, "ids", errors)
    order = single(args, "order", errors) or "market_cap_desc"
    if order not in MARKET_ORDERS:
        errors["order"] = f"must be one of {', '.join(MARKET_ORDERS)}, got {shown(order)!r}"
    page = parse_int(single(args, "page", errors), "page", 1, 1_000_000, errors)
    per_page = parse_int(single(args, "per_page", errors), "per_page", 100, MAX_MARKETS_PER_PAGE, errors)
    raw_windows = single(args, "price_change_percentage", errors)
    windows = list(dict.fromkeys(raw_windows.split(","))) if raw_windows is not None else []
    unknown = [window for window in windows if window not in CHANGE_WINDOWS]
    if unknown:
        errors["price_change_percentage"] = f"must be among {', '.join(CHANGE_WINDOWS)}, got {shown(unknown[0])!r}"
    if errors:
        raise InvalidParams(errors)
    ids = parse_ids(raw_ids)
    order_by, descending = MARKET_ORDERS[order]
    id_key = "*all*" if ids is None else ",".join(sorted(identifier for identifier, _ in ids))
    key = f"cg:markets:{id_key}:{order}:{page}:{per_page}:{','.join(windows)}"
    query = {"order_by": order_by, "descending": descending, "page": page, "per_page": per_page}
    return response_cache.respond(key, lambda: render_markets(ids, windows, **query))


def render_coin(identifier: str, symbol: str) -> Response:
    summary = currency_summary(db.session, symbol)
    if summary is None:
        return coin_not_found()
    last_day = summary["last_day"]
    coin = {
        "id": identifier,
        "symbol": symbol.lower(),
        "name": summary["name"],
        "web_slug": identifier,
        "asset_platform_id": None,
        "platforms": {},
        "detail_platforms": {},
        "block_time_in_minutes": 0,
        "hashing_algorithm": None,
        "categories": [],
        "preview_listing": False,
        "public_notice": None,
        "additional_notices": [],
        "description": {"en": ""},
        "links": {},
        "image": {"thumb": "", "small": "", "large": ""},
        "country_origin": "",
        "genesis_date": None,
        "market_cap_rank": None,
        "has_supply_breakdown": False,
        "watchlist_portfolio_users": 0,
        "status_updates": [],
        "last_updated": None,
    }
    if last_day is not None:
        rows = dashboard_page(db.session, DashboardQuery(symbols=(symbol,), day=date.fromisoformat(last_day))).rows
        candles = price_history(db.session, HistoryQuery(symbol, start=date.fromisoformat(last_day))).candles
        if rows:
            row, candle = rows[0], (candles[0] if candles else {})
            coin["last_updated"] = iso_time(end_of_day(last_day))
            coin["market_data"] = {
                "current_price": {"usd": row["price"]},
                "market_cap": {"usd": row["market_cap"]},
                "total_volume": {"usd": row["volume_24h"]},
                "high_24h": {"usd": candle.get("high")},
                "low_24h": {"usd": candle.get("low")},
                "price_change_24h": absolute_change(row["price"], row["change_24h"]),
                "price_change_percentage_24h": row["change_24h"],
                "price_change_percentage_7d": row["change_7d"],
                "price_change_percentage_30d": row["change_1m"],
                "price_change_percentage_24h_in_currency": {"usd": row["change_24h"]},
                "price_change_percentage_7d_in_currency": {"usd": row["change_7d"]},
                "price_change_percentage_30d_in_currency": {"usd": row["change_1m"]},
                "circulating_supply": summary.get("circulating_supply"),
                "last_updated": coin["last_updated"],
            }
    return with_data_through(json_response(coin), last_day)


def coin_symbol(raw_id: str) -> tuple[str, str]:
    """(id, symbol) of a path id; CoinGecko's 404 when it names no coin the plan or data could hold."""
    symbol = symbol_of(raw_id)
    if symbol is None:
        raise CoinGeckoError(404, "coin not found")
    return raw_id.strip().lower(), symbol


# pycoingecko asks for `coins/{id}/`: the same route, with or without the slash (no redirect).
@blueprint.get("/coins/<string:coin>", strict_slashes=False)
@swag_from(spec_path("compat_coingecko_coin.yml"))
def coin_detail(coin: str) -> Response:
    """One coin: its names and its market data on its latest stored day."""
    identifier, symbol = coin_symbol(coin)
    return response_cache.respond(f"cg:coin:{identifier}", lambda: render_coin(identifier, symbol))


def chart_range(symbol: str, days: int | None, back: int) -> tuple[date, date] | None:
    """(first, last) day of a chart ending on the coin's latest stored day, `back` days before it
    (None: every stored day); None for an unknown coin."""
    last = latest_day(db.session, symbol)
    if last is None:
        return None
    return (MIN_DATE if days is None else last - timedelta(days=back)), last


def history_of(symbol: str, start: date, end: date):
    """Daily candles between two days; CoinGecko's 404 or a 400 past MAX_CANDLES."""
    history = price_history(db.session, HistoryQuery(symbol, start=start, end=end))
    if not history.found:
        raise CoinGeckoError(404, "coin not found")
    if history.too_many:
        raise CoinGeckoError(400, f"more than {MAX_CANDLES} days: narrow the range")
    return history


def chart_response(symbol: str, start: date | None, end: date | None) -> Response:
    """`prices`, `market_caps` and `total_volumes` as `[ms, value]` between two days (inclusive)."""
    if start is None or end is None or start > end:
        candles, through = [], latest_day(db.session, symbol)
    else:
        history = history_of(symbol, start, end)
        candles, through = history.candles, history.data_through
    stamped = [(day_ms(candle["period_start"]), candle) for candle in candles]
    chart = {
        "prices": [[ms, candle["close"]] for ms, candle in stamped],
        "market_caps": [[ms, candle["market_cap"]] for ms, candle in stamped],
        "total_volumes": [[ms, candle["volume"]] for ms, candle in stamped],
    }
    return with_data_through(json_response(chart), through)


def render_market_chart(symbol: str, days: int | None) -> Response:
    # Like CoinGecko's daily chart: `days=N` is N+1 points, from N days before "now" to "now".
    span = chart_range(symbol, days, back=days or 0)
    if span is None:
        return coin_not_found()
    return chart_response(symbol, *span)


@blueprint.get("/coins/<string:coin>/market_chart")
@swag_from(spec_path("compat_coingecko_market_chart.yml"))
def market_chart(coin: str) -> Response:
    """Daily price, market cap and volume for the last `days` days up to the latest stored day."""
    identifier, symbol = coin_symbol(coin)
    check_vs_currency(request.args)
    days = parse_days(request.args)
    return response_cache.respond(f"cg:chart:{identifier}:{days}", lambda: render_market_chart(symbol, days))


def render_market_chart_range(symbol: str, start: date, end: date) -> Response:
    if latest_day(db.session, symbol) is None:
        return coin_not_found()
    return chart_response(symbol, max(start, MIN_DATE), end)


@blueprint.get("/coins/<string:coin>/market_chart/range")
@swag_from(spec_path("compat_coingecko_market_chart_range.yml"))
def market_chart_range(coin: str) -> Response:
    """Daily price, market cap and volume of the days whose 00:00 UTC falls between `from` and `to`."""
    identifier, symbol = coin_symbol(coin)
    check_vs_currency(request.args)
    errors: dict[str, str] = {}
    since = parse_moment(single(request.args, "from", errors), "from", errors)
    until = parse_moment(single(request.args, "to", errors), "to", errors)
    if errors:
        raise InvalidParams(errors)
    start = EPOCH + timedelta(days=math.ceil(since / 86_400))
    end = EPOCH + timedelta(days=math.floor(until / 86_400))
    key = f"cg:range:{identifier}:{start.isoformat()}:{end.isoformat()}"
    return response_cache.respond(key, lambda: render_market_chart_range(symbol, start, end))


def render_ohlc(symbol: str, days: int | None) -> Response:
    # One daily candle per day: `days=N` is the N days up to the latest stored one.
    span = chart_range(symbol, days, back=(days or 1) - 1)
    if span is None:
        return coin_not_found()
    history = history_of(symbol, *span)
    candles = [[day_ms(c["period_start"]), c["open"], c["high"], c["low"], c["close"]] for c in history.candles]
    return with_data_through(json_response(candles), history.data_through)


@blueprint.get("/coins/<string:coin>/ohlc")
@swag_from(spec_path("compat_coingecko_ohlc.yml"))
def ohlc(coin: str) -> Response:
    """Daily open, high, low and close for the last `days` days up to the latest stored day."""
    identifier, symbol = coin_symbol(coin)
    check_vs_currency(request.args)
    days = parse_days(request.args, OHLC_DAYS)
    return response_cache.respond(f"cg:ohlc:{identifier}:{days}", lambda: render_ohlc(symbol, days))


def render_history(identifier: str, symbol: str, day: date) -> Response:
    summary = currency_summary(db.session, symbol)
    if summary is None:
        return coin_not_found()
    snapshot = {
        "id": identifier,
        "symbol": symbol.lower(),
        "name": summary["name"],
        "image": {"thumb": "", "small": ""},
        "public_interest_stats": {"alexa_rank": None, "bing_matches": None},
    }
    rows = dashboard_page(db.session, DashboardQuery(symbols=(symbol,), day=day)).rows
    if rows:  # CoinGecko leaves `market_data` out for a day it has no data of
        row = rows[0]
        snapshot["market_data"] = {
            "current_price": {"usd": row["price"]},
            "market_cap": {"usd": row["market_cap"]},
            "total_volume": {"usd": row["volume_24h"]},
        }
    return with_data_through(json_response(snapshot), summary["last_day"])


@blueprint.get("/coins/<string:coin>/history")
@swag_from(spec_path("compat_coingecko_history.yml"))
def history(coin: str) -> Response:
    """A coin's price, market cap and volume on one day (`date` as dd-mm-yyyy)."""
    identifier, symbol = coin_symbol(coin)
    errors: dict[str, str] = {}
    raw = single(request.args, "date", errors)
    day = None
    if raw is not None and HISTORY_DATE_PATTERN.match(raw):
        try:
            day = datetime.strptime(raw, "%d-%m-%Y").date()
        except ValueError:
            day = None
    if day is None or day < MIN_DATE:
        errors.setdefault("date", f"must be a day from 1900 as dd-mm-yyyy, got {shown(raw or '')!r}")
    if errors:
        raise InvalidParams(errors)
    key = f"cg:history:{identifier}:{day.isoformat()}"
    return response_cache.respond(key, lambda: render_history(identifier, symbol, day))


def render_search(term: str) -> Response:
    page = catalogue_page(db.session, CatalogueQuery(q=term, per_page=100))
    coins = [
        {
            "id": coin_id(row["symbol"]),
            "name": row["name"],
            "api_symbol": coin_id(row["symbol"]),
            "symbol": row["symbol"],
            "market_cap_rank": None,
            "thumb": "",
            "large": "",
        }
        for row in page.rows
    ]
    body = {"coins": coins, "exchanges": [], "icos": [], "categories": [], "nfts": []}
    return with_data_through(json_response(body), page.data_through or latest_day(db.session))


@blueprint.get("/search")
@swag_from(spec_path("compat_coingecko_search.yml"))
def search() -> Response:
    """Coins whose name or symbol contains `query`: exact matches first, then prefixes."""
    errors: dict[str, str] = {}
    term = (single(request.args, "query", errors) or "").strip()
    if not errors and not term:
        errors["query"] = "is required: a coin name or symbol such as bitcoin"
    elif len(term) > 100:
        errors["query"] = "must be at most 100 characters"
    if errors:
        raise InvalidParams(errors)
    return response_cache.respond(f"cg:search:{term.lower()}", lambda: render_search(term))
