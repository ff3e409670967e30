"""One definition of billed Bedrock usage (no tax) across reconciliation, manifest and CLI."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from bedrock_finops import billing_inputs, cli
from bedrock_finops.billed import billed_totals
from bedrock_finops.billing_cli import report
from bedrock_finops.sources.cur import billing_frame, read_cur

CUR = Path(__file__).parent / "fixtures" / "billing" / "cur2.parquet"
PERIOD = {"start": dt.date(2026, 3, 1), "end": dt.date(2026, 3, 3)}


def _line(cost: float, line_type: str | None) -> dict:
    return {
        "date": pd.Timestamp("2026-03-01").date(), "source": "cur", "service": "Amazon Bedrock",
        "product_name": None, "usage_type": None, "region": "us-east-1",
        "model": "amazon.nova-pro", "token_kind": "input", "mode": "on_demand",
        "quantity": 1000.0, "unit": "tokens", "cost_usd": cost, "line_type": line_type,
        "marketplace": False,
    }  # fmt: skip


def test_usage_discounts_tax_and_credits_are_split_once():
    billing = billing_frame(
        pd.DataFrame(
            [
                _line(10.00, "Usage"),
                _line(-1.50, "PrivateRateDiscount"),
                _line(2.00, None),  # no line type (Cost Explorer): usage
                _line(0.84, "Tax"),
                _line(-3.00, "Credit"),
                _line(0.25, "Fee"),
            ]
        )
    )
    t = billed_totals(billing)
    assert t.usage_usd == pytest.approx(10.50)  # 10.00 - 1.50 + 2.00
    assert t.tax_usd == pytest.approx(0.84)
    assert t.other_usd == pytest.approx({"Credit": -3.00, "Fee": 0.25})
    assert t.total_usd == pytest.approx(8.59) == billing["cost_usd"].sum()
    assert (t.lines, t.usage_lines) == (6, 3)
    assert list(t.labelled().values()) == pytest.approx([10.50, 0.84, -2.75, 8.59])


@pytest.mark.parametrize(
    "line_type",
    ["EdpDiscount", "PrivateRateDiscount", "BundledDiscount", "SppDiscount", "Discount"],
)
def test_each_discount_line_type_nets_into_billed_usage(line_type):
    """A discount written as a line of its own (legacy CUR, or CUR 2.0 with manual discount
    compatibility) is part of billed usage: $10.00 of usage and a -$1.00 discount line bill
    10.00 - 1.00 = $9.00 of usage, the line's -$1.00 is its discount, and nothing is a credit
    or fee."""
    billing = billing_frame(pd.DataFrame([_line(10.00, "Usage"), _line(-1.00, line_type)]))
    t = billed_totals(billing)
    assert t.usage_usd == pytest.approx(9.00) and t.other_usd == {}
    assert (t.lines, t.usage_lines) == (2, 2)
    assert t.for_manifest()["billed_usd"] == 9.00
    assert billing["discount_usd"].tolist() == [0.0, -1.00]


def test_a_bill_under_a_cent_is_not_zero_in_the_manifest():
    """One request's bill, $0.0074 of usage and $0.0006 of tax, kept to two significant
    digits: rounded to the cent the manifest said 0.0, as if nothing was billed."""
    billing = billing_frame(pd.DataFrame([_line(0.0074123, "Usage"), _line(0.00061, "Tax")]))
    info = billed_totals(billing).for_manifest()
    assert (info["billed_usd"], info["tax_usd"], info["all_line_items_usd"]) == (
        0.0074,
        0.00061,
        0.008,
    )


def test_manifest_billed_usd_is_usage_without_tax(tmp_path):
    info = billing_inputs.collect({"cur": str(CUR), **PERIOD}, tmp_path, log=lambda *_: None)
    # fixture: 0.80 + 0.80 + 6.00 + 1.50 + 0.40 + 0.02 usage, and a 0.10 tax line
    assert info["billed_usd"] == 9.52
    assert info["tax_usd"] == 0.10
    assert info["all_line_items_usd"] == 9.62
    assert info["credits_refunds_fees_usd"] == {}
    assert "excl. tax" in info["billed_usd_is"]
    json.dumps(info)


def test_billing_command_prints_totals_and_out_holds_every_line_item(tmp_path, capsys):
    out = tmp_path / "billing.csv"
    assert cli.main(["billing", "--cur", str(CUR), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "anthropic.claude-sonnet-4-5" in printed
    heads = ("billed Bedrock usage", "tax", "credits", "all Bedrock")
    amounts = [ln.split()[-1] for ln in printed.splitlines() if ln.startswith(heads)]
    assert amounts == ["$9.52", "$0.10", "$0.00", "$9.62"]
    assert "7 Bedrock line item(s), 6 of them usage; 1 line(s) of other services skipped" in printed
    assert "7 Bedrock line item(s) summing to $9.62 written to" in printed
    written = pd.read_csv(out)
    assert len(written) == 7 and written["cost_usd"].sum() == pytest.approx(9.62)
    assert written.loc[written["line_type"] == "Tax", "cost_usd"].tolist() == [0.10]


def test_screen_table_adds_up_to_the_usage_total():
    billing = read_cur(CUR)
    text = report(billing)
    per_row = [float(x.strip("$")) for x in _column(text, "billed_usd")]
    assert sum(per_row) == pytest.approx(9.52)


def _column(text: str, name: str) -> list[str]:
    rows = text.split("\n\n")[0].splitlines()
    at = rows[0].split().index(name)
    return [r.split()[at] for r in rows[1:]]


def test_screen_table_says_where_a_monthly_line_ends():
    """A monthly export's line (2026-10-01 to 11-01, $24.00) shows its end_date beside its date;
    a daily bill's table has no such column (each line is its date's)."""
    line = {**_line(24.00, "Usage"), "date": dt.date(2026, 10, 1), "end_date": dt.date(2026, 11, 1)}
    text = report(billing_frame(pd.DataFrame([line])))
    assert _column(text, "date") == ["2026-10-01"] and _column(text, "end_date") == ["2026-11-01"]
    assert _column(text, "billed_usd") == ["$24.00"]
    assert "end_date" not in report(read_cur(CUR))
