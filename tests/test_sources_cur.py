"""CUR 2.0 and FOCUS readers on the committed fixtures (tests/fixtures/billing)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bedrock_finops.billed import billed_totals
from bedrock_finops.sources import cur
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
    assert df.attrs == {
        "rows_read": 8,
        "rows_bedrock": 7,
        "rows_other_services": 1,
        "files_skipped": [],
    }
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
    # Marketplace "Units" are millions of tokens (AmazonBedrockFoundationModels prices per 1M):
    # 2.0 and 0.1 units at $3.00 / $15.00 per 1M tokens are $6.00 and $1.50.
    assert set(mp["unit"]) == {"tokens"} and sorted(mp["quantity"]) == [100_000, 2_000_000]
    # the caller's unit_scale still has the last word
    scaled = read_cur(CUR, unit_scale={"Units": 1e3})
    assert sorted(scaled.loc[scaled["marketplace"], "quantity"]) == [100, 2_000]


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
    assert df.attrs == {
        "rows_read": 16,
        "rows_bedrock": 14,
        "rows_other_services": 2,
        "files_skipped": [],
    }


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
    assert df.attrs == {
        "rows_read": 4,
        "rows_bedrock": 3,
        "rows_other_services": 1,
        "files_skipped": [],
    }
    rows = df.set_index("line_type")
    assert rows.loc["Credit", "cost_usd"] == -0.5
    usage = df[df["line_type"] == "Usage"].set_index("model")
    assert usage.loc["amazon.nova-pro", "quantity"] == 1_000_000
    assert usage.loc["amazon.nova-pro", "token_kind"] == "input"
    haiku = usage.loc["anthropic.claude-haiku-4-5"]
    assert haiku["marketplace"] and haiku["region"] == "us-west-2"
    assert haiku["token_kind"] == "output" and haiku["cost_usd"] == 1.0
    assert set(df["date"]) == {dt.date(2026, 3, 1)}


def _focus_1_2_line(meter: str, quantity: float, unit: str, cost: float, **over) -> dict:
    """A line of a "FOCUS 1.2 with AWS columns" export: no x_UsageType (AWS moved it to
    SkuMeter), no x_CostCategories, and 1.2's new columns."""
    return {
        "BilledCost": cost,
        "BillingCurrency": "USD",
        "ChargeCategory": "Usage",
        "ChargeClass": "",
        "ChargeDescription": "x",
        "ChargePeriodStart": "2025-03-01T00:00:00Z",
        "ChargePeriodEnd": "2025-03-02T00:00:00Z",
        "ConsumedQuantity": quantity,
        "ConsumedUnit": unit,
        "PricingQuantity": quantity,
        "PricingUnit": unit,
        "RegionId": "us-east-1",
        "ServiceName": "Amazon Bedrock",
        "ServiceSubcategory": "Generative AI",
        "SkuId": "ABC",
        "SkuMeter": meter,
        "x_Discounts": "",
        "x_Operation": "InvokeModelInference",
        "x_ServiceCode": "AmazonBedrock",
        **over,
    }


def test_focus_1_2_reads_the_usage_type_from_sku_meter(tmp_path):
    """FOCUS 1.2 with AWS columns has no x_UsageType ("now the SkuMeter column"): Nova Pro's
    1,000 + 250 units of 1K tokens are 1,250,000 tokens of amazon.nova-pro, and Claude 3
    Haiku's 2 Marketplace Units are 2,000,000 input tokens; every token kind and model read
    null, so no billed token was counted."""
    path = tmp_path / "focus12-00001.csv.gz"
    haiku = {
        "ServiceName": "Claude 3 Haiku (Amazon Bedrock Edition)",
        "x_ServiceCode": "5tg1xd5ci6olxw3rdsk5b2h6",
        "RegionId": "us-west-2",
    }
    lines = [
        _focus_1_2_line("USE1-NovaPro-input-tokens", 1000, "1K tokens", 0.8),
        _focus_1_2_line("USE1-NovaPro-output-tokens", 250, "1K tokens", 0.8),
        _focus_1_2_line("USW2-MP:USW2_InputTokenCount-Units", 2, "Units", 0.5, **haiku),
    ]
    pd.DataFrame(lines).to_csv(path, index=False)
    df = read_focus(path)
    assert df["usage_type"].tolist() == [line["SkuMeter"] for line in lines]
    assert df["model"].tolist() == ["amazon.nova-pro"] * 2 + ["anthropic.claude-3-haiku"]
    assert df["token_kind"].tolist() == ["input", "output", "input"]
    assert df["quantity"].tolist() == [1_000_000, 250_000, 2_000_000]
    assert set(df["unit"]) == {"tokens"}
    assert df.groupby("model")["quantity"].sum().to_dict() == {
        "amazon.nova-pro": 1_250_000,
        "anthropic.claude-3-haiku": 2_000_000,
    }


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


# --- currency ---------------------------------------------------------------------------------


def _cur_csv(path, rows: list[dict]) -> Path:
    """A CUR 2.0 CSV export: the product map as a JSON string, as AWS writes it."""
    base = {
        "line_item_usage_start_date": "2026-10-01T00:00:00Z",
        "line_item_product_code": "AmazonBedrock",
        "line_item_usage_type": "APN1-NovaPro-input-tokens",
        "line_item_usage_amount": "1000",
        "line_item_unblended_cost": "0.8",
        "pricing_unit": "1K tokens",
        "line_item_line_item_type": "Usage",
        "product": _json_product({"product_name": "Amazon Bedrock"}),
        "product_region_code": "ap-northeast-1",
    }
    pd.DataFrame([{**base, **r} for r in rows]).to_csv(path, index=False)
    return path


def test_cur_in_another_currency_is_refused(tmp_path):
    path = _cur_csv(
        tmp_path / "jpy.csv",
        [
            {"line_item_unblended_cost": "120.0", "line_item_currency_code": "JPY"},
            {
                "line_item_unblended_cost": "-50.0",
                "line_item_line_item_type": "Credit",
                "line_item_currency_code": "JPY",
            },
        ],
    )
    with pytest.raises(BillingFormatError) as err:
        read_cur(path)
    msg = str(err.value)
    assert "['JPY']" in msg and "line_item_currency_code" in msg and "not USD" in msg
    assert "convert the costs to USD" in msg and "\n" not in msg


