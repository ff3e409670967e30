"""Usage-type parsing, product-name mapping and the Price List updater (botocore Stubber)."""

from __future__ import annotations

import json

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from usage_builders import make_usage

from bedrock_finops import price_list
from bedrock_finops.models import known_models
from bedrock_finops.price_list import cells_to_sheet, parse_products, update_sheet, write_sheet
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies.model_sizing_repricing import adapt_tokens
from bedrock_finops.usage_types import model_key_from_product, parse_usage_type


@pytest.mark.parametrize(
    ("raw", "region", "kind", "mode", "geo", "fragment"),
    [
        # AmazonBedrock shape (spellings from the CUR user guide and real Price List products)
        ("USE1-NovaPro-input-tokens", "us-east-1", "input", "on_demand", "none", "NovaPro"),
        ("USE1-NovaPro-output-tokens", "us-east-1", "output", "on_demand", "none", "NovaPro"),
        (
            "USE1-NovaPro-cache-read-input-token-count",
            "us-east-1",
            "cache_read",
            "on_demand",
            "none",
            "NovaPro",
        ),
        (
            "USW2-NovaPro-cache-write-input-token-count",
            "us-west-2",
            "cache_write_5m",
            "on_demand",
            "none",
            "NovaPro",
        ),
        ("USE1-Nova2.0Lite-input-tokens-flex", "us-east-1", "input", "flex", "none", "Nova2.0Lite"),
        (
            "USE1-Nova2.0Lite-input-tokens-priority",
            "us-east-1",
            "input",
            "priority",
            "none",
            "Nova2.0Lite",
        ),
        ("USE1-NovaMicro-input-tokens-batch", "us-east-1", "input", "batch", "none", "NovaMicro"),
        (
            "USE1-Claude4.6Sonnet-output-tokens-cross-region-global",
            "us-east-1",
            "output",
            "on_demand",
            "global",
            "Claude4.6Sonnet",
        ),
        (
            "USE1-Nova2.0Lite-input-tokens-cross-region-global-batch",
            "us-east-1",
            "input",
            "batch",
            "global",
            "Nova2.0Lite",
        ),
        (
            "USE1-openai.gpt-oss-120b-mantle-input-tokens-standard",
            "us-east-1",
            "input",
            "on_demand",
            "none",
            "openai.gpt-oss-120b",
        ),
        (
            "EU-gpt-oss-120b-output-tokens-batch",
            "eu-west-1",
            "output",
            "batch",
            "none",
            "gpt-oss-120b",
        ),
        (
            "USE1-NovaLite-input-tokens-custom-model",
            "us-east-1",
            "other",
            "on_demand",
            "none",
            "NovaLite",
        ),
        # Marketplace shape, CamelCase and snake case
        ("USE1-MP:USE1_InputTokenCount-Units", "us-east-1", "input", "on_demand", "none", None),
        (
            "USW2-MP:USW2_OutputTokenCount_Global-Units",
            "us-west-2",
            "output",
            "on_demand",
            "global",
            None,
        ),
        (
            "USE1-MP:USE1_InputTokenCount_Global_Batch-Units",
            "us-east-1",
            "input",
            "batch",
            "global",
            None,
        ),
        (
            "APN1-MP:APN1_InputTokenCount_Batch-Units",
            "ap-northeast-1",
            "input",
            "batch",
            "none",
            None,
        ),
        (
            "USE1-MP:USE1_CacheReadInputTokenCount-Units",
            "us-east-1",
            "cache_read",
            "on_demand",
            "none",
            None,
        ),
        (
            "EUW1-MP:EUW1_CacheWriteInputTokenCount-Units",
            "eu-west-1",
            "cache_write_5m",
            "on_demand",
            "none",
            None,
        ),
        (
            "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units",
            "us-east-1",
            "cache_write_1h",
            "on_demand",
            "global",
            None,
        ),
        (
            "USE1-MP:USE1_cache_write_tokens_1h_global_standard-Units",
            "us-east-1",
            "cache_write_1h",
            "on_demand",
            "global",
            None,
        ),
        (
            "USE1-MP:USE1_input_tokens_standard-Units",
            "us-east-1",
            "input",
            "on_demand",
            "none",
            None,
        ),
        ("APS3-MP:APS3_output_tokens_batch-Units", "ap-south-1", "output", "batch", "none", None),
        ("USE1-MP:USE1_input_tokens_flex-Units", "us-east-1", "input", "flex", "none", None),
        (
            "USE1-MP:USE1_Reserved_1Month_InputTPM_Geo-Units",
            "us-east-1",
            "other",
            "provisioned",
            "geo",
            None,
        ),
        (
            "USE1-MP:USE1_ProvisionedThroughput_NoCommit_ModelUnits_Usage-Units",
            "us-east-1",
            "other",
            "provisioned",
            "none",
            None,
        ),
        ("USE1-MP:USE1_InputImageCount-Units", "us-east-1", "other", "on_demand", "none", None),
        # latency-optimized inference meters (spellings of real Price List products)
        (
            "USE2-MP:USE2_InputTokenCount_LatencyOptimized-Units",
            "us-east-2",
            "input",
            "latency_optimized",
            "none",
            None,
        ),
        (
            "USE1-NovaPro-input-tokens-latency-optimized",
            "us-east-1",
            "input",
            "latency_optimized",
            "none",
            "NovaPro",
        ),
    ],
)
def test_parse_usage_type(raw, region, kind, mode, geo, fragment):
    ut = parse_usage_type(raw)
    assert ut.raw == raw
    assert (ut.region, ut.token_kind, ut.mode, ut.geo, ut.model_fragment) == (
        region,
        kind,
        mode,
        geo,
        fragment,
    )


