"""Billed cost and CloudWatch metrics for a run, written beside the usage table.

Configured in the params file's ``run`` section: ``cur`` (CUR 2.0 file(s) or folder, or
``sample`` for the embedded sample's export), ``focus`` (a FOCUS file), ``cost_explorer``
(true: ask Cost Explorer for the run's period) and ``metrics`` (true: AWS/Bedrock metrics).
Results go to ``billing.parquet`` (every Bedrock line item, tax included) and ``metrics.parquet``;
the manifest's ``billed_usd`` is billed Bedrock usage without tax (:mod:`bedrock_finops.billed`),
with ``tax_usd`` beside it; the baseline notebook reconciles
log-derived cost against ``billing.parquet`` when it exists.

At most one billing source: a CUR export, a FOCUS export and Cost Explorer all report the
same spend, so adding two of them would count it twice (and their line items carry no shared
key to de-duplicate on). ``metrics`` is not billing and combines with any of them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.amounts import usd
from bedrock_finops.billed import billed_totals

BILLING_SOURCES = ("cur", "focus", "cost_explorer")


def check_sources(run: dict[str, Any]) -> str | None:
    """The one configured billing source (None: none); two or more raise ``ParamsError``."""
    from bedrock_finops.params import ParamsError

    chosen = [k for k in BILLING_SOURCES if run.get(k)]
    if len(chosen) > 1:
        raise ParamsError(
            f"run: {' and '.join(chosen)} are set, but they report the same Bedrock spend "
            "and adding them would count it twice; give only one of cur, focus, cost_explorer."
        )
    return chosen[0] if chosen else None


def collect(run: dict[str, Any], run_dir: Path, log=print) -> dict[str, Any]:
    """Read every configured billing source; returns what was read, for the manifest."""
    check_sources(run)  # before any reading: two sources of the same spend double count
    frames: list[pd.DataFrame] = []
    info: dict[str, Any] = {"sources": []}
    start, end = _period(run_dir, run)
    if run.get("cur"):
        from bedrock_finops.sources import cur

        if run["cur"] == "sample":
            from bedrock_finops import sample_billing

            path = sample_billing.write_sample_cur(run_dir)
            info["sample_cur"] = str(path)
            # read as a real export is: Marketplace "Units" (1M tokens) convert by default
            frames.append(cur.read_cur(path))
        else:
            frames.append(cur.read_cur(run["cur"]))
        info["sources"].append("cur")
    if run.get("focus"):
        from bedrock_finops.sources import cur

        frames.append(cur.read_focus(run["focus"]))
        info["sources"].append("focus")
    if run.get("cost_explorer"):
        from bedrock_finops.sources import cost_explorer

        frames.append(cost_explorer.read_cost_explorer(start, end, **_client_opts(run)))
        info["sources"].append("cost_explorer")
    if frames:
        billing = pd.concat(frames, ignore_index=True)
        billing.to_parquet(run_dir / "billing.parquet", index=False)
        totals = billed_totals(billing)
        info["billing_rows"] = len(billing)
        info.update(totals.for_manifest())
        log(
            f"billing: {len(billing):,} Bedrock line items from {', '.join(info['sources'])}: "
            f"billed usage {usd(totals.usage_usd)} (excl. tax), tax {usd(totals.tax_usd)}"
        )
    if run.get("metrics"):
        from bedrock_finops.sources import cloudwatch_metrics

        metrics = cloudwatch_metrics.read_bedrock_metrics(start, end, **_client_opts(run))
        metrics.to_parquet(run_dir / "metrics.parquet", index=False)
        info["metrics_rows"] = len(metrics)
        info["sources"].append("metrics")
    return info


def _period(run_dir: Path, run: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """The run's [start, end) from the params, else from the ingested usage."""
    if run.get("start") and run.get("end"):
        return (
            dt.datetime.combine(run["start"], dt.time(), dt.UTC),
            dt.datetime.combine(run["end"], dt.time(), dt.UTC),
        )
    ts = pd.read_parquet(run_dir / "usage.parquet", columns=["timestamp"])["timestamp"]
    lo = pd.Timestamp(ts.min()).floor("D").to_pydatetime()
    hi = (pd.Timestamp(ts.max()).floor("D") + pd.Timedelta(days=1)).to_pydatetime()
    return lo, hi


def _client_opts(run: dict[str, Any]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if run.get("endpoint_url"):
        opts["endpoint_url"] = run["endpoint_url"]
    if run.get("region"):
        opts["region"] = run["region"]
    return opts
