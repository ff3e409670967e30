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
from test_quality_gate import write_sample_manifest
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
    write_sample_manifest(tmp_path, {seg: [f"router-{i}" for i in range(10)]})
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


def _two_geo_usage() -> pd.DataFrame:
    """One router segment on Sonnet 4.5: 60 calls from us-east-1 behind us., 40 from
    eu-west-1 behind eu."""
    common = dict(
        app="router",
        model="anthropic.claude-sonnet-4-5",
        system_hash="h-router",
        input_tokens=1000,
        output_tokens=2,
        output_shape="label",
        max_tokens=5,
        user_text="charged twice",
    )
    u = make_usage(
        [
            dict(common, n=60, geo="us", model_id_raw="us." + SONNET45_ID),
            dict(
                common,
                n=40,
                geo="eu",
                region="eu-west-1",
                inference_region="eu-west-1",
                model_id_raw="eu." + SONNET45_ID,
            ),
        ]
    )
    u["request_id"] = [f"r{i}" for i in range(len(u))]
    return u


SONNET45_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU45_ID = "anthropic.claude-haiku-4-5-20251001-v1:0"


def test_a_segment_called_from_two_geos_is_replayed_and_routed_behind_each(cat, prompts, tmp_path):
    """The EU requests keep the eu. profile: the replay calls eu.anthropic.claude-haiku-4-5
    from eu-west-1 for each of the 40 (it called the us. profile, the segment's most common,
    for all 100), and the routing table has one row per Region and geo, each with its own
    model IDs (one row, us. IDs for the EU traffic too)."""
    from bedrock_finops import quality_gate, replay

    u = _two_geo_usage()
    plan = ms.plan(u, cat, prompts=prompts)
    recs = ms_tables.recommended_with_ids(plan)
    assert recs["candidate"].tolist() == ["anthropic.claude-haiku-4-5"]
    assert recs["candidate_model_ids"].tolist() == [
        {"eu": "eu." + HAIKU45_ID, "us": "us." + HAIKU45_ID}
    ]
    manifest = quality_gate.write_eval_sample(u, prompts, recs, tmp_path, per_segment=100)
    calls = replay.replay_plan(manifest, u, prompts)
    by_place = calls.groupby(["region", "current_model_id", "candidate_model_id"]).size()
    assert by_place.to_dict() == {
        ("eu-west-1", "eu." + SONNET45_ID, "eu." + HAIKU45_ID): 40,
        ("us-east-1", "us." + SONNET45_ID, "us." + HAIKU45_ID): 60,
    }
    routes = ms_tables.routing_table(plan)
    assert routes[
        ["region", "geo", "requests", "recommended_model_id", "candidate_model_id"]
    ].to_dict("records") == [
        {
            "region": "us-east-1",
            "geo": "us",
            "requests": 60,
            "recommended_model_id": "us." + SONNET45_ID,  # pending: the current model
            "candidate_model_id": "us." + HAIKU45_ID,
        },
        {
            "region": "eu-west-1",
            "geo": "eu",
            "requests": 40,
            "recommended_model_id": "eu." + SONNET45_ID,
            "candidate_model_id": "eu." + HAIKU45_ID,
        },
    ]


SONNET35_V1_ID = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def test_a_segment_on_its_current_model_is_routed_to_the_id_it_logged(cat):
    """A chat segment keeps Claude 3.5 Sonnet, logged as the June version behind eu.: the
    routing table sent it to eu.anthropic.claude-3-5-sonnet-20241022-v2:0, the catalog's
    newest version of the model, which answers differently. Each Region and geo names the ID
    logged there, the most common one (7 of 10 calls in eu-west-1)."""
    common = dict(
        app="chat",
        model="anthropic.claude-3-5-sonnet",
        system_hash="h",
        input_tokens=100,
        output_tokens=150,
        user_text="How do I add a seat?",
    )
    u = make_usage(
        [
            dict(common, n=7, geo="eu", region="eu-west-1", model_id_raw="eu." + SONNET35_V1_ID),
            dict(
                common,
                n=3,
                geo="eu",
                region="eu-west-1",
                model_id_raw="eu.anthropic.claude-3-5-sonnet-20241022-v2:0",
            ),
            dict(common, n=2, geo="none", region="us-west-2", model_id_raw=SONNET35_V1_ID),
        ]
    )
    u["request_id"] = [f"r{i}" for i in range(len(u))]
    plan = ms.plan(u, cat, prompts=prompts_frame({"h": "You are a helpful assistant."}))
    routes = ms_tables.routing_table(plan)
    assert routes[["region", "geo", "requests", "status", "recommended_model_id"]].to_dict(
        "records"
    ) == [
        {
            "region": "eu-west-1",
            "geo": "eu",
            "requests": 10,
            "status": ms_params.KEEP,
            "recommended_model_id": "eu." + SONNET35_V1_ID,
        },
        {
            "region": "us-west-2",
            "geo": "none",
            "requests": 2,
            "status": ms_params.KEEP,
            "recommended_model_id": SONNET35_V1_ID,
        },
    ]


