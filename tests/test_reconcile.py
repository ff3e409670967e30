"""Reconciliation of log-derived cost with the bill: planted gaps, hand-computed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from bedrock_finops.reconcile import reconcile
from bedrock_finops.sources.cur import billing_frame, read_cur, read_focus

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
OCT1 = dt.date(2026, 10, 1)  # the day tests/usage_builders.make_usage logs on
CUR = Path(__file__).parent / "fixtures" / "billing" / "cur2.parquet"
FOCUS = CUR.with_name("focus.csv")
HAIKU = "anthropic.claude-haiku-4-5"


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
    assert row["gap_usd"] == pytest.approx(0.40)
    assert row["gap_pct_of_billed"] == pytest.approx(100.0)  # all of the bill is unexplained
    assert pd.isna(row["gap_pct_of_logged"])  # nothing logged: no base
    assert row["explanation"] == "unlogged traffic"


def test_ten_percent_discount_on_marketplace_model(planted):
    row = _row(planted, D1, SONNET)
    assert row["gap_usd"] == pytest.approx(-0.60)
    # the discount off list is billed / logged - 1 = 5.40 / 6.00 - 1 = -10%, not the -11.11%
    # the same gap is of the bill
    assert row["gap_pct_of_logged"] == pytest.approx(-10.0)
    assert row["gap_pct_of_billed"] == pytest.approx(-0.60 / 5.40 * 100)
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
    assert row["billed_usd"] == 0 and row["gap_pct_of_billed"] == -100.0
    assert row["gap_pct_of_logged"] == -100.0
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
    # tax is on its own line, once, and only the invoice-style total includes it
    assert t["tax_usd"] == pytest.approx(0.10) and t["other_excluded_usd"] == 0
    assert t["billed_incl_tax_usd"] == pytest.approx(7.642 + 0.10)
    assert not any(k.startswith("excluded") for k in t)
    assert t["days"] == 2
    assert len(planted.rows) == 5
    s = planted.summary
    assert "$8.32 against $7.64 of billed Bedrock usage (excl. tax)" in s
    assert "unlogged traffic $0.42" in s and "discount -$0.60" in s
    assert "$5.40 of it is billed under Marketplace products" in s
    assert "tax $0.10" in s and "(all Bedrock line items: $7.74)" in s
    assert "discount -$0.60 (billed / logged - 1 = -10.0% on those rows)" in s
    assert "within tolerance (|gap| <= 2% of billed, or < $0.005) $0.00" in s
    assert t["discount_pct_of_logged"] == pytest.approx(-10.0) and t["tolerance_pct"] == 2.0
    assert t["gap_pct_of_billed"] == pytest.approx(-0.678 / 7.642 * 100)
    assert t["gap_pct_of_logged"] == pytest.approx(-0.678 / 8.32 * 100)


def test_tolerance_is_a_share_of_the_billed_cost():
    """Sonnet's gap is 11.1% of its bill: outside a 2% tolerance, inside a 12% one."""
    billing = billing_frame(
        pd.DataFrame([_line(D1, SONNET, "input", 2_000_000, 5.40, marketplace=True)])
    )
    logs = pd.DataFrame(
        {"date": [D1], "model": [SONNET], "region": ["us-east-1"], "cost_usd": [6.00],
         "requests": [40], "tokens": [2_000_000]}
    )  # fmt: skip
    assert (
        reconcile(logs, billing, tolerance_pct=11.0)
        .rows["explanation"]
        .iat[0]
        .startswith("private pricing")
    )
    wide = reconcile(logs, billing, tolerance_pct=12.0)
    assert wide.rows["explanation"].iat[0].startswith("within tolerance")
    assert wide.totals["within_tolerance_usd"] == pytest.approx(-0.60)
    assert "(|gap| <= 12% of billed, or < $0.005) -$0.60" in wide.summary


def _nova_day(billed_tokens: int, billed_usd: float, logged_usd: float = 0.80):
    """One day of Nova Pro: 1M tokens logged at ``logged_usd`` against one billed line."""
    billing = billing_frame(pd.DataFrame([_line(D1, NOVA, "input", billed_tokens, billed_usd)]))
    logs = pd.DataFrame(
        {"date": [D1], "model": [NOVA], "cost_usd": [logged_usd], "requests": [10],
         "tokens": [1_000_000]}
    )  # fmt: skip
    return reconcile(logs, billing, tolerance_pct=2.0)


