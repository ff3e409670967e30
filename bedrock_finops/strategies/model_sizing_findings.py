"""Model sizing's plan in the shared contract: findings, per-request effects, actions.

``to_findings`` turns a :class:`~bedrock_finops.strategies.model_sizing.SizingPlan` into
:class:`~bedrock_finops.findings.Findings` (one action per recommended segment, with the
evidence and every price, ratio and threshold in ``assumptions``); ``to_effects`` gives the
per-request ``new_model`` and saving of the segments whose recommendation stands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from bedrock_finops import task_types as tt
from bedrock_finops.findings import Action, Findings, effects_frame, monthly_scaling
from bedrock_finops.quality_gate import MIN_SCORED_SHARE
from bedrock_finops.strategies.model_sizing_media import MEDIA_RULE, media_by_segment
from bedrock_finops.strategies.model_sizing_params import (
    ACCEPTED,
    ADOPTED,
    PENDING,
    REJECTED,
    STRATEGY,
)

if TYPE_CHECKING:
    from bedrock_finops.strategies.model_sizing import SizingPlan


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
    if not sizing.total_usd > 0:
        confidence = "low"  # nothing priced (NaN: models the sheet lacks): nothing was measured
    elif scope.empty:
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
        # dollars unrounded: to 4 decimals a segment of a few small requests read $0.0000
        "current_usd": float(row["current_usd"]),
        "candidate_usd": float(row["projected_usd"]),
        "savings_pct": round(float(row["savings_pct"]), 2),
        "potential_savings_usd": float(
            row.get("potential_savings_usd", row["savings_usd"]) or row["savings_usd"]
        ),
        "tokenizer_ratio": row["tokenizer_ratio"],
        "cache_treatment": row["cache_treatment"],
        "candidates_tried": row["candidates_tried"],
        "media_sent": list(row["media_sent"]),
        "candidates_left_out_for_media": row["media_left_out"],
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
        "quality_rule": (
            "adopt when mean(candidate score) / mean(current score) >= threshold, decided once "
            f"at least {MIN_SCORED_SHARE:.0%} of the segment's sampled requests are scored (a "
            "request the candidate could not answer scores 0; a throttled or unreached one is "
            "not scored)"
        ),
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
        "media_rule": MEDIA_RULE,
        "media_by_segment": media_by_segment(sizing.segments),
        "eval_results": p["eval_results"] or None,
        "monthly_scaling": monthly_scaling(sizing.period),
    }
