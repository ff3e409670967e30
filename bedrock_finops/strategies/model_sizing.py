"""Strategy 01, model sizing: move each segment to the smallest model tier its task needs.

Steps (each returns a table the notebook shows):

1. Segment the traffic by (app, prompt template, model) and infer each segment's task type
   from the evidence in its traffic (``bedrock_finops.task_types``); ``task_overrides`` sets
   any segment's type by hand.
2. Map the task type to the cheapest adequate tier (``tier_map``); never upgrade. Pick the
   concrete candidate as the cheapest *priced* model of that tier in the segment's provider
   (``candidates`` preference lists), available where the segment runs (region, geo, tier).
3. Re-price the segment's own tokens on the candidate with the cost engine. Tokens are scaled
   by the tokenizer ratio when the tokenizer family changes; cached prefixes stay cached when
   the candidate supports caching and the prefix meets its minimum, else they are billed as
   uncached input.
4. The quality gate (``eval_results``): a recommendation is accepted when the candidate
   reaches ``quality_threshold`` (default 90%) of the current model's mean score on a sample
   of the segment's requests, rejected otherwise, and pending evaluation without results
   (its savings are then potential).

``plan(...)`` does the work once; ``to_findings`` and ``to_effects`` turn it into the shared
contract; ``analyze`` is ``to_findings(plan(...))``. The re-pricing on a candidate is in
``model_sizing_repricing``; the notebook's tables and the routing export in
``model_sizing_tables``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import segments as seg_mod
from bedrock_finops import task_types as tt
from bedrock_finops.findings import DAYS_PER_MONTH, Action, Findings, effects_frame, period_of
from bedrock_finops.models import known_models
from bedrock_finops.strategies import model_sizing_repricing as repricing
from bedrock_finops.tokens import TOKENIZER_RATIOS

STRATEGY = "model_sizing"
TIERS = ("small", "medium", "large")
TIER_RANK = {t: i for i, t in enumerate(TIERS)}

# The source article's table: task type -> cheapest adequate tier.
DEFAULT_TIER_MAP: dict[str, str] = {
    tt.CLASSIFICATION: "small",  # Haiku or Llama 3.1 8B
    tt.SIMPLE_QA: "small",  # Haiku or Titan
    tt.SUMMARISATION: "medium",  # Sonnet or Llama 70B
    tt.EXTRACTION: "medium",
    tt.REASONING_CODING: "medium",  # Sonnet
    tt.CREATIVE_RESEARCH: "large",  # Opus
}

# provider -> tier -> candidate catalog keys. The cheapest priced one wins.
DEFAULT_CANDIDATES: dict[str, dict[str, list[str]]] = {
    "anthropic": {
        "small": ["anthropic.claude-haiku-4-5", "anthropic.claude-3-5-haiku"],
        "medium": ["anthropic.claude-sonnet-4-5", "anthropic.claude-sonnet-4"],
        "large": ["anthropic.claude-opus-4-5", "anthropic.claude-opus-4-1"],
    },
    "meta": {
        "small": ["meta.llama3-1-8b-instruct"],
        "medium": ["meta.llama3-1-70b-instruct", "meta.llama3-3-70b-instruct"],
        "large": ["meta.llama3-1-405b-instruct"],
    },
    "amazon": {
        "small": ["amazon.nova-micro", "amazon.nova-lite", "amazon.titan-text-express"],
        "medium": ["amazon.nova-pro"],
        "large": ["amazon.nova-premier"],
    },
    "mistral": {
        "small": ["mistral.mistral-small-2402"],
        "medium": ["mistral.mistral-large-2407"],
        "large": [],
    },
}
CONFIDENCE_RANK = {"low": 0, "medium": 1, "high": 2}

# Segment statuses.
PENDING = "pending evaluation"
ACCEPTED = "accepted"
REJECTED = "rejected"
KEEP = "keep"
ADOPTED = (PENDING, ACCEPTED)  # statuses whose saving counts (potential while pending)

DEFAULT_PARAMS: dict[str, Any] = {
    "task_overrides": {},
    "tier_map": {},
    "candidates": {},
    "tokenizer_ratios": {},
    "eval_results": "",
    "quality_threshold": 0.9,
    "min_confidence": "medium",
    "cross_provider": True,
}


@dataclass
class SizingPlan:
    """Everything the strategy computed, kept together so the notebook computes it once."""

    params: dict[str, Any]
    segments: pd.DataFrame  # segments.summarise + task types + recommendation per segment
    rows: pd.DataFrame  # per request in scope: request_id, segment, costs, new_model
    quality: pd.DataFrame | None  # quality gate per segment, when eval results were given
    period: dict[str, Any]
    total_usd: float
    catalog_info: dict[str, Any]
    prices_used: pd.DataFrame
    data_quality: dict[str, Any] = field(default_factory=dict)

    @property
    def recommended(self) -> pd.DataFrame:
        """Segments with a downgrade recommendation (any status but keep)."""
        return self.segments[self.segments["candidate"].notna()]


# ---------------------------------------------------------------------------------------------
# Parameters


def validate_params(params: dict[str, Any], segments: pd.DataFrame) -> dict[str, Any]:
    """Merge params over the defaults and check them; errors name the key and valid choices."""
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise ValueError(
            f"unknown model_sizing parameters {unknown}; valid: {sorted(DEFAULT_PARAMS)}"
        )
    p = {**DEFAULT_PARAMS, **{k: v for k, v in params.items() if v is not None}}
    tier_map = {**DEFAULT_TIER_MAP, **(p["tier_map"] or {})}
    bad = {k: v for k, v in tier_map.items() if k not in tt.TASK_TYPES or v not in TIERS}
    if bad:
        raise ValueError(
            f"tier_map entries {bad} are invalid: keys must be task types {list(tt.TASK_TYPES)} "
            f"and values tiers {list(TIERS)}"
        )
    p["tier_map"] = tier_map
    cands = {prov: dict(tiers) for prov, tiers in DEFAULT_CANDIDATES.items()}
    for prov, tiers in (p["candidates"] or {}).items():
        if not isinstance(tiers, dict):
            raise ValueError(f"candidates[{prov!r}] must map tiers {list(TIERS)} to model lists")
        cands.setdefault(prov, {}).update(tiers)
    models = known_models()
    for prov, tiers in cands.items():
        for tier, keys in tiers.items():
            if tier not in TIERS:
                raise ValueError(f"candidates[{prov!r}] has tier {tier!r}; valid: {list(TIERS)}")
            wrong = [k for k in keys if k not in models]
            if wrong:
                raise ValueError(
                    f"candidates[{prov!r}][{tier!r}] names unknown models {wrong}; "
                    f"known: {sorted(models)}"
                )
    p["candidates"] = cands
    ratios = {**TOKENIZER_RATIOS, **(p["tokenizer_ratios"] or {})}
    p["tokenizer_ratios"] = ratios
    if p["min_confidence"] not in CONFIDENCE_RANK:
        raise ValueError(f"min_confidence must be one of {list(CONFIDENCE_RANK)}")
    thr = float(p["quality_threshold"])
    if not 0 < thr <= 1.5:
        raise ValueError(f"quality_threshold {thr} should be a ratio such as 0.9 (90%)")
    p["quality_threshold"] = thr
    p["task_overrides"] = dict(p["task_overrides"] or {})
    tt.check_overrides(p["task_overrides"], segments)
    return p


# ---------------------------------------------------------------------------------------------
# The plan


def classify_segments(
    usage: pd.DataFrame,
    costs: pd.Series,
    prompts: pd.DataFrame | None,
    task_overrides: dict[str, str] | None = None,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``segments.summarise`` plus task type, confidence and evidence per segment."""
    summary = seg_mod.summarise(usage, costs) if summary is None else summary.copy()
    row_seg = seg_mod.row_segments(usage)
    temps = usage["temperature"].astype("float64").groupby(row_seg).mean()
    summary["temperature_mean"] = summary["segment"].map(temps).astype("float64")
    geos = (
        usage["geo"].astype("string").fillna("none").groupby(row_seg).agg(lambda s: s.mode().iat[0])
    )
    summary["geo_mode"] = summary["segment"].map(geos)
    inferred = tt.infer_task_types(summary, prompts)
    inferred = tt.apply_overrides(inferred, task_overrides, summary)
    return summary.merge(inferred.drop(columns=["app"]), on="segment", how="left")


