"""Usage-type parsing, product-name mapping and the Price List updater (botocore Stubber)."""

from __future__ import annotations

import pytest

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
        ("Nova2.0Lite", None),  # not in models.csv: unmapped, never guessed
        ("Claude Sonnet 4.6 (Amazon Bedrock Edition)", None),
        ("", None),
    ],
)
def test_model_key_from_product(name, key):
    assert model_key_from_product(name) == key
