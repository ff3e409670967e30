"""Adjacent windows split a day's lines exactly: no line, good or bad, is counted in both.

With a window the ingest also reads the files of the hour after it, for records delivered
late. Lines of those files that cannot be dated (invalid JSON, a cut gzip stream) belong to
the window holding the file's hour folder, so the run before leaves them to it.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bedrock_finops.ingest import IngestError, ingest_to_folder, read_invocation_logs
from bedrock_finops.sources.time_folders import key_span

COUNTS = ("lines_read", "rows", "quarantined", "duplicates")
GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"


@pytest.fixture(scope="module")
def quarantined_files(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("whole")
    ingest_to_folder(sample_dir / "logs", out, workers=2, progress=False)
    return pd.read_parquet(out / "quarantine.parquet")


@pytest.mark.parametrize("reason", ["invalid JSON", "truncated gzip"])
def test_adjacent_windows_count_an_undated_line_once(
    sample_dir: Path, quarantined_files: pd.DataFrame, tmp_path: Path, reason: str
):
    entry = quarantined_files[quarantined_files["reason"] == reason].iloc[0]
    hour, _ = key_span(entry["source"])
    day = hour.replace(hour=0)
    assert hour > day  # the cut falls inside the day: the file is the first window's slack
    windows = {"before": (day, hour), "after": (hour, day + timedelta(days=1))}
    windows["day"] = (day, day + timedelta(days=1))
    reports = {
        name: ingest_to_folder(
            sample_dir / "logs", tmp_path / name, start, end, workers=2, progress=False
        )
        for name, (start, end) in windows.items()
    }
    before, after, whole = reports["before"], reports["after"], reports["day"]
    assert before.quarantine_by_reason.get(reason, 0) == 0  # left to the window of its hour
    assert after.quarantine_by_reason[reason] == whole.quarantine_by_reason[reason] >= 1
    for count in COUNTS:
        assert getattr(before, count) + getattr(after, count) == getattr(whole, count), count
    for report in reports.values():
        assert report.lines_read == report.rows + report.quarantined + report.duplicates
    # the undated line was read by the first window too (its slack hour), and counted outside
    assert before.outside_window > 0


def _record(request_id: str, timestamp: str) -> str:
    rec = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
    rec.update(requestId=request_id, timestamp=timestamp)
    return json.dumps(rec)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"operation": "InvokeAgent"}, "unknown operation 'InvokeAgent'"),
        ({"requestId": 7}, "requestId is not a string (a JSON number)"),
        ({"modelId": None}, "missing modelId"),
    ],
)
def test_an_undated_record_gets_the_same_reason_with_a_window(tmp_path: Path, change, reason):
    """A record that cannot be dated and fails another check is quarantined for that check,
    window or not (with a window its timestamp was checked first, and named instead)."""
    rec = json.loads(_record("r1", "2026-10-01 00:00:50"))  # no zone: cannot be dated
    (tmp_path / "a.json").write_text(json.dumps({**rec, **change}) + "\n")
    for i, window in enumerate([(None, None), ("2026-09-01", "2026-11-01")]):
        report = ingest_to_folder(tmp_path, tmp_path / f"out-{i}", *window, progress=False)
        assert report.quarantine_by_reason == {reason: 1}, window


@pytest.mark.aws
def test_adjacent_cloudwatch_windows_count_an_undated_event_once(aws_client):
    """CloudWatch Logs is read an hour past the window's end too; an event of that hour that
    cannot be dated is the next window's, by the event's own time."""
    logs = aws_client("logs")
    group, stream = "/aws/bedrock/windows", "aws/bedrock/modelinvocations"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    t0 = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    t1, t2 = t0 + timedelta(hours=1), t0 + timedelta(hours=2)

    def at(t: datetime, message: str) -> dict:
        return {"timestamp": int(t.timestamp() * 1000), "message": message}

    def iso(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    minutes = [t0 + timedelta(minutes=10), *(t1 + timedelta(minutes=m) for m in (10, 20, 30))]
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            at(minutes[0], _record("ok-1", iso(minutes[0]))),
            at(minutes[1], "not a record"),
            at(minutes[2], _record("undated", "yesterday")),
            at(minutes[3], _record("ok-2", iso(minutes[3]))),
        ],
    )
    endpoint = logs.meta.endpoint_url
    reports = {
        name: read_invocation_logs(
            f"cloudwatch-logs://{group}", a, b, workers=1, progress=False, endpoint_url=endpoint
        ).attrs["ingest"]
        for name, (a, b) in {"first": (t0, t1), "second": (t1, t2), "both": (t0, t2)}.items()
    }
    first, second, both = reports["first"], reports["second"], reports["both"]
    assert (first["rows"], first["quarantined"], first["outside_window"]) == (1, 0, 3)
    assert first["event_pages_read"] == 1  # one page, read as two batches (in, after)
    assert (second["rows"], second["quarantined"]) == (1, 2)
    assert second["quarantine_by_reason"] == {
        "invalid JSON": 1,
        "bad timestamp (expected ISO-8601 with a date, time and Z or an offset)": 1,
    }
    assert (both["rows"], both["quarantined"]) == (2, 2)
    for count in ("lines_read", "rows", "quarantined", "duplicates"):
        assert first[count] + second[count] == both[count], count
    assert both["files_read"] == 0 and both["event_pages_read"] == 1


def test_a_record_delivered_past_the_slack_is_counted_by_the_next_window(tmp_path: Path):
    """A record of 11:59 in the 13:00 folder: the run ending at 12:00 reads folders up to
    12:xx only, so it never sees it; the run from 12:00 counts it outside its window and
    says it came too late. A run over both hours keeps it."""
    base = tmp_path / "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02"
    for hour, lines in {
        "11": [_record("on-time", "2025-06-02T11:30:00Z")],
        "12": [_record("an-hour-late", "2025-06-02T11:58:00Z"),
               _record("noon", "2025-06-02T12:10:00Z")],
        "13": [_record("two-hours-late", "2025-06-02T11:59:00Z"),
               _record("one-pm", "2025-06-02T13:00:00Z")],
    }.items():  # fmt: skip
        (base / hour).mkdir(parents=True)
        (base / hour / "a.json").write_text("\n".join(lines) + "\n")
    day = datetime(2025, 6, 2, tzinfo=UTC)
    runs = {
        "morning": (day, day + timedelta(hours=12)),
        "afternoon": (day + timedelta(hours=12), day + timedelta(days=1)),
        "day": (day, day + timedelta(days=1)),
    }
    kept, reports = {}, {}
    for name, (start, end) in runs.items():
        df = read_invocation_logs(tmp_path, start, end, workers=1, progress=False)
        kept[name], reports[name] = sorted(df["request_id"]), df.attrs["ingest"]
    assert kept["morning"] == ["an-hour-late", "on-time"]
    assert kept["afternoon"] == ["noon", "one-pm"]
    assert kept["day"] == ["an-hour-late", "noon", "on-time", "one-pm", "two-hours-late"]
    assert reports["afternoon"]["outside_window"] == 2  # both late ones, 12:00 and 13:00 folders
    assert reports["afternoon"]["delivered_too_late"] == 1  # only the 13:00 folder's
    assert reports["morning"]["delivered_too_late"] == reports["day"]["delivered_too_late"] == 0


def test_a_year_folder_above_the_aws_layout_is_not_the_date(tmp_path: Path):
    """``bedrock/2025/AWSLogs/...`` (a prefix named like a year): the file's hour is the
    folders after the region, so a window over it reads the file and owns its bad lines."""
    base = tmp_path / "bedrock/2025/AWSLogs/111122223333/BedrockModelInvocationLogs"
    hour = base / "us-east-1/2026/11/25/06"
    hour.mkdir(parents=True)
    (base / "amazon-bedrock-logs-permission-check").write_text("")
    (hour / "x.json").write_text(_record("in-hour", "2026-11-25T06:10:00Z") + "\n{not json\n")
    at = datetime(2026, 11, 25, 6, tzinfo=UTC)
    df = read_invocation_logs(tmp_path, at, at + timedelta(hours=1), workers=1, progress=False)
    report = df.attrs["ingest"]
    assert list(df["request_id"]) == ["in-hour"]
    assert df["source_file"].iloc[0] == "bedrock/2025/AWSLogs/111122223333/" \
        "BedrockModelInvocationLogs/us-east-1/2026/11/25/06/x.json"  # fmt: skip
    assert (report["files_read"], report["rows"], report["quarantined"]) == (1, 1, 1)
    assert report["outside_window"] == 0
    # the hour before reads it as its slack: the record and the bad line are the 06:00 run's
    before = read_invocation_logs(
        tmp_path, at - timedelta(hours=1), at, workers=1, progress=False
    ).attrs["ingest"]
    assert (before["files_read"], before["lines_read"], before["outside_window"]) == (1, 0, 2)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("0001-01-01T00:00+01:00", None, "start 0001-01-01T00:00+01:00 is outside the years "
         "1970-9998 (UTC) a window can name; leave the start out to read from the first record"),
        ("1969-12-31", None, "start 1969-12-31 is outside the years 1970-9998 (UTC)"),
        (None, "9999-12-31T23:30", "end 9999-12-31T23:30 is outside the years 1970-9998 (UTC) "
         "a window can name; leave the end out to read to the last record"),
    ],
)  # fmt: skip
def test_a_window_bound_no_log_can_be_in_is_named(tmp_path, start, end, message):
    """Not an OverflowError from the hour of delivery slack added to the end, or from a time
    before year 1 once in UTC; CloudWatch Logs takes no time before 1970."""
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path, start, end, workers=1, progress=False)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    "value",
    [pd.NaT, pd.NA, pd.Series([], dtype="timestamp[ms, tz=UTC][pyarrow]").max()],
    ids=["NaT", "NA", "empty-arrow-max"],
)
def test_a_bound_that_is_no_time_is_named(tmp_path, value):
    """The max of an empty timestamp column (NaT; NA for the table's own Arrow-backed one):
    not "outside the years", not a TypeError, not read as no bound."""
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path, None, value, workers=1, progress=False)
    assert str(err.value) == (
        f"end {value!r} is no time (the min or max of an empty column?); give a date or time, "
        "or None for no bound"
    )


# A Region folder's copy of the logs (AWS writes the permission-check object beside the
# Regions, so it is not there), one record at 06:10; windows none of its records are in
QUIET_COPY = {"us-east-1/2025/06/02/06/a.json": "2025-06-02T06:10:00Z"}
QUIET_WINDOWS = [
    ("2025-06-03", "2025-06-04"),  # the next day: no folder of it
    ("2025-06-03", None),  # from the next day on: nothing new yet
    ("2025-06-02T12:00", "2025-06-02T13:00"),  # the same day, an hour with no folder
]


def _quiet_copy(root: Path) -> Path:
    for rel, stamp in QUIET_COPY.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(_record("r1", stamp) + "\n")
    return root / "us-east-1"


def _assert_empty_like(df: pd.DataFrame, whole: pd.DataFrame) -> None:
    """An empty table with the columns and dtypes of the table the source gives whole."""
    assert len(whole) == 1 and df.empty
    assert list(df.columns) == list(whole.columns)
    assert df.dtypes.to_dict() == whole.dtypes.to_dict()
    report = df.attrs["ingest"]
    assert (report["files_read"], report["lines_read"], report["rows"]) == (0, 0, 0)


@pytest.mark.parametrize(("start", "end"), QUIET_WINDOWS)
def test_a_quiet_window_of_a_log_folder_is_an_empty_table(tmp_path: Path, start, end):
    """Log files outside the window show the folder holds logs: the window with none of them is
    an empty table, as a CloudWatch Logs group with no events in the window gives, not the
    error for a folder that holds no logs."""
    src = _quiet_copy(tmp_path / "copy")
    whole = read_invocation_logs(src, workers=1, progress=False)
    _assert_empty_like(read_invocation_logs(src, start, end, workers=1, progress=False), whole)
    report = ingest_to_folder(src, tmp_path / "out", start, end, workers=1, progress=False)
    assert "lines read        0  (no records in the window: the table is empty)" in (
        report.summary()
    )


@pytest.mark.aws
@pytest.mark.parametrize(("start", "end"), QUIET_WINDOWS)
def test_a_quiet_window_of_an_s3_prefix_is_an_empty_table(aws_client, tmp_path: Path, start, end):
    """The date folders outside the window, not listed, show the prefix holds logs."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="quiet")
    src = _quiet_copy(tmp_path / "copy")
    for path in src.rglob("*.json"):
        s3.put_object(Bucket="quiet", Key=f"copy/{path.relative_to(src).as_posix()}",
                      Body=path.read_bytes())  # fmt: skip
    endpoint = s3.meta.endpoint_url
    whole = read_invocation_logs("s3://quiet/copy", workers=1, progress=False,
                                 endpoint_url=endpoint)  # fmt: skip
    df = read_invocation_logs(
        "s3://quiet/copy", start, end, workers=1, progress=False, endpoint_url=endpoint
    )
    _assert_empty_like(df, whole)
    assert df.attrs["ingest"]["folders_outside_window"] >= 1


@pytest.mark.parametrize("window", [(None, None), ("2025-06-03", "2025-06-04")])
def test_a_folder_holding_no_logs_is_still_an_error_with_a_window(tmp_path: Path, window):
    (tmp_path / "src" / "2025" / "06" / "02").mkdir(parents=True)
    (tmp_path / "src" / "2025" / "06" / "02" / "notes.txt").write_text("not a log")
    with pytest.raises(IngestError, match=r"^no invocation log files \(.json"):
        ingest_to_folder(tmp_path / "src", tmp_path / "out", *window, progress=False)


# dated files that are no Bedrock logs, named as logs are: outside a window, they prove nothing
NOT_BEDROCK = {
    "CloudTrail's Region folder": (
        "AWSLogs/123456789012/CloudTrail/us-east-1/",
        "2025/06/01/x_CloudTrail.json.gz",
        gzip.compress(json.dumps({"Records": [{"eventName": "GetObject"}]}).encode()),
    ),
    "backups in date folders": ("backups/", "2025/06/01/config.json", b'{"a": 1}\n'),
}


@pytest.mark.aws
@pytest.mark.parametrize("case", NOT_BEDROCK)
def test_a_window_outside_files_that_are_no_bedrock_logs_is_still_an_error(
    aws_client, tmp_path: Path, case
):
    """A quiet window is an empty table only when the files outside it are Bedrock's (in AWS's
    layout, or holding invocation records): a wrong source whose dated files are CloudTrail's
    or anything else's stays the 'no invocation log files' error, on a folder and on S3 (whose
    date folders outside the window are not listed: one key of one is read instead)."""
    folder, rel, data = NOT_BEDROCK[case]
    (tmp_path / "src" / folder / rel).parent.mkdir(parents=True)
    (tmp_path / "src" / folder / rel).write_bytes(data)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="not-bedrock")
    s3.put_object(Bucket="not-bedrock", Key=folder + rel, Body=data)
    window = ("2025-07-01", "2025-07-02")
    for source in (tmp_path / "src" / folder, f"s3://not-bedrock/{folder}"):
        with pytest.raises(IngestError, match=r"^no invocation log files \(.json.* between "):
            ingest_to_folder(
                source, tmp_path / "out", *window, progress=False,
                endpoint_url=s3.meta.endpoint_url,
            )  # fmt: skip


