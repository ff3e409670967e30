"""Ingest of hand-written invocation-log records: every operation and body format, bad input."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bedrock_finops import (
    cli,
    compiled,
    ingest,
    ingest_worker,
    line_scan,
    parse_scalars,
    row_batch,
)
from bedrock_finops.ingest import IngestError, ingest_to_folder, read_invocation_logs
from bedrock_finops.schema import USAGE_SCHEMA
from bedrock_finops.sources.log_decoding import Decoded

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
GOOD = FIXTURES / "good"


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    df = read_invocation_logs(
        GOOD, workers=1, progress=False, identity_app_map={"etl-runner": "nightly-etl"}
    )
    return df.set_index("request_id", drop=False)


def test_report_counts_every_line(good):
    r = good.attrs["ingest"]
    assert (r["lines_read"], r["rows"], r["quarantined"], r["duplicates"]) == (13, 12, 0, 1)
    assert r["lines_read"] == r["rows"] + r["quarantined"] + r["duplicates"]
    assert r["unknown_models"] == {"ai21.jamba-1-5-mini-v1:0": 1}
    assert r["large_bodies_not_fetched"] == 1
    assert r["files_read"] == 2


def test_duplicate_keeps_first_delivery(good):
    row = good.loc["req-converse-1"]
    assert row["input_tokens"] == 40 and row["source_file"] == "part-1.json"


def test_converse(good):
    r = good.loc["req-converse-1"]
    assert r["timestamp"] == pd.Timestamp("2025-06-02T10:15:30Z")
    assert (r["operation"], r["streaming"], r["model"], r["geo"], r["provider"]) == (
        "Converse",
        False,
        "anthropic.claude-sonnet-4",
        "us",
        "anthropic",
    )
    assert (r["app"], r["service_tier"], r["inference_region"]) == ("support", "flex", "us-west-2")
    assert (
        r["input_tokens"],
        r["cache_read_tokens"],
        r["cache_write_tokens"],
        r["output_tokens"],
    ) == (40, 0, 1100, 14)
    assert (r["cache_ttl"], r["latency_ms"], r["stop_reason"]) == ("1h", 1234.0, "end_turn")
    assert (r["max_tokens"], r["temperature"]) == (512, 0.2)
    # "You are a support agent." = 24 chars -> 6 tokens; turns 17, 32, 12 chars -> 5, 8, 3
    assert r["system_tokens"] == 6
    assert [(p["kind"], p["tokens"]) for p in r["prefix_hashes"]] == [
        ("system", 6),
        ("message", 11),
        ("message", 19),
        ("message", 22),
    ]
    assert r["user_text"] == "It is 12345."
    assert r["output_shape"] == "prose"
    assert json.loads(r["request_metadata"]) == {"app": "support", "team": "cx"}


def test_converse_stream_takes_cache_from_usage_and_shares_prefix(good):
    r = good.loc["req-stream-1"]
    assert (r["streaming"], r["app"], r["model"], r["geo"]) == (
        True,
        "search-role",
        "amazon.nova-lite",
        "none",
    )
    assert r["timestamp"] == pd.Timestamp("2025-06-02T10:16:00.250Z")
    assert (r["cache_read_tokens"], r["cache_write_tokens"]) == (200, 0)
    assert pd.isna(r["latency_ms"])
    assert (r["stop_reason"], r["output_shape"], r["max_tokens"]) == ("end_turn", "label", 100)
    assert pd.isna(r["temperature"])
    first = good.loc["req-converse-1"]
    # same system prompt (the cache point is not content) and same first user turn
    assert r["system_hash"] == first["system_hash"]
    assert r["prefix_hashes"][1]["hash"] == first["prefix_hashes"][1]["hash"]
    assert r["request_hash"] != first["request_hash"]


def test_invoke_model_anthropic(good):
    r = good.loc["req-anthropic-1"]
    assert r["timestamp"] == pd.Timestamp("2025-06-02T08:17:00Z")  # +02:00 -> UTC
    assert (r["model"], r["app"]) == ("anthropic.claude-3-haiku", "alice")
    assert (r["cache_write_tokens"], r["cache_ttl"]) == (1200, "5m")
    assert (r["max_tokens"], r["temperature"], r["stop_reason"]) == (300, 0.5, "end_turn")
    assert r["output_shape"] == "json"
    # tools canonical JSON is 122 chars -> 31 tokens; system 19 chars -> 5; user 21 chars -> 6
    assert [(p["kind"], p["tokens"]) for p in r["prefix_hashes"]] == [
        ("tools", 31),
        ("system", 36),
        ("message", 42),
    ]
    assert r["tools_hash"] is not None and r["system_tokens"] == 5


def test_invoke_model_with_response_stream_anthropic(good):
    r = good.loc["req-anthropic-stream-1"]
    assert r["timestamp"] == pd.Timestamp("2025-06-02T10:18:00.123Z")
    assert (r["streaming"], r["model"], r["geo"], r["app"]) == (
        True,
        "anthropic.claude-sonnet-4-5",
        "global",
        "codegen",
    )
    assert (r["stop_reason"], r["output_shape"], r["cache_ttl"]) == ("max_tokens", "code", "1h")
    # no Converse latencyMs in a stream; the last chunk's invocation metrics say 800 ms
    assert r["latency_ms"] == 800.0 and pd.isna(r["system_hash"])
    assert r["user_text"] == "Write add in Python"


def test_llama_titan_mistral_nova(good):
    llama = good.loc["req-llama-1"]
    assert (llama["model"], llama["app"], llama["system_tokens"], llama["user_text"]) == (
        "meta.llama3-1-70b-instruct",
        "nightly-etl",
        5,
        "I love it",
    )
    assert (
        llama["max_tokens"],
        llama["temperature"],
        llama["stop_reason"],
        llama["output_shape"],
    ) == (5, 0.0, "stop", "label")
    titan = good.loc["req-titan-1"]
    assert (
        titan["model"],
        titan["max_tokens"],
        titan["temperature"],
        titan["stop_reason"],
        titan["output_shape"],
    ) == ("amazon.titan-text-express", 200, 0.0, "FINISH", "code")
    assert pd.isna(titan["system_hash"]) and pd.isna(titan["system_tokens"])
    m1 = good.loc["req-mistral-1"]
    assert (m1["user_text"], m1["max_tokens"], m1["stop_reason"], m1["output_shape"]) == (
        "Summarise: the cat sat on the mat.",
        50,
        "stop",
        "prose",
    )
    m2 = good.loc["req-mistral-2"]
    assert (m2["model"], m2["system_tokens"], m2["stop_reason"], m2["output_shape"]) == (
        "mistral.mistral-large-2407",
        5,
        "stop",
        "label",
    )
    nova = good.loc["req-nova-1"]
    assert (nova["model"], nova["geo"], nova["max_tokens"], nova["temperature"]) == (
        "amazon.nova-pro",
        "us",
        400,
        0.7,
    )
    # pretty JSON in the prompt: 32 chars (8 tokens) vs compact 23 chars (6 tokens)
    assert (nova["pretty_json_tokens"], nova["output_shape"]) == (2, "json")


STREAMS = FIXTURES / "streams"  # InvokeModelWithResponseStream chunk lists, as AWS logs them


@pytest.fixture(scope="module")
def streams() -> pd.DataFrame:
    df = read_invocation_logs(STREAMS, workers=1, progress=False)
    return df.set_index("request_id", drop=False)


STREAMED = [
    # Llama: "Neg" + "ative" -> one word; stop_reason "stop" on the last chunk
    ("req-llama-stream-1", "meta.llama3-1-8b-instruct", 30, 2,
     "stop", "label", "I hate waiting", 410.0),
    # Titan: '{"capital": ' + '"Paris"}' -> a JSON object; completionReason FINISH at the end
    ("req-titan-stream-1", "amazon.titan-text-lite", 9, 7,
     "FINISH", "json", "Give the capital of France as JSON.", 620.0),
    # Mistral: "The cat sat there" + " because the mat was warm and" -> ten words of prose;
    # the last chunk's outputs[0] carries no text and stop_reason "length"
    ("req-mistral-stream-1", "mistral.mistral-7b-instruct", 16, 12,
     "length", "prose", "Why did the cat sit on the mat?", 530.0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_id", "model", "inp", "out", "stop", "shape", "user", "latency"),
    STREAMED,
    ids=["llama", "titan", "mistral"],
)
def test_llama_titan_mistral_streams(
    streams, request_id, model, inp, out, stop, shape, user, latency
):
    """The streamed answer is the chunks' text pieces joined, the stop reason the last chunk's;
    the token counts are the record's (the chunks and the invocation metrics say the same),
    the latency the invocation metrics' invocationLatency."""
    r = streams.loc[request_id]
    assert (r["operation"], r["streaming"], r["model"]) == (
        "InvokeModelWithResponseStream", True, model
    )  # fmt: skip
    assert (r["input_tokens"], r["output_tokens"], r["cache_read_tokens"]) == (inp, out, 0)
    assert (r["stop_reason"], r["output_shape"], r["user_text"]) == (stop, shape, user)
    assert r["latency_ms"] == latency


