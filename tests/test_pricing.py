"""The cost engine against hand-computed figures, each from a stated sheet price (per 1K)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from bedrock_finops.price_sheets import PriceInputError
from bedrock_finops.pricing import PriceCatalog, prices_as_of, with_cached_prefix
from bedrock_finops.schema import USAGE_COLUMNS, empty_usage

OPUS4, SONNET4, HAIKU35 = (
    "anthropic.claude-opus-4",
    "anthropic.claude-sonnet-4",
    "anthropic.claude-3-5-haiku",
)
SONNET45, NOVA_PRO, TITAN = (
    "anthropic.claude-sonnet-4-5",
    "amazon.nova-pro",
    "amazon.titan-text-express",
)


def usage(n: int = 1, **cols) -> pd.DataFrame:
    """n canonical usage rows (Arrow dtypes) with defaults: us-east-1, in-region, default tier."""
    base = {
        "model_id_raw": "raw-id",
        "model": SONNET4,
        "region": "us-east-1",
        "geo": "none",
        "service_tier": "default",
        "input_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cache_ttl": None,
        "output_tokens": 0,
    }
    base.update(cols)
    empty = empty_usage()
    data = {}
    for c in USAGE_COLUMNS:
        dtype = empty[c].dtype
        v = base.get(c)
        if isinstance(v, list):
            data[c] = pd.array(v, dtype=dtype)
        else:  # one value for every row, built in Arrow directly (fast for 1M rows)
            scalar = pa.scalar(v, type=dtype.pyarrow_dtype)
            data[c] = pd.arrays.ArrowExtensionArray(pa.repeat(scalar, n))
    return pd.DataFrame(data)


@pytest.fixture(scope="module")
def seed() -> PriceCatalog:
    return PriceCatalog.load("seed")


@pytest.fixture(scope="module")
def current() -> PriceCatalog:
    return PriceCatalog.load("current")


# --- the source article's claims, on its own table (seed sheet) -------------------------------


def test_haiku_is_94_67_pct_cheaper_than_opus_on_the_same_tokens(seed):
    # Opus 0.015/0.075, "Claude 4 Haiku" (= 3.5 Haiku) 0.0008/0.004: both ratios are 0.05333.
    u = usage(1, model=OPUS4, input_tokens=1000, output_tokens=1000)
    opus = seed.price(u)["cost_usd"].iloc[0]  # 0.015 + 0.075 = 0.09
    haiku = seed.price(u, model=HAIKU35)["cost_usd"].iloc[0]  # 0.0008 + 0.004 = 0.0048
    assert opus == pytest.approx(0.09)
    assert haiku == pytest.approx(0.0048)
    assert round(100 * (1 - haiku / opus), 2) == 94.67


def test_haiku_vs_sonnet_is_3_75x_not_the_articles_5x(seed):
    # The article's FAQ: "use Haiku (5x cheaper)" than Sonnet. Its own table: 0.003/0.0008 and
    # 0.015/0.004 are both 3.75, i.e. Haiku is 73.3% cheaper, not 80%.
    u = usage(1, model=SONNET4, input_tokens=1000, output_tokens=1000)
    sonnet = seed.price(u)["cost_usd"].iloc[0]  # 0.003 + 0.015 = 0.018
    haiku = seed.price(u, model=HAIKU35)["cost_usd"].iloc[0]  # 0.0048
    assert sonnet == pytest.approx(0.018)
    assert sonnet / haiku == pytest.approx(3.75)
    assert round(100 * (1 - haiku / sonnet), 1) == 73.3


def test_classification_1m_docs_on_haiku_800_on_demand_400_batch(seed):
    # 1M docs x 1,000 input tokens x 0.0008/1K = $800; batch 0.0004/1K = $400 (no output tokens)
    u = usage(1_000_000, model=HAIKU35, input_tokens=1000)
    assert seed.price(u)["cost_usd"].sum() == pytest.approx(800.0)
    assert seed.price(u, mode="batch")["cost_usd"].sum() == pytest.approx(400.0)


def test_article_batch_rows_imply_these_token_counts_on_sonnet(seed):
    # "100K email summaries $300 / $150": 500 in + 100 out on Sonnet = 0.0015 + 0.0015 = $0.003
    emails = usage(100_000, input_tokens=500, output_tokens=100)
    assert seed.price(emails)["cost_usd"].sum() == pytest.approx(300.0)
    assert seed.price(emails, mode="batch")["cost_usd"].sum() == pytest.approx(150.0)
    # "500K content generation $7,500 / $3,750": 1,000 output tokens x 0.015 = $0.015 each
    content = usage(500_000, output_tokens=1000)
    assert seed.price(content)["cost_usd"].sum() == pytest.approx(7500.0)
    assert seed.price(content, mode="batch")["cost_usd"].sum() == pytest.approx(3750.0)


def test_system_prompt_10k_tokens_1000_calls_on_sonnet(seed):
    u = usage(1000, input_tokens=10_000)
    assert seed.price(u)["cost_usd"].sum() == pytest.approx(30.0)  # 10M x 0.003/1K
    hits = np.arange(1000) > 0  # the first call writes, 999 read
    cached = with_cached_prefix(u, 10_000, hits, ttl="5m")
    cost = seed.price(cached)
    # one write: 10 x 0.00375 = 0.0375; 999 reads: 999 x 10 x 0.0003 = 2.997
    assert cost["cache_write_usd"].sum() == pytest.approx(0.0375)
    assert cost["cache_read_usd"].sum() == pytest.approx(2.997)
    assert cost["cost_usd"].sum() == pytest.approx(3.0345)
    # The article's "$1.50 uncached" would need 500 tokens per call, not 10,000.
    assert seed.price(usage(1000, input_tokens=500))["cost_usd"].sum() == pytest.approx(1.5)


def test_seed_sheet_is_the_article_table(seed):
    r = seed.rate(HAIKU35)
    assert (r["input_per_1k"], r["output_per_1k"]) == (0.0008, 0.004)
    assert "Claude 4 Haiku" in r["source"]
    llama = seed.rate("meta.llama3-1-70b-instruct")
    assert (llama["input_per_1k"], llama["output_per_1k"]) == (0.00099, 0.00099)
    assert seed.as_of is None  # the article carries no date


# --- current sheet: cache TTL, geo, tiers, batch, PT ------------------------------------------


def test_cache_write_1h_costs_2x_input_5m_costs_1_25x(current):
    # Sonnet 4.5 global: input 0.003; 5m write 0.00375, 1h write 0.006 per 1K
    five = usage(1, model=SONNET45, geo="global", cache_write_tokens=10_000, cache_ttl="5m")
    hour = usage(1, model=SONNET45, geo="global", cache_write_tokens=10_000, cache_ttl="1h")
    assert current.price(five)["cost_usd"].iloc[0] == pytest.approx(0.0375)
    assert current.price(hour)["cost_usd"].iloc[0] == pytest.approx(0.06)


def test_a_request_writing_both_ttls_prices_each_at_its_rate(current):
    """A 1h system prompt and 5m turns in one request: 2,000 tokens at the 1h rate, 18,000 at
    the 5m rate, not all 20,000 at 1h ($0.120) as when only the marker was read."""
    both = usage(
        1,
        model=SONNET45,
        geo="global",
        cache_write_tokens=20_000,
        cache_write_1h_tokens=2_000,
        cache_ttl="1h",
    )
    out = current.price(both).iloc[0]
    assert out["cache_write_usd"] == pytest.approx(18 * 0.00375 + 2 * 0.006)  # $0.0795
    # a row whose split is unknown (null) falls back to its marker: all 20,000 at 1h
    unknown = usage(1, model=SONNET45, geo="global", cache_write_tokens=20_000, cache_ttl="1h")
    assert current.price(unknown)["cache_write_usd"].iloc[0] == pytest.approx(20 * 0.006)


def test_only_the_5m_part_of_a_split_needs_a_5m_price(current):
    # Sonnet 4 has no 1h price: 1h writes are unpriced, 5m writes alone are not
    five = usage(1, model=SONNET4, cache_write_tokens=5000, cache_write_1h_tokens=0, cache_ttl="1h")
    assert current.price(five)["cost_usd"].iloc[0] == pytest.approx(5 * 0.00375)
    hour = usage(1, model=SONNET4, cache_write_tokens=5000, cache_write_1h_tokens=1, cache_ttl="5m")
    assert current.price(hour)["unpriced_reason"].iloc[0] == "no 1h cache write price"


def test_1h_write_on_a_model_without_1h_ttl_is_unpriced(current):
    u = usage(1, model=SONNET4, cache_write_tokens=5000, cache_ttl="1h")
    out = current.price(u).iloc[0]
    assert not out["priced"] and math.isnan(out["cost_usd"])
    assert out["unpriced_reason"] == "no 1h cache write price"


def test_geo_profile_is_10_pct_over_global_for_newer_claude(current):
    # 1K in + 1K out. global 0.003 + 0.015 = 0.018; us. profile 0.0033 + 0.0165 = 0.0198
    u = usage(2, model=SONNET45, geo=["global", "us"], input_tokens=1000, output_tokens=1000)
    cost = current.price(u)["cost_usd"].to_numpy()
    assert cost == pytest.approx([0.018, 0.0198])


def test_older_model_profile_uses_in_region_price(current):
    # us.anthropic.claude-sonnet-4 in us-east-1: no "us" row, in-region row flagged as profile
    u = usage(1, model=SONNET4, geo="us", input_tokens=1000, output_tokens=1000)
    assert current.price(u)["cost_usd"].iloc[0] == pytest.approx(0.018)


def test_flex_and_priority_tiers(current):
    # Nova Pro 1K in + 1K out: default 0.0008 + 0.0032 = 0.004; flex x0.5; priority x1.75
    u = usage(1, model=NOVA_PRO, input_tokens=1000, output_tokens=1000)
    assert current.price(u)["cost_usd"].iloc[0] == pytest.approx(0.004)
    assert current.price(u, service_tier="flex")["cost_usd"].iloc[0] == pytest.approx(0.002)
    assert current.price(u, service_tier="priority")["cost_usd"].iloc[0] == pytest.approx(0.007)
    no_flex = current.price(usage(1, model=SONNET4, input_tokens=1), service_tier="flex")
    assert no_flex["unpriced_reason"].iloc[0] == "no flex tier price for model in region"


def test_rows_copying_the_us_east_1_price_say_so_in_their_source(current):
    """The 85 us-west-2 and eu-west-1 rows of the current sheet repeat the us-east-1 list price
    (the 83 with a us-east-1 row here repeat its prices: same model and tier, a us or eu row
    the us one), and each says so: 30 did not (the Opus, Sonnet and Haiku 4.5 rows, and Nova
    Micro / Lite / Pro's flex and priority rows). Nova Pro eu-west-1 flex is us-east-1's
    0.0004 / 0.0016 per 1K, for one."""
    rows = current.rows.copy()
    rows["geo_kind"] = rows["geo"].replace({"us": "geographic", "eu": "geographic"})
    keys = ["model", "geo_kind", "service_tier"]
    prices = [c for c in rows.columns if c.endswith("_per_1k")] + ["min_cache_tokens"]
    east = rows.loc[rows["region"] == "us-east-1", keys + prices]
    others = rows[rows["region"] != "us-east-1"]
    assert len(others) == 85
    paired = others.merge(east, on=keys, suffixes=("", "_east"))
    assert len(paired) == 83  # Llama 3.1 405B, Mistral Large 2407: no us-east-1 row here
    for col in prices:
        same = paired[col].eq(paired[f"{col}_east"]).fillna(False)
        both_empty = paired[col].isna() & paired[f"{col}_east"].isna()
        assert (same | both_empty).all(), col
    unsaid = others[~others["source"].str.contains("same list price as us-east-1")]
    assert unsaid[["model", "region", "geo", "service_tier"]].values.tolist() == []
    flex = current.rate(NOVA_PRO, "eu-west-1", service_tier="flex")
    assert flex[["input_per_1k", "output_per_1k"]].tolist() == [0.0004, 0.0016]


def test_batch_bills_cache_tokens_as_batch_input(current):
    # Sonnet 4 batch 0.0015 in / 0.0075 out: (1000 + 2000 + 1000) x 0.0015 + 1 x 0.0075 = 0.0135
    u = usage(
        1, input_tokens=1000, cache_read_tokens=2000, cache_write_tokens=1000, output_tokens=1000
    )
    assert current.price(u, mode="batch")["cost_usd"].iloc[0] == pytest.approx(0.0135)


def test_batch_prices_a_flex_or_priority_request_at_the_batch_rate(current):
    """A batch job has no service tier: 1,000 Nova Pro requests logged on the priority or flex
    tier (1K in + 1K out each) cost 1,000 x (0.0004 + 0.0016) = $2.00 in batch, the default
    tier's batch rates, whichever tier the rows or the call name."""
    for tier in ("priority", "flex"):
        u = usage(1000, model=NOVA_PRO, input_tokens=1000, output_tokens=1000, service_tier=tier)
        out = current.price(u, mode="batch")
        assert out["priced"].all() and out["cost_usd"].sum() == pytest.approx(2.00)
        named = current.price(u, mode="batch", service_tier=tier)
        assert named["cost_usd"].sum() == pytest.approx(2.00)


def test_batch_on_a_model_without_batch_price_is_unpriced(current):
    out = current.price(usage(1, model=TITAN, input_tokens=100), mode="batch").iloc[0]
    assert not out["priced"] and math.isnan(out["cost_usd"])
    assert out["unpriced_reason"] == "no batch price"


def test_nova_cache_write_is_free_and_read_is_a_quarter(current):
    # Nova Pro: write 0 (a true zero), read 0.0002 per 1K
    u = usage(1, model=NOVA_PRO, cache_write_tokens=4000, cache_read_tokens=4000)
    out = current.price(u).iloc[0]
    assert out["priced"] and out["cost_usd"] == pytest.approx(0.0008)


def test_sample_workload_models_are_priced(current):
    u = usage(
        5,
        model=[SONNET4, OPUS4, OPUS4, "anthropic.claude-opus-4-1", "meta.llama3-1-70b-instruct"],
        region=["us-east-1", "us-east-1", "us-east-1", "us-west-2", "us-west-2"],
        geo=["us", "none", "us", "none", "none"],
        input_tokens=1000,
    )
    assert current.price(u)["priced"].all()
    assert current.price(usage(1, model=TITAN, input_tokens=1))["priced"].all()


def test_unknown_model_and_unpriced_region_are_never_zero(current):
    u = usage(
        3,
        model=[None, TITAN, SONNET45],
        model_id_raw=["acme.mystery-v1", "amazon.titan-text-express-v1", "apac.x"],
        region=["us-east-1", "eu-west-1", "us-east-1"],
        geo=["none", "none", "apac"],
        input_tokens=0,
        output_tokens=0,
    )
    out = current.price(u)
    assert not out["priced"].any() and out["cost_usd"].isna().all()
    assert out["unpriced_reason"].tolist() == [
        "unknown model id",
        "no price for model in region",
        "no price for apac cross-region profile",
    ]
    report = current.unpriced(u)
    assert report["requests"].sum() == 3
    assert set(report["model_id_raw"]) == {
        "acme.mystery-v1",
        "amazon.titan-text-express-v1",
        "apac.x",
    }


def test_an_in_region_price_prices_only_the_profiles_the_model_has(current):
    """An in-Region row that holds for profiles prices the cross-Region profiles models.csv
    lists for the model, not others: 3.5 Haiku (us only) behind us. at 1 x 0.0008 + 1 x 0.004
    = $0.0048, behind global. unpriced (that profile does not exist; it was priced at the
    in-Region $0.0048); Sonnet 4 behind global. at 1 x 0.003 + 1 x 0.015 = $0.018. Llama 3.1
    8B, whose profiles are not recorded, keeps its us. price (1 x 0.00022 + 1 x 0.00022 =
    $0.00044) and has no global one."""
    llama = "meta.llama3-1-8b-instruct"
    u = usage(
        5,
        model=[HAIKU35, HAIKU35, SONNET4, llama, llama],
        geo=["us", "global", "global", "us", "global"],
        input_tokens=1000,
        output_tokens=1000,
    )
    out = current.price(u)
    assert out["cost_usd"].tolist()[:1] + out["cost_usd"].tolist()[2:4] == pytest.approx(
        [0.0048, 0.018, 0.00044]
    )
    assert out["priced"].tolist() == [True, False, True, True, False]
    assert out["unpriced_reason"].iat[1] == (
        "anthropic.claude-3-5-haiku has no global cross-Region profile (its profiles: us)"
    )
    assert out["unpriced_reason"].iat[4] == (
        "no global cross-Region profile recorded for meta.llama3-1-8b-instruct "
        "(models.csv profile_geos)"
    )
    with pytest.raises(KeyError, match="has no global cross-Region profile"):
        current.rate(HAIKU35, geo="global")


def test_a_marketplace_endpoint_or_imported_model_is_unpriced_with_why(current):
    """Neither is billed per token: the reason says how it is billed, not that the ID is
    unknown; the same tokens re-priced on a catalog model are priced."""
    endpoint = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/my-marketplace-llama"
    imported = "arn:aws:bedrock:us-east-1:111122223333:imported-model/abcdefghijkl"
    u = usage(2, model=[None, None], model_id_raw=[endpoint, imported])
    out = current.price(u)
    assert not out["priced"].any() and out["cost_usd"].isna().all()
    assert out["unpriced_reason"].tolist() == [
        "Bedrock Marketplace endpoint: billed per hour of its SageMaker instances (and any "
        "model provider's fee), not per token",
        "imported model (Custom Model Import): billed per model copy and minute, not per token",
    ]
    assert current.price(u, model=HAIKU35)["priced"].all()


def test_repricing_on_another_model_by_series(current):
    u = usage(2, input_tokens=1000, output_tokens=1000)
    target = pd.Series([HAIKU35, NOVA_PRO], index=u.index)
    # Haiku 3.5 0.0008 + 0.004; Nova Pro 0.0008 + 0.0032
    assert current.price(u, model=target)["cost_usd"].tolist() == pytest.approx([0.0048, 0.004])


def test_negotiated_discount_multiplies_every_price():
    cat = PriceCatalog.load("seed", discount_pct=10)
    u = usage(1, input_tokens=1000, output_tokens=1000)
    assert cat.price(u)["cost_usd"].iloc[0] == pytest.approx(0.018 * 0.9)
    assert (cat.source_summary()["discount_pct"] == 10).all()
    assert PriceCatalog.load(discount_pct=10).provisioned_hourly(
        TITAN, "us-east-1", "1_month"
    ) == pytest.approx(18.40 * 0.9)


def test_override_replaces_a_row_and_adds_one(tmp_path):
    path = tmp_path / "negotiated.csv"
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k\n"
        "anthropic.claude-sonnet-4,us-east-1,none,default,0.0025,\n"
        "amazon.nova-micro,eu-central-1,none,default,0.00004,0.00016\n"
    )
    cat = PriceCatalog.load("current", overrides=path)
    u = usage(
        2,
        model=[SONNET4, "amazon.nova-micro"],
        region=["us-east-1", "eu-central-1"],
        input_tokens=1000,
        output_tokens=1000,
    )
    # Sonnet 4: overridden input 0.0025, output kept from the sheet 0.015; Nova Micro new row
    assert cat.price(u)["cost_usd"].tolist() == pytest.approx([0.0175, 0.0002])
    assert cat.rate(SONNET4)["source"] == "override: negotiated.csv"
    assert cat.rate(SONNET4)["cache_read_per_1k"] == pytest.approx(0.0003)