def test_parse_usage_type_region_code_and_shape():
    mp = parse_usage_type("USE1-MP:USE1_InputTokenCount-Units")
    assert (mp.region_code, mp.shape) == ("USE1", "marketplace")
    bare = parse_usage_type("gpt-oss-20b-input-tokens-flex")  # no region prefix
    assert (bare.region_code, bare.region, bare.token_kind, bare.mode) == (
        None,
        None,
        "input",
        "flex",
    )
    unknown = parse_usage_type("XYZ9-NovaPro-input-tokens")  # a code we do not know
    assert (unknown.region_code, unknown.region) == ("XYZ9", None)
    assert parse_usage_type("USE1-DataTransfer-Out-Bytes").token_kind == "other"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Claude Sonnet 4.5 (Amazon Bedrock Edition)", "anthropic.claude-sonnet-4-5"),
        ("Claude Sonnet 4 (Amazon Bedrock Edition)", "anthropic.claude-sonnet-4"),
        ("Claude Opus 4.1 (Amazon Bedrock Edition)", "anthropic.claude-opus-4-1"),
        ("Claude 3.5 Haiku (Amazon Bedrock Edition)", "anthropic.claude-3-5-haiku"),
        ("Claude Haiku 4.5 (Amazon Bedrock Edition)", "anthropic.claude-haiku-4-5"),
        ("Claude 3.7 Sonnet (Amazon Bedrock Edition)", "anthropic.claude-3-7-sonnet"),
        ("Claude 4 Opus", "anthropic.claude-opus-4"),
        ("Claude4Sonnet", "anthropic.claude-sonnet-4"),
        ("Claude4.5Haiku", "anthropic.claude-haiku-4-5"),
        ("Nova Pro", "amazon.nova-pro"),
        ("NovaPro", "amazon.nova-pro"),
        ("NovaMicro", "amazon.nova-micro"),
        ("Llama 3.1 70B Instruct", "meta.llama3-1-70b-instruct"),
        ("Meta Llama 3.1 8B Instruct", "meta.llama3-1-8b-instruct"),
        ("Llama3.3-70B-Instruct", "meta.llama3-3-70b-instruct"),
        ("Titan Text G1 - Express", "amazon.titan-text-express"),
        ("TitanTextExpress", "amazon.titan-text-express"),
        ("Mistral Large (24.02)", "mistral.mistral-large-2402"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4"),
        ("Nova 2 Lite", "amazon.nova-2-lite"),
        ("Claude Sonnet 4.6 (Amazon Bedrock Edition)", "anthropic.claude-sonnet-4-6"),
        ("Claude Opus 4.6 (Amazon Bedrock Edition)", "anthropic.claude-opus-4-6"),
        ("Claude Opus 4.7 (Amazon Bedrock Edition)", "anthropic.claude-opus-4-7"),
        ("Claude4.6Opus", "anthropic.claude-opus-4-6"),  # an AmazonBedrock usage-type fragment
        ("Claude 3 Opus", "anthropic.claude-3-opus"),
        ("Claude 3 Sonnet", "anthropic.claude-3-sonnet"),
        ("Claude Opus 4.8 (Amazon Bedrock Edition)", None),  # not in models.csv
        ("Command R+", "cohere.command-r-plus"),  # the "+" is a model of its own
        ("Command R", "cohere.command-r"),
        ("Cohere Command R+", "cohere.command-r-plus"),
        ("OpenAI gpt-oss-120b", "openai.gpt-oss-120b"),
        ("Nova2.0Lite", "amazon.nova-2-lite"),  # as usage types write it
        # embedding models: Titan's usage-type fragments, Cohere Embed's Marketplace names
        ("TitanEmbeddingV2-Text", "amazon.titan-embed-text-v2"),
        ("TitanEmbeddingsG1-Text", "amazon.titan-embed-text-v1"),
        ("Titan Text Embeddings V2", "amazon.titan-embed-text-v2"),
        ("Cohere Embed 3 Model - English (Amazon Bedrock Edition)", "cohere.embed-english-v3"),
        (
            "Cohere Embed Model 3 - Multilingual (Amazon Bedrock Edition)",
            "cohere.embed-multilingual-v3",
        ),
        ("Cohere Embed 4 Model (Amazon Bedrock Edition)", "cohere.embed-v4"),
        # a name without its version names no embedding model (their keys keep the version)
        ("Cohere Embed (Amazon Bedrock Edition)", None),
        ("Embed", None),
        ("Cohere Embed 5 Model (Amazon Bedrock Edition)", None),
        ("Claude Sonnet 9 (Amazon Bedrock Edition)", None),  # not in models.csv: never guessed
        ("", None),
    ],
)
def test_model_key_from_product(name, key):
    assert model_key_from_product(name) == key


