"""`GET /`: a server-rendered dashboard page for people (table, date picker, price chart)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from api.chart import close_chart
from api.errors import InvalidParams
from api.extensions import db
from api.freshness import DATA_THROUGH_HEADER, age_in_days
from api.sql.dashboard import DashboardQuery, dashboard_page
from api.sql.history import HistoryQuery, price_history
from api.sql.tables import latest_day
from api.v1.params import parse_date, parse_symbol, single

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def dashboard_page_view() -> tuple[str, int, dict[str, str]]:
    """Every coin on a day (the dashboard endpoint's rows) and one coin's price over the year before."""
    errors: dict[str, str] = {}
    day = parse_date(single(request.args, "date", errors) or None, errors)
    coin = parse_symbol(single(request.args, "coin", errors) or "BTC")
    if errors:
        raise InvalidParams(errors)
    page = dashboard_page(db.session, DashboardQuery(symbols=None, day=day, order_by="market_cap", per_page=1000))
    shown_day = page.rows[0]["date"] if page.rows else (day.isoformat() if day else "")
    history = price_history(db.session, HistoryQuery(symbol=coin, end=day))
    chart = close_chart(history.candles)
    status = 200 if history.found else 404
    through = page.data_through or latest_day(db.session)
    age = age_in_days(through)
    return (
        render_template(
            "dashboard.html",
            rows=page.rows,
            day=shown_day,
            coin=coin,
            coin_known=history.found,
            chart=chart,
            symbols=sorted(row["symbol"] for row in page.rows),
            data_through=through.isoformat() if through else None,
            data_age=age,
            stale=age is not None and age > current_app.config["STALE_AFTER_DAYS"],
        ),
        status,
        {DATA_THROUGH_HEADER: through.isoformat()} if through else {},
    )