def test_savings_key_figures_have_a_line_per_segment_of_an_app(cat, prompts, tmp_path):
    """The router app calls Opus 4 with two label prompts: two segments, both proposed for
    Haiku 3.5. The quality gate accepts the first (candidate scores 1.0 of 1.0) and rejects
    the second (0.2 of 1.0): both are key figures, the accepted 94.7% saving (by hand: 500
    input + 2 output tokens at $15/$75 per 1M on Opus 4 is $0.00765, at $0.8/$4 on Haiku
    3.5 $0.000408: 1 - 0.000408 / 0.00765 = 94.67%) beside the rejected one at 0.0%."""
    second = dict(ROUTER, system_hash="h-router-2")
    usage = make_usage([dict(n=10, **ROUTER), dict(n=10, **second)])
    usage["request_id"] = pd.array([f"router-{i}" for i in range(20)], dtype="string")
    texts = {**TEXTS, "h-router-2": TEXTS["h-router"].replace("ticket", "e-mail")}
    pending = ms.plan(usage, cat, prompts=prompts_frame(texts))
    seg = pending.segments.set_index("template")["segment"]
    ids = {seg["h-router"]: usage["request_id"][:10], seg["h-router-2"]: usage["request_id"][10:]}
    pd.DataFrame(
        {
            "request_id": [*ids[seg["h-router"]], *ids[seg["h-router-2"]]],
            "segment": [seg["h-router"]] * 10 + [seg["h-router-2"]] * 10,
            "current_score": 1.0,
            "candidate_score": [1.0] * 10 + [0.2] * 10,
        }
    ).to_csv(tmp_path / "eval.csv", index=False)
    write_sample_manifest(tmp_path, {s: list(r) for s, r in ids.items()})
    plan = ms.plan(
        usage, cat, prompts=prompts_frame(texts), eval_results=str(tmp_path / "eval.csv")
    )
    assert ms_tables.savings_by_segment(plan) == {
        f"{seg['h-router']} -> {HAIKU35}": "$0.07 saved (94.7%), accepted",  # 10 x $0.007242
        f"{seg['h-router-2']} -> {HAIKU35}": "$0.00 saved (0.0%), rejected",
    }
    assert ms_tables.savings_by_segment(plan, top_n=2) == ms_tables.savings_by_segment(plan)


ROUTER_SAVING = 0.00765 - 0.000408  # one router call on Opus 4 less on Haiku 3.5 (see above)


def test_one_routers_call_shows_its_saving_under_a_cent(cat, prompts):
    """One router call: $0.00765 on Opus 4, $0.000408 on Haiku 3.5 (500 x 0.8 + 2 x 4 per 1M)
    and $0.000561 on Haiku 4.5 (500 x 1.1 + 2 x 5.5). The key figure read "$0.01 saved" and the
    candidates tried "$0.0004" and "$0.0006"; the action's evidence kept 4 decimals ($0.0077
    today, $0.0072 saved)."""
    plan = ms.plan(make_usage([dict(n=1, **ROUTER)]), cat, prompts=prompts)
    (segment,) = plan.segments["segment"]
    assert ms_tables.savings_by_segment(plan) == {
        f"{segment} -> {HAIKU35}": "$0.0072 saved (94.7%), pending evaluation"
    }
    assert plan.segments["candidates_tried"].iloc[0] == {
        "anthropic.claude-haiku-4-5": "$0.00056",
        HAIKU35: "$0.00041",
    }
    (action,) = ms.to_findings(plan).actions
    assert action.evidence["current_usd"] == pytest.approx(0.00765, rel=1e-12)
    assert action.evidence["candidate_usd"] == pytest.approx(0.000408, rel=1e-12)
    assert action.evidence["potential_savings_usd"] == pytest.approx(ROUTER_SAVING, rel=1e-12)