def test_billed_tokens_beyond_the_tolerance_are_unlogged_traffic():
    """$0.824 billed against $0.80 logged: a $0.024 gap, 0.024 / 0.824 = 2.9% of the bill,
    outside a 2% tolerance. With 1,030,000 tokens billed for the 1,000,000 logged (3% more)
    the bill holds traffic the logs lack: unlogged traffic $0.024. With 1,020,000 (2% more,
    within the tolerance) the same tokens were billed at a higher rate: above log price."""
    rec = _nova_day(1_030_000, 0.824)
    assert rec.rows["explanation"].tolist() == ["unlogged traffic"]
    assert rec.totals["unlogged_usd"] == pytest.approx(0.024)
    assert rec.totals["above_log_price_usd"] == 0
    rec = _nova_day(1_020_000, 0.824)
    assert rec.rows["explanation"].tolist() == ["billed above log price"]
    assert rec.totals["above_log_price_usd"] == pytest.approx(0.024)
    assert rec.totals["unlogged_usd"] == 0


def test_a_gap_of_exactly_the_tolerance_is_within_it():
    """$50.00 billed against $49.00 logged for the same tokens: a $1.00 gap, 1 / 50 = exactly
    2% of the bill, within a 2% tolerance; $48.99 logged ($1.01, 2.02%) is not."""
    rec = _nova_day(1_000_000, 50.00, logged_usd=49.00)
    assert rec.rows["gap_pct_of_billed"].tolist() == [2.0]
    assert rec.rows["explanation"].tolist() == ["within tolerance"]
    assert rec.totals["within_tolerance_usd"] == pytest.approx(1.00)
    rec = _nova_day(1_000_000, 50.00, logged_usd=48.99)
    assert rec.rows["explanation"].tolist() == ["billed above log price"]
    assert rec.totals["above_log_price_usd"] == pytest.approx(1.01)


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


def test_billed_tokens_of_no_known_kind_are_unknown_not_zero(tmp_path):
    """A FOCUS export without AWS's usage-type column: its Claude Haiku 4.5 line (Marketplace,
    the model named by the product) bills 200,000 tokens for $1.00, of no known kind (input,
    output or cache). Those tokens are unknown (NaN), not 0 billed tokens, which read as
    200,000 "logged tokens not billed"; the $0.25 below the logged $1.25 is unexplained."""
    path = tmp_path / "focus.csv"
    pd.read_csv(FOCUS).drop(columns=["x_UsageType"]).to_csv(path, index=False)
    billing = read_focus(path)
    haiku = billing[billing["model"] == HAIKU]
    assert haiku["token_kind"].isna().all() and haiku["unit"].tolist() == ["tokens"]
    logs = pd.DataFrame(
        {"date": [D1], "model": [HAIKU], "cost_usd": [1.25], "requests": [5], "tokens": [2e5]}
    )
    row = _row(reconcile(logs, billing), D1, HAIKU)
    assert row["billed_usd"] == pytest.approx(1.00)
    assert pd.isna(row["billed_tokens"]) and pd.isna(row["billed_rate_ratio"])
    assert row["explanation"] == "unexplained; Marketplace billing"


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
    # Marketplace "Units" are 1M tokens: 2.0 input + 0.1 output units = 2,100,000 tokens,
    # the logged 2,000,000 + 100,000; $7.50 for both, so the rates agree.
    claude = rec.rows[rec.rows["model"] == "anthropic.claude-sonnet-4-5"].iloc[0]
    assert claude["billed_tokens"] == 2_100_000 and claude["log_tokens"] == 2_100_000
    assert claude["billed_rate_ratio"] == pytest.approx(1.0)
    assert rec.totals["unlogged_usd"] == pytest.approx(0.42)  # 0.40 input + 0.02 cache read
    assert rec.totals["tax_usd"] == pytest.approx(0.10)
    assert rec.totals["billed_usd"] == pytest.approx(9.52)  # the fixture's 9.62 less its tax


