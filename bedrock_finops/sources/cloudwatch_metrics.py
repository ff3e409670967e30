"""Amazon Bedrock runtime metrics from CloudWatch (namespace ``AWS/Bedrock``, ``ModelId``).

Metrics give a second, log-independent count of invocations and tokens per model and period,
so the baseline can tell whether invocation logging covers all traffic.

The period follows the window's age, as GetMetricData requires (``MetricStat.Period``): for a
start more than 3 hours ago AWS returns no data points unless the period is a multiple of 60 s
(start within 15 days), 300 s (15 to 63 days) or 3600 s (beyond 63 days). One-minute points are
kept 15 days, five-minute points 63 days and hourly points 455 days; nothing older is kept. The
period read is ``frame.attrs["period_s"]`` (kept in the parquet file's metadata): a row is the
sum (or, for latency, the average) over that many seconds, not over a minute.

What exists is discovered with ``list_metrics`` first: AWS has published the prompt-cache
token metrics under two names (``CacheReadInputTokens`` / ``CacheWriteInputTokens`` and
``CacheReadInputTokenCount`` / ``CacheWriteInputTokenCount``). Both are read and reported
under the ``...Count`` name, the one invocation logs use.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pandas as pd

from bedrock_finops.models import resolve

log = logging.getLogger(__name__)

NAMESPACE = "AWS/Bedrock"
DIMENSION = "ModelId"
MAX_QUERIES_PER_CALL = 500  # GetMetricData limit on MetricDataQueries per request

# AWS name -> name reported here.
METRIC_ALIASES: dict[str, str] = {
    "CacheReadInputTokens": "CacheReadInputTokenCount",
    "CacheWriteInputTokens": "CacheWriteInputTokenCount",
}
# Metric -> statistic: counts are summed per period, latencies averaged.
METRIC_STATS: dict[str, str] = {
    "Invocations": "Sum",
    "InputTokenCount": "Sum",
    "OutputTokenCount": "Sum",
    "CacheReadInputTokenCount": "Sum",
    "CacheWriteInputTokenCount": "Sum",
    "CacheReadInputTokens": "Sum",
    "CacheWriteInputTokens": "Sum",
    "InvocationThrottles": "Sum",
    "InvocationClientErrors": "Sum",
    "InvocationServerErrors": "Sum",
    "InvocationLatency": "Average",
}
METRICS_COLUMNS = ["timestamp", "model_id", "metric", "value", "model"]

# (start at most this old, the multiple AWS needs the period to be); older starts need 3600 s
PERIOD_MULTIPLE_BY_START_AGE: tuple[tuple[timedelta, int], ...] = (
    (timedelta(hours=3), 1),
    (timedelta(days=15), 60),
    (timedelta(days=63), 300),
)
OLDEST_START_MULTIPLE = 3600
KEPT_FOR = timedelta(days=455)  # hourly points, the longest CloudWatch keeps any
# the request reaches AWS a little after the clock is read: a start this close to a step is
# read at the coarser period, which AWS always takes (3600 is a multiple of 300, 300 of 60)
STEP_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class _Query:
    id: str
    model_id: str
    aws_name: str
    stat: str


def _client(client: Any | None, region: str | None, endpoint_url: str | None) -> Any:
    if client is not None:
        return client
    return boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url)


def _utc(value: datetime | str | pd.Timestamp) -> datetime:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def period_multiple(start: datetime, now: datetime) -> int:
    """The multiple of seconds AWS needs the period to be for data starting at ``start``."""
    age = now - start
    for oldest, multiple in PERIOD_MULTIPLE_BY_START_AGE:
        if age <= oldest:
            return multiple
    return OLDEST_START_MULTIPLE


def period_for_start(start: datetime | str, now: datetime | None = None) -> int:
    """The period a window starting at ``start`` is read at: per minute while CloudWatch
    keeps one-minute points, else the finest period it returns data for."""
    now = _utc(now) if now is not None else datetime.now(UTC)
    return max(60, period_multiple(_utc(start), now + STEP_MARGIN))


def unkept_note(start: datetime | str, end: datetime | str, now: datetime | None = None) -> str:
    """What the window loses to CloudWatch's 455 days of retention ('' when nothing)."""
    now = _utc(now) if now is not None else datetime.now(UTC)
    start_utc, end_utc, horizon = _utc(start), _utc(end), now - KEPT_FOR
    if start_utc >= horizon:
        return ""
    age = (now - start_utc).days
    if end_utc <= horizon:
        return (
            f"the window starts {age:,} days ago and ends before {horizon:%Y-%m-%d}: "
            "CloudWatch keeps metrics 455 days, so there are none to read for it"
        )
    return (
        f"the window starts {age:,} days ago: CloudWatch keeps metrics 455 days, so there "
        f"are none before {horizon:%Y-%m-%d}"
    )


