"""Cache writes split by TTL: ``cache_write_1h_tokens`` from the response, else the markers.

A request can write a 1-hour prefix (the system prompt) and 5-minute turns at once; Converse
reports the split in ``usage.cacheDetails``, Anthropic's body in ``usage.cache_creation``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
from record_rows import log_record, row_of

from bedrock_finops.schema import USAGE_SCHEMA, read_usage

SYSTEM_1H = [{"text": "You are a support agent."}, {"cachePoint": {"type": "default", "ttl": "1h"}}]
TURN_5M = {"role": "user", "content": [{"text": "Question?"}, {"cachePoint": {"type": "default"}}]}
CONVERSE_BODY = {"system": SYSTEM_1H, "messages": [TURN_5M]}


def _converse(usage: dict, writes: int) -> dict:
    out = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Answer."}]}},
        "stopReason": "end_turn",
        "usage": usage,
    }
    rec = log_record(CONVERSE_BODY, out)
    rec["input"]["cacheWriteInputTokenCount"] = writes
    return rec


def test_converse_cache_details_split_the_writes() -> None:
    details = [{"ttl": "1h", "inputTokens": 2000}, {"ttl": "5m", "inputTokens": 18000}]
    row = row_of(_converse({"cacheWriteInputTokens": 20000, "cacheDetails": details}, 20000))
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (20000, 2000)
    assert row["cache_ttl"] == "1h"  # the longest TTL asked for, as before


def test_without_a_split_the_markers_decide() -> None:
    row = row_of(_converse({"cacheWriteInputTokens": 500}, 500))
    assert row["cache_write_1h_tokens"] == 500  # a 1h marker: every write counted at 1h
    rec = log_record({"messages": [TURN_5M]}, {"output": {"message": {"content": []}}})
    rec["input"]["cacheWriteInputTokenCount"] = 300
    assert row_of(rec)["cache_write_1h_tokens"] == 0  # 5m markers only


def test_a_split_larger_than_the_writes_is_capped() -> None:
    details = [{"ttl": "1h", "inputTokens": 900}]
    assert row_of(_converse({"cacheDetails": details}, 400))["cache_write_1h_tokens"] == 400


def test_anthropic_cache_creation_body_and_stream() -> None:
    body = {
        "system": [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Hi"}],
    }
    usage = {"cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 700}}
    out = {"content": [{"type": "text", "text": "Hello."}], "usage": usage}
    rec = log_record(body, out, "InvokeModel")
    rec["input"]["cacheWriteInputTokenCount"] = 1000
    row = row_of(rec)
    assert (row["cache_ttl"], row["cache_write_1h_tokens"]) == ("5m", 700)  # the response wins
    chunks = [
        {"type": "message_start", "message": {"usage": usage}},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hello."}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
    ]
    rec = log_record(body, chunks, "InvokeModelWithResponseStream")
    rec["input"]["cacheWriteInputTokenCount"] = 1000
    assert row_of(rec)["cache_write_1h_tokens"] == 700


def test_a_table_written_before_the_columns_gets_them(tmp_path) -> None:
    """A usage.parquet from before ``cache_write_1h_tokens`` and ``routed_model_id`` reads as
    a whole table: the 1h writes from cache_ttl, no routed model; it can be written back."""
    from bedrock_finops.schema import to_arrow

    added = ("cache_write_1h_tokens", "routed_model_id")
    names = [n for n in USAGE_SCHEMA.names if n not in added]
    rows = {n: pa.nulls(2, USAGE_SCHEMA.field(n).type) for n in names}
    rows["cache_write_tokens"] = pa.array([100, 200], pa.int64())
    rows["cache_ttl"] = pa.array(["1h", "5m"])
    pq.write_table(pa.table(rows), tmp_path / "usage.parquet")
    usage = read_usage(tmp_path / "usage.parquet")
    assert usage["cache_write_1h_tokens"].tolist() == [100, 0]
    assert usage["routed_model_id"].isna().all()
    assert list(usage.columns) == USAGE_SCHEMA.names
    assert to_arrow(usage).schema == USAGE_SCHEMA