def test_streams_report(streams):
    r = streams.attrs["ingest"]
    assert (r["lines_read"], r["rows"], r["quarantined"], r["unknown_models"]) == (3, 3, 0, {})


def test_repeated_lines_and_empty_output(good):
    r = good.loc["req-repeat-1"]
    # a 37-char line three times in the prompt: two repeats x 10 tokens
    assert r["repeated_line_tokens"] == 20
    assert r["output_shape"] == "empty" and r["output_tokens"] == 0


def test_large_body_kept_with_tokens(good):
    r = good.loc["req-large-1"]
    assert r["body_in_s3"] == True  # noqa: E712
    assert (r["input_tokens"], r["cache_read_tokens"], r["output_tokens"]) == (30000, 5000, 200)
    assert pd.isna(r["request_hash"]) and r["output_shape"] == "unknown"


def test_unknown_model_kept(good):
    r = good.loc["req-unknown-1"]
    assert pd.isna(r["model"]) and r["model_id_raw"] == "ai21.jamba-1-5-mini-v1:0"


def test_large_body_fetched_when_asked(tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)
    data = logs / "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data"
    data.mkdir(parents=True)
    body = {
        "messages": [{"role": "user", "content": "Summarise this long report"}],
        "max_tokens": 64,
    }
    (data / "req-large-1_input.json.gz").write_bytes(gzip.compress(json.dumps(body).encode()))
    answer = {"content": [{"type": "text", "text": "It grew."}], "stop_reason": "end_turn"}
    (data / "req-large-1_output.json.gz").write_bytes(gzip.compress(json.dumps(answer).encode()))
    df = read_invocation_logs(logs, workers=1, progress=False, fetch_large_bodies=True)
    r = df.set_index("request_id").loc["req-large-1"]
    assert (r["body_in_s3"], r["max_tokens"], r["user_text"], r["stop_reason"]) == (
        False,
        64,
        "Summarise this long report",
        "end_turn",
    )
    assert df.attrs["ingest"]["large_bodies_not_fetched"] == 0
    assert df.attrs["ingest"]["files_skipped"] == [
        {
            "file": "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data/"
            "req-large-1_input.json.gz",
            "reason": "large body (read with its record, when large bodies are fetched)",
        },
        {
            "file": "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data/"
            "req-large-1_output.json.gz",
            "reason": "large body (read with its record, when large bodies are fetched)",
        },
    ]