def test_legacy_cur_currency_column_is_read(tmp_path):
    path = tmp_path / "legacy.csv"
    _cur_csv(path, [{"line_item_currency_code": "EUR"}])
    df = pd.read_csv(path).rename(columns={"line_item_currency_code": "lineItem/CurrencyCode"})
    df.to_csv(path, index=False)
    with pytest.raises(BillingFormatError, match=r"\['EUR'\]"):
        read_cur(path)


def test_cur_in_usd_is_read(tmp_path):
    path = _cur_csv(tmp_path / "usd.csv", [{"line_item_currency_code": "USD"}])
    df = read_cur(path)
    assert df["cost_usd"].tolist() == [0.8] and df["quantity"].tolist() == [1_000_000]


def test_focus_in_another_currency_is_refused(tmp_path):
    path = tmp_path / "focus_eur.csv"
    pd.read_csv(FOCUS).assign(BillingCurrency="EUR").to_csv(path, index=False)
    with pytest.raises(BillingFormatError, match=r"\['EUR'\] \(BillingCurrency\), not USD"):
        read_focus(path)
    pd.read_csv(FOCUS).assign(BillingCurrency="USD").to_csv(path, index=False)
    assert read_focus(path)["cost_usd"].sum() == pytest.approx(0.8 + 1.0 - 0.5)


# --- Marketplace units in a real-shaped export -----------------------------------------------


def test_real_cur_marketplace_units_are_million_tokens(tmp_path):
    """As AWS writes a Claude line: opaque product code, MP usage type, "Units" of 1M tokens."""
    claude = {
        "line_item_product_code": "c9lkq2v0y3b8m4xz1n7pw5tsd",
        "product": _json_product({"product_name": "Claude 3.5 Sonnet v2 (Amazon Bedrock Edition)"}),
        "product_region_code": "us-west-2",
        "pricing_unit": "Units",
        "line_item_currency_code": "USD",
    }
    path = _cur_csv(
        tmp_path / "cur.csv",
        [
            # 0.25 units x $3.00 per 1M input tokens = $0.75
            {
                **claude,
                "line_item_usage_type": "USW2-MP:USW2_InputTokenCount-Units",
                "line_item_usage_amount": "0.25",
                "line_item_unblended_cost": "0.75",
            },
            # 0.02 units x $15.00 per 1M output tokens = $0.30
            {
                **claude,
                "line_item_usage_type": "USW2-MP:USW2_OutputTokenCount-Units",
                "line_item_usage_amount": "0.02",
                "line_item_unblended_cost": "0.30",
            },
            # not tokens: kept in its own unit
            {
                **claude,
                "line_item_usage_type": "USW2-MP:USW2_ProvisionedThroughput-Units",
                "line_item_usage_amount": "2",
                "line_item_unblended_cost": "40.0",
            },
        ],
    )
    df = read_cur(path).set_index("usage_type")
    assert set(df["model"]) == {"anthropic.claude-3-5-sonnet"} and df["marketplace"].all()
    inp = df.loc["USW2-MP:USW2_InputTokenCount-Units"]
    assert inp["quantity"] == 250_000 and inp["unit"] == "tokens" and inp["token_kind"] == "input"
    out = df.loc["USW2-MP:USW2_OutputTokenCount-Units"]
    assert out["quantity"] == 20_000 and out["unit"] == "tokens"
    pt = df.loc["USW2-MP:USW2_ProvisionedThroughput-Units"]
    assert pt["quantity"] == 2 and pt["unit"] == "Units" and pt["token_kind"] == "other"


# --- negotiated discounts: netted into the line (CUR 2.0 default) or as lines of their own ------

_DAY = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _cur2_parquet(path: Path, lines: list[dict], day: dt.datetime = _DAY) -> Path:
    """CUR 2.0 parquet lines of Nova Pro input (1K tokens) on ``day``; ``discount`` is a
    map<string, double> column as Data Exports writes it when "manual discount compatibility" is
    off."""
    ts = pa.timestamp("ms", tz="UTC")
    n = len(lines)
    columns = {
        "line_item_usage_start_date": pa.array([day] * n, ts),
        "line_item_usage_end_date": pa.array([day + dt.timedelta(days=1)] * n, ts),
        "line_item_product_code": ["AmazonBedrock"] * n,
        "line_item_usage_type": ["USE1-NovaPro-input-tokens"] * n,
        "line_item_line_item_type": [x.get("type", "Usage") for x in lines],
        "line_item_usage_amount": pa.array([x.get("amount", 10_000.0) for x in lines]),
        "line_item_unblended_cost": pa.array([x["unblended"] for x in lines], pa.float64()),
        "pricing_unit": ["1K tokens"] * n,
        "product": pa.array(
            [[("product_name", "Amazon Bedrock")]] * n, pa.map_(pa.string(), pa.string())
        ),
        "product_region_code": ["us-east-1"] * n,
    }
    if any("net" in x for x in lines):
        columns["line_item_net_unblended_cost"] = pa.array([x.get("net") for x in lines])
    if any("discount" in x for x in lines):
        columns["discount"] = pa.array(
            [list(x.get("discount", {}).items()) for x in lines],
            pa.map_(pa.string(), pa.float64()),
        )
    pq.write_table(pa.table(columns), path)
    return path


def test_cur2_discount_netted_into_the_usage_line_is_billed(tmp_path):
    """The default CUR 2.0 export keeps a 15% private rate on the usage line: 10,000 x 1K Nova Pro
    input tokens at list $0.80 / 1M tokens = $8.00 unblended, discount total_discount -$1.20,
    net unblended $8.00 - $1.20 = $6.80. Billed is the net $6.80, $1.20 of it discount."""
    path = _cur2_parquet(
        tmp_path / "cur2.parquet",
        [{"unblended": 8.00, "net": 6.80, "discount": {"total_discount": -1.20}}],
    )
    df = read_cur(path)
    assert df["cost_usd"].tolist() == pytest.approx([6.80])
    assert df["discount_usd"].tolist() == pytest.approx([-1.20])
    assert billed_totals(df).usage_usd == pytest.approx(6.80)