def test_every_catalog_name_and_model_id_maps_to_its_own_row():
    """No Price List name maps to another model's row: each catalog model's name and base
    IDs come back to its own key ("Command R+" once mapped to Command R)."""
    wrong = {
        (key, name): model_key_from_product(name)
        for key, info in known_models().items()
        for name in (info.name, *info.base_ids)
        if model_key_from_product(name) != key
    }
    assert wrong == {}


# --- the Price List updater, against botocore's Stubber ---------------------------------------


def _product(sku: str, attrs: dict, unit: str, usd: str) -> str:
    """A product as the Price List API returns it: a JSON string (shape of real responses)."""
    term = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {"productFamily": "Amazon Bedrock", "attributes": attrs, "sku": sku},
            "serviceCode": attrs["servicecode"],
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": {
                            f"{term}.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": f"${usd} per {unit} for {attrs['usagetype']}",
                                "appliesTo": [],
                                "rateCode": f"{term}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def _bedrock(sku, usagetype, inference_type, usd, model="Nova Pro", **more):
    """An AmazonBedrock product per 1K tokens; ``model=None``: without a ``model`` attribute
    (``more``: other attributes)."""
    attrs = {
        "servicecode": "AmazonBedrock",
        "servicename": "Amazon Bedrock",
        "regionCode": "us-east-1",
        "location": "US East (N. Virginia)",
        "locationType": "AWS Region",
        "usagetype": usagetype,
        "operation": "Usage",
        **({"model": model} if model is not None else {}),
        "provider": "Amazon",
        "inferenceType": inference_type,
        "feature": "Batch Inference" if "batch" in usagetype else "On-demand Inference",
        **more,
    }
    return _product(sku, attrs, "1K tokens", usd)


def _marketplace(sku, name, usagetype, usd):
    attrs = {
        "servicecode": "AmazonBedrockFoundationModels",
        "servicename": name,
        "regionCode": "us-east-1",
        "location": "US East (N. Virginia)",
        "locationType": "AWS Region",
        "usagetype": usagetype,
        "operation": "Usage",
    }
    return _product(sku, attrs, "Units", usd)  # per 1M units


def _request(service_code, token=None):
    params = {
        "ServiceCode": service_code,
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"}],
        "FormatVersion": "aws_v1",
    }
    if token:
        params["NextToken"] = token
    return params


