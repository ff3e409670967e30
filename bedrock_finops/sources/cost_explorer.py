"""Daily Bedrock cost and usage from Cost Explorer -> the billing frame of :mod:`.cur`.

One ``get_cost_and_usage`` query: DAILY, UnblendedCost, NetUnblendedCost and UsageQuantity,
grouped by SERVICE and USAGE_TYPE, RECORD_TYPE = Usage, all pages. A line is billed at its net
unblended cost, the cost after negotiated discounts (private rates, EDP), which UnblendedCost
leaves at list price; ``discount_usd`` is net minus unblended, as the CUR reader has it, and a
group without the net metric is billed at its unblended cost. Marketplace models appear under
their own SERVICE ("Claude 3.5 Sonnet (Amazon Bedrock Edition)"), not "Amazon Bedrock", so the
service filter is applied here, after the call, to keep both. Cost Explorer charges $0.01 per
API request: the number of requests made is logged and kept in ``frame.attrs["ce_requests"]``.

The period is whole UTC days, as the billing window is everywhere, read by the ingest's rules
for ``--start``/``--end``: ISO-8601 only (``02/06/2026`` could be month or day first), an
offset converted to UTC, a time of day rounding the start down to its day and the end up to the
next. A date that is none, or a period holding no day, is a :class:`BillingPeriodError`.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import boto3
import pandas as pd

from bedrock_finops.amounts import usd
from bedrock_finops.sources.cur import (
    BEDROCK_SERVICE_NAME,
    classify_lines,
    collect_frames,
    is_marketplace_product,
)

log = logging.getLogger(__name__)

USD_PER_REQUEST = 0.01
METRICS = ["UnblendedCost", "NetUnblendedCost", "UsageQuantity"]


class BillingPeriodError(ValueError):
    """The period asked of Cost Explorer is no range of UTC days; the message gives the fix."""


def billing_days(start: Any, end: Any) -> tuple[dt.date, dt.date]:
    """``[start, end)`` as the UTC days Cost Explorer is asked for: (first, day after the last)."""
    first, after = _utc_day(start, "START"), _utc_day(end, "END", round_up=True)
    if after < first:
        raise BillingPeriodError(
            f"Cost Explorer START {start} is after END {end} (the UTC days [{first}, {after})): "
            f"give START first, e.g. {after} {first}"
        )
    if after == first:
        raise BillingPeriodError(
            f"Cost Explorer START {start} and END {end} are the same UTC day, {first}, and END "
            "is exclusive (Cost Explorer's End is exclusive): give the day after the last to "
            f"read, e.g. {first} {first + dt.timedelta(days=1)} for {first} alone"
        )
    return first, after


def _utc_day(value: Any, name: str, round_up: bool = False) -> dt.date:
    """A bound as a UTC day, read as the ingest reads its window's (a time of day rounds down,
    or up for an end)."""
    from bedrock_finops.ingest import IngestError, window_bound_utc

    try:
        when = window_bound_utc(value, name)
    except IngestError as exc:
        raise BillingPeriodError(f"Cost Explorer {exc}") from None
    if when is None:
        raise BillingPeriodError(f"Cost Explorer needs a {name} day: give YYYY-MM-DD")
    if round_up and when.time() != dt.time():
        return when.date() + dt.timedelta(days=1)
    return when.date()


def _request(start: str, end: str) -> dict[str, Any]:
    return {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "DAILY",
        "Metrics": METRICS,
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "SERVICE"},
            {"Type": "DIMENSION", "Key": "USAGE_TYPE"},
        ],
        "Filter": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Usage"]}},
    }


def _amount(metric: dict[str, Any]) -> float:
    return float(metric.get("Amount", 0) or 0)


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Bedrock groups of one ResultsByTime entry as billing rows (before classification)."""
    out = []
    day, end = result["TimePeriod"]["Start"], result["TimePeriod"].get("End")
    for group in result.get("Groups", []):
        service, usage_type = (list(group.get("Keys", [])) + [None, None])[:2]
        marketplace = is_marketplace_product(service)
        if service != BEDROCK_SERVICE_NAME and not marketplace:
            continue
        metrics = group.get("Metrics", {})
        cost = metrics.get("UnblendedCost", {})
        net = metrics.get("NetUnblendedCost") or cost
        qty = metrics.get("UsageQuantity", {})
        out.append(
            {
                "date": day,
                "end_date": end or pd.Timestamp(day) + pd.Timedelta(days=1),
                "source": "cost_explorer",
                "service": service,
                "product_name": service,
                "usage_type": usage_type,
                "region": None,
                "quantity": float(qty.get("Amount", 0) or 0),
                "unit": qty.get("Unit"),
                "cost_usd": _amount(net),
                "discount_usd": _amount(net) - _amount(cost),
                "line_type": "Usage",
                "marketplace": marketplace,
                "_currency": cost.get("Unit", "USD"),
                "_net_currency": net.get("Unit", "USD"),
            }
        )
    return out


def read_cost_explorer(
    start: dt.date | dt.datetime | str,
    end: dt.date | dt.datetime | str,
    *,
    client: Any | None = None,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    unit_scale: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Bedrock (first-party and Marketplace) daily cost and usage, ``start`` to ``end`` exclusive.

    ``frame.attrs``: ``ce_requests`` (each one billed $0.01), ``rows_read`` (groups returned),
    ``rows_bedrock``, ``rows_other_services``, ``ce_period`` (the UTC days asked for, first and
    day after the last, as :func:`billing_days` reads ``start`` and ``end``).
    """
    first, after = billing_days(start, end)
    s, e = first.isoformat(), after.isoformat()
    ce = client or boto3.client("ce", region_name=region, endpoint_url=endpoint_url)
    kwargs, rows, groups, requests = _request(s, e), [], 0, 0
    while True:
        resp = ce.get_cost_and_usage(**kwargs)
        requests += 1
        for result in resp.get("ResultsByTime", []):
            groups += len(result.get("Groups", []))
            rows.extend(_rows(result))
        token = resp.get("NextPageToken")
        if not token:
            break
        kwargs["NextPageToken"] = token
    log.info(
        "Cost Explorer: %d get_cost_and_usage request(s), %s of API charges",
        requests,
        usd(requests * USD_PER_REQUEST),
    )
    frames = []
    if rows:
        df = pd.DataFrame(rows)
        currencies = set(df.pop("_currency")) | set(df.pop("_net_currency"))
        if currencies - {"USD"}:
            raise ValueError(f"Cost Explorer returned costs in {sorted(currencies)}, not USD")
        frames.append(classify_lines(df.astype({"region": "object", "unit": "object"}), unit_scale))
    out = collect_frames(frames, groups, groups - len(rows))
    out.attrs["ce_requests"] = requests
    out.attrs["ce_period"] = [s, e]
    return out
