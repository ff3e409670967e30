"""Why a run's usage table is empty, and what to change: the error a run stops with before
its notebooks.

Said from the ingest's report (``ingest_report.json``): a window that holds none of the
source's records says on which side of it they are and the setting that reaches them; a source
whose lines were all quarantined points at the quarantine's reasons. Only what applies is
named: a run without a window says nothing of one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from bedrock_finops.terminal_text import for_terminal

LEAD = "the ingest found no invocations to analyse"


def nothing_to_analyse(report: dict[str, Any], relative: str | None = None) -> str:
    """Why a run with an empty usage table stops before the notebooks, and what to check
    (``run.window`` when the days are relative: ``relative`` is its value)."""
    windowed = bool(report.get("start") or report.get("end"))
    if windowed and not report.get("lines_read"):
        return _quiet_window(report, relative)
    return _nothing_kept(report, relative if windowed else None, windowed)


def _quiet_window(report: dict[str, Any], relative: str | None) -> str:
    """A window none of whose records the source holds (the ingest refuses a source that
    holds none at all): where the source's records are, and the setting that reaches them."""
    notices = _notices(report)
    outside = report.get("outside_window") or 0
    said = f"{LEAD}: {report.get('source')} holds none in the window {_window(report)}"
    said += f" ({notices})" if notices else ""
    if not outside:
        return said + f"; widen {_keys(relative)} to a period with traffic"
    return said + f": {_where_outside(report)}; {_reach_them(report, relative)}"


def _nothing_kept(report: dict[str, Any], relative: str | None, windowed: bool) -> str:
    """Lines were read (or no window was set) and none became a row: the counts, then the
    fix: the quarantine's reasons, and the window where records are outside it."""
    by_reason = (report.get("quarantine_by_reason") or {}).items()
    # a reason may quote a logged value (an error code): escaped, a line break included, so
    # the sentence stays one line in the log and the manifest
    reasons = ", ".join(f"{n} {for_terminal(r)}" for r, n in by_reason)
    quarantined = report.get("quarantined", 0)
    counts = [
        f"{report.get('lines_read', 0):,} lines read",
        f"{quarantined:,} quarantined" + (f" ({reasons})" if reasons else ""),
    ]
    if notices := _notices(report):
        counts.append(notices)
    said = f"{LEAD}: {', '.join(counts)}"
    outside = report.get("outside_window") or 0
    if windowed and outside:
        said += f"; outside the window {_window(report)}: {_where_outside(report)}"
    fixes = [
        "check that run.source holds Bedrock invocation logs: "
        + (
            "quarantine.parquet in the run folder shows each quarantined line and why"
            if quarantined
            else "it held no invocation record"
        )
    ]
    if windowed and outside:
        fixes.append(_reach_them(report, relative))
    fix = "; ".join(fixes)
    return f"{said}. {fix[0].upper()}{fix[1:]}"


def _where_outside(report: dict[str, Any]) -> str:
    """The records outside the window, by side, and the days they span: 'all 50 records are
    before it (2026-09-01 to 2026-09-03)'. A report of an ingest older than the sides' counts
    says how many alone."""
    outside = report.get("outside_window") or 0
    before, after = report.get("before_window") or 0, report.get("after_window") or 0
    records = f"{outside:,} record{'s' if outside != 1 else ''}"
    span = _span(report)
    if not span or not (before or after):
        return f"{records} outside it"
    if before == outside or after == outside:
        side = "before" if before else "after"
        whole = "the" if outside == 1 else "all"
        return f"{whole} {records} {'is' if outside == 1 else 'are'} {side} it ({span})"
    rest = outside - before - after  # undated lines of the files of another window
    return (
        f"{records} outside it: {before:,} before it, {after:,} after it"
        + (f", {rest:,} undated" if rest else "")
        + f" ({span})"
    )


def _reach_them(report: dict[str, Any], relative: str | None) -> str:
    """The setting that takes the records outside the window in: run.start to the day of the
    earliest before it, run.end past the day of the latest after it (the end is exclusive)."""
    widen = f"widen {_keys(relative)} to a period with traffic"
    if relative or not _span(report):
        return widen
    earliest, latest = (_day(report[k]) for k in ("earliest_outside", "latest_outside"))
    moves = []
    if report.get("before_window"):
        moves.append(f"run.start to {earliest} or earlier")
    if report.get("after_window"):
        moves.append(f"run.end to {latest + dt.timedelta(days=1)} or later")
    return "set " + " and ".join(moves) if moves else widen


def _span(report: dict[str, Any]) -> str:
    """The UTC days of the earliest and latest record outside the window; '' when unknown."""
    first, last = report.get("earliest_outside"), report.get("latest_outside")
    if not (first and last):
        return ""
    return f"{_day(first)} to {_day(last)}"


def _day(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).astimezone(dt.UTC).date()


def _window(report: dict[str, Any]) -> str:
    return f"[{report.get('start') or '-'}, {report.get('end') or '-'})"


def _keys(relative: str | None) -> str:
    return f"run.window ({relative})" if relative else "run.start and run.end"


def _notices(report: dict[str, Any]) -> str:
    n = report.get("setup_notices", 0)
    if not n:
        return ""
    return (
        f"{n:,} set-up notice{'s' if n != 1 else ''} left out (Bedrock's \"Permissions are "
        'correctly set" event, no record)'
    )
