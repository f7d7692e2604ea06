"""The bounds every stored value keeps (docs/limits.md), shared by the API's validation and seeding.

Chosen so that no arithmetic the queries do can overflow a double on either backend: the
largest change is (MAX_PRICE - MIN_PRICE) / MIN_PRICE * 100 = 1e23 %, a period's volume summed
over 100,000 days is at most 1e20, close x supply at most 1e27; doubles hold 1.8e308. Each
bound is also far beyond any real coin (the bundled data peaks at a 64,863 USD price, a
3.5e11 USD day's volume and a 1.2e12 USD market cap).
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import UTC, date, datetime

MIN_PRICE = 1e-12  # USD per coin: the smallest positive price (0 is allowed: "no trade")
MAX_PRICE = 1e9  # USD per coin
MAX_VOLUME = 1e15  # USD traded in one day
MAX_MARKET_CAP = 1e16  # USD
MAX_SUPPLY = 1e18  # coins in circulation
MIN_DATE = date(1900, 1, 1)
# A symbol as the API accepts it (upper-cased first): what a path or `id=` can name.
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,19}\Z", re.ASCII)
MAX_NAME_LENGTH = 100
PRICE_FIELDS = ("open", "high", "low", "close")
# Unicode categories a name must not contain: controls, format characters (bidi controls such as
# U+202E, zero-width spaces and joiners, U+FEFF), line and paragraph separators, private use,
# surrogates and unassigned code points. They make one name look like another, or reorder text.
REFUSED_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def utc_today() -> date:
    """Today in UTC: no candle or supply is dated after it."""
    return datetime.now(UTC).date()


def value_problem(field: str, value: float | None) -> str | None:
    """Why `value` cannot be stored as `field` (a price, volume or market_cap), or None when it can."""
    if value is None:
        return None
    if not math.isfinite(value) or value < 0:
        return f"{field} must be a finite non-negative number"
    if field in PRICE_FIELDS:
        if value != 0 and not MIN_PRICE <= value <= MAX_PRICE:
            return f"{field} must be 0 or between {MIN_PRICE:g} and {MAX_PRICE:g} USD"
    elif field == "volume":
        if value > MAX_VOLUME:
            return f"volume must be at most {MAX_VOLUME:g} USD"
    elif field in ("market_cap", "marketcap") and value > MAX_MARKET_CAP:
        return f"market_cap must be at most {MAX_MARKET_CAP:g} USD"
    return None


def day_problem(day: date, today: date, field: str = "date") -> str | None:
    """Why a candle or supply day cannot be stored, or None."""
    if day < MIN_DATE:
        return f"{field} must be on or after {MIN_DATE.isoformat()}"
    if day > today:
        return f"{field} must not be after today (UTC, {today.isoformat()})"
    return None


def name_problem(name: str) -> str | None:
    """Why a coin name is refused (look-alike or reordering characters), or None."""
    for character in name:
        if unicodedata.category(character) in REFUSED_NAME_CATEGORIES:
            return f"must not contain control, bidi or zero-width characters (found U+{ord(character):04X})"
    return None
