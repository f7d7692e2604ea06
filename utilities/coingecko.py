"""CoinGecko's API: the only module that talks to the aggregator (supply, market cap, total volume).

Plain `requests` with bounded timeouts; every failure is translated once into an `AggregatorError`
subclass (unreachable, rate limited, refused, plan limit, bad answer) so callers never see a
`requests` exception. A 429 or 5xx is retried only while its `Retry-After` fits in the client's
deadline (seconds from the client's creation), never minutes of back-off. Without a Pro key the
history of `market_chart/range` is limited to the last 365 days: the client asks only for what
the plan allows and says what it clipped. Flask-free; docs/data.md, "Aggregator".
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse

import requests

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.coingecko.com/api/v3"
PRO_HOST = "pro-api.coingecko.com"
# The public and Demo plans serve `market_chart/range` for the past 365 days only (error 10012).
PUBLIC_HISTORY_DAYS = 365
HISTORY_LIMIT_CODE = 10012
# (connect, read) seconds per request; the deadline bounds the whole client, retries included.
DEFAULT_TIMEOUT = (3.05, 15.0)
DEFAULT_DEADLINE = 60.0
MAX_ATTEMPTS = 3
# The largest supply (coins) or dollar figure accepted, as the write API's bound on supply.
MAX_FIGURE = 1e18
# /coins/markets answers at most 250 coins per page.
MARKETS_PAGE = 250


class AggregatorError(RuntimeError):
    """CoinGecko did not give what was asked; `kind` says why in one word (for reports)."""

    kind = "error"
    # Whether the rest of a run should stop asking (a plan-wide refusal, an outage) or move on.
    stops_run = False


class AggregatorUnreachable(AggregatorError):
    """No answer: DNS, connection refused, timeout."""

    kind = "unreachable"
    stops_run = True


class AggregatorRateLimited(AggregatorError):
    """429 beyond what the deadline allows waiting for."""

    kind = "rate_limited"
    stops_run = True


class AggregatorRefused(AggregatorError):
    """401/403: a missing, wrong or wrong-plan key, or an address CoinGecko blocks."""

    kind = "refused"
    stops_run = True


class HistoryLimitError(AggregatorError):
    """The plan does not serve history that far back (CoinGecko's error 10012): plan-wide, so the
    run stops asking (the client clips to the public plan's window; a mirror may be stricter)."""

    kind = "history_limit"
    stops_run = True


class AggregatorBadResponse(AggregatorError):
    """An answer this client cannot read (unknown coin id, 4xx/5xx, malformed JSON)."""

    kind = "bad_response"


@dataclass(frozen=True)
class MarketSnapshot:
    """`/coins/markets` for one coin: current circulating supply (coins), market cap and 24 h total
    volume (US dollars), and the UTC day CoinGecko last updated them."""

    coingecko_id: str
    circulating_supply: float | None
    market_cap: float | None
    total_volume: float | None
    price: float | None
    as_of: date | None


@dataclass(frozen=True)
class DailyAggregate:
    """One UTC day closed by CoinGecko's snapshot: price, market cap and 24 h total volume in US
    dollars across every market it tracks."""

    day: date
    price: float | None
    market_cap: float | None
    total_volume: float | None


@dataclass(frozen=True)
class History:
    """A coin's daily aggregates and the range actually asked (after the plan's clipping)."""

    days: list[DailyAggregate]
    asked_start: date | None
    asked_end: date | None
    clipped_before: date | None = None  # the first day the plan allowed, when the request reached earlier


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _number(value: object) -> float | None:
    """A number in [0, MAX_FIGURE], or None: CoinGecko sends null for unknown figures, and a figure
    out of bounds is treated as unknown rather than stored (no sum of them can overflow)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of 309+ digits
        return None
    return number if math.isfinite(number) and 0 <= number <= MAX_FIGURE else None


def day_closed_by(ms: int) -> date:
    """The UTC day a snapshot closes: a point at 00:00 UTC closes the day before (CoinGecko's
    daily points), any other point the day it falls in (the last such point of a day wins)."""
    return (datetime.fromtimestamp(ms / 1000, UTC) - timedelta(milliseconds=1)).date()


def daily_series(payload: dict, start: date, end: date, today: date) -> list[DailyAggregate]:
    """One aggregate per complete UTC day in [start, end] from `market_chart/range`'s `[ms, value]`
    lists (5-minutely, hourly or daily): the last snapshot of each day; today's is incomplete."""
    by_day: dict[date, dict[str, tuple[int, float | None]]] = {}
    for key, name in (("prices", "price"), ("market_caps", "market_cap"), ("total_volumes", "total_volume")):
        points = payload.get(key)
        if not isinstance(points, list):
            raise AggregatorBadResponse(f"market_chart/range answer without a {key!r} list")
        for point in points:
            if not (isinstance(point, list) and len(point) == 2 and isinstance(point[0], int | float)):
                raise AggregatorBadResponse(f"market_chart/range {key} point {point!r} is not [ms, value]")
            ms = int(point[0])
            day = day_closed_by(ms)
            if not (start <= day <= end and day < today):
                continue
            seen = by_day.setdefault(day, {}).get(name)
            if seen is None or ms >= seen[0]:
                by_day[day][name] = (ms, _number(point[1]))
    return [
        DailyAggregate(
            day=day,
            price=values.get("price", (0, None))[1],
            market_cap=values.get("market_cap", (0, None))[1] or None,  # 0 means unknown to CoinGecko
            total_volume=values.get("total_volume", (0, None))[1],
        )
        for day, values in sorted(by_day.items())
    ]


class CoinGeckoClient:
    """CoinGecko's v3 API at `base_url`, with an optional key sent as its docs say: the
    `x-cg-pro-api-key` header on pro-api.coingecko.com, `x-cg-demo-api-key` anywhere else."""

    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        api_key: str | None = None,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or None
        self.pro = urlparse(self.base_url).hostname == PRO_HOST
        self.timeout = timeout
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.ends_at = clock() + deadline
        self.requests = 0
        headers = {"Accept": "application/json", "User-Agent": "crypto-price-api"}
        if self.api_key:
            headers["x-cg-pro-api-key" if self.pro else "x-cg-demo-api-key"] = self.api_key
        self.session.headers.update(headers)

    @property
    def history_days(self) -> int | None:
        """Days of `market_chart/range` history the plan serves (None: all, the Pro plan)."""
        return None if self.pro and self.api_key else PUBLIC_HISTORY_DAYS

    def earliest_day(self, today: date) -> date | None:
        """The first day the plan serves history for, or None when unlimited."""
        days = self.history_days
        return None if days is None else today - timedelta(days=days - 1)

    def markets(self, ids: list[str]) -> dict[str, MarketSnapshot]:
        """Current supply, market cap and total volume of these CoinGecko ids (one request per 250)."""
        snapshots: dict[str, MarketSnapshot] = {}
        for first in range(0, len(ids), MARKETS_PAGE):
            chunk = ids[first : first + MARKETS_PAGE]
            rows = self._get(
                "/coins/markets",
                {"vs_currency": "usd", "ids": ",".join(chunk), "per_page": MARKETS_PAGE, "page": 1},
            )
            if not isinstance(rows, list):
                raise AggregatorBadResponse("/coins/markets answer is not a list")
            for row in rows:
                if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                    raise AggregatorBadResponse(f"/coins/markets row {row!r} has no id")
                updated = row.get("last_updated")
                snapshots[row["id"]] = MarketSnapshot(
                    coingecko_id=row["id"],
                    circulating_supply=_number(row.get("circulating_supply")) or None,
                    market_cap=_number(row.get("market_cap")) or None,
                    total_volume=_number(row.get("total_volume")),
                    price=_number(row.get("current_price")),
                    as_of=date.fromisoformat(updated[:10]) if isinstance(updated, str) and len(updated) >= 10 else None,
                )
        return snapshots

    def daily_history(self, coingecko_id: str, start: date, end: date, *, today: date) -> History:
        """Daily aggregates of one coin for [start, end], clipped to the plan's window and to the
        last complete day (yesterday): an empty history when nothing of the range is allowed."""
        end = min(end, today - timedelta(days=1))
        earliest = self.earliest_day(today)
        clipped = earliest if earliest is not None and start < earliest else None
        if clipped is not None:
            log.info(
                "CoinGecko %s: history before %s is beyond the plan's %d days; asking %s .. %s",
                coingecko_id,
                earliest,
                self.history_days,
                earliest,
                end,
            )
            start = earliest
        if start > end:
            return History(days=[], asked_start=None, asked_end=None, clipped_before=clipped)
        # `to` is the next day's 00:00 UTC: the snapshot that closes `end`.
        payload = self._get(
            f"/coins/{coingecko_id}/market_chart/range",
            {"vs_currency": "usd", "from": _epoch(start), "to": _epoch(end + timedelta(days=1))},
        )
        if not isinstance(payload, dict):
            raise AggregatorBadResponse("market_chart/range answer is not an object")
        return History(
            days=daily_series(payload, start, end, today), asked_start=start, asked_end=end, clipped_before=clipped
        )

    def _get(self, path: str, params: dict) -> object:
        """One GET with bounded retries of 429/5xx inside the deadline; errors translated once."""
        url = self.base_url + path
        for attempt in range(1, MAX_ATTEMPTS + 1):
            remaining = self.ends_at - self.clock()
            if remaining <= 0:
                raise AggregatorUnreachable(f"CoinGecko: the run's deadline passed before {path}")
            self.requests += 1
            try:
                response = self.session.get(
                    url, params=params, timeout=(self.timeout[0], min(self.timeout[1], remaining))
                )
            except requests.Timeout as error:
                raise AggregatorUnreachable(f"CoinGecko {path}: no answer in time ({error})") from None
            except requests.RequestException as error:
                raise AggregatorUnreachable(f"CoinGecko {path}: {type(error).__name__}") from None
            if response.status_code == 200:
                try:
                    return response.json()
                except ValueError:
                    raise AggregatorBadResponse(f"CoinGecko {path}: 200 without JSON") from None
            wait = self._retry_wait(response, attempt)
            if wait is None:
                raise self._translate(path, response)
            if wait > self.ends_at - self.clock():
                raise AggregatorRateLimited(
                    f"CoinGecko {path}: {response.status_code}, Retry-After {wait:.0f} s is past the run's deadline"
                )
            log.warning("CoinGecko %s: %s, retrying in %.1f s", path, response.status_code, wait)
            self.sleep(wait)
        raise self._translate(path, response)

    @staticmethod
    def _retry_wait(response: requests.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying a 429 or 5xx (Retry-After when given), or None."""
        status = response.status_code
        if status != 429 and not 500 <= status < 600:
            return None
        if attempt >= MAX_ATTEMPTS:
            return None
        header = response.headers.get("Retry-After", "").strip()
        if header.isdigit():
            return float(header)
        return float(2 ** (attempt - 1))

    @staticmethod
    def _translate(path: str, response: requests.Response) -> AggregatorError:
        """The project's error for a refusal, with CoinGecko's own message when it gave one."""
        status = response.status_code
        code, message = _error_body(response)
        text = f"CoinGecko {path}: {status}" + (f" ({message})" if message else "")
        if code == HISTORY_LIMIT_CODE:
            return HistoryLimitError(text)
        if status == 429:
            return AggregatorRateLimited(text)
        if status in (401, 403):
            return AggregatorRefused(text)
        if status >= 500:
            return AggregatorUnreachable(text)
        return AggregatorBadResponse(text)


def _error_body(response: requests.Response) -> tuple[int | None, str]:
    """CoinGecko's `{"error": {"status": {"error_code", "error_message"}}}`, `{"status": {...}}`
    or `{"error": "..."}`: its code and message, when the body says."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    error = body.get("error", body)
    if isinstance(error, str):
        return None, error[:200]
    status = error.get("status") if isinstance(error, dict) else None
    if isinstance(status, dict):
        code = status.get("error_code")
        return (code if isinstance(code, int) else None), str(status.get("error_message", ""))[:200]
    return None, ""