def test_log_costs_missing_columns():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['requests'\]"):
        reconcile(pd.DataFrame({"date": [D1], "model": [NOVA], "cost_usd": [1.0]}), billing_frame())


@pytest.fixture
def under_billed_and_unmapped():
    """One day with a row of each of the causes ``planted`` lacks. Nova Pro: 2M tokens logged
    ($1.60), 1M billed ($0.80), "logged tokens not billed" -$0.80. Titan: logged ($0.50), not
    billed, -$0.50. Llama: billed $0.30 in tokens of no known kind against $0.20 logged, no
    token count to tell why, "unexplained" $0.10. A $3.00 line of no known model: "unmapped
    billing line" $3.00. Logged 1.60 + 0.50 + 0.20 = $2.30, billed 0.80 + 0.30 + 3.00 =
    $4.10: a gap of $1.80."""
    billing = billing_frame(
        pd.DataFrame(
            [
                _line(D1, NOVA, "input", 1_000_000, 0.80),
                _line(D1, LLAMA, None, 900_000, 0.30),
                _line(D1, None, "input", 500_000, 3.00),
            ]
        )
    )
    logs = pd.DataFrame(
        {"date": [D1] * 3, "model": [NOVA, TITAN, LLAMA], "cost_usd": [1.60, 0.50, 0.20],
         "requests": [10, 5, 3], "tokens": [2_000_000, 400_000, 900_000]}
    )  # fmt: skip
    return reconcile(logs, billing)


CAUSES = (
    "unlogged_usd",
    "unpriced_usd",
    "discount_usd",
    "above_log_price_usd",
    "not_billed_usd",
    "unexplained_usd",
    "within_tolerance_usd",
)


def test_causes_add_up_to_the_gap(planted, under_billed_and_unmapped):
    t = planted.totals
    assert sum(t[c] for c in CAUSES) == pytest.approx(t["gap_usd"])  # -0.678
    assert t["unpriced_usd"] == 0 and t["unpriced_requests"] == 0
    rec = under_billed_and_unmapped
    assert rec.rows.set_index("model")["explanation"].to_dict() == {
        NOVA: "logged tokens not billed",
        TITAN: "not in bill",
        LLAMA: "unexplained",
        "unmapped": "unmapped billing line",
    }
    t = rec.totals
    assert t["gap_usd"] == pytest.approx(1.80)  # 4.10 billed - 2.30 logged
    assert t["not_billed_usd"] == pytest.approx(-1.30)  # -0.80 Nova Pro + -0.50 Titan
    assert t["unexplained_usd"] == pytest.approx(3.10)  # 0.10 Llama + 3.00 unmapped
    assert sum(t[c] for c in CAUSES if c not in ("not_billed_usd", "unexplained_usd")) == 0
    assert sum(t[c] for c in CAUSES) == pytest.approx(1.80)
    assert "logged but not billed -$1.30, unexplained $3.10" in rec.summary


# --- logged but unpriced traffic ------------------------------------------------------------


def _sonnet_two_regions():
    """10 Sonnet 4 calls in us-east-1 (priced by hand: 1M input x $3/M + 100K output x $15/M
    = $4.50) and 10 in ap-northeast-1 that the sheet cannot price (cost NaN)."""
    from usage_builders import in_and_out_of_the_sheet

    from bedrock_finops import baseline

    usage = in_and_out_of_the_sheet(SONNET, 10)
    priced = usage["region"] == "us-east-1"
    per_row = {"input_usd": 0.30, "cache_read_usd": 0.0, "cache_write_usd": 0.0}
    costs = pd.DataFrame(
        {
            **{k: pd.Series(v, index=usage.index).where(priced) for k, v in per_row.items()},
            "output_usd": pd.Series(0.15, index=usage.index).where(priced),
            "cost_usd": pd.Series(0.45, index=usage.index).where(priced),
            "priced": priced,
        }
    )
    return baseline.log_costs(baseline.costed(usage, costs))


