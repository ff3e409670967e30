"""Model sizing: task inference, candidate choice, re-pricing, findings, effects, routing."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from usage_builders import make_usage, prompts_frame, router_and_chat_usage

from bedrock_finops.findings import period_of
from bedrock_finops.notebook import format_value
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing as ms
from bedrock_finops.strategies import model_sizing_findings as ms_findings
from bedrock_finops.strategies import model_sizing_params as ms_params
from bedrock_finops.strategies import model_sizing_repricing as ms_repricing
from bedrock_finops.strategies import model_sizing_tables as ms_tables
from bedrock_finops.task_types import infer_one

OPUS = "anthropic.claude-opus-4"
SONNET = "anthropic.claude-sonnet-4"
HAIKU35 = "anthropic.claude-3-5-haiku"
HAIKU45 = "anthropic.claude-haiku-4-5"

ROUTER = dict(
    app="router",
    model=OPUS,
    model_id_raw="anthropic.claude-opus-4-20250514-v1:0",
    system_hash="h-router",
    input_tokens=500,
    output_tokens=2,
    output_shape="label",
)
CODER = dict(
    app="coder",
    model=SONNET,
    model_id_raw="anthropic.claude-sonnet-4-20250514-v1:0",
    system_hash="h-coder",
    input_tokens=2000,
    output_tokens=800,
    output_shape="code",
)
CHAT = dict(
    app="chat",
    model=SONNET,
    model_id_raw="anthropic.claude-sonnet-4-20250514-v1:0",
    system_hash="h-chat",
    input_tokens=100,
    cache_read_tokens=3000,
    output_tokens=150,
    output_shape="prose",
)
TEXTS = {
    "h-router": "Classify the ticket. Reply with exactly one label: billing, bug, other.",
    "h-coder": "You are a coding assistant. Write Python code and debug it.",
    "h-chat": "You are the support assistant. Help customers with questions about billing.",
}


@pytest.fixture(scope="module")
def cat() -> PriceCatalog:
    return PriceCatalog.load("current")


@pytest.fixture(scope="module")
def usage() -> pd.DataFrame:
    return make_usage([dict(n=10, **ROUTER), dict(n=5, **CODER), dict(n=4, **CHAT)])


def _cost(rate: pd.Series, inp=0, out=0, read=0, write=0) -> float:
    return (
        inp * rate["input_per_1k"]
        + out * rate["output_per_1k"]
        + read * (rate["cache_read_per_1k"] if read else 0)
        + write * (rate["cache_write_5m_per_1k"] if write else 0)
    ) / 1000


def _seg(plan: ms.SizingPlan, app: str) -> pd.Series:
    rows = plan.segments[plan.segments["app"] == app]
    assert len(rows) == 1
    return rows.iloc[0]


def test_task_types_and_evidence(usage, cat):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    router, coder, chat = (_seg(plan, a) for a in ("router", "coder", "chat"))
    assert (router["task_type"], router["confidence"]) == ("classification", "high")
    signals = {e["signal"]: e["value"] for e in router["evidence"]}
    assert signals["system prompt asks for exactly one label"] == "reply with exactly one label"
    assert signals["label-shaped outputs (share)"] == 1.0
    assert signals["median output tokens"] == 2.0
    assert coder["task_type"] == "reasoning_coding"
    assert chat["task_type"] == "simple_qa"


def test_no_evidence_is_unknown_and_kept():
    seg = pd.Series({"output_tokens_p50": 0, "input_tokens_mean": 0, "output_tokens_mean": 0})
    result = infer_one(seg, None)
    assert result["task_type"] == "unknown"
    assert result["confidence"] == "low"


def test_opus_classification_goes_to_cheapest_haiku(usage, cat):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    router = _seg(plan, "router")
    assert router["candidate"] == HAIKU35  # 3.5 Haiku is cheaper than Haiku 4.5 in-region
    assert router["status"] == ms_params.PENDING
    opus, haiku = cat.rate(OPUS), cat.rate(HAIKU35)
    expected_now = 10 * _cost(opus, inp=500, out=2)
    expected_after = 10 * _cost(haiku, inp=500, out=2)
    assert router["current_usd"] == pytest.approx(expected_now)
    assert router["projected_usd"] == pytest.approx(expected_after)
    assert router["savings_pct"] == pytest.approx(100 * (1 - expected_after / expected_now))
    assert "anthropic.claude-haiku-4-5" in router["candidates_tried"]


def test_never_upgrades(usage, cat):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    coder = _seg(plan, "coder")
    assert coder["candidate"] is None or pd.isna(coder["candidate"])
    assert coder["status"] == ms_params.KEEP
    assert "no upgrades" in coder["reason"]
    # A small model doing creative work stays where it is too.
    small = make_usage(
        [dict(n=3, app="tiny", model="meta.llama3-1-8b-instruct", input_tokens=10, output_tokens=5)]
    )
    plan2 = ms.plan(small, cat, task_overrides={"tiny": "creative_research"})
    assert _seg(plan2, "tiny")["status"] == ms_params.KEEP


def test_cache_kept_when_prefix_meets_candidate_minimum(usage, cat):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    chat = _seg(plan, "chat")
    assert chat["candidate"] == HAIKU35  # min 2,048 cache tokens: the 3,000-token prefix fits
    assert chat["adapt_info"]["cache_kept_requests"] == 4
    expected = 4 * _cost(cat.rate(HAIKU35), inp=100, out=150, read=3000)
    assert chat["projected_usd"] == pytest.approx(expected)


def test_cache_billed_as_input_below_candidate_minimum(usage, cat):
    """Haiku 4.5 caches prefixes from 4,096 tokens: the chat's 3,000-token prefix bills as
    input, 4 x (3,100 x 0.0011 + 150 x 0.0055) / 1,000 = $0.0169, more than the $0.0138 it
    costs on Sonnet 4 today (4 x (100 x 0.003 + 3,000 x 0.0003 + 150 x 0.015) / 1,000): no
    move."""
    chat_rows = usage[usage["app"] == "chat"]
    ratios = ms_params.check_settings({})["tokenizer_ratios"]
    priced, info = ms_repricing.price_on(chat_rows, SONNET, HAIKU45, cat, ratios)
    assert info["cache_to_input_tokens"] == 4 * 3000 and info["cache_kept_requests"] == 0
    expected = 4 * _cost(cat.rate(HAIKU45), inp=3100, out=150)
    assert priced["cost_usd"].sum() == pytest.approx(expected) == pytest.approx(0.01694)
    only_45 = {"anthropic": {"small": [HAIKU45]}}
    plan = ms.plan(
        usage, cat, prompts=prompts_frame(TEXTS), candidates=only_45, cross_provider=False
    )
    chat = _seg(plan, "chat")
    assert chat["status"] == ms_params.KEEP
    assert chat["current_usd"] == pytest.approx(4 * _cost(cat.rate(SONNET), 100, 150, 3000))
    assert chat["candidates_tried"] == {HAIKU45: "$0.0169, not cheaper than today's $0.0138"}


def _repricing_calls(catalog: PriceCatalog, monkeypatch) -> list[tuple[str, int]]:
    """The (candidate, rows) of each call re-pricing usage on a candidate, from now on."""
    calls: list[tuple[str, int]] = []
    price = catalog.price

    def counted(usage: pd.DataFrame, **kwargs):
        if kwargs.get("model") is not None:
            calls.append((kwargs["model"], len(usage)))
        return price(usage, **kwargs)

    monkeypatch.setattr(catalog, "price", counted)
    return calls


def test_each_candidate_is_priced_once_for_the_segments_that_try_it(cat, monkeypatch):
    """Three routers on Opus 4 (1, 2 and 3 calls) and three chats on Sonnet 4 (1, 2, 3) may
    move to Haiku 4.5 alone of Anthropic's: it is priced once on the routers' six requests
    and once on the chats' six (per current model, whose tokenizer it scales from), not once
    a segment: 2,000 segments took 50 s in the fixed cost of pricing a few rows at a time.
    It is cheaper for the routers; for the chats (their 3,000-token cached prefix bills as
    input on it) it is not, so the other providers' five small models are priced once each,
    on the chats' requests only. Each segment's figures are those of pricing it alone."""
    usage = make_usage(
        [dict(ROUTER, app=f"router-{k}", n=k) for k in (1, 2, 3)]
        + [dict(CHAT, app=f"chat-{k}", n=k) for k in (1, 2, 3)]
    )
    calls = _repricing_calls(cat, monkeypatch)
    only_45 = {"anthropic": {"small": [HAIKU45]}}
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), candidates=only_45)
    others = [
        "meta.llama3-1-8b-instruct",
        "amazon.nova-micro",
        "amazon.nova-lite",
        "amazon.titan-text-express",
        "mistral.mistral-small-2402",
    ]
    assert calls == [(HAIKU45, 6), (HAIKU45, 6), *((model, 6) for model in others)]
    assert _seg(plan, "router-2")["candidate"] == HAIKU45
    chat = _seg(plan, "chat-2")
    assert chat["candidate"] == "amazon.nova-micro" and chat["cross_provider"]
    assert list(chat["candidates_tried"]) == [HAIKU45, *others]
    monkeypatch.undo()
    ratios = ms_params.check_settings({})["tokenizer_ratios"]
    for app, model, cand in (("router-2", OPUS, HAIKU45), ("chat-2", SONNET, "amazon.nova-micro")):
        alone, info = ms_repricing.price_on(usage[usage["app"] == app], model, cand, cat, ratios)
        assert _seg(plan, app)["projected_usd"] == float(alone["cost_usd"].sum())
        assert _seg(plan, app)["adapt_info"] == info


def test_cross_provider_scales_tokens_by_tokenizer_ratio(usage, cat):
    only_llama = {
        "anthropic": {"small": []},
        "amazon": {"small": []},
        "mistral": {"small": []},
    }
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), candidates=only_llama)
    router = _seg(plan, "router")
    assert router["candidate"] == "meta.llama3-1-8b-instruct"
    assert router["tokenizer_ratio"] == 0.85
    assert bool(router["cross_provider"])
    # 500 -> 425 input tokens, 2 -> round(1.7) = 2 output tokens per request
    expected = 10 * _cost(cat.rate("meta.llama3-1-8b-instruct"), inp=425, out=2)
    assert router["projected_usd"] == pytest.approx(expected)
    f = ms_findings.to_findings(plan)
    applied = f.assumptions["tokenizer_ratios_applied"]
    assert {"from": "anthropic", "to": "llama3", "ratio": 0.85} in applied
    router_action = next(a for a in f.actions if a.scope["app"] == "router")
    assert router_action.effort == "high"


def test_task_overrides(usage, cat):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), task_overrides={"coder": "simple_qa"})
    coder = _seg(plan, "coder")
    assert coder["task_type"] == "simple_qa"
    assert coder["task_source"] == "override (coder)"
    assert coder["candidate"] == HAIKU35


def test_task_overrides_unknown_app_lists_valid_ones(usage, cat):
    with pytest.raises(ValueError) as err:
        ms.plan(usage, cat, task_overrides={"billing-bot": "classification"})
    assert str(err.value) == (
        "task_overrides names ['billing-bot'], which is neither an app nor a segment id in this "
        "run. The run has 3 apps ('chat', 'coder', 'router') and 3 segments, listed in "
        "01_model_sizing's task table (its app and segment columns)"
    )
    with pytest.raises(ValueError, match="unknown task types"):
        ms.plan(usage, cat, task_overrides={"router": "poetry"})
    with pytest.raises(ValueError, match="unknown model_sizing parameters"):
        ms.plan(usage, cat, tier_mapp={})
    with pytest.raises(ValueError, match="unknown models"):
        ms.plan(usage, cat, candidates={"anthropic": {"small": ["anthropic.claude-5-haiku"]}})


def test_settings_are_checked_without_traffic():
    """``check_settings`` holds every rule but the apps and segments task_overrides names."""
    with pytest.raises(ValueError) as err:
        ms_params.check_settings({"min_confidence": "hi"})
    assert str(err.value) == "min_confidence 'hi' must be one of ['low', 'medium', 'high']"
    with pytest.raises(ValueError, match=r"unknown task types \{'support': 'clasification'\}"):
        ms_params.check_settings({"task_overrides": {"support": "clasification"}})
    settings = ms_params.check_settings({"task_overrides": {"any-app": "classification"}})
    assert settings["task_overrides"] == {"any-app": "classification"}


def test_findings_effects_and_routing_table(usage, cat, tmp_path):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    f = ms_findings.to_findings(plan)
    router, chat = _seg(plan, "router"), _seg(plan, "chat")
    assert f.strategy == "model_sizing"
    assert f.scope_usd == pytest.approx(router["current_usd"] + chat["current_usd"])
    assert f.projected_usd == pytest.approx(router["projected_usd"] + chat["projected_usd"])
    assert f.total_usd == pytest.approx(float(cat.price(usage)["cost_usd"].sum()))
    assert f.confidence == "low"  # everything is pending evaluation
    assert [a.status for a in f.actions] == [ms_params.PENDING, ms_params.PENDING]
    assert f.assumptions["price_sheet"] == "current"
    assert {p["model"] for p in f.assumptions["prices"]} >= {OPUS, SONNET, HAIKU35}
    days = f.period["days"]
    assert f.savings_monthly_usd == pytest.approx(f.savings_usd * 30.4375 / days)

    eff = ms_findings.to_effects(plan)
    assert len(eff) == 14  # 10 router + 4 chat requests
    assert set(eff["new_model"]) == {HAIKU35}
    assert eff["savings_usd"].sum() == pytest.approx(f.savings_usd)

    csv_path, json_path = ms_tables.export_routing_table(plan, tmp_path)
    table = pd.read_csv(csv_path)
    row = table[table["app"] == "router"].iloc[0]
    assert row["current_model"] == OPUS
    # Pending evaluation: the gateway keeps calling the current model; the candidate is shown.
    assert row["recommended_model"] == OPUS
    assert row["recommended_model_id"] == "anthropic.claude-opus-4-20250514-v1:0"
    assert row["candidate_model"] == HAIKU35
    assert row["status"] == ms_params.PENDING
    coder = table[table["app"] == "coder"].iloc[0]
    assert coder["recommended_model"] == SONNET and coder["status"] == ms_params.KEEP
    assert pd.isna(coder["candidate_model"])
    doc = json.loads(json_path.read_text())
    assert len(doc["routes"]) == 3 and doc["quality_threshold"] == 0.9


def test_findings_on_an_undated_sheet_write_its_dates_as_null(usage, tmp_path):
    """The seed sheet (the article's table) has no dates: its rows' as_of is NaT, which the
    findings file writes as null, not a failure to write it."""
    from bedrock_finops import findings as fx

    seed = PriceCatalog.load("seed")
    f = ms_findings.to_findings(ms.plan(usage, seed, prompts=prompts_frame(TEXTS)))
    path, _ = fx.write(f, None, tmp_path, "01_model_sizing")
    prices = json.loads(path.read_text())["assumptions"]["prices"]
    assert prices and all(p["as_of"] is None for p in prices)
    assert fx.read(path).savings_usd == pytest.approx(f.savings_usd)


def test_candidates_table_lists_what_was_considered(usage, cat):
    """The analyst sees which models could be recommended: Claude 3 Haiku is in the sheet but
    not a default candidate, so 'cheapest priced' never names it."""
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), candidates={"mistral": {"large": []}})
    table = ms_tables.candidates_table(plan, cat)
    small = table[(table["provider"] == "anthropic") & (table["tier"] == "small")]
    assert small["model"].tolist() == ["anthropic.claude-haiku-4-5", "anthropic.claude-3-5-haiku"]
    assert small["in_price_sheet"].all()
    assert "anthropic.claude-3-haiku" not in set(table["model"])
    assert "anthropic.claude-3-haiku" in set(cat.rows["model"])
    assert len(table) == sum(len(m) for t in plan.params["candidates"].values() for m in t.values())


def test_spend_by_task_type(usage, cat):
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    table = ms_tables.spend_by_task_type(plan)
    router = _seg(plan, "router")
    row = table.loc["classification / routing"]
    assert row["current"] == pytest.approx(router["current_usd"])
    assert row["after change"] == pytest.approx(router["projected_usd"])


def _router_in(*regions: str) -> pd.DataFrame:
    """10 ROUTER calls in each Region, geo profile ``apac`` outside the US; ids kept apart."""
    groups = [
        dict(n=10, **ROUTER, region=r, geo="none" if r.startswith("us-") else "apac")
        for r in regions
    ]
    usage = make_usage(groups)
    usage["request_id"] = pd.array([f"router-{i}" for i in range(len(usage))], dtype="string")
    return usage


def test_a_segment_with_no_priced_request_keeps_its_model_as_not_priced(cat):
    """Ten Opus 4 classification calls from ap-southeast-2, a Region the sheet has no row
    for: nothing measures their cost, so no candidate is 'priced' on zero requests at $0.
    The segment keeps its model, its costs are NaN (unpriced), and there is no action, no
    effect and nothing for eval-sample to sample."""
    usage = _router_in("ap-southeast-2")
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    router = _seg(plan, "router")
    assert router["task_type"] == "classification"  # it would be sized, were it priced
    assert router["status"] == ms_params.KEEP
    assert router["candidate"] is None or pd.isna(router["candidate"])
    assert router["reason"] == (
        f"not priced: {OPUS} has no price where this segment runs "
        "(ap-southeast-2: no price for model in region); no saving can be measured"
    )
    assert pd.isna(router["current_usd"]) and pd.isna(router["projected_usd"])
    assert router["savings_usd"] == 0.0 and router["candidates_tried"] == {}
    assert plan.recommended.empty and ms_tables.recommended_with_ids(plan).empty
    f = ms_findings.to_findings(plan)
    assert f.actions == [] and f.scope_usd == 0.0
    assert ms_findings.to_effects(plan).empty
    assert plan.data_quality["unpriced_requests"] == 10


def test_no_candidate_is_chosen_on_no_requests(usage, cat):
    """An empty frame prices every candidate at $0 (``all()`` of nothing is True): refused."""
    params = ms_params.check_settings({})
    choice = ms_repricing.choose_candidate(usage.iloc[:0], OPUS, "small", cat, params, 0.0)
    assert choice["candidate"] is None and choice["tried"] == {}


def test_a_partly_priced_segment_is_sized_on_its_priced_requests(cat):
    """10 calls in us-east-1 (priced) and 10 in ap-southeast-2 (not): the figures are the
    priced ten's, the other ten are left out (never $0) and the reason says so.

    By hand, per call (500 input + 2 output tokens, us-east-1 in-region rates per 1K):
    Opus 4: 500 x 0.015 / 1000 + 2 x 0.075 / 1000 = 0.0075 + 0.00015 = 0.00765;
    Claude 3.5 Haiku: 500 x 0.0008 / 1000 + 2 x 0.004 / 1000 = 0.0004 + 0.000008 = 0.000408.
    Ten calls: 0.0765 now, 0.00408 on Haiku, 0.07242 saved (94.67%)."""
    usage = _router_in("us-east-1", "ap-southeast-2")
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    router = _seg(plan, "router")
    assert router["candidate"] == HAIKU35 and router["status"] == ms_params.PENDING
    assert router["requests"] == 20 and router["unpriced_requests"] == 10
    assert router["current_usd"] == pytest.approx(0.0765)
    assert router["projected_usd"] == pytest.approx(0.00408)
    assert router["savings_usd"] == pytest.approx(0.07242)
    assert router["savings_pct"] == pytest.approx(94.6667, abs=1e-4)
    assert router["reason"].endswith(
        "; 10 of 20 requests not priced (ap-southeast-2: no price for model in region), "
        "left out of its figures"
    )
    eff = ms_findings.to_effects(plan)
    assert len(eff) == 10 and eff["savings_usd"].sum() == pytest.approx(0.07242)


def test_spend_by_task_type_leaves_an_unpriced_task_type_unknown(cat):
    """The chart's figures follow the segments': the all-unpriced router segment has no cost
    now or after (NaN, not $0); the partly priced one has its priced ten calls' (by hand,
    10 x 0.00765 = 0.0765 on Opus 4 and 10 x 0.000408 = 0.00408 on Claude 3.5 Haiku)."""
    label = "classification / routing"
    unpriced = ms.plan(_router_in("ap-southeast-2"), cat, prompts=prompts_frame(TEXTS))
    row = ms_tables.spend_by_task_type(unpriced).loc[label]
    assert pd.isna(row["current"]) and pd.isna(row["after change"])
    partly = ms.plan(_router_in("us-east-1", "ap-southeast-2"), cat, prompts=prompts_frame(TEXTS))
    row = ms_tables.spend_by_task_type(partly).loc[label]
    assert row["current"] == pytest.approx(0.0765)
    assert row["after change"] == pytest.approx(0.00408)


# ---- the embedded sample -------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_ctx():
    from bedrock_finops.notebook import default_sample_run, open_run

    return open_run(default_sample_run())


@pytest.fixture(scope="module")
def sample_plan(sample_ctx):
    c = sample_ctx
    return ms.plan(c.usage, c.catalog, prompts=c.prompts, priced=c.priced)


def test_sample_ticket_router_classification_to_haiku(sample_ctx, sample_plan):
    truth = sample_ctx.truth["apps"]["ticket-router"]
    seg = sample_plan.segments[sample_plan.segments["app"] == "ticket-router"]
    assert len(seg) == 1
    seg = seg.iloc[0]
    assert seg["task_type"] == "classification"
    assert seg["model"] == OPUS
    assert "haiku" in seg["candidate"]
    cat = sample_ctx.catalog
    region, geo = truth["region"], truth["model_id"].split(".")[0]
    now, after = cat.rate(OPUS, region, geo), cat.rate(seg["candidate"], region, geo)
    tokens = dict(
        inp=truth["input_tokens"],
        out=truth["output_tokens"],
        read=truth["cache_read_tokens"],
        write=truth["cache_write_tokens"],
    )
    expected_now, expected_after = _cost(now, **tokens), _cost(after, **tokens)
    assert seg["current_usd"] == pytest.approx(expected_now, rel=1e-9)
    assert seg["projected_usd"] == pytest.approx(expected_after, rel=1e-9)
    assert seg["savings_pct"] == pytest.approx(95, abs=1.5)


def test_sample_code_and_creative_not_downgraded(sample_plan):
    segs = sample_plan.segments
    for app in ("code-assistant", "marketing-writer"):
        rows = segs[segs["app"] == app]
        assert not rows.empty
        assert (rows["status"] == ms_params.KEEP).all(), rows[["task_type", "reason"]]
    types = segs.groupby("app")["task_type"].first()
    assert types["code-assistant"] == "reasoning_coding"
    assert types["marketing-writer"] == "creative_research"


def test_sample_task_types_match_planted_truth(sample_ctx, sample_plan):
    mapping = {"creative": "creative_research"}
    segs = sample_plan.segments
    biggest = segs.sort_values("requests", ascending=False).groupby("app").first()
    for app, t in sample_ctx.truth["apps"].items():
        expected = mapping.get(t["expected_task_type"], t["expected_task_type"])
        if expected in ms.tt.TASK_TYPES and not biggest.loc[app, "model"].startswith("unknown"):
            assert biggest.loc[app, "task_type"] == expected, app


def test_answers_questions_signal_same_matches_as_the_plain_pattern():
    """The "answers questions" pattern takes white space possessively (a long run after
    "answer" was quadratic); it finds exactly what the plain pattern finds."""
    import random
    import re

    from bedrock_finops import task_types

    plain = re.compile(
        r"answer\s+(the\s+)?(customer'?s?|user'?s?|their)?\s*questions?|\bfaq\b", re.I
    )
    ours = next(s.pattern for s in task_types.TEXT_SIGNALS if s.name == "answers questions")
    pieces = ["answer", " ", "\t", "\n", "the", "customer", "customer's", "users", "their",
              "question", "questions", "FAQ", "x", "s", "'"]  # fmt: skip
    rng = random.Random(2)
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        a, b = plain.search(text), ours.search(text)
        assert (a and a.span()) == (b and b.span()), text
    assert ours.search("Answer the customer's questions briefly.")
    assert ours.search("answer" + " " * 20_000 + "x") is None


def test_a_candidate_whose_tokenizer_has_no_ratio_is_passed_over_with_the_reason(usage, cat):
    """Llama 4 has a tokenizer of its own and no assumed ratio: it is not compared (never
    re-priced 1:1 by default), the next candidate is, and a ratio given in params brings it
    back (here it is then not priced: the bundled sheet has no Llama 4 row)."""
    scout = "meta.llama4-scout-17b-instruct"
    meta_only = {
        "anthropic": {"small": []},
        "amazon": {"small": []},
        "mistral": {"small": []},
        "meta": {"small": [scout, "meta.llama3-1-8b-instruct"]},
    }
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), candidates=meta_only)
    router = _seg(plan, "router")
    assert router["candidate"] == "meta.llama3-1-8b-instruct"
    assert router["candidates_tried"][scout] == (
        "not compared: no tokenizer ratio for 'llama4' (known: anthropic, llama3, mistral, "
        "nova, titan); give one in the params' tokenizer_ratios, as tokens per Anthropic token"
    )
    plan = ms.plan(
        usage,
        cat,
        prompts=prompts_frame(TEXTS),
        candidates=meta_only,
        tokenizer_ratios={"llama4": 0.9},
    )
    assert _seg(plan, "router")["candidates_tried"][scout] == "not priced: model not in price sheet"


def test_one_tokenizer_needs_no_ratio() -> None:
    from bedrock_finops.tokens import UnknownTokenizerRatio, tokenizer_ratio

    assert tokenizer_ratio("qwen", "qwen") == 1.0  # no ratio known for qwen, none needed
    with pytest.raises(UnknownTokenizerRatio):
        tokenizer_ratio("qwen", "anthropic")
    assert tokenizer_ratio("qwen", "anthropic", {"qwen": 1.25}) == pytest.approx(0.8)


def test_monthly_savings_divide_by_the_window_the_period_gives(usage, cat):
    """The router's ten requests, hourly from 00:00, read for the window [00:00, 12:00): half
    a day of traffic, not the one calendar day it touches, so a month is 60.875 of it."""
    period = period_of(usage, "2026-10-01T00:00Z", "2026-10-01T12:00Z")
    assert (period["days"], period["calendar_days"], period["rule"]) == (0.5, 1, "window")
    by_day = ms.plan(usage, cat, prompts=prompts_frame(TEXTS))
    by_window = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), period=period)
    router = _seg(by_window, "router")
    assert router["monthly_savings_usd"] == pytest.approx(router["savings_usd"] * 60.875)
    assert router["monthly_savings_usd"] == pytest.approx(
        2 * _seg(by_day, "router")["monthly_savings_usd"]
    )
    f = ms_findings.to_findings(by_window)
    assert f.period == period
    assert f.savings_monthly_usd == pytest.approx(f.savings_usd * 60.875)
    assert f.assumptions["monthly_scaling"] == (
        "period savings x 30.4375 / 0.5 days: the window [2026-10-01 00:00 UTC, 2026-10-01 "
        "12:00 UTC), 0.5 days long, not the 1 UTC calendar day the records touch "
        "(2026-10-01), which would count its part days whole"
    )


def test_a_global_segment_moves_only_to_a_model_with_a_global_profile(cat):
    """Sonnet 4.5 behind global. classifying tickets: 3.5 Haiku has no global profile (its
    in-Region price once priced one, a 73.33% saving behind an ID that does not exist), so the
    move is to Haiku 4.5 global: 200 x (1,000 x 0.001 + 2 x 0.005) / 1,000 = $0.202 against
    200 x (1,000 x 0.003 + 2 x 0.015) / 1,000 = $0.606 today, 66.67% saved."""
    u = make_usage(
        [
            dict(
                n=200,
                app="router",
                model="anthropic.claude-sonnet-4-5",
                model_id_raw="global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                geo="global",
                system_hash="h-router",
                input_tokens=1000,
                output_tokens=2,
                output_shape="label",
                max_tokens=5,
            )
        ]
    )
    plan = ms.plan(u, cat, prompts=prompts_frame(TEXTS))
    router = _seg(plan, "router")
    assert router["candidate"] == HAIKU45
    assert router["candidates_tried"][HAIKU35] == (
        "not priced: anthropic.claude-3-5-haiku has no global cross-Region profile "
        "(its profiles: us)"
    )
    assert (router["current_usd"], router["projected_usd"]) == pytest.approx((0.606, 0.202))
    assert router["savings_pct"] == pytest.approx(66.67, abs=0.005)
    ids = ms_tables.recommended_with_ids(plan)["candidate_model_ids"].tolist()
    assert ids == [{"global": "global.anthropic.claude-haiku-4-5-20251001-v1:0"}]


def test_a_move_that_costs_more_than_today_is_no_recommendation(cat):
    """Sonnet 4 behind us. reading a 1,500-token prefix from the cache on each of 1,000 calls
    (50 in + 1,500 read + 10 out): $0.75 today, 1,000 x (50 x 0.003 + 1,500 x 0.0003 + 10 x
    0.015) / 1,000. 3.5 Haiku caches prefixes from 2,048 tokens only, so it would bill the
    prefix as input: 1,000 x (1,550 x 0.0008 + 10 x 0.004) / 1,000 = $1.28, and Haiku 4.5
    (from 4,096) $1.76. Neither is cheaper: the segment keeps its model, the reason giving both
    costs (it was recommended as a 'saving' of -$0.53, and sampled for evaluation)."""
    u = make_usage(
        [
            dict(
                n=1000,
                app="faq",
                model=SONNET,
                geo="us",
                model_id_raw="us.anthropic.claude-sonnet-4-20250514-v1:0",
                system_hash="h-faq",
                input_tokens=50,
                cache_read_tokens=1500,
                output_tokens=10,
            )
        ]
    )
    prompts = prompts_frame({"h-faq": "You answer questions about our product."})
    plan = ms.plan(
        u, cat, prompts=prompts, task_overrides={"faq": "simple_qa"}, cross_provider=False
    )
    faq = _seg(plan, "faq")
    assert faq["status"] == ms_params.KEEP and pd.isna(faq["candidate"])
    assert (faq["current_usd"], faq["projected_usd"]) == pytest.approx((0.75, 0.75))
    assert faq["savings_usd"] == 0.0
    assert faq["reason"] == (
        "no small-tier model costs less than today: the cheapest, anthropic.claude-3-5-haiku, "
        "would cost $1.2800 against $0.7500 on this segment's requests; 0 of 1,000 cached "
        "requests stay cached on the candidate; 1,000 (1,500,000 tokens) billed as uncached "
        "input (candidate lacks caching or prefix below its minimum)"
    )
    assert faq["candidates_tried"] == {
        HAIKU45: "$1.7600, not cheaper than today's $0.7500",
        HAIKU35: "$1.2800, not cheaper than today's $0.7500",
    }
    f = ms_findings.to_findings(plan)
    assert (f.scope_usd, f.savings_usd, f.actions) == (0.0, 0.0, [])
    assert ms_tables.recommended_with_ids(plan).empty  # nothing for eval-sample to sample
    # With other providers allowed, the cheapest that costs less than today is taken instead.
    plan = ms.plan(u, cat, prompts=prompts, task_overrides={"faq": "simple_qa"})
    faq = _seg(plan, "faq")
    assert faq["candidate"] == "amazon.nova-micro" and bool(faq["cross_provider"])
    assert faq["projected_usd"] < faq["current_usd"]


def test_a_prefix_of_exactly_the_candidates_minimum_stays_cached(cat):
    """Claude 3.5 Haiku caches prefixes from 2,048 tokens: 1,000 Sonnet 4 chat calls reading a
    2,048-token prefix keep it cached there, 1,000 x (100 x 0.0008 + 2,048 x 0.00008 + 150 x
    0.004) / 1,000 = 1,000 x (0.08 + 0.16384 + 0.6) / 1,000 = $0.84384; one token shorter, the
    2,047-token prefix is billed as input, 1,000 x (2,147 x 0.0008 + 150 x 0.004) / 1,000 =
    1,000 x (1.7176 + 0.6) / 1,000 = $2.3176."""
    ratios = ms_params.check_settings({})["tokenizer_ratios"]
    at_min = make_usage([dict(CHAT, n=1000, cache_read_tokens=2048)])
    priced, info = ms_repricing.price_on(at_min, SONNET, HAIKU35, cat, ratios)
    assert (info["cache_kept_requests"], info["cache_to_input_requests"]) == (1000, 0)
    assert info["candidate_caching"]["us-east-1/none/default"]["min_cache_tokens"] == 2048
    assert priced["cost_usd"].sum() == pytest.approx(0.84384)
    below = make_usage([dict(CHAT, n=1000, cache_read_tokens=2047)])
    priced, info = ms_repricing.price_on(below, SONNET, HAIKU35, cat, ratios)
    assert (info["cache_kept_requests"], info["cache_to_input_tokens"]) == (0, 1000 * 2047)
    assert priced["cost_usd"].sum() == pytest.approx(2.3176)


def test_the_tokenizer_ratio_scales_output_tokens_too(cat):
    """Ten Opus 4 router calls of 500 input and 400 output tokens on Llama 3.1 8B (0.85 Llama
    tokens per Anthropic token): 425 input and 340 output tokens a call, 10 x (425 + 340) x
    0.00022 / 1,000 = $0.001683, against 10 x (500 x 0.015 + 400 x 0.075) / 1,000 = $0.375
    today (were the output left at 400: 10 x 825 x 0.00022 / 1,000 = $0.001815)."""
    only_llama = {"anthropic": {"small": []}, "amazon": {"small": []}, "mistral": {"small": []}}
    usage = make_usage([dict(ROUTER, n=10, output_tokens=400)])
    plan = ms.plan(usage, cat, prompts=prompts_frame(TEXTS), candidates=only_llama)
    router = _seg(plan, "router")
    assert router["candidate"] == "meta.llama3-1-8b-instruct" and router["tokenizer_ratio"] == 0.85
    assert router["current_usd"] == pytest.approx(0.375)
    assert router["projected_usd"] == pytest.approx(0.001683)
    assert router["savings_usd"] == pytest.approx(0.373317)


def test_a_candidate_costing_exactly_todays_cost_is_not_chosen(cat):
    """A move that saves nothing is no recommendation: 3.5 Haiku bills the ten router calls
    10 x (500 x 0.0008 + 2 x 0.004) / 1,000 = $0.00408; against today's cost of exactly that it
    is tried and passed over, against a cent more it is chosen."""
    router = make_usage([dict(ROUTER, n=10)])
    params = ms_params.check_settings(
        {"candidates": {"anthropic": {"small": [HAIKU35]}}, "cross_provider": False}
    )
    priced, _ = ms_repricing.price_on(router, OPUS, HAIKU35, cat, params["tokenizer_ratios"])
    cost = float(priced["cost_usd"].sum())
    assert cost == pytest.approx(0.00408)
    same = ms_repricing.choose_candidate(router, OPUS, "small", cat, params, cost)
    assert same["candidate"] is None
    assert same["tried"] == {HAIKU35: "$0.0041, not cheaper than today's $0.0041"}
    assert same["cheapest"]["candidate"] == HAIKU35
    dearer = ms_repricing.choose_candidate(router, OPUS, "small", cat, params, cost + 0.01)
    assert dearer["candidate"] == HAIKU35 and dearer["cost"] == cost


def test_effects_keep_a_request_that_costs_more_on_the_candidate_as_a_negative_saving(cat):
    """One FAQ segment on Sonnet 4 moving to 3.5 Haiku: ten calls reading a 1,500-token prefix
    (50 in + 1,500 read + 10 out) cost 0.15 + 0.45 + 0.15 = $0.00075 each today and 1,550 x
    0.0008 + 10 x 0.004 = $0.00128 on Haiku (below its 2,048-token cache minimum, the prefix
    bills as input): -$0.00053 each. Ten others (2,000 in + 100 out) cost 6 + 1.5 = $0.0075
    today and 1.6 + 0.4 = $0.002 on Haiku: $0.0055 saved each. The segment saves 10 x 0.0055 -
    10 x 0.00053 = $0.0497, and the effects add up to it only with the losses kept negative."""
    faq = dict(app="faq", model=SONNET, system_hash="h-faq", output_shape="prose")
    usage = make_usage(
        [
            dict(faq, n=10, input_tokens=50, cache_read_tokens=1500, output_tokens=10),
            dict(faq, n=10, input_tokens=2000, output_tokens=100),
        ]
    )
    usage["request_id"] = pd.array([f"faq-{i}" for i in range(len(usage))], dtype="string")
    prompts = prompts_frame({"h-faq": "You answer questions about our product."})
    plan = ms.plan(
        usage, cat, prompts=prompts, task_overrides={"faq": "simple_qa"}, cross_provider=False
    )
    seg = _seg(plan, "faq")
    assert seg["candidate"] == HAIKU35 and seg["status"] == ms_params.PENDING
    assert seg["savings_usd"] == pytest.approx(0.0497)
    eff = ms_findings.to_effects(plan).set_index("request_id")["savings_usd"]
    assert len(eff) == 20
    assert eff[[f"faq-{i}" for i in range(10)]].tolist() == pytest.approx([-0.00053] * 10)
    assert eff[[f"faq-{i}" for i in range(10, 20)]].tolist() == pytest.approx([0.0055] * 10)
    assert eff.sum() == pytest.approx(0.0497)


def test_a_run_with_nothing_priced_sizes_nothing_with_low_confidence():
    """Only a model the catalog lacks: no segment can be sized or priced, so the plan has no
    saving, and says its confidence is low (nothing could be measured), not high."""
    usage = make_usage(
        [dict(app="rag", model=None, model_id_raw="acme.mystery-v1:0", n=5, input_tokens=100)]
    )
    findings = ms.to_findings(ms.plan(usage, PriceCatalog.load("current")))
    assert findings.savings_usd == 0.0
    assert findings.confidence == "low"


def test_a_run_with_nothing_priced_has_unpriced_spend_not_zero():
    """Only a model the catalog lacks: all priced spend is unknown (NaN), which the key figures
    read 'unpriced' as 00_baseline's headline does, not '0.00'; null in findings.json."""
    usage = make_usage(
        [dict(app="rag", model=None, model_id_raw="acme.mystery-v1:0", n=5, input_tokens=100)]
    )
    findings = ms.to_findings(ms.plan(usage, PriceCatalog.load("current")))
    assert format_value(round(findings.total_usd, 2)) == "unpriced"
    assert findings.to_dict()["total_usd"] is None


def test_the_quality_gate_note_says_when_there_is_nothing_to_evaluate():
    """Without evaluation results, 01_model_sizing said every recommendation was pending and
    to run eval-sample, on a run with no recommendation at all (one request, a model the
    catalog lacks), where eval-sample finds nothing to evaluate."""
    unpriced = make_usage(
        [dict(app="rag", model=None, model_id_raw="acme.mystery-v1:0", n=5, input_tokens=100)]
    )
    plan = ms.plan(unpriced, PriceCatalog.load("current"))
    assert plan.recommended.empty and plan.quality is None
    assert ms_tables.quality_gate_note(plan) == (
        "No recommendation to evaluate: no segment has a candidate model (the recommendation "
        "table gives each segment's reason)."
    )
    plan = ms.plan(router_and_chat_usage(), PriceCatalog.load("current"))
    assert not plan.recommended.empty and plan.quality is None
    assert ms_tables.quality_gate_note(plan) == (
        "No evaluation results: every recommendation is pending evaluation.\n"
        "Run: bedrock-finops eval-sample --run RUN_DIR --out DIR [--live --apply]"
    )
