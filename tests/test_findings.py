"""The findings and effects contract every strategy writes and the summary will read."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bedrock_finops import findings as fx


def _findings() -> fx.Findings:
    return fx.Findings(
        strategy="prompt_caching",
        title="t",
        period={
            "start": "2026-10-01T00:00:00+00:00",
            "end": "2026-10-30T23:00:00+00:00",
            "days": 30,
        },
        scope_usd=200.0,
        projected_usd=95.5,
        total_usd=500.0,
        actions=[
            fx.Action(id="a", scope={"app": "x"}, action="cache", savings_usd=4.5),
            fx.Action(id="b", scope={"app": "y"}, action="cache", savings_usd=100.0),
        ],
    )


def test_derived_figures_and_a_round_trip(tmp_path):
    f = _findings()
    assert f.savings_usd == pytest.approx(104.5)
    assert f.savings_monthly_usd == pytest.approx(104.5 * 30.4375 / 30)  # 106.02
    assert f.savings_pct_of_total == pytest.approx(20.9)
    assert [a.id for a in f.ranked_actions()] == ["b", "a"]
    path, _ = fx.write(f, None, tmp_path, "03_prompt_caching")
    back = fx.read(path)
    assert back == fx.Findings.from_dict(f.to_dict())
    assert back.savings_usd == pytest.approx(104.5)


def test_effects_are_typed_and_a_caching_row_keeps_its_1h_writes(tmp_path):
    effects = pd.DataFrame(
        {
            "request_id": ["r1", "r2"],
            "cached_read_tokens": [3000, 0],
            "cached_write_tokens": [0, 3000],
            "cached_write_1h_tokens": [0, 1000],
            "savings_usd": [0.0081, -0.00225],
        }
    )
    _, path = fx.write(_findings(), effects, tmp_path, "03_prompt_caching")
    back = fx.read_effects(path)
    assert list(back.columns) == fx.EFFECT_COLUMNS
    assert back["strategy"].tolist() == ["prompt_caching"] * 2
    assert back["cached_write_1h_tokens"].tolist() == [0, 1000]
    assert back["new_model"].isna().all() and back["avoided"].isna().all()  # not set: null
    assert str(back["cached_write_tokens"].dtype) == "int64[pyarrow]"


def test_an_effects_file_from_before_a_column_existed_reads_with_it_empty(tmp_path):
    old = pa.table({"request_id": ["r1"], "strategy": ["batch_inference"], "savings_usd": [0.5]})
    pq.write_table(old, tmp_path / "old.effects.parquet")
    back = fx.read_effects(tmp_path / "old.effects.parquet")
    assert list(back.columns) == fx.EFFECT_COLUMNS
    assert back["cached_write_1h_tokens"].isna().all()
    assert back["savings_usd"].tolist() == [0.5]


def test_effects_refuse_unknown_columns_and_need_request_ids():
    with pytest.raises(ValueError, match=r"unknown effect columns \['tokens_saved'\]; allowed"):
        fx.effects_frame(pd.DataFrame({"request_id": ["r"], "tokens_saved": [1]}), "x")
    with pytest.raises(ValueError, match="effects need a request_id column"):
        fx.effects_frame(pd.DataFrame({"savings_usd": [1.0]}), "x")


def test_1h_writes_are_a_part_of_the_writes():
    bad = pd.DataFrame(
        {"request_id": ["r1"], "cached_write_tokens": [100], "cached_write_1h_tokens": [300]}
    )
    with pytest.raises(ValueError, match="exceed cached_write_tokens .* for 1 requests, e.g. r1"):
        fx.effects_frame(bad, "prompt_caching")

    alone = pd.DataFrame({"request_id": ["r2"], "cached_write_1h_tokens": [300]})
    with pytest.raises(ValueError, match="for 1 requests, e.g. r2"):
        fx.effects_frame(alone, "prompt_caching")