@pytest.mark.parametrize(
    "root_in_layout",
    [
        "",  # the folder that holds AWSLogs/ (as the key is read from it)
        "AWSLogs/111122223333/BedrockModelInvocationLogs",  # the service folder
        "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11",  # an hour
    ],
)
# the last: a key folder named longer than a file name may be (ENAMETOOLONG on the longest try)
@pytest.mark.parametrize("key_prefix", ["", "bedrock/", "x" * 300 + "/"])
def test_a_large_body_is_found_however_deep_the_local_root_is(tmp_path, root_in_layout, key_prefix):
    """The source may be any folder of the bucket's layout, or a sync that dropped the folders
    above it: the body is found under it by the end of its key, as S3 finds it by the key."""
    layout = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11"
    root = tmp_path / "copy"
    shutil.copytree(GOOD, root)
    for part in GOOD.iterdir():  # the records point at s3://b/<key_prefix>AWSLogs/...
        text = (root / part.name).read_text()
        text = text.replace("logs-bucket/AWSLogs/", f"b/{key_prefix}AWSLogs/")
        (root / part.name).write_text(text)
    data = root / layout.removeprefix(root_in_layout).lstrip("/") / "data"
    data.mkdir(parents=True)
    body = {"messages": [{"role": "user", "content": "Summarise this long report"}],
            "max_tokens": 64}  # fmt: skip
    (data / "req-large-1_input.json.gz").write_bytes(gzip.compress(json.dumps(body).encode()))
    answer = {"content": [{"type": "text", "text": "It grew."}], "stop_reason": "end_turn"}
    (data / "req-large-1_output.json.gz").write_bytes(gzip.compress(json.dumps(answer).encode()))
    df = read_invocation_logs(root, workers=1, progress=False, fetch_large_bodies=True)
    r = df.set_index("request_id").loc["req-large-1"]
    assert (r["body_in_s3"], r["max_tokens"], r["user_text"], r["stop_reason"]) == (
        False, 64, "Summarise this long report", "end_turn"
    )  # fmt: skip
    assert df.attrs["ingest"]["large_bodies_unread"] == []


def test_a_large_body_that_cannot_be_read_says_why(tmp_path):
    """With fetch_large_bodies, a body that is missing or not JSON leaves its row unfetched
    (body_in_s3 true) and is listed with the reason, not dropped in silence."""
    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)
    data = logs / "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data"
    data.mkdir(parents=True)
    (data / "req-large-1_output.json.gz").write_bytes(gzip.compress(b"{not json"))
    df = read_invocation_logs(logs, workers=1, progress=False, fetch_large_bodies=True)
    assert df.set_index("request_id").loc["req-large-1", "body_in_s3"]
    report = df.attrs["ingest"]
    assert report["large_bodies_not_fetched"] == 1
    where = (
        "s3://logs-bucket/AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/"
        "11/data/req-large-1"
    )
    assert report["large_bodies_unread"] == [
        {
            "file": f"{where}_input.json.gz",
            "reason": "not in the local copy (no file under the source at the end of its key)",
        },
        {"file": f"{where}_output.json.gz", "reason": "not JSON"},
    ]


@pytest.mark.parametrize("body", [[{"role": "user", "content": "hi"}], "text", 7])
def test_a_fetched_input_body_that_is_no_object_keeps_its_row(tmp_path, body):
    """JSON, but no request body: read, the record would be quarantined (``inputBodyJson is
    not a JSON object``) and its billed tokens lost; it stays a row with body_in_s3 true, as
    an unreadable body's does."""
    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)
    data = logs / "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data"
    data.mkdir(parents=True)
    (data / "req-large-1_input.json.gz").write_bytes(gzip.compress(json.dumps(body).encode()))
    df = read_invocation_logs(logs, workers=1, progress=False, fetch_large_bodies=True)
    report = df.attrs["ingest"]
    assert (report["rows"], report["quarantined"]) == (12, 0)
    assert df.set_index("request_id").loc["req-large-1", "body_in_s3"]
    assert report["large_bodies_unread"][0] == {
        "file": "s3://logs-bucket/AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/"
        "2025/06/02/11/data/req-large-1_input.json.gz",
        "reason": "not a JSON object",
    }


def test_a_large_body_with_bytes_after_its_gzip_data_is_read(tmp_path):
    """Bytes after the whole gzip members leave every line read: the body is used."""
    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)
    data = logs / "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data"
    data.mkdir(parents=True)
    body = {"messages": [{"role": "user", "content": "Summarise it"}], "max_tokens": 64}
    packed = gzip.compress(json.dumps(body).encode()) + b"not gzip"
    (data / "req-large-1_input.json.gz").write_bytes(packed)
    df = read_invocation_logs(logs, workers=1, progress=False, fetch_large_bodies=True)
    assert df.set_index("request_id").loc["req-large-1", "user_text"] == "Summarise it"
    assert [u["file"].rsplit("/", 1)[1] for u in df.attrs["ingest"]["large_bodies_unread"]] == [
        "req-large-1_output.json.gz"  # not there at all
    ]


