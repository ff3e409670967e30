"""The service tier and inference parameters read from request and response bodies."""

from __future__ import annotations

import pytest

from bedrock_finops.parse_request import request_params, service_tier


@pytest.mark.parametrize(
    ("in_body", "out_body", "tier"),
    [
        ({"messages": []}, {"output": {}}, "default"),
        ({"messages": []}, None, "default"),
        ({"messages": []}, [{"contentBlockDelta": {}}], "default"),  # a stream: a list
        ({"serviceTier": {"type": "flex"}}, {"output": {}}, "flex"),
        ({"serviceTier": "priority"}, None, "priority"),
        ({"serviceTier": {"type": "flex"}}, {"serviceTier": {"type": "priority"}}, "priority"),
        ({"serviceTier": {"type": ""}}, {}, "default"),
        ({"performanceConfig": {"latency": "optimized"}}, {}, "latency-optimized"),
        ({"performanceConfig": {"latency": "standard"}}, {}, "default"),
        (
            {"serviceTier": 3, "performanceConfig": {"latency": "optimized"}},
            {},
            "latency-optimized",
        ),
    ],
)
def test_service_tier(in_body: dict, out_body: object, tier: str) -> None:
    assert service_tier(in_body, out_body) == tier


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ({"inferenceConfig": {"maxTokens": 512, "temperature": 0.2}}, (512, 0.2)),  # Converse
        ({"inferenceConfig": {"max_new_tokens": 300}}, (300, None)),  # Nova
        ({"textGenerationConfig": {"maxTokenCount": 50, "temperature": 0}}, (50, 0.0)),  # Titan
        ({"max_tokens": 100, "temperature": 1}, (100, 1.0)),  # Anthropic, Mistral
        ({"max_gen_len": 64, "temperature": 0.5}, (64, 0.5)),  # Llama
        ({"max_tokens_to_sample": 200}, (200, None)),  # legacy completions
        ({"max_tokens": None, "max_gen_len": 64}, (None, None)),  # the first key present wins
        ({"inferenceConfig": "odd", "max_tokens": 10}, (10, None)),
        ({"max_tokens": 1.9, "temperature": True}, (1, None)),  # booleans are not numbers
        # read as sent: the row nulls a max_tokens past MAX_TOKENS_PER_CALL and counts it
        # (tests/test_row_value_bounds.py), rather than its reader dropping it unsaid
        ({"max_tokens": 2**70, "temperature": "0.3"}, (2**70, None)),
        ({"max_tokens": -0.5}, (-1, None)),  # rounded down: a negative fraction stays negative
        ({}, (None, None)),
    ],
)
def test_request_params(body: dict, params: tuple) -> None:
    assert request_params(body) == params
