"""Whether the usage table covers its window: the records' span beside the window, a warning
when the two differ by over a day, stretches without records inside the span, the weekdays the
traffic runs on (so its days off are no gap), what a log group's retention and creation say of
the window, and archived S3 objects counted in the summary whether or not it is read on a
terminal."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber

from bedrock_finops import cli, findings, runner, window_coverage
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.schema import from_arrow
from bedrock_finops.sources.cur import BillingFormatError

FIXTURE = Path(__file__).parent / "fixtures" / "logs" / "good" / "part-2.json"
BASE = json.loads(FIXTURE.read_text().splitlines()[0])
GROUP = "/aws/bedrock/modelinvocations"
STREAM = "aws/bedrock/modelinvocations"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _record(request_id: str, when: str) -> str:
    return json.dumps({**BASE, "requestId": request_id, "timestamp": when})


def _logs(folder: Path, stamps: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [_record(f"r{i}", t) for i, t in enumerate(stamps)]
    (folder / "logs.jsonl").write_text("\n".join(lines) + "\n")
    return folder


# ------------------------------------------------------------------ the gaps, as values


NOW = utc("2026-11-27T06:00")


def test_gaps_at_both_edges_in_days():
    """First record 2026-10-28 12:00, 60.5 days after 2026-08-29 00:00; last 2026-11-25 12:00,
    1.5 days before the end 2026-11-27 00:00 (past at 06:00 that day)."""
    gaps = window_coverage.window_gaps(
        utc("2026-08-29T00:00"), utc("2026-11-27T00:00"),
        utc("2026-10-28T12:00"), utc("2026-11-25T12:00"), NOW,
    )  # fmt: skip
    assert gaps == [
        {"edge": "start", "from": "2026-08-29T00:00:00+00:00", "to": "2026-10-28T12:00:00+00:00",
         "days": 60.5},
        {"edge": "end", "from": "2026-11-25T12:00:00+00:00", "to": "2026-11-27T00:00:00+00:00",
         "days": 1.5},
    ]  # fmt: skip
    # 28 October to 25 November, both counted: 4 days of October and 25 of November
    assert window_coverage.calendar_days(utc("2026-10-28T12:00"), utc("2026-11-25T12:00")) == 29


@pytest.mark.parametrize(
    ("first", "last", "end", "edges"),
    [
        ("2026-08-29T23:59", "2026-11-26T00:00", "2026-11-27T00:00", []),  # within a day
        ("2026-08-30T00:01", "2026-11-26T00:00", "2026-11-27T00:00", ["start"]),
        # the end is in the future: judged up to now (06:00), not up to the end
        ("2026-08-29T01:00", "2026-11-26T07:00", "2026-12-01T00:00", []),
        ("2026-08-29T01:00", "2026-11-26T05:00", "2026-12-01T00:00", ["end"]),
        ("2026-08-29T01:00", "2026-11-20T00:00", "2026-11-27T06:00", ["end"]),  # the end is now
    ],
)  # fmt: skip
def test_a_gap_is_over_a_day_and_at_the_end_up_to_now_at_most(first, last, end, edges):
    gaps = window_coverage.window_gaps(
        utc("2026-08-29T00:00"), utc(end), utc(first), utc(last), NOW
    )
    assert [g["edge"] for g in gaps] == edges


def test_an_end_gap_measured_to_now_says_so_and_names_stopped_logging():
    """A window ending 2026-12-01, judged at 2026-11-27 06:00, last record 2026-11-20 00:00:
    7.2 days before now, not 11 before the window's end."""
    end = utc("2026-12-01T00:00")
    gaps = window_coverage.window_gaps(
        utc("2026-11-01T00:00"), end, utc("2026-11-01T00:10"), utc("2026-11-20T00:00"), NOW
    )
    assert window_coverage.gap_warning(gaps, 20, end) == (
        "the table may not cover the window: its last record is 7.2 days before now "
        "(2026-11-27 06:00 UTC). Logging may have stopped there, or its delivery failed (the "
        "logging configuration, the bucket's or log group's permissions): per-day and monthly "
        "figures should use the records' span (20 calendar days), not the window"
    )


def test_an_open_window_or_an_empty_table_has_no_gaps():
    first, last = utc("2026-10-28T12:00"), utc("2026-11-25T12:00")
    assert window_coverage.window_gaps(None, None, first, last, NOW) == []
    assert window_coverage.window_gaps(utc("2026-08-29T00:00"), None, None, None, NOW) == []


# ------------------------------------------------------------------ the traffic's days, as values


WEEKDAYS_ONLY = ["Mon", "Tue", "Wed", "Thu", "Fri"]


def _days(
    first: str, last: str, missing: Collection[str] = (), weekdays_only: bool = False
) -> dict[date, window_coverage.DayRecords]:
    """A tally per day from ``first`` to ``last`` (days), records from 08:00 to 18:00 each
    day but the ``missing`` ones (and weekends, for weekday-only traffic)."""
    tally = {}
    day = date.fromisoformat(first)
    while day <= date.fromisoformat(last):
        if day.isoformat() not in missing and not (weekdays_only and day.weekday() >= 5):
            at = datetime.combine(day, datetime.min.time(), UTC)
            tally[day] = window_coverage.DayRecords(
                10, at + timedelta(hours=8), at + timedelta(hours=18)
            )
        day += timedelta(days=1)
    return tally


