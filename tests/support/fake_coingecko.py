"""CoinGecko's v3 API faked at the HTTP level (`responses`), so the real client parses real shapes.

A small world: for BTC (`bitcoin`), USDT (`tether`) and SOL (`solana`), the circulating supply
moves between anchor days (linear between them: USDT 62.3 B on 2021-07-06 to 167 B in late
2026, SOL 273 M to 565 M), and price and total volume follow smooth daily curves. Every other
coin of data/sources.toml continues from its last CSV day (`world_coin`); any other id is
unknown. `V(D)` is a
figure at the end of UTC day D; CoinGecko's shapes, from its documentation:

- `/coins/markets?vs_currency=usd&ids=...`: one object per known id (unknown ids are left out) with
  `current_price`, `market_cap`, `total_volume`, `circulating_supply`, `last_updated`, ...
- `/coins/{id}/market_chart/range?vs_currency=usd&from=&to=` (UNIX seconds): `prices`,
  `market_caps`, `total_volumes` as `[ms, value]` pairs; 5-minutely for a range of up to a day,
  hourly (at hh:03) up to 90 days, daily at 00:00 UTC beyond (the point at D+1 00:00 is `V(D)`),
  plus a last point at "now" when the range reaches it. Intraday points drift below `V(D)`, so
  a client that takes the wrong point of the day is off by up to 5 %.
- Without the Pro key on pro-api.coingecko.com, a `from` older than 365 days answers 401 with
  error 10012, CoinGecko's public-plan message; a wrong key 401 (error 10002), `blocked` 403;
  `throttle` answers 429 with `Retry-After`; `unreachable` raises a connection error, `timeout` a
  read timeout; an unknown id 404 `{"error": "coin not found"}`.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import requests
import responses

PUBLIC_URL = "https://api.coingecko.com/api/v3"
PRO_URL = "https://pro-api.coingecko.com/api/v3"
DAY_S = 86_400
EPOCH = date(2021, 7, 6)


def _linear(anchors: list[tuple[date, float]], day: date) -> float:
    """Piecewise linear through the anchors, held flat beyond them."""
    if day <= anchors[0][0]:
        return anchors[0][1]
    for (d0, v0), (d1, v1) in itertools.pairwise(anchors):
        if day <= d1:
            return v0 + (v1 - v0) * (day - d0).days / (d1 - d0).days
    return anchors[-1][1]


@dataclass(frozen=True)
class Coin:
    """One coin of the fake world: supply anchors, and price and volume curves around a level."""

    coingecko_id: str
    symbol: str
    name: str
    supply_anchors: list[tuple[date, float]]
    price_level: float
    price_swing: float
    volume_level: float

    def supply(self, day: date) -> float:
        return _linear(self.supply_anchors, day)

    def price(self, day: date) -> float:
        t = (day - EPOCH).days
        return self.price_level * (1 + self.price_swing * math.sin(t / 37))

    def market_cap(self, day: date) -> float:
        return self.price(day) * self.supply(day)

    def total_volume(self, day: date) -> float:
        t = (day - EPOCH).days
        return self.volume_level * (1 + 0.25 * math.sin(t / 11))


WORLD = {
    coin.coingecko_id: coin
    for coin in (
        Coin(
            "bitcoin",
            "btc",
            "Bitcoin",
            [(date(2021, 7, 6), 18_748_000.0), (date(2023, 7, 1), 19_420_000.0), (date(2026, 12, 1), 19_960_000.0)],
            34_000.0,
            0.3,
            26_000_000_000.0,
        ),
        Coin(
            "tether",
            "usdt",
            "Tether",
            [
                (date(2021, 7, 6), 62_300_000_000.0),
                (date(2022, 5, 1), 83_000_000_000.0),
                (date(2022, 12, 31), 66_200_000_000.0),
                (date(2024, 6, 1), 112_000_000_000.0),
                (date(2026, 12, 1), 167_000_000_000.0),
            ],
            1.0,
            0.001,
            60_000_000_000.0,
        ),
        Coin(
            "solana",
            "sol",
            "Solana",
            [(date(2021, 7, 6), 273_000_000.0), (date(2023, 1, 1), 370_000_000.0), (date(2026, 12, 1), 565_000_000.0)],
            33.0,
            0.5,
            1_500_000_000.0,
        ),
    )
}


@functools.cache
def _bundled_world() -> dict[str, Coin]:
    """Every other coin of the source plan: continuous with its last CSV day (price, supply and
    volume on 2021-07-06), supply up 25 % by late 2026."""
    from config import BUNDLED_CSV
    from tests.support.truth import load_truth
    from utilities.source_plan import load_source_plan

    truth = load_truth(BUNDLED_CSV)
    coins = {}
    for symbol, plan in load_source_plan().coins.items():
        csv_coin = truth.coins.get(symbol)
        if not plan.coingecko_id or plan.coingecko_id in WORLD or csv_coin is None:
            continue
        last = csv_coin.days[max(csv_coin.days)]
        supply = last["Marketcap"] / last["Close"] if last["Close"] and last["Marketcap"] else 1e9
        coins[plan.coingecko_id] = Coin(
            plan.coingecko_id,
            symbol.lower(),
            csv_coin.name,
            [(EPOCH, supply), (date(2026, 12, 1), supply * 1.25)],
            last["Close"],
            0.2,
            last["Volume"] or 1e8,
        )
    return coins


def world_coin(coingecko_id: str) -> Coin | None:
    """The fake world's coin behind a CoinGecko id: BTC, USDT and SOL as above, every other coin
    of data/sources.toml from its CSV, None for ids CoinGecko would not know."""
    return WORLD.get(coingecko_id) or _bundled_world().get(coingecko_id)


HISTORY_LIMIT_BODY = {
    "error": {
        "status": {
            "timestamp": "2026-12-02T12:00:00.000+00:00",
            "error_code": 10012,
            "error_message": "Your request exceeds the allowed time range. Public API users are limited to querying "
            "historical data within the past 365 days. Upgrade to a paid plan to enjoy full historical data access: "
            "https://www.coingecko.com/en/api/pricing. ",
        }
    }
}
BAD_KEY_BODY = {"status": {"error_code": 10002, "error_message": "API Key Missing"}}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass
class FakeCoinGecko:
    """The fake's state: its "today" (now is today 12:00 UTC), keys, and failures to serve."""

    today: date = date(2021, 7, 20)
    pro_keys: set[str] = field(default_factory=lambda: {"pro-key"})
    demo_keys: set[str] = field(default_factory=lambda: {"demo-key"})
    throttle: int = 0  # answer this many next requests with 429
    retry_after: int = 1
    blocked: bool = False
    unreachable: bool = False
    timeout: bool = False
    calls: list[str] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return _midnight(self.today) + timedelta(hours=12)

    def _refusal(self, request, pro_host: bool) -> tuple[int, dict, str] | None:
        if self.unreachable:
            raise requests.ConnectionError("Failed to resolve 'api.coingecko.com'")
        if self.timeout:
            raise requests.ReadTimeout("Read timed out. (read timeout=15)")
        if self.blocked:
            return 403, {}, '{"error": "Forbidden"}'
        if self.throttle:
            self.throttle -= 1
            body = '{"status": {"error_code": 429, "error_message": "You\'ve exceeded the Rate Limit."}}'
            return 429, {"Retry-After": str(self.retry_after)}, body
        key_header = "x-cg-pro-api-key" if pro_host else "x-cg-demo-api-key"
        key = request.headers.get(key_header)
        valid = self.pro_keys if pro_host else self.demo_keys
        if (pro_host and key is None) or (key is not None and key not in valid):
            return 401, {}, _json(BAD_KEY_BODY)
        return None

    def serve(self, request) -> tuple[int, dict, str]:
        url = urlparse(request.url)
        self.calls.append(url.path)
        pro_host = url.hostname == "pro-api.coingecko.com"
        refusal = self._refusal(request, pro_host)
        if refusal:
            return refusal
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        path = url.path.removeprefix("/api/v3")
        if path == "/coins/markets":
            return 200, {}, _json(self.markets(query))
        match = re.fullmatch(r"/coins/([^/]+)/market_chart/range", path)
        if match:
            coin = world_coin(match.group(1))
            if coin is None:
                return 404, {}, '{"error": "coin not found"}'
            start = datetime.fromtimestamp(int(query["from"]), UTC)
            end = datetime.fromtimestamp(int(query["to"]), UTC)
            if not pro_host and start < self.now - timedelta(days=365):
                return 401, {}, _json(HISTORY_LIMIT_BODY)
            return 200, {}, _json(self.chart(coin, start, end))
        return 404, {}, '{"error": "Not found"}'

    def markets(self, query: dict) -> list[dict]:
        coins = [world_coin(cg_id) for cg_id in query.get("ids", "").split(",")]
        rows = []
        for rank, coin in enumerate((coin for coin in coins if coin is not None), start=1):
            day = self.today
            rows.append(
                {
                    "id": coin.coingecko_id,
                    "symbol": coin.symbol,
                    "name": coin.name,
                    "image": f"https://coin-images.coingecko.com/coins/images/1/large/{coin.coingecko_id}.png",
                    "current_price": coin.price(day),
                    "market_cap": coin.market_cap(day),
                    "market_cap_rank": rank,
                    "fully_diluted_valuation": None,
                    "total_volume": coin.total_volume(day),
                    "high_24h": coin.price(day) * 1.02,
                    "low_24h": coin.price(day) * 0.98,
                    "price_change_24h": 0.0,
                    "price_change_percentage_24h": 0.0,
                    "market_cap_change_24h": 0.0,
                    "market_cap_change_percentage_24h": 0.0,
                    "circulating_supply": coin.supply(day),
                    "total_supply": coin.supply(day),
                    "max_supply": None,
                    "ath": coin.price_level * 2,
                    "ath_change_percentage": -50.0,
                    "ath_date": "2021-11-10T14:24:11.849Z",
                    "atl": 0.01,
                    "atl_change_percentage": 1.0e6,
                    "atl_date": "2013-07-06T00:00:00.000Z",
                    "roi": None,
                    "last_updated": self.now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                }
            )
        return rows

    def chart(self, coin: Coin, start: datetime, end: datetime) -> dict:
        """Points in [start, min(end, now)] at CoinGecko's granularity for that span."""
        end = min(end, self.now)
        span = end - start
        moments: list[datetime] = []
        if span <= timedelta(days=1):
            step, first = timedelta(minutes=5), start
        elif span <= timedelta(days=90):
            step = timedelta(hours=1)
            first = start.replace(minute=3, second=0, microsecond=0)
            first = first if first >= start else first + step
        else:
            step = timedelta(days=1)
            first = (
                _midnight(start.date())
                if start == _midnight(start.date())
                else _midnight(start.date() + timedelta(days=1))
            )
        moment = first
        while moment <= end:
            moments.append(moment)
            moment += step
        if moments and moments[-1] < end == self.now:
            moments.append(self.now)
        prices, caps, volumes = [], [], []
        for moment in moments:
            price, cap, volume = self.at(coin, moment)
            prices.append([_ms(moment), price])
            caps.append([_ms(moment), cap])
            volumes.append([_ms(moment), volume])
        return {"prices": prices, "market_caps": caps, "total_volumes": volumes}

    @staticmethod
    def at(coin: Coin, moment: datetime) -> tuple[float, float, float]:
        """The figures at a moment: V(D) at D+1 00:00, drifting up to 5 % below it earlier in D."""
        day = (moment - timedelta(milliseconds=1)).date()
        into_day = (moment - _midnight(day)).total_seconds() / DAY_S  # (0, 1]
        drift = 1 - 0.05 * (1 - into_day)
        price = coin.price(day) * drift
        return price, price * coin.supply(day), coin.total_volume(day) * drift


def _json(value) -> str:
    return json.dumps(value)


@contextlib.contextmanager
def coingecko_answering(passthru: tuple[str, ...] = (), **state) -> Iterator[FakeCoinGecko]:
    """CoinGecko's public and Pro hosts, answered by the fake world (`fake_coingecko`); requests to
    a `passthru` prefix (a fake exchange on 127.0.0.1) go out for real."""
    fake = FakeCoinGecko(**state)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for prefix in passthru:
            mock.add_passthru(prefix)
        for base in (PUBLIC_URL, PRO_URL):
            mock.add_callback(responses.GET, re.compile(re.escape(base) + r"/.*"), fake.serve)
        yield fake
