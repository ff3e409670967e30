"""Billed cost and CloudWatch metrics for a run, written beside the usage table.

Configured in the params file's ``run`` section: ``cur`` (CUR 2.0 file(s) or folder, or
``sample`` for the embedded sample's export), ``focus`` (a FOCUS file), ``cost_explorer``
(true: ask Cost Explorer for the run's period) and ``metrics`` (true: AWS/Bedrock metrics).
Results go to ``billing.parquet`` (every Bedrock line item read, tax included) and
``metrics.parquet`` (per model and period: a minute, or five minutes or an hour for a window
starting more than 15 or 63 days ago, as CloudWatch keeps them; the manifest's
``metrics_period_s`` says which). The bill is compared with the logs over the run's window
(:func:`run_window`), as Cost Explorer is asked for it: the manifest's ``billed_usd`` is billed
Bedrock usage without tax (:mod:`bedrock_finops.billed`) of the lines in the window, with
``tax_usd`` beside it and, in ``outside_window``, what the export holds outside it (a CUR 2.0
export holds its whole month); the baseline notebook reconciles log-derived cost against
``billing.parquet`` over the same window when the file exists. What a CUR or FOCUS export
leaves out (:mod:`bedrock_finops.sources.billing_files`) is told in the run's log and listed in
the manifest's ``files_skipped``; every note told of the export (a file left out, two exports
read together as only one of them holds an account's Bedrock lines) is kept in the manifest's
``notes`` too, so the run's record says it once the log is gone.

At most one billing source: a CUR export, a FOCUS export and Cost Explorer all report the
same spend, so adding two of them would count it twice (and their line items carry no shared
key to de-duplicate on). ``metrics`` is not billing and combines with any of them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.amounts import rounded, usd
from bedrock_finops.billed import Window, billed_totals, in_window

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


def collect(
    run: dict[str, Any], run_dir: Path, log=print, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Read every configured billing source; returns what was read, for the manifest.
    ``now`` is the clock the metrics' period is chosen by (the current time when None)."""
    check_sources(run)  # before any reading: two sources of the same spend double count
    frames: list[pd.DataFrame] = []
    info: dict[str, Any] = {"sources": [], "notes": []}
    window = run_window(run_dir, run)
    if run.get("cur"):
        from bedrock_finops.sources import cur

        if run["cur"] == "sample":
            from bedrock_finops import sample_billing

            path = sample_billing.write_sample_cur(run_dir)
            info["sample_cur"] = str(path)
            # read as a real export is: Marketplace "Units" (1M tokens) convert by default
            frames.append(cur.read_cur(path))
        else:
            frames.append(_read_export(cur.read_cur, run["cur"], info, log))
        info["sources"].append("cur")
    if run.get("focus"):
        from bedrock_finops.sources import cur

        frames.append(_read_export(cur.read_focus, run["focus"], info, log))
        info["sources"].append("focus")
    if run.get("cost_explorer"):
        from bedrock_finops.sources import cost_explorer

        frames.append(cost_explorer.read_cost_explorer(*_period(window), **_client_opts(run)))
        info["sources"].append("cost_explorer")
    if frames:
        billing = pd.concat(frames, ignore_index=True)
        billing.to_parquet(run_dir / "billing.parquet", index=False)
        info["billing_rows"] = len(billing)
        info.update(_billed_in_window(billing, window, info["sources"], log))
    if run.get("metrics"):
        info.update(_read_metrics(run, run_dir, window, log, now))
        info["sources"].append("metrics")
    return info


def _read_export(read, paths: Any, info: dict[str, Any], log) -> pd.DataFrame:
    """A CUR or FOCUS export read; what it leaves out (a status table, an older delivery of a
    billing period) and what it says of exports read together are told in the run's log and
    kept in the manifest (``files_skipped``, ``notes``)."""
    from bedrock_finops.terminal_text import for_terminal

    def note(message: str) -> None:
        info["notes"].append(message)
        # it names the export's files and folders: escaped whole, a line break in a name too
        log(f"billing: {for_terminal(message)}")

    frame = read(paths, note=note)
    if frame.attrs.get("files_skipped"):
        info.setdefault("files_skipped", []).extend(frame.attrs["files_skipped"])
    return frame


