"""Ingest from S3 and CloudWatch Logs (a moto server over HTTP) equals the local-folder ingest,
and the embedded sample's planted truths are recovered exactly."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import boto3
import orjson
import pandas as pd
import pytest
from botocore.stub import Stubber

from bedrock_finops import sample
from bedrock_finops.ingest import IngestError, ingest_to_folder, read_invocation_logs
from bedrock_finops.parse_scalars import parse_timestamp_ms
from bedrock_finops.sources.invocation_logs import Unit, unit_lines

pytestmark = pytest.mark.aws
BUCKET = "bedrock-logs-test"
PREFIX = "team-a/"


def _table(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["source_file"]).sort_values("request_id").reset_index(drop=True)


def test_sample_truth_recovered(sample_dir: Path, tmp_path: Path):
    truth = json.loads((sample_dir / "truth.json").read_text())
    report = ingest_to_folder(sample_dir / "logs", tmp_path, progress=False)
    faults = truth["faults"]
    assert report.rows == truth["requests_total"]
    assert report.duplicates == truth["duplicates"]["count"]
    assert report.quarantine_by_reason == {
        "invalid JSON": len(faults["malformed_lines"]),
        "truncated gzip": len(faults["truncated_files"]),
    }
    # the sample does not count the cut line; the ingest quarantines it as one entry
    assert report.lines_read == truth["lines_total"] + len(faults["truncated_files"])
    assert report.lines_read == report.rows + report.quarantined + report.duplicates
    assert report.unknown_models == {
        faults["unknown_model"]["model_id"]: len(faults["unknown_model"]["request_ids"])
    }
    assert report.large_bodies_not_fetched == len(faults["large_bodies"])
    assert [s["reason"] for s in report.files_skipped].count("permission-check object") == 1
    usage = pd.read_parquet(tmp_path / "usage.parquet")
    by_app = usage.groupby("app").agg(
        requests=("request_id", "size"),
        input_tokens=("input_tokens", "sum"),
        cache_read_tokens=("cache_read_tokens", "sum"),
        cache_write_tokens=("cache_write_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
    )
    for app, t in truth["apps"].items():
        got = by_app.loc[app]
        for col in (
            "requests",
            "input_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "output_tokens",
        ):
            assert got[col] == t[col], (app, col)
    dup_ids = set(truth["duplicates"]["request_ids"])
    assert dup_ids <= set(usage.request_id)
    assert set(faults["unknown_model"]["request_ids"]) == set(
        usage.loc[usage.model.isna(), "request_id"]
    )


def _upload(s3, root: Path, keep) -> int:
    s3.create_bucket(Bucket=BUCKET)
    n = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and keep(rel):
            s3.put_object(Bucket=BUCKET, Key=PREFIX + rel, Body=path.read_bytes())
            n += 1
    return n


def test_s3_equals_local_with_window(sample_dir: Path, aws_client, tmp_path: Path):
    s3 = aws_client("s3")
    # the window's hours, one before and two after (a record may be delivered an hour late)
    hours = tuple(f"/2026/10/02/{h:02d}/" for h in range(5, 15))
    _upload(
        s3,
        sample_dir / "logs",
        lambda rel: any(h in rel for h in hours) or "permission-check" in rel,
    )
    start, end = "2026-10-02T06:00Z", "2026-10-02T12:00Z"
    local = read_invocation_logs(sample_dir / "logs", start, end, workers=1, progress=False)
    remote = read_invocation_logs(
        f"s3://{BUCKET}/{PREFIX}",
        start,
        end,
        workers=2,
        progress=False,
        endpoint_url=s3.meta.endpoint_url,
    )
    assert len(local) > 100
    assert local.timestamp.min() >= pd.Timestamp(start, tz="UTC")
    assert local.timestamp.max() < pd.Timestamp(end, tz="UTC")
    pd.testing.assert_frame_equal(_table(local), _table(remote))
    assert list(local.source_file) == list(remote.source_file)  # keys relative to the prefix
    lr, rr = local.attrs["ingest"], remote.attrs["ingest"]
    for key in (
        "files_read",
        "lines_read",
        "rows",
        "quarantined",
        "duplicates",
        "outside_window",
        "quarantine_by_reason",
        "unknown_models",
    ):
        assert lr[key] == rr[key], key
    # the hours 05, 13 and 14 were uploaded (in each region) but are outside the window:
    # not even listed
    outside = {
        p.parent.relative_to(sample_dir / "logs")
        for p in (sample_dir / "logs").rglob("*.json.gz")
        if any(f"/2026/10/02/{h}/" in p.as_posix() for h in ("05", "13", "14"))
        and "/data/" not in p.as_posix()
    }
    assert len({f.parts[3] for f in outside}) == 2  # both regions
    assert rr["folders_outside_window"] == len(outside)
    assert (lr["list_requests"], lr["folders_outside_window"]) == (0, 0)  # a local folder


def test_cloudwatch_equals_local(aws_client, tmp_path: Path):
    """moto accepts log events of the last 14 days only, so this uses a recent sample."""
    first = datetime.now(UTC).date() - timedelta(days=3)
    out = tmp_path / "recent"
    sample.generate(out, days=2, start=first, scale=0.3)
    logs_root = out / "logs"
    events = []
    for path in sorted(logs_root.rglob("*.json.gz")):
        rel = path.relative_to(logs_root).as_posix()
        if "/data/" in rel:
            continue
        for line in unit_lines(Unit("file", rel, str(path))).lines:
            try:
                ts = parse_timestamp_ms(orjson.loads(line)["timestamp"])
            except Exception:
                continue  # malformed lines: CloudWatch delivers whole records only
            events.append({"timestamp": ts, "message": line.decode()})
    events.sort(key=lambda e: e["timestamp"])
    logs = aws_client("logs")
    group = "/aws/bedrock/invocations"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="aws/bedrock/modelinvocations")
    for i in range(0, len(events), 200):
        logs.put_log_events(
            logGroupName=group,
            logStreamName="aws/bedrock/modelinvocations",
            logEvents=events[i : i + 200],
        )
    start = datetime.combine(first + timedelta(days=1), datetime.min.time(), UTC)
    end = start + timedelta(hours=12)
    local = read_invocation_logs(logs_root, start, end, workers=1, progress=False)
    cw = read_invocation_logs(
        f"cloudwatch-logs://{group}",
        start,
        end,
        workers=1,
        progress=False,
        endpoint_url=logs.meta.endpoint_url,
    )
    assert len(local) > 50
    pd.testing.assert_frame_equal(_table(local), _table(cw))
    assert cw.attrs["ingest"]["duplicates"] == local.attrs["ingest"]["duplicates"]
    # FilterLogEvents was asked for [start, end + 1 h): the events of the slack hour are read
    # and counted outside the window, none after it
    end_ms = int(end.timestamp() * 1000)
    slack_hour = sum(end_ms <= e["timestamp"] < end_ms + 3_600_000 for e in events)
    assert cw.attrs["ingest"]["outside_window"] == slack_hour > 0
    # a row names its event's stream and time (the records' own here), whatever the window
    stamps = cw.timestamp.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    assert list(cw.source_file) == list("aws/bedrock/modelinvocations@" + stamps)
    whole = read_invocation_logs(
        f"cloudwatch-logs://{group}", progress=False, endpoint_url=logs.meta.endpoint_url
    )
    truth = json.loads((out / "truth.json").read_text())
    lost = {r for f in truth["faults"]["truncated_files"] for r in f["lost_request_ids"]}
    assert len(whole) == truth["requests_total"] == len(set(whole.request_id))
    assert not lost & set(whole.request_id)


def test_s3_list_denied_names_bucket_and_permission(tmp_path: Path):
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(s3)
    stub.add_client_error(
        "list_objects_v2", service_error_code="AccessDenied", http_status_code=403
    )
    with stub, pytest.raises(IngestError) as err:
        ingest_to_folder(f"s3://{BUCKET}/AWSLogs/", tmp_path, s3_client=s3, progress=False)
    msg = str(err.value)
    assert BUCKET in msg and "s3:ListBucket" in msg and "s3:GetObject" in msg
    assert "grant" in msg


def test_s3_get_denied_names_permission(tmp_path: Path):
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    key = "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/10/a.json.gz"
    stub = Stubber(s3)
    stub.add_response(
        "list_objects_v2", {"Contents": [{"Key": key, "Size": 10}], "IsTruncated": False}
    )
    stub.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    with stub, pytest.raises(IngestError, match=r"s3:GetObject on arn:aws:s3:::bedrock-logs"):
        ingest_to_folder(f"s3://{BUCKET}", tmp_path, s3_client=s3, progress=False)


def test_missing_bucket_and_log_group_are_clear(aws_client, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_client("s3").meta.endpoint_url)
    with pytest.raises(IngestError, match="does not exist"):
        ingest_to_folder("s3://no-such-bucket/x", tmp_path, progress=False)
    with pytest.raises(IngestError, match="log group '/nope' not found"):
        ingest_to_folder("cloudwatch-logs:///nope", tmp_path, progress=False)


def test_empty_prefix_is_a_clear_error(aws_client, tmp_path: Path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    with pytest.raises(IngestError, match=f"no invocation log files .* s3://{BUCKET}/x"):
        ingest_to_folder(
            f"s3://{BUCKET}/x", tmp_path, progress=False, endpoint_url=s3.meta.endpoint_url
        )


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        (None, None, ""),
        ("2026-11-01", None, " from 2026-11-01 00:00:00+00:00"),
        (None, "2026-11-02", " before 2026-11-02 00:00:00+00:00 (+1 h for late deliveries)"),
        ("2026-11-01", "2026-11-02", " between 2026-11-01 00:00:00+00:00 and 2026-11-02 "
         "00:00:00+00:00 (+1 h for late deliveries)"),
    ],
)  # fmt: skip
def test_an_empty_log_group_is_a_clear_error(aws_client, tmp_path: Path, start, end, says):
    logs = aws_client("logs")
    logs.create_log_group(logGroupName="/empty")
    with pytest.raises(IngestError) as err:
        ingest_to_folder(
            "cloudwatch-logs:///empty", tmp_path, start, end, progress=False,
            endpoint_url=logs.meta.endpoint_url,
        )  # fmt: skip
    assert str(err.value) == (
        f"no events in log group '/empty' in us-east-1{says}; check the Region (--region), "
        "the window, and that model invocation logging delivers to this group"
    )
    assert not (tmp_path / "usage.parquet").exists()


@pytest.mark.parametrize(
    ("code", "message", "says"),
    [
        ("UnrecognizedClientException", "The security token included in the request is "
         "invalid.", "AWS does not know the access key ID"),
        ("InvalidSignatureException", "The request signature we calculated does not match "
         "the signature you provided.", "the secret access key does not match"),
        ("ExpiredTokenException", "The security token included in the request is expired",
         "the credentials have expired"),
        ("InvalidSignatureException", "Signature expired: 20261127T060000Z is now earlier "
         "than 20261127T065500Z (20261127T070000Z - 5 min.)",
         "the request's time is too far from AWS's clock"),
        ("RequestExpired", "Request has expired.", "the request's time is too far"),
        ("InvalidSignatureException", "Signature not yet current: 20261127T080000Z is still "
         "later than 20261127T070500Z (20261127T070000Z + 5 min.)",
         "the request's time is too far"),
    ],
)  # fmt: skip
def test_refused_credentials_reading_a_log_group_say_so(tmp_path: Path, code, message, says):
    """Not "access denied ... grant logs:FilterLogEvents": the key (or the clock) is the
    problem, and the fix says which."""
    logs = boto3.client(
        "logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(logs)
    stub.add_client_error(
        "filter_log_events", service_error_code=code, service_message=message,
        http_status_code=400,
    )  # fmt: skip
    with stub, pytest.raises(IngestError) as err:
        ingest_to_folder("cloudwatch-logs://g", tmp_path, logs_client=logs, progress=False)
    assert str(err.value).startswith(f"reading log group 'g' failed: {says}")


def test_endpoint_from_environment(aws_client, tmp_path: Path, monkeypatch):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    fixture = Path(__file__).parent / "fixtures" / "logs" / "good" / "part-1.json"
    s3.put_object(Bucket=BUCKET, Key="logs/part-1.json", Body=fixture.read_bytes())
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.meta.endpoint_url)
    df = read_invocation_logs(f"s3://{BUCKET}/logs", progress=False, workers=1)
    assert len(df) == 6 and date(2025, 6, 2) == df.timestamp.min().date()


def _records(ids: list[str]) -> bytes:
    fixture = Path(__file__).parent / "fixtures" / "logs" / "good" / "part-2.json"
    base = json.loads(fixture.read_text().splitlines()[0])  # 2025-06-02T11:01:00Z
    return "".join(json.dumps({**base, "requestId": i}) + "\n" for i in ids).encode()


TEAM_KEY = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/x.json"


@pytest.mark.parametrize("uri", [f"s3://{BUCKET}/team-a", f"s3://{BUCKET}/team-a/"])
@pytest.mark.parametrize("window", [(None, None), ("2025-06-02", "2025-06-03")])
def test_a_prefix_reads_its_folder_only(aws_client, tmp_path: Path, uri, window):
    """``team-a`` is the folder team-a/, not every key that starts with it (team-ab/...)."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"team-a/{TEAM_KEY}", Body=_records(["a-1", "a-2"]))
    s3.put_object(Bucket=BUCKET, Key=f"team-ab/{TEAM_KEY}", Body=_records(["ab-1", "ab-2", "ab-3"]))
    s3.put_object(Bucket=BUCKET, Key="team-a.json", Body=_records(["beside"]))
    df = read_invocation_logs(
        uri, *window, workers=1, progress=False, endpoint_url=s3.meta.endpoint_url
    )
    assert list(df.request_id) == ["a-1", "a-2"]
    assert list(df.source_file) == [TEAM_KEY, TEAM_KEY]  # relative to the folder
    report = df.attrs["ingest"]
    assert (report["files_read"], report["lines_read"], report["rows"]) == (1, 2, 2)


