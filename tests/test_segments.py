"""Segments: (app, prompt template, model) labels for every usage row."""

from __future__ import annotations

import pandas as pd
from usage_builders import make_usage

from bedrock_finops.schema import total_input_tokens
from bedrock_finops.segments import row_segments, segment_id, summarise


def test_row_labels_spell_out_missing_keys() -> None:
    """A row with no app, template or model (not even a raw ID) gets a label, not a crash;
    an unknown model is labelled by its raw ID."""
    usage = pd.DataFrame(
        {
            "app": pd.array(["chat", None, "chat"], dtype="string"),
            "system_hash": pd.array(["t1", None, "t1"], dtype="string"),
            "model": pd.array(["anthropic.claude-sonnet-4", None, None], dtype="string"),
            "model_id_raw": pd.array(["x", None, "mystery-v1"], dtype="string"),
        }
    )
    assert row_segments(usage).tolist() == [
        segment_id("chat", "t1", "anthropic.claude-sonnet-4"),
        segment_id("(unknown)", "none", "unknown"),
        segment_id("chat", "t1", "unknown:mystery-v1"),
    ]
    assert row_segments(usage).iat[0].startswith("chat:claude-sonnet-4:")


def test_every_familys_output_limit_stop_counts() -> None:
    """``max_tokens_stop_share`` counts each family's "hit the output limit" spelling: Titan's
    ``LENGTH`` (model-parameters-titan-text.html) and Cohere's ``MAX_TOKENS``
    (model-parameters-cohere-command-r-plus.html) as Converse's ``max_tokens`` and Llama's
    ``length``. Only the two lower-case ones counted."""
    stops = ["max_tokens", "length", "LENGTH", "MAX_TOKENS", "end_turn", "COMPLETE", "FINISH"]
    usage = make_usage([dict(app="a", model="m", n=1, stop_reason=s) for s in stops + [None]])
    seg = summarise(usage)
    assert len(seg) == 1
    assert seg["max_tokens_stop_share"].iat[0] == 0.5  # 4 of the 8 rows


def test_the_mean_input_counts_cache_reads_and_writes() -> None:
    """``input_tokens_mean`` is the mean total input: uncached input plus cache reads plus
    cache writes (AWS's inputTokenCount is the uncached part only)."""
    model = "anthropic.claude-sonnet-4"
    usage = make_usage(
        [
            dict(app="a", model=model, n=3, input_tokens=100, cache_read_tokens=1000),
            dict(app="a", model=model, n=1, input_tokens=50, cache_write_tokens=2000),
        ]
    )
    seg = summarise(usage)
    assert len(seg) == 1
    row = seg.iloc[0]
    assert (row["requests"], row["input_tokens"]) == (4, 350)  # 3 x 100 + 50
    assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (3000, 2000)
    # (3 x (100 + 1000) + (50 + 2000)) / 4 = (3300 + 2050) / 4
    assert row["input_tokens_mean"] == 1337.5


def test_total_input_is_the_three_counts_and_a_missing_one_is_zero() -> None:
    frame = pd.DataFrame(
        {
            "input_tokens": [100.0, None, 7.0],
            "cache_read_tokens": [None, 5.0, 0.0],
            "cache_write_tokens": [1.0, 2.0, 30.0],
        }
    )
    assert total_input_tokens(frame).tolist() == [101.0, 7.0, 37.0]
