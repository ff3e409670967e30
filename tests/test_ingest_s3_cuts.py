"""An S3 object whose body stream breaks off part-way is read again; one that keeps breaking
is one quarantine entry, and the ingest goes on (against the local moto server)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ResponseStreamingError

from bedrock_finops.ingest import ingest_to_folder, read_invocation_logs
from bedrock_finops.sources import invocation_logs as logs
from bedrock_finops.sources import s3_objects

pytestmark = pytest.mark.aws
BUCKET = "bedrock-logs-cuts"
GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
LINES = (GOOD / "part-2.json").read_text().splitlines()
KEYS = [
    f"AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/{h}/a.json.gz" for h in (10, 11)
]


class _CutBody:
    """A streaming body that yields its first bytes and then loses the connection."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def iter_chunks(self, size: int):
        yield self.body.read(10)
        raise ResponseStreamingError(error=ConnectionResetError("Connection broken"))


class _CuttingClient:
    """A boto3 S3 client whose next ``cuts`` object bodies break off part-way."""

    def __init__(self, client: Any, cuts: int, keys_with: str = "") -> None:
        self.client = client
        self.cuts = cuts
        self.keys_with = keys_with  # cut only the objects whose key holds this
        self.gets = 0

    def get_object(self, **kwargs: Any) -> dict:
        self.gets += 1
        response = self.client.get_object(**kwargs)
        if self.cuts > 0 and self.keys_with in kwargs["Key"]:
            self.cuts -= 1
            response["Body"] = _CutBody(response["Body"])
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@pytest.fixture
def s3(aws_client, monkeypatch):
    monkeypatch.setattr(s3_objects, "S3_RETRY_PAUSE_S", 0.0)
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    for key in KEYS:
        client.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress("\n".join(LINES).encode()))
    return client


def _unit(key: str) -> logs.Unit:
    return logs.Unit("s3", key, key, bucket=BUCKET)


def test_a_cut_stream_is_read_again(s3):
    client = _CuttingClient(s3, cuts=s3_objects.S3_READ_ATTEMPTS - 1)
    decoded = logs.unit_lines(_unit(KEYS[0]), client)
    assert decoded.error is None
    assert [json.loads(line)["requestId"] for line in decoded.lines] == [
        json.loads(line)["requestId"] for line in LINES
    ]
    assert client.gets == s3_objects.S3_READ_ATTEMPTS


def test_an_object_that_keeps_breaking_is_one_quarantine_entry(s3, tmp_path):
    client = _CuttingClient(s3, cuts=s3_objects.S3_READ_ATTEMPTS)  # the first object, every time
    report = ingest_to_folder(
        f"s3://{BUCKET}", tmp_path, s3_client=client, workers=1, progress=False
    )
    reason = f"unreadable S3 object (ResponseStreamingError on {s3_objects.S3_READ_ATTEMPTS} tries)"
    assert report.quarantine_by_reason == {reason: 1}
    assert report.rows == len(LINES)  # the second object
    assert report.lines_read == len(LINES) + 1


@pytest.mark.parametrize("cuts, fetched", [(s3_objects.S3_READ_ATTEMPTS - 1, True), (99, False)])
def test_a_large_body_that_keeps_breaking_is_left_unfetched(s3, cuts, fetched):
    body_key = (
        "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data/"
        "req-large-1_input.json.gz"
    )  # where the fixture's record points (bucket logs-bucket)
    s3.create_bucket(Bucket="logs-bucket")
    body = {"messages": [{"role": "user", "content": "Summarise"}], "max_tokens": 64}
    s3.put_object(Bucket="logs-bucket", Key=body_key, Body=gzip.compress(json.dumps(body).encode()))
    answer = {"content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn"}
    s3.put_object(
        Bucket="logs-bucket",
        Key=body_key.replace("_input", "_output"),
        Body=gzip.compress(json.dumps(answer).encode()),
    )
    client = _CuttingClient(s3, cuts=cuts, keys_with="/data/")
    df = read_invocation_logs(
        f"s3://{BUCKET}", s3_client=client, workers=1, progress=False, fetch_large_bodies=True
    )
    row = df.set_index("request_id").loc["req-large-1"]
    max_tokens = None if pd.isna(row["max_tokens"]) else row["max_tokens"]
    assert (row["body_in_s3"], max_tokens) == (not fetched, 64 if fetched else None)
    unread = df.attrs["ingest"]["large_bodies_unread"]
    if fetched:
        assert unread == []
    else:  # both bodies broke on every try; each listed once (a re-delivery names them too)
        assert unread == [
            {"file": f"s3://logs-bucket/{key}", "reason": "unreadable S3 object "
             "(ResponseStreamingError on 3 tries)"}
            for key in (body_key, body_key.replace("_input", "_output"))
        ]  # fmt: skip


