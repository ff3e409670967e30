"""The findings and effects contract every strategy writes and the summary will read."""

from __future__ import annotations

import math

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


# ------------------------------------------------------------------ the period's days


def _stamps(*times: str) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": pd.to_datetime(list(times), utc=True)})


def test_a_window_from_noon_to_noon_is_its_own_length_not_the_calendar_days_it_touches():
    """48 hours of traffic from noon touch 3 UTC calendar days: divided by 3, every monthly
    figure read 2/3 of the traffic's. The window's length divides instead."""
    usage = _stamps("2026-10-02T12:04:53Z", "2026-10-03T06:00:00Z", "2026-10-04T11:53:19Z")
    period = fx.period_of(usage, "2026-10-02T12:00:00+00:00", "2026-10-04T12:00:00+00:00")
    assert (period["days"], period["calendar_days"], period["rule"]) == (2, 3, "window")
    assert (period["window_start"], period["window_end"], period["window_days"]) == (
        "2026-10-02T12:00:00+00:00", "2026-10-04T12:00:00+00:00", 2,
    )  # fmt: skip
    assert period["description"] == (
        "the window [2026-10-02 12:00 UTC, 2026-10-04 12:00 UTC), 2 days long, not the 3 UTC "
        "calendar days the records touch (2026-10-02 to 2026-10-04), which would count its "
        "part days whole"
    )
    # a window given in another time zone is the same 48 hours
    pacific = fx.period_of(
        _stamps("2026-10-02T07:03:58Z", "2026-10-04T06:59:52Z"),
        "2026-10-02T00:00-07:00",
        "2026-10-04T00:00-07:00",
    )
    assert (pacific["days"], pacific["calendar_days"], pacific["window_start"]) == (
        2, 3, "2026-10-02T07:00:00+00:00",
    )  # fmt: skip


def test_a_window_of_part_days_divides_by_its_fraction():
    period = fx.period_of(
        _stamps("2026-10-02T12:30Z", "2026-10-03T23:00Z"), "2026-10-02T12:00Z", "2026-10-04"
    )
    assert (period["days"], period["calendar_days"], period["rule"]) == (1.5, 2, "window")
    f = fx.Findings("s", "t", period, scope_usd=10.0, projected_usd=7.0, total_usd=10.0)
    assert f.savings_monthly_usd == pytest.approx(3.0 * 30.4375 / 1.5)  # 60.875
    assert fx.monthly_scaling(period).startswith("period savings x 30.4375 / 1.5 days: the window")


def test_records_short_of_the_window_divide_by_the_calendar_days_they_touch():
    """Logs that start 10 days into a 29.5-day window (retention, logging enabled late)
    touch 19 calendar days: the window's length would understate every per-day figure."""
    usage = _stamps("2026-10-12T00:10Z", "2026-10-30T23:59Z")
    period = fx.period_of(usage, "2026-10-01T12:00Z", "2026-10-31T00:00Z")
    assert (period["days"], period["window_days"], period["rule"]) == (19, 29.5, "calendar days")
    assert period["description"] == (
        "the 19 UTC calendar days the records touch (2026-10-12 to 2026-10-30), fewer than the "
        "window [2026-10-01 12:00 UTC, 2026-10-31 00:00 UTC), 29.5 days long, which the records "
        "do not cover"
    )


def test_a_midnight_window_and_no_window_keep_the_calendar_days():
    usage = _stamps("2026-10-01T00:30Z", "2026-10-30T23:10Z")
    aligned = fx.period_of(usage, "2026-10-01", "2026-10-31")
    assert (aligned["days"], aligned["rule"]) == (30, "calendar days")
    assert aligned["description"] == (
        "the 30 UTC calendar days the records touch (2026-10-01 to 2026-10-30), as many as the "
        "window [2026-10-01 00:00 UTC, 2026-10-31 00:00 UTC), 30 days long"
    )
    for start, end in ((None, None), ("2026-10-01T12:00Z", None), (None, "2026-10-31T12:00Z")):
        open_ended = fx.period_of(usage, start, end)
        assert (open_ended["days"], open_ended["rule"]) == (30, "calendar days")
        assert open_ended["description"] == (
            "the 30 UTC calendar days the records touch (2026-10-01 to 2026-10-30); the table "
            "was read without a window with both ends"
        )
    assert fx.period_of(usage.iloc[:0], "2026-10-01", "2026-10-31")["days"] == 0


def test_a_saving_has_no_percentage_of_a_run_with_no_priced_spend():
    """Nothing priced (only models the sheet lacks): a saving is no percentage of $0, which
    read 'savings, % of priced logged spend 0.00'; it is NaN ('unpriced'), null in JSON."""
    f = _findings()
    f.total_usd, f.scope_usd, f.projected_usd, f.actions = 0.0, 0.0, 0.0, []
    assert f.savings_usd == 0.0
    assert math.isnan(f.savings_pct_of_total)
    assert f.to_dict()["savings_pct_of_total"] is None


def test_priced_spend_is_unpriced_with_no_priced_request_and_zero_with_free_ones():
    """The priced requests' cost: NaN when none is priced (an unpriced cost is NaN), $0 when
    the priced ones cost nothing; a findings file keeps NaN as null and reads it back as NaN."""
    assert math.isnan(fx.priced_total(pd.Series([float("nan")] * 3)))
    assert fx.priced_total(pd.Series([0.0, float("nan")])) == 0.0
    f = _findings()
    f.total_usd = fx.priced_total(pd.Series([float("nan")]))
    back = fx.Findings.from_dict(f.to_dict())
    assert math.isnan(back.total_usd) and math.isnan(back.savings_pct_of_total)