def plan(
    usage: pd.DataFrame,
    catalog: Any,
    *,
    prompts: pd.DataFrame | None = None,
    priced: pd.DataFrame | None = None,
    **params: Any,
) -> SizingPlan:
    """Segment, type, recommend and re-price: the whole strategy, computed once."""
    if usage.empty:
        raise ValueError("the usage table is empty: nothing to size (check the run's ingest)")
    priced = catalog.price(usage) if priced is None else priced
    costs = priced["cost_usd"].astype("float64")
    summary = seg_mod.summarise(usage, costs)
    p = validate_params(params, summary)
    segs = classify_segments(usage, costs, prompts, p["task_overrides"], summary)
    row_seg = seg_mod.row_segments(usage)
    models = known_models()
    recs: list[dict[str, Any]] = []
    row_frames: list[pd.DataFrame] = []
    for _, seg in segs.iterrows():
        rec = _recommend_segment(seg, usage, costs, row_seg, catalog, p, models)
        frame = rec.pop("_rows", None)
        if frame is not None:
            row_frames.append(frame)
        recs.append(rec)
    rec_df = pd.DataFrame(recs)
    out = segs.merge(rec_df, on="segment", how="left")
    rows = (
        pd.concat(row_frames, ignore_index=True)
        if row_frames
        else pd.DataFrame(
            columns=["request_id", "segment", "current_usd", "new_model", "projected_usd"]
        )
    )
    quality = None
    if p["eval_results"]:
        from bedrock_finops import quality_gate

        results = quality_gate.read_eval_results(p["eval_results"], usage)
        quality = quality_gate.evaluate(results, threshold=p["quality_threshold"])
        out = _apply_quality(out, quality)
    period = period_of(usage)
    days = float(period["days"] or 0)
    out["monthly_savings_usd"] = out["savings_usd"] * DAYS_PER_MONTH / days if days else np.nan
    prices_used = repricing.prices_used(usage, out, catalog)
    dq = {
        "requests": len(usage),
        "unpriced_requests": int((~priced["priced"].astype(bool)).sum()),
        "unpriced_usd_note": "unpriced requests are excluded from spend and savings, never $0",
        "segments": len(out),
        "segments_unknown_model": int(out["model"].astype(str).str.startswith("unknown:").sum()),
        "segments_without_template_text": int((~out["system_text_available"]).sum()),
    }
    return SizingPlan(
        params=p,
        segments=out,
        rows=rows,
        quality=quality,
        period=period,
        total_usd=float(costs.sum()),
        catalog_info={
            "price_sheet": getattr(catalog, "sheet_name", None),
            "price_as_of": getattr(catalog, "as_of", None),
            "discount_pct": getattr(catalog, "discount_pct", None),
        },
        prices_used=prices_used,
        data_quality=dq,
    )


