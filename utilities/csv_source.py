"""Read daily coin CSVs from a folder, a zip file or the URL of a zip, into typed rows.

Plain functions with no Flask import, so they can be tested and reused on their own.
"""

from __future__ import annotations

import csv
import io
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

from utilities.value_bounds import (
    MAX_MARKET_CAP,
    MAX_NAME_LENGTH,
    MAX_PRICE,
    MAX_VOLUME,
    MIN_PRICE,
    SYMBOL_PATTERN,
    day_problem,
    name_problem,
    utc_today,
    value_problem,
)

# Order of the values in each `CoinHistory.rows` tuple.
RECORD_FIELDS = ("date", "open", "high", "low", "close", "volume", "marketcap")
EXPECTED_HEADER = ["SNo", "Name", "Symbol", "Date", "High", "Low", "Open", "Close", "Volume", "Marketcap"]
NUMBER_COLUMNS = ("Open", "High", "Low", "Close", "Volume", "Marketcap")
# The bound of each column, in the order of NUMBER_COLUMNS (utilities/value_bounds.py).
BOUND_FIELDS = ("open", "high", "low", "close", "volume", "market_cap")
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
    """Parse floats (scientific notation included) within the API's bounds (docs/limits.md),
    with low <= open, close <= high as the API requires of a candle."""
    try:
        numbers = [float(value) for value in values]
        open_, high, low, close, volume, marketcap = numbers
        # One test for the common case (NaN fails every comparison); the loop below says what is wrong.
        if (
            MIN_PRICE <= low <= open_ <= high <= MAX_PRICE  # not min()/max(): min(1, nan) is 1
            and low <= close <= high
            and 0 <= volume <= MAX_VOLUME
            and 0 <= marketcap <= MAX_MARKET_CAP
        ):
            return numbers
    except ValueError:
        pass
    numbers = []
    for column, bound, value in zip(NUMBER_COLUMNS, BOUND_FIELDS, values, strict=True):
        try:
            number = float(value)
        except ValueError:
            raise CsvSourceError(f"{where}: {column} is not a number: {value!r}") from None
        problem = value_problem(bound, number)
        if problem is not None:  # "close must be ...", said of the CSV's column
            raise CsvSourceError(f"{where}: {column}{problem[len(bound) :]}: {value!r}")
        numbers.append(number)
    open_, high, low, close = numbers[:4]
    if not (low <= open_ <= high and low <= close <= high):
        raise CsvSourceError(f"{where}: prices must satisfy Low <= Open, Close <= High")
    return numbers


def _coin(name: str, symbol: str, where: str) -> tuple[str, str]:
    """(name, symbol) as the API would accept them: a symbol it can name, a plain-text name."""
    name, symbol = name.strip(), symbol.strip()
    if not name or not symbol:
        raise CsvSourceError(f"{where}: Name and Symbol must not be empty")
    if not symbol.isascii() or not SYMBOL_PATTERN.match(symbol.upper()):
        raise CsvSourceError(
            f"{where}: Symbol {symbol[:40]!r} must be 1-20 ASCII letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (the API could not name it)"
        )
    problem = name_problem(name) if len(name) <= MAX_NAME_LENGTH else f"must be at most {MAX_NAME_LENGTH} characters"
    if problem is not None:
        raise CsvSourceError(f"{where}: Name {name[:40]!r} {problem}")
    return name, symbol.upper()


def _day(value: str, where: str, today: date) -> date:
    """The calendar day of a `YYYY-MM-DD[ HH:MM:SS]` timestamp (the CSVs stamp the end of the day),
    from 1900 to today (UTC)."""
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise CsvSourceError(f"{where}: Date is not YYYY-MM-DD: {value!r}") from None
    problem = day_problem(day, today, "Date")
    if problem is not None:
        raise CsvSourceError(f"{where}: {problem}")
    return day


def parse_coin_csv(stream: IO[str], source: str) -> CoinHistory:
    """Parse one coin's CSV; every row must be valid, none is silently dropped."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != EXPECTED_HEADER:
        raise CsvSourceError(f"{source}: expected header {','.join(EXPECTED_HEADER)}, got {header}")
    history: CoinHistory | None = None
    seen: set[date] = set()
    today = utc_today()
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        where = f"{source} line {line_number}"
        if len(row) != len(EXPECTED_HEADER):
            raise CsvSourceError(f"{where}: expected {len(EXPECTED_HEADER)} columns, got {len(row)}")
        _, name, symbol, day, high, low, open_, close, volume, marketcap = row
        if history is None:
            name, symbol = _coin(name, symbol, where)
            history = CoinHistory(name=name, symbol=symbol, source=source)
        elif symbol.strip().upper() != history.symbol:
            raise CsvSourceError(f"{where}: symbol {symbol!r} differs from {history.symbol!r}")
        record_day = _day(day, where, today)
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