def test_an_empty_flag_cell_in_an_override_keeps_the_sheets_flag(tmp_path):
    """A file with the in_region_is_profile_price column, its cell empty on a row that only
    gives a new input price, keeps the sheet's flag (true for Sonnet 4: profiles bill at the
    in-Region row), as an empty price cell keeps the sheet's price. A us. call of 1,000 in +
    1,000 out then costs 1 x 0.0027 + 1 x 0.015 = $0.0177; the empty cell once read as false
    and left the call unpriced ("no price for us cross-region profile"). A filled cell still
    sets the flag."""
    path = tmp_path / "negotiated.csv"
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,in_region_is_profile_price,supports_batch\n"
        "anthropic.claude-sonnet-4,us-east-1,none,default,0.0027,,\n"
        "anthropic.claude-3-7-sonnet,us-east-1,none,default,,false,\n"
    )
    cat = PriceCatalog.load("current", overrides=path)
    assert bool(cat.rate(SONNET4)["in_region_is_profile_price"]) is True
    assert bool(cat.rate(SONNET4)["supports_batch"]) is True
    assert bool(cat.rate("anthropic.claude-3-7-sonnet")["in_region_is_profile_price"]) is False
    u = usage(1, geo="us", input_tokens=1000, output_tokens=1000)
    priced = cat.price(u)
    assert priced["cost_usd"].iat[0] == pytest.approx(0.0177)
    assert pd.isna(priced["unpriced_reason"].iat[0])