def _weekday_names(tally: dict[date, window_coverage.DayRecords]) -> list[str]:
    return [window_coverage.WEEKDAYS[wd] for wd in window_coverage.traffic_weekdays(tally)]


def test_a_week_missing_from_30_days_is_one_gap_inside_the_span():
    """October 2026, 10 to 16 missing: the last record before is on the 9th at 18:00, the first
    after on the 17th at 08:00, 7 days and 14 hours later. Each weekday still has records on 3
    of its 4 days inside the span, so the traffic runs on all seven."""
    missing = {f"2026-10-{d}" for d in range(10, 17)}
    tally = _days("2026-10-01", "2026-10-30", missing)
    assert _weekday_names(tally) == list(window_coverage.WEEKDAYS)
    assert window_coverage.inside_gaps(tally, list(range(7))) == [
        {"edge": "inside", "from": "2026-10-09T18:00:00+00:00", "to": "2026-10-17T08:00:00+00:00",
         "days": 7.6},
    ]  # fmt: skip


# four weeks of weekday traffic: Monday 9 November to Friday 4 December 2026
NOV_FIRST, NOV_LAST = "2026-11-09", "2026-12-04"


@pytest.mark.parametrize(
    ("missing", "gaps"),
    [
        (set(), []),
        # Wednesday to Friday: three days the traffic runs on, then its weekend, from Tuesday
        # 18:00 to Monday 08:00
        ({"2026-11-18", "2026-11-19", "2026-11-20"},
         [{"edge": "inside", "from": "2026-11-17T18:00:00+00:00",
           "to": "2026-11-23T08:00:00+00:00", "days": 5.6}]),
        ({"2026-11-18", "2026-11-19"}, []),  # two days: a quiet, not a gap
        ({"2026-11-19", "2026-11-20"}, []),  # two, and the weekend after them counts for none
        ({"2026-11-20", "2026-11-23"}, []),  # Friday and Monday around a weekend: two
        ({"2026-11-19", "2026-11-20", "2026-11-23"},  # Thursday, Friday and Monday: three
         [{"edge": "inside", "from": "2026-11-18T18:00:00+00:00",
           "to": "2026-11-24T08:00:00+00:00", "days": 5.6}]),
    ],
)  # fmt: skip
def test_weekday_traffic_has_a_gap_over_three_of_its_days_not_over_weekends(missing, gaps):
    tally = _days(NOV_FIRST, NOV_LAST, missing, weekdays_only=True)
    assert _weekday_names(tally) == WEEKDAYS_ONLY
    assert window_coverage.inside_gaps(tally, [0, 1, 2, 3, 4]) == gaps


def test_a_weekday_is_the_traffics_on_half_of_its_days_inside_the_span():
    """Weekday traffic that also ran on two of the three Saturdays inside the span (not on the
    first or last day, which are left out): Saturday is one of its days; on one, it is not."""
    tally = _days(NOV_FIRST, NOV_LAST, weekdays_only=True)
    saturdays = _days("2026-11-14", "2026-11-21")
    assert _weekday_names({**tally, **saturdays}) == [*WEEKDAYS_ONLY, "Sat"]
    assert _weekday_names({**tally, **_days("2026-11-14", "2026-11-14")}) == WEEKDAYS_ONLY


def test_traffic_on_every_fourth_day_runs_on_no_weekday_and_has_no_gap_inside():
    """Records on 1, 5, 9, ... 29 October 2026: one of each weekday's 3 or 4 days inside."""
    tally = _days("2026-10-01", "2026-10-29")
    sparse = {day: r for day, r in tally.items() if (day.day - 1) % 4 == 0}
    assert _weekday_names(sparse) == []
    assert window_coverage.inside_gaps(sparse, []) == []


def test_a_span_of_under_16_days_is_too_short_to_judge_its_weekdays():
    """15 days of weekday traffic hold 13 days inside the first and last: every day is the
    traffic's, so its weekend is a two-day quiet, and a third day without records a gap."""
    tally = _days("2026-11-09", "2026-11-23", weekdays_only=True)
    assert _weekday_names(tally) == list(window_coverage.WEEKDAYS)
    assert window_coverage.inside_gaps(tally, list(range(7))) == []
    without_friday = {d: r for d, r in tally.items() if d != date(2026, 11, 13)}
    assert [g["days"] for g in window_coverage.inside_gaps(without_friday, list(range(7)))] == [
        3.6  # Thursday 18:00 to Monday 08:00
    ]
    assert window_coverage.traffic_weekdays({}) == []
    assert window_coverage.inside_gaps({}, []) == []


