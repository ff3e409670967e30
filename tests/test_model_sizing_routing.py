"""Model sizing's routing table: only a candidate the quality gate accepted is routed to.

Without evaluation results every recommendation is pending, and a gateway loading the table
must keep calling the current model; the candidate is shown in its own column. A passing
evaluation routes the segment to the candidate; a failing one keeps the current model.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_model_sizing import CHAT, CODER, HAIKU35, OPUS, ROUTER, SONNET, TEXTS
from usage_builders import make_usage, prompts_frame

from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing as ms
from bedrock_finops.strategies import model_sizing_findings as ms_findings
from bedrock_finops.strategies import model_sizing_params as ms_params
from bedrock_finops.strategies import model_sizing_tables as ms_tables

OPUS_ID = "anthropic.claude-opus-4-20250514-v1:0"
SONNET_ID = "anthropic.claude-sonnet-4-20250514-v1:0"
HAIKU35_ID = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _usage() -> pd.DataFrame:
    """The model-sizing tests' router, chat and coder apps."""
    return make_usage([dict(n=10, **ROUTER), dict(n=4, **CHAT), dict(n=5, **CODER)])


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


@pytest.fixture(scope="module")
def prompts() -> pd.DataFrame:
    return prompts_frame(TEXTS)


@pytest.fixture(scope="module")
def pending(cat, prompts) -> ms.SizingPlan:
    return ms.plan(_usage(), cat, prompts=prompts)


def _eval_plan(cat, prompts, pending, tmp_path, candidate_score: float) -> ms.SizingPlan:
    """A plan whose router segment was scored (current 1.0, candidate ``candidate_score``)."""
    seg = pending.segments.loc[pending.segments["app"] == "router", "segment"].iloc[0]
    path = tmp_path / f"eval-{candidate_score}.csv"
    pd.DataFrame(
        {
            "request_id": [f"router-{i}" for i in range(10)],
            "segment": seg,
            "current_score": 1.0,
            "candidate_score": candidate_score,
        }
    ).to_csv(path, index=False)
    return ms.plan(_usage(), cat, prompts=prompts, eval_results=str(path))


def _routes(plan: ms.SizingPlan) -> pd.DataFrame:
    return ms_tables.routing_table(plan).set_index("app")


def test_no_eval_file_routes_pending_segments_to_their_current_model(pending, tmp_path):
    routes = _routes(pending)
    assert set(routes.index) == {"router", "chat", "coder"}
    for app, current, current_id in (("router", OPUS, OPUS_ID), ("chat", SONNET, SONNET_ID)):
        row = routes.loc[app]
        assert row["status"] == ms_params.PENDING
        assert row["current_model"] == current
        assert row["recommended_model"] == current  # the model a gateway calls: unchanged
        assert row["recommended_model_id"] == current_id
        assert row["candidate_model"] == HAIKU35  # the proposal, awaiting evaluation
    coder = routes.loc["coder"]
    assert coder["status"] == ms_params.KEEP
    assert coder["recommended_model"] == SONNET and pd.isna(coder["candidate_model"])
    # The proposal's potential saving is still shown: 94.67% for the router (Opus -> Haiku).
    assert routes.loc["router", "savings_pct"] > 90

    # The exported files say the same: nothing routes to an unevaluated model.
    csv_path, json_path = ms_tables.export_routing_table(pending, tmp_path, "01_model_sizing")
    assert csv_path.name == "01_model_sizing.routing.csv"
    table = pd.read_csv(csv_path).set_index("app")
    assert table.loc["router", "recommended_model"] == OPUS
    assert table.loc["router", "candidate_model"] == HAIKU35
    assert (table["recommended_model"] == table["current_model"]).all()
    routes_json = {r["app"]: r for r in json.loads(json_path.read_text())["routes"]}
    assert routes_json["router"]["recommended_model_id"] == OPUS_ID
    assert routes_json["router"]["candidate_model"] == HAIKU35
    assert routes_json["router"]["status"] == ms_params.PENDING
    assert routes_json["coder"]["candidate_model"] is None


def test_pending_savings_stay_potential_not_routed(pending):
    """The fix touches only the routing table: findings and effects still count pending."""
    f = ms_findings.to_findings(pending)
    assert f.confidence == "low"
    assert f.savings_usd > 0
    assert len(ms_findings.to_effects(pending)) == 14  # 10 router + 4 chat requests


def test_passing_eval_routes_to_the_candidate(cat, prompts, pending, tmp_path):
    plan = _eval_plan(cat, prompts, pending, tmp_path, 0.95)  # 95% >= 90%: accepted
    routes = _routes(plan)
    router = routes.loc["router"]
    assert router["status"] == ms_params.ACCEPTED
    assert router["current_model"] == OPUS
    assert router["recommended_model"] == HAIKU35
    assert router["recommended_model_id"] == HAIKU35_ID
    assert router["candidate_model"] == HAIKU35
    chat = routes.loc["chat"]  # not scored: still pending, still on its current model
    assert chat["status"] == ms_params.PENDING
    assert chat["recommended_model"] == SONNET and chat["candidate_model"] == HAIKU35


def test_failing_eval_keeps_the_current_model(cat, prompts, pending, tmp_path):
    plan = _eval_plan(cat, prompts, pending, tmp_path, 0.85)  # 85% < 90%: rejected
    router = _routes(plan).loc["router"]
    assert router["status"] == ms_params.REJECTED
    assert router["recommended_model"] == OPUS
    assert router["recommended_model_id"] == OPUS_ID
    assert router["candidate_model"] == HAIKU35  # shown, with the rejected status