def test_an_override_keyed_by_a_logged_model_id_prices_its_catalog_key(tmp_path):
    """A row keyed by the ID a log names (``anthropic.claude-sonnet-4-20250514-v1:0``, or a
    ``us.`` profile ID on a ``us`` row) prices the catalog key's requests: 1,000 in + 1,000
    out on Sonnet 4 in-Region at 0.0027 / 0.0135 is 1 x 0.0027 + 1 x 0.0135 = $0.0162, and
    on the us profile at 0.0025 / 0.0135, $0.016 (they stayed at the list $0.018, the rows
    added under keys no request has). A catalog model without a bundled price (Nova 2 Lite)
    still gets one, its cells read without the spaces around them: 1 x 0.0003 + 1 x 0.0025 =
    $0.0028."""
    path = tmp_path / "negotiated.csv"
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k\n"
        "anthropic.claude-sonnet-4-20250514-v1:0,us-east-1,none,default,0.0027,0.0135\n"
        "us.anthropic.claude-sonnet-4-20250514-v1:0,us-east-1,us,default,0.0025,0.0135\n"
        " amazon.nova-2-lite , us-east-1 ,none,default,0.0003,0.0025\n"  # spaces are no part
    )
    cat = PriceCatalog.load("current", overrides=path)
    assert not cat.rows["model"].str.contains("2025").any()
    u = usage(
        3,
        model=[SONNET4, SONNET4, "amazon.nova-2-lite"],
        geo=["none", "us", "none"],
        input_tokens=1000,
        output_tokens=1000,
    )
    assert cat.price(u)["cost_usd"].tolist() == pytest.approx([0.0162, 0.016, 0.0028])


