"""Claude Opus 4.6, Sonnet 4.6 and Opus 4.7 as real logs name them: ingested, resolved and priced.

Every figure is hand-computed from the sourced per-1M rates in ``prices_current.csv``: the
global profile bills Anthropic's list price (AWS Price List Global meters for the 4.6 models),
in-region calls and geographic profiles (``us.``, ``eu.``) bill 10% more. Legacy Claude models
seen in old logs are found in the catalog but stay unpriced: no Bedrock price for them could be
sourced (docs/pricing.md).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from usage_builders import make_usage

from bedrock_finops.ingest import read_invocation_logs
from bedrock_finops.pricing import PriceCatalog

OPUS46, SONNET46, OPUS47 = (
    "anthropic.claude-opus-4-6",
    "anthropic.claude-sonnet-4-6",
    "anthropic.claude-opus-4-7",
)
# Tokens of every record: 2,000 input, 10,000 cache read, 4,096 cache write (5 min), 400 output.
TOKENS = {"input": 2_000, "cache_read": 10_000, "cache_write": 4_096, "output": 400}
# Opus 4.6 / 4.7 global, per 1M: 2,000 x 5 + 400 x 25 + 10,000 x 0.50 + 4,096 x 6.25
#   = 10,000 + 10,000 + 5,000 + 25,600 = 50,600 -> $0.0506; in-region or geo x 1.1 = $0.05566.
# Sonnet 4.6 global: 2,000 x 3 + 400 x 15 + 10,000 x 0.30 + 4,096 x 3.75
#   = 6,000 + 6,000 + 3,000 + 15,360 = 30,360 -> $0.03036; in-region or geo x 1.1 = $0.033396.
OPUS_GLOBAL, OPUS_REGIONAL = 0.0506, 0.05566
SONNET_GLOBAL, SONNET_REGIONAL = 0.03036, 0.033396

# (logged modelId, region, catalog key, geo, USD)
PRICED = [
    ("anthropic.claude-opus-4-6-v1", "us-east-1", OPUS46, "none", OPUS_REGIONAL),
    ("global.anthropic.claude-opus-4-6-v1", "us-east-1", OPUS46, "global", OPUS_GLOBAL),
    ("us.anthropic.claude-opus-4-6-v1", "us-west-2", OPUS46, "us", OPUS_REGIONAL),
    ("eu.anthropic.claude-opus-4-6-v1", "eu-west-1", OPUS46, "eu", OPUS_REGIONAL),
    ("anthropic.claude-sonnet-4-6", "us-east-1", SONNET46, "none", SONNET_REGIONAL),
    ("global.anthropic.claude-sonnet-4-6", "us-west-2", SONNET46, "global", SONNET_GLOBAL),
    ("us.anthropic.claude-sonnet-4-6", "us-east-1", SONNET46, "us", SONNET_REGIONAL),
    ("eu.anthropic.claude-sonnet-4-6", "eu-west-1", SONNET46, "eu", SONNET_REGIONAL),
    ("anthropic.claude-opus-4-7", "us-east-1", OPUS47, "none", OPUS_REGIONAL),
    ("global.anthropic.claude-opus-4-7", "us-east-1", OPUS47, "global", OPUS_GLOBAL),
    ("global.anthropic.claude-opus-4-7-v1", "us-west-2", OPUS47, "global", OPUS_GLOBAL),
    ("us.anthropic.claude-opus-4-7", "us-east-1", OPUS47, "us", OPUS_REGIONAL),
    ("eu.anthropic.claude-opus-4-7", "eu-west-1", OPUS47, "eu", OPUS_REGIONAL),
    (
        "arn:aws:bedrock:us-east-1:111122223333:inference-profile/global.anthropic.claude-opus-4-7",
        "us-east-1",
        OPUS47,
        "global",
        OPUS_GLOBAL,
    ),
]
# Legacy models in old logs: found (provider, family), never priced at a guessed rate.
LEGACY = [
    ("anthropic.claude-3-sonnet-20240229-v1:0", "anthropic.claude-3-sonnet", "claude-sonnet"),
    ("us.anthropic.claude-3-sonnet-20240229-v1:0", "anthropic.claude-3-sonnet", "claude-sonnet"),
    ("anthropic.claude-3-opus-20240229-v1:0", "anthropic.claude-3-opus", "claude-opus"),
    ("anthropic.claude-v2:1", "anthropic.claude-v2", "claude"),
    ("anthropic.claude-v2", "anthropic.claude-v2", "claude"),
]


def _record(i: int, model_id: str, region: str) -> dict:
    """A Converse invocation-log record with the token counts of ``TOKENS``."""
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": "2026-10-01T00:00:50Z",
        "accountId": "111122223333",
        "identity": {"arn": "arn:aws:sts::111122223333:assumed-role/app-a/s"},
        "region": region,
        "requestId": f"r{i}",
        "operation": "Converse",
        "modelId": model_id,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {"messages": [{"role": "user", "content": [{"text": "hi"}]}]},
            "inputTokenCount": TOKENS["input"],
            "cacheReadInputTokenCount": TOKENS["cache_read"],
            "cacheWriteInputTokenCount": TOKENS["cache_write"],
        },
        "output": {
            "outputContentType": "application/json",
            "outputBodyJson": {
                "output": {"message": {"role": "assistant", "content": [{"text": "hello"}]}},
                "stopReason": "end_turn",
            },
            "outputTokenCount": TOKENS["output"],
        },
    }


@pytest.fixture(scope="module")
def current() -> PriceCatalog:
    return PriceCatalog.load("current")


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, current) -> pd.DataFrame:
    """Every record of ``PRICED`` and ``LEGACY`` ingested from one log file, then priced."""
    logged = [(m, r) for m, r, *_ in PRICED] + [(m, "us-east-1") for m, *_ in LEGACY]
    folder = tmp_path_factory.mktemp("logs")
    lines = "".join(json.dumps(_record(i, m, r)) + "\n" for i, (m, r) in enumerate(logged))
    (folder / "part-1.json").write_text(lines)
    usage = read_invocation_logs(folder, workers=1, progress=False)
    assert len(usage) == len(logged) and not usage.attrs["quarantine"]
    priced = current.price(usage)
    return pd.concat([usage, priced], axis=1).set_index("model_id_raw")


@pytest.mark.parametrize(("raw", "region", "key", "geo", "usd"), PRICED)
def test_logged_id_resolves_and_prices_at_the_sourced_rate(ingested, raw, region, key, geo, usd):
    row = ingested.loc[raw]
    assert (row["model"], row["region"], row["geo"]) == (key, region, geo)
    assert row["priced"], row["unpriced_reason"]
    assert row["cost_usd"] == pytest.approx(usd, rel=1e-12)


@pytest.mark.parametrize(("raw", "key", "family"), LEGACY)
def test_legacy_claude_is_found_but_not_priced_at_a_guessed_rate(ingested, raw, key, family):
    row = ingested.loc[raw]
    assert (row["model"], row["provider"], row["family"]) == (key, "anthropic", family)
    assert not row["priced"] and pd.isna(row["cost_usd"])
    assert row["unpriced_reason"] == "model not in price sheet"


def _one(model: str, geo: str, **cols) -> pd.DataFrame:
    return make_usage([dict(app="a", n=1, model=model, geo=geo, **cols)])


def test_batch_prices_of_the_46_models_and_none_for_opus_47(current):
    """Batch: 50% of on-demand, cache tokens billed as input. Opus 4.6 global:
    (2,000 + 10,000 + 4,096) x 2.50 + 400 x 12.50 = 40,240 + 5,000 -> $0.04524; Sonnet 4.6
    through a us profile: 16,096 x 1.65 + 400 x 8.25 = 26,558.4 + 3,300 -> $0.0298584.
    No Bedrock batch price is published for Opus 4.7: unpriced, never $0."""
    tokens = dict(input_tokens=2_000, cache_read_tokens=10_000, cache_write_tokens=4_096,
                  output_tokens=400)  # fmt: skip
    opus = current.price(_one(OPUS46, "global", **tokens), mode="batch").iloc[0]
    assert opus["cost_usd"] == pytest.approx(0.04524, rel=1e-12)
    sonnet = current.price(_one(SONNET46, "us", **tokens), mode="batch").iloc[0]
    assert sonnet["cost_usd"] == pytest.approx(0.0298584, rel=1e-12)
    opus47 = current.price(_one(OPUS47, "global", **tokens), mode="batch").iloc[0]
    assert not opus47["priced"] and opus47["unpriced_reason"] == "no batch price"


def test_one_hour_cache_writes_bill_at_twice_the_input_rate(current):
    """1h writes: Sonnet 4.6 in-region 10,000 x 6.60/1M = $0.066; Opus 4.7 global
    10,000 x 10/1M = $0.10."""
    one_hour = dict(cache_write_tokens=10_000, cache_ttl="1h")
    sonnet = current.price(_one(SONNET46, "none", **one_hour)).iloc[0]
    assert sonnet["cost_usd"] == pytest.approx(0.066, rel=1e-12)
    opus47 = current.price(_one(OPUS47, "global", **one_hour)).iloc[0]
    assert opus47["cost_usd"] == pytest.approx(0.10, rel=1e-12)


def test_long_prompts_on_the_46_models_bill_at_the_standard_rate(current):
    """AWS lists the 4.6 models' Long Context rates equal to the standard ones: a 300,000-token
    prompt on Sonnet 4.6 global is 300,000 x 3/1M = $0.90, not unpriced like Sonnet 4's."""
    out = current.price(_one(SONNET46, "global", input_tokens=300_000)).iloc[0]
    assert out["priced"] and out["cost_usd"] == pytest.approx(0.90, rel=1e-12)


@pytest.mark.parametrize(("key", "minimum"), [(OPUS46, 4096), (SONNET46, 1024), (OPUS47, 4096)])
def test_min_cache_tokens_per_checkpoint(current, key, minimum):
    for geo in ("global", "none", "us"):
        assert current.rate(key, geo=geo)["min_cache_tokens"] == minimum
