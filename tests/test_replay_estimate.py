"""The live replay's cost estimate: unpriced calls are counted and shown, never summed as $0."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from usage_builders import in_and_out_of_the_sheet, make_usage

from bedrock_finops import replay
from bedrock_finops.pricing import PriceCatalog

SONNET4, HAIKU35 = "anthropic.claude-sonnet-4", "anthropic.claude-3-5-haiku"


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


def _usage() -> pd.DataFrame:
    # One request in us-east-1 (priced) and one in ap-northeast-1 (no sheet row for either
    # model there), each 100K input + 10K output tokens.
    return in_and_out_of_the_sheet(SONNET4, 1)


def _plan(u: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": u["request_id"].astype(str),
            "segment": "s1",
            "region": u["region"].astype(str),
            "output_shape": "prose",
            "current_model_id": "anthropic.claude-sonnet-4-20250514-v1:0",
            "candidate_model_id": "anthropic.claude-3-5-haiku-20241022-v1:0",
            "candidate_model": HAIKU35,
            "system": None,
            "user": "hello",
            "max_tokens": 16,
            "temperature": 0.0,
        }
    )


def test_estimate_counts_unpriced_calls_and_gives_no_partial_total(cat):
    u = _usage()
    est = replay.estimate_cost(_plan(u), u, cat)
    # Priced side: Sonnet 4 100 x 0.003 + 10 x 0.015 = 0.45; Haiku 3.5 100 x 0.0008 + 10 x 0.004
    assert est["current_priced_usd"] == pytest.approx(0.45)
    assert est["candidate_priced_usd"] == pytest.approx(0.12)
    assert (est["current_unpriced"], est["candidate_unpriced"]) == (1, 1)
    assert math.isnan(est["current_usd"]) and math.isnan(est["candidate_usd"])
    assert est["unpriced_reasons"] == {
        "current: no price for model in region": 1,
        "candidate: no price for model in region": 1,
    }


def test_estimate_all_priced_is_the_total(cat):
    u = _usage().iloc[:1]
    est = replay.estimate_cost(_plan(u), u, cat)
    assert est["current_usd"] == pytest.approx(0.45)
    assert est["candidate_usd"] == pytest.approx(0.12)
    assert est["current_unpriced"] == est["candidate_unpriced"] == 0


def _run(monkeypatch, cat, lines: list[str], apply: bool, client=None, out_dir=None) -> int:
    u = _usage()
    monkeypatch.setattr(replay, "replay_plan", lambda *a, **k: _plan(u))
    return replay.run_live(
        {"segments": []},
        u,
        None,
        cat,
        out_dir or Path("/nonexistent"),
        apply=apply,
        client_for=None if client is None else (lambda region: client),
        echo=lines.append,
    )


def test_dry_run_shows_unpriced_calls_not_a_dollar_total(monkeypatch, cat):
    lines: list[str] = []
    assert _run(monkeypatch, cat, lines, apply=False) == 0
    head = lines[0]
    assert head.startswith("live replay: 2 requests x 2 models = 4 Converse calls")
    assert "estimated cost UNKNOWN: 2 of 4 calls have no price (current 1, candidate 1)" in head
    # 0.45 + 0.12 over the priced calls, shown as a lower bound
    assert "the 2 priced calls come to $0.5700" in head and "not the total" in head
    assert "estimated $" not in head
    assert "  unpriced: 1 x current: no price for model in region" in lines
    assert "  unpriced: 1 x candidate: no price for model in region" in lines
    assert lines[-1].startswith("dry run: nothing was called")


class _FakeRuntime:
    """A bedrock-runtime stand-in that notes how many lines were printed before its first call."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.calls, self.lines_before_first_call = lines, 0, None

    def converse(self, **kw):
        if self.lines_before_first_call is None:
            self.lines_before_first_call = len(self.lines)
        self.calls += 1
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}},
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 10},
        }


def test_apply_warns_before_calling_when_calls_are_unpriced(monkeypatch, cat, tmp_path):
    lines: list[str] = []
    fake = _FakeRuntime(lines)
    assert _run(monkeypatch, cat, lines, apply=True, client=fake, out_dir=tmp_path) == 0
    assert fake.calls == 4
    warnings = [line for line in lines[: fake.lines_before_first_call] if "warning" in line]
    assert warnings == [
        "warning: calling Bedrock with 2 unpriced call(s): the replay costs more than the "
        "priced part shown above"
    ]


def test_estimate_prices_the_cached_input_as_plain_input(cat):
    """A replay sends the logged prompt uncached: its cache reads and writes are priced as
    input tokens on both models."""
    u = make_usage(
        [dict(app="a", model=SONNET4, n=1, input_tokens=10_000, cache_read_tokens=80_000,
              cache_write_tokens=10_000, output_tokens=10_000)]
    )  # fmt: skip
    est = replay.estimate_cost(_plan(u), u, cat)
    # 10K + 80K + 10K = 100K input: Sonnet 4 100 x 0.003 + 10 x 0.015 = 0.45 (at the cache
    # rates it would be 10 x 0.003 + 80 x 0.0003 + 10 x 0.00375 + 0.15 = 0.2415);
    # Haiku 3.5 100 x 0.0008 + 10 x 0.004 = 0.12
    assert est["current_usd"] == pytest.approx(0.45)
    assert est["candidate_usd"] == pytest.approx(0.12)
    assert (est["current_unpriced"], est["candidate_unpriced"]) == (0, 0)


def test_a_dry_run_of_a_few_tokens_shows_their_cost_not_zero(monkeypatch, cat):
    """One request of 10 input and 1 output tokens: $0.000045 on Sonnet 4 (10 x 3 + 15 per 1M),
    $0.000012 on Haiku 3.5 (10 x 0.8 + 4): to four decimals they read "$0.0000"."""
    u = make_usage([dict(app="a", model=SONNET4, n=1, input_tokens=10, output_tokens=1)])
    monkeypatch.setattr(replay, "replay_plan", lambda *a, **k: _plan(u))
    lines: list[str] = []
    replay.run_live({"segments": []}, u, None, cat, Path("/nonexistent"), echo=lines.append)
    assert lines[0] == (
        "live replay: 1 requests x 2 models = 2 Converse calls, estimated $0.000057 (current "
        "$0.000045, candidate $0.000012; logged tokens, uncached)"
    )