def test_a_large_body_past_the_limit_is_left_unread_and_says_so(tmp_path, monkeypatch):
    """A body over the most read (1 MB here, for 64 MB) is not read whole: the request body
    of 2 MB of JSON once decompressed (a few KB of gzip) is let go as it passes it, the
    response body of 1.5 MB as stored is not opened past it. Each row stays, unfetched, and
    the report says why; every line is counted as before."""
    monkeypatch.setattr(ingest_worker, "LARGE_BODY_BYTES", 1 << 20)
    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)
    data = logs / "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/data"
    data.mkdir(parents=True)
    turns = [{"role": "user", "content": "x" * 1000}] * 2000
    body = json.dumps({"messages": turns, "max_tokens": 64}).encode()
    (data / "req-large-1_input.json.gz").write_bytes(gzip.compress(body))
    (data / "req-large-1_output.json.gz").write_bytes(os.urandom(3 << 19))  # 1.5 MB
    assert len(body) > 2_000_000 and (data / "req-large-1_input.json.gz").stat().st_size < 50_000
    df = read_invocation_logs(logs, workers=1, progress=False, fetch_large_bodies=True)
    report = df.attrs["ingest"]
    counts = ("lines_read", "rows", "quarantined", "duplicates")
    assert [report[name] for name in counts] == [13, 12, 0, 1]  # as without the bodies
    row = df.set_index("request_id").loc["req-large-1"]
    assert row["body_in_s3"] and pd.isna(row["max_tokens"]) and pd.isna(row["stop_reason"])
    where = (
        "s3://logs-bucket/AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/"
        "11/data/req-large-1"
    )
    assert report["large_bodies_unread"] == [
        {"file": f"{where}_input.json.gz", "reason": "too large to read (over 1 MB)"},
        {"file": f"{where}_output.json.gz", "reason": "too large to read (over 1 MB)"},
    ]


def test_output_files(tmp_path):
    report = ingest_to_folder(GOOD, tmp_path, workers=1, progress=False)
    usage = pq.read_table(tmp_path / "usage.parquet")
    assert usage.schema.equals(USAGE_SCHEMA) and usage.num_rows == 12
    prompts = pq.read_table(tmp_path / "prompts.parquet").to_pandas()
    sup = prompts[prompts.text == "You are a support agent."].iloc[0]
    assert (sup["kind"], sup["tokens"], sup["requests"]) == ("system", 6, 2)
    assert sup["first_seen"] == pd.Timestamp("2025-06-02T10:15:30Z")
    assert sorted(prompts.kind) == ["system"] * 6 + ["tools"]
    saved = json.loads((tmp_path / "ingest_report.json").read_text())
    assert saved == report.to_dict()
    assert pq.read_table(tmp_path / "quarantine.parquet").num_rows == 0
    meta = pq.ParquetFile(tmp_path / "usage.parquet").metadata.row_group(0)
    assert {meta.column(i).compression for i in range(meta.num_columns)} == {"ZSTD"}
    columns = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    # distinct values: written plain, without min/max; repeated ones: dictionary and statistics
    for name in ("user_text", "request_id", "prefix_hashes.list.element.hash"):
        assert "RLE_DICTIONARY" not in columns[name].encodings and not columns[name].is_stats_set
    for name in ("region", "model", "input_tokens", "prefix_hashes.list.element.kind"):
        assert "RLE_DICTIONARY" in columns[name].encodings and columns[name].is_stats_set


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collector_state_is_restored_after_a_chunk(enabled):
    """Workers pause the GC while parsing; in-process ingests must get it back as it was."""
    import gc

    from bedrock_finops.ingest_worker import Options, process_chunk
    from bedrock_finops.sources import invocation_logs as logs

    units = logs.list_local(GOOD, None, None).units
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        result = process_chunk(units, Options(token="gc-test"))
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert sum(b.num_rows for b in result.batches) == 13  # 12 rows + 1 duplicate delivery


def test_window_filters_records(tmp_path):
    df = read_invocation_logs(
        GOOD, "2025-06-02T10:16:00Z", "2025-06-02T11:02:00Z", workers=1, progress=False
    )
    assert sorted(df.request_id) == [
        "req-anthropic-stream-1",
        "req-llama-1",
        "req-mistral-1",
        "req-stream-1",
        "req-titan-1",
    ]
    r = df.attrs["ingest"]
    assert r["outside_window"] == 8 and r["lines_read"] == 5
    assert r["start"] == "2025-06-02T10:16:00+00:00"


def test_cli(tmp_path, capsys):
    out = tmp_path / "run" / "my-usage.parquet"
    assert cli.main(["ingest", "--source", str(GOOD), "--out", str(out), "--workers", "1"]) == 0
    assert pq.read_table(out).num_rows == 12
    assert (out.parent / "quarantine.parquet").exists()
    printed = capsys.readouterr().out
    assert "duplicates" in printed
    if line_scan.COMPILED and row_batch.COMPILED and parse_scalars.COMPILED:
        assert "compiled parts    line scan yes, row batch yes, timestamps yes" in printed
    if compiled.status() == "yes":
        assert "timestamps yes, parse modules yes\n" in printed


