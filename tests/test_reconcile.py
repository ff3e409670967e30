"""Reconciliation of log-derived cost with the bill: planted gaps, hand-computed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from bedrock_finops.reconcile import reconcile
from bedrock_finops.sources.cur import billing_frame, read_cur

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
CUR = Path(__file__).parent / "fixtures" / "billing" / "cur2.parquet"


def _line(day, model, kind, tokens, cost, *, marketplace=False, line_type="Usage"):
    return {
        "date": day,
        "source": "cur",
        "service": "Claude Sonnet 4 (Amazon Bedrock Edition)" if marketplace else "Amazon Bedrock",
        "product_name": None,
        "usage_type": None,
        "region": "us-east-1",
        "model": model,
        "token_kind": kind,
        "mode": "on_demand",
        "quantity": tokens,
        "unit": "tokens" if kind != "other" else None,
        "cost_usd": cost,
        "line_type": line_type,
        "marketplace": marketplace,
    }


NOVA, SONNET, LLAMA, TITAN = (
    "amazon.nova-pro",
    "anthropic.claude-sonnet-4",
    "meta.llama3-1-8b-instruct",
    "amazon.titan-text-express",
)


@pytest.fixture
def planted():
    billing = billing_frame(
        pd.DataFrame(
            [
                # Day 1 Nova Pro: matches the logs exactly.
                _line(D1, NOVA, "input", 1_000_000, 0.80),
                _line(D1, NOVA, "output", 250_000, 0.80),
                # Day 2 Nova Pro: billed, no log rows at all.
                _line(D2, NOVA, "input", 500_000, 0.40),
                # Sonnet 4 via Marketplace: same tokens as logged, 10% below list price.
                _line(D1, SONNET, "input", 2_000_000, 5.40, marketplace=True),
                # Llama: 10% more tokens billed than logged, at list price.
                _line(D1, LLAMA, "input", 1_100_000, 0.242),
                # Tax is not usage.
                _line(D2, NOVA, "other", 0, 0.10, line_type="Tax"),
            ]
        )
    )
    logs = pd.DataFrame(
        {
            "date": [D1, D1, D1, D2],
            "model": [NOVA, SONNET, LLAMA, TITAN],
            "region": ["us-east-1"] * 4,
            "cost_usd": [1.60, 6.00, 0.22, 0.50],
            "requests": [100, 40, 30, 10],
            "tokens": [1_250_000, 2_000_000, 1_000_000, 400_000],
        }
    )
    return reconcile(logs, billing, tolerance_pct=2.0)


def _row(rec, day, model):
    rows = rec.rows[(rec.rows["date"] == day) & (rec.rows["model"] == model)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_matching_day_is_within_tolerance(planted):
    row = _row(planted, D1, NOVA)
    assert row["log_usd"] == pytest.approx(1.60) and row["billed_usd"] == pytest.approx(1.60)
    assert row["gap_usd"] == pytest.approx(0.0)
    assert row["explanation"] == "within tolerance"
    assert row["billed_rate_ratio"] == pytest.approx(1.0)


def test_billed_day_missing_in_logs_is_unlogged_traffic(planted):
    row = _row(planted, D2, NOVA)
    assert row["log_usd"] == 0 and row["requests"] == 0
    assert row["billed_usd"] == pytest.approx(0.40)
    assert row["gap_usd"] == pytest.approx(0.40) and row["gap_pct"] == pytest.approx(100.0)
    assert row["explanation"] == "unlogged traffic"


def test_ten_percent_discount_on_marketplace_model(planted):
    row = _row(planted, D1, SONNET)
    assert row["gap_usd"] == pytest.approx(-0.60)
    assert row["gap_pct"] == pytest.approx(-0.60 / 5.40 * 100)  # -11.11 %
    assert row["billed_rate_ratio"] == pytest.approx(0.9)
    assert row["explanation"] == "private pricing / discount; Marketplace billing"
    assert row["marketplace_usd"] == pytest.approx(5.40)


def test_more_billed_tokens_than_logged_is_unlogged_traffic(planted):
    row = _row(planted, D1, LLAMA)
    assert row["billed_tokens"] == 1_100_000 and row["log_tokens"] == 1_000_000
    assert row["gap_usd"] == pytest.approx(0.022)
    assert row["explanation"] == "unlogged traffic"


def test_logged_but_not_billed(planted):
    row = _row(planted, D2, TITAN)
    assert row["billed_usd"] == 0 and row["gap_pct"] == -100.0
    assert row["explanation"] == "not in bill"


def test_totals_and_summary(planted):
    t = planted.totals
    assert t["log_usd"] == pytest.approx(1.60 + 6.00 + 0.22 + 0.50)  # 8.32
    assert t["billed_usd"] == pytest.approx(1.60 + 0.40 + 5.40 + 0.242)  # 7.642
    assert t["gap_usd"] == pytest.approx(-0.678)
    assert t["unlogged_usd"] == pytest.approx(0.40 + 0.022)
    assert t["discount_usd"] == pytest.approx(-0.60)
    assert t["not_billed_usd"] == pytest.approx(-0.50)
    assert t["unexplained_usd"] == 0
    assert t["marketplace_usd"] == pytest.approx(5.40)
    assert t["excluded_usd"] == pytest.approx(0.10) and t["excluded_tax_usd"] == pytest.approx(0.10)
    assert t["days"] == 2
    assert len(planted.rows) == 5
    s = planted.summary
    assert "$8.32 against $7.64 billed" in s
    assert "unlogged traffic $0.42" in s and "discount $-0.60" in s
    assert "$5.40 is billed under Marketplace products" in s


def test_cost_gap_without_token_counts_is_unexplained():
    billing = billing_frame(pd.DataFrame([_line(D1, NOVA, "input", 1_000_000, 1.00)]))
    logs = pd.DataFrame(
        {
            "date": [D1],
            "model": [NOVA],
            "region": ["us-east-1"],
            "cost_usd": [0.80],
            "requests": [5],
        }
    )
    rec = reconcile(logs, billing)
    assert rec.rows["explanation"].tolist() == ["unexplained"]
    assert rec.totals["unexplained_usd"] == pytest.approx(0.20)


def test_reconcile_with_cur_fixture():
    billing = read_cur(CUR)
    logs = pd.DataFrame(
        {
            "date": pd.to_datetime(["2026-03-01T13:00:00Z", "2026-03-01T18:00:00Z"]),
            "model": [NOVA, "anthropic.claude-sonnet-4-5"],
            "region": ["us-east-1", "us-east-1"],
            "cost_usd": [1.60, 7.50],
            "requests": [12, 3],
            "input_tokens": [1_000_000, 2_000_000],
            "output_tokens": [250_000, 100_000],
            "cache_read_tokens": [0, 0],
            "cache_write_tokens": [0, 0],
        }
    )
    rec = reconcile(logs, billing)
    by_key = rec.rows.set_index(["date", "model"])["explanation"].to_dict()
    assert by_key == {
        (D1, NOVA): "within tolerance",
        (D1, "anthropic.claude-sonnet-4-5"): "within tolerance; Marketplace billing",
        (D2, NOVA): "unlogged traffic",
    }
    # Marketplace lines are in "Units": no token comparison is claimed for them.
    claude = rec.rows[rec.rows["model"] == "anthropic.claude-sonnet-4-5"].iloc[0]
    assert pd.isna(claude["billed_tokens"])
    assert rec.totals["unlogged_usd"] == pytest.approx(0.42)  # 0.40 input + 0.02 cache read
    assert rec.totals["excluded_tax_usd"] == pytest.approx(0.10)


def test_log_costs_missing_columns():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['requests'\]"):
        reconcile(pd.DataFrame({"date": [D1], "model": [NOVA], "cost_usd": [1.0]}), billing_frame())


def test_billing_command(tmp_path, capsys):
    import argparse

    from bedrock_finops import reconcile as rec_mod

    parser = argparse.ArgumentParser()
    rec_mod.register(parser.add_subparsers())
    out = tmp_path / "billing.csv"
    args = parser.parse_args(["billing", "--cur", str(CUR), "--out", str(out)])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "anthropic.claude-sonnet-4-5" in printed
    assert "7 Bedrock line(s); 1 line(s) of other services skipped" in printed
    assert len(pd.read_csv(out)) == 7