def test_cur2_discount_map_alone_or_csv_json_nets_the_cost(tmp_path):
    """Without a net cost column the discount map still nets it: $8.00 + (-$1.20) = $6.80; a
    line without a discount stays at its unblended $0.80. A CSV export writes the map as JSON."""
    path = _cur2_parquet(
        tmp_path / "cur2.parquet",
        [
            {"unblended": 8.00, "discount": {"total_discount": -1.20, "bundled_discount": 0.0}},
            {"unblended": 0.80, "amount": 1_000.0},
        ],
    )
    assert read_cur(path)["cost_usd"].tolist() == pytest.approx([6.80, 0.80])
    csv = _cur_csv(
        tmp_path / "cur2.csv",
        [
            {"line_item_unblended_cost": "8.0", "discount": json.dumps({"total_discount": -1.2})},
            {"line_item_unblended_cost": "0.8", "discount": ""},
        ],
    )
    df = read_cur(csv)
    assert df["cost_usd"].tolist() == pytest.approx([6.80, 0.80])
    assert df["discount_usd"].tolist() == pytest.approx([-1.20, 0.0])


def test_discount_line_items_are_not_netted_twice(tmp_path):
    """With "manual discount compatibility" the $1.20 private rate discount is a line of its own
    (PrivateRateDiscount, -$1.20): billed usage is $8.00 - $1.20 = $6.80, not the usage line's
    net $6.80 less the discount line again ($5.60)."""
    path = _cur2_parquet(
        tmp_path / "cur.parquet",
        [
            {"unblended": 8.00, "net": 6.80},
            {"unblended": -1.20, "net": 0.0, "type": "PrivateRateDiscount", "amount": 0.0},
        ],
    )
    df = read_cur(path)
    assert df["cost_usd"].tolist() == pytest.approx([8.00, -1.20])
    assert df["discount_usd"].tolist() == pytest.approx([0.0, -1.20])
    assert billed_totals(df).usage_usd == pytest.approx(6.80)


def test_each_billing_period_is_judged_on_its_own_discount_form(tmp_path):
    """Two exports read from one folder: September's writes its $1.20 private rate discount as a
    line of its own (Usage $8.00, PrivateRateDiscount -$1.20), October's nets it into the usage
    line (unblended $8.00, net $6.80, total_discount -$1.20). September keeps its unblended
    costs ($8.00 - $1.20 = $6.80 billed); October is still billed at its net $6.80 with a -$1.20
    discount, as when read alone, not at $8.00 with no discount: $13.60 in all, not $14.80."""
    _cur2_parquet(
        tmp_path / "2026-09.parquet",
        [
            {"unblended": 8.00, "net": 6.80},
            {"unblended": -1.20, "net": 0.0, "type": "PrivateRateDiscount", "amount": 0.0},
        ],
        day=dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
    )
    _cur2_parquet(
        tmp_path / "2026-10.parquet",
        [{"unblended": 8.00, "net": 6.80, "discount": {"total_discount": -1.20}}],
    )
    df = read_cur(tmp_path).set_index("date")
    september, october = df.loc[[dt.date(2026, 9, 30)]], df.loc[[dt.date(2026, 10, 1)]]
    assert september["cost_usd"].tolist() == pytest.approx([8.00, -1.20])
    assert september["discount_usd"].tolist() == pytest.approx([0.0, -1.20])
    assert october["cost_usd"].tolist() == pytest.approx([6.80])
    assert october["discount_usd"].tolist() == pytest.approx([-1.20])
    assert billed_totals(df).usage_usd == pytest.approx(13.60)


def test_a_billing_period_split_across_files_keeps_its_discount_lines_once(tmp_path):
    """A large export splits one billing period across files: the usage line (unblended $8.00,
    net $6.80) in one, its PrivateRateDiscount line (-$1.20) in the other. The period has
    discount line items, so the usage line keeps $8.00: billed $6.80, not $5.60."""
    folder = tmp_path / "BILLING_PERIOD=2026-10"
    folder.mkdir()
    _cur2_parquet(folder / "cur-00001.parquet", [{"unblended": 8.00, "net": 6.80}])
    _cur2_parquet(
        folder / "cur-00002.parquet",
        [{"unblended": -1.20, "net": 0.0, "type": "PrivateRateDiscount", "amount": 0.0}],
    )
    df = read_cur(tmp_path)
    assert df["cost_usd"].tolist() == pytest.approx([8.00, -1.20])
    assert billed_totals(df).usage_usd == pytest.approx(6.80)


# --- each line's period: daily, hourly or monthly exports -------------------------------------


def test_cur_line_periods_end_where_the_export_says(tmp_path):
    """line_item_usage_end_date is exclusive: a monthly line 2026-10-01 to 2026-11-01 covers
    October (end_date 11-01), an hourly line 23:00 to 00:00 the day it starts (end_date 10-02), a
    daily line its day; a line without an end date is its start day's."""
    path = _cur_csv(
        tmp_path / "cur.csv",
        [
            {"line_item_usage_end_date": "2026-11-01T00:00:00Z"},
            {
                "line_item_usage_start_date": "2026-10-01T23:00:00Z",
                "line_item_usage_end_date": "2026-10-02T00:00:00Z",
            },
            {
                "line_item_usage_start_date": "2026-10-05T00:00:00Z",
                "line_item_usage_end_date": "2026-10-06T00:00:00Z",
            },
            {"line_item_usage_start_date": "2026-10-07T00:00:00Z", "line_item_usage_end_date": ""},
        ],
    )
    df = read_cur(path)
    assert df["date"].tolist() == [dt.date(2026, 10, d) for d in (1, 1, 5, 7)]
    assert df["end_date"].tolist() == [
        dt.date(2026, 11, 1),
        dt.date(2026, 10, 2),
        dt.date(2026, 10, 6),
        dt.date(2026, 10, 8),
    ]


