"""Model sizing: the tables the notebook shows and the routing table it exports.

Everything here reads a finished :class:`~bedrock_finops.strategies.model_sizing.SizingPlan`;
``recommended_with_ids`` and ``routing_table`` add the model ID to call (behind each request's
own geo profile) for the quality gate's replay and for a gateway to load. The routing table sends a
segment to its candidate only once the quality gate has accepted it; a segment pending
evaluation (or rejected) routes to its current model and shows the candidate alongside.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import task_types as tt
from bedrock_finops import top_groups
from bedrock_finops.amounts import usd
from bedrock_finops.models import known_models, model_id_for
from bedrock_finops.strategies.model_sizing import SizingPlan
from bedrock_finops.strategies.model_sizing_params import (
    ACCEPTED,
    ADOPTED,
    PENDING,
    REJECTED,
    ROUTED,
    STRATEGY,
)


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
    ``input_modalities``: what each takes as input (models.csv), which decides whether it is
    offered to a segment whose requests send media. With ``catalog``: whether its sheet prices
    the model at all (an unpriced candidate is skipped)."""
    rows = [
        {
            "provider": provider,
            "tier": tier,
            "model": model,
            "input_modalities": _modalities(model),
        }
        for provider, tiers in sizing.params["candidates"].items()
        for tier, models in tiers.items()
        for model in models
    ]
    out = pd.DataFrame(rows, columns=["provider", "tier", "model", "input_modalities"])
    if catalog is not None:
        out["in_price_sheet"] = out["model"].isin(set(catalog.rows["model"]))
    return out


def _modalities(model: str) -> str:
    """A model's input modalities as the catalog records them, or that it reads as text only."""
    taken = known_models()[model].input_modalities
    return ", ".join(taken) if taken else "not recorded (read as text only)"


def task_types_by_segment(sizing: SizingPlan, top_n: int | None = None) -> dict[str, str]:
    """One key figure per segment, in segment id order: ``router:claude-opus-4:16205302``:
    ``classification, high confidence``.

    With ``top_n`` and more segments than that: the ``top_n`` of largest priced spend, where a
    task typed wrong would cost most (an unpriced one last; ties in segment id order), then
    one ``other (K segments)`` line counting the others by task type and confidence, so the
    counts add up to the run's segments, and before them a line saying what the cut left out
    (a thousand apps' templates made thousands of lines). The task table lists every one."""
    s = sizing.segments.set_index("segment").sort_index()
    labels = s["task_type"].astype(str) + ", " + s["confidence"].astype(str) + " confidence"
    return _cut_lines(
        labels, top_n, s["cost_usd"], "spend", lambda rest: _label_counts(labels[rest])
    )


def quality_gate_note(sizing: SizingPlan) -> str:
    """What a plan without evaluation results says of its quality gate: its recommendations
    wait for one (and how to run it), or there is none to evaluate (a small run, models the
    catalog lacks), where eval-sample would find nothing to sample."""
    if sizing.recommended.empty:
        return (
            "No recommendation to evaluate: no segment has a candidate model (the "
            "recommendation table gives each segment's reason)."
        )
    return (
        "No evaluation results: every recommendation is pending evaluation.\n"
        "Run: bedrock-finops eval-sample --run RUN_DIR --out DIR [--live --apply]"
    )


def verdicts_by_segment(sizing: SizingPlan, top_n: int | None = None) -> dict[str, str]:
    """The quality gate's verdict on each scored segment, in segment id order.

    With ``top_n`` and more segments than that: the ``top_n`` whose verdict decides the
    largest saving, the one its candidate would bring (a rejected segment's too: that is what
    the verdict turned down; one the plan no longer proposes a candidate for last; ties in
    segment id order), then one ``other (K segments)`` line counting the others' outcomes, so
    the counts add up to the segments scored, and before them a line saying what the cut left
    out. The recommendation table's reason gives the verdict on each segment proposed."""
    quality = sizing.quality.set_index("segment").sort_index()
    decided, passed = quality["decided"].astype(bool), quality["passed"].astype(bool)
    outcome = pd.Series(
        np.where(~decided, PENDING, np.where(passed, ACCEPTED, REJECTED)), index=quality.index
    )
    return _cut_lines(
        quality["verdict"],
        top_n,
        _saving_proposed(sizing.segments),
        "saving proposed",
        lambda rest: _status_counts(outcome[rest]),
    )


def _saving_proposed(segments: pd.DataFrame) -> pd.Series:
    """Per segment id, the saving its candidate would bring, before the quality gate: a
    rejected segment's potential saving, which its counted saving ($0) is not."""
    s = segments.set_index("segment")
    potential = s.get("potential_savings_usd", pd.Series(np.nan, index=s.index))
    return s["savings_usd"].where(s["status"] != REJECTED, potential).astype("float64")


def _cut_lines(
    lines: pd.Series,
    top_n: int | None,
    rank_by: pd.Series,
    by: str,
    count_rest: Callable[[pd.Index], str],
) -> dict[str, str]:
    """``lines`` (one text a segment, by segment id) cut to the ``top_n`` of largest
    ``rank_by``, in their own order, after a line saying what was left out, then one ``other
    (K segments)`` line: ``count_rest`` of the other segment ids."""
    n = len(lines) if top_n is None else top_n
    figures: dict[str, str] = {}
    note = top_groups.cut_note(len(lines), n, "segment", summed=True, by=by, other="counts")
    if note:
        figures["segments shown"] = note
    kept = top_groups.leave_out(lines, n, rank_by=rank_by)
    figures.update(kept.to_dict())
    rest = lines[~lines.index.isin(kept.index)]
    if len(rest):
        figures[top_groups.other_label(len(rest), "segment")] = count_rest(rest.index)
    return figures


