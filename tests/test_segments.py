"""Segments: (app, prompt template, model) labels for every usage row."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from usage_builders import make_usage

from bedrock_finops import task_types
from bedrock_finops.schema import total_input_tokens
from bedrock_finops.segments import (
    SEGMENT_KEYS,
    hit_output_limit,
    principals,
    row_segments,
    segment_id,
    segment_keys,
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


# ---- summarise: the same table as one aggregation per segment gave -------------------------


def _reference_summarise(usage: pd.DataFrame, costs: pd.Series | None = None) -> pd.DataFrame:
    """``summarise`` as it was written first, one Python function per segment and column: the
    table the vectorised one must give, to the last bit of every figure."""
    keys = segment_keys(usage)
    frame = pd.DataFrame(
        {
            **{k: keys[k] for k in SEGMENT_KEYS},
            "input_tokens": usage["input_tokens"].astype("int64"),
            "cache_read_tokens": usage["cache_read_tokens"].astype("int64"),
            "cache_write_tokens": usage["cache_write_tokens"].astype("int64"),
            "output_tokens": usage["output_tokens"].astype("int64"),
            "streaming": usage["streaming"].astype("boolean").fillna(False).astype(bool),
            "hit_max_tokens": hit_output_limit(usage["stop_reason"]),
            "hour": usage["timestamp"].dt.hour.astype("int64"),
            "weekday": usage["timestamp"].dt.day_of_week.astype("int64"),
            "output_shape": usage["output_shape"].astype("string").fillna("unknown"),
            "operation": usage["operation"].astype("string"),
            "identity_arn": principals(usage["identity_arn"]),
            "cost_usd": (costs.astype("float64") if costs is not None else np.nan),
        },
        index=usage.index,
    )
    grouped = frame.groupby(SEGMENT_KEYS, sort=False, dropna=False)
    out = grouped.agg(
        requests=("input_tokens", "size"),
        input_tokens=("input_tokens", "sum"),
        cache_read_tokens=("cache_read_tokens", "sum"),
        cache_write_tokens=("cache_write_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
        output_tokens_p50=("output_tokens", "median"),
        output_tokens_p95=("output_tokens", lambda s: float(np.percentile(s, 95))),
        streaming_share=("streaming", "mean"),
        max_tokens_stop_share=("hit_max_tokens", "mean"),
        cost_usd=("cost_usd", lambda s: float(s.sum(min_count=1)) if s.notna().any() else np.nan),
        unpriced_requests=("cost_usd", lambda s: int(s.isna().sum())),
        active_hours=("hour", lambda s: sorted(set(s.tolist()))),
        weekend_share=("weekday", lambda s: float((s >= 5).mean())),
        operation=("operation", lambda s: s.mode().iat[0] if len(s) else None),
        identity_arns=("identity_arn", lambda s: sorted(set(s.dropna().tolist()))),
    ).reset_index()
    shapes = pd.crosstab([frame[k] for k in SEGMENT_KEYS], frame["output_shape"], normalize="index")
    shapes.columns = [f"shape_{c}" for c in shapes.columns]
    out = out.merge(shapes.reset_index(), on=SEGMENT_KEYS, how="left")
    out["segment"] = [
        segment_id(a, t, m)
        for a, t, m in zip(out["app"], out["template"], out["model"], strict=True)
    ]
    out["input_tokens_mean"] = total_input_tokens(out) / out["requests"]
    out["output_tokens_mean"] = out["output_tokens"] / out["requests"]
    return out.sort_values("cost_usd", ascending=False, na_position="last").reset_index(drop=True)


def _assert_as_reference(usage: pd.DataFrame, costs: pd.Series | None = None) -> pd.DataFrame:
    """``summarise`` equals the reference exactly: columns, dtypes, values, order."""
    got = summarise(usage, costs)
    pd.testing.assert_frame_equal(got, _reference_summarise(usage, costs), check_exact=True)
    return got


@pytest.fixture(scope="module")
def sample_run():
    from bedrock_finops.notebook import default_sample_run, open_run

    return open_run(default_sample_run())


def test_the_samples_segments_are_the_references(sample_run) -> None:
    """The embedded sample (45,959 requests in 10 segments, some unpriced), priced and not."""
    usage, costs = sample_run.usage, sample_run.priced["cost_usd"]
    assert costs.isna().any() and costs.notna().any()
    seg = _assert_as_reference(usage, costs)
    assert len(seg) == 10 and seg["unpriced_requests"].sum() == costs.isna().sum()
    _assert_as_reference(usage)


ARN = "arn:aws:iam::111122223333:"
SESSION = "arn:aws:sts::111122223333:assumed-role/"


def _mixed_usage() -> pd.DataFrame:
    """Segments of one row and of many, null keys spelled out, null callers, a tie in the
    operation, streaming and output-limit stops, several output shapes."""
    model = "anthropic.claude-sonnet-4"
    return make_usage(
        [
            dict(app="solo", model=model, n=1, output_tokens=7),
            dict(app="tie", model=model, n=2, operation="InvokeModel", output_tokens=10),
            dict(app="tie", model=model, n=2, operation="Converse", identity_arn=None),
            dict(app="tie", model=model, n=1, operation="ConverseStream", streaming=True),
            dict(app=None, model=None, model_id_raw="mystery-v1", n=3, system_hash=None),
            dict(app=None, model=None, model_id_raw=None, n=2, identity_arn=None),
            dict(app="chat", model=model, n=4, output_shape="json", stop_reason="max_tokens"),
            dict(app="chat", model=model, n=3, identity_arn=f"{SESSION}support/jo@example.com"),
            dict(app="chat", model=model, n=2, identity_arn=f"{ARN}user/ci", output_tokens=90),
            dict(app="nocaller", model=model, n=3, identity_arn=None, output_shape=None),
        ]
    )


def _costs(usage: pd.DataFrame, values: list[float]) -> pd.Series:
    """Per-row costs cycling through ``values`` (NaN: unpriced)."""
    return pd.Series(np.resize(np.array(values, dtype="float64"), len(usage)), index=usage.index)


@pytest.mark.parametrize(
    "prices",
    [None, [np.nan], [0.25, np.nan, 1.5, 0.125], [0.3], [0.1, 0.2, np.nan, np.nan, 7e-5]],
    ids=["no costs", "all unpriced", "some unpriced", "all priced", "tiny and unpriced"],
)
def test_edge_cases_are_the_references(prices: list[float] | None) -> None:
    usage = _mixed_usage()
    _assert_as_reference(usage, None if prices is None else _costs(usage, prices))


def test_every_caller_null_is_the_reference() -> None:
    """No segment has a caller: the list column's type is Arrow's null list, as before."""
    usage = make_usage([dict(app=a, model="m", n=2, identity_arn=None) for a in ("a", "b")])
    _assert_as_reference(usage, _costs(usage, [0.5, np.nan]))


def test_an_empty_usage_table_is_the_reference() -> None:
    usage = _mixed_usage().iloc[:0]
    _assert_as_reference(usage)
    _assert_as_reference(usage, pd.Series([], dtype="float64"))


def test_many_segments_of_every_size_are_the_references() -> None:
    """200 segments of 1 to 300 rows (numpy sums more than 8 and more than 128 values in
    blocks), random tokens and costs, hours and days, segments of equal cost ($0) and of none
    (the sort by cost keeps its order for ties); a shuffled index, costs in another order."""
    rng = np.random.default_rng(7)
    sizes = np.concatenate([np.arange(1, 41), rng.integers(1, 300, 160)])
    groups = [
        dict(app=f"app-{i % 50}", system_hash=f"t{i % 3}", model=f"m{i % 4}", n=int(n))
        for i, n in enumerate(sizes)
    ]
    usage = make_usage(groups).sample(frac=1.0, random_state=3)
    rows = len(usage)
    usage["output_tokens"] = pd.array(
        rng.integers(0, 5000, rows), dtype=usage["output_tokens"].dtype
    )
    usage["timestamp"] = usage["timestamp"] + pd.to_timedelta(rng.integers(0, 24 * 14, rows), "h")
    usage["operation"] = pd.array(rng.choice(["Converse", "InvokeModel"], rows), dtype="string")
    usage["identity_arn"] = pd.array(
        rng.choice([f"{ARN}user/u{i}" for i in range(5)] + [None], rows), dtype="string"
    )
    usage = usage.set_index(pd.Index(rng.permutation(rows) + 1000))
    costs = pd.Series(rng.random(rows) * 1e-3, index=usage.index)
    costs[costs < 2e-4] = np.nan
    costs[usage["app"].isin(["app-1", "app-2", "app-3"]).to_numpy()] = 0.0
    costs[(usage["app"] == "app-4").to_numpy()] = np.nan
    _assert_as_reference(usage, costs.sample(frac=1.0, random_state=5))
    _assert_as_reference(usage)


def test_one_segments_evidence_by_hand() -> None:
    """Five requests of one segment, by hand: output tokens 10, 20, 30, 40, 100 have p95 at
    position 0.95 x 4 = 3.8, 40 + 0.8 x (100 - 40) = 88 (numpy's 87.99999999999999); hours 9,
    9, 14, 9, 23 are active hours 9, 14, 23; two of five fall on the weekend (Sat 3, Sun 4
    October 2026); Converse and InvokeModel are used twice each (the tie goes to the smaller,
    Converse); two sessions of the support role are one caller, the CI user another, a null
    caller none."""
    specs = [
        ("Converse", f"{SESSION}support/jo@example.com", 10, datetime(2026, 10, 1, 9)),
        ("InvokeModel", None, 20, datetime(2026, 10, 1, 9, 30)),
        ("InvokeModel", f"{SESSION}support/al@example.com", 30, datetime(2026, 10, 3, 14)),
        ("Converse", f"{ARN}user/ci", 40, datetime(2026, 10, 4, 9)),
        ("ConverseStream", f"{ARN}user/ci", 100, datetime(2026, 10, 5, 23)),
    ]
    usage = make_usage(
        [
            dict(app="a", model="m", n=1, operation=op, identity_arn=arn, output_tokens=out)
            for op, arn, out, _ in specs
        ]
    )
    usage["timestamp"] = pd.array(
        [ts.replace(tzinfo=UTC) for *_, ts in specs], dtype=usage["timestamp"].dtype
    )
    seg = summarise(usage, pd.Series([0.5, np.nan, 0.25, np.nan, 1.0], index=usage.index))
    row = seg.iloc[0]
    assert len(seg) == 1
    assert row["output_tokens_p95"] == np.percentile([10, 20, 30, 40, 100], 95) == pytest.approx(88)
    assert row["output_tokens_p50"] == 30.0
    assert row["active_hours"] == [9, 14, 23] and type(row["active_hours"][0]) is int
    assert row["weekend_share"] == 0.4
    assert row["operation"] == "Converse"
    assert list(row["identity_arns"]) == [
        f"{ARN}user/ci",
        "arn:aws:sts::111122223333:assumed-role/support",
    ]
    assert (row["cost_usd"], row["unpriced_requests"]) == (1.75, 2)


def test_a_segment_with_no_operation_logged_has_none() -> None:
    """A segment none of whose rows names an operation (a hand-made table: the ingest
    quarantines a record without one) reads NA; the others keep theirs. The mode of no
    values was an IndexError for the whole table."""
    usage = make_usage(
        [
            dict(app="a", model="m", n=2, operation=None),
            dict(app="b", model="m", n=3, operation="Converse"),
        ]
    )
    seg = summarise(usage).set_index("app")
    assert pd.isna(seg.at["a", "operation"]) and seg.at["b", "operation"] == "Converse"
    assert seg["operation"].dtype == "string"