@pytest.mark.parametrize(
    ("start", "end", "told"),
    [
        # Saturday 00:00 to the first record, Monday 08:00: the weekend is not the traffic's
        ("2026-11-07T00:00", "2026-12-05T00:00", []),
        # Friday: a day the traffic runs on, before the first record
        ("2026-11-06T00:00", "2026-12-05T00:00", ["start"]),
        # to Monday 00:00 after the last record, Friday 18:00: 6 hours and a weekend
        ("2026-11-07T00:00", "2026-12-07T00:00", []),
        # to Monday 12:00: Monday's morning, 18 hours and the weekend
        ("2026-11-07T00:00", "2026-12-07T12:00", []),
        # to Tuesday 00:00: all of Monday too
        ("2026-11-07T00:00", "2026-12-08T00:00", ["end"]),
    ],
)  # fmt: skip
def test_an_edge_gap_of_days_the_traffic_does_not_run_on_is_not_warned(start, end, told):
    tally = _days(NOV_FIRST, NOV_LAST, weekdays_only=True)
    first, last = window_coverage.records_span(tally)
    edges = window_coverage.window_gaps(utc(start), utc(end), first, last, utc("2027-01-01T00:00"))
    assert len(edges) == 2 - (end == "2026-12-05T00:00")  # each listed, over a day
    weekdays = window_coverage.traffic_weekdays(tally)
    assert [g["edge"] for g in edges if window_coverage.edge_gap_told(g, weekdays)] == told


def test_an_edge_gap_is_judged_by_its_hours_on_the_traffics_days_not_by_whole_days():
    """Last record 2026-11-26 (a Thursday) 05:00, judged at 06:00 the next day: 25 hours, no
    whole day in them, all on days weekday traffic runs on: warned, as for traffic on every day.
    From Friday 02:00 to Monday 23:00, 22 and 23 hours of two of its days: warned; from Friday
    14:00 to Monday 10:00, 10 and 10: not. From Saturday 05:00 to Sunday 06:00, none: not."""

    def told(since: str, until: str, weekdays: list[int]) -> bool:
        gap = {"edge": "end", "from": f"{since}:00+00:00", "to": f"{until}:00+00:00"}
        return window_coverage.edge_gap_told(gap, weekdays)

    assert told("2026-11-26T05:00", "2026-11-27T06:00", list(range(7)))
    assert told("2026-11-26T05:00", "2026-11-27T06:00", [0, 1, 2, 3, 4])
    assert told("2026-11-27T02:00", "2026-11-30T23:00", [0, 1, 2, 3, 4])
    assert not told("2026-11-27T14:00", "2026-11-30T10:00", [0, 1, 2, 3, 4])
    assert not told("2026-11-28T05:00", "2026-11-29T06:00", [0, 1, 2, 3, 4])
    # traffic on no weekday's half (a few calls a week): the plain rule
    assert told("2026-11-28T05:00", "2026-11-29T06:00", [])


def test_rows_per_day_are_counted_in_utc_with_each_days_first_and_last():
    from bedrock_finops.ingest_output import rows_per_day

    def ms(text: str) -> int:
        return int(utc(text).timestamp() * 1000)

    stamps = pa.chunked_array(
        [[ms("2026-11-02T23:59:59.999"), None, ms("2026-11-02T00:00")],
         [ms("2026-11-03T00:00"), ms("2026-11-02T12:00:00.5")]],
        pa.timestamp("ms", tz="UTC"),
    )  # fmt: skip
    assert rows_per_day(stamps) == {
        date(2026, 11, 2): window_coverage.DayRecords(
            3, utc("2026-11-02T00:00"), utc("2026-11-02T23:59:59.999")
        ),
        date(2026, 11, 3): window_coverage.DayRecords(
            1, utc("2026-11-03T00:00"), utc("2026-11-03T00:00")
        ),
    }
    assert rows_per_day(pa.chunked_array([], pa.timestamp("ms", tz="UTC"))) == {}


# ------------------------------------------------------------------ a folder's table


def test_a_window_longer_than_the_records_is_told_with_their_span(tmp_path: Path, capsys):
    """Records from 2 June 12:00 to 4 June 12:00 in a window [1 May, 10 June): 32.5 days
    missing at the start, 5.5 at the end; the span is 3 calendar days, which is what the
    notebooks' period counts."""
    logs = _logs(tmp_path / "logs", ["2025-06-02T12:00:00Z", "2025-06-03T08:00:00Z",
                                     "2025-06-04T12:00:00Z"])  # fmt: skip
    out = tmp_path / "out" / "usage.parquet"
    argv = ["ingest", "--source", str(logs), "--out", str(out), "--workers", "1",
            "--start", "2025-05-01", "--end", "2025-06-10"]  # fmt: skip
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    report = json.loads((out.parent / "ingest_report.json").read_text())
    assert (report["first_record"], report["last_record"], report["record_days"]) == (
        "2025-06-02T12:00:00+00:00", "2025-06-04T12:00:00+00:00", 3,
    )  # fmt: skip
    assert report["window_gaps"] == [
        {"edge": "start", "from": "2025-05-01T00:00:00+00:00", "to": "2025-06-02T12:00:00+00:00",
         "days": 32.5},
        {"edge": "end", "from": "2025-06-04T12:00:00+00:00", "to": "2025-06-10T00:00:00+00:00",
         "days": 5.5},
    ]  # fmt: skip
    warning = (
        "the table may not cover the window: its first record is 32.5 days after the window's "
        "start and its last record is 5.5 days before the window's end. The logs there may be "
        "gone (a log group's retention, an S3 lifecycle rule that expired or archived them) or "
        "logging may have been enabled later; logging may have stopped there, or its delivery "
        "failed (the logging configuration, the bucket's or log group's permissions): per-day "
        "and monthly figures should use the records' span (3 calendar days), not the window"
    )
    assert report["window_warnings"] == [warning]
    assert report["log_group"] is None  # not a log group
    at = printed.index("window            [2025-05-01 00:00:00+00:00, 2025-06-10 00:00:00+00:00)")
    assert printed[at + 1 : at + 3] == [
        "records span      [2025-06-02 12:00:00+00:00, 2025-06-04 12:00:00+00:00]  "
        "(3 calendar days)",
        f"  warning: {warning}",
    ]
    usage = from_arrow(pq.read_table(out))
    assert findings.period_of(usage)["days"] == report["record_days"]


