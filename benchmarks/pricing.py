"""Benchmark: the vectorised cost engine vs LiteLLM's per-call ``cost_per_token``.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/pricing.py [--rows 1000000] [--litellm-rows 20000]

Prices 1M synthetic usage rows with ``PriceCatalog.price`` and the same rows, one call each,
with LiteLLM (its bundled price map: LITELLM_LOCAL_MODEL_COST_MAP=True, no network). A per-call
loop over 1M rows takes minutes, so LiteLLM is timed on a subset and extrapolated (printed as
such). Then lists where LiteLLM's Bedrock prices and ours differ for the same model and region.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from bedrock_finops.models import resolve  # noqa: E402
from bedrock_finops.pricing import PriceCatalog  # noqa: E402

# (raw model ID, region, weight): the sample workload's IDs plus a few current ones.
MIX = [
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "us-east-1", 0.30),
    ("anthropic.claude-opus-4-20250514-v1:0", "us-east-1", 0.05),
    ("us.anthropic.claude-opus-4-20250514-v1:0", "us-east-1", 0.05),
    ("anthropic.claude-opus-4-1-20250805-v1:0", "us-west-2", 0.05),
    ("meta.llama3-1-70b-instruct-v1:0", "us-west-2", 0.15),
    ("amazon.titan-text-express-v1", "us-east-1", 0.10),
    ("amazon.nova-pro-v1:0", "us-east-1", 0.10),
    ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", 0.10),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "us-west-2", 0.10),
]


# Compared for rates only: in-region calls to newer Claude models (priced +10% over global).
RATE_ONLY = [
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", 0),
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "us-east-1", 0),
    ("anthropic.claude-haiku-4-5-20251001-v1:0", "us-east-1", 0),
    ("anthropic.claude-opus-4-5-20251101-v1:0", "us-east-1", 0),
    ("amazon.nova-micro-v1:0", "us-east-1", 0),
    ("mistral.mistral-large-2402-v1:0", "us-east-1", 0),
]


def synthetic_usage(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = np.array([w for *_, w in MIX])
    pick = rng.choice(len(MIX), size=n, p=weights / weights.sum())
    refs = [resolve(raw) for raw, *_ in MIX]
    cacheable = np.array(
        [r.family in ("claude-sonnet", "claude-opus", "claude-haiku") for r in refs]
    )
    cached = cacheable[pick] & (rng.random(n) < 0.4)
    read = np.where(cached, rng.integers(1024, 8000, n), 0)
    write = np.where(cached & (rng.random(n) < 0.1), rng.integers(1024, 4000, n), 0)

    def strings(values: list) -> pd.arrays.ArrowExtensionArray:
        return pd.arrays.ArrowExtensionArray(pa.array(np.array(values, dtype=object)[pick]))

    return pd.DataFrame(
        {
            "model_id_raw": strings([raw for raw, *_ in MIX]),
            "model": strings([r.key for r in refs]),
            "region": strings([region for _, region, _ in MIX]),
            "geo": strings([r.geo for r in refs]),
            "service_tier": strings(["default"] * len(MIX)),
            "input_tokens": rng.integers(50, 4000, n),
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "cache_ttl": "5m",
            "output_tokens": rng.integers(1, 1500, n),
        }
    )


def litellm_costs(usage: pd.DataFrame) -> np.ndarray:
    import litellm

    out = np.empty(len(usage))
    cols = [
        "model_id_raw",
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "output_tokens",
    ]
    for i, (raw, inp, read, write, outp) in enumerate(usage[cols].itertuples(index=False)):
        try:
            p, c = litellm.cost_per_token(
                model=raw,
                custom_llm_provider="bedrock",
                prompt_tokens=int(inp + read + write),  # LiteLLM takes total input
                completion_tokens=int(outp),
                cache_read_input_tokens=int(read),
                cache_creation_input_tokens=int(write),
            )
            out[i] = p + c
        except Exception:  # LiteLLM raises for models it does not know
            out[i] = np.nan
    return out


def price_differences(cat: PriceCatalog) -> pd.DataFrame:
    """Per model ID: LiteLLM's per-1K rates vs the sheet row our engine uses."""
    import litellm

    rows = []
    for raw, region, _ in MIX + RATE_ONLY:
        ref = resolve(raw)
        ours = cat.rate(ref.key, region, ref.geo)
        theirs = litellm.model_cost.get(raw) or {}
        for name, col, key in (
            ("input", "input_per_1k", "input_cost_per_token"),
            ("output", "output_per_1k", "output_cost_per_token"),
            ("cache write 5m", "cache_write_5m_per_1k", "cache_creation_input_token_cost"),
            ("cache read", "cache_read_per_1k", "cache_read_input_token_cost"),
        ):
            a = ours[col]
            b = theirs.get(key)
            b = None if b is None else b * 1000
            same = (pd.isna(a) and b is None) or (b is not None and np.isclose(a, b))
            if not same:
                rows.append(
                    {
                        "model_id": raw,
                        "region": region,
                        "rate": name,
                        "ours_per_1k": a,
                        "litellm_per_1k": b,
                    }
                )
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--litellm-rows", type=int, default=20_000)
    args = ap.parse_args()

    cat = PriceCatalog.load("current")
    usage = synthetic_usage(args.rows)
    cat.price(usage.head(1000))  # warm caches/imports
    t0 = time.perf_counter()
    priced = cat.price(usage)
    ours_s = time.perf_counter() - t0
    print(
        f"engine: {args.rows:,} rows in {ours_s:.3f} s "
        f"({args.rows / ours_s:,.0f} rows/s); priced {priced['priced'].mean():.1%}, "
        f"total ${priced['cost_usd'].sum():,.2f}"
    )

    import litellm  # noqa: F401  (import time is not counted)

    sub = usage.head(args.litellm_rows)
    t0 = time.perf_counter()
    theirs = litellm_costs(sub)
    lit_s = time.perf_counter() - t0
    lit_full = lit_s * args.rows / len(sub)
    print(
        f"litellm cost_per_token: {len(sub):,} rows in {lit_s:.2f} s "
        f"({len(sub) / lit_s:,.0f} rows/s) -> extrapolated to {args.rows:,} rows: "
        f"{lit_full:,.0f} s"
    )
    print(f"speed-up: {lit_full / ours_s:,.0f}x")

    ours_sub = priced["cost_usd"].to_numpy()[: len(sub)]
    agree = np.isclose(ours_sub, theirs, rtol=1e-9, equal_nan=True)
    print(f"per-row agreement on the subset: {agree.mean():.1%}")
    by_id = (
        pd.DataFrame(
            {"model_id": sub["model_id_raw"].to_numpy(), "ours": ours_sub, "litellm": theirs}
        )
        .groupby("model_id")
        .sum(min_count=1)
    )
    by_id["diff_pct"] = 100 * (by_id["litellm"] / by_id["ours"] - 1)
    with pd.option_context("display.width", 160, "display.float_format", "{:,.6f}".format):
        print("\ncost of the subset by model ID (USD):")
        print(by_id.to_string())
        diffs = price_differences(cat)
        print("\nrates that differ (per 1K tokens):")
        print(diffs.to_string(index=False) if len(diffs) else "none")


if __name__ == "__main__":
    main()
