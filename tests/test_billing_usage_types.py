"""Billing product names -> catalog keys: versioned names, and nothing mapped by guesswork."""

from __future__ import annotations

import pytest

from bedrock_finops.usage_types import model_key_from_product


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
        ("Titan Text Embeddings V2", None),
        ("Jamba 1.5 Large (Amazon Bedrock Edition)", None),
        # unchanged neighbours
        ("Claude 3.7 Sonnet (Amazon Bedrock Edition)", "anthropic.claude-3-7-sonnet"),
        ("Claude 3 Haiku (Amazon Bedrock Edition)", "anthropic.claude-3-haiku"),
        ("Claude Sonnet 4 (Amazon Bedrock Edition)", "anthropic.claude-sonnet-4"),
        ("Titan Text G1 - Express", "amazon.titan-text-express"),
    ],
)
def test_product_name_to_model_key(name, key):
    assert model_key_from_product(name) == key