def test_a_window_the_records_fill_has_its_span_and_no_warning(tmp_path: Path):
    logs = _logs(tmp_path / "logs", ["2025-06-02T00:30:00Z", "2025-06-04T23:10:00Z"])
    report = ingest_to_folder(logs, tmp_path / "out", "2025-06-02", "2025-06-05", workers=1)
    assert (report.first_record, report.last_record) == (
        utc("2025-06-02T00:30"), utc("2025-06-04T23:10"),
    )  # fmt: skip
    assert (report.record_days, report.window_gaps, report.window_warnings) == (3, [], [])
    lines = report.summary().splitlines()
    assert lines[2] == (
        "records span      [2025-06-02 00:30:00+00:00, 2025-06-04 23:10:00+00:00]  "
        "(3 calendar days)"
    )
    assert not any("warning" in line for line in lines)


def test_the_span_is_of_the_rows_kept_across_row_groups(tmp_path: Path, monkeypatch):
    """One row group per two rows: the span is the earliest and latest over all of them,
    not the first and last group's; records outside the window are no rows and not in it."""
    from bedrock_finops import ingest_output

    monkeypatch.setattr(ingest_output, "ROW_GROUP_ROWS", 2)
    stamps = ["2025-06-03T05:00:00Z", "2025-06-02T07:00:00Z", "2025-06-04T09:00:00Z",
              "2025-06-03T01:00:00Z", "2025-06-09T00:00:00Z"]  # fmt: skip
    logs = _logs(tmp_path / "logs", stamps)
    report = ingest_to_folder(logs, tmp_path / "out", "2025-06-01", "2025-06-05", workers=1)
    assert pq.ParquetFile(tmp_path / "out" / "usage.parquet").num_row_groups == 2
    assert (report.rows, report.outside_window) == (4, 1)
    assert (report.first_record, report.last_record) == (
        utc("2025-06-02T07:00"), utc("2025-06-04T09:00"),
    )  # fmt: skip


def _stamps(tally) -> list[str]:
    """Two records a day of a tally (:func:`_days`): at its first and last time."""
    return [f"{t:%Y-%m-%dT%H:%M:%S}Z" for day in tally.values() for t in (day.first, day.last)]


def test_a_week_without_records_inside_the_span_is_told_and_logged(tmp_path: Path):
    """October 2026 in a window of October, the 10th to the 16th without records: one gap,
    from the 9th at 18:00 to the 17th at 08:00, in the report, its summary and a run's log."""
    tally = _days("2026-10-01", "2026-10-30", {f"2026-10-{d}" for d in range(10, 17)})
    logs = _logs(tmp_path / "logs", _stamps(tally))
    report = ingest_to_folder(logs, tmp_path / "out", "2026-10-01", "2026-10-31", workers=1)
    assert (report.rows, report.record_days) == (46, 30)
    assert report.traffic_weekdays == list(window_coverage.WEEKDAYS)
    assert report.window_gaps == [
        {"edge": "inside", "from": "2026-10-09T18:00:00+00:00", "to": "2026-10-17T08:00:00+00:00",
         "days": 7.6},
    ]  # fmt: skip
    warning = (
        "the table has no records from 2026-10-09 18:00 UTC to 2026-10-17 08:00 UTC (7.6 days), "
        "inside its span. Invocation logging may have been switched off and on again, its "
        "delivery may have failed for those days, or the source read may be missing them (a "
        "folder or S3 prefix without those days): per-day and monthly figures over the "
        "records' span (30 calendar days) count those days as days without traffic"
    )
    assert report.window_warnings == [warning]
    lines = report.summary().splitlines()
    assert lines[2:4] == [
        "records span      [2026-10-01 08:00:00+00:00, 2026-10-30 18:00:00+00:00]  "
        "(30 calendar days)",
        f"  warning: {warning}",
    ]
    said: list[str] = []
    runner._log_coverage(json.loads(json.dumps(report.to_dict())), said.append)
    assert said[1:] == [f"warning: {warning}"]


def test_weekday_traffic_in_a_window_from_a_saturday_to_a_monday_has_no_warning(
    tmp_path: Path, monkeypatch
):
    """Four weeks of weekday traffic, the window from Saturday 7 November to Monday 7 December:
    both edges are over a day and listed, but hold no hour of a day the traffic runs on."""
    monkeypatch.setattr(window_coverage, "utc_now", lambda: utc("2027-01-01T00:00"))
    logs = _logs(tmp_path / "logs", _stamps(_days(NOV_FIRST, NOV_LAST, weekdays_only=True)))
    report = ingest_to_folder(logs, tmp_path / "out", "2026-11-07", "2026-12-07", workers=1)
    assert report.traffic_weekdays == WEEKDAYS_ONLY
    assert [(g["edge"], g["days"]) for g in report.window_gaps] == [("start", 2.3), ("end", 2.2)]
    assert report.window_warnings == []