def _check_period(period: int, start: datetime, now: datetime) -> None:
    if not (period in (1, 5, 10, 30) or (period > 0 and period % 60 == 0)):
        raise ValueError(
            f"period={period} is not a CloudWatch period: use 1, 5, 10, 30 or a multiple of 60 "
            "seconds (60 gives per-minute values)"
        )
    multiple = period_multiple(start, now)
    if period % multiple:
        raise ValueError(
            f"period={period} returns no data for a start {(now - start).days:,} days ago: "
            f"CloudWatch needs a multiple of {multiple} seconds for it; leave period out to "
            "have it chosen from the start's age"
        )


def discover_metrics(
    client: Any, model_ids: Iterable[str] | None = None, metrics: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """(model_id, AWS metric name) pairs that exist, from ``list_metrics`` (all pages).

    Only metrics whose sole dimension is ``ModelId`` are kept (AWS also publishes
    account-wide series without dimensions).
    """
    wanted = set(metrics) if metrics is not None else set(METRIC_STATS)
    only = set(model_ids) if model_ids is not None else None
    found: set[tuple[str, str]] = set()
    for page in client.get_paginator("list_metrics").paginate(Namespace=NAMESPACE):
        for metric in page.get("Metrics", []):
            dims = metric.get("Dimensions") or []
            if len(dims) != 1 or dims[0].get("Name") != DIMENSION:
                continue
            name, model_id = metric["MetricName"], dims[0]["Value"]
            if name in wanted and (only is None or model_id in only):
                found.add((model_id, name))
    return sorted(found)


def _queries(pairs: Sequence[tuple[str, str]], period: int) -> tuple[list[_Query], list[dict]]:
    queries, payload = [], []
    for i, (model_id, name) in enumerate(pairs):
        q = _Query(id=f"q{i}", model_id=model_id, aws_name=name, stat=METRIC_STATS[name])
        queries.append(q)
        payload.append(
            {
                "Id": q.id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": name,
                        "Dimensions": [{"Name": DIMENSION, "Value": model_id}],
                    },
                    "Period": period,
                    "Stat": q.stat,
                },
                "ReturnData": True,
            }
        )
    return queries, payload


def _fetch_batch(
    client: Any, payload: list[dict], start: datetime, end: datetime
) -> dict[str, tuple[list, list]]:
    """One batch of <= 500 queries, following NextToken: {query id: (timestamps, values)}."""
    out: dict[str, tuple[list, list]] = {q["Id"]: ([], []) for q in payload}
    kwargs: dict[str, Any] = {
        "MetricDataQueries": payload,
        "StartTime": start,
        "EndTime": end,
        "ScanBy": "TimestampAscending",
    }
    while True:
        resp = client.get_metric_data(**kwargs)
        for res in resp.get("MetricDataResults", []):
            ts, vals = out.setdefault(res["Id"], ([], []))
            ts.extend(res.get("Timestamps", []))
            vals.extend(res.get("Values", []))
        token = resp.get("NextToken")
        if not token:
            return out
        kwargs["NextToken"] = token


