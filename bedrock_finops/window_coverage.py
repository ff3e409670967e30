"""Whether the usage table covers the window it was read for, and why it may not.

Logs older than the source keeps are gone without an error: a CloudWatch Logs group deletes
events past its retention, an S3 lifecycle rule expires or archives older objects, and logging
may have been enabled after the window's start. The table is then silently partial, and
per-day or monthly figures taken over the window are understated (a 90-day window over a
group that keeps 30 days: about 3x). The report gives the records' own span beside the window,
and the summary warns when the two differ by more than :data:`GAP`.

Days without records inside the span (logging switched off for a week, a delivery that failed)
understate the notebooks' per-day figures the same way, since those divide by the span's
calendar days (or by the window's length, where that is shorter: ``findings.period_of``).
From the rows kept per UTC day, the weekdays the traffic runs on are judged
(:func:`traffic_weekdays`), so a weekend over weekday-only traffic is neither a gap inside the
span nor one at its edges.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bedrock_finops.sources.cloudwatch_logs import GroupRetention

# a table whose records start (or end) this much after (before) the window's bound is told: an
# hour's quiet at the edges is ordinary traffic, a day's is likely a gap in the logs
GAP = timedelta(days=1)
# this many days the traffic runs on, with no records, make a gap inside the span: one or two
# quiet days (a public holiday, a quiet weekend) are ordinary traffic
INSIDE_GAP_DAYS = 3
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # date.weekday()'s order


def utc_now() -> datetime:
    """The time the window is judged at (what "in the past" and "the last N days" mean)."""
    return datetime.now(UTC)


def calendar_days(first: datetime, last: datetime) -> int:
    """Calendar days (UTC) from the first record's to the last's, both counted: the days the
    notebooks' per-day figures divide by, unless the table's window is shorter than them (48
    hours from noon touch 3 calendar days and divide by 2: ``findings.period_of``)."""
    return (last.astimezone(UTC).date() - first.astimezone(UTC).date()).days + 1


def divisor_days(start: datetime | None, end: datetime | None, calendar: int) -> tuple[float, bool]:
    """The days per-day figures divide by, and whether the window's length gave them: the
    window's own length when it has both ends and is shorter than the ``calendar`` days the
    records touch, else those calendar days (the rule of ``findings.period_of``)."""
    if start is not None and end is not None:
        window = (end - start).total_seconds() / 86400
        if 0 < window < calendar:
            return (int(window) if window.is_integer() else window), True
    return calendar, False


def shown(when: datetime) -> str:
    """A time as the warnings show it: ``2026-10-28 06:00 UTC``."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class DayRecords:
    """The rows kept on one UTC calendar day: how many, and the first and last one's time."""

    rows: int
    first: datetime
    last: datetime

    def merged(self, other: DayRecords) -> DayRecords:
        return DayRecords(
            self.rows + other.rows, min(self.first, other.first), max(self.last, other.last)
        )


def records_span(days: Mapping[date, DayRecords]) -> tuple[datetime | None, datetime | None]:
    """The first and last record of the rows tallied per day (None, None: no rows)."""
    if not days:
        return None, None
    return days[min(days)].first, days[max(days)].last


def weekday_counts(first: date, days: int) -> list[int]:
    """How many of each weekday (0 Monday) the ``days`` calendar days from ``first`` hold:
    counted, not listed, so a span of centuries (a stray timestamp) costs nothing more."""
    whole, rest = divmod(max(days, 0), len(WEEKDAYS))
    return [whole + ((wd - first.weekday()) % len(WEEKDAYS) < rest) for wd in range(len(WEEKDAYS))]


def traffic_weekdays(days: Mapping[date, DayRecords]) -> list[int]:
    """The weekdays (0 Monday) the traffic runs on: those with records on at least half of
    their days in the span, its first and last day left out (a part of a day each, with records
    by definition), and weeks (Monday to Sunday) without a record left out too: a week of
    logging switched off says nothing of the traffic's days, and counted it would make a long
    gap look like sparse traffic, which has no gaps. With fewer than two of each weekday left (a
    span under 16 days), too few to judge: every weekday. None for no rows, and none for
    traffic too sparse to run on half of any weekday's days (a few calls a week), whose quiet
    days are ordinary."""
    if not days:
        return []
    first, last = min(days), max(days)
    occurrences = [0] * len(WEEKDAYS)
    # each week's inner days as offsets from the first day (dates past 9999-12-31 do not exist)
    for week in {(day - first).days - day.weekday() for day in days}:
        since, until = max(week, 1), min(week + len(WEEKDAYS), (last - first).days)
        counts = weekday_counts(first + timedelta(days=since), until - since)
        occurrences = [n + m for n, m in zip(occurrences, counts, strict=True)]
    if min(occurrences) < 2:
        return list(range(len(WEEKDAYS)))
    with_records = Counter(day.weekday() for day in days if first < day < last)
    return [wd for wd, n in enumerate(occurrences) if n and 2 * with_records[wd] >= n]