def test_an_override_row_no_request_can_match_is_refused_naming_the_nearest_key(tmp_path, capsys):
    """A model the catalog lacks (a typo), a Region that is no AWS Region, and a profile ID
    on a row of another geo are refused, each by its line with the nearest key, rather than
    added as rows no request matches (the traffic stayed at list price without a word)."""
    from bedrock_finops.cli import main

    path = tmp_path / "negotiated.csv"
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k\n"
        "anthropic.claude-sonnet-4,us-east-1,none,default,0.0027,0.0135\n"
        "anthropic.claude-sonet-4,us-east-1,none,default,0.0027,0.0135\n"
        "anthropic.claude-sonnet-4,us-east1,none,default,0.0027,0.0135\n"
        "us.anthropic.claude-sonnet-4-20250514-v1:0,us-east-1,none,default,0.0025,0.0135\n"
    )
    with pytest.raises(PriceInputError) as err:
        PriceCatalog.load("current", overrides=path)
    message = str(err.value)
    assert (
        "line 3: model 'anthropic.claude-sonet-4' is not in the model catalog (nearest: "
        "anthropic.claude-sonnet-4); line 4: region 'us-east1' is not an AWS Region (nearest: "
        "us-east-1); line 5: model 'us.anthropic.claude-sonnet-4-20250514-v1:0' is the us "
        "cross-region profile of anthropic.claude-sonnet-4, but the row's geo is none"
    ) in message
    assert "line 2" not in message
    assert main(["prices", "show", "--overrides", str(path)]) == 2
    assert "line 3: model 'anthropic.claude-sonet-4'" in capsys.readouterr().err