def _sonnet_bill(input_tokens_per_region: float, regions=("us-east-1", "ap-northeast-1")):
    lines = []
    for region in regions:
        # list price: input $3 / 1M tokens, output $15 / 1M tokens
        cost = input_tokens_per_region * 3e-6
        lines.append(_line(OCT1, SONNET, "input", input_tokens_per_region, cost, marketplace=True))
        lines.append(_line(OCT1, SONNET, "output", 100_000, 1.50, marketplace=True))
        lines[-2]["region"] = lines[-1]["region"] = region
    return billing_frame(pd.DataFrame(lines))


def test_log_costs_keeps_unpriced_rows_apart():
    lc = _sonnet_two_regions().set_index("region")
    assert lc.loc["us-east-1", "cost_usd"] == pytest.approx(4.50)
    assert lc.loc["us-east-1", "unpriced_requests"] == 0
    assert pd.isna(lc.loc["ap-northeast-1", "cost_usd"])  # unknown, not $0
    assert lc.loc["ap-northeast-1", "requests"] == 10
    assert lc.loc["ap-northeast-1", "unpriced_requests"] == 10
    assert lc.loc["ap-northeast-1", "unpriced_tokens"] == 1_100_000
    assert lc.loc["ap-northeast-1", "input_tokens"] == 1_000_000


def test_logged_unpriced_traffic_is_not_called_unlogged():
    # both regions billed at list: $3.00 + $1.50 each, 1.1M tokens each
    rec = reconcile(_sonnet_two_regions(), _sonnet_bill(1_000_000))
    row = _row(rec, OCT1, SONNET)
    assert row["log_usd"] == pytest.approx(4.50) and row["billed_usd"] == pytest.approx(9.00)
    assert row["gap_usd"] == pytest.approx(4.50)
    assert row["requests"] == 20 and row["unpriced_requests"] == 10
    assert row["log_tokens"] == 2_200_000 and row["billed_tokens"] == 2_200_000
    assert row["unpriced_tokens"] == 1_100_000
    # $9.00 / 2.2M billed vs $4.50 / 1.1M priced logged tokens
    assert row["billed_rate_ratio"] == pytest.approx(1.0)
    assert row["explanation"] == "logged but unpriced; Marketplace billing"
    t = rec.totals
    assert t["unpriced_usd"] == pytest.approx(4.50) and t["unlogged_usd"] == 0
    assert t["unpriced_requests"] == 10
    assert "10 logged request(s) have no price" in rec.summary
    assert "unlogged traffic $0.00, logged but unpriced $4.50" in rec.summary


def test_unpriced_and_unlogged_traffic_on_one_row():
    # 1.5M input tokens billed per region: 3.2M billed vs 2.2M logged (+45 %)
    rec = reconcile(_sonnet_two_regions(), _sonnet_bill(1_500_000))
    row = _row(rec, OCT1, SONNET)
    assert row["billed_usd"] == pytest.approx(2 * (4.50 + 1.50))  # 12.00
    assert row["gap_usd"] == pytest.approx(7.50)
    assert row["explanation"] == "logged but unpriced; unlogged traffic; Marketplace billing"
    assert rec.totals["unpriced_usd"] == pytest.approx(7.50)


def test_unpriced_model_with_nothing_billed():
    logs = pd.DataFrame(
        {
            "date": [D1, D1],
            "model": [NOVA, "(unknown) ai21.jamba-1-5-large-v1:0"],
            "cost_usd": [1.60, float("nan")],
            "requests": [100, 7],
            "tokens": [1_250_000, 70_000],
        }
    )
    billing = billing_frame(
        pd.DataFrame(
            [_line(D1, NOVA, "input", 1_000_000, 0.80), _line(D1, NOVA, "output", 250_000, 0.80)]
        )
    )
    rec = reconcile(logs, billing)
    row = _row(rec, D1, "(unknown) ai21.jamba-1-5-large-v1:0")
    # no unpriced_requests column: a NaN cost marks the row unpriced
    assert row["unpriced_requests"] == 7 and row["unpriced_tokens"] == 70_000
    assert row["log_usd"] == 0 and row["billed_usd"] == 0 and row["gap_usd"] == 0
    assert row["explanation"] == "not in bill; logged but unpriced"
    assert _row(rec, D1, NOVA)["explanation"] == "within tolerance"
    assert rec.totals["unpriced_requests"] == 7 and rec.totals["log_usd"] == pytest.approx(1.60)