def inside_gaps(days: Mapping[date, DayRecords], weekdays: list[int]) -> list[dict[str, Any]]:
    """The stretches inside the span with no records over at least :data:`INSIDE_GAP_DAYS`
    days of ``weekdays`` (other days in them neither end nor lengthen one), as ``{edge:
    "inside", from, to, days}`` from the last record before to the first after. One step per
    day with records: the quiet days between two are counted, not walked."""
    gaps: list[dict[str, Any]] = []
    with_records = sorted(days)
    for before, after in zip(with_records, with_records[1:], strict=False):
        between = weekday_counts(before + timedelta(days=1), (after - before).days - 1)
        if sum(between[wd] for wd in weekdays) >= INSIDE_GAP_DAYS:
            gaps.append(_gap("inside", days[before].last, days[after].first))
    return gaps


def _time_on(weekdays: list[int], since: datetime, until: datetime) -> timedelta:
    """How much of [since, until) falls on ``weekdays`` (UTC calendar days): the two part
    days at its ends, and the whole days between them counted."""
    since, until = since.astimezone(UTC), until.astimezone(UTC)
    if until <= since:
        return timedelta()
    first, last = since.date(), until.date()
    if first == last:
        return until - since if first.weekday() in weekdays else timedelta()
    total = timedelta()
    if first.weekday() in weekdays:
        total += datetime.combine(first + timedelta(days=1), time(), UTC) - since
    if last.weekday() in weekdays:
        total += until - datetime.combine(last, time(), UTC)
    whole = weekday_counts(first + timedelta(days=1), (last - first).days - 1)
    return total + timedelta(days=sum(whole[wd] for wd in weekdays))


def edge_gap_told(gap: dict[str, Any], weekdays: list[int]) -> bool:
    """Whether an edge gap is warned of: :data:`GAP` or more of it falls on days the traffic
    runs on. A Saturday-start window over weekday traffic whose first record is Monday at 08:00
    is not (8 hours); a gap holding one of its days whole is. Traffic on every day keeps the
    plain rule (the gap is over :data:`GAP`), as does traffic judged to run on no weekday."""
    since, until = datetime.fromisoformat(gap["from"]), datetime.fromisoformat(gap["to"])
    return _time_on(weekdays or list(range(len(WEEKDAYS))), since, until) >= GAP


def in_time_order(
    edges: list[dict[str, Any]], inside: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The window's gaps as the report lists them: the start's, those inside, the end's."""
    return [
        *(g for g in edges if g["edge"] == "start"),
        *inside,
        *(g for g in edges if g["edge"] == "end"),
    ]


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


def inside_gap_warning(
    gaps: list[dict[str, Any]],
    record_days: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> str:
    """The summary's warning for :func:`inside_gaps`: each stretch without records, its
    likely causes, and what it does to per-day figures over the days they divide by (the
    records' span, or the window ``start`` to ``end`` when shorter: :func:`divisor_days`)."""
    stretches = " and ".join(
        f"from {shown(datetime.fromisoformat(g['from']))} to "
        f"{shown(datetime.fromisoformat(g['to']))} ({g['days']:g} days)"
        for g in gaps
    )
    days, by_window = divisor_days(start, end, record_days)
    over = (
        f"the window ({days:g} days)"
        if by_window
        else f"the records' span ({record_days:,} calendar days)"
    )
    return (
        f"the table has no records {stretches}, inside its span. Invocation logging may have "
        "been switched off and on again, its delivery may have failed for those days, or the "
        "source read may be missing them (a folder or S3 prefix without those days): per-day "
        f"and monthly figures over {over} count those days as days without traffic"
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
