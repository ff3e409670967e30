"""Values no Bedrock call logs: a negative latency or max_tokens, a temperature past 5.

Bedrock refuses such a request, so a record holding one was made or changed by hand. Its row
stays (its tokens were billed) with null in that column, and the ingest report counts the
values nulled by column and reason (``values_nulled``), as the printed summary does.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from record_rows import log_record, row_of

from bedrock_finops import cli, ingest, ingest_worker, models, parse, parse_scalars
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.parse_body import PromptCache

ANTHROPIC_OUT = {"content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn"}


def anthropic(request_id: str = "r1", **body: object) -> dict:
    """An InvokeModel record of an Anthropic messages body with ``body``'s fields added."""
    request = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "Hi"}],
        **body,
    }
    rec = log_record(request, ANTHROPIC_OUT, "InvokeModel")
    rec["requestId"] = request_id
    return rec


def converse(request_id: str = "r1", latency: object = 812) -> dict:
    """A Converse record whose response logs ``latency`` as metrics.latencyMs."""
    body = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}
    out = {
        "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
        "stopReason": "end_turn",
        "metrics": {"latencyMs": latency},
    }
    rec = log_record(body, out)
    rec["requestId"] = request_id
    return rec


def stream(latency: object) -> dict:
    """An InvokeModelWithResponseStream record (Llama) whose last chunk's invocation metrics
    log ``latency`` as invocationLatency."""
    chunks = [
        {"generation": "ok", "stop_reason": None},
        {
            "generation": "",
            "stop_reason": "stop",
            "amazon-bedrock-invocationMetrics": {"invocationLatency": latency},
        },
    ]
    rec = log_record({"prompt": "Hi", "max_gen_len": 64}, chunks, "InvokeModelWithResponseStream")
    rec["modelId"] = "meta.llama3-8b-instruct-v1:0"
    return rec


def nulled_by_record_row(rec: dict) -> list[tuple[str, str]]:
    """What record_row reports nulling in ``rec``'s row; the fast path must leave it to it."""
    kw = {"app_key": "app", "identity_app_map": None, "model_key": models.request_model_id}
    assert parse.fast_row(rec, "f", cache=PromptCache(), **kw) is None
    nulled: list[tuple[str, str]] = []
    parse.record_row(rec, cache=PromptCache(), nulled=nulled, **kw)
    return nulled


@pytest.mark.parametrize(
    ("rec", "column", "reason"),
    [
        (anthropic(max_tokens=-5), "max_tokens", "negative"),
        (anthropic(max_tokens=-0.5), "max_tokens", "negative"),  # not truncated to 0
        (anthropic(max_tokens=2**64 - 1), "max_tokens", "too large"),  # past int64
        (anthropic(max_tokens=100_000_001), "max_tokens", "too large"),
        (anthropic(temperature=-0.1), "temperature", "negative"),
        (anthropic(temperature=5.5), "temperature", "too large"),
        (anthropic(temperature=1e308), "temperature", "too large"),
        (converse(latency=-3), "latency_ms", "negative"),
        (stream(-1.5), "latency_ms", "negative"),
    ],
    ids=[
        "max_tokens -5", "max_tokens -0.5", "max_tokens 2**64-1", "max_tokens 100M+1",
        "temperature -0.1", "temperature 5.5", "temperature 1e308", "latencyMs -3",
        "invocationLatency -1.5",
    ],
)  # fmt: skip
def test_a_value_no_call_logs_is_null_and_the_row_kept(rec, column, reason) -> None:
    row = row_of(rec)
    assert pd.isna(row[column])
    assert (row["input_tokens"], row["output_tokens"]) == (10, 3)  # still billed
    assert nulled_by_record_row(rec) == [(column, reason)]


def test_the_other_values_of_the_row_stay() -> None:
    row = row_of(anthropic(max_tokens=-5, temperature=0.7))
    assert (row["max_tokens"], row["temperature"], row["stop_reason"]) == (None, 0.7, "end_turn")


@pytest.mark.parametrize(
    ("rec", "column", "value"),
    [
        (anthropic(max_tokens=0), "max_tokens", 0),  # Titan's maxTokenCount takes 0
        (anthropic(max_tokens=100_000_000), "max_tokens", 100_000_000),
        (anthropic(temperature=0), "temperature", 0.0),
        (anthropic(temperature=1.5), "temperature", 1.5),  # gpt-oss takes up to 2
        (anthropic(temperature=5), "temperature", 5.0),  # Cohere Command up to 5
        (converse(latency=0), "latency_ms", 0.0),
        (converse(latency=3_600_000), "latency_ms", 3_600_000.0),
    ],
    ids=["max 0", "max 100M", "temp 0", "temp 1.5", "temp 5", "latency 0", "latency 1 h"],
)
def test_values_within_the_bounds_are_kept_on_the_fast_path(rec, column, value) -> None:
    kw = {"app_key": "app", "identity_app_map": None, "model_key": models.request_model_id}
    assert parse.fast_row(rec, "f", cache=PromptCache(), **kw) is not None
    assert row_of(rec)[column] == value