def test_higher_billed_rate_is_not_a_discount():
    # same 1M tokens, billed $120.00 against $0.80 logged: 150 x the logged rate
    billing = billing_frame(pd.DataFrame([_line(D1, NOVA, "input", 1_000_000, 120.0)]))
    logs = pd.DataFrame(
        {"date": [D1], "model": [NOVA], "cost_usd": [0.80], "requests": [10], "tokens": [1e6]}
    )
    rec = reconcile(logs, billing)
    row = _row(rec, D1, NOVA)
    assert row["billed_rate_ratio"] == pytest.approx(150.0)
    assert row["explanation"] == "billed above log price"
    assert rec.totals["above_log_price_usd"] == pytest.approx(119.20)
    assert rec.totals["discount_usd"] == 0
    assert "billed above log price $119.20" in rec.summary


def test_a_bill_without_discounts_says_so_not_unpriced():
    """No discounted rows: the discount line reads so; as NaN it printed "unpriced"."""
    from bedrock_finops.notebook import format_value
    from bedrock_finops.reconcile import key_figures

    billing = billing_frame(pd.DataFrame([_line(D1, NOVA, "input", 1_000_000, 0.80)]))
    logs = pd.DataFrame(
        {"date": [D1], "model": [NOVA], "region": ["us-east-1"], "cost_usd": [0.80],
         "requests": [10], "tokens": [1_000_000]}
    )  # fmt: skip
    figures = key_figures(reconcile(logs, billing))
    line = figures["  private pricing / discount, billed / logged - 1, %"]
    assert format_value(line) == "no discounted rows"
    assert figures["  private pricing / discount, USD"] == 0.0


def test_nothing_billed_reads_minus_100_pct_in_totals_as_on_rows():
    """Logs price to $19.20 + $4.80 = $24.00 on two days and the bill has no Bedrock usage:
    gap = 0 - 24.00 = -$24.00, each row's gap / billed reads -100 (nothing billed), and so must
    the total's, not 0.0% (a gap of nothing)."""
    logs = pd.DataFrame(
        {"date": [D1, D2], "model": [NOVA, NOVA], "cost_usd": [19.20, 4.80],
         "requests": [24, 6], "tokens": [24_000_000, 6_000_000]}
    )  # fmt: skip
    rec = reconcile(logs, billing_frame())
    assert rec.rows["gap_pct_of_billed"].tolist() == [-100.0, -100.0]
    assert rec.totals["gap_usd"] == pytest.approx(-24.00)
    assert rec.totals["gap_pct_of_billed"] == -100.0
    assert "gap -$24.00 (-100.0% of billed usage: nothing billed)" in rec.summary


