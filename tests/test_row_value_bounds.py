"""Values no Bedrock call logs: a negative latency or max_tokens, a temperature past 5.

Bedrock refuses such a request, so a record holding one was made or changed by hand. Its row
stays (its tokens were billed) with null in that column.
"""

from __future__ import annotations

import pandas as pd
import pytest
from record_rows import log_record, row_of

from bedrock_finops import models, parse
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
