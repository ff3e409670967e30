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
contract; ``analyze`` is ``to_findings(plan(...))``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import segments as seg_mod
from bedrock_finops import task_types as tt
from bedrock_finops.findings import DAYS_PER_MONTH, Action, Findings, effects_frame, period_of
from bedrock_finops.models import known_models
from bedrock_finops.tokens import TOKENIZER_RATIOS, tokenizer_ratio

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
# Re-pricing a segment on another model


def adapt_tokens(
    seg_usage: pd.DataFrame,
    current: str,
    candidate: str,
    catalog: Any,
    ratios: dict[str, float],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The segment's usage as the candidate would bill it: tokenizer scaling, cache treatment.

    Cached prefixes (cache read + write of a request) stay cached when the candidate supports
    caching and the prefix is at least its ``min_cache_tokens``; otherwise those tokens are
    billed as uncached input. Returns the adapted usage and what was done.
    """
    models = known_models()
    ratio = tokenizer_ratio(models[current].tokenizer, models[candidate].tokenizer, ratios)
    out = seg_usage.copy()
    cols = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]
    if ratio != 1.0:
        for c in cols:
            out[c] = np.round(out[c].astype("float64") * ratio).astype("int64")
    prefix = out["cache_read_tokens"].astype("int64") + out["cache_write_tokens"].astype("int64")
    cached = prefix > 0
    uncache = pd.Series(False, index=out.index)
    supports: dict[str, Any] = {}
    if cached.any():
        keys = out.loc[cached, ["region", "geo", "service_tier"]].astype("string").fillna("")
        for (region, geo, tier), idx in keys.groupby(
            ["region", "geo", "service_tier"], sort=False
        ).groups.items():
            rate = _rate_or_none(catalog, candidate, region, geo or "none", tier or "default")
            ok = rate is not None and _flag(rate.get("supports_caching"))
            min_raw = rate.get("min_cache_tokens") if rate is not None else None
            min_tokens = 0.0 if min_raw is None or pd.isna(min_raw) else float(min_raw)
            supports[f"{region}/{geo}/{tier}"] = {
                "supports_caching": ok,
                "min_cache_tokens": int(min_tokens),
            }
            uncache.loc[idx] = (not ok) | (prefix.loc[idx] < min_tokens)
    moved = uncache & cached
    moved_tokens = int(prefix[moved].sum())
    out.loc[moved, "input_tokens"] = out.loc[moved, "input_tokens"] + prefix[moved]
    out.loc[moved, ["cache_read_tokens", "cache_write_tokens"]] = 0
    info = {
        "tokenizer_ratio": round(ratio, 4),
        "tokenizer_from": models[current].tokenizer,
        "tokenizer_to": models[candidate].tokenizer,
        "cached_requests": int(cached.sum()),
        "cache_kept_requests": int((cached & ~uncache).sum()),
        "cache_to_input_requests": int(moved.sum()),
        "cache_to_input_tokens": moved_tokens,
        "candidate_caching": supports,
    }
    return out, info


def _flag(value: Any) -> bool:
    return False if value is None or pd.isna(value) else bool(value)


def _rate_or_none(catalog: Any, model: str, region: str, geo: str, tier: str) -> pd.Series | None:
    try:
        rate = catalog.rate(model, region=region, geo=geo, service_tier=tier)
    except (KeyError, LookupError, ValueError):
        return None
    return rate


def price_on(
    seg_usage: pd.DataFrame, current: str, candidate: str, catalog: Any, ratios: dict[str, float]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Re-price a segment's own requests on ``candidate`` with the cost engine."""
    adapted, info = adapt_tokens(seg_usage, current, candidate, catalog, ratios)
    priced = catalog.price(adapted, model=candidate)
    return priced, info


def choose_candidate(
    seg_usage: pd.DataFrame,
    current: str,
    target_tier: str,
    catalog: Any,
    params: dict[str, Any],
) -> dict[str, Any]:
    """Cheapest priced model of ``target_tier``: same provider first, then (optionally) others.

    Returns ``{candidate, priced, info, tried}``; ``candidate`` is None when nothing is priced
    for every request of the segment (``tried`` says why each was ruled out).
    """
    models = known_models()
    provider = models[current].provider
    own = list(params["candidates"].get(provider, {}).get(target_tier, []))
    others = [
        k
        for prov, tiers in params["candidates"].items()
        if prov != provider
        for k in tiers.get(target_tier, [])
    ]
    tried: dict[str, str] = {}
    for group in (own, others if params["cross_provider"] else []):
        best = None
        for cand in group:
            if cand == current:
                continue
            priced, info = price_on(seg_usage, current, cand, catalog, params["tokenizer_ratios"])
            if not bool(priced["priced"].all()):
                reasons = priced.loc[~priced["priced"].astype(bool), "unpriced_reason"]
                tried[cand] = f"not priced: {reasons.astype(str).iloc[0]}"
                continue
            cost = float(priced["cost_usd"].sum())
            tried[cand] = f"${cost:,.2f}"
            if best is None or cost < best["cost"]:
                best = {"candidate": cand, "priced": priced, "info": info, "cost": cost}
        if best is not None:
            best["tried"] = tried
            best["cross_provider"] = group is others
            return best
    return {"candidate": None, "priced": None, "info": {}, "tried": tried, "cost": None}


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
    prices_used = _prices_used(usage, out, catalog)
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
    choice = choose_candidate(seg_usage, model, rec["target_tier"], catalog, p)
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


def _prices_used(usage: pd.DataFrame, segs: pd.DataFrame, catalog: Any) -> pd.DataFrame:
    """Every rate the figures rest on: current and candidate model per region/geo/tier."""
    rows = []
    keys = usage[["model", "region", "geo", "service_tier"]].astype("string").drop_duplicates()
    cand_by_model = segs.dropna(subset=["candidate"]).groupby("model")["candidate"].unique()
    seen = set()
    for _, k in keys.dropna(subset=["model"]).iterrows():
        models = [k["model"], *cand_by_model.get(k["model"], [])]
        for m in models:
            key = (m, k["region"], k["geo"] or "none", k["service_tier"] or "default")
            if key in seen:
                continue
            seen.add(key)
            rate = _rate_or_none(catalog, *key)
            if rate is None:
                continue
            rows.append(
                {"model": m, "region": key[1], "geo": key[2], "service_tier": key[3]}
                | {
                    c: rate.get(c)
                    for c in (
                        "input_per_1k",
                        "output_per_1k",
                        "cache_write_5m_per_1k",
                        "cache_read_per_1k",
                        "min_cache_tokens",
                        "supports_caching",
                        "source",
                        "as_of",
                    )
                }
            )
    return pd.DataFrame(rows)


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


# ---------------------------------------------------------------------------------------------
# Tables for the notebook


def task_table(sizing: SizingPlan) -> pd.DataFrame:
    """Segment, task type, confidence and the signals that fired (with values)."""
    s = sizing.segments
    return pd.DataFrame(
        {
            "app": s["app"],
            "model": s["model"],
            "requests": s["requests"],
            "task_type": s["task_type"],
            "confidence": s["confidence"],
            "source": s["task_source"],
            "signals": [
                "; ".join(f"{e['signal']}={e['value']}" for e in ev) for ev in s["evidence"]
            ],
            "segment": s["segment"],
        }
    )


def recommendation_table(sizing: SizingPlan) -> pd.DataFrame:
    """One row per segment: current vs recommended model, costs, savings and status."""
    s = sizing.segments
    cols = [
        "app",
        "model",
        "task_type",
        "current_tier",
        "target_tier",
        "candidate",
        "status",
        "requests",
        "current_usd",
        "projected_usd",
        "savings_usd",
        "savings_pct",
        "monthly_savings_usd",
        "tokenizer_ratio",
        "cache_treatment",
        "reason",
        "segment",
    ]
    return s[cols].sort_values("savings_usd", ascending=False).reset_index(drop=True)


def spend_by_task_type(sizing: SizingPlan) -> pd.DataFrame:
    """Spend per task type now and after adopting the standing recommendations."""
    s = sizing.segments.copy()
    s["label"] = s["task_type"].map(tt.TASK_LABELS)
    before = s.groupby("label")["cost_usd"].sum()
    after_seg = np.where(s["status"].isin(ADOPTED), s["projected_usd"], s["cost_usd"])
    after = pd.Series(after_seg, index=s.index).groupby(s["label"]).sum()
    return pd.DataFrame({"current": before, "after change": after}).sort_values(
        "current", ascending=False
    )


def routing_table(sizing: SizingPlan) -> pd.DataFrame:
    """Segment -> model to call, for a gateway or an application to load."""
    s = sizing.segments
    models = known_models()
    adopt = s["status"].isin(ADOPTED)
    rec_model = np.where(adopt, s["candidate"], s["model"])
    geos = _segment_geo(s)
    return pd.DataFrame(
        {
            "segment": s["segment"],
            "app": s["app"],
            "template": s["template"],
            "current_model": s["model"],
            "recommended_model": rec_model,
            "recommended_model_id": [
                _model_id(m, geos.get(seg), models)
                for m, seg in zip(rec_model, s["segment"], strict=True)
            ],
            "task_type": s["task_type"],
            "status": s["status"],
            "savings_pct": s["savings_pct"].round(2),
        }
    )


def _segment_geo(s: pd.DataFrame) -> dict[str, str]:
    return dict(zip(s["segment"], s["geo_mode"], strict=True))


def _model_id(key: str, geo: str | None, models: dict) -> str | None:
    """A model ID to call: the newest base ID, behind the same geo profile as today."""
    info = models.get(key)
    if info is None:
        return None
    base = info.base_ids[-1]
    return f"{geo}.{base}" if geo and geo != "none" else base


def recommended_with_ids(sizing: SizingPlan) -> pd.DataFrame:
    """Recommended segments with the candidate's callable model ID (same geo profile)."""
    rec = sizing.recommended.copy()
    models = known_models()
    rec["candidate_model_id"] = [
        _model_id(c, g, models) for c, g in zip(rec["candidate"], rec["geo_mode"], strict=True)
    ]
    return rec


def export_routing_table(sizing: SizingPlan, out_dir: str | Path, name: str = "model_sizing"):
    """Write ``<name>.routing.csv`` and ``<name>.routing.json``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = routing_table(sizing)
    csv_path = out_dir / f"{name}.routing.csv"
    json_path = out_dir / f"{name}.routing.json"
    table.to_csv(csv_path, index=False)
    doc = {
        "strategy": STRATEGY,
        "period": sizing.period,
        "quality_threshold": sizing.params["quality_threshold"],
        "routes": json.loads(table.to_json(orient="records")),
    }
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    return csv_path, json_path