def test_cur2_discount_column_reads_as_private_pricing(tmp_path):
    """The default CUR 2.0 export bills a 15% private rate on the usage line: unblended $8.00
    (10M Nova Pro input tokens at list $0.80 / 1M), discount total -$1.20, net $6.80. Against
    $8.00 logged at list on the same 10M tokens: gap 6.80 - 8.00 = -$1.20, billed / logged - 1
    = -15%, a discount, not "within tolerance" at $8.00 billed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts = pa.timestamp("ms", tz="UTC")
    day = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    path = tmp_path / "cur2.parquet"
    pq.write_table(
        pa.table(
            {
                "line_item_usage_start_date": pa.array([day], ts),
                "line_item_product_code": ["AmazonBedrock"],
                "line_item_usage_type": ["USE1-NovaPro-input-tokens"],
                "line_item_line_item_type": ["Usage"],
                "line_item_usage_amount": [10_000.0],
                "line_item_unblended_cost": [8.00],
                "line_item_net_unblended_cost": [6.80],
                "discount": pa.array(
                    [[("total_discount", -1.20)]], pa.map_(pa.string(), pa.float64())
                ),
                "pricing_unit": ["1K tokens"],
                "product": pa.array(
                    [[("product_name", "Amazon Bedrock")]], pa.map_(pa.string(), pa.string())
                ),
                "product_region_code": ["us-east-1"],
            }
        ),
        path,
    )
    logs = pd.DataFrame(
        {"date": [OCT1], "model": [NOVA], "cost_usd": [8.00], "requests": [100],
         "tokens": [10_000_000]}
    )  # fmt: skip
    rec = reconcile(logs, read_cur(path))
    row = _row(rec, OCT1, NOVA)
    assert row["billed_usd"] == pytest.approx(6.80) and row["gap_usd"] == pytest.approx(-1.20)
    assert row["gap_pct_of_logged"] == pytest.approx(-15.0)
    assert row["discount_usd"] == pytest.approx(-1.20)
    assert row["explanation"] == "private pricing / discount"
    assert rec.totals["discount_usd"] == pytest.approx(-1.20)


# --- a bill at its own granularity: lines longer than a day ---------------------------------


def _monthly_bill(input_kilotokens: float, cost: float) -> pd.DataFrame:
    """One Nova Pro input line of a MONTHLY CUR 2.0 export: October, 2026-10-01 to 11-01."""
    line = _line(OCT1, NOVA, "input", input_kilotokens * 1_000, cost)
    return billing_frame(pd.DataFrame([{**line, "end_date": dt.date(2026, 11, 1)}]))


def _daily_nova_logs(days: int) -> pd.DataFrame:
    """One 1,000,000-token Nova Pro input request a day from 2026-10-01: $0.80 at list."""
    return pd.DataFrame(
        {
            "date": [OCT1 + dt.timedelta(days=k) for k in range(days)],
            "model": [NOVA] * days,
            "cost_usd": [0.80] * days,
            "requests": [1] * days,
            "tokens": [1_000_000] * days,
        }
    )


def test_monthly_line_is_compared_with_the_logs_of_its_month():
    """30 logged days at $0.80 = $24.00 and 30M tokens against one monthly line of 30,000 x 1K
    tokens, $24.00: one row for October that agrees, not day 1 "unlogged" +$23.20 and 29 days
    "not in bill" -$0.80 each."""
    rec = reconcile(_daily_nova_logs(30), _monthly_bill(30_000, 24.00))
    assert len(rec.rows) == 1
    row = rec.rows.iloc[0]
    assert (row["date"], row["end_date"]) == (OCT1, dt.date(2026, 11, 1))
    assert row["log_usd"] == pytest.approx(24.00) and row["billed_usd"] == pytest.approx(24.00)
    assert row["log_tokens"] == 30_000_000 and row["billed_tokens"] == 30_000_000
    assert row["requests"] == 30 and row["explanation"] == "within tolerance"
    t = rec.totals
    assert t["unlogged_usd"] == 0 and t["not_billed_usd"] == 0 and t["gap_usd"] == 0
    assert t["days"] == 31  # the row compares every day of October


def test_monthly_line_above_its_logs_is_unlogged_traffic():
    """20 logged days (20M tokens, $16.00) against a month billed 30M tokens, $24.00: gap
    $8.00, 50% more tokens billed than logged, so unlogged traffic."""
    rec = reconcile(_daily_nova_logs(20), _monthly_bill(30_000, 24.00))
    row = rec.rows.iloc[0]
    assert len(rec.rows) == 1 and row["gap_usd"] == pytest.approx(8.00)
    assert row["explanation"] == "unlogged traffic"
    assert rec.totals["unlogged_usd"] == pytest.approx(8.00)


def test_daily_lines_inside_a_monthly_line_join_its_period():
    """A mixed bill: Nova Pro's monthly line ($24.00, 30M tokens) and a daily Nova Pro output
    line on 10-05 ($0.80 of 250K tokens) fall in one October row ($24.80, 30.25M tokens); Llama
    keeps its daily row."""
    monthly = _monthly_bill(30_000, 24.00)
    daily = billing_frame(
        pd.DataFrame(
            [
                _line(dt.date(2026, 10, 5), NOVA, "output", 250_000, 0.80),
                _line(dt.date(2026, 10, 5), LLAMA, "input", 1_000_000, 0.22),
            ]
        )
    )
    logs = pd.concat(
        [
            _daily_nova_logs(30),
            pd.DataFrame(
                {
                    "date": [dt.date(2026, 10, 5)] * 2,
                    "model": [NOVA, LLAMA],
                    "cost_usd": [0.80, 0.22],
                    "requests": [1, 1],
                    "tokens": [250_000, 1_000_000],
                }
            ),  # fmt: skip
        ]
    )
    rec = reconcile(logs, pd.concat([monthly, daily], ignore_index=True))
    rows = rec.rows.set_index("model")
    assert (rows.loc[NOVA, "date"], rows.loc[NOVA, "end_date"]) == (OCT1, dt.date(2026, 11, 1))
    assert rows.loc[NOVA, "billed_usd"] == pytest.approx(24.80)
    assert rows.loc[NOVA, "log_usd"] == pytest.approx(24.80)
    assert rows.loc[NOVA, "billed_tokens"] == 30_250_000
    assert rows.loc[LLAMA, "date"] == dt.date(2026, 10, 5)
    assert rows.loc[LLAMA, "end_date"] == dt.date(2026, 10, 6)
    assert set(rec.rows["explanation"]) == {"within tolerance"}


# --- the run's window: the bill is compared over the days the logs were read for ---------------

OCT10, OCT17 = dt.date(2026, 10, 10), dt.date(2026, 10, 17)


def _october_daily_bill() -> pd.DataFrame:
    """A daily CUR export of the whole of October: Nova Pro, 1M input tokens, $0.80 a day."""
    days = [OCT1 + dt.timedelta(days=k) for k in range(31)]
    return billing_frame(pd.DataFrame([_line(d, NOVA, "input", 1_000_000, 0.80) for d in days]))


def _week_of_logs() -> pd.DataFrame:
    """The run's window 2026-10-10 to 10-16: 1M Nova Pro input tokens a day, $0.80."""
    days = [OCT10 + dt.timedelta(days=k) for k in range(7)]
    return pd.DataFrame(
        {"date": days, "model": [NOVA] * 7, "cost_usd": [0.80] * 7, "requests": [1] * 7,
         "tokens": [1_000_000] * 7}
    )  # fmt: skip