def test_a_year_folder_above_the_aws_layout_is_not_the_date_on_s3(aws_client, tmp_path: Path):
    """``bedrock/2024/AWSLogs/...``: the listing does not skip ``bedrock/2024/`` as a year
    outside the window (a key in its first page shows AWS's layout below it, though a folder
    marker and a stray file sort first), and reads what the same
    files read from a local folder give. A dated folder without the layout is still skipped."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    layout = "bedrock/2024/AWSLogs/111122223333/BedrockModelInvocationLogs"
    files = {
        f"bedrock/2024/{TEAM_KEY}": _records(["in-window"]),  # 2025/06/02/11, records 11:01
        f"{layout}/us-east-1/2025/06/01/11/y.json": _records(["day-before"]),
        f"{layout}/amazon-bedrock-logs-permission-check": b"",
        "exports/2024/01/old.json": _records(["old-export"]),  # no layout: 2024 dates it
        "bedrock/2024/.keep": b"",  # sorts before AWSLogs/: the first key is not the answer
    }
    s3.put_object(Bucket=BUCKET, Key="bedrock/2024/", Body=b"")  # the console's folder marker
    for key, body in files.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(body)
    window = ("2025-06-02T11:00Z", "2025-06-02T12:00Z")
    local = read_invocation_logs(tmp_path, *window, workers=1, progress=False)
    for uri in (f"s3://{BUCKET}/", f"s3://{BUCKET}/bedrock"):
        remote = read_invocation_logs(
            uri, *window, workers=1, progress=False, endpoint_url=s3.meta.endpoint_url
        )
        assert list(remote.request_id) == ["in-window"], uri
        report = remote.attrs["ingest"]
        assert (report["files_read"], report["rows"], report["outside_window"]) == (1, 1, 0)
    assert list(local.request_id) == ["in-window"]
    pd.testing.assert_frame_equal(_table(local), _table(remote))
    whole = read_invocation_logs(
        f"s3://{BUCKET}/", *window, workers=1, progress=False, endpoint_url=s3.meta.endpoint_url
    ).attrs["ingest"]
    # skipped unlisted: the day folder 2025/06/01/ in the layout, and exports/2024/
    assert whole["folders_outside_window"] == 2
    not_logs = "not a log file (.json, .jsonl, .ndjson or .gz)"
    assert whole["files_skipped"] == [
        {"file": "bedrock/2024/", "reason": not_logs},
        {"file": "bedrock/2024/.keep", "reason": not_logs},
        {"file": f"{layout}/amazon-bedrock-logs-permission-check",
         "reason": "permission-check object"},
    ]  # fmt: skip


def _quiet_group(logs, group: str, events: bool) -> datetime:
    """A log group with Bedrock's stream (and one event an hour after the time returned)."""
    t0 = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="aws/bedrock/modelinvocations")
    if events:
        stamp = int((t0 + timedelta(hours=1, minutes=5)).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName="aws/bedrock/modelinvocations",
            logEvents=[{"timestamp": stamp, "message": _records(["outside"]).decode().strip()}],
        )
    return t0