@pytest.fixture
def stubbed_pricing():
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    page = {"FormatVersion": "aws_v1"}
    bedrock_pages = [
        [
            _bedrock("A1", "USE1-NovaPro-input-tokens", "Input tokens", "0.0008000000"),
            _bedrock("A2", "USE1-NovaPro-output-tokens", "Output tokens", "0.0032000000"),
        ],
        [
            _bedrock(
                "A3",
                "USE1-NovaPro-cache-read-input-token-count",
                "Prompt cache read input tokens",
                "0.0002000000",
            ),
            _bedrock("A4", "USE1-NovaPro-input-tokens-batch", "Input tokens batch", "0.0004"),
            _bedrock("A5", "USE1-NovaPro-output-tokens-batch", "Output tokens batch", "0.0016"),
        ],
        [
            _bedrock("A6", "USE1-NovaPro-input-tokens-flex", "Input tokens flex", "0.0004"),
            _bedrock("A7", "USE1-NovaPro-output-tokens-flex", "Output tokens flex", "0.0016"),
            _bedrock(
                "A8",
                "USE1-Nova2.0Lite-input-tokens",
                "Input tokens",
                "0.00033",
                model="Nova 2 Lite",
            ),
        ],
    ]
    for i, products in enumerate(bedrock_pages):
        resp = {**page, "PriceList": products}
        if i < len(bedrock_pages) - 1:
            resp["NextToken"] = f"b{i + 1}"
        stub.add_response("get_products", resp, _request("AmazonBedrock", i and f"b{i}"))
    sonnet = "Claude Sonnet 4.5 (Amazon Bedrock Edition)"
    mp_pages = [
        [
            _marketplace("M1", sonnet, "USE1-MP:USE1_InputTokenCount_Global-Units", "3.0"),
            _marketplace("M2", sonnet, "USE1-MP:USE1_OutputTokenCount_Global-Units", "15.0"),
            _marketplace("M3", sonnet, "USE1-MP:USE1_InputTokenCount-Units", "3.3"),
            _marketplace("M4", sonnet, "USE1-MP:USE1_OutputTokenCount-Units", "16.5"),
        ],
        [
            _marketplace(
                "M5", sonnet, "USE1-MP:USE1_CacheWrite1hInputTokenCount_Global-Units", "6.0"
            ),
            _marketplace("M6", sonnet, "USE1-MP:USE1_CacheReadInputTokenCount_Global-Units", "0.3"),
            _marketplace("M7", sonnet, "USE1-MP:USE1_InputTokenCount_Global_Batch-Units", "1.5"),
            _marketplace("M8", sonnet, "USE1-MP:USE1_InputImageCount-Units", "0.0048"),
            _marketplace(
                "M9",
                "Claude Sonnet 9 (Amazon Bedrock Edition)",
                "USE1-MP:USE1_InputTokenCount-Units",
                "30.0",
            ),
        ],
    ]
    for i, products in enumerate(mp_pages):
        resp = {**page, "PriceList": products}
        if i < len(mp_pages) - 1:
            resp["NextToken"] = f"m{i + 1}"
        stub.add_response(
            "get_products", resp, _request("AmazonBedrockFoundationModels", i and f"m{i}")
        )
    with stub:
        yield client
    stub.assert_no_pending_responses()


def test_update_sheet_from_both_service_codes(stubbed_pricing, tmp_path):
    out = tmp_path / "pl.csv"
    result = update_sheet(["us-east-1"], out, client=stubbed_pricing, as_of="2026-11-26")
    cat = PriceCatalog.load(out)
    nova = cat.rate("amazon.nova-pro")
    # AmazonBedrock prices are per 1K tokens already
    assert nova[["input_per_1k", "output_per_1k", "cache_read_per_1k"]].tolist() == [
        0.0008,
        0.0032,
        0.0002,
    ]
    assert nova[["batch_input_per_1k", "batch_output_per_1k"]].tolist() == [0.0004, 0.0016]
    assert cat.rate("amazon.nova-pro", service_tier="flex")["input_per_1k"] == 0.0004
    # AmazonBedrockFoundationModels: per 1M units -> per 1K
    glob = cat.rate("anthropic.claude-sonnet-4-5", geo="global")
    assert glob["input_per_1k"] == pytest.approx(0.003)
    assert glob["output_per_1k"] == pytest.approx(0.015)
    assert glob["cache_write_1h_per_1k"] == pytest.approx(0.006)
    assert glob["cache_read_per_1k"] == pytest.approx(0.0003)
    assert glob["batch_input_per_1k"] == pytest.approx(0.0015)
    regional = cat.rate("anthropic.claude-sonnet-4-5", geo="us")  # geo profile = in-region
    assert regional["input_per_1k"] == pytest.approx(0.0033)
    assert "USE1-MP:USE1_InputTokenCount-Units" in regional["source"]
    assert cat.as_of == pd.Timestamp("2026-11-26")
    # a model the catalog lists is priced from its product's "model" attribute, per 1K as given
    assert cat.rate("amazon.nova-2-lite")["input_per_1k"] == pytest.approx(0.00033)
    unmapped = set(result.unmapped["usagetype"])
    assert unmapped == {
        "USE1-MP:USE1_InputImageCount-Units",
        "USE1-MP:USE1_InputTokenCount-Units",  # Claude Sonnet 9: not in models.csv
    }
    assert len(result.unmapped) == 2