@pytest.fixture(scope="module")
def many_routers(cat, prompts, tmp_path_factory) -> ms.SizingPlan:
    """25 label routers on Opus 4, router-01 to router-25, router-k making k calls: 25
    segments proposed for Haiku 3.5. The quality gate rejects router-25 (0.2 of 1.0), the
    largest, and accepts router-24 (1.0 of 1.0); the 23 others are pending."""
    usage = make_usage([dict(ROUTER, app=f"router-{k:02d}", n=k) for k in range(1, 26)])
    segment = ms.plan(usage, cat, prompts=prompts).segments.set_index("app")["segment"]
    scored = {"router-25": 0.2, "router-24": 1.0}
    ids = {segment[app]: [f"{app}-{i}" for i in range(int(app[-2:]))] for app in scored}
    folder = tmp_path_factory.mktemp("eval")
    pd.DataFrame(
        [
            {"request_id": rid, "segment": segment[app], "current_score": 1.0,
             "candidate_score": score}
            for app, score in scored.items()
            for rid in ids[segment[app]]
        ]
    ).to_csv(folder / "eval.csv", index=False)  # fmt: skip
    write_sample_manifest(folder, ids)
    return ms.plan(usage, cat, prompts=prompts, eval_results=str(folder / "eval.csv"))


def _segment_of(plan: ms.SizingPlan, app: str) -> str:
    return plan.segments.set_index("app").loc[app, "segment"]


def test_the_savings_key_figures_show_the_top_n_segments_and_sum_the_others(many_routers):
    """top_n 10 of the 25 routers by the saving counted: router-24 (accepted, 24 calls:
    $0.17) down to router-15 (pending, 15 calls: $0.11); router-25, rejected, counts $0 and
    is among the others. The other line sums router-01 to router-14 (1 + ... + 14 = 105
    calls, $0.76) and router-25's $0, and says which statuses it holds: with the ten lines,
    the 300 calls the run counts, $2.17, the saving over the period."""
    figures = ms_tables.savings_by_segment(many_routers, top_n=10)
    assert list(figures)[0] == "segments shown"
    assert figures["segments shown"] == (
        "top 10 of 25 segments by saving; other (15 segments) sums the rest"
    )
    kept = [f"{_segment_of(many_routers, f'router-{k}')} -> {HAIKU35}" for k in range(24, 14, -1)]
    assert list(figures)[1:] == [*kept, "other (15 segments)"]
    assert figures[kept[0]] == "$0.17 saved (94.7%), accepted"  # 24 x $0.007242 = $0.1738
    assert figures[kept[-1]] == "$0.11 saved (94.7%), pending evaluation"  # 15 calls: $0.1086
    assert figures["other (15 segments)"] == "$0.76 saved; 14 pending evaluation, 1 rejected"
    total = ms_findings.to_findings(many_routers).savings_usd
    assert total == pytest.approx(300 * ROUTER_SAVING)
    segments = many_routers.segments.set_index("segment")
    kept_usd = segments.loc[[key.split(" -> ")[0] for key in kept], "savings_usd"].sum()
    assert kept_usd == pytest.approx(sum(range(15, 25)) * ROUTER_SAVING)  # 195 calls, $1.41
    assert total - kept_usd == pytest.approx(105 * ROUTER_SAVING)  # the other line's $0.76


def test_an_accepted_saving_is_not_cut_for_a_rejected_segment_of_larger_potential(
    many_routers,
):
    """top_n 1: the line kept is router-24's accepted saving, not router-25's, which would
    have saved more (25 calls) but was rejected."""
    figures = ms_tables.savings_by_segment(many_routers, top_n=1)
    assert figures == {
        "segments shown": "top 1 of 25 segments by saving; other (24 segments) sums the rest",
        f"{_segment_of(many_routers, 'router-24')} -> {HAIKU35}": "$0.17 saved (94.7%), accepted",
        # the 276 calls of router-01 to router-23, $1.9988, and router-25's $0
        "other (24 segments)": "$2.00 saved; 23 pending evaluation, 1 rejected",
    }


