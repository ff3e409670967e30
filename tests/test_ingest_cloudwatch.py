"""Reading a CloudWatch Logs group: how it is named, paged, and what a refusal says.

What moto does not do (a repeated ``nextToken``, throttling past the retries) is played with
botocore's Stubber and AWS-shaped answers; the rest runs against the moto server.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from bedrock_finops import cli, empty_usage, ingest
from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.ingest_worker import ChunkResult, Options
from bedrock_finops.sources import cloudwatch_logs
from bedrock_finops.sources.cloudwatch_logs import LogGroup, log_group_and_region
from bedrock_finops.sources.invocation_logs import Unit
from bedrock_finops.sources.source_errors import SourceError

STREAM = "aws/bedrock/modelinvocations"
FIXTURE = Path(__file__).parent / "fixtures" / "logs" / "good" / "part-2.json"


def _logs_client():
    return boto3.client(
        "logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def _events(ids: list[str]) -> list[dict]:
    base = json.loads(FIXTURE.read_text().splitlines()[0])  # 2025-06-02T11:01:00Z
    stamp = 1748862060000
    return [
        {"logStreamName": STREAM, "timestamp": stamp + i, "eventId": str(i),
         "ingestionTime": stamp + i, "message": json.dumps({**base, "requestId": rid})}
        for i, rid in enumerate(ids)
    ]  # fmt: skip


def _group_described(stub: Stubber, name: str, arn: str | None = None) -> None:
    """The ``DescribeLogGroups`` answer that follows a group's read, asked by the group's
    name as a prefix (or by the ARN it was given as), shaped as AWS's for a group created
    2025-06-01 whose events never expire (no ``retentionInDays``)."""
    own = arn or f"arn:aws:logs:us-east-1:111122223333:log-group:{name}"
    listed = {"logGroupName": name, "creationTime": 1748736000000, "metricFilterCount": 0,
              "arn": f"{own}:*", "logGroupArn": own, "storedBytes": 0}  # fmt: skip
    asked = {"logGroupIdentifiers": [arn]} if arn else {"logGroupNamePrefix": name}
    stub.add_response("describe_log_groups", {"logGroups": [listed]}, asked)


def test_an_empty_page_that_repeats_its_token_is_read_past(tmp_path: Path):
    """A sparse group can answer empty pages carrying the token it was sent (boto3#1584);
    botocore's paginator stops the read there ("the same next token was received twice"),
    losing every later page. Asking again moves on."""
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": [], "nextToken": "T1"}, {"logGroupName": "g"})
    for _ in range(2):
        stub.add_response(
            "filter_log_events", {"events": [], "nextToken": "T1"},
            {"logGroupName": "g", "nextToken": "T1"},
        )  # fmt: skip
    stub.add_response(
        "filter_log_events", {"events": _events(["a", "b", "c"])},
        {"logGroupName": "g", "nextToken": "T1"},
    )  # fmt: skip
    _group_described(stub, "g")
    with stub:
        report = ingest_to_folder("cloudwatch-logs://g", tmp_path, logs_client=logs, progress=False)
        stub.assert_no_pending_responses()
    assert (report.rows, report.lines_read, report.event_pages_read) == (3, 3, 4)


@pytest.mark.parametrize("with_events", [False, True])
def test_a_search_that_never_moves_on_is_an_error_not_a_hang(
    tmp_path: Path, monkeypatch, with_events: bool
):
    """The same token answered again and again, with or without events, ends the read."""
    monkeypatch.setattr(cloudwatch_logs, "MAX_SAME_TOKEN_PAGES", 3)
    logs = _logs_client()
    stub = Stubber(logs)
    events = _events(["a"]) if with_events else []
    for _ in range(4):
        stub.add_response("filter_log_events", {"events": events, "nextToken": "T1"})
    with stub, pytest.raises(IngestError) as err:
        ingest_to_folder("cloudwatch-logs://g", tmp_path, logs_client=logs, progress=False)
    assert str(err.value) == (
        "reading log group 'g': FilterLogEvents answered 3 pages in a row with the token it "
        "was sent, without moving on; run again, or ingest the S3 delivery of the same logs "
        "instead"
    )
    assert not (tmp_path / "usage.parquet").exists()


def test_a_group_arn_is_sent_as_the_identifier_so_another_account_is_read(tmp_path: Path):
    """By name, a monitoring account would read its own group of that name; AWS takes the ARN
    (without ``:*``) as ``logGroupIdentifier``, for the empty-window check too."""
    arn = "arn:aws:logs:us-east-1:999988887777:log-group:/aws/bedrock/mi"
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": []}, {"logGroupIdentifier": arn})
    stub.add_response(
        "describe_log_streams", {"logStreams": [{"logStreamName": STREAM}]},
        {"logGroupIdentifier": arn, "limit": 1},
    )  # fmt: skip
    _group_described(stub, "/aws/bedrock/mi", arn)
    with stub:
        report = ingest_to_folder(
            f"cloudwatch-logs://{arn}:*", tmp_path, logs_client=logs, progress=False
        )
        stub.assert_no_pending_responses()
    assert (report.rows, report.source) == (0, f"cloudwatch-logs://{arn}:*")


@pytest.mark.parametrize(
    ("region", "source", "resource"),
    [
        ("us-east-1", "g", "arn:aws:logs:us-east-1:*:log-group:g:*"),
        ("us-east-1", "arn:aws:logs:us-east-1:111122223333:log-group:g:*",
         "arn:aws:logs:us-east-1:111122223333:log-group:g:*"),
        # in China or GovCloud, arn:aws:... matches nothing: the policy names the partition
        ("cn-north-1", "g", "arn:aws-cn:logs:cn-north-1:*:log-group:g:*"),
    ],
)  # fmt: skip
def test_access_denied_names_the_resource_to_grant_on(tmp_path: Path, region, source, resource):
    logs = boto3.client(
        "logs", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(logs)
    stub.add_client_error(
        "filter_log_events", service_error_code="AccessDeniedException", http_status_code=400
    )
    with stub, pytest.raises(IngestError) as err:
        ingest_to_folder(f"cloudwatch-logs://{source}", tmp_path, logs_client=logs, progress=False)
    assert str(err.value).endswith(f"Fix: grant logs:FilterLogEvents on {resource}")


def test_the_window_is_asked_for_with_an_hour_of_slack_after_its_end(tmp_path: Path):
    """FilterLogEvents is asked for [start, end + 1 h) in epoch ms (its endTime is inclusive:
    end + 1 h - 1 ms), not for everything after start; a record of the slack hour is read and
    counted outside the window, not made a row."""
    base = json.loads(FIXTURE.read_text().splitlines()[0])  # 2025-06-02T11:01:00Z
    late = {**base, "requestId": "late", "timestamp": "2025-06-02T12:30:00Z"}  # 11:01 + 89 min
    events = _events(["in"]) + [
        {"logStreamName": STREAM, "timestamp": 1748867400000, "eventId": "late",
         "ingestionTime": 1748867400000, "message": json.dumps(late)}
    ]  # fmt: skip
    logs = _logs_client()
    stub = Stubber(logs)
    # 2025-06-02T11:01:00Z is 1748862060000 ms: 11:00 is 60,000 ms before it; 12:00 is
    # 1748862000000 + 3,600,000 = 1748865600000, and endTime 12:00 + 1 h - 1 ms = 1748869199999
    window = {"logGroupName": "g", "startTime": 1748862000000, "endTime": 1748869199999}
    stub.add_response("filter_log_events", {"events": events}, window)
    _group_described(stub, "g")
    with stub:
        report = ingest_to_folder(
            "cloudwatch-logs://g", tmp_path, "2025-06-02T11:00Z", "2025-06-02T12:00Z",
            logs_client=logs, progress=False,
        )  # fmt: skip
        stub.assert_no_pending_responses()
    assert (report.lines_read, report.rows, report.outside_window) == (1, 1, 1)


@pytest.mark.parametrize(
    ("source", "region", "expected"),
    [
        ("/aws/bedrock/x", None, (LogGroup("/aws/bedrock/x"), None)),
        ("/aws/bedrock/x", "eu-west-1", (LogGroup("/aws/bedrock/x"), "eu-west-1")),
        ("arn:aws:logs:us-west-2:123456789012:log-group:/aws/bedrock/west:*", None,
         (LogGroup("/aws/bedrock/west", "arn:aws:logs:us-west-2:123456789012:log-group:"
                   "/aws/bedrock/west"), "us-west-2")),
        ("arn:aws:logs:us-west-2:123456789012:log-group:/aws/bedrock/west", "us-west-2",
         (LogGroup("/aws/bedrock/west", "arn:aws:logs:us-west-2:123456789012:log-group:"
                   "/aws/bedrock/west"), "us-west-2")),
        ("arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:br#1", None,
         (LogGroup("br#1", "arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:br#1"),
          "us-gov-west-1")),
    ],
)  # fmt: skip
def test_a_log_group_is_named_or_given_by_arn(source, region, expected):
    """The console and ``describe-log-groups`` show a group's ARN (with ``:*``): read in the
    ARN's Region, by the ARN without ``:*``."""
    assert log_group_and_region(f"cloudwatch-logs://{source}", region) == expected


@pytest.mark.parametrize(
    ("source", "region", "message"),
    [
        ("arn:aws:logs:us-west-2:123456789012:log-group:/b/w:*", "us-east-1",
         "the log group ARN names Region us-west-2, but the Region given is us-east-1 "
         "(--region, run.region in a params file, or the client passed in); drop one, or give "
         "the group by name (cloudwatch-logs:///b/w)"),
        ("arn:aws:logs:us-west-2:123456789012:log-group", None,
         "'arn:aws:logs:us-west-2:123456789012:log-group' is not a log group ARN "
         "(arn:aws:logs:REGION:ACCOUNT:log-group:NAME); give the group by name, e.g. "
         "cloudwatch-logs:///aws/bedrock/modelinvocations"),
        ("my logs", None,
         "'my logs' is not a log group name: CloudWatch Logs names hold only letters, digits "
         "and . - _ / # (up to 512); copy the name from the model invocation logging settings"),
    ],
)  # fmt: skip
def test_a_group_cloudwatch_cannot_take_is_named_before_any_call(source, region, message):
    with pytest.raises(SourceError) as err:
        log_group_and_region(f"cloudwatch-logs://{source}", region)
    assert str(err.value) == message


def test_a_group_arn_in_another_region_than_the_client_is_refused(tmp_path: Path):
    logs = _logs_client()  # us-east-1; no request may be made (the Stubber has none)
    out = tmp_path / "out"
    with Stubber(logs), pytest.raises(IngestError, match="names Region us-west-2, but"):
        ingest_to_folder(
            "cloudwatch-logs://arn:aws:logs:us-west-2:123456789012:log-group:g:*", out,
            logs_client=logs, progress=False,
        )  # fmt: skip
    assert not out.exists()  # told before the output folder is made


@pytest.mark.parametrize(
    ("source", "says"),
    [("cloudwatch-logs://my logs", "'my logs' is not a log group name"),
     ("cloudwatch-logs://arn:aws:logs:us-west-2:123456789012:log-group:g:*",
      "names Region us-west-2, but the Region given is us-east-1 (--region, run.region")],
)  # fmt: skip
def test_a_run_names_a_wrong_log_group_before_any_work(tmp_path: Path, source, says):
    from bedrock_finops import runner
    from bedrock_finops.params import ParamsError

    params = tmp_path / "params.yaml"
    params.write_text(f'run:\n  source: "{source}"\n  region: us-east-1\n')
    with pytest.raises(ParamsError, match=re.escape(says)):
        runner.run(params, out_root=tmp_path / "out", log=lambda *_: None)
    assert not (tmp_path / "out").exists()


def test_a_throttled_stream_check_says_throttled_not_wrong_group(tmp_path: Path):
    """An empty window leads to one ``DescribeLogStreams``; throttled past its retries, that is
    the error to report, not "no events ... check the Region"."""
    logs = _logs_client()
    stub = Stubber(logs)
    stub.add_response("filter_log_events", {"events": []})
    stub.add_client_error(
        "describe_log_streams", service_error_code="ThrottlingException", http_status_code=400
    )
    with stub, pytest.raises(IngestError) as err:
        ingest_to_folder(
            "cloudwatch-logs://g", tmp_path, "2026-11-01", "2026-11-02", logs_client=logs,
            progress=False,
        )  # fmt: skip
    assert str(err.value).startswith("reading log group 'g' was still throttled after every retry")


def test_results_are_handed_on_as_soon_as_the_oldest_is_ready(monkeypatch):
    """A slow source (CloudWatch pages at 5 requests a second) must not hold back progress
    until a dozen tasks are in flight: each result is handed on, in order, once it is ready."""
    futures = []

    class Pool(ThreadPoolExecutor):
        def submit(self, fn, *args, **kwargs):
            futures.append(super().submit(fn, *args, **kwargs))
            return futures[-1]

    monkeypatch.setattr(
        ingest.worker_pool, "start", lambda workers, **setup: Pool(max_workers=workers)
    )
    page_read = threading.Event()

    def process_run_chunk(units):
        page_read.wait(timeout=30)  # not done before the source moved on
        return ChunkResult(len(units), [], [], 0, 0, 0, {})

    monkeypatch.setattr(ingest, "process_run_chunk", process_run_chunk)
    pulled = []

    def units():
        for i in range(5):
            if futures:
                page_read.set()
                wait(futures[:1])  # the first task is done before the next page is read
            pulled.append(i)
            yield Unit("events", f"g#{i}")

    first = next(ingest._results(units(), Options(token="t"), 2, None, 1))
    assert first.files == 1
    assert pulled == [0, 1]  # handed on before the source was read to the end


def test_a_region_written_wrongly_is_one_line(tmp_path: Path, capsys):
    argv = ["ingest", "--source", "cloudwatch-logs://g", "--region", "us_east_1",
            "--out", str(tmp_path / "u.parquet")]  # fmt: skip
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: Provided region_name 'us_east_1' doesn't match a supported format; a Region is "
        "written like us-east-1 (--region, AWS_DEFAULT_REGION or the profile)\n"
    )


