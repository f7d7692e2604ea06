"""`/api/v3`: a CoinGecko-compatible subset over the stored data, so pycoingecko, coingecko-sdk and
the tools built on them work with only their base URL changed (docs/compat.md).

Parameters and coin ids: `api.compat.coingecko_params`. Values are the stored daily records with /api/v1's units
(US dollars; volume is the day's traded value in dollars). "Now" is the latest stored day: a
chart of `days=30` ends on the coin's latest stored day. Every point is stamped with 00:00 UTC of
its day in milliseconds; `last_updated` is the end of that day (23:59:59 UTC), when the close was
taken. Only `usd` is quoted: any other currency is a 400 in CoinGecko's `{"error": "..."}` shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flasgger import swag_from
from flask import Blueprint, Response, request

from api.cache.response import response_cache
from api.compat import error_body, with_error_key
from api.compat.coingecko_params import (
    CHANGE_WINDOWS,
    MARKET_ORDERS,
    MAX_IDS,
    OHLC_DAYS,
    VS_CURRENCIES,
    CoinGeckoError,
    MarketsQuery,
    check_vs_currency,
    coin_id,
    coin_symbol,
    ids_key,
    parse_days,
    parse_history_date,
    parse_markets_args,
    parse_price_args,
    parse_query,
    parse_range_args,
)
from api.docs import spec_path
from api.extensions import db
from api.freshness import with_data_through
from api.responses import json_response
from api.sql.compat import currency_names
from api.sql.currencies import CatalogueQuery, catalogue_page, currency_summary
from api.sql.dashboard import DashboardQuery, UnknownSymbolsError, dashboard_page
from api.sql.history import MAX_CANDLES, HistoryQuery, price_history
from api.sql.tables import latest_day
from api.v1.params import MIN_DATE

blueprint = Blueprint("coingecko", __name__, url_prefix="/api/v3")
blueprint.after_request(with_error_key)

EPOCH = date(1970, 1, 1)
DAY_MS = 86_400_000


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


def market_row(row: dict, windows: tuple[str, ...]) -> dict:
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
    ids, extras = parse_price_args(request.args)
    flags = "".join("1" if extras[name] else "0" for name in sorted(extras))
    key = f"cg:price:{ids_key(ids)}:{flags}"
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


def render_markets(query: MarketsQuery) -> Response:
    order_by, descending = MARKET_ORDERS[query.order]
    symbols = None if query.ids is None else [symbol for _, symbol in query.ids]
    rows, through = rows_of(symbols, order_by=order_by, descending=descending, page=query.page, per_page=query.per_page)
    items = [market_row(row, query.windows) for row in rows]
    return with_data_through(json_response(items), through or latest_day(db.session))


@blueprint.get("/coins/markets")
@swag_from(spec_path("compat_coingecko_markets.yml"))
def coins_markets() -> Response:
    """Price, market cap, volume and changes of every coin (or of `ids`) on the latest stored day."""
    query = parse_markets_args(request.args)
    return response_cache.respond(query.cache_key(), lambda: render_markets(query))


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
    return chart_response(symbol, start, end)


@blueprint.get("/coins/<string:coin>/market_chart/range")
@swag_from(spec_path("compat_coingecko_market_chart_range.yml"))
def market_chart_range(coin: str) -> Response:
    """Daily price, market cap and volume of the days whose 00:00 UTC falls between `from` and `to`."""
    identifier, symbol = coin_symbol(coin)
    start, end = parse_range_args(request.args)
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
    day = parse_history_date(request.args)
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
    term = parse_query(request.args)
    return response_cache.respond(f"cg:search:{term.lower()}", lambda: render_search(term))
