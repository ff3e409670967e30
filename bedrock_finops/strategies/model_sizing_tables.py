"""Model sizing: the tables the notebook shows and the routing table it exports.

Everything here reads a finished :class:`~bedrock_finops.strategies.model_sizing.SizingPlan`;
``recommended_with_ids`` and ``routing_table`` add the model ID to call (same geo profile as
today) for the quality gate's replay and for a gateway to load. The routing table sends a
segment to its candidate only once the quality gate has accepted it; a segment pending
evaluation (or rejected) routes to its current model and shows the candidate alongside.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import task_types as tt
from bedrock_finops.models import known_models
from bedrock_finops.strategies.model_sizing import SizingPlan
from bedrock_finops.strategies.model_sizing_params import ADOPTED, ROUTED, STRATEGY


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


def candidates_table(sizing: SizingPlan, catalog: Any = None) -> pd.DataFrame:
    """The models a segment may move to, per provider and tier (the ``candidates`` parameter
    over the defaults): the one of the target tier that costs least on a segment's own
    requests, and less than today, is proposed, and a model not listed is never recommended.
    With ``catalog``: whether its sheet prices the model at all (an unpriced candidate is
    skipped)."""
    rows = [
        {"provider": provider, "tier": tier, "model": model}
        for provider, tiers in sizing.params["candidates"].items()
        for tier, models in tiers.items()
        for model in models
    ]
    out = pd.DataFrame(rows, columns=["provider", "tier", "model"])
    if catalog is not None:
        out["in_price_sheet"] = out["model"].isin(set(catalog.rows["model"]))
    return out


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
    """Spend per task type now and after adopting the standing recommendations: the priced
    requests' (NaN, not $0, for a task type with no priced request)."""
    s = sizing.segments.copy()
    s["label"] = s["task_type"].map(tt.TASK_LABELS)
    before = s.groupby("label")["cost_usd"].sum(min_count=1)
    after_seg = np.where(s["status"].isin(ADOPTED), s["projected_usd"], s["cost_usd"])
    after = pd.Series(after_seg, index=s.index).groupby(s["label"]).sum(min_count=1)
    return pd.DataFrame({"current": before, "after change": after}).sort_values(
        "current", ascending=False
    )


def routing_table(sizing: SizingPlan) -> pd.DataFrame:
    """Segment -> model to call, for a gateway or an application to load.

    ``recommended_model`` (and its ``recommended_model_id``) is the model to call: the
    candidate only where the quality gate accepted it, the current model otherwise (pending
    evaluation, rejected or keep). ``candidate_model`` shows the proposed model of every
    segment that has one, whatever its ``status``, so the table still shows the proposal.
    """
    s = sizing.segments
    models = known_models()
    routed = s["status"].isin(ROUTED) & s["candidate"].notna()
    rec_model = np.where(routed, s["candidate"], s["model"])
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
            "candidate_model": s["candidate"],
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