def test_override_geo_and_tier_cells_read_as_requests_carry_them_or_are_refused(tmp_path):
    """Geo and service_tier cells are read stripped and lower-case, as requests carry them: a
    " US " row prices a us. call of Sonnet 4, 1,000 in + 1,000 out at 0.0021 / 0.0135,
    1 x 0.0021 + 1 x 0.0135 = $0.0156 (it stayed at the in-Region list price, 1 x 0.003 +
    1 x 0.015 = $0.018, the row added under ' US '), and a " Flex" row gives Sonnet 4 a flex
    price, 1 x 0.0015 + 1 x 0.0075 = $0.009 (its flex calls stayed unpriced, the row added
    under ' Flex'). A geo or tier no request can have is refused with its line, its value and
    the values accepted."""
    path = tmp_path / "negotiated.csv"
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k\n"
        f"{SONNET4},us-east-1, US ,Default,0.0021,0.0135\n"
        f"{SONNET4},us-east-1,none, Flex,0.0015,0.0075\n"
    )
    cat = PriceCatalog.load("current", overrides=path)
    u = usage(
        2,
        geo=["us", "none"],
        service_tier=["default", "flex"],
        input_tokens=1000,
        output_tokens=1000,
    )
    assert cat.price(u)["cost_usd"].tolist() == pytest.approx([0.0156, 0.009])
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "model,region,geo,service_tier,input_per_1k\n"
        f"{SONNET4},us-east-1,us east,default,0.0021\n"
        f"{SONNET4},us-east-1,none,standard,0.0021\n"
        f"{SONNET4},us-east-1,none,reserved,0.0021\n"
    )
    with pytest.raises(PriceInputError) as err:
        PriceCatalog.load("current", overrides=bad)
    message = str(err.value)
    assert (
        "line 2: geo 'us east' is no geo a request can have; use none (in-Region), us-gov, "
        "global, apac, us, eu, jp, au or a profile prefix AWS adds later as logged (uk)"
    ) in message
    assert (
        "line 3: service_tier 'standard' is not a tier the engine prices per token; use "
        "default, flex, priority, latency-optimized (default is the standard tier)"
    ) in message
    assert (
        "line 4: service_tier 'reserved' is not a tier the engine prices per token (reserved is "
        "billed per reserved capacity, not per token)"
    ) in message


def test_rate_keyerror_names_the_key_and_what_the_sheet_has(current):
    with pytest.raises(KeyError, match=r"anthropic.claude-opus-4.*ap-south-1.*us-east-1/none"):
        current.rate(OPUS4, region="ap-south-1")