def test_cli_prices_show(capsys):
    from bedrock_finops.cli import main

    assert main(["prices", "show", "--sheet", "seed", "--model", "claude-opus-4"]) == 0
    text = capsys.readouterr().out
    assert "15.00" in text and "75.00" in text and "Wring" in text  # per 1M, with its source
    assert "keys containing it: anthropic.claude-opus-4" in text


def test_cli_prices_show_takes_a_logged_model_id(capsys):
    """A logged ID shows its own catalog key's rows (not Sonnet 4.5's), every rate per 1M."""
    from bedrock_finops.cli import main

    logged = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    assert main(["prices", "show", "--model", logged, "--region", "us-east-1"]) == 0
    text = capsys.readouterr().out
    assert f"{logged} is catalog key anthropic.claude-sonnet-4 (geo us)" in text
    assert "claude-sonnet-4-5" not in text
    header, row = text.splitlines()[1:3]
    assert header.split()[4:6] == ["input_usd_per_1m", "output_usd_per_1m"]
    assert "batch_output_usd_per_1m" in header and "in_region_is_profile_price" in header
    # input, output, 5m write, 1h write (not offered), read, batch in, batch out, flag, date
    assert row.split()[4:] == [
        "3.00", "15.00", "3.75", "not", "offered", "0.30", "1.50", "7.50", "True", "2026-11-26"
    ]  # fmt: skip


def test_update_carries_min_cache_tokens_from_the_bundled_sheet(stubbed_pricing, tmp_path):
    out = tmp_path / "pl.csv"
    update_sheet(["us-east-1"], out, client=stubbed_pricing, as_of="2026-11-26")
    cat = PriceCatalog.load(out)
    # The Price List API has no cache minimum: the bundled current sheet's value is kept.
    nova = cat.rate("amazon.nova-pro")
    assert nova["min_cache_tokens"] == 1024
    assert "min_cache_tokens from prices_current.csv as of 2026-11-28" in nova["source"]
    for geo in ("global", "none"):
        assert cat.rate("anthropic.claude-sonnet-4-5", geo=geo)["min_cache_tokens"] == 1024


def _mp_cells(name: str, prices: dict[str, str]) -> list[dict]:
    products = [
        json.loads(_marketplace(f"S{i}", name, f"USE1-MP:USE1_{kind}-Units", usd))
        for i, (kind, usd) in enumerate(prices.items())
    ]
    cells, unmapped = parse_products(products, "AmazonBedrockFoundationModels", "2026-11-26")
    assert not unmapped
    return cells


def test_updated_sheet_keeps_the_cache_minimum_in_model_sizing(tmp_path):
    haiku = _mp_cells(
        "Claude 3.5 Haiku (Amazon Bedrock Edition)",
        {
            "InputTokenCount": "0.8",
            "OutputTokenCount": "4",
            "CacheReadInputTokenCount": "0.08",
            "CacheWriteInputTokenCount": "1",
        },
    )
    path = tmp_path / "updated.csv"
    write_sheet(cells_to_sheet(haiku), path)
    updated = PriceCatalog.load(path)
    assert updated.rate("anthropic.claude-3-5-haiku")["min_cache_tokens"] == 2048
    # A 1,600-token cached prefix on Sonnet 4 is below Haiku 3.5's 2,048 minimum, so on Haiku
    # it bills as input: 1,600 x 0.0008/1K + 10 x 0.004/1K = 0.00128 + 0.00004 = $0.00132.
    u = make_usage(
        [
            dict(
                app="a",
                n=1,
                model="anthropic.claude-sonnet-4",
                input_tokens=100,
                cache_read_tokens=1500,
                output_tokens=10,
            )
        ]
    )
    for cat in (PriceCatalog.load("current"), updated):
        out, info = adapt_tokens(
            u, "anthropic.claude-sonnet-4", "anthropic.claude-3-5-haiku", cat, {}
        )
        assert info["cache_kept_requests"] == 0
        cost = cat.price(out, model="anthropic.claude-3-5-haiku")["cost_usd"].iat[0]
        assert cost == pytest.approx(0.00132)