@pytest.mark.parametrize("cuts", [s3_objects.S3_READ_ATTEMPTS - 1, 99])
def test_a_big_object_whose_download_breaks(s3, tmp_path, monkeypatch, cuts):
    """A large object is downloaded with the same retries as a read. Downloaded after a few
    cuts, it is read in ranges; still breaking, it stays an S3 object, and reading it (which
    breaks too) is one quarantine entry, as for any object."""
    from bedrock_finops.sources import file_ranges

    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 100)  # both objects are "large"
    client = _CuttingClient(s3, cuts=cuts, keys_with="/10/")  # the first object only
    kw = {"s3_client": client, "workers": 1, "progress": False}
    report = ingest_to_folder(f"s3://{BUCKET}", tmp_path, **kw)
    if cuts < s3_objects.S3_READ_ATTEMPTS:  # downloaded on the last try, then read from disk
        assert report.quarantine_by_reason == {}
        assert (report.rows, report.duplicates) == (len(LINES), len(LINES))  # same lines twice
        assert client.gets == cuts + 1 + 1  # the second object: one download
    else:  # every download try broke, then every read try
        tries = s3_objects.S3_READ_ATTEMPTS
        reason = f"unreadable S3 object (ResponseStreamingError on {tries} tries)"
        assert report.quarantine_by_reason == {reason: 1}
        assert report.rows == len(LINES)
        assert client.gets == 2 * s3_objects.S3_READ_ATTEMPTS + 1


def test_a_large_body_past_the_limit_is_not_downloaded(s3, monkeypatch):
    """A body object over the most read (1 MB here, for 64 MB) is told by its size as its
    GET answers, and its bytes are not read; one under it that decompresses past it is let
    go as it does. The rows stay, unfetched, and the report says why."""
    from bedrock_finops import ingest_worker

    monkeypatch.setattr(ingest_worker, "LARGE_BODY_BYTES", 1 << 20)
    body_key = (
        "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data/"
        "req-large-1_input.json.gz"
    )
    s3.create_bucket(Bucket="logs-bucket")
    turns = [{"role": "user", "content": "x" * 1000}] * 2000
    body = json.dumps({"messages": turns, "max_tokens": 64}).encode()
    s3.put_object(Bucket="logs-bucket", Key=body_key, Body=gzip.compress(body))
    output_key = body_key.replace("_input", "_output")
    s3.put_object(Bucket="logs-bucket", Key=output_key, Body=os.urandom(3 << 19))
    with pytest.raises(s3_objects.ObjectTooLarge):
        next(s3_objects.read_s3_object("logs-bucket", output_key, None, None, s3, most=1 << 20))
    df = read_invocation_logs(
        f"s3://{BUCKET}", s3_client=s3, workers=1, progress=False, fetch_large_bodies=True
    )
    assert df.set_index("request_id").loc["req-large-1", "body_in_s3"]
    assert df.attrs["ingest"]["large_bodies_unread"] == [
        {"file": f"s3://logs-bucket/{key}", "reason": "too large to read (over 1 MB)"}
        for key in (body_key, output_key)
    ]
