"""CUR 2.0 and FOCUS readers on the committed fixtures (tests/fixtures/billing)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bedrock_finops.sources.cur import (
    BILLING_COLUMNS,
    BillingFormatError,
    read_cur,
    read_focus,
    token_scale,
)

FIXTURES = Path(__file__).parent / "fixtures" / "billing"
CUR = FIXTURES / "cur2.parquet"
FOCUS = FIXTURES / "focus.csv"


def _json_product(pairs) -> str:
    """CUR 2.0 CSV exports write the product map as a JSON object."""
    return json.dumps(dict(pairs))


def test_cur2_parquet_keeps_bedrock_and_marketplace_lines():
    df = read_cur(CUR)
    assert list(df.columns) == BILLING_COLUMNS
    assert df.attrs == {"rows_read": 8, "rows_bedrock": 7, "rows_other_services": 1}
    assert "AmazonS3" not in set(df["usage_type"].dropna())
    # 0.80 + 0.80 + 6.00 + 1.50 + 0.40 + 0.02 + 0.10 (tax kept, typed as such)
    assert df["cost_usd"].sum() == pytest.approx(9.62)
    assert df.loc[df["line_type"] == "Tax", "cost_usd"].tolist() == [0.10]

    nova = df[df["model"] == "amazon.nova-pro"].set_index(["date", "token_kind"])
    assert nova.loc[(dt.date(2026, 3, 1), "input"), "quantity"] == 1_000_000  # 1000 x 1K
    assert nova.loc[(dt.date(2026, 3, 1), "output"), "quantity"] == 250_000
    assert nova.loc[(dt.date(2026, 3, 2), "cache_read"), "quantity"] == 100_000
    assert set(nova["unit"]) == {"tokens"} and not nova["marketplace"].any()
    assert set(nova["service"]) == {"Amazon Bedrock"} and set(nova["region"]) == {"us-east-1"}


def test_cur2_marketplace_claude_line():
    df = read_cur(CUR)
    mp = df[df["marketplace"]]
    assert len(mp) == 2
    assert set(mp["model"]) == {"anthropic.claude-sonnet-4-5"}
    assert set(mp["service"]) == {"Claude Sonnet 4.5 (Amazon Bedrock Edition)"}
    assert sorted(mp["token_kind"]) == ["input", "output"]
    assert mp["cost_usd"].sum() == pytest.approx(7.50)
    # "Units" does not say how many tokens it is: kept raw unless the caller says.
    assert set(mp["unit"]) == {"Units"} and sorted(mp["quantity"]) == [0.1, 2.0]
    scaled = read_cur(CUR, unit_scale={"Units": 1e6})
    assert sorted(scaled.loc[scaled["marketplace"], "quantity"]) == [100_000, 2_000_000]


def test_cur_csv_with_legacy_names_and_json_product(tmp_path):
    table = pq.read_table(CUR).to_pandas()
    table["product"] = [_json_product(p) for p in table["product"]]
    table = table.rename(
        columns={
            "line_item_usage_start_date": "lineItem/UsageStartDate",
            "line_item_unblended_cost": "lineItem/UnblendedCost",
        }
    )
    path = tmp_path / "cur.csv"
    table.to_csv(path, index=False)
    df = read_cur([path])
    assert df.attrs["rows_bedrock"] == 7
    assert df["cost_usd"].sum() == pytest.approx(9.62)
    assert df["marketplace"].sum() == 2


def test_cur_directory_of_files(tmp_path):
    (tmp_path / "data" / "BILLING_PERIOD=2026-03").mkdir(parents=True)
    pq.write_table(pq.read_table(CUR), tmp_path / "data" / "BILLING_PERIOD=2026-03" / "a.parquet")
    pq.write_table(pq.read_table(CUR), tmp_path / "data" / "BILLING_PERIOD=2026-03" / "b.parquet")
    df = read_cur(tmp_path)
    assert df.attrs == {"rows_read": 16, "rows_bedrock": 14, "rows_other_services": 2}


def test_cur_missing_columns_named(tmp_path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pq.read_table(CUR).drop_columns(["line_item_unblended_cost", "product"]), path)
    with pytest.raises(BillingFormatError) as err:
        read_cur(path)
    msg = str(err.value)
    assert "line_item_unblended_cost" in msg and "product_product_name or product" in msg
    assert "line_item_usage_type" not in msg  # present, so not named


def test_cur_bad_dates_named(tmp_path):
    df = pq.read_table(CUR).to_pandas()
    df["line_item_usage_start_date"] = df["line_item_usage_start_date"].astype(str)
    df.loc[0, "line_item_usage_start_date"] = "yesterday"
    df["product"] = [_json_product(p) for p in df["product"]]
    df.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(BillingFormatError, match="1 row.*line_item_usage_start_date.*yesterday"):
        read_cur(tmp_path / "c.csv")


def test_focus_csv():
    df = read_focus(FOCUS)
    assert list(df.columns) == BILLING_COLUMNS
    assert df.attrs == {"rows_read": 4, "rows_bedrock": 3, "rows_other_services": 1}
    rows = df.set_index("line_type")
    assert rows.loc["Credit", "cost_usd"] == -0.5
    usage = df[df["line_type"] == "Usage"].set_index("model")
    assert usage.loc["amazon.nova-pro", "quantity"] == 1_000_000
    assert usage.loc["amazon.nova-pro", "token_kind"] == "input"
    haiku = usage.loc["anthropic.claude-haiku-4-5"]
    assert haiku["marketplace"] and haiku["region"] == "us-west-2"
    assert haiku["token_kind"] == "output" and haiku["cost_usd"] == 1.0
    assert set(df["date"]) == {dt.date(2026, 3, 1)}


def test_focus_missing_columns(tmp_path):
    path = tmp_path / "f.csv"
    pd.read_csv(FOCUS).drop(columns=["BilledCost"]).to_csv(path, index=False)
    with pytest.raises(BillingFormatError, match="BilledCost"):
        read_focus(path)


@pytest.mark.parametrize(
    ("unit", "scale"),
    [("1K tokens", 1e3), ("1M tokens", 1e6), ("Tokens", 1.0), ("Units", None), (None, None)],
)
def test_token_scale(unit, scale):
    assert token_scale(unit) == scale