def test_updated_caching_model_without_a_known_minimum_says_so():
    cells = _mp_cells(
        "Claude 3.5 Sonnet (Amazon Bedrock Edition)",
        {"InputTokenCount": "6", "OutputTokenCount": "30", "CacheReadInputTokenCount": "0.6"},
    )
    row = cells_to_sheet(cells).iloc[0]
    assert row["model"] == "anthropic.claude-3-5-sonnet" and pd.isna(row["min_cache_tokens"])
    assert "min_cache_tokens unknown (not in prices_current.csv as of 2026-11-28)" in row["source"]


def test_update_maps_opus_4_7_products_and_keeps_its_cache_minimum():
    """Claude Opus 4.7's Marketplace products (the snake-case usage types of newer models) fill
    its global and in-region rows, per 1M -> per 1K, with the bundled 4,096-token minimum."""
    name = "Claude Opus 4.7 (Amazon Bedrock Edition)"
    usage_types = {
        "USE1-MP:USE1_input_tokens_global_standard-Units": "5.0",
        "USE1-MP:USE1_output_tokens_global_standard-Units": "25.0",
        "USE1-MP:USE1_cache_write_tokens_1h_global_standard-Units": "10.0",
        "USE1-MP:USE1_cache_read_tokens_global_standard-Units": "0.5",
        "USE1-MP:USE1_input_tokens_standard-Units": "5.5",
        "USE1-MP:USE1_output_tokens_standard-Units": "27.5",
    }
    products = [
        json.loads(_marketplace(f"O{i}", name, usage_type, usd))
        for i, (usage_type, usd) in enumerate(usage_types.items())
    ]
    cells, unmapped = parse_products(products, "AmazonBedrockFoundationModels", "2026-11-27")
    assert unmapped == []  # before Opus 4.7 was in models.csv: all "model not in models.csv"
    sheet = cells_to_sheet(cells).set_index("geo")
    assert set(sheet["model"]) == {"anthropic.claude-opus-4-7"}
    glob, regional = sheet.loc["global"], sheet.loc["none"]
    columns = ["input_per_1k", "output_per_1k", "cache_write_1h_per_1k", "cache_read_per_1k"]
    assert glob[columns].tolist() == pytest.approx([0.005, 0.025, 0.01, 0.0005])
    assert regional[["input_per_1k", "output_per_1k"]].tolist() == pytest.approx([0.0055, 0.0275])
    assert glob["min_cache_tokens"] == 4096
    assert "min_cache_tokens from prices_current.csv as of 2026-11-28" in glob["source"]


def _haiku_us_east_2(usage_types: dict[str, str]) -> list[dict]:
    """Claude 3.5 Haiku's Marketplace products in us-east-2, as ``(usagetype, USD per 1M)``."""
    name = "Claude 3.5 Haiku (Amazon Bedrock Edition)"
    products = []
    for i, (usage_type, usd) in enumerate(usage_types.items()):
        product = json.loads(_marketplace(f"H{i}", name, usage_type, usd))
        product["product"]["attributes"]["regionCode"] = "us-east-2"
        products.append(product)
    return products