def test_provisioned_throughput(current):
    # Titan Text Express, 1-month commitment: 18.40/h per MU x 2 MU x 720 h = 26,496
    assert current.provisioned_cost(TITAN, "us-east-1", "1_month", 2, 720) == pytest.approx(26496)
    with pytest.raises(
        KeyError, match="no published Provisioned Throughput price.*provisioned=PATH"
    ):
        current.provisioned_hourly(SONNET4, "us-east-1", "6_months")


def test_provisioned_prices_of_your_own_replace_and_add(tmp_path):
    """A quote for Sonnet 4 and a lower Titan Express 1-month price: the quote's rows win, the
    other bundled rows stay; a discount applies to the bundled list prices, not to the quote
    (already your price)."""
    quote = tmp_path / "pt.csv"
    quote.write_text(
        "model,region,commitment,hourly_per_model_unit,source,as_of\n"
        f"{SONNET4},us-east-1,1_month,39.6,AWS quote Q-123,2026-11-20\n"
        f"{TITAN},us-east-1,1_month,17.0,AWS quote Q-123,2026-11-20\n"
    )
    cat = PriceCatalog.load("current", provisioned=quote)
    # 39.60/h x 3 MU x 720 h = 85,536
    assert cat.provisioned_cost(SONNET4, "us-east-1", "1_month", 3, 720) == pytest.approx(85536)
    assert cat.provisioned_hourly(TITAN, "us-east-1", "1_month") == 17.0
    assert cat.provisioned_hourly(TITAN, "us-east-1", "6_months") == 14.8  # bundled, kept
    rows = cat.provisioned.set_index(["model", "commitment"])
    assert rows.loc[(SONNET4, "1_month"), "source"] == "AWS quote Q-123"
    assert len(cat.provisioned) == 7  # six bundled, one replaced, one added
    assert cat.provisioned_prices == str(quote)
    off = PriceCatalog.load("current", provisioned=quote, discount_pct=10)
    assert off.provisioned_hourly(SONNET4, "us-east-1", "1_month") == 39.6
    assert off.provisioned_hourly(TITAN, "us-east-1", "6_months") == pytest.approx(13.32)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("model,region,hourly_per_model_unit\nm,us-east-1,3\n", r"lack columns \['commitment'\]"),
        (
            "model,region,commitment,hourly_per_model_unit\nm,us-east-1,12_months,3\n",
            r"commitment \['12_months'\] is not one of none, 1_month, 6_months",
        ),
        (
            "model,region,commitment,hourly_per_model_unit\nm,us-east-1,none,\n",
            "hourly_per_model_unit .* is not a positive number",
        ),
        (
            "model,region,commitment,hourly_per_model_unit\nm,r,none,1\nm,r,none,2\n",
            "duplicate \\(model, region, commitment\\) rows",
        ),
    ],
)
def test_a_bad_provisioned_prices_file_names_the_problem(tmp_path, text, message):
    path = tmp_path / "pt.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        PriceCatalog.load("current", provisioned=path)
    with pytest.raises(FileNotFoundError, match="not found: give a CSV with model, region"):
        PriceCatalog.load("current", provisioned=tmp_path / "missing.csv")


def test_with_cached_prefix_never_moves_more_than_the_uncached_input():
    u = usage(2, input_tokens=[3000, 500], cache_ttl=None)
    out = with_cached_prefix(u, 1024, [True, False], ttl="1h")
    assert out["input_tokens"].tolist() == [1976, 0]
    assert out["cache_read_tokens"].tolist() == [1024, 0]
    assert out["cache_write_tokens"].tolist() == [0, 500]
    assert out["cache_ttl"].tolist() == ["1h", "1h"]
    assert out["cache_write_1h_tokens"].tolist() == [0, 500]
    assert u["input_tokens"].tolist() == [3000, 500]  # the input is not modified


def test_a_prefix_the_row_already_caches_is_not_moved_again(current):
    """Prefix tokens count from the prompt's start, where a row's own cached tokens are: a
    row reading its 1,030-token system prompt from cache saves nothing more from a
    1,030-token prefix; a 1,500-token prefix moves the 470 beyond it (Sonnet 4)."""
    u = usage(
        3,
        input_tokens=[1543, 1543, 1543],
        cache_read_tokens=[1030, 1030, 0],
        cache_write_tokens=[0, 0, 1030],
        cache_ttl="5m",
    )
    same = with_cached_prefix(u, 1030, [True, True, True])
    assert same[["input_tokens", "cache_read_tokens", "cache_write_tokens"]].equals(
        u[["input_tokens", "cache_read_tokens", "cache_write_tokens"]]
    )
    assert current.price(same)["cost_usd"].sum() == pytest.approx(
        current.price(u)["cost_usd"].sum()
    )
    longer = with_cached_prefix(u, 1500, [True, False, True])
    assert longer["input_tokens"].tolist() == [1073, 1073, 1073]
    assert longer["cache_read_tokens"].tolist() == [1500, 1030, 470]
    assert longer["cache_write_tokens"].tolist() == [0, 470, 1030]