def test_bill_days_outside_the_window_are_left_out_not_unlogged():
    """7 logged days ($5.60) in a window of 10-10 to 10-17 against a month of bill ($24.80):
    the 7 days in the window agree (gap $0.00); the other 24 days, 24 x $0.80 = $19.20, are
    outside the window, reported as left out instead of "unlogged traffic" $19.20."""
    rec = reconcile(_week_of_logs(), _october_daily_bill(), window=(OCT10, OCT17))
    assert len(rec.rows) == 7 and set(rec.rows["explanation"]) == {"within tolerance"}
    t = rec.totals
    assert t["billed_usd"] == pytest.approx(5.60) and t["gap_usd"] == 0
    assert t["unlogged_usd"] == 0 and t["days"] == 7
    assert t["outside_window_usd"] == pytest.approx(19.20)
    assert t["outside_window_incl_tax_usd"] == pytest.approx(19.20)
    assert t["outside_window_lines"] == 24
    assert t["outside_window_log_usd"] == 0 and t["outside_window_requests"] == 0
    assert (
        "Left out, outside the compared window 2026-10-10 to 2026-10-16 (or on a billed line "
        "reaching beyond it, which cannot be split): 24 Bedrock line item(s) with $19.20 of "
        "billed usage" in rec.summary
    )
    from bedrock_finops.reconcile import key_figures

    figures = key_figures(rec)
    assert figures["compared window (UTC days)"] == "2026-10-10 to 2026-10-16"
    assert figures["billed usage outside the window (not compared), USD"] == pytest.approx(19.20)
    # without a window every billed day is compared: the 24 read as unlogged traffic
    assert reconcile(_week_of_logs(), _october_daily_bill()).totals["unlogged_usd"] == (
        pytest.approx(19.20)
    )