def _recommend_segment(
    seg: pd.Series,
    usage: pd.DataFrame,
    costs: pd.Series,
    row_seg: pd.Series,
    catalog: Any,
    p: dict[str, Any],
    models: dict,
) -> dict[str, Any]:
    """Recommendation for one segment (a ``_rows`` frame of per-request costs when adopted)."""
    model = str(seg["model"])
    task = seg["task_type"]
    rec: dict[str, Any] = {
        "segment": seg["segment"],
        "current_tier": models[model].size_class if model in models else None,
        "target_tier": p["tier_map"].get(task),
        "tier_gap": 0,
        "candidate": None,
        "cross_provider": False,
        "status": KEEP,
        "reason": "",
        "current_usd": float(seg["cost_usd"]) if pd.notna(seg["cost_usd"]) else np.nan,
        "projected_usd": float(seg["cost_usd"]) if pd.notna(seg["cost_usd"]) else np.nan,
        "savings_usd": 0.0,
        "savings_pct": 0.0,
        "tokenizer_ratio": 1.0,
        "cache_treatment": "",
        "candidates_tried": {},
        "regions": sorted(set(usage.loc[row_seg == seg["segment"], "region"].dropna())),
    }
    if model not in models:
        rec["reason"] = "model not in the catalog: cannot size or price it"
        return rec
    if task == tt.UNKNOWN:
        rec["reason"] = "no task evidence; set task_overrides for this app or segment"
        return rec
    if CONFIDENCE_RANK[seg["confidence"]] < CONFIDENCE_RANK[p["min_confidence"]]:
        rec["reason"] = (
            f"task type {task} inferred with {seg['confidence']} confidence (< "
            f"{p['min_confidence']}); confirm it with task_overrides"
        )
        return rec
    if TIER_RANK[rec["current_tier"]] <= TIER_RANK[rec["target_tier"]]:
        rec["reason"] = (
            f"already at or below the {rec['target_tier']} tier that {task} needs (no upgrades)"
        )
        return rec
    rec["tier_gap"] = TIER_RANK[rec["current_tier"]] - TIER_RANK[rec["target_tier"]]
    mask = (row_seg == seg["segment"]) & costs.notna()
    seg_usage = usage.loc[mask]
    choice = repricing.choose_candidate(seg_usage, model, rec["target_tier"], catalog, p)
    rec["candidates_tried"] = choice["tried"]
    if choice["candidate"] is None:
        rec["reason"] = f"no {rec['target_tier']}-tier model is priced where this segment runs"
        return rec
    cand = choice["candidate"]
    current_usd = float(costs[mask].sum())
    projected = choice["priced"]["cost_usd"].astype("float64")
    info = choice["info"]
    rec.update(
        candidate=cand,
        cross_provider=bool(choice["cross_provider"]),
        status=PENDING,
        reason=f"{task} needs the {rec['target_tier']} tier; cheapest priced: {cand}",
        current_usd=current_usd,
        projected_usd=float(projected.sum()),
        savings_usd=current_usd - float(projected.sum()),
        savings_pct=100.0 * (1 - float(projected.sum()) / current_usd) if current_usd else 0.0,
        tokenizer_ratio=info["tokenizer_ratio"],
        cache_treatment=_describe_cache(info),
        adapt_info=info,
    )
    rec["_rows"] = pd.DataFrame(
        {
            "request_id": seg_usage["request_id"].astype("string").to_numpy(),
            "segment": seg["segment"],
            "current_usd": costs[mask].to_numpy(),
            "new_model": cand,
            "projected_usd": projected.to_numpy(),
        }
    )
    return rec


