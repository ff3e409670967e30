"""Time windows over AWS's dated folder layout: ``.../YYYY/MM/DD/HH/<file>``.

A key's *date folders* are the run of year, month, day and hour folders in its path: the first
folder named like a year (``20YY``), then as many of month, day and hour as follow and are
valid. In AWS's layout (``.../BedrockModelInvocationLogs/<region>/YYYY/...``) the year is looked
for only after the region, so a year in the prefix above it (``bedrock/2025/AWSLogs/...``) is
not taken for the date. The deepest date folder gives the key's *span*, the time it covers (a
whole year, month, day or hour). A key with no year folder has no span and is never outside a
window.

The span of a folder contains the span of every key below it that has no AWS layout below the
folder, and of every key below a folder already in the layout. That is what lets an S3 listing
skip a folder outside the window (every key under it is outside too, once it is known that no
layout starts below it: see ``s3_listing``) and list a folder whole once every hour of it is
inside (every key under it is inside too, or a superset the window filters), with exactly the
keys that filtering a whole listing by :func:`key_in_window` keeps.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

# a record may be delivered in a later hour's file than its timestamp
DELIVERY_SLACK = timedelta(hours=1)
# A window bound's years (UTC): Bedrock logs start in 2023; the slack added to a bound must
# stay a datetime, and CloudWatch Logs takes no time before 1970.
WINDOW_YEARS = (1970, 9998)
HOUR = timedelta(hours=1)
# the folder AWS's layout names: .../AWSLogs/<account>/BedrockModelInvocationLogs/<region>/YYYY/...
LAYOUT_FOLDER = "BedrockModelInvocationLogs"

Span = tuple[datetime, datetime]  # [start, end)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _is_year(part: str) -> bool:
    return len(part) == 4 and part.startswith("20") and part.isascii() and part.isdigit()


def _number(part: str, low: int, high: int) -> int | None:
    if len(part) != 2 or not (part.isascii() and part.isdigit()):
        return None
    value = int(part)
    return value if low <= value <= high else None


def layout_start(folders: list[str]) -> int | None:
    """Where the folders below ``BedrockModelInvocationLogs/<region>/`` start in ``folders``
    (outermost first); None when the path does not have AWS's layout.

    The index may be ``len(folders)``: the path ends at the region (or at the service folder,
    where the region is still to come), so no date folder is in it yet.
    """
    if LAYOUT_FOLDER not in folders:
        return None
    last = len(folders) - 1 - folders[::-1].index(LAYOUT_FOLDER)  # the deepest one
    return min(last + 2, len(folders))


def folders_span(folders: list[str]) -> Span | None:
    """The span of the date folders among ``folders`` (outermost first), else None."""
    after = layout_start(folders) or 0
    i = next((i for i, part in enumerate(folders) if i >= after and _is_year(part)), None)
    if i is None:
        return None
    year = int(folders[i])
    rest = folders[i + 1 : i + 4]
    month = _number(rest[0], 1, 12) if len(rest) > 0 else None
    if month is None:
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    first = datetime(year, month, 1, tzinfo=UTC)
    days = calendar.monthrange(year, month)[1]
    day = _number(rest[1], 1, days) if len(rest) > 1 else None
    if day is None:
        return first, first + timedelta(days=days)
    midnight = first.replace(day=day)
    hour = _number(rest[2], 0, 23) if len(rest) > 2 else None
    if hour is None:
        return midnight, midnight + timedelta(days=1)
    start = midnight.replace(hour=hour)
    return start, start + HOUR


def key_span(key: str) -> Span | None:
    """The span of a key's date folders (the file name itself is not a folder)."""
    return folders_span(key.split("/")[:-1])


def _folder_parts(folder: str) -> list[str]:
    parts = folder.split("/")
    if parts[-1] == "":
        parts.pop()
    return parts


def has_layout(key: str) -> bool:
    """Whether ``key`` is in AWS's layout (below a ``BedrockModelInvocationLogs`` folder: the
    permission-check object beside the regions is too)."""
    return layout_start(key.split("/")[:-1]) is not None


def in_layout(folder: str) -> bool:
    """Whether ``folder`` is the region folder of AWS's layout or below it: its span, and the
    span of every key under it, is then read from the date folders after the region."""
    return LAYOUT_FOLDER in _folder_parts(folder)[:-1]


def folder_span(folder: str) -> Span | None:
    """The span of a folder path such as ``AWSLogs/.../2026/10/02/`` (trailing ``/`` or not).

    Empty names between two slashes are folders too (S3 allows ``2026//10/``), as in
    :func:`key_span`, so a folder and the keys under it always agree.
    """
    return folders_span(_folder_parts(folder))


def may_hold(span: Span, start: datetime | None, end: datetime | None) -> bool:
    """Whether some hour of ``span`` can hold records of [start, end) (delivery slack added)."""
    lo, hi = span
    if start is not None and hi <= start:
        return False
    return not (end is not None and lo >= end + DELIVERY_SLACK)


def all_inside(span: Span, start: datetime | None, end: datetime | None) -> bool:
    """Whether every hour of ``span`` can hold records of [start, end): nothing to skip in it."""
    lo, hi = span
    if start is not None and lo + HOUR <= start:
        return False
    return not (end is not None and hi - HOUR >= end + DELIVERY_SLACK)


def key_in_window(key: str, start: datetime | None, end: datetime | None) -> bool:
    """Whether the date folders of ``key`` can hold records of [start, end)."""
    span = key_span(key)
    return span is None or may_hold(span, start, end)


def ceil_ms(when: datetime) -> int:
    """A window bound in milliseconds since the epoch, rounded up (naive: UTC).

    Records carry milliseconds and are kept when ``start <= ts < end``: a bound between two
    milliseconds keeps what is after it and drops what is before it only when both bounds are
    rounded up (floored, 06:00:00.0005 as a start kept a record at 06:00:00.000). Counted in
    whole microseconds, not through a float's ``timestamp()``; a pandas Timestamp's
    nanoseconds round up too.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    us = (when - EPOCH) // timedelta(microseconds=1)
    if getattr(when, "nanosecond", 0):
        us += 1
    return -(-us // 1000)


def to_ms(when: datetime) -> datetime:
    """``when`` rounded up to the millisecond (:func:`ceil_ms`), in UTC."""
    return EPOCH + timedelta(milliseconds=ceil_ms(when))
