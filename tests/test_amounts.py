"""Figures for people: dollars to the cent everywhere, float noise shown as zero, and an
amount under a cent that is not zero to two significant digits, never as zero."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from usage_builders import make_usage

from bedrock_finops import amounts, baseline, notebook, segments, top_groups
from bedrock_finops.amounts import clean, pct, usd
from bedrock_finops.findings import period_of
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.reconcile import reconcile
from bedrock_finops.sources.cur import billing_frame

LLAMA_70B = "meta.llama3-1-70b-instruct"
NOISE_CASES = [-5.496e-15, -1.626e-19, 1e-12, -0.0]


@pytest.mark.parametrize("noise", NOISE_CASES)
def test_noise_reads_as_zero(noise):
    assert clean(noise) == 0.0 and str(clean(noise)) == "0.0"
    assert usd(noise) == "$0.00"
    assert pct(noise) == "0.0%"
    assert notebook.format_value(noise) == "0.00"
    assert notebook.display_float(noise) == "0.00"


def test_dollars_and_percentages():
    assert usd(-0.5301) == "-$0.53" and usd(1234.5) == "$1,234.50" and usd(0.0) == "$0.00"
    assert usd(float("nan")) == "unpriced"
    assert pct(-15.0) == "-15.0%" and pct(25.6944, 2) == "25.69%"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (343.6312, "343.63"),  # was "344": every float figure keeps its cents
        (123.4449, "123.44"),
        (106.2309, "106.23"),
        (1_234_567.891, "1,234,567.89"),
        (0.007371, "0.0074"),  # was "0.01"
        (-0.001, "-0.0010"),  # was "0.00"
        (0.00023, "0.00023"),  # was "0.00": a run of one request on Llama 3.1 70B
        (0.0, "0.00"),
        (45_959, "45,959"),
        (float("nan"), "unpriced"),
        (True, "True"),
    ],
)
def test_key_figure_text(value, text):
    assert notebook.format_value(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (343.6312, "343.63"),
        (0.1305, "0.13"),
        (-0.01958, "-0.02"),
        (0.6809, "0.68"),
        (0.007371, "0.0074"),  # under a cent: two significant digits, never 0.00
        (0.00001, "0.000010"),
        (float("nan"), "NaN"),
    ],
)
def test_table_float_text(value, text):
    assert notebook.display_float(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.00023, "$0.00023"),  # was "$0.00"
        (0.000234, "$0.00023"),  # two significant digits
        (-0.004, "-$0.0040"),  # was "$0.00"
        (0.0074, "$0.0074"),
        (0.009999, "$0.01"),  # rounds to a cent: cents
        (0.01, "$0.01"),
        (0.5, "$0.50"),
        (1234.5, "$1,234.50"),
        (0.0, "$0.00"),
        (5e-9, "$0.0000000050"),  # the smallest amount that is not float noise
    ],
)
def test_an_amount_under_a_cent_is_never_shown_as_zero(value, text):
    assert usd(value) == text
    assert amounts.figure(value) == text.replace("$", "")


@pytest.mark.parametrize(
    "value, number",
    [
        (698.5700000000001, 698.57),  # float noise off, cents kept
        (0.0074123, 0.0074),  # under a cent: two significant digits, not 0.0
        (0.00023456, 0.00023),
        (-0.0074123, -0.0074),
        (0.009999, 0.01),
        (-5.496e-15, 0.0),  # noise is 0.0, never -0.0
    ],
)
def test_rounded_numbers_keep_what_the_figures_show(value, number):
    """``amounts.rounded`` is the number ``figure`` prints: a program reading the manifest sees
    a $0.0074 bill as 0.0074, where rounding to the cent made it 0.0."""
    assert amounts.rounded(value) == number
    assert amounts.figure(amounts.rounded(value)) == amounts.figure(value)


def test_more_decimals_asked_for_still_show_an_amount_under_them():
    """The replay's and model sizing's reasons show four decimals: $0.00023 kept its 3."""
    assert usd(0.5, at_least=4) == "$0.5000" and usd(0.0123, at_least=4) == "$0.0123"
    assert usd(0.00023, at_least=4) == "$0.00023" and usd(0.0, at_least=4) == "$0.0000"


def test_a_run_of_one_request_shows_what_it_cost(capsys):
    """One request on Llama 3.1 70B in us-east-1 (183 tokens in, 64 out, at $0.72 per 1M
    each): $0.00017784. The headline, the spend by model and app and the drivers' note read
    $0.00 (the headline rounded to the cent before the key figures showed it), the run-rate
    $0.01 ($0.0054 a month)."""
    usage = make_usage(
        [dict(n=1, app="entity-extractor", model=LLAMA_70B, input_tokens=183, output_tokens=64)]
    )
    frame = baseline.costed(usage, PriceCatalog.load("current").price(usage))
    assert frame["cost_usd"].sum() == pytest.approx(247 * 0.72 / 1e6)
    notebook.key_figures(baseline.headline(frame, period_of(usage)))
    notebook.key_figures(baseline.spend_by(frame, "model")["cost_usd"].to_dict())
    shown = capsys.readouterr().out.splitlines()
    assert "priced spend, USD                                       0.00018" in shown
    assert "monthly run-rate (priced spend x 30.4375 / 1 day), USD  0.0054" in shown
    assert shown[-1] == f"{LLAMA_70B}  0.00018"
    drivers = segments.summarise(usage, frame["cost_usd"])
    assert top_groups.share_note(drivers["cost_usd"], 10, "segment") == (
        "all 1 segment shown: $0.00018 priced spend"
    )


def test_key_figures_print_cents(capsys):
    notebook.key_figures({"anthropic.claude-sonnet-4": 343.6312, "days": 30})
    assert capsys.readouterr().out.splitlines() == [
        "anthropic.claude-sonnet-4  343.63",
        "days                       30",
    ]


def test_equal_costs_summed_in_another_order_leave_no_gap():
    """0.1 + 0.2 billed against 0.3 logged differ by 5.6e-17: shown as no gap at all."""
    day = dt.date(2026, 3, 1)
    line = {
        "date": day, "source": "cur", "service": "Amazon Bedrock", "product_name": None,
        "usage_type": None, "region": "us-east-1", "model": "amazon.nova-pro",
        "token_kind": "input", "mode": "on_demand", "unit": "tokens", "line_type": "Usage",
        "marketplace": False,
    }  # fmt: skip
    billing = billing_frame(
        pd.DataFrame(
            [
                line | {"quantity": 1000.0, "cost_usd": 0.1},
                line | {"quantity": 2000.0, "cost_usd": 0.2},
            ]
        )
    )
    logs = pd.DataFrame(
        {"date": [day], "model": ["amazon.nova-pro"], "cost_usd": [0.3], "requests": [3],
         "tokens": [3000]}
    )  # fmt: skip
    assert 0.1 + 0.2 - 0.3 != 0
    rec = reconcile(logs, billing)
    assert rec.rows["gap_usd"].tolist() == [0.0]
    assert rec.rows["gap_pct_of_billed"].tolist() == [0.0]
    assert rec.totals["gap_usd"] == 0.0 and rec.totals["within_tolerance_usd"] == 0.0
    assert baseline.gaps_by_explanation(rec.rows)["gap_usd"].tolist() == [0.0]
    assert "within tolerance (|gap| <= 2% of billed, or < $0.005) $0.00." in rec.summary


def test_assumptions_are_shown_whole_and_dates_as_days() -> None:
    """An assumption cut at pandas' 50 characters cannot be checked; a sheet's date is a day."""
    import pandas as pd

    from bedrock_finops.notebook import assumptions_table

    source = "https://aws.amazon.com/bedrock/pricing/ (Amazon Bedrock pricing page, us-east-1)"
    table = assumptions_table({"source": source, "as of": pd.Timestamp("2026-11-26"), "n": 3})
    assert table.frame.loc["as of", "value"] == "2026-11-26"
    with pd.option_context("display.max_colwidth", 50):
        assert source in table._repr_html_() and source in repr(table)
        assert source not in table.frame._repr_html_()  # what pandas alone would show
