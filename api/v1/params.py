"""Parse and validate query parameters shared by the v1 resources."""

from __future__ import annotations

import re
from datetime import date

from werkzeug.datastructures import MultiDict

from api.errors import ApiError, InvalidParams
from api.sql.currencies import CatalogueQuery
from api.sql.dashboard import DashboardQuery
from api.sql.history import INTERVALS, HistoryQuery
from utilities.value_bounds import MIN_DATE, SYMBOL_PATTERN

MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 100
MAX_PAGE = 1_000_000
MAX_SYMBOLS = 1000
# ASCII digits only, and the whole string: `\d` admits other scripts' digits and `$` a final newline.
DATE_PATTERN = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")

# Every accepted spelling of `order_by`, mapped to the sort key api.sql.dashboard understands.
ORDER_BY_ALIASES = {
    "crypto": "crypto",
    "name": "crypto",
    "symbol": "symbol",
    "price": "price",
    "24h": "24h",
    "change_24h": "24h",
    "7d": "7d",
    "change_7d": "7d",
    "1m": "1m",
    "change_1m": "1m",
    "24h-volume": "24h-volume",
    "volume_24h": "24h-volume",
    "market_cap": "market_cap",
    "market-cap": "market_cap",
}
ORDER_TYPES = {"asc": False, "desc": True}


def single(args: MultiDict, name: str, errors: dict[str, str]) -> str | None:
    """The one value of a parameter, or None; a repeated parameter is an error."""
    values = args.getlist(name)
    if len(values) > 1:
        errors[name] = "must be given at most once"
        return None
    if values and "\x00" in values[0]:
        errors[name] = "must not contain NUL characters"
        return None
    return values[0] if values else None


def normalise_symbol(raw: str) -> str | None:
    """`raw` trimmed and upper-cased when it is a well-formed symbol, else None.

    The ASCII check comes first: `.upper()` folds look-alikes into real symbols
    (`"\u017fol".upper() == "SOL"`, `"\u00df".upper() == "SS"`)."""
    token = raw.strip()
    if not token.isascii():
        return None
    token = token.upper()
    return token if SYMBOL_PATTERN.match(token) else None


def shown(value: str, limit: int = 40) -> str:
    """`value` as it may appear in an error message: cut short, escapes for what JSON cannot carry."""
    return value[:limit].encode("utf-8", "backslashreplace").decode("utf-8")


def parse_symbols(raw_values: list[str], errors: dict[str, str]) -> tuple[str, ...] | None:
    """`all` -> None; else unique upper-case symbols in the order given."""
    tokens = [token.strip() for raw in raw_values for token in raw.split(",")]
    tokens = [token for token in tokens if token]
    if not tokens:
        errors["id"] = "is required: `all` or comma-separated symbols such as `btc,eth`"
        return None
    if any(token.isascii() and token.lower() == "all" for token in tokens):
        if len({token.lower() for token in tokens}) > 1:
            errors["id"] = "`all` cannot be combined with symbols"
        return None
    bad = [shown(token) for token in dict.fromkeys(tokens) if normalise_symbol(token) is None]
    symbols = tuple(dict.fromkeys(token.upper() for token in tokens))
    if bad:
        errors["id"] = f"invalid symbol(s): {', '.join(bad[:20])} (ASCII letters, digits, '.', '_' or '-', at most 20)"
    elif len(symbols) > MAX_SYMBOLS:
        errors["id"] = f"at most {MAX_SYMBOLS} symbols per request"
    return symbols


def parse_date(raw: str | None, errors: dict[str, str], name: str = "date") -> date | None:
    """`YYYY-MM-DD`, zero padding optional (`2021-11-9`); values are matched exactly as documented."""
    if raw is None:
        return None
    match = DATE_PATTERN.match(raw)
    try:
        if not match:
            raise ValueError
        day = date(*(int(part) for part in match.groups()))
    except ValueError:
        errors[name] = f"must be a calendar day as YYYY-MM-DD, got {raw!r}"
        return None
    if day < MIN_DATE:
        errors[name] = f"must be on or after {MIN_DATE.isoformat()}"
        return None
    return day