def test_a_5m_prefix_added_to_1h_writes_keeps_them_1h(current):
    """A row already writing its first 1,000 tokens at 1h, given a 5,000-token prefix at 5m,
    writes the 4,000 beyond them: 1,000 at 6.00 and 4,000 at 3.75 per 1M (Sonnet 4.5 global)."""
    u = usage(
        1,
        model=SONNET45,
        geo="global",
        input_tokens=6000,
        cache_write_tokens=1000,
        cache_write_1h_tokens=1000,
        cache_ttl="1h",
    )
    out = with_cached_prefix(u, 5000, [False], ttl="5m")
    assert out["input_tokens"].tolist() == [2000]
    assert out["cache_write_tokens"].tolist() == [5000]
    assert out["cache_write_1h_tokens"].tolist() == [1000]
    assert out["cache_ttl"].tolist() == ["1h"]  # the longest TTL it writes with
    assert current.price(out)["cache_write_usd"].iloc[0] == pytest.approx(0.006 + 4 * 0.00375)


def test_price_frame_is_aligned_and_dated(current):
    u = usage(3, input_tokens=10).set_axis([7, 3, 5])
    out = current.price(u)
    assert list(out.index) == [7, 3, 5]
    assert (out["price_as_of"] == pd.Timestamp("2026-11-26")).all()
    assert current.price(empty_usage()).empty


def test_prices_are_dated_by_the_rows_that_priced_the_usage(current):
    """The current sheet's newest rows (the embedding models') are dated 2026-11-28; Sonnet 4
    traffic is priced by a row of 2026-11-26, which is the date its figures show. With Sonnet
    4.6 (rows of 2026-11-27): the range. Nothing priced: none."""
    assert current.as_of == pd.Timestamp("2026-11-28")
    assert prices_as_of(current.price(usage(2, input_tokens=10))) == "2026-11-26"
    both = usage(2, input_tokens=10, model=[SONNET4, "anthropic.claude-sonnet-4-6"], geo="global")
    assert prices_as_of(current.price(both)) == "2026-11-26 to 2026-11-27"
    assert prices_as_of(current.price(usage(1, model="unknown:x"))) is None