def test_a_full_disk_or_read_only_file_system_is_one_error_line(tmp_path, capsys, monkeypatch):
    """The disk filling while the table is written (or a quota, or a read-only mount) is
    the user's to fix: one line saying where and what to do, exit 2, not a traceback."""
    import errno

    for code, fix in [
        (errno.ENOSPC, f"free space in {tmp_path / 'run'}, or write elsewhere (--out)"),
        (errno.EROFS, f"{tmp_path / 'run'} is on a read-only file system: write elsewhere (--out)"),
    ]:

        def full(*args, code=code, **kwargs):
            raise OSError(code, os.strerror(code), str(tmp_path / "run" / "usage.parquet.partial"))

        monkeypatch.setattr(ingest, "ingest_to_folder", full)
        out = tmp_path / "run" / "usage.parquet"
        assert cli.main(["ingest", "--source", str(GOOD), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"error: {os.strerror(code)} ({tmp_path / 'run' / 'usage.parquet.partial'}); {fix}\n"
        )


def test_output_cut_by_its_reader_is_no_traceback(tmp_path, monkeypatch):
    """`bedrock-finops ingest ... | head -1`: the summary's reader left; the table is written,
    and the command ends quietly as one ended by SIGPIPE does."""
    import subprocess

    out = tmp_path / "run" / "usage.parquet"
    cmd = (
        f"{sys.executable} -m bedrock_finops.cli ingest --source {GOOD} --out {out} "
        "--workers 1 | true"  # the reader leaves before the summary is written
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr and done.returncode == 141
    assert pq.read_table(out).num_rows == 12


def test_cli_refuses_an_output_it_cannot_write(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for out, message in [
        (tmp_path / "usage.csv", "must name a .parquet file"),
        (
            blocker / "usage.parquet",
            f"cannot create the output folder {blocker}: {blocker} is a file, not a folder",
        ),
        (
            blocker / "sub" / "usage.parquet",
            f"cannot create the output folder {blocker / 'sub'}: {blocker} is a file, not a folder",
        ),
    ]:
        assert cli.main(["ingest", "--source", str(GOOD), "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "usage.csv").exists()


# ---------------------------------------------------------------------------- bad input

BASE = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])


def _variant(request_id: str, **changes) -> str:
    rec = json.loads(json.dumps(BASE))
    rec["requestId"] = request_id
    for path, value in changes.items():
        node = rec
        *parents, leaf = path.split("__")
        for p in parents:
            node = node[p]
        if value is _DROP:
            node.pop(leaf)
        else:
            node[leaf] = value
    return json.dumps(rec)


_DROP = object()
BAD_TIMESTAMP = "bad timestamp (expected ISO-8601 with a date, time and Z or an offset)"

BAD_LINES = [
    ('{"requestId": "x", "operation": ', "invalid JSON"),
    ("[1, 2, 3]", "record is not a JSON object"),
    (_variant("b1", requestId=_DROP), "missing requestId"),
    (_variant("b1b", requestId=" \t"), "missing requestId"),  # else one ID for unrelated calls
    (_variant("b1c", requestId=12345), "requestId is not a string (a JSON number)"),
    (_variant("b1d", requestId=["r1"]), "requestId is not a string (a JSON array)"),
    (_variant("b1e", requestId=None), "missing requestId"),
    (_variant("b2", input__inputTokenCount="15"), "non-integer inputTokenCount"),
    (_variant("b3", input__inputTokenCount=-3), "negative inputTokenCount"),
    # no errorCode and no guardrail answer: a call that ran, but its input cannot be priced
    (_variant("b3b", input__inputTokenCount=_DROP), "missing inputTokenCount"),
    (_variant("b4", output__outputTokenCount=_DROP), "missing outputTokenCount"),
    (_variant("b4b", output__outputTokenCount=-1), "negative outputTokenCount"),
    (_variant("b5", input__cacheReadInputTokenCount=1.5), "non-integer cacheReadInputTokenCount"),
    (_variant("b5b", input__cacheReadInputTokenCount=-200), "negative cacheReadInputTokenCount"),
    (_variant("b5c", input__cacheWriteInputTokenCount=-1), "negative cacheWriteInputTokenCount"),
    (_variant("b6", operation="Embed"), "unknown operation 'Embed'"),
    (_variant("b7", timestamp="2025/06/02 11:01:00"), BAD_TIMESTAMP),
    (_variant("b8", timestamp="2025-06-02T11:01:00"), BAD_TIMESTAMP),
    (_variant("b9", timestamp=1748862060), BAD_TIMESTAMP),
    # in range in their own offset, not in UTC (year 0, year 10000): no datetime holds them
    (_variant("b9b", timestamp="0001-01-01T00:00:00+01:00"), BAD_TIMESTAMP),
    (_variant("b9c", timestamp="9999-12-31T23:59:59-01:00"), BAD_TIMESTAMP),
    (_variant("b10", modelId=None), "missing modelId"),
    (_variant("b10a", modelId=3), "modelId is not a string (a JSON number)"),
    (_variant("b11", input="oops"), "missing input"),
    (_variant("b12", input__inputBodyJson="text"), "inputBodyJson is not a JSON object"),
    (_variant("b13", input__inputTokenCount=2**63), "inputTokenCount too large"),  # > int64
    (_variant("b14", output__outputTokenCount=1e20), "outputTokenCount too large"),
    (_variant("b14b", input__inputTokenCount=5 * 10**18), "inputTokenCount too large"),
    (
        _variant("b14c", input__cacheReadInputTokenCount=100_000_001),
        "cacheReadInputTokenCount too large",
    ),
    (  # a failed call as AWS logs it: input and output hold only their content types
        _variant(
            "b15",
            input={"inputContentType": "application/json"},
            output={"outputContentType": "application/json"},
            errorCode="ThrottlingException",
        ),
        "failed invocation (ThrottlingException): no token counts, not billed",
    ),
    (  # a request the guardrail blocked before the model: the guardrail's answer, no counts
        _variant(
            "b16",
            input__inputTokenCount=_DROP,
            output__outputTokenCount=_DROP,
            output__outputBodyJson={
                "content": [{"type": "text", "text": "Sorry."}],
                "amazon-bedrock-guardrailAction": "INTERVENED",
            },
        ),
        "blocked by a guardrail: no token counts, no model tokens billed",
    ),
]


def test_bad_lines_quarantined_with_reasons(tmp_path):
    good_lines = [
        _variant("ok1"),
        _variant("ok2", timestamp="2025-06-02T11:01:00.5+00:00"),
        _variant("ok3", input__inputBodyJson__max_tokens=2**64 - 1),  # no usable limit: null
        _variant("ok4", errorCode="ModelStreamErrorException"),  # failed, but counts logged
    ]
    text = "\n".join([good_lines[0], *(line for line, _ in BAD_LINES), "", *good_lines[1:]])
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "mixed.json").write_text(text + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.quarantined, report.duplicates) == (4, len(BAD_LINES), 0)
    assert report.lines_read == 4 + len(BAD_LINES)  # the blank line is not a record
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet").set_index("request_id")
    assert usage.loc["ok1", "max_tokens"] == 50 and pd.isna(usage.loc["ok3", "max_tokens"])
    assert report.values_nulled == {"max_tokens": {"too large": 1}}  # ok3's, counted
    assert usage.loc["ok4", "output_tokens"] == usage.loc["ok1", "output_tokens"]
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pandas()
    assert list(q.reason) == [reason for _, reason in BAD_LINES]
    assert list(q.line) == list(range(2, 2 + len(BAD_LINES)))
    assert (q.source == "mixed.json").all()
    assert q.excerpt.str.len().max() <= 200
    assert q.excerpt.iloc[0] == '{"requestId": "x", "operation": '


def _gz_lines(lines: list[str]) -> bytes:
    return gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)


def test_truncated_gzip_keeps_complete_lines(tmp_path):
    lines = [_variant(f"t{i}") for i in range(40)]
    full = _gz_lines(lines)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "cut.json.gz").write_bytes(full[: len(full) * 2 // 3])
    (logs / "empty.json.gz").write_bytes(b"")
    (logs / "empty.json").write_bytes(b"")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert report.files_read == 1  # the empty files are listed as skipped, not read
    assert [s["reason"] for s in report.files_skipped] == ["empty file", "empty file"]
    assert 0 < report.rows < 40
    assert report.quarantine_by_reason == {"truncated gzip": 1}
    assert report.lines_read == report.rows + 1
    df = pd.read_parquet(tmp_path / "out" / "usage.parquet")
    assert list(df.request_id) == [f"t{i}" for i in range(report.rows)]


LINE_CUTS = [
    b"",
    b"\n",
    b"a",
    b"a\n",
    b"a\n\nb",
    b"a\nb\n\n",
    b"a\r\nb\r\n",  # CRLF
    b"a\rb\n",  # a lone CR cuts a line in bytes.splitlines
    b'{"x": 1}\n{"y": 2}',
]


@pytest.mark.parametrize("data", LINE_CUTS)
def test_line_views_are_the_lines(data):
    assert [bytes(v) for v in Decoded(data).views()] == data.splitlines()


def test_log_events_stay_one_line_each():
    events = [b'{"a":\n 1}', b"x"]  # a message with a line break is still one event
    assert list(Decoded(events=events).views()) == events


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_give_the_same_rows_and_line_numbers(tmp_path, newline):
    text = newline.join([_variant("n1"), "not json", "", _variant("n2")]) + newline
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "ends.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.quarantined, report.lines_read) == (2, 1, 3)
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(r["line"], r["reason"], r["excerpt"]) for r in q] == [(2, "invalid JSON", "not json")]


def test_corrupt_gzip_is_one_quarantined_entry(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "bad.json.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-not-deflate")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert report.quarantined == 1 and report.lines_read == 1
    assert next(iter(report.quarantine_by_reason)).startswith("corrupt gzip")


def test_folder_without_logs_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(IngestError, match=r"no invocation log files .* under .*AWSLogs"):
        ingest_to_folder(tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(IngestError, match="does not exist"):
        ingest_to_folder(tmp_path / "nope", tmp_path / "out", progress=False)


def test_start_after_end_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="not before end"):
        ingest_to_folder(GOOD, tmp_path, "2025-06-03", "2025-06-02", progress=False)


@pytest.mark.parametrize(
    "start", ["2025-13-01", "yesterday", "NaT", "today", "02/06/2025", "2 June 2025"]
)
def test_a_bad_window_bound_is_a_clear_error(tmp_path, start):
    """Only ISO-8601: 02/06/2025 could be read month first or day first."""
    message = rf"start '{start}' is not an ISO-8601 date or time.*YYYY-MM-DD"
    with pytest.raises(IngestError, match=message):
        ingest_to_folder(GOOD, tmp_path, start, progress=False)


def test_a_window_bound_that_is_not_text_or_a_date_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match=r"start 20250602 is a int, not a date or time"):
        ingest_to_folder(GOOD, tmp_path, 20250602, progress=False)