def parse_int(raw: str | None, name: str, default: int, maximum: int, errors: dict[str, str]) -> int:
    """A whole number between 1 and `maximum`."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        errors[name] = f"must be a whole number from 1 to {maximum}, got {raw!r}"
        return default
    return int(raw)


def parse_dashboard_args(args: MultiDict) -> DashboardQuery:
    """Validate every dashboard parameter at once; raise `InvalidParams` naming each bad one."""
    errors: dict[str, str] = {}
    symbols = parse_symbols(args.getlist("id"), errors)
    day = parse_date(single(args, "date", errors), errors)

    order_by_raw = single(args, "order_by", errors)
    order_by = ORDER_BY_ALIASES.get("crypto" if order_by_raw is None else order_by_raw)
    if order_by is None:
        errors["order_by"] = f"must be one of {', '.join(ORDER_BY_ALIASES)}, got {order_by_raw!r}"

    order_type_raw = single(args, "order_type", errors)
    descending = ORDER_TYPES.get("desc" if order_type_raw is None else order_type_raw)
    if descending is None:
        errors["order_type"] = f"must be asc or desc, got {order_type_raw!r}"

    page, per_page = parse_page(args, errors)
    if errors:
        raise InvalidParams(errors)
    return DashboardQuery(
        symbols=symbols,
        day=day,
        order_by=order_by or "crypto",
        descending=bool(descending),
        page=page,
        per_page=per_page,
    )


# The whitespace the OpenAPI patterns' `\s` means (ECMAScript): Python's `str.strip()` also
# removes U+001C-U+001F and U+0085, so `name=%1F%0D` was "blank" to the code but not to the spec.
ECMA_WHITESPACE = (
    "\t\n\v\f\r \u00a0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def parse_search_term(args: MultiDict) -> str:
    """The non-blank `name` to search for, trimmed of the whitespace the documented pattern allows."""
    errors: dict[str, str] = {}
    name = single(args, "name", errors)
    term = name.strip(ECMA_WHITESPACE) if name is not None else None
    if term is not None and len(term) > 100:
        errors["name"] = "must be at most 100 characters"
    elif not errors and not term:
        errors["name"] = "is required: a coin name or symbol such as `bitcoin` or `btc`"
    if errors:
        raise InvalidParams(errors)
    return term


def parse_page(args: MultiDict, errors: dict[str, str]) -> tuple[int, int]:
    """`page` and `per_page`, with the dashboard's rules."""
    page = parse_int(single(args, "page", errors), "page", 1, MAX_PAGE, errors)
    per_page = parse_int(single(args, "per_page", errors), "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE, errors)
    return page, per_page


def parse_catalogue_args(args: MultiDict) -> CatalogueQuery:
    """Optional `q` (trimmed, at most 100 characters; empty means no filter) and paging."""
    errors: dict[str, str] = {}
    q = single(args, "q", errors)
    if q is not None and len(q.strip()) > 100:
        errors["q"] = "must be at most 100 characters"
    page, per_page = parse_page(args, errors)
    if errors:
        raise InvalidParams(errors)
    return CatalogueQuery(q=(q or "").strip() or None, page=page, per_page=per_page)


def parse_symbol(raw: str) -> str:
    """A path symbol, upper-cased. A malformed one cannot name a stored coin: 404 without a query."""
    symbol = normalise_symbol(raw)
    if symbol is None:
        raise ApiError(404, f"Unknown symbol: {shown(raw.strip())!r}")
    return symbol


def parse_date_range(args: MultiDict, errors: dict[str, str]) -> tuple[date | None, date | None]:
    """`start` and `end` (inclusive, either may be open); errors name the parameter at fault."""
    start = parse_date(single(args, "start", errors), errors, name="start")
    end = parse_date(single(args, "end", errors), errors, name="end")
    if start and end and start > end:
        errors["start"] = f"must not be after end ({start.isoformat()} > {end.isoformat()})"
    return start, end


def parse_history_args(symbol: str, args: MultiDict, accept_csv: bool) -> tuple[HistoryQuery, str]:
    """(query, media) where media is "json" or "csv" (`format`, else the Accept header).

    `symbol` is already parsed (`parse_symbol`)."""
    errors: dict[str, str] = {}
    start, end = parse_date_range(args, errors)
    interval = single(args, "interval", errors)
    if interval is not None and interval not in INTERVALS:
        errors["interval"] = f"must be one of {', '.join(INTERVALS)}, got {interval!r}"
    media = single(args, "format", errors)
    if media is not None and media not in ("json", "csv"):
        errors["format"] = f"must be json or csv, got {media!r}"
    if errors:
        raise InvalidParams(errors)
    query = HistoryQuery(symbol=symbol, start=start, end=end, interval=interval or "1d")
    return query, media or ("csv" if accept_csv else "json")
