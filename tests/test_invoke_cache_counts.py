"""Cache token counts that only an InvokeModel response gives are read from it.

When a record's ``input`` has no ``cacheReadInputTokenCount``/``cacheWriteInputTokenCount``,
the counts come from the response, as Converse's ``usage`` already gave them: an Anthropic
body's ``usage``, a stream's ``amazon-bedrock-invocationMetrics`` (Bedrock's, on the last
chunk) or its ``message_start`` chunk. The record's own counts win; no count is added twice.
"""

from __future__ import annotations

import pytest
from record_rows import both_rows, log_record, row_of

from bedrock_finops import parse, parse_body
from bedrock_finops.parse_scalars import BadRecord

BODY = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 50,
    "system": [{"type": "text", "text": "Rules.", "cache_control": {"type": "ephemeral"}}],
    "messages": [{"role": "user", "content": "hi"}],
}


def _invoke(usage: dict) -> dict:
    out = {"content": [{"type": "text", "text": "Hello."}], "stop_reason": "end_turn"}
    rec = log_record(BODY, {**out, "usage": usage}, "InvokeModel")
    rec["input"]["inputTokenCount"] = 30  # uncached; no cache fields at the record's input
    return rec


def _stream(
    start_usage: dict | None, metrics: dict | None, delta_usage: dict | None = None
) -> dict:
    message = {"role": "assistant", "content": []}
    if start_usage is not None:
        message["usage"] = start_usage
    stop = {"type": "message_stop"}
    if metrics is not None:
        stop["amazon-bedrock-invocationMetrics"] = metrics
    chunks = [
        {"type": "message_start", "message": message},
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hello."}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": delta_usage or {"output_tokens": 3},
        },
        stop,
    ]
    rec = log_record(BODY, chunks, "InvokeModelWithResponseStream")
    rec["input"]["inputTokenCount"] = 30
    return rec


def _counts(rec: dict) -> tuple[int, int, int, int]:
    """(input, cache read, cache write, total input) of the row both paths give."""
    row = row_of(rec)
    counts = (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"])
    return (*counts, sum(counts))


def test_an_anthropic_body_gives_the_cache_counts() -> None:
    usage = {
        "input_tokens": 30,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1200,
        "output_tokens": 3,
    }
    assert _counts(_invoke(usage)) == (30, 1200, 0, 1230)
    usage = {**usage, "cache_creation_input_tokens": 450, "cache_read_input_tokens": 0}
    assert _counts(_invoke(usage)) == (30, 0, 450, 480)


def test_a_stream_gives_them_from_either_place_and_counts_them_once() -> None:
    start = {"input_tokens": 30, "cache_read_input_tokens": 1200, "cache_creation_input_tokens": 80}
    metrics = {
        "inputTokenCount": 30,
        "outputTokenCount": 3,
        "invocationLatency": 900,
        "firstByteLatency": 200,
        "cacheReadInputTokenCount": 1200,
        "cacheWriteInputTokenCount": 80,
    }
    assert _counts(_stream(start, None)) == (30, 1200, 80, 1310)
    assert _counts(_stream(None, metrics)) == (30, 1200, 80, 1310)
    assert _counts(_stream(start, metrics)) == (30, 1200, 80, 1310)  # not 2400 / 160
    # a count one place lacks comes from the other
    no_write = {k: v for k, v in metrics.items() if k != "cacheWriteInputTokenCount"}
    assert _counts(_stream(start, no_write)) == (30, 1200, 80, 1310)
    # where they disagree, Bedrock's metrics are taken
    assert _counts(_stream({**start, "cache_read_input_tokens": 7}, metrics))[1] == 1200


def test_a_streams_closing_usage_gives_what_its_start_lacks() -> None:
    """Anthropic's ``message_delta`` usage holds cumulative counts (Anthropic's streaming
    docs), cache counts included: the last place a count is read from, once."""
    closing = {
        "output_tokens": 3,
        "cache_read_input_tokens": 1200,
        "cache_creation_input_tokens": 80,
    }
    assert _counts(_stream({"input_tokens": 30}, None, closing)) == (30, 1200, 80, 1310)
    start = {"input_tokens": 30, "cache_read_input_tokens": 1000}
    assert _counts(_stream(start, None, closing)) == (30, 1000, 80, 1110)  # the start first


def test_the_records_own_counts_win() -> None:
    rec = _invoke({"cache_read_input_tokens": 1200, "cache_creation_input_tokens": 450})
    rec["input"]["cacheReadInputTokenCount"] = 1000
    rec["input"]["cacheWriteInputTokenCount"] = 0
    assert _counts(rec) == (30, 1000, 0, 1030)
    del rec["input"]["cacheWriteInputTokenCount"]  # only the missing one from the body
    assert _counts(rec) == (30, 1000, 450, 1480)


def test_the_1h_split_applies_to_the_writes_the_body_gives() -> None:
    usage = {
        "cache_creation_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 700},
    }
    row = row_of(_invoke(usage))
    assert (row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (1000, 700)


def test_an_odd_count_in_the_body_is_quarantined_with_its_name() -> None:
    rec = _invoke({"cache_read_input_tokens": -5})
    fast, ref = both_rows(rec, parse_body.PromptCache(), parse_body.PromptCache())
    assert fast is None and ref is None
    with pytest.raises(BadRecord, match="^negative cache_read_input_tokens$"):
        parse.record_row(
            rec,
            app_key="app",
            identity_app_map=None,
            model_key=lambda m: m,
            cache=parse_body.PromptCache(),
        )