def test_focus_charge_period_end_is_read(tmp_path):
    """ChargePeriodEnd is the exclusive end: the fixture's daily lines of 2026-03-01 end 03-02;
    a monthly charge period ends on the 1st of the next month."""
    assert set(read_focus(FOCUS)["end_date"]) == {dt.date(2026, 3, 2)}
    path = tmp_path / "focus_monthly.csv"
    pd.read_csv(FOCUS).assign(ChargePeriodEnd="2026-04-01T00:00:00Z").to_csv(path, index=False)
    assert set(read_focus(path)["end_date"]) == {dt.date(2026, 4, 1)}


# --- which files of an export are read ---------------------------------------------------------


def _one_day_export(root: Path) -> Path:
    """A CUR 2.0 export with one file: Nova Pro input, $0.80, of 2026-10-01."""
    folder = root / "bedrock-cur" / "data" / "BILLING_PERIOD=2026-10"
    folder.mkdir(parents=True)
    return _cur_csv(folder / "bedrock-cur-00001.csv", [{}])


@pytest.mark.parametrize(
    "paths",
    [
        lambda root, file: [root / "bedrock-cur", root / "bedrock-cur" / "data"],
        lambda root, file: [file, file],
        lambda root, file: [root, file],
        lambda root, file: [file, root / "bedrock-cur" / "data" / ".." / "data" / file.parent.name],
    ],
    ids=["export and its data folder", "a file twice", "a folder and its file", "another spelling"],
)
def test_a_file_reached_by_two_paths_is_read_once(tmp_path, paths):
    """`--cur EXPORT EXPORT/data`: one file, $0.80 of billed usage in one line, not $1.60."""
    file = _one_day_export(tmp_path)
    df = read_cur(paths(tmp_path, file))
    assert len(df) == 1 and df.attrs["rows_read"] == 1
    assert billed_totals(df).usage_usd == pytest.approx(0.80)


def test_a_legacy_cur_zip_in_a_folder_is_read(tmp_path):
    """Legacy CUR compresses with ZIP or GZIP (``<name>-1.csv.zip``): February delivered as ZIP,
    March as GZIP, $0.80 each. The folder bills $1.60 in 2 lines; the ZIP was skipped ($0.80),
    and a folder of ZIPs alone was "no files" though each reads when named."""
    report = tmp_path / "myreport"
    february, march = report / "20260201-20260301", report / "20260301-20260401"
    february.mkdir(parents=True)
    march.mkdir()
    feb_csv = _cur_csv(tmp_path / "feb.csv", [{"line_item_usage_start_date": "2026-02-10"}])
    with zipfile.ZipFile(february / "myreport-1.csv.zip", "w") as z:
        z.write(feb_csv, "myreport-1.csv")
    assert billed_totals(read_cur(report)).usage_usd == pytest.approx(0.80)  # the ZIP alone
    mar_csv = _cur_csv(tmp_path / "mar.csv", [{"line_item_usage_start_date": "2026-03-10"}])
    (march / "myreport-1.csv.gz").write_bytes(gzip.compress(mar_csv.read_bytes()))
    df = read_cur(report)
    assert df.attrs["rows_read"] == 2
    assert df["date"].tolist() == [dt.date(2026, 2, 10), dt.date(2026, 3, 10)]
    assert billed_totals(df).usage_usd == pytest.approx(1.60)


def _athena_legacy_cur(root: Path) -> Path:
    """A legacy CUR delivered for Athena: its parquet under ``<name>/year=/month=``, and the
    status table in ``cost_and_usage_data_status/`` (one ``status`` column, "READY")."""
    report = root / "cur" / "myreport"
    data = report / "myreport" / "year=2026" / "month=10"
    data.mkdir(parents=True)
    pd.read_csv(_cur_csv(root / "cur.csv", [{}])).to_parquet(data / "myreport-00001.snappy.parquet")
    (report / "cost_and_usage_data_status").mkdir()
    status = pa.table({"status": ["READY"]})
    pq.write_table(
        status, report / "cost_and_usage_data_status" / "cost_and_usage_data_status.parquet"
    )
    return report


def test_the_athena_status_table_of_a_legacy_cur_is_skipped_and_said_so(tmp_path):
    """The report folder bills $0.80; its status table is not billing data. The whole folder
    failed on it ("lacks column(s) ... Re-export it")."""
    report = _athena_legacy_cur(tmp_path)
    told: list[str] = []
    df = read_cur(report, note=told.append)
    assert billed_totals(df).usage_usd == pytest.approx(0.80) and df.attrs["rows_read"] == 1
    status = report / "cost_and_usage_data_status" / "cost_and_usage_data_status.parquet"
    assert [s["file"] for s in df.attrs["files_skipped"]] == [str(status)]
    assert "Athena status table" in df.attrs["files_skipped"][0]["reason"]
    assert told == [f"left out {status}: {df.attrs['files_skipped'][0]['reason']}"]
    with pytest.raises(FileNotFoundError, match="only cost_and_usage_data_status"):
        read_cur(status.parent)  # the status table alone is no billing export


# --- several deliveries of one billing period -------------------------------------------------

DAY1 = [{"line_item_usage_start_date": "2026-10-01T00:00:00Z"}]
DAY1_2 = [*DAY1, {"line_item_usage_start_date": "2026-10-02T00:00:00Z"}]  # the month so far


def _gzipped_cur(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(_cur_csv(path.with_suffix(""), rows).read_bytes()))
    path.with_suffix("").unlink()
    return path


