"""Billing product names -> catalog keys: versioned names, and nothing mapped by guesswork."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bedrock_finops.reconcile import reconcile
from bedrock_finops.sources.cur import read_cur
from bedrock_finops.usage_types import model_key_from_product, parse_usage_type


@pytest.mark.parametrize(
    ("name", "key"),
    [
        # v2 (anthropic.claude-3-5-sonnet-20241022-v2:0) is a base ID of the 3.5 Sonnet key
        ("Claude 3.5 Sonnet v2 (Amazon Bedrock Edition)", "anthropic.claude-3-5-sonnet"),
        ("Claude 3.5 Sonnet (Amazon Bedrock Edition)", "anthropic.claude-3-5-sonnet"),
        ("Claude 3.5 Sonnet V2", "anthropic.claude-3-5-sonnet"),
        ("Mistral Large 2 (24.07)", "mistral.mistral-large-2407"),
        ("Mistral Large", "mistral.mistral-large-2402"),
        # versions the catalog does not list stay unmapped, never fall back to another one
        ("Claude 3.5 Sonnet v3 (Amazon Bedrock Edition)", None),
        ("Claude 3.5 Haiku v2 (Amazon Bedrock Edition)", None),
        ("Titan Text Embeddings V3", None),
        ("Jamba 1.5 Large (Amazon Bedrock Edition)", None),
        # unchanged neighbours
        ("Claude 3.7 Sonnet (Amazon Bedrock Edition)", "anthropic.claude-3-7-sonnet"),
        ("Claude 3 Haiku (Amazon Bedrock Edition)", "anthropic.claude-3-haiku"),
        ("Claude Sonnet 4 (Amazon Bedrock Edition)", "anthropic.claude-sonnet-4"),
        ("Titan Text G1 - Express", "amazon.titan-text-express"),
        ("Titan Text Embeddings V2", "amazon.titan-embed-text-v2"),  # listed: its own version
        # AWS's names for Claude 2 and 2.1 (one catalog key, anthropic.claude-v2)
        ("Claude 2.0", "anthropic.claude-v2"),
        ("Claude 2.1", "anthropic.claude-v2"),
        ("Claude2.0", "anthropic.claude-v2"),
        ("Claude2.1", "anthropic.claude-v2"),
        ("Claude Instant", None),  # not in the catalog
    ],
)
def test_product_name_to_model_key(name, key):
    assert model_key_from_product(name) == key


def test_a_claude_2_bill_line_is_claude_2s_and_meets_its_logged_requests(tmp_path):
    """AWS bills Claude 2 as model "Claude 2.0", usage type ``USE1-Claude2.0-input-tokens``
    (a Price List answer quoted in aws/aws-cli#9567: $0.008 per 1K input tokens). 1,000 units
    of 1K tokens at $8.00 are 1,000,000 tokens of anthropic.claude-v2, the key its logged
    ``anthropic.claude-v2`` requests have; the line read "unmapped" and the requests "not in
    bill"."""
    fragment = parse_usage_type("USE1-Claude2.0-input-tokens").model_fragment
    assert model_key_from_product(fragment) == "anthropic.claude-v2"
    line = {
        "line_item_usage_start_date": "2026-10-01T00:00:00Z",
        "line_item_product_code": "AmazonBedrock",
        "line_item_usage_type": "USE1-Claude2.0-input-tokens",
        "line_item_usage_amount": 1000.0,
        "line_item_unblended_cost": 8.0,
        "pricing_unit": "1K tokens",
        "line_item_line_item_type": "Usage",
        "product_product_name": "Amazon Bedrock",
        "product_region_code": "us-east-1",
    }
    path = tmp_path / "cur.csv"
    pd.DataFrame([line]).to_csv(path, index=False)
    bill = read_cur(path)
    assert bill[["model", "token_kind", "quantity"]].iloc[0].tolist() == [
        "anthropic.claude-v2",
        "input",
        1_000_000,
    ]
    logs = pd.DataFrame(
        {
            "date": [dt.date(2026, 10, 1)],
            "model": ["anthropic.claude-v2"],
            "cost_usd": [float("nan")],
            "requests": [10],
            "tokens": [1_000_000],
        }
    )
    rows = reconcile(logs, bill).rows
    assert rows["model"].tolist() == ["anthropic.claude-v2"]
    assert rows["billed_usd"].tolist() == [8.0]
    assert "not in bill" not in rows["explanation"].iat[0]


@pytest.mark.parametrize(
    ("usage_type", "geo"),
    [
        (
            "USE1-Claude4.5Sonnet-reserved-1-month-input-tokens-per-minute-cross-region-global",
            "global",
        ),
        ("USE1-Claude4.5Sonnet-reserved-3-month-output-tokens-per-minute-cross-region-geo", "geo"),
    ],
)
def test_a_reserved_tier_commitment_is_capacity_not_tokens(usage_type, geo):
    """The Reserved tier bills a tokens-per-minute commitment for a term: provisioned capacity
    of Claude Sonnet 4.5, never on-demand input or output tokens (it read as input/output
    tokens at on-demand, of a model "Claude4.5Sonnet-reserved-1-month" that mapped to none)."""
    parsed = parse_usage_type(usage_type)
    assert (parsed.token_kind, parsed.mode, parsed.geo) == ("other", "provisioned", geo)
    assert parsed.model_fragment == "Claude4.5Sonnet"
    assert model_key_from_product(parsed.model_fragment) == "anthropic.claude-sonnet-4-5"
    on_demand = parse_usage_type("USE1-Claude4.5Sonnet-input-tokens-cross-region-global")
    assert (on_demand.token_kind, on_demand.mode) == ("input", "on_demand")  # unchanged