def test_weekday_traffic_without_a_wednesday_to_friday_has_one_warning(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(window_coverage, "utc_now", lambda: utc("2027-01-01T00:00"))
    tally = _days(
        NOV_FIRST, NOV_LAST, {"2026-11-18", "2026-11-19", "2026-11-20"}, weekdays_only=True
    )
    logs = _logs(tmp_path / "logs", _stamps(tally))
    report = ingest_to_folder(logs, tmp_path / "out", "2026-11-07", "2026-12-07", workers=1)
    assert report.traffic_weekdays == WEEKDAYS_ONLY
    assert [(g["edge"], g["days"]) for g in report.window_gaps] == [
        ("start", 2.3), ("inside", 5.6), ("end", 2.2),
    ]  # fmt: skip
    assert len(report.window_warnings) == 1
    assert report.window_warnings[0].startswith(
        "the table has no records from 2026-11-17 18:00 UTC to 2026-11-23 08:00 UTC (5.6 days)"
    )


def test_a_duplicate_delivery_dated_in_a_gap_does_not_fill_it(tmp_path: Path):
    """Ten days at noon, 4 to 6 June without records; a second delivery of the first record's
    requestId, dated 5 June, is dropped as a duplicate before the days are counted."""
    stamps = [f"2025-06-{d:02}T12:00:00Z" for d in (1, 2, 3, 7, 8, 9, 10)]
    lines = [_record(f"r{i}", t) for i, t in enumerate(stamps)]
    lines.append(_record("r0", "2025-06-05T12:00:00Z"))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "logs.jsonl").write_text("\n".join(lines) + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1)
    assert (report.rows, report.duplicates, report.conflicting_duplicate_count) == (7, 1, 1)
    assert report.traffic_weekdays == list(window_coverage.WEEKDAYS)  # 10 days: too few to judge
    assert report.window_gaps == [
        {"edge": "inside", "from": "2025-06-03T12:00:00+00:00", "to": "2025-06-07T12:00:00+00:00",
         "days": 4.0},
    ]  # fmt: skip


def test_the_embedded_sample_has_no_gap_and_runs_on_every_day(sample_dir: Path, tmp_path: Path):
    """30 days from 2026-10-01, less traffic at weekends but some on every day: no gap, no
    warning, as `make run` prints it."""
    report = ingest_to_folder(sample_dir / "logs", tmp_path, progress=False)
    assert report.record_days == 30
    assert report.traffic_weekdays == list(window_coverage.WEEKDAYS)
    assert (report.window_gaps, report.window_warnings) == ([], [])
    said: list[str] = []
    runner._log_coverage(report.to_dict(), said.append)
    assert not any(line.startswith("warning") for line in said)


# ------------------------------------------------------------------ a log group's retention


def _logs_client():
    return boto3.client(
        "logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _event(when: str) -> dict:
    ms = int(utc(when).timestamp() * 1000)
    return {"logStreamName": STREAM, "timestamp": ms, "eventId": "1", "ingestionTime": ms,
            "message": _record("cw-1", f"{when}Z")}  # fmt: skip


def test_a_window_past_the_groups_retention_and_creation_is_told(tmp_path: Path, monkeypatch):
    """Judged at 2026-11-27 06:00: a group that keeps 30 days holds nothing before
    2026-10-28 06:00, and one created 2026-09-15 nothing before that; the 90-day window starts
    2026-08-29. Its one event (2026-11-26 06:00) is 89.2 days after the start."""
    monkeypatch.setattr(window_coverage, "utc_now", lambda: NOW)
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": [_event("2026-11-26T06:00:00")]})
    created = int(utc("2026-09-15T00:00").timestamp() * 1000)
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": GROUP, "creationTime": created, "retentionInDays": 30,
                        "metricFilterCount": 0, "storedBytes": 2048,
                        "arn": f"arn:aws:logs:us-east-1:111122223333:log-group:{GROUP}:*",
                        "logGroupArn": f"arn:aws:logs:us-east-1:111122223333:log-group:{GROUP}"}]},
        {"logGroupNamePrefix": GROUP},
    )  # fmt: skip
    with stub:
        report = ingest_to_folder(
            f"cloudwatch-logs://{GROUP}", tmp_path, "2026-08-29", "2026-11-27",
            logs_client=logs, progress=False,
        )  # fmt: skip
        stub.assert_no_pending_responses()
    assert report.log_group == {
        "checked": True, "retention_days": 30, "created": "2026-09-15T00:00:00+00:00",
        "why_unchecked": None,
    }  # fmt: skip
    assert [g["days"] for g in report.window_gaps] == [89.2]  # 89 days 6 hours
    assert report.window_warnings[1:] == [
        "the log group keeps 30 days; events before 2026-10-28 06:00 UTC are gone, and the "
        "window starts 2026-08-29 00:00 UTC",
        "the log group was created 2026-09-15 00:00 UTC, after the window's start "
        "(2026-08-29 00:00 UTC): Bedrock delivered no events to it before then",
    ]
    summary = report.summary()
    assert f"  warning: {report.window_warnings[1]}" in summary.splitlines()