def _legacy_create_new(root: Path, manifest: dict | None) -> Path:
    """A legacy CUR with "create new report version": one assembly per refresh under the
    period's folder, each the month so far (refreshed 2 and 3 October), and the period's
    manifest naming the latest."""
    period = root / "cur" / "myreport" / "20261001-20261101"
    _gzipped_cur(period / "1b2c-assembly-1" / "myreport-1.csv.gz", DAY1)
    _gzipped_cur(period / "7f8e-assembly-2" / "myreport-1.csv.gz", DAY1_2)
    (period / "1b2c-assembly-1" / "myreport-Manifest.json").write_text("{}")  # its own
    if manifest is not None:
        (period / "myreport-Manifest.json").write_text(json.dumps(manifest))
    return root / "cur" / "myreport"


def test_a_legacy_cur_period_delivered_twice_is_read_from_its_latest_delivery(tmp_path):
    """The latest assembly (the period's manifest: assemblyId, reportKeys) bills $1.60 in 2
    lines; both were read and summed: $2.40 in 3. The older one is left out and said so."""
    key = "cur/myreport/20261001-20261101/7f8e-assembly-2/myreport-1.csv.gz"
    report = _legacy_create_new(tmp_path, {"assemblyId": "7f8e-assembly-2", "reportKeys": [key]})
    told: list[str] = []
    df = read_cur(report, note=told.append)
    assert billed_totals(df).usage_usd == pytest.approx(1.60) and len(df) == 2
    assert df["date"].tolist() == [dt.date(2026, 10, 1), dt.date(2026, 10, 2)]
    period = (report / "20261001-20261101").resolve()
    assert [s["file"] for s in df.attrs["files_skipped"]] == [str(period / "1b2c-assembly-1")]
    assert (
        "an older delivery of billing period 20261001-20261101"
        in (df.attrs["files_skipped"][0]["reason"])
    )
    assert told == [
        f"{period}: read the latest delivery of billing period 20261001-20261101, "
        "7f8e-assembly-2, as myreport-Manifest.json names it; left out 1 older delivery of "
        "the period, each holding the period so far: 1b2c-assembly-1"
    ]
    # by the assemblyId alone, as well
    (period / "myreport-Manifest.json").write_text(json.dumps({"assemblyId": "7f8e-assembly-2"}))
    assert billed_totals(read_cur(report, note=None)).usage_usd == pytest.approx(1.60)


def _data_export_create_new(root: Path, manifest: bool) -> Path:
    """A CUR 2.0 Data Export with overwrite off: every refresh of October kept in its own
    execution folder, each the month so far; metadata/ holds the period's manifest."""
    export = root / "bucket" / "prefix" / "bedrock-cur"
    period = export / "data" / "BILLING_PERIOD=2026-10"
    for execution, rows in (("20261002T061512Z-4a1c", DAY1), ("20261003T060944Z-9f2e", DAY1_2)):
        (period / execution).mkdir(parents=True)
        pd.read_csv(_cur_csv(root / f"{execution}.csv", rows)).to_parquet(
            period / execution / "bedrock-cur-00001.snappy.parquet"
        )
    if manifest:
        uri = f"s3://bucket/prefix/bedrock-cur/data/{period.name}/20261003T060944Z-9f2e/"
        metadata = export / "metadata" / period.name
        metadata.mkdir(parents=True)
        content = {
            "executionId": "20261003T060944Z-9f2e",
            "dataFiles": [f"{uri}bedrock-cur-00001.snappy.parquet"],
        }
        (metadata / "bedrock-cur-Manifest.json").write_text(json.dumps(content))
    return export


@pytest.mark.parametrize("given", ["export", "its data folder"])
def test_a_data_export_period_delivered_twice_is_read_from_its_latest_delivery(tmp_path, given):
    """The manifest in metadata/BILLING_PERIOD=2026-10/ names the latest execution's files:
    $1.60 in 2 lines (was $2.40 in 3), whether the export or its data/ folder is given."""
    export = _data_export_create_new(tmp_path, manifest=True)
    df = read_cur(export if given == "export" else export / "data", note=None)
    assert billed_totals(df).usage_usd == pytest.approx(1.60) and len(df) == 2
    older = export.resolve() / "data" / "BILLING_PERIOD=2026-10" / "20261002T061512Z-4a1c"
    assert [s["file"] for s in df.attrs["files_skipped"]] == [str(older)]


def test_deliveries_of_a_period_without_a_manifest_are_refused_naming_them(tmp_path):
    """No manifest says which refresh is the latest: the read is refused, naming both
    deliveries and the fix, never summed ($2.40 for $1.60); one delivery named reads."""
    export = _data_export_create_new(tmp_path, manifest=False)
    with pytest.raises(BillingFormatError) as err:
        read_cur(export)
    msg = str(err.value)
    assert "holds 2 deliveries of billing period BILLING_PERIOD=2026-10" in msg
    assert "(20261002T061512Z-4a1c, 20261003T060944Z-9f2e)" in msg
    assert "count its spend 2 times" in msg and "no manifest says which is the latest" in msg
    assert "Point at one delivery folder (the latest)" in msg and "\n" not in msg
    assert "metadata/BILLING_PERIOD=2026-10/<export>-Manifest.json" in msg
    latest = export / "data" / "BILLING_PERIOD=2026-10" / "20261003T060944Z-9f2e"
    assert billed_totals(read_cur(latest)).usage_usd == pytest.approx(1.60)
    with pytest.raises(BillingFormatError, match="2 deliveries"):
        read_focus(export)  # FOCUS exports are delivered the same way


def test_a_manifest_naming_a_delivery_that_is_not_here_is_refused(tmp_path):
    """The latest assembly was not downloaded: the older two cannot stand in for it."""
    key = "cur/myreport/20261001-20261101/9999-assembly-3/myreport-1.csv.gz"
    report = _legacy_create_new(tmp_path, {"assemblyId": "9999-assembly-3", "reportKeys": [key]})
    with pytest.raises(
        BillingFormatError, match="names 9999-assembly-3 as the latest, which is not here"
    ):
        read_cur(report)


# --- a file read a batch at a time --------------------------------------------------------------

