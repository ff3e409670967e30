"""A run's window relative to the day it runs (``run.window``), for scheduled runs.

``run.start`` / ``run.end`` name fixed days, so a monthly schedule would read the same month
every time. ``run.window`` names days relative to the day the run starts, in UTC as every
window is (whole UTC days, ``[start, end)``):

- ``previous_month``: the whole previous calendar month;
- ``month_to_date``: the 1st of this month to yesterday;
- ``last_N_days`` (``last_7_days``, ``last_30_days``, ...): the N whole days before today.

Today is always left out: its logs are still being delivered. The window is resolved once, at
the start of a run, into ``run.start`` and ``run.end``, which everything that reads the
window then uses (the ingest, the billing and metrics periods, the notebooks' per-day figures).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from bedrock_finops.params import ParamsError
from bedrock_finops.sources.time_folders import WINDOW_YEARS

FIXED_WINDOWS = ("previous_month", "month_to_date")
LAST_N_DAYS = re.compile(r"last_([0-9]+)_days")
SYNONYMS = {
    "last_month": "previous_month",
    "prior_month": "previous_month",
    "this_month": "month_to_date",
    "current_month": "month_to_date",
    "mtd": "month_to_date",
}
ACCEPTED = (
    "previous_month (the whole previous calendar month), month_to_date (the 1st of this month "
    "to yesterday) or last_N_days (the N whole days before today, e.g. last_7_days, "
    "last_30_days); days are UTC and today is left out, its logs still arriving"
)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The run's clock by default: now, in UTC."""
    return dt.datetime.now(dt.UTC)


def utc_day(now: dt.datetime) -> dt.date:
    """The UTC day of ``now`` (an aware datetime; a naive one is taken as UTC)."""
    return (now.astimezone(dt.UTC) if now.tzinfo else now).date()


def check_window(value: str) -> None:
    """Raise ``ValueError`` for a window this module cannot resolve, listing those it can."""
    if value in FIXED_WINDOWS:
        return
    days = _last_days(value)
    if days is None:
        raise ValueError(f"{value!r} is not a window; give {ACCEPTED}{_did_you_mean(value)}")
    if days < 1:
        raise ValueError(f"{value!r} holds no day; give last_N_days with N of 1 or more")


def resolve(value: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """``[start, end)`` in UTC days for the window ``value`` on the UTC day ``today``; raise
    ``ValueError`` for a window that holds no whole day (``month_to_date`` on the 1st)."""
    check_window(value)
    first_of_month = today.replace(day=1)
    if value == "previous_month":
        return _previous_month_start(first_of_month), first_of_month
    if value == "month_to_date":
        if today == first_of_month:
            raise ValueError(
                f"month_to_date holds no whole day on {today}, the 1st of the month (today "
                "is left out); run it from the 2nd, or use previous_month on the 1st"
            )
        return first_of_month, today
    try:
        start = today - dt.timedelta(days=_last_days(value) or 0)
    except OverflowError:
        start = dt.date.min
    if start.year < WINDOW_YEARS[0]:
        raise ValueError(
            f"{value} on {today} would start before {WINDOW_YEARS[0]}, which a window cannot "
            "name; give fewer days"
        )
    return start, today


def resolved_run(run: dict[str, Any], today: dt.date, where: str) -> dict[str, Any]:
    """``run`` with ``start`` and ``end`` set from its ``window`` on ``today`` (unchanged
    without one); a window that holds no day is a ``ParamsError`` naming the key."""
    window = run.get("window")
    if not window:
        return run
    try:
        start, end = resolve(window, today)
    except ValueError as exc:
        raise ParamsError(f"{where}: run.window: {exc}") from None
    return {**run, "start": start, "end": end}


def manifest_record(run: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """The window a run analysed, for its manifest: the relative form (None for fixed days)
    beside the days it resolved to, and the UTC day it was resolved on."""
    window = run.get("window") or None
    return {
        "window": window,
        "start": run.get("start"),
        "end": run.get("end"),
        "resolved_on": today if window else None,
    }


def described(run: dict[str, Any]) -> str:
    """The resolved window in words, as a run prints it at its start."""
    start, end = run["start"], run["end"]
    days = (end - start).days
    return (
        f"window: {run['window']} = {start} to {end - dt.timedelta(days=1)} ({days} UTC "
        f"day{'s' if days != 1 else ''}; run.start {start}, run.end {end})"
    )


def _last_days(value: str) -> int | None:
    """N of ``last_N_days``; None for any other text."""
    match = LAST_N_DAYS.fullmatch(value)
    return int(match.group(1)) if match else None


def _previous_month_start(first_of_month: dt.date) -> dt.date:
    return (first_of_month - dt.timedelta(days=1)).replace(day=1)


def _did_you_mean(value: str) -> str:
    """The window a mistaken one most likely meant: a synonym, a count of days (``-30d``,
    ``30_days``: ``last_30_days``) or a close spelling."""
    import difflib

    word = value.strip().lower()
    number = re.search(r"[0-9]+", word)
    if word in SYNONYMS:
        close = [SYNONYMS[word]]
    elif number is not None and int(number.group()) > 0:
        close = [f"last_{int(number.group())}_days"]
    else:
        close = difflib.get_close_matches(word, [*FIXED_WINDOWS, "last_7_days"], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
