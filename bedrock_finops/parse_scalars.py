"""Scalar fields of an invocation-log record: timestamps, token counts, numbers.

Each parser either gives the value or raises :class:`BadRecord` with the quarantine reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# ISO-8601 as AWS writes it: date 'T' time, optional fraction, then Z or a +HH:MM offset;
# also as RFC 3339 allows it (a lowercase t or z, a space for the T: pandas writes one)
_TS_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:?\d{2})$"
)
HOUR_MEMO_ENTRIES = 1 << 16  # distinct hours fast_timestamp_ms remembers before it starts over
# More tokens than any one call can hold: 10x the longest context window Bedrock offers
# (Llama 4 Scout, 10M). A count above it is corrupt; kept, a few would make the columns' sums
# wrap past int64 and turn a month's spend negative.
MAX_TOKENS_PER_CALL = 100_000_000
# The highest temperature any Bedrock model takes: Cohere Command's 5 (Converse, Anthropic,
# Llama, Mistral, Titan and Nova take 0-1; OpenAI's gpt-oss 0-2).
MAX_TEMPERATURE = 5.0
# The row's values a record gives that Bedrock bounds, each from 0 to this: a request outside
# them is refused (a negative max_tokens fails validation) and no call lasts a negative time,
# so a record that holds one was made or changed by hand. Its row stays (its tokens were
# billed) with null there; see ``out_of_bounds``. max_tokens may be 0 (Titan's maxTokenCount
# takes it); a call's duration has no published limit.
ROW_VALUE_BOUNDS: dict[str, float] = {
    "latency_ms": math.inf,
    "max_tokens": MAX_TOKENS_PER_CALL,
    "temperature": MAX_TEMPERATURE,
}
# the reason for a timestamp that cannot be read; one reason for all of them (the value is in
# the quarantine excerpt), so the quarantine counts them together
BAD_TIMESTAMP = "bad timestamp (expected ISO-8601 with a date, time and Z or an offset)"
# the times a UTC datetime can hold (years 1 to 9999): a time within them in its own offset
# can fall outside in UTC, and the table's timestamps are read back as datetimes
MIN_TIMESTAMP_MS = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
MAX_TIMESTAMP_MS = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)


class BadRecord(ValueError):
    """A record that cannot become a row; ``args[0]`` is the quarantine reason."""


def parse_timestamp_ms(value: Any) -> int:
    """ISO-8601 (with or without fraction, Z or offset) -> epoch milliseconds, UTC.

    A time with no zone is refused: it could be any zone, and a guess would move records
    across hours and days."""
    if not isinstance(value, str) or not _TS_RE.match(value):
        raise BadRecord(BAD_TIMESTAMP)
    text = value if value[-1] != "z" else value[:-1] + "Z"
    if "." in text:  # fromisoformat takes at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = head + "." + (rest[:digits] + "000000")[:6] + rest[digits:]
    try:
        ms = int(datetime.fromisoformat(text).timestamp() * 1000)
    except ValueError:
        raise BadRecord(BAD_TIMESTAMP) from None
    if not MIN_TIMESTAMP_MS <= ms <= MAX_TIMESTAMP_MS:  # 0001-01-01T00:00+01:00 is year 0 in UTC
        raise BadRecord(BAD_TIMESTAMP)
    return ms


def token_count(section: dict, name: str, required: bool) -> int | None:
    """A token count field: a non-negative integer (an integral float is accepted)."""
    value = section.get(name)
    if value is None:
        if required:
            raise BadRecord(f"missing {name}")
        return None
    if type(value) is not int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise BadRecord(f"non-integer {name}")
    if value < 0:
        raise BadRecord(f"negative {name}")
    if value > MAX_TOKENS_PER_CALL:
        raise BadRecord(f"{name} too large")
    return value


def out_of_bounds(column: str, value: float | None) -> str | None:
    """Why a row's ``column`` (one of ``ROW_VALUE_BOUNDS``) cannot hold ``value``: "negative",
    "too large" or "not a number"; None when it can, or when there is no value."""
    if value is None or 0 <= value <= ROW_VALUE_BOUNDS[column]:
        return None
    if value < 0:
        return "negative"
    return "too large" if value > ROW_VALUE_BOUNDS[column] else "not a number"


def within_bounds(latency: float | None, max_tokens: int | None, temp: float | None) -> bool:
    """Whether none of the three is :func:`out_of_bounds`: the fast path's check, in one call."""
    return (
        (latency is None or latency >= 0)
        and (max_tokens is None or 0 <= max_tokens <= MAX_TOKENS_PER_CALL)
        and (temp is None or 0 <= temp <= MAX_TEMPERATURE)
    )


def as_float(value: Any) -> float | None:
    """A JSON number as float; None for anything else (booleans included)."""
    if type(value) is float:  # the common case, decided without the checks below
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def as_int(value: Any) -> int | None:
    """A JSON number as int, rounded down (a negative fraction stays negative, and a number
    past int64 stays as large: :func:`out_of_bounds` names both); None for anything else
    (booleans included) and for a float that is not finite."""
    if type(value) is int:  # the common case
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return math.floor(value)


def py_fast_timestamp_ms(value: Any, hours: dict[str, int]) -> int | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (AWS's own form) or ``YYYY-MM-DDTHH:MM:SS.mmmZ`` -> epoch ms,
    as :func:`parse_timestamp_ms` computes it (a space or ``t`` for the ``T`` is read too, as
    there; the compiled twin leaves those to the full parser).

    The date and hour are parsed once per distinct hour (``hours`` memo), minutes and seconds
    by slicing; the result repeats ``parse_timestamp_ms``'s float arithmetic exactly
    (microseconds / 1e6 * 1000, truncated). None for any other form: the caller falls back
    to the full parser.
    """
    if type(value) is not str:
        return None
    n = len(value)
    if (
        (n != 24 and n != 20)
        or value[n - 1] != "Z"
        or (n == 24 and value[19] != ".")
        or value[16] != ":"
        or value[13] != ":"
    ):
        return None
    digits = value[14:16] + value[17:19] + (value[20:23] if n == 24 else "000")
    if not (digits.isascii() and digits.isdigit()):
        return None
    minute = int(digits[:2])
    second = int(digits[2:4])
    if minute > 59 or second > 59:
        return None
    head = value[:13]
    hour = hours.get(head)
    if hour is None:
        text = head + ":00:00Z"
        if not _TS_RE.match(text):
            return None
        try:
            hour = parse_timestamp_ms(text) // 1000
        except BadRecord:
            return None
        if len(hours) >= HOUR_MEMO_ENTRIES:
            hours.clear()
        hours[head] = hour
    us = (hour + minute * 60 + second) * 1_000_000 + int(digits[4:]) * 1000
    return int(us / 1_000_000 * 1000)


fast_timestamp_ms: Callable[[Any, dict[str, int]], int | None]
try:  # the same, compiled (no memo needed); built at install when a C compiler is present
    from bedrock_finops._timestamps import fast_timestamp_ms
except ImportError:
    fast_timestamp_ms = py_fast_timestamp_ms
COMPILED = fast_timestamp_ms is not py_fast_timestamp_ms