def _describe_cache(info: dict[str, Any]) -> str:
    if not info.get("cached_requests"):
        return "no cached tokens"
    return (
        f"{info['cache_kept_requests']:,} of {info['cached_requests']:,} cached requests stay "
        f"cached on the candidate; {info['cache_to_input_requests']:,} "
        f"({info['cache_to_input_tokens']:,} tokens) billed as uncached input "
        "(candidate lacks caching or prefix below its minimum)"
    )


def _apply_quality(segs: pd.DataFrame, quality: pd.DataFrame) -> pd.DataFrame:
    """Accept or reject pending recommendations; rejected ones keep their current model."""
    out = segs.copy()
    q = quality.set_index("segment")
    for i, row in out.iterrows():
        if row["status"] != PENDING or row["segment"] not in q.index:
            continue
        g = q.loc[row["segment"]]
        out.at[i, "status"] = ACCEPTED if bool(g["passed"]) else REJECTED
        out.at[i, "reason"] = f"{row['reason']}; quality gate: {g['verdict']}"
    rejected = out["status"] == REJECTED
    out.loc[rejected, "potential_savings_usd"] = out.loc[rejected, "savings_usd"]
    out.loc[rejected, "projected_usd"] = out.loc[rejected, "current_usd"]
    out.loc[rejected, "savings_usd"] = 0.0
    out.loc[rejected, "savings_pct"] = 0.0
    return out


# ---------------------------------------------------------------------------------------------
# Contract outputs


def adopted_rows(sizing: SizingPlan) -> pd.DataFrame:
    """Per-request rows of segments whose recommendation stands (pending or accepted)."""
    ok = sizing.segments.loc[sizing.segments["status"].isin(ADOPTED), "segment"]
    return sizing.rows[sizing.rows["segment"].isin(set(ok))]


def to_effects(sizing: SizingPlan) -> pd.DataFrame:
    """Per request: ``new_model`` and this strategy's ``savings_usd``."""
    rows = adopted_rows(sizing)
    df = pd.DataFrame(
        {
            "request_id": rows["request_id"].astype("string"),
            "new_model": rows["new_model"].astype("string"),
            "savings_usd": (rows["current_usd"] - rows["projected_usd"]).astype("float64"),
        }
    )
    return effects_frame(df, STRATEGY)


