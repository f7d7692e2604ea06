"""Ground truth read straight from the CSV files with the csv module, independent of the app."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

FIELDS = {
    "crypto": "name",
    "symbol": "symbol",
    "price": "price",
    "24h": "change_24h",
    "7d": "change_7d",
    "1m": "change_1m",
    "24h-volume": "volume_24h",
    "market_cap": "market_cap",
}


@dataclass
class Coin:
    name: str
    symbol: str
    days: dict[date, dict[str, float]] = field(default_factory=dict)


@dataclass
class CsvTruth:
    coins: dict[str, Coin]

    @property
    def total_rows(self) -> int:
        return sum(len(coin.days) for coin in self.coins.values())

    @property
    def latest_day(self) -> date:
        return max(day for coin in self.coins.values() for day in coin.days)

    def change(self, symbol: str, day: date, days_back: int) -> float | None:
        today = self.coins[symbol].days[day]["Close"]
        earlier = self.coins[symbol].days.get(day - timedelta(days=days_back))
        if earlier is None or earlier["Close"] == 0:
            return None
        return (today - earlier["Close"]) / earlier["Close"] * 100

    def dashboard(
        self, symbols: list[str] | None, day: date, order_by: str = "crypto", desc: bool = True
    ) -> list[dict]:
        """The expected dashboard rows, sorted: nulls last either way, ties by symbol."""
        rows = []
        for symbol in symbols or sorted(self.coins):
            coin = self.coins[symbol]
            record = coin.days.get(day)
            if record is None:
                continue
            rows.append(
                {
                    "name": coin.name,
                    "symbol": symbol,
                    "date": day.isoformat(),
                    "price": record["Close"],
                    "change_24h": self.change(symbol, day, 1),
                    "change_7d": self.change(symbol, day, 7),
                    "change_1m": self.change(symbol, day, 30),
                    "volume_24h": record["Volume"],
                    "market_cap": record["Marketcap"],
                }
            )
        key = FIELDS[order_by]
        rows.sort(key=lambda row: row["symbol"])
        present = [row for row in rows if row[key] is not None]
        missing = [row for row in rows if row[key] is None]
        present.sort(key=lambda row: row[key].lower() if key == "name" else row[key], reverse=desc)
        return present + missing


def _read(stream, coins: dict[str, Coin]) -> None:
    for row in csv.DictReader(stream):
        symbol = row["Symbol"].upper()
        coin = coins.setdefault(symbol, Coin(name=row["Name"], symbol=symbol))
        day = date.fromisoformat(row["Date"][:10])
        coin.days[day] = {k: float(row[k]) for k in ("Open", "High", "Low", "Close", "Volume", "Marketcap")}


def load_truth(source: Path) -> CsvTruth:
    """Read a zip or a folder of coin CSVs."""
    coins: dict[str, Coin] = {}
    if source.is_dir():
        for path in sorted(source.glob("*.csv")):
            with path.open(newline="") as stream:
                _read(stream, coins)
    else:
        with zipfile.ZipFile(source) as archive:
            for name in sorted(archive.namelist()):
                with archive.open(name) as raw:
                    _read(io.TextIOWrapper(raw, encoding="utf-8", newline=""), coins)
    return CsvTruth(coins)