def test_latency_optimized_meters_fill_their_own_tier_row(tmp_path):
    """Claude 3.5 Haiku in us-east-2 bills 0.80 / 4.00 per 1M standard and 1.00 / 5.00
    latency-optimized. The standard row keeps 0.80 / 4.00 (it read 1.00 / 5.00: both meters
    parsed as on-demand input and output, and the pivot kept the larger); the latency meters
    fill the ``latency-optimized`` row. A request of 1,000 in + 1,000 out costs
    1 x 0.0008 + 1 x 0.004 = $0.0048 standard and 1 x 0.001 + 1 x 0.005 = $0.006
    latency-optimized."""
    products = _haiku_us_east_2(
        {
            "USE2-MP:USE2_InputTokenCount-Units": "0.80",
            "USE2-MP:USE2_OutputTokenCount-Units": "4.00",
            "USE2-MP:USE2_InputTokenCount_LatencyOptimized-Units": "1.00",
            "USE2-MP:USE2_OutputTokenCount_LatencyOptimized-Units": "5.00",
        }
    )
    cells, unmapped = parse_products(products, "AmazonBedrockFoundationModels", "2026-11-27")
    assert unmapped == []
    path = tmp_path / "pl.csv"
    write_sheet(cells_to_sheet(cells), path)
    cat = PriceCatalog.load(path)
    haiku = "anthropic.claude-3-5-haiku"
    standard = cat.rate(haiku, "us-east-2")
    latency = cat.rate(haiku, "us-east-2", service_tier="latency-optimized")
    rates = ["input_per_1k", "output_per_1k"]
    assert standard[rates].tolist() == pytest.approx([0.0008, 0.004])
    assert latency[rates].tolist() == pytest.approx([0.001, 0.005])
    assert "InputTokenCount_LatencyOptimized" in latency["source"]
    assert "LatencyOptimized" not in standard["source"]
    u = make_usage(
        [
            dict(
                app="std",
                n=1,
                model=haiku,
                region="us-east-2",
                input_tokens=1000,
                output_tokens=1000,
            ),
            dict(
                app="fast",
                n=1,
                model=haiku,
                region="us-east-2",
                geo="us",  # latency-optimized calls go through the us. profile
                service_tier="latency-optimized",
                input_tokens=1000,
                output_tokens=1000,
            ),
        ]
    )
    assert cat.price(u)["cost_usd"].tolist() == pytest.approx([0.0048, 0.006])


def test_two_meters_on_one_cell_at_different_prices_are_listed_not_settled():
    """Two products that fill the same cell at different prices (a meter the usage types do
    not tell apart) leave the cell empty and are both listed, each naming the other; the
    pivot refuses them rather than keep the larger price. Identical prices are no clash."""
    products = _haiku_us_east_2(
        {
            "USE2-MP:USE2_InputTokenCount-Units": "0.80",
            "USE2-MP:USE2_input_tokens_standard-Units": "0.90",  # the same cell, another price
            "USE2-MP:USE2_OutputTokenCount-Units": "4.00",
            "USE2-MP:USE2_output_tokens_standard-Units": "4.00",  # the same price: no clash
        }
    )
    cells, unmapped = parse_products(products, "AmazonBedrockFoundationModels", "2026-11-27")
    assert unmapped == []
    with pytest.raises(ValueError, match="2 price cells clash"):
        cells_to_sheet(cells)
    kept, clashes = price_list.split_clashes(cells)
    assert [c["usagetype"] for c in clashes] == [
        "USE2-MP:USE2_InputTokenCount-Units",
        "USE2-MP:USE2_input_tokens_standard-Units",
    ]
    assert clashes[0]["reason"] == (
        "clash: input_per_1k of anthropic.claude-3-5-haiku in us-east-2 (geo none, tier "
        "default) is 0.0008 USD per 1K here and USE2-MP:USE2_input_tokens_standard-Units at "
        "0.0009; the cell is left empty rather than one price picked"
    )
    row = cells_to_sheet(kept).iloc[0]
    assert pd.isna(row["input_per_1k"]) and row["output_per_1k"] == pytest.approx(0.004)


def test_update_lists_a_clash_among_the_products_it_could_not_map(tmp_path):
    """``prices update`` lists clashing products with the unmapped ones (the command prints
    them), and its sheet leaves that cell empty: Nova Pro input reads 0.0008 and 0.0009 per
    1K from two meters, so its input is unpriced, its output 0.0032 stays."""
    client = boto3.client(
        "pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    nova = [
        _bedrock("N1", "USE1-NovaPro-input-tokens", "Input tokens", "0.0008"),
        _bedrock("N2", "USE1-NovaPro-text-input-tokens", "Input tokens", "0.0009"),
        _bedrock("N3", "USE1-NovaPro-output-tokens", "Output tokens", "0.0032"),
    ]
    page = {"FormatVersion": "aws_v1"}
    stub.add_response("get_products", {**page, "PriceList": nova}, _request("AmazonBedrock"))
    stub.add_response(
        "get_products", {**page, "PriceList": []}, _request("AmazonBedrockFoundationModels")
    )
    with stub:
        result = update_sheet(["us-east-1"], tmp_path / "pl.csv", client=client, as_of="2026-11-27")
    assert sorted(result.unmapped["usagetype"]) == [
        "USE1-NovaPro-input-tokens",
        "USE1-NovaPro-text-input-tokens",
    ]
    assert result.unmapped["reason"].str.startswith("clash: input_per_1k of amazon.nova-pro").all()
    row = PriceCatalog.load(tmp_path / "pl.csv").rate("amazon.nova-pro")
    assert pd.isna(row["input_per_1k"]) and row["output_per_1k"] == pytest.approx(0.0032)


