"""Flask's JSON provider, encoding with orjson: the same bytes as the standard library, faster.

Responses are compact (`separators=(",", ":")`), unsorted and ASCII-only, as Flask's default
provider made them. orjson writes most values exactly as `json.dumps` does (shortest
round-trip floats, integers, escapes, key order); where it differs, the standard library's
bytes are kept:

- floats below 1e-4 in magnitude: orjson writes `0.00001` and `1e-7` where Python writes
  `1e-05` and `1e-07`; when the encoded bytes may hold one (a token starting `0.0000`, or
  `e-`), those floats are re-encoded with `repr()` as orjson fragments;
- non-ASCII text: orjson writes UTF-8, Flask `\\u` escapes; such bodies go to the standard
  library (a non-ASCII byte is a fast check over the bytes);
- integers beyond 64 bits, non-string keys and any other type orjson refuses: the standard
  library, through Flask's `default` (dates as HTTP dates, decimals as strings, ...).

NaN and infinities are not produced: every stored number is finite (writes reject the rest).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

COMPACT = (",", ":")
# Dates, datetimes and dataclasses go through Flask's `default`, as before (orjson would write ISO).
OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
SMALL = 1e-4
# How orjson writes a float below 1e-4: an exponent `e-`, or a number token `0.0000...` (after
# `:`, `,`, `[` or a minus sign). Substring tests run in C; each scans the whole body, so the
# common case is two scans, and the four anchored ones run only when `0.0000` occurs at all.
SMALL_FLOAT_ANCHORED = (b":0.0000", b",0.0000", b"[0.0000", b"-0.0000")


def _python_floats(value: Any) -> Any:
    """`value` with each float below 1e-4 (not 0) replaced by its `repr()`, already encoded."""
    if type(value) is float:
        return orjson.Fragment(repr(value)) if 0 < abs(value) < SMALL else value
    if type(value) is dict:
        return {key: _python_floats(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return [_python_floats(item) for item in value]
    return value


class FastJSONProvider(DefaultJSONProvider):
    """`dumps` through orjson for compact, unsorted output; everything else as Flask does it."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dumps_bytes(obj, **kwargs).decode()

    def dumps_bytes(self, obj: Any, **kwargs: Any) -> bytes:
        """UTF-8 (in fact ASCII) JSON bytes: what a response body holds, without a str round trip."""
        if kwargs.get("separators") != COMPACT or len(kwargs) > 1 or self.sort_keys or not self.ensure_ascii:
            return super().dumps(obj, **kwargs).encode()
        try:
            body = orjson.dumps(obj, default=self._orjson_default, option=OPTIONS)
        except TypeError:  # orjson.JSONEncodeError: a big integer, a non-string key, ...
            return self._standard(obj)
        if not body.isascii():
            return self._standard(obj)
        if b"e-" in body or (b"0.0000" in body and any(mark in body for mark in SMALL_FLOAT_ANCHORED)):
            body = orjson.dumps(_python_floats(obj), default=self._orjson_default, option=OPTIONS)
        return body

    def _standard(self, obj: Any) -> bytes:
        return json.dumps(obj, default=self.default, ensure_ascii=True, separators=COMPACT).encode()

    def _orjson_default(self, value: Any) -> Any:
        """What orjson cannot encode natively becomes what Flask would encode for it."""
        encoded = json.dumps(value, default=self.default, ensure_ascii=True, separators=COMPACT)
        return orjson.Fragment(encoded)