@pytest.fixture(scope="module")
def routers_and_chats(cat, prompts, tmp_path_factory) -> ms.SizingPlan:
    """router-1 to router-6 on Opus 4 (classification, high confidence; router-k makes k
    calls of $0.00765) and chat-1 to chat-6 on Sonnet 4 (simple_qa, medium; $0.00345 a call),
    all 12 proposed for Haiku 3.5 and every request sampled and scored: router-6 and router-1
    are rejected (0.2 of 1.0), router-4 is pending (1 of its 4 requests scored), the nine
    others accepted."""
    apps = [dict(ROUTER, app=f"router-{k}", n=k) for k in range(1, 7)]
    apps += [dict(CHAT, app=f"chat-{k}", n=k) for k in range(1, 7)]
    usage = make_usage(apps)
    segment = ms.plan(usage, cat, prompts=prompts).segments.set_index("app")["segment"]
    ids = {segment[app]: [f"{app}-{i}" for i in range(int(app[-1]))] for app in segment.index}
    scores = {"router-6": 0.2, "router-1": 0.2}
    scored = {segment["router-4"]: 1}  # of its 4 requests
    folder = tmp_path_factory.mktemp("eval-12")
    pd.DataFrame(
        [
            {"request_id": rid, "segment": segment[app], "current_score": 1.0,
             "candidate_score": scores.get(app, 1.0)}
            for app in segment.index
            for rid in ids[segment[app]][: scored.get(segment[app])]
        ]
    ).to_csv(folder / "eval.csv", index=False)  # fmt: skip
    write_sample_manifest(folder, ids)
    return ms.plan(usage, cat, prompts=prompts, eval_results=str(folder / "eval.csv"))


def test_the_task_type_key_figures_show_the_top_n_segments_by_spend(routers_and_chats):
    """top_n 3 by priced spend: router-6, router-5 and router-4 ($0.0459, $0.0383, $0.0306;
    router-3's $0.0230 is next, above chat-6's $0.0207), in segment id order, after the line
    saying what was cut; the other line counts the nine others by task type and confidence
    (the six chats, router-1 to router-3): 9 + 3 lines, the run's 12 segments."""
    plan = routers_and_chats
    figures = ms_tables.task_types_by_segment(plan, top_n=3)
    kept = [_segment_of(plan, f"router-{k}") for k in (4, 5, 6)]
    assert sorted(kept) == kept  # the ids sort as the apps do
    assert figures == {
        "segments shown": "top 3 of 12 segments by spend; other (9 segments) counts the rest",
        **dict.fromkeys(kept, "classification, high confidence"),
        "other (9 segments)": "6 simple_qa, medium confidence; 3 classification, high confidence",
    }
    everyone = ms_tables.task_types_by_segment(plan, top_n=12)
    assert everyone == ms_tables.task_types_by_segment(plan)  # all 12: no cut, no other line
    assert list(everyone) == sorted(plan.segments["segment"])
    assert everyone[_segment_of(plan, "chat-1")] == "simple_qa, medium confidence"


def test_the_verdicts_show_the_top_n_segments_by_the_saving_they_decide(routers_and_chats):
    """top_n 3 by the saving proposed: router-6 (rejected: its $0.0435 is what the verdict
    turned down, though the savings count it $0), router-5 ($0.0362, accepted) and router-4
    ($0.0290, pending); the other line counts the nine others' outcomes: router-1 rejected,
    the six chats, router-2 and router-3 accepted: with the three, the 12 segments scored."""
    plan = routers_and_chats
    figures = ms_tables.verdicts_by_segment(plan, top_n=3)
    router = {k: _segment_of(plan, f"router-{k}") for k in (4, 5, 6)}
    assert figures == {
        "segments shown": (
            "top 3 of 12 segments by saving proposed; other (9 segments) counts the rest"
        ),
        router[4]: (
            "only 1 of 4 sampled requests scored: pending evaluation, as a segment is decided "
            "once 80% of its sample is scored (a throttled or unreached request is not scored; "
            "replay it again)"
        ),
        router[5]: (
            "candidate reaches 100.0% of current quality on 5 of 5 sampled requests (>= 90%): "
            "accept"
        ),
        router[6]: (
            "candidate reaches 20.0% of current quality on 6 of 6 sampled requests (< 90%): reject"
        ),
        "other (9 segments)": "8 accepted, 1 rejected",
    }
    everyone = ms_tables.verdicts_by_segment(plan)
    assert list(everyone) == sorted(plan.quality["segment"]) and len(everyone) == 12
    assert everyone == dict(zip(plan.quality["segment"], plan.quality["verdict"], strict=True))
