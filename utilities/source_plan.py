"""The source plan (`data/sources.toml`): per coin, its exchange markets in order and its CoinGecko id.

Data, not code: a rename or delisting is a line in the file. Flask-free; loaded once per process.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

PLAN_PATH = Path(__file__).resolve().parent.parent / "data" / "sources.toml"


@dataclass(frozen=True)
class Market:
    """One exchange market that carries a coin, optionally only between two UTC days (inclusive)."""

    exchange: str
    symbol: str
    since: date | None = None
    until: date | None = None
    ratio: float = 1.0

    def covers(self, day: date) -> bool:
        """Whether this market is the coin's market on `day`."""
        return (self.since is None or day >= self.since) and (self.until is None or day <= self.until)


@dataclass(frozen=True)
class CoinPlan:
    """Where one coin's candles and aggregate figures come from."""

    symbol: str
    coingecko_id: str | None
    markets: tuple[Market, ...]
    peg: float | None = None


@dataclass(frozen=True)
class SourcePlan:
    """The whole plan: named coins, and the default order for coins it does not name."""

    coins: dict[str, CoinPlan]
    default_exchanges: tuple[str, ...]
    default_quotes: tuple[str, ...]
    by_coingecko_id: dict[str, str] = field(default_factory=dict)

    def coin(self, symbol: str) -> CoinPlan | None:
        """The plan for a stored symbol, or None when the file does not name it."""
        return self.coins.get(symbol.upper())

    def coingecko_id(self, symbol: str) -> str | None:
        """CoinGecko's id for a symbol, or None when the plan does not know the coin."""
        plan = self.coin(symbol)
        return plan.coingecko_id if plan else None

    def symbol_for_coingecko_id(self, coingecko_id: str) -> str | None:
        """The stored symbol behind a CoinGecko id, or None."""
        return self.by_coingecko_id.get(coingecko_id.lower())


def _day(value: object) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def parse_source_plan(document: dict) -> SourcePlan:
    """Build the plan from the parsed TOML document (raises ValueError on a malformed entry)."""
    coins: dict[str, CoinPlan] = {}
    for symbol, entry in document.get("coins", {}).items():
        markets = tuple(
            Market(
                exchange=m["exchange"],
                symbol=m["symbol"],
                since=_day(m.get("since")),
                until=_day(m.get("until")),
                ratio=float(m.get("ratio", 1.0)),
            )
            for m in entry.get("markets", [])
        )
        peg = entry.get("peg")
        coins[symbol.upper()] = CoinPlan(
            symbol=symbol.upper(),
            coingecko_id=entry.get("coingecko"),
            markets=markets,
            peg=float(peg) if peg is not None else None,
        )
    default = document.get("default", {})
    return SourcePlan(
        coins=coins,
        default_exchanges=tuple(default.get("exchanges", ())),
        default_quotes=tuple(default.get("quotes", ())),
        by_coingecko_id={c.coingecko_id: s for s, c in coins.items() if c.coingecko_id},
    )


@cache
def load_source_plan(path: Path = PLAN_PATH) -> SourcePlan:
    """The plan shipped with the project, read once per process."""
    with path.open("rb") as handle:
        return parse_source_plan(tomllib.load(handle))
