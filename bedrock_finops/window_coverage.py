"""Whether the usage table covers the window it was read for, and why it may not.

Logs older than the source keeps are gone without an error: a CloudWatch Logs group deletes
events past its retention, an S3 lifecycle rule expires or archives older objects, and logging
may have been enabled after the window's start. The table is then silently partial, and
per-day or monthly figures taken over the window are understated (a 90-day window over a
group that keeps 30 days: about 3x). The report gives the records' own span beside the window,
and the summary warns when the two differ by more than :data:`GAP`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bedrock_finops.sources.cloudwatch_logs import GroupRetention

# a table whose records start (or end) this much after (before) the window's bound is told: an
# hour's quiet at the edges is ordinary traffic, a day's is likely a gap in the logs
GAP = timedelta(days=1)


def utc_now() -> datetime:
    """The time the window is judged at (what "in the past" and "the last N days" mean)."""
    return datetime.now(UTC)


def calendar_days(first: datetime, last: datetime) -> int:
    """Calendar days (UTC) from the first record's to the last's, both counted: the days the
    notebooks' per-day figures divide by (``findings.period_of``)."""
    return (last.astimezone(UTC).date() - first.astimezone(UTC).date()).days + 1


def shown(when: datetime) -> str:
    """A time as the warnings show it: ``2026-10-28 06:00 UTC``."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def window_gaps(
    start: datetime | None,
    end: datetime | None,
    first: datetime | None,
    last: datetime | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """The stretches of the window the records do not reach, longer than :data:`GAP`:
    ``{edge, from, to, days}`` for the start (before the first record) and the end (after
    the last, up to the window's end or ``now``, whichever is earlier: a window ending in the
    future has no records there yet, but logging that stopped days ago is still told).
    None when the table is empty: the summary says so already."""
    if first is None or last is None:
        return []
    gaps = []
    if start is not None and first - start > GAP:
        gaps.append(_gap("start", start, first))
    if end is not None:
        until = min(end, now)
        if until - last > GAP:
            gaps.append(_gap("end", last, until))
    return gaps


def _gap(edge: str, since: datetime, until: datetime) -> dict[str, Any]:
    days = round((until - since).total_seconds() / 86400, 1)
    return {"edge": edge, "from": since.isoformat(), "to": until.isoformat(), "days": days}


def gap_warning(gaps: list[dict[str, Any]], record_days: int, end: datetime | None = None) -> str:
    """The summary's warning for :func:`window_gaps`: where the records fall short, the likely
    causes at that edge, and which span per-day figures should take. An end gap is measured to
    the window's ``end`` or to now, whichever came first (its ``to``), and says which."""
    parts, causes = [], []
    for gap in gaps:
        if gap["edge"] == "start":
            parts.append(f"its first record is {gap['days']:g} days after the window's start")
            causes.append(
                "the logs there may be gone (a log group's retention, an S3 lifecycle rule that "
                "expired or archived them) or logging may have been enabled later"
            )
        else:
            until = datetime.fromisoformat(gap["to"])
            where = "the window's end" if until == end else f"now ({shown(until)})"
            parts.append(f"its last record is {gap['days']:g} days before {where}")
            causes.append(
                "logging may have stopped there, or its delivery failed (the logging "
                "configuration, the bucket's or log group's permissions)"
            )
    why = "; ".join(causes)
    return (
        f"the table may not cover the window: {' and '.join(parts)}. {why[0].upper()}{why[1:]}: "
        f"per-day and monthly figures should use the records' span ({record_days:,} calendar "
        f"day{'s' if record_days != 1 else ''}), not the window"
    )


def log_group_warnings(group: GroupRetention, start: datetime | None, now: datetime) -> list[str]:
    """What the log group's retention and creation say of a window starting at ``start``
    (nothing for an open start: the table then holds what the group holds, as asked)."""
    if start is None:
        return []
    if not group.checked:
        return [
            f"the log group's retention could not be checked ({group.why_unchecked}): if it "
            "keeps fewer days than the window, the table holds only those (logs:DescribeLogGroups "
            "reads it)"
        ]
    warnings = []
    if group.retention_days:
        kept_from = now - timedelta(days=group.retention_days)
        if kept_from - start > GAP:
            warnings.append(
                f"the log group keeps {group.retention_days:,} days; events before "
                f"{shown(kept_from)} are gone, and the window starts {shown(start)}"
            )
    if group.created is not None and group.created - start > GAP:
        warnings.append(
            f"the log group was created {shown(group.created)}, after the window's start "
            f"({shown(start)}): Bedrock delivered no events to it before then"
        )
    return warnings
