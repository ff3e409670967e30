"""Batch inference's settings: the strategy's name, its decision labels, the default parameters
and ``validate_params``, which checks a run's parameters (errors name the key and the fix);
``check_settings`` is its part that needs no traffic, run before a run reads any logs.
"""

from __future__ import annotations

import difflib
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import pandas as pd

from bedrock_finops.batch_jobs import whole_number
from bedrock_finops.segments import unknown_names, unknown_names_error
from bedrock_finops.strategies import merge_params
from bedrock_finops.strategies.batch_signals import (
    DEFAULT_INTERACTIVE_PATTERNS,
    DEFAULT_PIPELINE_PATTERNS,
    DEFAULT_WEIGHTS,
)
from bedrock_finops.user_yaml import item_problem, value_kind

STRATEGY = "batch_inference"

DEFAULT_PARAMS: dict[str, Any] = {
    "threshold": 0.6,  # weighted score at or above which a segment is eligible
    "weights": {},  # overrides of DEFAULT_WEIGHTS
    "window_hours": 4,  # width of the busiest contiguous window (hours, 1-23)
    "business_hours": [8, 18],  # weekday hours [start, end) local to business_time_zone
    "business_time_zone": "UTC",  # IANA name, e.g. America/New_York (DST followed)
    "job_window_days": 1,  # how often a batch job would run (days of traffic per job)
    "min_records_per_job": 100,  # Service Quotas: Minimum number of records per batch job
    "pipeline_patterns": DEFAULT_PIPELINE_PATTERNS,
    "interactive_patterns": DEFAULT_INTERACTIVE_PATTERNS,
    "force_in": [],  # apps or segment ids to treat as eligible regardless of score
    "force_out": [],  # apps or segment ids never to move
}

# where a run's apps and segment ids are listed, named by the error on a force_in or force_out
# name that is neither
SEGMENTS_LISTED_IN = "02_batch_inference's segments table (its app and segment columns)"
MOVE, NOT_ELIGIBLE = "move to batch", "-"
# an eligible segment that stays on demand: batch would save before the cache saving it gives
# up, which outweighs it; or batch is no cheaper than on demand even without caching
KEEP_CACHING = "keep on demand (caching saves more)"
BATCH_NO_CHEAPER = "keep on demand (batch no cheaper)"


def validate_params(params: dict[str, Any], segments: pd.DataFrame) -> dict[str, Any]:
    """Merge params over the defaults and check them; errors name the key and valid choices."""
    p = check_settings(params)
    for key in ("force_in", "force_out"):
        wrong = unknown_names(p[key], segments)
        if wrong:
            raise ValueError(unknown_names_error(key, wrong, segments, SEGMENTS_LISTED_IN))
    both = named_segments(segments, p["force_in"]) & named_segments(segments, p["force_out"])
    if both:
        raise ValueError(f"segments {sorted(both)} are in both force_in and force_out")
    return p


def check_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The part of :func:`validate_params` that needs no traffic (all but the names in
    ``force_in``/``force_out``), so a params file is checked before a run reads any logs."""
    p = merge_params(STRATEGY, DEFAULT_PARAMS, params)
    p["threshold"] = float(p["threshold"])
    if not 0 <= p["threshold"] <= 1:
        raise ValueError(f"threshold {p['threshold']} must be in [0, 1] (a weighted score)")
    bad = sorted(set(p["weights"] or {}) - set(DEFAULT_WEIGHTS))
    if bad:
        raise ValueError(f"weights names unknown signals {bad}; signals: {list(DEFAULT_WEIGHTS)}")
    weights = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in (p["weights"] or {}).items()}}
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"weights must be >= 0 and not all zero, got {weights}")
    total = sum(weights.values())
    p["weights"] = {k: w / total for k, w in weights.items()}
    p["window_hours"] = int(p["window_hours"])
    if not 1 <= p["window_hours"] <= 23:
        raise ValueError(f"window_hours {p['window_hours']} must be 1-23")
    p["business_hours"] = business_hours(p["business_hours"])
    p["business_time_zone"] = time_zone_name(p["business_time_zone"])
    for key in ("job_window_days", "min_records_per_job"):
        p[key] = int(p[key])
        if p[key] < 1:
            raise ValueError(f"{key} must be a positive integer, got {p[key]}")
    for key in ("pipeline_patterns", "interactive_patterns"):
        p[key] = text_list(key, p[key], "a part of a role name", f"{key}: [nightly, etl]")
    for key in ("force_in", "force_out"):
        p[key] = text_list(key, p[key], "an app or segment id", f"{key}: [support, nightly-etl]")
    return p


def text_list(key: str, value: Any, what: str, example: str) -> list[str]:
    """``value`` as a list of strings (one string: a list of it), each item ``what``; a
    mapping, or an item that is not a string (YAML reads ``[a, b]`` in a list as a list,
    ``2024`` as a number), is refused naming its position, as it could never match a name."""
    if isinstance(value, str):
        return [value]
    if value is None:
        return []
    if not isinstance(value, list | tuple | set | frozenset):
        raise ValueError(
            f"{key} must be a list, each item {what}, got {value_kind(value)}; write {example}"
        )
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(item_problem(key, index, item, what, example))
    return list(value)


def business_hours(hours: Any) -> list[int]:
    """``[start, end)`` local hours; ``start > end`` wraps midnight (``[22, 6]``: a night shift)."""
    given = list(hours) if isinstance(hours, list | tuple) else []
    whole = [h for h in map(whole_number, given) if h is not None]
    if len(given) != 2 or len(whole) != 2:
        raise ValueError(
            f"business_hours {hours!r} must be two whole hours [start, end), e.g. [8, 18]"
        )
    start, end = whole
    if not (0 <= start <= 23 and 1 <= end <= 24 and start != end):
        raise ValueError(
            f"business_hours {[start, end]} must be [start, end) with start 0-23 and end 1-24; "
            "a start after the end wraps midnight ([22, 6])"
        )
    return [start, end]


# zone names that keep one offset all year, often written for a US zone that changes it
_FIXED_US_ZONES = {
    "EST": "America/New_York",
    "MST": "America/Denver (or America/Phoenix, which keeps MST all year)",
}


def time_zone_name(name: Any) -> str:
    """An IANA time zone name, checked against the time zone database."""
    if str(name) in _FIXED_US_ZONES:
        raise ValueError(
            f"business_time_zone {name!r} keeps one offset all year (no daylight saving): for "
            f"a US working day use {_FIXED_US_ZONES[str(name)]}; for a fixed offset, an "
            "Etc/GMT name (Etc/GMT+5 is UTC-5)"
        )
    try:
        ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(str(name), sorted(available_timezones()), 1, 0.8)
        fix = (
            f"did you mean {close[0]!r}?"
            if close
            else "use one such as 'UTC', 'America/New_York', 'America/Los_Angeles' or "
            "'Europe/Berlin'"
        )
        raise ValueError(
            f"business_time_zone {name!r} is not an IANA time zone name; {fix}"
        ) from None
    return str(name)


def named_segments(segments: pd.DataFrame, names: list[str]) -> set[str]:
    """Segment ids named directly or through their app."""
    mask = segments["app"].isin(names) | segments["segment"].isin(names)
    return set(segments.loc[mask, "segment"].astype(str))
