"""Read daily coin CSVs from a folder, a zip file or the URL of a zip, into typed rows.

Plain functions with no Flask import, so they can be tested and reused on their own.
"""

from __future__ import annotations

import csv
import io
import math
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

# Order of the values in each `CoinHistory.rows` tuple.
RECORD_FIELDS = ("date", "open", "high", "low", "close", "volume", "marketcap")
EXPECTED_HEADER = ["SNo", "Name", "Symbol", "Date", "High", "Low", "Open", "Close", "Volume", "Marketcap"]
NUMBER_COLUMNS = ("Open", "High", "Low", "Close", "Volume", "Marketcap")
URL_TIMEOUT_SECONDS = 30


class CsvSourceError(ValueError):
    """The source cannot be read, or a row in it is malformed (names the file and line)."""


@dataclass
class CoinHistory:
    """One CSV file: a coin and its daily rows, in file order."""

    name: str
    symbol: str
    source: str
    rows: list[tuple] = field(default_factory=list)


def _numbers(values: list[str], where: str) -> list[float]:
    """Parse floats (scientific notation included); reject NaN, infinities and negatives."""
    try:
        numbers = [float(value) for value in values]
        # One check for the common case: a NaN or infinity makes the sum non-finite.
        if math.isfinite(sum(numbers)) and min(numbers) >= 0:
            return numbers
    except ValueError:
        pass
    for column, value in zip(NUMBER_COLUMNS, values, strict=True):
        try:
            number = float(value)
        except ValueError:
            raise CsvSourceError(f"{where}: {column} is not a number: {value!r}") from None
        if not math.isfinite(number) or number < 0:
            raise CsvSourceError(f"{where}: {column} must be a finite non-negative number: {value!r}")
    raise AssertionError("unreachable: some value failed the bulk check")


def _day(value: str, where: str) -> date:
    """The calendar day of a `YYYY-MM-DD[ HH:MM:SS]` timestamp (the CSVs stamp the end of the day)."""
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise CsvSourceError(f"{where}: Date is not YYYY-MM-DD: {value!r}") from None


def parse_coin_csv(stream: IO[str], source: str) -> CoinHistory:
    """Parse one coin's CSV; every row must be valid, none is silently dropped."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != EXPECTED_HEADER:
        raise CsvSourceError(f"{source}: expected header {','.join(EXPECTED_HEADER)}, got {header}")
    history: CoinHistory | None = None
    seen: set[date] = set()
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        where = f"{source} line {line_number}"
        if len(row) != len(EXPECTED_HEADER):
            raise CsvSourceError(f"{where}: expected {len(EXPECTED_HEADER)} columns, got {len(row)}")
        _, name, symbol, day, high, low, open_, close, volume, marketcap = row
        if history is None:
            name, symbol = name.strip(), symbol.strip()
            if not name or not symbol:
                raise CsvSourceError(f"{where}: Name and Symbol must not be empty")
            history = CoinHistory(name=name, symbol=symbol.upper(), source=source)
        elif symbol.strip().upper() != history.symbol:
            raise CsvSourceError(f"{where}: symbol {symbol!r} differs from {history.symbol!r}")
        record_day = _day(day, where)
        if record_day in seen:
            raise CsvSourceError(f"{where}: duplicate day {record_day.isoformat()}")
        seen.add(record_day)
        history.rows.append((record_day, *_numbers([open_, high, low, close, volume, marketcap], where)))
    if history is None:
        raise CsvSourceError(f"{source}: no data rows")
    return history


def _read_zip(data: IO[bytes], label: str) -> Iterator[CoinHistory]:
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile:
        raise CsvSourceError(f"{label} is not a zip file") from None
    with archive:
        names = sorted(n for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX/"))
        if not names:
            raise CsvSourceError(f"{label} contains no .csv files")
        for name in names:
            with archive.open(name) as raw:
                yield parse_coin_csv(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""), f"{label}:{name}")


def read_source(source: str) -> Iterator[CoinHistory]:
    """Yield one `CoinHistory` per CSV in a folder, a `.zip` file or an `http(s)://` zip URL."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=URL_TIMEOUT_SECONDS) as response:
                payload = response.read()
        except OSError as error:
            raise CsvSourceError(f"cannot download {source}: {error}") from error
        yield from _read_zip(io.BytesIO(payload), source)
        return
    path = Path(source)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise CsvSourceError(f"{source} contains no .csv files")
        for file in files:
            with file.open(encoding="utf-8-sig", newline="") as stream:
                yield parse_coin_csv(stream, str(file))
    elif path.is_file():
        with path.open("rb") as stream:
            yield from _read_zip(stream, str(path))
    else:
        raise CsvSourceError(f"CSV source not found: {source}")


def count_sources(source: str) -> int:
    """How many CSV files a folder or zip holds (for the progress bar); 0 when unknown (URLs)."""
    path = Path(source)
    if path.is_dir():
        return len(list(path.glob("*.csv")))
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return sum(1 for n in archive.namelist() if n.lower().endswith(".csv") and not n.startswith("__MACOSX/"))
    return 0