def _label_counts(labels: pd.Series) -> str:
    """``6 simple_qa, medium confidence; 3 classification, high confidence``: how many of
    each label, most first, ties in label order."""
    counts = labels.value_counts().sort_index().sort_values(ascending=False, kind="stable")
    return "; ".join(f"{count:,} {label}" for label, count in counts.items())


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


def savings_by_segment(sizing: SizingPlan, top_n: int | None = None) -> dict[str, str]:
    """One key figure per recommended segment, keyed by its segment id and candidate, as
    ``router:claude-opus-4:16205302 -> anthropic.claude-3-5-haiku``: ``$45.91 saved (94.7%),
    accepted``; largest saving first (the one counted: a rejected segment's is $0), ties in
    segment id order. Keyed by app and models, two templates of one app moving to one model
    were one line, the last one's: a rejected one hid an accepted one.

    With ``top_n`` and more segments than that: the ``top_n`` of largest saving, then one
    ``other (K segments)`` line summing the others' savings and counting their statuses, so
    the lines add up to the saving over the period, and before them a line saying what the
    cut left out (a thousand apps' templates made thousands of lines)."""
    recommended = _by_saving(recommendation_table(sizing))
    savings = recommended["savings_usd"]
    n = len(savings) if top_n is None else top_n
    figures: dict[str, str] = {}
    note = top_groups.cut_note(len(savings), n, "segment", summed=True, by="saving")
    if note:
        figures["segments shown"] = note
    cut = top_groups.sum_rest(savings, n, "segment")
    for segment, saved in cut.items():
        if top_groups.is_other(segment):
            rest = recommended.loc[~recommended.index.isin(cut.index), "status"]
            figures[segment] = f"{usd(saved)} saved; {_status_counts(rest)}"
            continue
        row = recommended.loc[segment]
        figures[f"{segment} -> {row['candidate']}"] = (
            f"{usd(saved)} saved ({row['savings_pct']:.1f}%), {row['status']}"
        )
    return figures


def _by_saving(table: pd.DataFrame) -> pd.DataFrame:
    """The segments with a candidate, by segment id, largest counted saving first and ties in
    segment id order, so the top_n kept do not depend on the sort's algorithm."""
    recommended = table[table["candidate"].notna()].set_index("segment").sort_index()
    return recommended.sort_values("savings_usd", ascending=False, kind="stable")


def _status_counts(statuses: pd.Series) -> str:
    """``3 accepted, 985 pending evaluation, 2 rejected``: the statuses in a fixed order."""
    counts = statuses.value_counts()
    order = (ACCEPTED, PENDING, REJECTED)
    return ", ".join(f"{counts[s]:,} {s}" for s in order if counts.get(s, 0))


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


ROUTING_COLUMNS = [
    "segment", "app", "template", "region", "geo", "requests", "current_model",
    "recommended_model", "recommended_model_id", "candidate_model", "candidate_model_id",
    "task_type", "status", "savings_pct",
]  # fmt: skip


def routing_table(sizing: SizingPlan) -> pd.DataFrame:
    """Segment -> model to call, for a gateway or an application to load: one row per
    segment and place it is called from (Region and geo profile), as each request keeps its
    own.

    ``recommended_model`` (and its ``recommended_model_id``) is the model to call: the
    candidate, behind that row's geo, only where the quality gate accepted it; the current
    model otherwise (pending evaluation, rejected or keep), by the ID the application logged
    there (the most common one), as a version other than the one it calls would answer
    differently. ``candidate_model`` (and
    ``candidate_model_id``) shows the proposed model of every segment that has one, whatever
    its ``status``, so the table still shows the proposal.
    """
    rows = []
    for seg in sizing.segments.itertuples(index=False):
        has_candidate = isinstance(seg.candidate, str)
        routed = has_candidate and seg.status in ROUTED
        recommended = seg.candidate if routed else seg.model
        for place in seg.region_geos:
            geo = place["geo"]
            rows.append(
                {
                    "segment": seg.segment,
                    "app": seg.app,
                    "template": seg.template,
                    "region": place["region"],
                    "geo": geo,
                    "requests": place["requests"],
                    "current_model": seg.model,
                    "recommended_model": recommended,
                    "recommended_model_id": model_id_for(recommended, geo)
                    if routed
                    else place["model_id"] or model_id_for(recommended, geo),
                    "candidate_model": seg.candidate if has_candidate else None,
                    "candidate_model_id": model_id_for(seg.candidate, geo)
                    if has_candidate
                    else None,
                    "task_type": seg.task_type,
                    "status": seg.status,
                    "savings_pct": round(float(seg.savings_pct), 2),
                }
            )
    return pd.DataFrame(rows, columns=ROUTING_COLUMNS)


def recommended_with_ids(sizing: SizingPlan) -> pd.DataFrame:
    """Recommended segments with ``candidate_model_ids``: the candidate's model ID to call
    behind each geo profile the segment's requests use (``{"eu": "eu.anthropic...", "us":
    "us.anthropic..."}``), for the quality gate's replay."""
    rec = sizing.recommended.copy()
    rec["candidate_model_ids"] = [
        {geo: model_id_for(cand, geo) for geo in sorted({p["geo"] for p in places})}
        for cand, places in zip(rec["candidate"], rec["region_geos"], strict=True)
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
    json_path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return csv_path, json_path