def read_bedrock_metrics(
    start: datetime | str,
    end: datetime | str,
    *,
    period: int | None = None,
    now: datetime | None = None,
    model_ids: Iterable[str] | None = None,
    metrics: Iterable[str] | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: Any | None = None,
) -> pd.DataFrame:
    """Bedrock metrics per model and period, long form.

    Returns ``timestamp`` (UTC, period start), ``model_id`` (the ``ModelId`` dimension),
    ``metric`` (cache metrics under their ``...Count`` name), ``value`` and ``model`` (catalog
    key, null when unknown). Counts are period sums; ``InvocationLatency`` is the period
    average in milliseconds. Naive datetimes are taken as UTC. ``period`` (seconds) is chosen
    from the start's age when left out (:func:`period_for_start`; ``now`` is the clock, the
    current time when left out) and is kept in ``frame.attrs["period_s"]``.
    """
    start_utc, end_utc = _utc(start), _utc(end)
    now_utc = _utc(now) if now is not None else datetime.now(UTC)
    if period is None:
        period = period_for_start(start_utc, now_utc)
    _check_period(period, start_utc, now_utc)
    if end_utc <= start_utc:
        raise ValueError(
            f"end ({end_utc.isoformat()}) must be after start ({start_utc.isoformat()})"
        )
    cw = _client(client, region, endpoint_url)
    pairs = discover_metrics(cw, model_ids, metrics)
    frames = []
    for i in range(0, len(pairs), MAX_QUERIES_PER_CALL):
        queries, payload = _queries(pairs[i : i + MAX_QUERIES_PER_CALL], period)
        data = _fetch_batch(cw, payload, start_utc, end_utc)
        for q in queries:
            ts, vals = data.get(q.id, ([], []))
            if ts:
                frames.append(
                    pd.DataFrame(
                        {
                            "timestamp": ts,
                            "model_id": q.model_id,
                            "aws_name": q.aws_name,
                            "value": vals,
                        }
                    )
                )
    log.info("read %d Bedrock metric series from CloudWatch at %d s", len(pairs), period)
    out = _normalise(frames)
    out.attrs["period_s"] = period
    return out


def _normalise(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Merge the two cache-metric spellings and add the catalog key.

    If a model reports both spellings for the same period they describe the same tokens:
    the larger value is kept rather than adding them.
    """
    if not frames:
        return _empty()
    df = pd.concat(frames, ignore_index=True)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
    df["metric"] = df["aws_name"].map(lambda n: METRIC_ALIASES.get(n, n))
    df = df.groupby(["timestamp", "model_id", "metric"], as_index=False)["value"].max()
    keys = {m: resolve(m).key for m in df["model_id"].unique()}
    df["model"] = df["model_id"].map(keys)
    return _typed(df.sort_values(["timestamp", "model_id", "metric"], ignore_index=True))


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    out = df[METRICS_COLUMNS].copy()
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    for col in ("model_id", "metric", "model"):
        out[col] = out[col].astype("string[pyarrow]")
    out["value"] = out["value"].astype("float64")
    return out


def _empty() -> pd.DataFrame:
    return _typed(pd.DataFrame({c: pd.Series([], dtype="object") for c in METRICS_COLUMNS}))


def metrics_wide(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (timestamp, model_id), one column per metric; absent series are NaN."""
    wide = metrics.pivot_table(
        index=["timestamp", "model_id"], columns="metric", values="value", aggfunc="sum"
    )
    wide.columns.name = None
    wide = wide.reset_index()
    keys = metrics.drop_duplicates("model_id").set_index("model_id")["model"]
    wide.insert(2, "model", wide["model_id"].map(keys).astype("string[pyarrow]"))
    wide.attrs = dict(metrics.attrs)  # the period the values are over
    return wide