def test_tax_on_a_day_outside_the_window_is_not_billed_usage_left_out():
    """The October bill with a $1.50 tax line on 10-01, outside the window 10-10 to 10-17:
    billed usage left out is still the 24 days' 24 x $0.80 = $19.20; with the tax, every line
    left out is 19.20 + 1.50 = $20.70, over 25 line items."""
    tax = billing_frame(pd.DataFrame([_line(OCT1, NOVA, "other", 0, 1.50, line_type="Tax")]))
    bill = pd.concat([_october_daily_bill(), tax], ignore_index=True)
    rec = reconcile(_week_of_logs(), bill, window=(OCT10, OCT17))
    t = rec.totals
    assert t["outside_window_usd"] == pytest.approx(19.20)
    assert t["outside_window_incl_tax_usd"] == pytest.approx(20.70)
    assert t["outside_window_lines"] == 25
    assert t["tax_usd"] == 0 and t["billed_usd"] == pytest.approx(5.60)
    assert (
        "25 Bedrock line item(s) with $19.20 of billed usage (all of them, tax included: $20.70)"
        in rec.summary
    )
    from bedrock_finops.reconcile import key_figures

    figures = key_figures(rec)
    assert figures["billed usage outside the window (not compared), USD"] == pytest.approx(19.20)


def test_a_monthly_line_reaching_beyond_the_window_is_left_out_with_its_logs():
    """A week's window (10-10 to 10-16, $5.60 logged) against one monthly line for October
    ($24.00): the line cannot be split, so neither it nor the week's logs under it are compared;
    both are reported as left out, nothing is called unlogged or not billed."""
    rec = reconcile(_week_of_logs(), _monthly_bill(30_000, 24.00), window=(OCT10, OCT17))
    assert rec.rows.empty
    t = rec.totals
    assert t["unlogged_usd"] == 0 and t["not_billed_usd"] == 0 and t["billed_usd"] == 0
    assert t["outside_window_usd"] == pytest.approx(24.00) and t["outside_window_lines"] == 1
    assert t["outside_window_log_usd"] == pytest.approx(5.60)
    assert t["outside_window_requests"] == 7
    assert rec.summary.startswith("Nothing to reconcile")
    assert "7 logged request(s) priced at $5.60" in rec.summary


def test_logged_days_outside_the_window_are_left_out():
    """Logs of 10-09 ($0.80) outside a window starting 10-10 are reported, not compared."""
    logs = pd.concat([_week_of_logs(), _week_of_logs().assign(date=dt.date(2026, 10, 9)).head(1)])
    bill = _october_daily_bill()
    rec = reconcile(logs, bill[bill["date"] >= OCT10], window=(OCT10, OCT17))
    assert rec.totals["outside_window_log_usd"] == pytest.approx(0.80)
    assert rec.totals["outside_window_requests"] == 1 and rec.totals["log_usd"] == (
        pytest.approx(5.60)
    )
    assert rec.totals["outside_window_usd"] == pytest.approx(15 * 0.80)  # 10-17 to 10-31


def test_daily_lines_in_the_window_keep_their_logs_beside_a_monthly_line_left_out():
    """Two exports read together: Nova Pro billed $0.80 a day for every October day and one
    October-long line of $3.00, against a week's logs (10-10 to 10-16, $0.80 a day). The 7
    daily lines in the window ($5.60) are compared with the 7 days' logs ($5.60): gap $0.00,
    not 7 rows of "unlogged traffic" with the same logs also reported left out. Left out are
    the 24 daily lines outside the window and the monthly line: 24 x $0.80 + $3.00 = $22.20,
    25 lines, and no logged request."""
    month = billing_frame(
        pd.DataFrame([{**_line(OCT1, NOVA, "output", 0, 3.00), "end_date": dt.date(2026, 11, 1)}])
    )
    bill = pd.concat([_october_daily_bill(), month], ignore_index=True)
    rec = reconcile(_week_of_logs(), bill, window=(OCT10, OCT17))
    assert len(rec.rows) == 7 and set(rec.rows["explanation"]) == {"within tolerance"}
    assert rec.rows["log_usd"].sum() == pytest.approx(5.60)
    t = rec.totals
    assert t["billed_usd"] == pytest.approx(5.60) and t["log_usd"] == pytest.approx(5.60)
    assert t["gap_usd"] == 0 and t["unlogged_usd"] == 0
    assert t["outside_window_usd"] == pytest.approx(22.20) and t["outside_window_lines"] == 25
    assert t["outside_window_log_usd"] == 0 and t["outside_window_requests"] == 0