def test_a_window_inside_the_groups_retention_has_no_warning(tmp_path: Path, monkeypatch):
    """A group that keeps 30 days, read from 2026-10-29 (a day inside 2026-10-28 06:00)."""
    monkeypatch.setattr(window_coverage, "utc_now", lambda: NOW)
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": [_event("2026-10-29T01:00:00")]})
    stub.add_response(
        "describe_log_groups",
        {"logGroups": [{"logGroupName": GROUP, "creationTime": 0, "retentionInDays": 30}]},
    )
    with stub:
        report = ingest_to_folder(
            f"cloudwatch-logs://{GROUP}", tmp_path, "2026-10-29", logs_client=logs,
            progress=False,
        )  # fmt: skip
    assert report.log_group["retention_days"] == 30
    assert report.window_warnings == []


def _read_a_day(logs, stub: Stubber, out: Path):
    """The group's 2026-11-26 ingested through ``logs``, its answers queued on ``stub``."""
    with stub:
        return ingest_to_folder(
            f"cloudwatch-logs://{GROUP}", out, "2026-11-26", "2026-11-27",
            logs_client=logs, progress=False,
        )  # fmt: skip


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_a_retention_that_cannot_be_read_is_recorded_not_fatal(tmp_path: Path, code):
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": [_event("2026-11-26T06:00:00")]})
    stub.add_client_error("describe_log_groups", service_error_code=code, http_status_code=400)
    report = _read_a_day(logs, stub, tmp_path)
    assert report.rows == 1
    assert report.log_group == {"checked": False, "retention_days": None, "created": None,
                                "why_unchecked": f"DescribeLogGroups answered {code}"}  # fmt: skip
    assert report.window_warnings == [
        f"the log group's retention could not be checked (DescribeLogGroups answered {code}): "
        "if it keeps fewer days than the window, the table holds only those "
        "(logs:DescribeLogGroups reads it)"
    ]


def test_a_retention_call_that_never_reaches_aws_is_recorded_not_fatal(tmp_path: Path):
    """A dropped connection or a timeout on DescribeLogGroups, once the group is read: the
    table stands and the retention is unchecked, with the error's name."""
    from botocore.exceptions import EndpointConnectionError

    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": [_event("2026-11-26T06:00:00")]})

    def unreachable(**_):
        raise EndpointConnectionError(endpoint_url="https://logs.us-east-1.amazonaws.com/")

    logs.describe_log_groups = unreachable
    report = _read_a_day(logs, stub, tmp_path)
    assert report.rows == 1
    assert report.log_group["why_unchecked"] == "DescribeLogGroups failed: EndpointConnectionError"


def test_a_group_given_by_arn_is_described_by_its_arn(tmp_path: Path, monkeypatch):
    """By ARN, ``logGroupIdentifiers``; the entry is the one with that ARN (a test server may
    list every group for it), not another account's group of the same name."""
    monkeypatch.setattr(window_coverage, "utc_now", lambda: NOW)
    arn = f"arn:aws:logs:us-east-1:999988887777:log-group:{GROUP}"
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": [_event("2026-11-26T06:00:00")]})
    own = {
        "logGroupName": GROUP,
        "creationTime": 0,
        "retentionInDays": 7,
        "logGroupArn": f"arn:aws:logs:us-east-1:111122223333:log-group:{GROUP}",
    }
    read = {"logGroupName": GROUP, "creationTime": 0, "retentionInDays": 14, "arn": f"{arn}:*"}
    stub.add_response(
        "describe_log_groups", {"logGroups": [own, read]}, {"logGroupIdentifiers": [arn]}
    )  # fmt: skip
    with stub:
        report = ingest_to_folder(
            f"cloudwatch-logs://{arn}:*", tmp_path, "2026-11-01", logs_client=logs,
            progress=False,
        )  # fmt: skip
        stub.assert_no_pending_responses()
    assert report.log_group["retention_days"] == 14
    assert report.window_warnings[-1] == (
        "the log group keeps 14 days; events before 2026-11-13 06:00 UTC are gone, and the "
        "window starts 2026-11-01 00:00 UTC"
    )


