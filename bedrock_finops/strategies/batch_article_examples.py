"""Batch inference: the source article's three batch examples, priced by the cost engine.

A check of the article's figures, not part of the analysis of a run: ``article_examples``
prices each example on demand and in batch under stated token assumptions;
``article_token_budgets`` shows the tokens per request each figure implies per model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# (use case, requests, model, input tokens, output tokens, article on-demand $, article batch $)
ARTICLE_EXAMPLES = [
    ("1M documents classification", 1_000_000, "anthropic.claude-3-5-haiku", 1000, 0, 800, 400),
    ("100K email summaries", 100_000, "anthropic.claude-sonnet-4", 500, 100, 300, 150),
    ("500K content generation", 500_000, "anthropic.claude-sonnet-4", 500, 900, 7500, 3750),
]
ARTICLE_NOTES = {
    "1M documents classification": "1,000 input tokens per document on the article's Haiku "
    "price ($0.80 per 1M tokens); the article's figure only follows if the label output is free "
    "(0 output tokens), which no real classification is.",
    "100K email summaries": "500-token email, 100-token summary on Sonnet: 500 x $3.00/1M + "
    "100 x $15.00/1M = $0.003 per email.",
    "500K content generation": "500-token brief, 900-token draft on Sonnet: $0.0015 + $0.0135 = "
    "$0.015 per item (Opus with 500 in / 100 out gives the same, but 100 tokens is no article).",
}


def _usage_for(model: str, tin: int, tout: int) -> pd.DataFrame:
    """One usage row: one request of an example (the engine prices per request, e.g. a
    long-context rate depends on one request's input, so a row never carries a total)."""
    from bedrock_finops.schema import empty_usage

    row = {
        "request_id": "example", "region": "us-east-1", "geo": "none", "service_tier": "default",
        "model": model, "model_id_raw": model, "input_tokens": tin,
        "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": tout,
    }  # fmt: skip
    base = empty_usage()
    return pd.concat([base, pd.DataFrame([row])], ignore_index=True)[base.columns]


def article_examples(catalog: Any) -> pd.DataFrame:
    """The article's three batch examples priced by the engine under stated token assumptions."""
    out = []
    for case, n, model, tin, tout, art_od, art_b in ARTICLE_EXAMPLES:
        u = _usage_for(model, tin, tout)
        od = n * float(catalog.price(u)["cost_usd"].iat[0])
        b = n * float(catalog.price(u, mode="batch")["cost_usd"].iat[0])
        out.append(
            {
                "use_case": case,
                "requests": n,
                "model": model,
                "input_tokens_per_request": tin,
                "output_tokens_per_request": tout,
                "article_on_demand_usd": art_od,
                "engine_on_demand_usd": od,
                "article_batch_usd": art_b,
                "engine_batch_usd": b,
                "reproduced": bool(np.isclose(od, art_od) and np.isclose(b, art_b)),
                "assumption": ARTICLE_NOTES[case],
            }
        )
    return pd.DataFrame(out)


def article_token_budgets(catalog: Any, models: list[str] | None = None) -> pd.DataFrame:
    """For each example and model: tokens per request that produce the article's figure
    if all were input, or all output (a plausibility check of the figure, not a fit)."""
    models = models or [
        "anthropic.claude-opus-4", "anthropic.claude-sonnet-4", "anthropic.claude-3-5-haiku",
        "meta.llama3-1-70b-instruct", "meta.llama3-1-8b-instruct", "amazon.titan-text-express",
        "mistral.mistral-large-2402",
    ]  # fmt: skip
    out = []
    for case, n, *_rest in ARTICLE_EXAMPLES:
        dollars = _rest[3]
        for model in models:
            rate = catalog.rate(model)
            per_req = dollars / n
            out.append(
                {
                    "use_case": case,
                    "model": model,
                    "usd_per_1k_requests": per_req * 1000,
                    "input_only_tokens": per_req / rate["input_per_1k"] * 1000,
                    "output_only_tokens": per_req / rate["output_per_1k"] * 1000,
                }
            )
    return pd.DataFrame(out)