@pytest.mark.parametrize("events", [True, False])
def test_a_log_group_with_no_events_in_the_window_is_an_empty_table(
    aws_client, tmp_path: Path, events: bool
):
    """As an S3 prefix or a folder whose window holds no records: logging delivers to the
    group (it has a stream), so an empty window is no error. The summary says it."""
    logs = aws_client("logs")
    t0 = _quiet_group(logs, "/quiet", events)
    report = ingest_to_folder(
        "cloudwatch-logs:///quiet", tmp_path, t0 + timedelta(hours=3), t0 + timedelta(hours=4),
        progress=False, endpoint_url=logs.meta.endpoint_url,
    )  # fmt: skip
    assert (report.lines_read, report.rows, report.outside_window) == (0, 0, 0)
    assert report.event_pages_read == 1
    assert pd.read_parquet(tmp_path / "usage.parquet").empty
    assert "lines read        0  (no events in the window: the table is empty)" in (
        report.summary()
    )


@pytest.mark.parametrize(("probe", "empty_table"), [([{"timestamp": 1, "message": "m"}], True),
                                                    ([], False)])  # fmt: skip
def test_without_describe_log_streams_an_event_anywhere_tells_an_empty_window(
    tmp_path: Path, probe, empty_table
):
    """``logs:DescribeLogStreams`` denied: one ``FilterLogEvents`` over the whole group (the
    permission the read needs) tells a quiet window from an empty group."""
    logs = boto3.client(
        "logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": []})  # the window's one page
    stub.add_client_error(
        "describe_log_streams", service_error_code="AccessDeniedException", http_status_code=400
    )
    stub.add_response("filter_log_events", {"events": probe}, {"logGroupName": "g", "limit": 1})
    if empty_table:  # the group is read: its retention is asked for next
        stub.add_response(
            "describe_log_groups", {"logGroups": [{"logGroupName": "g", "creationTime": 0}]},
            {"logGroupNamePrefix": "g"},
        )  # fmt: skip
    with stub:
        if empty_table:
            report = ingest_to_folder(
                "cloudwatch-logs://g", tmp_path, "2026-11-01", "2026-11-02", logs_client=logs,
                progress=False,
            )  # fmt: skip
            assert (report.lines_read, report.rows) == (0, 0)
        else:
            with pytest.raises(IngestError, match="no events in log group 'g' in us-east-1"):
                ingest_to_folder(
                    "cloudwatch-logs://g", tmp_path, "2026-11-01", "2026-11-02",
                    logs_client=logs, progress=False,
                )  # fmt: skip
        stub.assert_no_pending_responses()