def to_findings(sizing: SizingPlan) -> Findings:
    segs = sizing.segments
    scope = segs[segs["candidate"].notna()]
    adopted = scope[scope["status"].isin(ADOPTED)]
    pending = int((scope["status"] == PENDING).sum())
    actions = [_action(row) for _, row in scope.iterrows()]
    if scope.empty:
        confidence = "high"
    elif pending:
        confidence = "low" if pending == len(scope) else "medium"
    else:
        confidence = "high"
    notes = []
    if pending:
        notes.append(
            f"{pending} recommendation(s) are pending evaluation: their savings are potential "
            "until a quality evaluation shows the candidate reaches "
            f"{sizing.params['quality_threshold']:.0%} of the current model's score "
            "(bedrock-finops eval-sample, then eval_results=...)."
        )
    rejected = scope[scope["status"] == REJECTED]
    if len(rejected):
        notes.append(
            f"{len(rejected)} recommendation(s) failed the quality gate and are not counted."
        )
    return Findings(
        strategy=STRATEGY,
        title="Model sizing: the smallest model that meets quality",
        period=sizing.period,
        scope_usd=float(scope["current_usd"].sum()),
        projected_usd=float(
            adopted["projected_usd"].sum()
            + scope.loc[~scope.index.isin(adopted.index), "current_usd"].sum()
        ),
        total_usd=sizing.total_usd,
        confidence=confidence,
        assumptions=assumptions(sizing),
        actions=actions,
        data_quality=sizing.data_quality,
        notes=notes,
    )


def _action(row: pd.Series) -> Action:
    effort = "high" if row["cross_provider"] else "low" if row["tier_gap"] == 1 else "medium"
    evidence = {
        "task_type": row["task_type"],
        "task_source": row["task_source"],
        "confidence": row["confidence"],
        "signals": row["evidence"],
        "requests": int(row["requests"]),
        "current_usd": round(float(row["current_usd"]), 4),
        "candidate_usd": round(float(row["projected_usd"]), 4),
        "savings_pct": round(float(row["savings_pct"]), 2),
        "potential_savings_usd": round(
            float(row.get("potential_savings_usd", row["savings_usd"]) or row["savings_usd"]), 4
        ),
        "tokenizer_ratio": row["tokenizer_ratio"],
        "cache_treatment": row["cache_treatment"],
        "candidates_tried": row["candidates_tried"],
        "quality_gate": row["reason"].split("quality gate: ")[-1]
        if "quality gate: " in row["reason"]
        else "not evaluated",
    }
    return Action(
        id=f"model_sizing:{row['segment']}",
        scope={"app": row["app"], "model": row["model"], "template": row["template"]},
        action=(
            f"Route {row['app']} ({tt.TASK_LABELS[row['task_type']]}) from {row['model']} "
            f"to {row['candidate']} after it passes the quality gate"
            if row["status"] == PENDING
            else f"Route {row['app']} from {row['model']} to {row['candidate']}"
            if row["status"] == ACCEPTED
            else f"Keep {row['app']} on {row['model']}: {row['candidate']} failed the quality gate"
        ),
        savings_usd=float(row["savings_usd"]),
        effort=effort,
        evidence=evidence,
        status=row["status"],
    )


def assumptions(sizing: SizingPlan) -> dict[str, Any]:
    """Every price, ratio and threshold the figures rest on."""
    p = sizing.params
    ratios_used = sorted(
        {
            (
                r["adapt_info"]["tokenizer_from"],
                r["adapt_info"]["tokenizer_to"],
                r["adapt_info"]["tokenizer_ratio"],
            )
            for _, r in sizing.recommended.iterrows()
            if isinstance(r.get("adapt_info"), dict)
        }
    )
    return {
        **sizing.catalog_info,
        "prices": sizing.prices_used.to_dict(orient="records"),
        "quality_threshold": p["quality_threshold"],
        "quality_rule": "adopt when mean(candidate score) / mean(current score) >= threshold",
        "tier_map": p["tier_map"],
        "candidates": p["candidates"],
        "cross_provider_fallback": p["cross_provider"],
        "min_confidence": p["min_confidence"],
        "task_overrides": p["task_overrides"],
        "tokenizer_ratios": p["tokenizer_ratios"],
        "tokenizer_ratios_applied": [{"from": a, "to": b, "ratio": r} for a, b, r in ratios_used],
        "cache_rule": (
            "cached prefixes stay cached on the candidate when it supports caching and the "
            "prefix (cache read + write tokens of the request) meets its min_cache_tokens; "
            "otherwise they are billed as uncached input"
        ),
        "eval_results": p["eval_results"] or None,
        "monthly_scaling": f"period savings x {DAYS_PER_MONTH} / period days",
    }


def analyze(
    usage: pd.DataFrame, catalog: Any, *, prompts: pd.DataFrame | None = None, **params: Any
) -> Findings:
    """The strategy's findings on ``usage`` (see the module docstring for the params)."""
    return to_findings(plan(usage, catalog, prompts=prompts, **params))
