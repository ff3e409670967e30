"""Segments: (app, prompt template, model) labels for every usage row."""

from __future__ import annotations

import pandas as pd
from usage_builders import make_usage

from bedrock_finops import task_types
from bedrock_finops.schema import total_input_tokens
from bedrock_finops.segments import (
    row_segments,
    segment_id,
    summarise,
    unknown_names,
    unknown_names_error,
)
from bedrock_finops.strategies import batch_params


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


def _one_segment_per_app(apps: int) -> pd.DataFrame:
    """A run's segments table reduced to what a name check reads: ``apps`` apps named
    app-00000, app-00001, ..., one segment each."""
    names = [f"app-{i:05d}" for i in range(apps)]
    return pd.DataFrame(
        {"app": names, "segment": [f"{a}:claude-opus-4:{i:08x}" for i, a in enumerate(names)]}
    )


def test_a_name_no_app_has_among_a_thousand_is_one_short_line() -> None:
    """A 1,000-app run: the error listed every app and segment id (49 KB); now the name, the
    three closest (ties in name order: 'app-0001' is one digit short of each) and counts."""
    error = unknown_names_error("force_in", ["app-0001"], _one_segment_per_app(1000), "the table")
    assert error == (
        "force_in names ['app-0001'], which is neither an app nor a segment id in this run; "
        "did you mean 'app-00001', 'app-00010' or 'app-00011' for 'app-0001'? The run has "
        "1,000 apps and 1,000 segments, listed in the table"
    )


def test_many_unknown_names_are_named_five_at_most() -> None:
    """Seven names, none near an app of the run: five named, two counted, no guess."""
    error = unknown_names_error("force_out", list("abcdefg"), _one_segment_per_app(20), "T")
    assert error == (
        "force_out names ['a', 'b', 'c', 'd', 'e'] and 2 more, which are neither apps nor "
        "segment ids in this run. The run has 20 apps and 20 segments, listed in T"
    )


def test_every_segment_id_named_passes_and_one_unknown_name_is_found() -> None:
    """force_out and task_overrides naming all 2,000 segment ids of a run (a params file
    listing them all) pass, and the one name the run lacks is the one found. How the cost grows
    with the names (once a scan of every app and id per name) is measured by
    benchmarks/name_checks.py, not here."""
    segments = _one_segment_per_app(2_000)
    every_id = segments["segment"].tolist()
    assert unknown_names([*every_id, "nobody"], segments) == ["nobody"]
    batch_params.validate_params({"force_out": every_id}, segments)
    task_types.check_overrides(dict.fromkeys(every_id, "classification"), segments)