LINES = 2_500  # read 1,000 at a time: batches of lines 0-999, 1000-1999 and 2000-2499
CLAUDE = "Claude Sonnet 4.5 (Amazon Bedrock Edition)"
# line -> Bedrock line kind; every other line is EC2's
EVERY_BATCH = {0: "nova", 999: "claude", 1000: "nova", 1999: "nova", 2000: "claude", 2499: "nova"}
MIDDLE_BATCH_WITHOUT = {5: "nova", 999: "claude", 2000: "nova", 2499: "claude"}


def _batch_line(i: int, kind: str | None) -> dict:
    """Line ``i`` of a payer's export, of ``kind`` (None: EC2): Nova Pro input of i + 1 units of
    1K tokens at $0.001 a unit, or Claude (Marketplace) input of 0.5 Units for $1.50, on day
    i // 1000 + 1 of October 2026."""
    day = dt.datetime(2026, 10, 1 + i // 1000, tzinfo=dt.UTC)
    line = {
        "start": day,
        "code": "AmazonEC2",
        "usage_type": "USE1-BoxUsage:m5.large",
        "amount": 1.0,
        "cost": 0.096,
        "unit": "Hrs",
        "product_name": "Amazon Elastic Compute Cloud",
    }
    if kind == "nova":
        line.update(
            code="AmazonBedrock",
            usage_type="USE1-NovaPro-input-tokens",
            amount=float(i + 1),
            cost=(i + 1) / 1000,
            unit="1K tokens",
            product_name="Amazon Bedrock",
        )
    elif kind == "claude":
        line.update(
            code="c9lkq2v0y3b8m4xz1n7pw5tsd",
            usage_type="USE1-MP:USE1_InputTokenCount-Units",
            amount=0.5,
            cost=1.5,
            unit="Units",
            product_name=CLAUDE,
        )
    return line


def _payer_lines(bedrock: dict[int, str]) -> list[dict]:
    return [_batch_line(i, bedrock.get(i)) for i in range(LINES)]


def _payer_cur(lines: list[dict]) -> dict[str, list]:
    """The lines as CUR 2.0 columns; ``product`` a map, as a Data Export writes it."""
    return {
        "line_item_usage_start_date": [x["start"] for x in lines],
        "line_item_usage_end_date": [x["start"] + dt.timedelta(days=1) for x in lines],
        "line_item_product_code": [x["code"] for x in lines],
        "line_item_usage_type": [x["usage_type"] for x in lines],
        "line_item_line_item_type": ["Usage"] * len(lines),
        "line_item_usage_amount": [x["amount"] for x in lines],
        "line_item_unblended_cost": [x["cost"] for x in lines],
        "line_item_currency_code": ["USD"] * len(lines),
        "pricing_unit": [x["unit"] for x in lines],
        "product": [[("product_name", x["product_name"])] for x in lines],
        "product_region_code": ["us-east-1"] * len(lines),
    }


def _payer_cur_parquet(path: Path, bedrock: dict[int, str]) -> Path:
    columns = _payer_cur(_payer_lines(bedrock))
    ts = pa.timestamp("ms", tz="UTC")
    for name in ("line_item_usage_start_date", "line_item_usage_end_date"):
        columns[name] = pa.array(columns[name], ts)
    columns["product"] = pa.array(columns["product"], pa.map_(pa.string(), pa.string()))
    pq.write_table(pa.table(columns), path)
    return path


def _payer_cur_csv(path: Path, bedrock: dict[int, str]) -> Path:
    """As a CSV export writes it: the product map a JSON object, timestamps ISO text."""
    table = pd.DataFrame(_payer_cur(_payer_lines(bedrock)))
    table["product"] = [_json_product(p) for p in table["product"]]
    for name in ("line_item_usage_start_date", "line_item_usage_end_date"):
        table[name] = table[name].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    table.to_csv(path, index=False)
    return path


def _payer_focus(bedrock: dict[int, str]) -> pd.DataFrame:
    lines = _payer_lines(bedrock)
    return pd.DataFrame(
        {
            "ChargePeriodStart": [x["start"] for x in lines],
            "ChargePeriodEnd": [x["start"] + dt.timedelta(days=1) for x in lines],
            "ServiceName": [x["product_name"] for x in lines],
            "x_ServiceCode": [x["code"] for x in lines],
            "x_UsageType": [x["usage_type"] for x in lines],
            "ChargeCategory": ["Usage"] * len(lines),
            "ConsumedQuantity": [x["amount"] for x in lines],
            "ConsumedUnit": [x["unit"] for x in lines],
            "BilledCost": [x["cost"] for x in lines],
            "BillingCurrency": ["USD"] * len(lines),
            "RegionId": ["us-east-1"] * len(lines),
        }
    )


def _payer_focus_csv(path: Path, bedrock: dict[int, str]) -> Path:
    table = _payer_focus(bedrock)
    for name in ("ChargePeriodStart", "ChargePeriodEnd"):
        table[name] = table[name].map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    table.to_csv(path, index=False)
    return path


def _payer_focus_parquet(path: Path, bedrock: dict[int, str]) -> Path:
    _payer_focus(bedrock).to_parquet(path, index=False)
    return path


PAYER_EXPORTS = {
    "CUR parquet": (_payer_cur_parquet, "payer-cur-00001.snappy.parquet", read_cur),
    "CUR CSV": (_payer_cur_csv, "payer-cur-00001.csv", read_cur),
    "FOCUS CSV": (_payer_focus_csv, "payer-focus-00001.csv", read_focus),
    "FOCUS parquet": (_payer_focus_parquet, "payer-focus-00001.parquet", read_focus),
}


@pytest.mark.parametrize("export", PAYER_EXPORTS.values(), ids=PAYER_EXPORTS.keys())
@pytest.mark.parametrize(
    "bedrock", [EVERY_BATCH, MIDDLE_BATCH_WITHOUT], ids=["every batch", "a batch without"]
)
def test_a_payers_export_is_read_a_batch_at_a_time_into_the_same_frame(
    tmp_path, monkeypatch, export, bedrock
):
    """2,500 lines, a few of them Bedrock's (Nova Pro, Claude through Marketplace), the others
    EC2's, read 1,000 lines at a time: the file is read in batches of 1,000, 1,000 and 500
    lines, and the frame is the one a single batch of the whole file gives, its Bedrock lines
    in the file's order (Nova Pro's units of 1K tokens, Claude's Units of 1M). Of a Parquet
    batch only the Bedrock lines are made pandas (no EC2 line names Bedrock); a CSV batch is
    parsed whole."""
    write, name, read = export
    path = write(tmp_path / name, bedrock)
    whole = read(path)
    batches: list[tuple[int, int]] = []  # (lines read, lines made pandas)
    read_candidate_batches = cur.read_candidate_batches

    def counted(*args, **kwargs):
        for lines, batch in read_candidate_batches(*args, **kwargs):
            batches.append((lines, len(batch)))
            yield lines, batch

    monkeypatch.setattr(cur, "BATCH_ROWS", 1_000)
    monkeypatch.setattr(cur, "read_candidate_batches", counted)
    df = read(path)
    assert [lines for lines, _ in batches] == [1_000, 1_000, 500]
    bedrock_per_batch = [sum(1 for i in bedrock if i // 1_000 == b) for b in range(3)]
    parsed = bedrock_per_batch if name.endswith(".parquet") else [1_000, 1_000, 500]
    assert [held for _, held in batches] == parsed
    assert df.attrs == {
        "rows_read": 2_500,
        "rows_bedrock": len(bedrock),
        "rows_other_services": 2_500 - len(bedrock),
        "files_skipped": [],
    }
    nova = {i: (i + 1) * 1_000.0 for i, kind in bedrock.items() if kind == "nova"}
    expected_tokens = [nova.get(i, 500_000.0) for i in sorted(bedrock)]
    assert df["quantity"].tolist() == expected_tokens and set(df["unit"]) == {"tokens"}
    assert df["model"].tolist() == [
        "amazon.nova-pro" if bedrock[i] == "nova" else "anthropic.claude-sonnet-4-5"
        for i in sorted(bedrock)
    ]
    assert df["date"].tolist() == [dt.date(2026, 10, 1 + i // 1000) for i in sorted(bedrock)]
    assert df["marketplace"].tolist() == [bedrock[i] == "claude" for i in sorted(bedrock)]
    expected_cost = sum((i + 1) / 1000 for i in nova) + 1.5 * (len(bedrock) - len(nova))
    assert df["cost_usd"].sum() == pytest.approx(expected_cost)
    pd.testing.assert_frame_equal(df, whole)
    assert df.attrs == whole.attrs


def test_checks_on_bedrock_lines_see_every_batchs_lines(tmp_path, monkeypatch):
    """Read 1,000 lines at a time, a currency or an unreadable date on Bedrock lines of the first
    and the last batch is refused naming both, as read whole; on EC2 lines it is not read."""
    monkeypatch.setattr(cur, "BATCH_ROWS", 1_000)
    table = pd.read_csv(_payer_cur_csv(tmp_path / "cur.csv", MIDDLE_BATCH_WITHOUT))
    table.loc[[5, 2499], "line_item_currency_code"] = ["EUR", "JPY"]
    table.loc[[1, 1500], "line_item_currency_code"] = "GBP"  # EC2's
    table.to_csv(tmp_path / "currency.csv", index=False)
    with pytest.raises(BillingFormatError, match=r"Bedrock costs in \['EUR', 'JPY'\]"):
        read_cur(tmp_path / "currency.csv")
    table = pd.read_csv(tmp_path / "cur.csv")
    table.loc[[999, 2000], "line_item_usage_start_date"] = ["yesterday", "soon"]
    table.loc[1500, "line_item_usage_start_date"] = "never"  # EC2's
    table.to_csv(tmp_path / "dates.csv", index=False)
    with pytest.raises(
        BillingFormatError,
        match=r"2 row\(s\) with an unreadable line_item_usage_start_date \(e\.g\. \['yesterday', "
        r"'soon'\]\)",
    ):
        read_cur(tmp_path / "dates.csv")


# --- the Arrow pre-filter: a superset of is_bedrock_line -----------------------------------------

MAP_ONLY = "Claude Sonnet 4.5 (Amazon Bedrock Edition)"
# (id, product code, product_product_name, the product map's product_name, line type), and
# whether is_bedrock_line keeps the line
TRICKY_CUR = [
    ("map only", "c9lkq2v0y3b8m4xz1n7pw5tsd", None, MAP_ONLY, "Usage", True),
    ("odd case", "c9lkq2v0y3b8m4xz1n7pw5tsd", "  claude 3 haiku (AMAZON BEDROCK EDITION) ", None,
     "Usage", True),
    ("kelvin sign", "c9lkq2v0y3b8m4xz1n7pw5tsd", "Claude 3 Opus (Amazon Bedroc\u212a Edition)",
     None, "Usage", True),
    ("null code", None, "Claude 3 Haiku (Amazon Bedrock Edition)", None, "Usage", True),
    ("code, no name", "AmazonBedrock", None, None, "Usage", True),
    ("tax", "AmazonBedrock", "Amazon Bedrock", "Amazon Bedrock", "Tax", True),
    ("credit", "AmazonBedrock", None, None, "Credit", True),
    ("marketplace tax", "c9lkq2v0y3b8m4xz1n7pw5tsd", None, MAP_ONLY, "Tax", True),
    ("ec2", "AmazonEC2", "Amazon Elastic Compute Cloud", "Amazon Elastic Compute Cloud", "Usage",
     False),
    ("ec2, no name", "AmazonEC2", None, None, "Usage", False),
    ("names bedrock", "e4k1ad0rnq0m7b7d3x8w2j5vz", "Bedrock Analytics Suite", None, "Usage",
     False),
]  # fmt: skip


def _tricky_cur_parquet(path: Path) -> Path:
    """The tricky lines as a CUR 2.0 Data Export writes them, the product map beside the
    (legacy) product name column, each line's id in its resource ID."""
    n = len(TRICKY_CUR)
    pq.write_table(
        pa.table(
            {
                "line_item_usage_start_date": pa.array([_DAY] * n, pa.timestamp("ms", tz="UTC")),
                "line_item_product_code": [x[1] for x in TRICKY_CUR],
                "line_item_usage_type": ["USE1-MP:USE1_InputTokenCount-Units"] * n,
                "line_item_line_item_type": [x[4] for x in TRICKY_CUR],
                "line_item_resource_id": [x[0] for x in TRICKY_CUR],
                "line_item_usage_amount": [1.0] * n,
                "line_item_unblended_cost": [1.0] * n,
                "product_product_name": pa.array([x[2] for x in TRICKY_CUR], pa.string()),
                "product": pa.array(
                    [[("product_name", x[3])] if x[3] else [] for x in TRICKY_CUR],
                    pa.map_(pa.string(), pa.string()),
                ),
            }
        ),
        path,
    )
    return path


def _candidates_and_bedrock(path: Path, wanted: list[str]) -> tuple[list[str], list[str], int]:
    """The ids of the lines the Arrow pre-filter keeps, of those :func:`is_bedrock_line` keeps
    of the whole file, and the number of lines read."""
    (lines, candidates), *rest = cur.read_candidate_batches(path, wanted)
    (whole,) = cur.read_batches(path, wanted)
    assert not rest and lines == len(whole)
    ids = "line_item_resource_id" if "line_item_resource_id" in whole else "ChargeDescription"
    bedrock = whole[cur.is_bedrock_line(whole)]
    return list(candidates[ids]), list(bedrock[ids]), lines


def test_the_arrow_pre_filter_keeps_every_tricky_bedrock_line(tmp_path):
    """Bedrock lines whose name is in the product map alone, in odd case and spaces (a Kelvin
    sign for its K, which Python lowers to k), under no product code, under the code with no
    name, and tax and credit lines are all kept by the pre-filter; EC2's are not, named or not,
    and a product that names Bedrock without being sold through it is, then is_bedrock_line
    drops it and it is counted with the other services' lines."""
    path = _tricky_cur_parquet(tmp_path / "tricky.parquet")
    candidates, bedrock, lines = _candidates_and_bedrock(path, cur.CUR_REQUIRED + cur.CUR_OPTIONAL)
    assert bedrock == [x[0] for x in TRICKY_CUR if x[5]]
    assert set(bedrock) <= set(candidates)
    assert candidates == [x[0] for x in TRICKY_CUR if x[0] not in {"ec2", "ec2, no name"}]
    assert lines == len(TRICKY_CUR)
    df = read_cur(path, note=None)
    assert df.attrs == {
        "rows_read": 11,
        "rows_bedrock": 8,
        "rows_other_services": 3,
        "files_skipped": [],
    }
    assert df["line_type"].tolist() == [x[4] for x in TRICKY_CUR if x[5]]


def test_the_arrow_pre_filter_reads_a_json_product_column_as_text(tmp_path):
    """A Parquet export whose product column is JSON text: a name with "Bedrock" in it, or
    written with a \\u escape (which JSON readers decode), could be Bedrock's; EC2's is not."""
    escaped = '{"product_name": "Claude 3 Haiku (Amazon \\u0042edrock Edition)"}'
    products = {
        "escaped": escaped,
        "plain": _json_product([("product_name", MAP_ONLY)]),
        "ec2": _json_product([("product_name", "Amazon Elastic Compute Cloud")]),
        "empty": None,
    }
    path = tmp_path / "json.parquet"
    n = len(products)
    pd.DataFrame(
        {
            "line_item_usage_start_date": ["2026-03-01T00:00:00Z"] * n,
            "line_item_product_code": ["c9lkq2v0y3b8m4xz1n7pw5tsd"] * n,
            "line_item_usage_type": ["USE1-MP:USE1_InputTokenCount-Units"] * n,
            "line_item_resource_id": list(products),
            "line_item_usage_amount": [1.0] * n,
            "line_item_unblended_cost": [1.0] * n,
            "product": list(products.values()),
        }
    ).to_parquet(path, index=False)
    candidates, bedrock, _ = _candidates_and_bedrock(path, cur.CUR_REQUIRED + cur.CUR_OPTIONAL)
    assert bedrock == ["escaped", "plain"] and candidates == ["escaped", "plain"]
    assert read_cur(path, note=None).attrs["rows_other_services"] == 2


def test_the_arrow_pre_filter_keeps_every_tricky_focus_bedrock_line(tmp_path):
    """FOCUS: the service name in odd case, the service code with no name, a Marketplace name
    under no code, a Bedrock credit; not EC2's, nor a line with neither."""
    lines = {  # ChargeDescription (the line's id) -> (ServiceName, x_ServiceCode, category)
        "odd case": ("  claude 3 haiku (AMAZON BEDROCK EDITION) ", None, "Usage"),
        "code, no name": (None, "AmazonBedrock", "Usage"),
        "first party": ("Amazon Bedrock", "AmazonBedrock", "Usage"),
        "credit": ("Amazon Bedrock", "AmazonBedrock", "Credit"),
        "ec2": ("Amazon Elastic Compute Cloud", "AmazonEC2", "Usage"),
        "neither": (None, None, "Usage"),
    }
    path = tmp_path / "focus.parquet"
    n = len(lines)
    pd.DataFrame(
        {
            "ChargePeriodStart": ["2026-03-01T00:00:00Z"] * n,
            "ChargeDescription": list(lines),
            "ServiceName": [x[0] for x in lines.values()],
            "x_ServiceCode": [x[1] for x in lines.values()],
            "ChargeCategory": [x[2] for x in lines.values()],
            "BilledCost": [1.0] * n,
        }
    ).to_parquet(path, index=False)
    candidates, bedrock, _ = _candidates_and_bedrock(path, cur.FOCUS_REQUIRED + cur.FOCUS_OPTIONAL)
    expected = ["odd case", "code, no name", "first party", "credit"]
    assert bedrock == expected and candidates == expected
    df = read_focus(path, note=None)
    assert (df.attrs["rows_bedrock"], df.attrs["rows_other_services"]) == (4, 2)