def test_a_file_outside_the_window_in_aws_layout_proves_the_source_unread(tmp_path: Path):
    """In AWS's layout a file's path is the proof: it is not read (here it could not be)."""
    hour = tmp_path / "AWSLogs" / "1" / "BedrockModelInvocationLogs" / "us-east-1" / "2025"
    (hour / "06" / "02" / "06").mkdir(parents=True)
    (hour / "06" / "02" / "06" / "a.json.gz").write_bytes(b"not even gzip")
    df = read_invocation_logs(tmp_path, "2025-07-01", "2025-07-02", workers=1, progress=False)
    assert df.empty and df.attrs["ingest"]["lines_read"] == 0


# records at HH:00:00.000 and HH:00:00.001; bounds between them (microseconds after HH:00)
# keep what is at or after the start and before the end: both rounded up to the millisecond
SUB_MS_WINDOWS = [
    (500, None, ["at-001"]),
    (None, 500, ["at-000"]),
    (None, 1500, ["at-000", "at-001"]),
    (1, 1001, ["at-001"]),
]
HOUR_0600 = datetime(2025, 6, 2, 6, tzinfo=UTC)


def _sub_ms_lines(hour: datetime) -> dict[str, str]:
    """requestId -> record line, at ``hour`` and a millisecond after."""
    stamps = {"at-000": hour, "at-001": hour + timedelta(milliseconds=1)}
    return {rid: _record(rid, t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")
            for rid, t in stamps.items()}  # fmt: skip


def _bounds(hour: datetime, start_us: int | None, end_us: int | None) -> list[str | None]:
    """The window's bounds as ISO-8601 text with microseconds."""
    return [
        None if us is None else (hour + timedelta(microseconds=us)).isoformat()
        for us in (start_us, end_us)
    ]


@pytest.mark.parametrize(("start_us", "end_us", "kept"), SUB_MS_WINDOWS)
def test_bounds_finer_than_a_millisecond_round_up(tmp_path: Path, start_us, end_us, kept):
    hour = tmp_path / "us-east-1" / "2025" / "06" / "02" / "06"
    hour.mkdir(parents=True)
    (hour / "a.json").write_text("\n".join(_sub_ms_lines(HOUR_0600).values()) + "\n")
    start, end = _bounds(HOUR_0600, start_us, end_us)
    df = read_invocation_logs(tmp_path, start, end, workers=1, progress=False)
    assert sorted(df["request_id"]) == kept
    assert df.attrs["ingest"]["outside_window"] == 2 - len(kept)


@pytest.mark.parametrize(
    ("start", "kept"),
    [
        ("2025-06-02T06:00:00.000000001Z", ["at-001"]),  # str() of a nanosecond time
        ("2025-06-02T06:00:00,0000001", ["at-001"]),
        ("2025-06-02T06:00:00.0000000Z", ["at-000", "at-001"]),  # zeros past the sixth
        ("2025-06-02T06:00:00.000999999Z", ["at-001"]),
    ],
)
def test_iso_text_finer_than_a_microsecond_rounds_up_too(tmp_path: Path, start, kept):
    """ISO text keeps its digits past the microseconds: a start a nanosecond after a record
    drops it, as the same instant given as a pandas Timestamp does."""
    (tmp_path / "a.json").write_text("\n".join(_sub_ms_lines(HOUR_0600).values()) + "\n")
    df = read_invocation_logs(tmp_path, start, None, workers=1, progress=False)
    assert sorted(df["request_id"]) == kept


def test_the_last_timestamp_plus_a_microsecond_reads_nothing_again(tmp_path: Path):
    """``start = df.timestamp.max() + 1 us``, the next incremental run: not the last row again."""
    (tmp_path / "a.json").write_text("\n".join(_sub_ms_lines(HOUR_0600).values()) + "\n")
    df = read_invocation_logs(tmp_path, workers=1, progress=False)
    start = df["timestamp"].max() + pd.Timedelta("1us")
    again = read_invocation_logs(tmp_path, start, workers=1, progress=False)
    assert again.empty and again.attrs["ingest"]["outside_window"] == 2


@pytest.mark.aws
@pytest.mark.parametrize(("start_us", "end_us", "kept"), SUB_MS_WINDOWS)
def test_cloudwatch_bounds_finer_than_a_millisecond_round_up(aws_client, start_us, end_us, kept):
    """As from a folder: FilterLogEvents is asked from the start rounded up, and the events
    are kept by the same bounds."""
    logs = aws_client("logs")
    group, stream = "/aws/bedrock/sub-ms", "aws/bedrock/modelinvocations"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    hour = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    first_ms = int(hour.timestamp()) * 1000
    events = [
        {"timestamp": first_ms + n, "message": line}
        for n, line in enumerate(_sub_ms_lines(hour).values())
    ]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
    df = read_invocation_logs(
        f"cloudwatch-logs://{group}", *_bounds(hour, start_us, end_us), workers=1,
        progress=False, endpoint_url=logs.meta.endpoint_url,
    )  # fmt: skip
    assert sorted(df["request_id"]) == kept


def test_numpy_datetime64_bounds_are_read_as_utc(tmp_path: Path):
    """A bound taken from a numpy array (``df.timestamp.values.max()``) is naive UTC."""
    (tmp_path / "a.json").write_text("\n".join(_sub_ms_lines(HOUR_0600).values()) + "\n")
    df = read_invocation_logs(
        tmp_path, np.datetime64("2025-06-02T06:00:00.000500"), None, workers=1, progress=False
    )
    assert list(df["request_id"]) == ["at-001"]
    assert df.attrs["ingest"]["start"] == "2025-06-02T06:00:00.001000+00:00"


def test_records_outside_the_window_are_counted_by_side_with_their_span(tmp_path: Path):
    """The good fixture's 13 records, read for [10:19, 11:03) on 2 June 2025: 5 are before the
    window (the earliest 08:17 UTC, logged as 10:17+02:00) and 4 after it (the latest 11:06);
    the report counts each side and keeps the earliest and latest of them."""
    good = Path(__file__).parent / "fixtures" / "logs" / "good"
    report = ingest_to_folder(
        good, tmp_path / "out", "2025-06-02T10:19:00Z", "2025-06-02T11:03:00Z",
        workers=2, progress=False,
    )  # fmt: skip
    d = report.to_dict()
    assert (d["rows"], d["outside_window"]) == (4, 9)
    assert (d["before_window"], d["after_window"]) == (5, 4)
    assert (d["earliest_outside"], d["latest_outside"]) == (
        "2025-06-02T08:17:00+00:00",
        "2025-06-02T11:06:00+00:00",
    )
    assert (
        "outside window    9 (5 before it, 4 after it; 2025-06-02 08:17 to 2025-06-02 11:06 UTC)"
        in (report.summary())
    )


def test_a_run_without_a_window_counts_no_side() -> None:
    """Without --start and --end nothing is outside: no side counted, no span."""
    good = Path(__file__).parent / "fixtures" / "logs" / "good"
    d = read_invocation_logs(good, workers=1, progress=False).attrs["ingest"]
    assert (d["outside_window"], d["before_window"], d["after_window"]) == (0, 0, 0)
    assert (d["earliest_outside"], d["latest_outside"]) == (None, None)