@pytest.mark.parametrize(
    ("bound", "utc"),
    [
        ("2025-06-02", "2025-06-02T00:00:00+00:00"),
        ("2025-06-02T10:16", "2025-06-02T10:16:00+00:00"),
        ("2025-06-02T10:16Z", "2025-06-02T10:16:00+00:00"),
        ("2025-06-02T12:16+02:00", "2025-06-02T10:16:00+00:00"),
        (dt.date(2025, 6, 2), "2025-06-02T00:00:00+00:00"),
        (dt.datetime(2025, 6, 2, 10, 16), "2025-06-02T10:16:00+00:00"),
    ],
)
def test_window_bounds_in_utc(tmp_path, bound, utc):
    report = ingest_to_folder(GOOD, tmp_path, bound, progress=False, workers=1)
    assert report.to_dict()["start"] == utc


def test_parallel_equals_serial(tmp_path, monkeypatch):
    many = tmp_path / "logs"
    for i in range(6):
        d = many / f"AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/{10 + i:02d}"
        d.mkdir(parents=True)
        lines = [_variant(f"p{i}-{j}") for j in range(5)] + [_variant("dup")]
        (d / f"f{i}.json.gz").write_bytes(_gz_lines(lines))
    spills = []  # this run's spill folder (other runs on the machine may have theirs)

    def spill_dir():
        spills.append(ingest_worker.spill_dir())
        return spills[-1]

    monkeypatch.setattr(ingest, "spill_dir", spill_dir)
    serial = read_invocation_logs(many, workers=1, progress=False)
    parallel = read_invocation_logs(many, workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, parallel)
    assert len(spills) == 1  # batches handed over as memory-mapped files leave nothing behind
    assert spills[0] is None or not spills[0].path.exists()
    assert parallel.attrs["ingest"]["duplicates"] == 5
    # the first delivery (the earliest key) is the one kept
    kept = parallel.set_index("request_id").loc["dup", "source_file"]
    assert kept.endswith("/10/f0.json.gz")