def test_a_connection_closed_after_the_retries_is_one_line(tmp_path: Path, capsys, monkeypatch):
    """An endpoint that drops every connection: botocore's ConnectionClosedError, not a
    traceback."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def drop() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.close()

    threading.Thread(target=drop, daemon=True).start()
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "AWS_MAX_ATTEMPTS": "1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    argv = ["ingest", "--source", "cloudwatch-logs://g", "--region", "us-east-1",
            "--endpoint-url", f"http://127.0.0.1:{server.getsockname()[1]}",
            "--out", str(tmp_path / "u.parquet")]  # fmt: skip
    try:
        assert cli.main(argv) == 2
    finally:
        server.close()
    err = capsys.readouterr().err
    assert err.startswith("error: Connection was closed before we received a valid response")
    assert err.endswith(
        "; the connection kept failing after every retry: check the network and run again\n"
    )


def test_an_empty_run_region_is_no_region(tmp_path: Path, no_aws_credentials):
    """``region: ""`` is read as no Region by the run, so the ARN's Region is not refused
    for it: the checks go on to what is missing (credentials here)."""
    from bedrock_finops import runner
    from bedrock_finops.params import ParamsError

    arn = "arn:aws:logs:us-west-2:123456789012:log-group:g:*"
    params = tmp_path / "params.yaml"
    params.write_text(f'run:\n  source: "cloudwatch-logs://{arn}"\n  region: ""\n')
    with pytest.raises(ParamsError, match="needs AWS credentials and none were found"):
        runner.run(params, out_root=tmp_path / "out", log=lambda *_: None)


NOTICE = "Permissions are correctly set for Amazon Bedrock logs."


@pytest.mark.aws
def test_the_set_up_notice_in_a_log_group_is_left_out_and_counted(aws_client, tmp_path: Path):
    """Bedrock writes the notice to the group when logging to it is set up. It is no record:
    no line read, no quarantine entry, counted as ``setup_notices`` by the window that holds
    its time (the window before it reads it in its hour of slack, and leaves it). A window
    holding only the notice is an empty table, and a run stops saying so, with nothing
    quarantined."""
    logs = aws_client("logs")
    group = "/aws/bedrock/set-up"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
    t0 = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    t1, t2 = t0 + timedelta(hours=1), t0 + timedelta(hours=2)
    noticed, invoked = t0 + timedelta(minutes=1), t1 + timedelta(minutes=10)
    record = json.loads(FIXTURE.read_text().splitlines()[0])
    record["timestamp"] = invoked.strftime("%Y-%m-%dT%H:%M:%SZ")
    logs.put_log_events(
        logGroupName=group, logStreamName=STREAM,
        logEvents=[
            {"timestamp": int(noticed.timestamp() * 1000), "message": NOTICE},
            {"timestamp": int(invoked.timestamp() * 1000), "message": json.dumps(record)},
        ],
    )  # fmt: skip
    endpoint = logs.meta.endpoint_url

    def read(name: str, start: datetime | None, end: datetime | None) -> ingest.IngestReport:
        return ingest_to_folder(
            f"cloudwatch-logs://{group}", tmp_path / name, start, end, workers=1,
            progress=False, endpoint_url=endpoint,
        )  # fmt: skip

    only = read("only", t0, t1)
    assert (only.lines_read, only.rows, only.quarantined, only.setup_notices) == (0, 0, 0, 1)
    assert only.outside_window == 1  # the record, read in the hour of slack
    assert "lines read        0  (no events in the window: the table is empty)" in only.summary()
    message = empty_usage.nothing_to_analyse(only.to_dict())
    assert message == (
        f"the ingest found no invocations to analyse: cloudwatch-logs://{group} holds none in "
        f"the window [{t0.isoformat()}, {t1.isoformat()}) (1 set-up notice left out "
        '(Bedrock\'s "Permissions are correctly set" event, no record)): the 1 record is after '
        f"it ({invoked.date()} to {invoked.date()}); set run.end to "
        f"{invoked.date() + timedelta(days=1)} or later"
    )
    before = read("before", t0 - timedelta(hours=1), t0)
    assert (before.lines_read, before.setup_notices, before.outside_window) == (0, 0, 0)
    after = read("after", t1, t2)
    assert (after.lines_read, after.rows, after.setup_notices) == (1, 1, 0)
    whole = read("whole", None, None)
    assert (whole.lines_read, whole.rows, whole.quarantined, whole.setup_notices) == (1, 1, 0, 1)
