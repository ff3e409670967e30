"""Daily Bedrock cost and usage from Cost Explorer -> the billing frame of :mod:`.cur`.

One ``get_cost_and_usage`` query: DAILY, UnblendedCost, NetUnblendedCost and UsageQuantity,
grouped by SERVICE and USAGE_TYPE, RECORD_TYPE = Usage, all pages. A line is billed at its net
unblended cost, the cost after negotiated discounts (private rates, EDP), which UnblendedCost
leaves at list price; ``discount_usd`` is net minus unblended, as the CUR reader has it, and a
group without the net metric is billed at its unblended cost. Marketplace models appear under
their own SERVICE ("Claude 3.5 Sonnet (Amazon Bedrock Edition)"), not "Amazon Bedrock", so the
service filter is applied here, after the call, to keep both. Cost Explorer charges $0.01 per
API request: the number of requests made is logged and kept in ``frame.attrs["ce_requests"]``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import boto3
import pandas as pd

from bedrock_finops.sources.cur import (
    BEDROCK_SERVICE_NAME,
    classify_lines,
    collect_frames,
    is_marketplace_product,
)

log = logging.getLogger(__name__)

USD_PER_REQUEST = 0.01
METRICS = ["UnblendedCost", "NetUnblendedCost", "UsageQuantity"]


def _day(value: dt.date | dt.datetime | str) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


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
    ``rows_bedrock``, ``rows_other_services``.
    """
    s, e = _day(start), _day(end)
    if e <= s:
        raise ValueError(f"end {e} must be after start {s} (Cost Explorer's End is exclusive)")
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
        "Cost Explorer: %d get_cost_and_usage request(s), $%.2f of API charges",
        requests,
        requests * USD_PER_REQUEST,
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
    return out