def _write(folder, files: dict[str, list[dict]]) -> None:
    folder.mkdir()
    for name, records in files.items():
        (folder / name).write_text("\n".join(json.dumps(r) for r in records) + "\n")


WANTED = {"latency_ms": {"negative": 1}, "max_tokens": {"negative": 1}}


def _logs(tmp_path):
    """Three files: a negative latency (b) delivered twice, the second time beside a good
    record, and a negative max_tokens (d)."""
    _write(
        tmp_path / "logs",
        {
            "1.json": [converse("a"), converse("b", latency=-40)],
            "2.json": [converse("c"), converse("b", latency=-40)],
            "3.json": [anthropic("d", max_tokens=-1)],
        },
    )
    return tmp_path / "logs"


def test_the_report_counts_the_values_nulled_in_the_rows_kept(tmp_path) -> None:
    report = ingest_to_folder(_logs(tmp_path), tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.quarantined, report.duplicates) == (4, 0, 1)
    assert report.values_nulled == WANTED  # b's second delivery is no row: not counted
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet").set_index("request_id")
    assert pd.isna(usage.loc["b", "latency_ms"]) and usage.loc["a", "latency_ms"] == 812.0
    assert pd.isna(usage.loc["d", "max_tokens"]) and usage.loc["d", "output_tokens"] == 3
    assert int(usage["input_tokens"].sum()) == 40  # four rows of 10, none dropped
    written = json.loads((tmp_path / "out" / "ingest_report.json").read_text())
    assert written["values_nulled"] == WANTED
    summary = report.summary()
    assert (
        "  nulled: latency_ms negative in 1 row (no Bedrock call logs such a value; the row is "
        "kept)" in summary
    )
    assert "  nulled: max_tokens negative in 1 row" in summary


def test_a_clean_run_reports_nothing_nulled(tmp_path) -> None:
    _write(tmp_path / "logs", {"1.json": [converse("a"), anthropic("b", temperature=2)]})
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.values_nulled) == (2, {})
    assert "nulled" not in report.summary()


def test_positions_hold_across_a_chunks_batches(tmp_path, monkeypatch) -> None:
    """All three files in one chunk, a batch each: the worker gives each nulled value its
    row's position in the chunk, so the parent leaves out the one in the duplicate dropped
    (the second row of the second batch), not the one in the row kept."""
    monkeypatch.setattr(ingest, "_chunk_size", lambda total, workers: 10)
    monkeypatch.setattr(ingest_worker, "CONVERT_ROWS", 1)
    report = ingest_to_folder(_logs(tmp_path), tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.duplicates, report.values_nulled) == (4, 1, WANTED)


def test_the_counts_reach_the_parent_from_worker_processes(tmp_path) -> None:
    report = ingest_to_folder(_logs(tmp_path), tmp_path / "out", workers=2, progress=False)
    assert (report.rows, report.duplicates, report.values_nulled) == (4, 1, WANTED)


def test_the_summary_counts_rows_in_the_plural() -> None:
    report = ingest.IngestReport(source="logs", values_nulled={"temperature": {"too large": 3}})
    assert (
        "  nulled: temperature too large in 3 rows (no Bedrock call logs such a value; the "
        "rows are kept)" in report.summary()
    )


def test_the_command_prints_the_counts(tmp_path, capsys) -> None:
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--workers", "1", "--source", str(_logs(tmp_path)), "--out", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert (
        "  nulled: latency_ms negative in 1 row (no Bedrock call logs such a value; the row is "
        "kept)\n  nulled: max_tokens negative in 1 row (no Bedrock call logs such a value; the "
        "row is kept)"
    ) in printed


@pytest.mark.parametrize("latency", [None, -1.0, -0.0, 0.0, 5.0, 1e300])
@pytest.mark.parametrize(
    "max_tokens",
    [
        None,
        -1,
        0,
        1,
        parse_scalars.MAX_TOKENS_PER_CALL,
        parse_scalars.MAX_TOKENS_PER_CALL + 1,
        2**70,
    ],
)
@pytest.mark.parametrize("temperature", [None, -0.1, 0.0, 1.0, 5.0, 5.01])
def test_the_fast_paths_bounds_check_is_the_rows(latency, max_tokens, temperature) -> None:
    """``within_bounds`` (one call on the fast path) agrees with ``out_of_bounds`` (the row's
    check, read from ROW_VALUE_BOUNDS): a bound changed in one place only fails here."""
    values = {"latency_ms": latency, "max_tokens": max_tokens, "temperature": temperature}
    assert parse_scalars.within_bounds(latency, max_tokens, temperature) == all(
        parse_scalars.out_of_bounds(column, value) is None for column, value in values.items()
    )
