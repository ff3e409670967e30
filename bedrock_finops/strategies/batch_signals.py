"""Batch inference: the per-segment signals that say whether a segment's work can wait.

Each signal has a value measured on the segment's traffic and a 0-1 score: who calls (pipeline
roles vs people and user-facing apps), streaming, the busiest contiguous arrival window, the
off-hours and weekend shares, day-to-day regularity and volume per job window. The strategy
(``batch_inference``) weighs the scores against its threshold; ``evidence_table`` shows each
signal's contribution.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops.schema import utc_datetimes

# Signal weights (normalised to sum 1). Caller identity and streaming say most about whether
# a human waits for the answer; a concentrated, off-hours arrival pattern says a scheduler
# sends the work; weekend share, regularity and volume only say whether a job cadence fits.
DEFAULT_WEIGHTS: dict[str, float] = {
    "caller": 0.30,
    "non_streaming": 0.20,
    "busiest_window": 0.20,
    "off_hours": 0.15,
    "weekend": 0.05,  # weak: steady 24/7 services and consumer apps look alike here
    "regularity": 0.05,  # weak: the same
    "volume": 0.05,
}
DEFAULT_PIPELINE_PATTERNS = [
    "pipeline", "batch", "etl", "job", "worker", "cron", "scheduler", "nightly", "backfill",
    "ingest", "lambda-processor",
]  # fmt: skip
DEFAULT_INTERACTIVE_PATTERNS = [
    "chat", "web", "frontend", "ui", "portal", "interactive", "assistant", "ide", "console",
]  # fmt: skip

CALLER_SCORES = {"pipeline": 1.0, "unknown": 0.5, "interactive": 0.0, "user": 0.0}
_ARN_RE = re.compile(r"^arn:aws[\w-]*:(?P<svc>sts|iam)::\d*:(?P<kind>[\w-]+)/(?P<rest>.+)$")


def caller_kind(arn: str | None, pipeline: list[str], interactive: list[str]) -> str:
    """``pipeline`` | ``interactive`` | ``user`` | ``unknown`` for one caller identity ARN.

    User sessions: IAM users, federated users, IAM Identity Center (``AWSReservedSSO_``) roles
    and assumed-role sessions named like an e-mail address. Otherwise the role (or user) name
    is matched against the pipeline patterns first, then the interactive ones.
    """
    if not arn or not isinstance(arn, str):
        return "unknown"
    m = _ARN_RE.match(arn)
    if not m:
        return "unknown"
    kind, rest = m["kind"], m["rest"]
    if kind in ("user", "federated-user", "root"):
        return "user"
    role, _, session = rest.partition("/")
    if role.startswith("AWSReservedSSO_") or "@" in session:
        return "user"
    name = role.lower()
    if any(p.lower() in name for p in pipeline):
        return "pipeline"
    if any(p.lower() in name for p in interactive):
        return "interactive"
    return "unknown"


def _day_index(ts: pd.Series, period: dict[str, Any]) -> tuple[np.ndarray, int]:
    """Each timestamp's day of the period (0, 1, ...) and how many days the period has.

    Where the period is the window's length (``period["rule"] == "window"``), a day is 24
    hours from the window's start: 48 hours from noon are two whole days, not three calendar
    days of which two are halves, which would read steady traffic as irregular. Otherwise the
    UTC calendar days from the first record's."""
    stamps = utc_datetimes(ts)
    if period.get("rule") == "window":
        since = stamps - pd.Timestamp(period["window_start"])
        days = math.ceil(float(period["window_days"]))
        return (since // pd.Timedelta(days=1)).to_numpy(dtype="int64"), days
    start = pd.Timestamp(period["start"]).floor("D")
    days = int(period.get("calendar_days") or period.get("days") or 1)
    return ((stamps.dt.floor("D") - start).dt.days).to_numpy(dtype="int64"), days


def busiest_window_share(hours: np.ndarray, width: int) -> tuple[float, int]:
    """Share of requests in the busiest contiguous ``width``-hour window (wrapping midnight)
    and the window's start hour."""
    counts = np.bincount(hours, minlength=24).astype("float64")
    if counts.sum() == 0:
        return 0.0, 0
    sums = np.array([counts[(np.arange(width) + h) % 24].sum() for h in range(24)])
    best = np.flatnonzero(sums == sums.max())
    start = int(best[counts[best].argmax()])  # of tied windows, the one opening on traffic
    return float(sums[start] / counts.sum()), start


def business_and_weekend(
    ts: pd.Series, hours: list[int], time_zone: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per timestamp: in weekday business hours, and on a weekend, both by the local clock of
    ``time_zone`` (daylight saving followed). Hours ``[start, end)``; a start after the end
    wraps midnight, and each hour counts on its own local weekday."""
    local = utc_datetimes(ts).dt.tz_convert(time_zone)
    hour = local.dt.hour.to_numpy(dtype="int64")
    weekday = local.dt.day_of_week.to_numpy(dtype="int64")
    start, end = hours
    in_hours = (hour >= start) & (hour < end) if start < end else (hour >= start) | (hour < end)
    return (weekday < 5) & in_hours, weekday >= 5


def business_hours_per_day(hours: list[int]) -> int:
    """How many hours a business day has: ``[8, 18]`` 10, ``[22, 6]`` 8."""
    start, end = hours
    return (end - start) % 24 or 24


def _rescale(value: float, baseline: float) -> float:
    """0 at the value uniform traffic would show, 1 at full concentration."""
    if baseline >= 1:
        return 0.0
    return float(np.clip((value - baseline) / (1 - baseline), 0, 1))


def segment_signals(
    usage: pd.DataFrame, seg_ids: pd.Series, period: dict[str, Any], p: dict[str, Any]
) -> pd.DataFrame:
    """Per segment: each signal's value and 0-1 score (``<signal>_value``, ``<signal>_score``)."""
    ts = usage["timestamp"]
    day, day_bins = _day_index(ts, period)
    frame = pd.DataFrame(
        {
            "segment": seg_ids.astype(str),
            "hour": ts.dt.hour.astype("int64"),
            "day": day,
            "streaming": usage["streaming"].astype("boolean").fillna(False).astype(bool),
            "identity": usage["identity_arn"].astype("string").fillna(""),
        },
        index=usage.index,
    )
    kinds = {
        a: caller_kind(a, p["pipeline_patterns"], p["interactive_patterns"])
        for a in frame["identity"].unique()
    }
    frame["caller_kind"] = frame["identity"].map(kinds)
    frame["caller_score"] = frame["caller_kind"].map(CALLER_SCORES).astype("float64")
    frame["business"], frame["weekend"] = business_and_weekend(
        ts, p["business_hours"], p["business_time_zone"]
    )
    days = float(period.get("days") or 0) or 1.0  # what per-day figures divide by
    uniform_off = 1 - 5 * business_hours_per_day(p["business_hours"]) / 168
    out = []
    for segment, g in frame.groupby("segment", sort=False):
        n = len(g)
        window, start = busiest_window_share(g["hour"].to_numpy(), p["window_hours"])
        off = float(1 - g["business"].mean())
        weekend = float(g["weekend"].mean())
        per_day = np.bincount(g["day"].to_numpy(), minlength=day_bins)[:day_bins]
        per_day = per_day.astype("float64")
        cv = float(per_day.std() / per_day.mean()) if per_day.mean() > 0 else math.inf
        per_window = n / days * p["job_window_days"]
        kinds_share = g["caller_kind"].value_counts(normalize=True).round(3).to_dict()
        out.append(
            {
                "segment": segment,
                "caller_value": kinds_share,
                "caller_score": float(g["caller_score"].mean()),
                "non_streaming_value": float(1 - g["streaming"].mean()),
                "non_streaming_score": float(1 - g["streaming"].mean()),
                "busiest_window_value": window,
                "busiest_window_start_utc": start,
                "busiest_window_score": _rescale(window, p["window_hours"] / 24),
                "off_hours_value": off,
                "off_hours_score": _rescale(off, uniform_off),
                "weekend_value": weekend,
                "weekend_score": float(min(1.0, weekend / (2 / 7))),
                "regularity_value": cv,
                "regularity_score": float(np.clip(1 - cv, 0, 1)) if math.isfinite(cv) else 0.0,
                "volume_value": per_window,
                "volume_score": float(min(1.0, per_window / p["min_records_per_job"])),
            }
        )
    return pd.DataFrame(out)


SIGNAL_LABELS = {
    "caller": "caller identity (share of requests by caller kind)",
    "non_streaming": "non-streaming share of requests",
    "busiest_window": "share of requests in the busiest contiguous window",
    "off_hours": "share outside weekday business hours (business_hours, business_time_zone)",
    "weekend": "weekend share of requests (business_time_zone's days)",
    "regularity": "day-to-day variation of daily requests (coefficient of variation)",
    "volume": "requests per job window",
}


def evidence_table(segments: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Long form: one row per (segment, signal) with value, score, weight and contribution."""
    rows = []
    for rec in segments.to_dict("records"):
        for sig, w in weights.items():
            rows.append(
                {
                    "segment": rec["segment"],
                    "app": rec["app"],
                    "signal": sig,
                    "meaning": SIGNAL_LABELS[sig],
                    "value": rec[f"{sig}_value"],
                    "score": rec[f"{sig}_score"],
                    "weight": w,
                    "contribution": rec[f"{sig}_score"] * w,
                }
            )
    return pd.DataFrame(rows)