def _read_metrics(
    run: dict[str, Any], run_dir: Path, window: Window | None, log, now: dt.datetime | None
) -> dict[str, Any]:
    """CloudWatch metrics over the run's window into ``metrics.parquet`` (its period in the
    file's metadata); the manifest's figures, and a warning for what CloudWatch no longer
    keeps."""
    from bedrock_finops.sources import cloudwatch_metrics

    now = now or dt.datetime.now(dt.UTC)
    start, end = _period(window)
    metrics = cloudwatch_metrics.read_bedrock_metrics(start, end, now=now, **_client_opts(run))
    metrics.to_parquet(run_dir / "metrics.parquet", index=False)
    period = metrics.attrs["period_s"]
    info: dict[str, Any] = {"metrics_rows": len(metrics), "metrics_period_s": period}
    text = (
        f"metrics: {len(metrics):,} CloudWatch data points over [{start:%Y-%m-%d}, "
        f"{end:%Y-%m-%d}), "
        f"one per {_period_name(period)} per model and metric"
    )
    if period > 60:
        text += (
            f" (the window starts {(now - start).days:,} days ago: CloudWatch keeps one-minute "
            "points 15 days and five-minute points 63 days)"
        )
    log(text)
    note = cloudwatch_metrics.unkept_note(start, end, now)
    if note:
        info["metrics_warning"] = note
        log(f"warning: metrics: {note}")
    return info


def _period_name(period: int) -> str:
    """A period as the metrics line names it: 'minute', 'five minutes', 'hour'."""
    return {60: "minute", 300: "five minutes", 3600: "hour"}.get(period, f"{period} s")


def _billed_in_window(
    billing: pd.DataFrame, window: Window | None, sources: list[str], log
) -> dict[str, Any]:
    """The manifest's billed figures over the run's window, and what lies outside it."""
    inside = in_window(billing, window)
    totals, outside = billed_totals(billing[inside]), billed_totals(billing[~inside])
    info: dict[str, Any] = totals.for_manifest()
    info["window"] = [d.isoformat() for d in window] if window else None
    info["outside_window"] = {
        "lines": outside.lines,
        "billed_usd": rounded(outside.usage_usd),
        "all_line_items_usd": rounded(outside.total_usd),
    }
    text = (
        f"billing: {len(billing):,} Bedrock line items from {', '.join(sources)}: "
        f"billed usage {usd(totals.usage_usd)} (excl. tax), tax {usd(totals.tax_usd)}"
    )
    if outside.lines:
        text += (
            f" in the run's window [{window[0]}, {window[1]}); {outside.lines:,} line items "
            f"outside it ({usd(outside.usage_usd)} of billed usage) are left out of the "
            "comparison"
        )
    log(text)
    return info


def run_window(run_dir: str | Path, run: dict[str, Any] | None = None) -> Window | None:
    """The run's whole UTC days, (first, day after the last): ``run.start`` / ``run.end``
    when set, else the window the ingest was given (its report), else the days of the
    ingested usage; None when neither bounds it (no usage)."""
    run_dir = Path(run_dir)
    report_path = run_dir / "ingest_report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    first = _day((run or {}).get("start") or report.get("start"))
    after = _day((run or {}).get("end") or report.get("end"), round_up=True)
    if first is None or after is None:
        ts = pd.read_parquet(run_dir / "usage.parquet", columns=["timestamp"])["timestamp"]
        if ts.empty:
            return None
        first = first or pd.Timestamp(ts.min()).date()
        after = after or pd.Timestamp(ts.max()).date() + dt.timedelta(days=1)
    return first, after


def _day(value: Any, round_up: bool = False) -> dt.date | None:
    """A window bound as a UTC day (a time of day rounds down, or up for an end)."""
    if value is None or value == "":
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_convert("UTC") if ts.tzinfo else ts
    return (ts.ceil("D") if round_up else ts.floor("D")).date()


def _period(window: Window | None) -> tuple[dt.datetime, dt.datetime]:
    """The window as [start, end) UTC datetimes, for the AWS APIs asked for the run's period."""
    if window is None:
        raise ValueError(
            "the run has no window to ask AWS for: no run.start / run.end and no ingested "
            "usage; set run.start and run.end"
        )
    first, after = window
    return (
        dt.datetime.combine(first, dt.time(), dt.UTC),
        dt.datetime.combine(after, dt.time(), dt.UTC),
    )


def _client_opts(run: dict[str, Any]) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if run.get("endpoint_url"):
        opts["endpoint_url"] = run["endpoint_url"]
    if run.get("region"):
        opts["region"] = run["region"]
    return opts