def test_chunk_keeps_its_batches_when_the_spill_folder_is_full(tmp_path, monkeypatch):
    import errno

    from bedrock_finops.ingest_worker import Options, process_chunk
    from bedrock_finops.sources import invocation_logs as logs

    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json.gz").write_bytes(_gz_lines([_variant("s1"), _variant("s2")]))
    units = logs.list_local(tmp_path / "logs", None, None).units
    (tmp_path / "shm").mkdir()

    def no_room(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pa.ipc, "new_file", no_room)
    res = process_chunk(units, Options(token="full", spill_dir=str(tmp_path / "shm")))
    assert res.batch_path is None
    assert [r["request_id"] for b in res.batches for r in b.to_pylist()] == ["s1", "s2"]
    assert list((tmp_path / "shm").iterdir()) == []  # no partial file left behind


def test_spilled_batch_round_trip(tmp_path):
    from bedrock_finops.ingest_worker import spill, unspill

    schema = pa.schema([("request_id", pa.string()), ("user_text", pa.string())])
    batches = [
        pa.RecordBatch.from_pylist([{"request_id": "a", "user_text": "x" * 1000}], schema),
        pa.RecordBatch.from_pylist([{"request_id": "b", "user_text": None}], schema),
    ]
    path = spill(batches, str(tmp_path))
    back = unspill(path)
    assert [b.to_pylist() for b in back] == [b.to_pylist() for b in batches]
    assert list(tmp_path.iterdir()) == []  # the file name is gone; the mapping lives on


def test_a_new_geo_prefix_finds_the_model_and_is_reported(tmp_path):
    """``uk.`` is in no list here: the model is still found, the report names the prefix,
    and the row stays unpriced with the reason (the sheet has no ``uk`` profile price)."""
    import json

    from record_rows import log_record

    from bedrock_finops.pricing import PriceCatalog

    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
    rec.update(modelId="uk.anthropic.claude-haiku-4-5-20251001-v1:0", region="eu-west-1")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps(rec) + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.unknown_models) == (1, {})
    assert report.unlisted_geo_prefixes == {"uk": 1}
    assert "new geo prefix uk.: 1 rows" in report.summary()
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet")
    assert usage.loc[0, ["model", "geo"]].tolist() == ["anthropic.claude-haiku-4-5", "uk"]
    priced = PriceCatalog.load("current").price(usage)
    assert pd.isna(priced.loc[0, "cost_usd"])
    assert priced.loc[0, "unpriced_reason"] == "no price for uk cross-region profile"


# each cross-Region (system-defined) profile prefix AWS uses, with a profile ID of that geo and
# a Region it is called from (aws-cdk aws-bedrock-alpha CrossRegionInferenceProfileRegion)
AWS_GEO_PROFILES = [
    ("us", "us.anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1", "anthropic.claude-sonnet-4"),
    ("eu", "eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "eu-west-1",
     "anthropic.claude-3-7-sonnet"),
    ("apac", "apac.amazon.nova-pro-v1:0", "ap-south-1", "amazon.nova-pro"),
    ("global", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1",
     "anthropic.claude-sonnet-4-5"),
    ("jp", "jp.anthropic.claude-haiku-4-5-20251001-v1:0", "ap-northeast-1",
     "anthropic.claude-haiku-4-5"),
    ("au", "au.anthropic.claude-haiku-4-5-20251001-v1:0", "ap-southeast-2",
     "anthropic.claude-haiku-4-5"),
    ("us-gov", "us-gov.anthropic.claude-3-haiku-20240307-v1:0", "us-gov-west-1",
     "anthropic.claude-3-haiku"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("geo", "model_id", "region", "model"), AWS_GEO_PROFILES, ids=[g[0] for g in AWS_GEO_PROFILES]
)
def test_each_aws_geo_prefix_is_a_listed_geo(tmp_path, geo, model_id, region, model):
    """A profile ID with a prefix AWS uses gives the model and its geo, and is no new prefix
    in the report (the fallback that finds unlisted prefixes would find these too)."""
    report, usage = _one_call(tmp_path, model_id, region)
    assert (report.rows, report.unknown_models, report.unlisted_geo_prefixes) == (1, {}, {})
    assert "new geo prefix" not in report.summary()
    assert usage.loc[0, ["model", "geo"]].tolist() == [model, geo]


def test_a_ca_prefix_is_no_aws_prefix_and_is_reported(tmp_path):
    """AWS has no ca. profiles (Canada's Regions call the us. and global. ones): a ca. ID is
    read as a prefix AWS added later, its model found and the prefix reported."""
    report, usage = _one_call(
        tmp_path, "ca.anthropic.claude-haiku-4-5-20251001-v1:0", "ca-central-1"
    )
    assert (report.rows, report.unlisted_geo_prefixes) == (1, {"ca": 1})
    assert usage.loc[0, ["model", "geo"]].tolist() == ["anthropic.claude-haiku-4-5", "ca"]


def _one_call(tmp_path: Path, model_id: str, region: str) -> tuple:
    """(report, usage table) of an ingest of one Converse record calling ``model_id``."""
    from record_rows import log_record

    rec = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
    rec.update(modelId=model_id, region=region)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps(rec) + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    return report, pd.read_parquet(tmp_path / "out" / "usage.parquet")


def test_a_repeated_request_id_with_other_content_is_listed(tmp_path):
    """Both copies count as a duplicate (first file wins); the one whose tokens and model
    differ from the copy kept is listed with both files, an identical re-delivery is not."""
    from record_rows import log_record

    def rec(rid: str, tokens: int, model: str = "anthropic.claude-3-haiku-20240307-v1:0"):
        r = log_record({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}, {})
        r.update(requestId=rid, modelId=model, region="us-east-1")
        r["input"]["inputTokenCount"] = tokens
        return json.dumps(r)

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_text(rec("same", 10) + "\n" + rec("other", 10) + "\n")
    (logs / "b.json").write_text(
        rec("same", 10) + "\n" + rec("other", 99_999, "anthropic.claude-opus-4-20250514-v1:0")
    )
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.duplicates, report.lines_read) == (2, 2, 4)
    assert report.conflicting_duplicates == [
        {
            "request_id": "other",
            "kept_from": "a.json",
            "dropped_from": "b.json",
            "differs_in": ["model_id_raw", "input_tokens", "request_hash"],
        }
    ]
    assert report.conflicting_duplicate_count == 1
    assert "(1 with other content than the copy kept" in report.summary()
    saved = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert saved["conflicting_duplicates"][0]["request_id"] == "other"
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet")
    assert usage.set_index("request_id").loc["other", "input_tokens"] == 10