def test_cloudwatch_events_read_as_files_do(aws_client, tmp_path: Path):
    """A message that is only white space is still an event delivered: a line read, quarantined
    (a blank line between a file's records is no record). A UTF-8 byte-order mark before a
    record is left out, as at the start of a file. A quarantine entry names the event's log
    stream and time, to find it by; ``line`` is its number among the events read."""
    logs = aws_client("logs")
    group, bedrock, other = "/quirks", "aws/bedrock/modelinvocations", "other-stream"
    logs.create_log_group(logGroupName=group)
    t0 = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    ms = int(t0.timestamp() * 1000)
    record, bom_record = (_records([i]).decode().strip() for i in ("plain", "bom"))
    for stream, events in {
        bedrock: [(ms + 60_000, record), (ms + 120_000, " \t "),
                  (ms + 180_000, "\ufeff" + bom_record)],
        other: [(ms + 240_123, "not a record")],
    }.items():  # fmt: skip
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group, logStreamName=stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in events],
        )  # fmt: skip
    df = read_invocation_logs(
        f"cloudwatch-logs://{group}", workers=1, progress=False,
        endpoint_url=logs.meta.endpoint_url,
    )  # fmt: skip
    report = df.attrs["ingest"]
    assert sorted(df.request_id) == ["bom", "plain"]
    assert (report["lines_read"], report["rows"], report["quarantined"]) == (4, 2, 2)
    day = t0.strftime("%Y-%m-%dT%H")
    assert df.attrs["quarantine"] == [
        {"source": f"{bedrock}@{day}:02:00.000Z", "line": 2,
         "reason": "empty event (the message is only white space)", "excerpt": " \t "},
        {"source": f"{other}@{day}:04:00.123Z", "line": 4, "reason": "invalid JSON",
         "excerpt": "not a record"},
    ]  # fmt: skip
    # the same messages in an `aws logs filter-log-events` file read the same way
    messages = [record, " \t ", "\ufeff" + bom_record, "not a record"]
    envelope = {"events": [{"message": m} for m in messages]}
    (tmp_path / "events.json").write_text(json.dumps(envelope))
    local = read_invocation_logs(tmp_path, workers=1, progress=False)
    assert sorted(local.request_id) == ["bom", "plain"]
    assert [(q["line"], q["reason"]) for q in local.attrs["quarantine"]] == [
        (2, "empty event (the message is only white space)"), (4, "invalid JSON")
    ]  # fmt: skip
