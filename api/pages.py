"""`GET /`: a server-rendered dashboard page for people (table, date picker, candlestick chart).

The page is for people, so its own bad input answers an HTML page with the message and the form
(the status, 400 or 404, is kept); the API under /api/v1 stays JSON. Headings name what is shown,
taken from the data (the day of the rows, the first and last candle), never echoed from the URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from api import page_format
from api.chart import CandleChart, candle_chart
from api.errors import ApiError
from api.extensions import db
from api.freshness import DATA_THROUGH_HEADER, age_in_days
from api.sql.currencies import coin_choices
from api.sql.dashboard import DashboardPage, DashboardQuery, dashboard_page
from api.sql.history import HistoryQuery, price_history
from api.sql.tables import latest_day
from api.v1.params import MIN_DATE, normalise_symbol, parse_date, shown, single

blueprint = Blueprint("pages", __name__)
blueprint.add_app_template_filter(page_format.compact_usd)
blueprint.add_app_template_filter(page_format.measured_usd)
blueprint.add_app_template_filter(page_format.exact_usd)
blueprint.add_app_template_filter(page_format.signed_percent)

# Calendar days back from the chart's last candle; `all` is every stored week.
RANGES = {"1m": 30, "3m": 91, "1y": 365, "all": None}
RANGE_NAMES = {"1m": "1 month", "3m": "3 months", "1y": "1 year", "all": "all, weekly"}
DEFAULT_RANGE = "1y"
FIELD_NAMES = {"date": "Day", "coin": "Coin", "range": "Range"}


@dataclass(frozen=True)
class PageChoice:
    """What the person asked for: a day (None: the latest), a coin (None: BTC or the largest), a range."""

    day: date | None
    coin: str | None
    range: str


class PageError(ApiError):
    """Bad input on the page: answered as HTML with the message and the form."""


def parse_page_args(args: MultiDict) -> PageChoice:
    """`date`, `coin` and `range`; raises `PageError` with a message a person can act on."""
    errors: dict[str, str] = {}
    day = parse_date(single(args, "date", errors) or None, errors)
    raw_coin = (single(args, "coin", errors) or "").strip()
    coin = normalise_symbol(raw_coin) if raw_coin else None
    if raw_coin and coin is None:
        errors["coin"] = f"{shown(raw_coin)!r} is not a coin symbol (letters and digits, such as BTC)"
    chart_range = single(args, "range", errors) or DEFAULT_RANGE
    if chart_range not in RANGES:
        errors["range"] = f"must be one of {', '.join(RANGES)}, got {shown(chart_range)!r}"
    if errors:
        # A symbol that cannot name a coin is 404, as the API's path symbols; anything else 400.
        status = 404 if set(errors) == {"coin"} and raw_coin and coin is None else 400
        raise PageError(status, " ".join(f"{FIELD_NAMES.get(k, k)}: {v}." for k, v in errors.items()), errors)
    return PageChoice(day, coin, chart_range)


@blueprint.get("/")
def dashboard_page_view() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Every coin on a day (the dashboard endpoint's rows) and one coin's candles over a range."""
    coins = coin_choices(db.session)
    try:
        choice = parse_page_args(request.args)
    except PageError as error:
        return error_page(error, coins, request.args)
    known = {coin["symbol"]: coin for coin in coins}
    if choice.coin is not None and choice.coin not in known:
        return error_page(PageError(404, f"Coin: no coin has the symbol {choice.coin}; pick one from the list."), coins)

    page = coins_on(choice.day)
    through = page.data_through or latest_day(db.session)
    past_end = choice.day is not None and through is not None and choice.day > through
    if past_end:  # a day after the data: show the last day that has data, and say so
        page = coins_on(through)
    shown_day = page.rows[0]["date"] if page.rows else (choice.day.isoformat() if choice.day else None)
    coin = choice.coin or ("BTC" if "BTC" in known else (page.rows[0]["symbol"] if page.rows else None))
    chart = coin_chart(coin, choice.day, choice.range) if coin else None
    age = age_in_days(through)
    return (
        render_template(
            "dashboard.html",
            rows=page.rows,
            day=shown_day,
            asked_day=choice.day.isoformat() if choice.day else None,
            past_end=past_end,
            coin=coin,
            chart_range=choice.range,
            ranges=RANGE_NAMES,
            chart=chart,
            coins=coins,
            statuses={symbol: c for symbol, c in known.items() if c["status"] != "active"},
            data_through=through.isoformat() if through else None,
            data_age=age,
            stale=age is not None and age > current_app.config["STALE_AFTER_DAYS"],
        ),
        200,
        {DATA_THROUGH_HEADER: through.isoformat()} if through else {},
    )


def coins_on(day: date | None) -> DashboardPage:
    """Every coin's dashboard row on `day` (None: the latest), largest market cap first."""
    return dashboard_page(db.session, DashboardQuery(symbols=None, day=day, order_by="market_cap", per_page=1000))


def coin_chart(coin: str, day: date | None, chart_range: str) -> CandleChart | None:
    """The coin's candles up to `day` over the range: daily for up to a year, weekly for `all`."""
    if RANGES[chart_range] is None:
        history = price_history(db.session, HistoryQuery(symbol=coin, start=MIN_DATE, end=day, interval="1w"))
        return candle_chart(history.candles, period_days=7)
    history = price_history(db.session, HistoryQuery(symbol=coin, end=day))  # the 365 stored days up to `day`
    candles = history.candles
    if candles:
        first = (date.fromisoformat(candles[-1]["period_start"]) - timedelta(days=RANGES[chart_range] - 1)).isoformat()
        candles = [candle for candle in candles if candle["period_start"] >= first]
    return candle_chart(candles)


def error_page(error: ApiError, coins: list[dict], args: MultiDict | None = None) -> tuple[str, int]:
    """The form again with the message, at the error's status (400 bad input, 404 unknown coin)."""
    args = args or MultiDict()
    coin = normalise_symbol(args.get("coin", "")) or "BTC"
    chart_range = args.get("range") if args.get("range") in RANGES else DEFAULT_RANGE
    title = "Unknown coin" if error.status == 404 else "Bad request"
    return (
        render_template(
            "page_error.html",
            title=title,
            message=error.detail,
            status=error.status,
            coin=coin,
            coins=coins,
            chart_range=chart_range,
            ranges=RANGE_NAMES,
            statuses={c["symbol"]: c for c in coins if c["status"] != "active"},
        ),
        error.status,
    )