def test_read_invocation_logs_hands_back_the_quarantined_lines(tmp_path):
    (tmp_path / "logs").mkdir()
    good_line = (GOOD / "part-1.json").read_text().splitlines()[0]
    (tmp_path / "logs" / "a.json").write_text(good_line + "\n{not json\n")
    df = read_invocation_logs(tmp_path / "logs", workers=1, progress=False)
    assert len(df) == 1 and df.attrs["ingest"]["quarantined"] == 1
    assert df.attrs["quarantine"] == [
        {"source": "a.json", "line": 2, "reason": "invalid JSON", "excerpt": "{not json"}
    ]
    both = pd.concat([df, df])  # pandas compares attrs when concatenating
    assert both.attrs["quarantine"] == df.attrs["quarantine"]


def test_the_summary_says_when_the_conflict_list_is_cut():
    from bedrock_finops.ingest import IngestReport

    report = IngestReport(source="x", duplicates=1500, conflicting_duplicate_count=1200)
    report.conflicting_duplicates = [{"request_id": str(i)} for i in range(1000)]
    assert (
        "(1,200 with other content than the copy kept: see conflicting_duplicates in "
        "ingest_report.json, the first 1,000 of them)" in report.summary()
    )


def test_the_summary_lists_the_commonest_quarantine_reasons_and_counts_the_rest():
    from bedrock_finops.ingest import SUMMARY_REASONS, IngestReport

    reasons = {f"reason {i}": 100 - i for i in range(SUMMARY_REASONS + 3)}
    report = IngestReport(source="x", quarantined=sum(reasons.values()))
    report.quarantine_by_reason = reasons
    text = report.summary()
    assert f"quarantine: reason {SUMMARY_REASONS - 1}: {100 - SUMMARY_REASONS + 1}" in text
    assert f"reason {SUMMARY_REASONS}:" not in text
    rest = sum(100 - i for i in range(SUMMARY_REASONS, SUMMARY_REASONS + 3))
    assert f"quarantine: 3 other reasons: {rest} (all in ingest_report.json)" in text


def test_conflicting_duplicates_are_all_counted_and_the_first_listed(tmp_path, monkeypatch):
    from record_rows import fixture_record

    from bedrock_finops import ingest_output

    monkeypatch.setattr(ingest_output, "CONFLICTS_LISTED", 2)
    first = [fixture_record(f"id{i}") for i in range(3)]
    later = [fixture_record(f"id{i}", timestamp="2025-06-02T11:59:00Z") for i in range(3)]
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_text("\n".join(json.dumps(r) for r in first) + "\n")
    (logs / "b.json").write_text("\n".join(json.dumps(r) for r in later) + "\n")
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.duplicates, report.conflicting_duplicate_count) == (3, 3, 3)
    assert [c["request_id"] for c in report.conflicting_duplicates] == ["id0", "id1"]
    assert all(c["differs_in"] == ["timestamp"] for c in report.conflicting_duplicates)
    assert ", the first 2 of them)" in report.summary()


def test_the_parent_writes_a_row_group_once_its_rows_hold_enough_bytes(tmp_path, monkeypatch):
    """Rows are buffered by count and by size: long prompts make smaller row groups rather
    than gigabytes held in the parent. The table is the same either way."""
    from bedrock_finops import ingest_output

    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)
    whole = ingest_to_folder(logs, tmp_path / "one", workers=1, progress=False)
    monkeypatch.setattr(ingest_output, "ROW_GROUP_BYTES", 1)  # each file's rows: a group
    cut = ingest_to_folder(logs, tmp_path / "many", workers=1, progress=False)
    one, many = (pq.ParquetFile(tmp_path / d / "usage.parquet") for d in ("one", "many"))
    assert one.metadata.num_row_groups == 1
    assert many.metadata.num_row_groups == len(list(GOOD.glob("*.json")))  # one per file
    assert many.read().equals(one.read()) and cut.rows == whole.rows


def test_the_summary_lists_the_commonest_unknown_models_and_counts_the_rest():
    from bedrock_finops.ingest import SUMMARY_REASONS, IngestReport

    report = IngestReport(source="x")
    report.unknown_models = {
        f"arn:...:application-inference-profile/p{i}": 50 - i for i in range(20)
    }
    text = report.summary()
    assert text.count("unknown model (unpriced): arn:") == SUMMARY_REASONS
    rest = sum(50 - i for i in range(SUMMARY_REASONS, 20))
    assert f"unknown model (unpriced): 8 other IDs: {rest} rows (all in ingest_report.json)" in text