@pytest.mark.aws
def test_moto_a_group_that_keeps_30_days_read_over_90(aws_client, tmp_path, monkeypatch):
    """Against the moto server, which keeps every event (AWS would have deleted the older
    ones) and dates the group's creation at its ``CreateLogGroup``: ``logGroupNamePrefix``
    lists the group before any other its name starts."""
    logs = aws_client("logs", "us-west-2")
    logs.create_log_group(logGroupName=GROUP + "-other")
    logs.put_retention_policy(logGroupName=GROUP + "-other", retentionInDays=7)
    logs.create_log_group(logGroupName=GROUP)
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=30)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    now = datetime.now(UTC)
    monkeypatch.setattr(window_coverage, "utc_now", lambda: now)
    when = (now - timedelta(days=2)).replace(microsecond=0)
    logs.put_log_events(
        logGroupName=GROUP, logStreamName=STREAM,
        logEvents=[{"timestamp": int(when.timestamp() * 1000),
                    "message": _record("cw-1", when.strftime("%Y-%m-%dT%H:%M:%SZ"))}],
    )  # fmt: skip
    start = (now - timedelta(days=90)).replace(hour=0, minute=0, second=0, microsecond=0)
    report = ingest_to_folder(
        f"cloudwatch-logs://{GROUP}", tmp_path, start, progress=False, workers=1,
        endpoint_url=logs.meta.endpoint_url, region="us-west-2",
    )  # fmt: skip
    assert report.rows == 1
    assert report.log_group["retention_days"] == 30
    created = datetime.fromisoformat(report.log_group["created"])
    assert now - timedelta(minutes=5) < created <= now
    shown = window_coverage.shown
    assert report.window_warnings[1:] == [
        f"the log group keeps 30 days; events before {shown(now - timedelta(days=30))} are "
        f"gone, and the window starts {shown(start)}",
        f"the log group was created {shown(created)}, after the window's start "
        f"({shown(start)}): Bedrock delivered no events to it before then",
    ]


# ------------------------------------------------------------------ archived S3 objects


HOUR = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02"