def _titan_embedding(sku: str, usagetype: str, usd: str) -> dict:
    """A Titan Text Embeddings product: no ``model`` attribute (the usage type names the model;
    ``titanModel`` is the Price List's own label), 1K tokens, input only."""
    label = "TitanEmbeddingsV2-Text-input"
    return json.loads(_bedrock(sku, usagetype, "Input tokens", usd, None, titanModel=label))


def test_update_prices_the_embedding_models_from_their_products(tmp_path):
    """Titan's embedding products (no ``model`` attribute) are named by their usage types, the
    Cohere Embed ones by their Marketplace names; only input meters exist. The sheet they make
    prices a million input tokens at 1,000 x the rate per 1K: Titan V2 0.00002 -> $0.02 (batch
    0.00001 -> $0.01), Titan G1 0.0001 -> $0.10; per 1M units, Cohere Embed English and
    Multilingual v3 $0.10, Embed v4 $0.12 in-Region and global. Nothing is left unmapped."""
    titan = [
        _titan_embedding("T1", "USE1-TitanEmbeddingV2-Text-input-tokens", "0.0000200000"),
        _titan_embedding("T2", "USE1-TitanEmbeddingV2-Text-input-tokens-batch", "0.0000100000"),
        _titan_embedding("T3", "USE1-TitanEmbeddingsG1-Text-input-tokens", "0.0001000000"),
    ]
    cohere = [
        json.loads(_marketplace(f"C{i}", name, usage_type, usd))
        for i, (name, usage_type, usd) in enumerate(
            [
                (
                    "Cohere Embed 3 Model - English (Amazon Bedrock Edition)",
                    "USE1-MP:USE1_InputTokenCount-Units",
                    "0.10",
                ),
                (
                    "Cohere Embed Model 3 - Multilingual (Amazon Bedrock Edition)",
                    "USE1-MP:USE1_InputTokenCount-Units",
                    "0.10",
                ),
                (
                    "Cohere Embed 4 Model (Amazon Bedrock Edition)",
                    "USE1-MP:USE1_InputTokenCount-Units",
                    "0.12",
                ),
                (
                    "Cohere Embed 4 Model (Amazon Bedrock Edition)",
                    "USE1-MP:USE1_InputTokenCount_Global-Units",
                    "0.12",
                ),
            ]
        )
    ]
    cells, unmapped = parse_products(titan, "AmazonBedrock", "2026-11-28")
    mp_cells, mp_unmapped = parse_products(cohere, "AmazonBedrockFoundationModels", "2026-11-28")
    assert unmapped == [] and mp_unmapped == []
    path = tmp_path / "pl.csv"
    write_sheet(cells_to_sheet(cells + mp_cells), path)
    cat = PriceCatalog.load(path)
    v2 = cat.rate("amazon.titan-embed-text-v2")
    assert (v2["input_per_1k"], v2["batch_input_per_1k"]) == (0.00002, 0.00001)
    assert pd.isna(v2["output_per_1k"]) and pd.isna(v2["batch_output_per_1k"])
    assert "USE1-TitanEmbeddingV2-Text-input-tokens" in v2["source"]
    keys = [
        "amazon.titan-embed-text-v2",
        "amazon.titan-embed-text-v1",
        "cohere.embed-english-v3",
        "cohere.embed-multilingual-v3",
        "cohere.embed-v4",
        "cohere.embed-v4",
    ]
    geos = ["none"] * 5 + ["global"]
    u = make_usage(
        [
            dict(app=f"rag-{i}", n=1, model=key, geo=geo, input_tokens=1_000_000)
            for i, (key, geo) in enumerate(zip(keys, geos, strict=True))
        ]
    )
    on_demand = cat.price(u)
    assert on_demand["priced"].all()
    assert on_demand["cost_usd"].tolist() == pytest.approx([0.02, 0.10, 0.10, 0.10, 0.12, 0.12])
    batch = cat.price(u.iloc[:1], mode="batch")
    assert batch["cost_usd"].tolist() == pytest.approx([0.01])