def test_bad_sheet_is_rejected_with_the_fix(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("model,region,geo,service_tier,input_per_1k\nx,us-east-1,none,default,free\n")
    with pytest.raises(ValueError, match="non-numeric"):
        PriceCatalog.load(path)
    with pytest.raises(FileNotFoundError, match="prices update"):
        PriceCatalog.load(tmp_path / "missing.csv")


def test_discount_and_overrides_file_are_checked_with_the_fix(tmp_path):
    for pct in (150, 100, -1):
        with pytest.raises(PriceInputError, match=rf"discount_pct {pct} is not a percentage"):
            PriceCatalog.load("seed", discount_pct=pct)
    missing = tmp_path / "mine.csv"
    with pytest.raises(FileNotFoundError) as err:
        PriceCatalog.load("seed", overrides=missing)
    assert str(err.value) == (
        f"price overrides file {str(missing)!r} not found: give an existing CSV of your "
        "negotiated prices (the sheet's columns, a subset is fine; see docs/pricing.md)"
    )


def test_row_without_region_is_unpriced_not_priced_as_us_east_1(current):
    u = usage(2, model=SONNET4, input_tokens=1000)
    u["region"] = pd.array(["us-east-1", None], dtype="string")
    out = current.price(u)
    assert out["cost_usd"].iloc[0] == pytest.approx(0.003)  # 1K x 0.003/1K
    assert pd.isna(out["cost_usd"].iloc[1])
    assert out["unpriced_reason"].iloc[1] == "no region on the record"


# --- Provisioned Throughput calls are not token-priced ------------------------------------------

PT_ARN = "arn:aws:bedrock:us-east-1:111122223333:provisioned-model/abc123"


def test_provisioned_throughput_call_is_unpriced_not_token_priced(current):
    from bedrock_finops import models

    ref = models.resolve(PT_ARN, {PT_ARN: "anthropic.claude-sonnet-4-20250514-v1:0"})
    assert (ref.kind, ref.key) == ("provisioned-model", SONNET4)
    # The same 100K in / 10K out tokens, once through the PT ARN, once on demand.
    u = usage(
        2,
        model_id_raw=[PT_ARN, "anthropic.claude-sonnet-4-20250514-v1:0"],
        input_tokens=100_000,
        output_tokens=10_000,
    )
    out = current.price(u)
    reason = "Provisioned Throughput: billed per hour, not per token"
    assert out["priced"].tolist() == [False, True]
    assert out["unpriced_reason"].fillna("").tolist() == [reason, ""]
    assert math.isnan(out["cost_usd"].iloc[0])  # never $0, never the token price
    assert out["cost_usd"].iloc[1] == pytest.approx(0.45)  # 100 x 0.003 + 10 x 0.015
    assert not current.price(u, mode="batch")["priced"].iloc[0]
    assert not current.price(u, model=SONNET4)["priced"].iloc[0]  # its own model again
    report = current.unpriced(u)
    assert report[["model_id_raw", "requests", "reason"]].values.tolist() == [[PT_ARN, 1, reason]]


def test_provisioned_tokens_repriced_on_another_model_are_priced(current):
    # Moving PT traffic to Claude 3.5 Haiku on demand is a per-token hypothetical:
    # 100 x 0.0008 + 10 x 0.004 = 0.08 + 0.04 = $0.12.
    u = usage(1, model_id_raw=PT_ARN, input_tokens=100_000, output_tokens=10_000)
    out = current.price(u, model=HAIKU35)
    assert bool(out["priced"].iloc[0]) and out["cost_usd"].iloc[0] == pytest.approx(0.12)
    by_series = current.price(u, model=pd.Series([HAIKU35], index=u.index))
    assert by_series["cost_usd"].iloc[0] == pytest.approx(0.12)


# --- long context: Sonnet 4 and 4.5 bill 6 / 22.50 per 1M above 200K input (not in the sheet) -

LONG = "input over 200K tokens: long-context price not in the sheet"


@pytest.mark.parametrize(
    "tokens, cost",
    [
        (199_999, 0.599997),  # 199.999 x 0.003
        (200_000, 0.6),  # "above 200K": exactly 200,000 bills at the standard rate
        (200_001, None),
    ],
)
def test_sonnet4_long_context_boundary(current, tokens, cost):
    out = current.price(usage(1, input_tokens=tokens))
    if cost is None:
        assert not out["priced"].iloc[0] and out["unpriced_reason"].iloc[0] == LONG
        assert math.isnan(out["cost_usd"].iloc[0])
        assert not current.price(usage(1, input_tokens=tokens), mode="batch")["priced"].iloc[0]
    else:
        assert out["unpriced_reason"].iloc[0] is pd.NA
        assert out["cost_usd"].iloc[0] == pytest.approx(cost)


def test_long_context_counts_cache_read_and_write_tokens(current):
    u = usage(
        2, input_tokens=100_000, cache_read_tokens=90_000, cache_write_tokens=[10_000, 10_001]
    )
    out = current.price(u)
    # 200,000 in total: 100 x 0.003 + 90 x 0.0003 + 10 x 0.00375 = 0.3 + 0.027 + 0.0375
    assert out["cost_usd"].iloc[0] == pytest.approx(0.3645)
    assert out["unpriced_reason"].iloc[1] == LONG  # 200,001 in total


def test_long_context_rule_only_for_models_with_the_premium(current):
    u = usage(2, model=[OPUS4, HAIKU35], input_tokens=250_000)
    # No >200K rate for Opus 4 or 3.5 Haiku: 250 x 0.015 and 250 x 0.0008
    assert current.price(u)["cost_usd"].tolist() == pytest.approx([3.75, 0.2])
    # The rule follows the model the tokens are priced on.
    onto_sonnet4 = current.price(u, model=SONNET4)
    assert onto_sonnet4["unpriced_reason"].tolist() == [LONG, LONG]
    off_sonnet4 = current.price(usage(1, input_tokens=200_001), model=HAIKU35)
    assert off_sonnet4["cost_usd"].iloc[0] == pytest.approx(0.1600008)  # 200.001 x 0.0008


@pytest.mark.parametrize("geo", ["global", "none", "us"])
def test_sonnet45_long_context_is_unpriced_as_sonnet4s(current, geo):
    """AWS bills a Sonnet 4.5 request above 200K input at its "Long Context" rates (6 / 22.50
    per 1M global, not in the sheet), as Sonnet 4's: 300,000 in + 1,000 out is unpriced with
    the reason, on demand and in batch, where it cost 300 x 0.003 + 1 x 0.015 = $0.915 at
    the standard global rate. 200,000 in + 1,000 out still bills standard: 200 x 0.003 +
    1 x 0.015 = $0.615 global, 200 x 0.0033 + 1 x 0.0165 = $0.6765 in-Region and on us."""
    over = usage(1, model=SONNET45, geo=geo, input_tokens=300_000, output_tokens=1_000)
    for mode in ("on_demand", "batch"):
        out = current.price(over, mode=mode).iloc[0]
        assert not out["priced"] and out["unpriced_reason"] == LONG
        assert math.isnan(out["cost_usd"])
    at = usage(1, model=SONNET45, geo=geo, input_tokens=200_000, output_tokens=1_000)
    expected = 0.615 if geo == "global" else 0.6765
    assert current.price(at)["cost_usd"].iat[0] == pytest.approx(expected)


def test_a_negative_1h_count_never_lowers_the_cost(current):
    """A corrupt split (-500 of 1,000 writes) prices all 1,000 at 5m, not 1,500 at 5m less
    500 at 1h."""
    odd = usage(
        1,
        model=SONNET45,
        geo="global",
        cache_write_tokens=1000,
        cache_write_1h_tokens=-500,
        cache_ttl="1h",
    )
    assert current.price(odd)["cache_write_usd"].iloc[0] == pytest.approx(1 * 0.00375)


def test_a_row_without_an_output_rate_prices_calls_that_write_no_tokens(tmp_path):
    """A sheet row with input rates and no output rate (an embedding model's: its calls are
    billed by their input tokens alone) prices a request with no output tokens by its input:
    1,000,000 tokens at 0.0003 per 1K = $0.30 on demand, at 0.00015 = $0.15 in batch. A
    request with output tokens on that row has no price for them: it stays unpriced, never
    $0 for its output."""
    path = tmp_path / "input_only.csv"
    path.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k,batch_input_per_1k,"
        "batch_output_per_1k,source,as_of\n"
        "amazon.nova-2-lite,us-east-1,none,default,0.0003,,0.00015,,test sheet,2026-11-28\n"
    )
    cat = PriceCatalog.load(path)
    u = usage(2, model="amazon.nova-2-lite", input_tokens=1_000_000, output_tokens=[0, 10])
    for mode, cost, reason in (
        ("on_demand", 0.30, "no on-demand price"),
        ("batch", 0.15, "no batch price"),
    ):
        out = cat.price(u, mode=mode)
        assert out["priced"].tolist() == [True, False]
        assert out["cost_usd"].iat[0] == pytest.approx(cost) and math.isnan(out["cost_usd"].iat[1])
        assert out["output_usd"].iat[0] == 0.0 and out["unpriced_reason"].iat[1] == reason