@pytest.mark.aws
def test_archived_objects_are_counted_in_the_report_and_the_printed_summary(
    aws_client, tmp_path, capsys
):
    """Two objects archived (4 and 3 records), one readable (2): 2 quarantined lines for 7
    records, told whether or not stderr is a terminal (here it is not)."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="logs")
    for hour, n, storage in (
        ("10", 2, "STANDARD"),
        ("11", 4, "GLACIER"),
        ("12", 3, "DEEP_ARCHIVE"),
    ):
        body = "".join(
            _record(f"{hour}-{i}", f"2025-06-02T{hour}:0{i}:00Z") + "\n" for i in range(n)
        )
        key = f"{HOUR}/{hour}/x.json.gz"
        s3.put_object(
            Bucket="logs", Key=key, Body=gzip.compress(body.encode()), StorageClass=storage
        )
    out = tmp_path / "usage.parquet"
    argv = ["ingest", "--source", "s3://logs/", "--out", str(out), "--workers", "1",
            "--endpoint-url", s3.meta.endpoint_url]  # fmt: skip
    assert cli.main(argv) == 0
    report = json.loads((tmp_path / "ingest_report.json").read_text())
    assert (report["rows"], report["quarantined"], report["archived_objects"]) == (2, 2, 2)
    printed = capsys.readouterr().out.splitlines()
    at = printed.index("  quarantined     2")
    assert printed[at + 1] == (
        "    2 archived S3 objects (GLACIER, DEEP_ARCHIVE or an archive access tier): their "
        "records are not in this table, one quarantined line each however many records it "
        "holds; restore them (S3 RestoreObject) and run again"
    )


def test_other_unreadable_objects_are_not_archived_ones():
    """A deleted object (NoSuchKey) or a server error is quarantined, not counted archived."""
    from bedrock_finops.sources.s3_objects import is_archived_entry

    assert is_archived_entry(
        "unreadable S3 object (InvalidObjectState: archived in GLACIER; restore it (S3 "
        "RestoreObject) to ingest it)"
    )
    assert not is_archived_entry(
        "unreadable S3 object (NoSuchKey: deleted after it was listed, e.g. by a lifecycle rule)"
    )
    assert not is_archived_entry("unreadable S3 object (InternalError: HTTP 500)")
    # a failed invocation whose logged errorCode reads like one
    assert not is_archived_entry(
        "failed invocation (x (InvalidObjectState: archived in GLACIER): no token counts, not "
        "billed"
    )


# ------------------------------------------------------------------ the run


def test_the_run_records_and_logs_the_span_and_the_warning(tmp_path: Path):
    """A run stopped at its billing stage (a CUR missing its columns) has ingested: its
    manifest holds the span, the gaps and the warnings, and its log says them."""
    logs = _logs(tmp_path / "logs", ["2025-06-02T12:00:00Z", "2025-06-04T12:00:00Z"])
    cur = tmp_path / "cur.csv"
    cur.write_text("line_item_usage_start_date,cost\n2025-06-02,1.0\n")
    params = tmp_path / "params.yaml"
    params.write_text(
        f'run:\n  source: {logs}\n  cur: {cur}\n  start: "2025-05-01"\n  end: "2025-06-10"\n'
    )
    said: list[str] = []
    with pytest.raises(BillingFormatError):
        runner.run(params, out_root=tmp_path / "out", log=lambda m: said.append(str(m)))
    (run_dir,) = (tmp_path / "out").iterdir()
    ingest = json.loads((run_dir / "manifest.json").read_text())["ingest"]
    assert (ingest["first_record"], ingest["last_record"], ingest["record_days"]) == (
        "2025-06-02T12:00:00+00:00", "2025-06-04T12:00:00+00:00", 3,
    )  # fmt: skip
    assert [g["days"] for g in ingest["window_gaps"]] == [32.5, 5.5]
    at = said.index(
        "records span [2025-06-02 12:00:00+00:00, 2025-06-04 12:00:00+00:00]  (3 calendar days)"
    )
    assert said[at + 1] == f"warning: {ingest['window_warnings'][0]}"
    assert said[at + 1].startswith("warning: the table may not cover the window: its first")


def test_the_run_log_names_archived_objects_and_the_span_of_a_report():
    said: list[str] = []
    report = {"rows": 2, "quarantined": 2, "duplicates": 0, "archived_objects": 2,
              "first_record": "2025-06-02T10:00:00+00:00",
              "last_record": "2025-06-02T10:01:00+00:00", "record_days": 1,
              "window_warnings": []}  # fmt: skip
    runner._log_ingest(report, 0.5, said.append)
    assert said == [
        "ingested 2 rows (2 quarantined, 0 duplicate deliveries) in 0.5 s",
        "records span [2025-06-02 10:00:00+00:00, 2025-06-02 10:01:00+00:00]  (1 calendar day)",
        "warning: 2 archived S3 objects (GLACIER, DEEP_ARCHIVE or an archive access tier): their "
        "records are not in this table, one quarantined line each however many records it "
        "holds; restore them (S3 RestoreObject) and run again",
    ]


# ------------------------------------------------------------------ spans of any length


@pytest.mark.parametrize("first", [date(2026, 11, 2), date(2026, 11, 7), date(1, 1, 1)])
@pytest.mark.parametrize("days", [0, 1, 6, 7, 8, 13, 30, 365])
def test_weekdays_are_counted_as_listing_the_days_would(first: date, days: int):
    listed = Counter((first + timedelta(days=n)).weekday() for n in range(days))
    assert window_coverage.weekday_counts(first, days) == [listed[wd] for wd in range(7)]


def test_a_stray_timestamp_centuries_away_is_judged_from_the_days_with_records():
    """Records in year 1, 2025 and 9999 (each accepted as a row): 3,652,058 days between the
    first and the last are counted, not listed one by one. Judged from their three weeks only,
    the traffic runs on Mondays (2025-06-02's, the one inner day with a record), and the two
    stretches between, each over thousands of Mondays, are told."""
    days = {
        d: window_coverage.DayRecords(
            1, utc(f"{d.isoformat()}T12:00"), utc(f"{d.isoformat()}T12:00")
        )
        for d in (date(1, 1, 1), date(2025, 6, 2), date(9999, 12, 31))
    }
    weekdays = window_coverage.traffic_weekdays(days)
    assert weekdays == [0]
    gaps = window_coverage.inside_gaps(days, weekdays)
    assert [(g["from"][:10], g["to"][:10], g["days"]) for g in gaps] == [
        ("0001-01-01", "2025-06-02", 739403.0),
        ("2025-06-02", "9999-12-31", 2912655.0),
    ]


def _daily(*spans: tuple[date, int]) -> dict[date, window_coverage.DayRecords]:
    """Records at 08:00 and 18:00 on each of ``n`` days from each ``(first, n)``."""
    days = {}
    for first, n in spans:
        for k in range(n):
            d = first + timedelta(days=k)
            days[d] = window_coverage.DayRecords(
                2, utc(f"{d.isoformat()}T08:00"), utc(f"{d.isoformat()}T18:00")
            )
    return days


@pytest.mark.parametrize("outage", [7, 14, 21, 28])
def test_a_long_outage_is_told_however_long(outage: int):
    """Daily traffic for a week, logging off for ``outage`` days, then a week again. The
    weeks without a record are not counted against the weekdays: judged with them, an outage
    of 14 days made Wednesday and Thursday look like days off, and one of 21 days or more made
    the traffic look too sparse to have gaps at all (none told)."""
    after = date(2026, 1, 8) + timedelta(days=outage)
    days = _daily((date(2026, 1, 1), 7), (after, 7))
    weekdays = window_coverage.traffic_weekdays(days)
    assert weekdays == list(range(7))
    gaps = window_coverage.inside_gaps(days, weekdays)
    assert [(g["from"], g["to"][:10]) for g in gaps] == [
        ("2026-01-07T18:00:00+00:00", after.isoformat())
    ]


def test_an_inside_gap_names_the_days_the_figures_divide_by():
    """A window of 19 days from noon touches 20 calendar days: the figures divide by the
    window's 19 (``findings.period_of``), and the warning says so; without a window, by the
    records' 20 calendar days."""
    from bedrock_finops import window_coverage

    gap = {"from": "2026-10-07T23:58:00+00:00", "to": "2026-10-13T00:02:00+00:00", "days": 5}
    start = datetime(2026, 10, 1, 12, tzinfo=UTC)
    end = datetime(2026, 10, 20, 12, tzinfo=UTC)
    by_window = window_coverage.inside_gap_warning([gap], 20, start, end)
    assert by_window.endswith(
        "per-day and monthly figures over the window (19 days) count those days as days "
        "without traffic"
    )
    assert window_coverage.inside_gap_warning([gap], 20).endswith(
        "over the records' span (20 calendar days) count those days as days without traffic"
    )
    assert window_coverage.divisor_days(start, end, 20) == (19, True)
    assert window_coverage.divisor_days(start, end, 18) == (18, False)  # logs fell short
    assert window_coverage.divisor_days(None, end, 20) == (20, False)
