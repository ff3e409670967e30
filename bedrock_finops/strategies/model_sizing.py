"""Strategy 01, model sizing: move each segment to the smallest model tier its task needs.

Steps (each returns a table the notebook shows):

1. Segment the traffic by (app, prompt template, model) and infer each segment's task type
   from the evidence in its traffic (``bedrock_finops.task_types``); ``task_overrides`` sets
   any segment's type by hand.
2. Map the task type to the cheapest adequate tier (``tier_map``); never upgrade. Pick the
   concrete candidate as the model of that tier in the segment's provider (``candidates``
   preference lists), priced where the segment runs (region, geo, tier), that costs least on
   the segment's own requests (step 3), and only one that costs less than today: a segment
   whose candidates all cost as much or more keeps its model, the reason giving both costs.
   A segment whose requests send images, documents, video or audio moves only to a candidate
   that takes every kind it sends (``model_sizing_media``); with none, it keeps its model. A
   segment on an embedding model keeps it: the candidates are text models, and an embedding
   model is never one (``models.csv`` ``output_modalities``).
3. Re-price the segment's own tokens on the candidate with the cost engine. Tokens are scaled
   by the tokenizer ratio when the tokenizer family changes; cached prefixes stay cached when
   the candidate supports caching and the prefix meets its minimum, else they are billed as
   uncached input. Only requests with a price count: a partly priced segment is sized on
   its priced requests (its reason says how many are left out and why), and a segment with
   none priced keeps its model ("not priced"), its costs NaN: a move is never priced at $0.
4. The quality gate (``eval_results``): a recommendation is accepted when the candidate
   reaches ``quality_threshold`` (default 90%) of the current model's mean score on a sample
   of the segment's requests, rejected otherwise, and pending evaluation without results or
   while less than 80% of its sample is scored (its savings are then potential): a request the
   candidate could not answer scores 0, a throttled or unreached one is not scored.

``plan(...)`` does the work once; ``to_findings`` and ``to_effects`` turn it into the shared
contract; ``analyze`` is ``to_findings(plan(...))``. The defaults, statuses and parameter checks
are in ``model_sizing_params``; the re-pricing on a candidate in ``model_sizing_repricing``; the
media rule in ``model_sizing_media``; the findings and effects in ``model_sizing_findings``; the
notebook's tables and the routing export in ``model_sizing_tables``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import segments as seg_mod
from bedrock_finops import task_types as tt
from bedrock_finops.column_take import ParquetColumn
from bedrock_finops.findings import DAYS_PER_MONTH, Findings, period_of, priced_total
from bedrock_finops.media_blocks import media_found_in
from bedrock_finops.models import known_models
from bedrock_finops.pricing import price_columns, prices_as_of
from bedrock_finops.strategies import model_sizing_media as media_mod
from bedrock_finops.strategies import model_sizing_repricing as repricing
from bedrock_finops.strategies.model_sizing_findings import to_effects, to_findings
from bedrock_finops.strategies.model_sizing_params import (
    ACCEPTED,
    CONFIDENCE_RANK,
    KEEP,
    PENDING,
    REJECTED,
    TIER_RANK,
    validate_params,
)

# Why a segment on an embedding model keeps it: no text model returns its embeddings, and the
# candidates are text models (``check_settings`` refuses an embedding model among them).
EMBEDDING_REASON = (
    "an embedding model: model sizing moves text-generation traffic between text models only"
)

# The strategy's public API (to_findings and to_effects are defined in model_sizing_findings).
__all__ = ["SizingPlan", "analyze", "classify_segments", "plan", "to_effects", "to_findings"]


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
    summary["region_geos"] = summary["segment"].map(_region_geos(usage, row_seg))
    inferred = tt.infer_task_types(summary, prompts)
    inferred = tt.apply_overrides(inferred, task_overrides, summary)
    return summary.merge(inferred.drop(columns=["app"]), on="segment", how="left")


def _region_geos(usage: pd.DataFrame, row_seg: pd.Series) -> pd.Series:
    """Per segment, where its requests are called from: ``[{region, geo, requests,
    model_id}, ...]``, most requests first, ``model_id`` the ID the application logged there
    (the most common one). Each request keeps its own Region and geo profile: a segment called
    from eu-west-1 behind ``eu.`` and from us-east-1 behind ``us.`` is replayed and routed
    behind each one's own, and a segment that keeps its model is routed to the ID it calls."""
    where = pd.DataFrame(
        {
            "segment": row_seg.to_numpy(),
            "region": usage["region"].astype("string").fillna("(no region)").to_numpy(),
            "geo": usage["geo"].astype("string").fillna("none").to_numpy(),
            "model_id": usage["model_id_raw"].astype("string").fillna("").to_numpy(),
        }
    )
    place = ["segment", "region", "geo"]
    ids = where.value_counts().rename("requests").reset_index()
    ids = ids.sort_values([*place, "requests", "model_id"], ascending=[True] * 3 + [False, True])
    counts = (
        ids.groupby(place, sort=False)
        .agg(requests=("requests", "sum"), model_id=("model_id", "first"))
        .reset_index()
    )
    counts = counts.sort_values(
        ["segment", "requests", "region", "geo"], ascending=[True, False, True, True]
    )
    places: dict[str, list[dict[str, Any]]] = {}  # one pass: a groupby's apply is ~2 ms a group
    for segment, region, geo, requests, model_id in zip(
        *(counts[c].tolist() for c in ["segment", "region", "geo", "requests", "model_id"]),
        strict=True,
    ):
        places.setdefault(segment, []).append(
            {"region": region, "geo": geo, "requests": requests, "model_id": model_id}
        )
    return pd.Series(places, dtype=object)


def plan(
    usage: pd.DataFrame,
    catalog: Any,
    *,
    prompts: pd.DataFrame | None = None,
    priced: pd.DataFrame | None = None,
    period: dict[str, Any] | None = None,
    user_text: pd.Series | ParquetColumn | None = None,
    **params: Any,
) -> SizingPlan:
    """Segment, type, recommend and re-price: the whole strategy, computed once.

    ``period``: the run's (``RunContext.period``), which knows the window the table was read
    for and divides monthly figures by its length where the records cover it; by default the
    records' UTC calendar days (``period_of(usage)``). ``user_text``: the user turns, where
    ``usage`` was read without them (``RunContext.user_text_column``): the media they show
    sent decide which candidates a segment can move to (``model_sizing_media``)."""
    if usage.empty:
        raise ValueError("the usage table is empty: nothing to size (check the run's ingest)")
    priced = catalog.price(usage) if priced is None else priced
    costs = priced["cost_usd"].astype("float64")
    summary = seg_mod.summarise(usage, costs)
    p = validate_params(params, summary)
    segs = classify_segments(usage, costs, prompts, p["task_overrides"], summary)
    row_seg = seg_mod.row_segments(usage)
    segs = media_mod.with_segment_media(segs, media_mod.segment_media(usage, user_text, row_seg))
    positions = seg_mod.row_positions(row_seg)
    priceable = price_columns(usage, "request_id")  # rows re-priced per segment
    reasons = priced["unpriced_reason"].astype("string")
    recs, rows = _recommend_segments(segs, priceable, costs, reasons, positions, catalog, p)
    rec_df = pd.DataFrame(recs)
    out = segs.merge(rec_df, on="segment", how="left")
    quality = None
    if p["eval_results"]:
        from bedrock_finops import quality_gate

        results = quality_gate.read_eval_results(p["eval_results"], usage)
        sample = quality_gate.read_sample(p["eval_results"], results)
        proposed = {
            seg: cand
            for seg, cand in zip(out["segment"], out["candidate"], strict=True)
            if isinstance(cand, str)
        }
        quality = quality_gate.evaluate(results, p["quality_threshold"], sample, proposed)
        out = _apply_quality(out, quality)
    period = period_of(usage) if period is None else period
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
        "media_found_in": media_found_in(usage),
    }
    return SizingPlan(
        params=p,
        segments=out,
        rows=rows,
        quality=quality,
        period=period,
        total_usd=priced_total(costs),
        catalog_info={
            "price_sheet": getattr(catalog, "sheet_name", None),
            "price_as_of": prices_as_of(priced),  # the rows that priced the usage
            "discount_pct": getattr(catalog, "discount_pct", None),
        },
        prices_used=prices_used,
        data_quality=dq,
    )


def _recommend_segments(
    segs: pd.DataFrame,
    usage: pd.DataFrame,
    costs: pd.Series,
    reasons: pd.Series,
    positions: dict[str, np.ndarray],
    catalog: Any,
    p: dict[str, Any],
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """A recommendation per segment (:func:`_start_segment`, then the candidate each may move
    to, chosen for all at once: ``model_sizing_repricing.choose_for_segments``), and the
    per-request costs of those that have a candidate (``SizingPlan.rows``), in the segments'
    order."""
    models = known_models()
    regions = usage["region"].to_numpy(dtype=object, na_value=None)
    row_costs = costs.to_numpy(dtype="float64")  # per segment, numpy's slices: not a Series'
    starts = [
        _start_segment(seg, regions, row_costs, reasons, usage, positions, p, models)
        for _, seg in segs.iterrows()
    ]
    asks = [ask for _, _, ask in starts if ask is not None]
    choices = repricing.choose_for_segments(usage, catalog, p, asks)
    moved: list[tuple[repricing.Ask, str, np.ndarray]] = []
    for rec, seg, ask in starts:
        if ask is None:
            continue
        choice = choices[ask.segment]
        projected = _finish_segment(rec, seg, ask, choice, usage, row_costs, reasons, positions)
        if projected is not None:
            moved.append((ask, choice["candidate"], projected))
    return [rec for rec, _, _ in starts], _request_rows(moved, usage, row_costs)


def _request_rows(
    moved: list[tuple[repricing.Ask, str, np.ndarray]], usage: pd.DataFrame, costs: np.ndarray
) -> pd.DataFrame:
    """``SizingPlan.rows``: each priced request of a segment with a candidate (``moved``: the
    segment's ``Ask``, its candidate and its requests' cost on it), built at once."""
    columns = ["request_id", "segment", "current_usd", "new_model", "projected_usd"]
    if not moved:
        return pd.DataFrame(columns=columns)
    at = np.concatenate([ask.positions for ask, _, _ in moved])
    counts = [len(ask.positions) for ask, _, _ in moved]
    return pd.DataFrame(
        {
            "request_id": usage["request_id"].astype("string").to_numpy()[at],
            "segment": np.array([ask.segment for ask, _, _ in moved], dtype=object).repeat(counts),
            "current_usd": costs[at],
            "new_model": np.array([cand for _, cand, _ in moved], dtype=object).repeat(counts),
            "projected_usd": np.concatenate([projected for _, _, projected in moved]),
        }
    )


def _start_segment(
    seg: pd.Series,
    regions: np.ndarray,
    costs: np.ndarray,
    reasons: pd.Series,
    usage: pd.DataFrame,
    positions: dict[str, np.ndarray],
    p: dict[str, Any],
    models: dict,
) -> tuple[dict[str, Any], pd.Series, repricing.Ask | None]:
    """A segment's recommendation to keep its model, with the reason, or what it looks for a
    candidate with (an ``Ask``: its priced requests, tier, cost today, media sent).

    ``regions``, ``costs`` and ``reasons``: each row's ``region`` (None for none),
    ``cost_usd`` and ``unpriced_reason``; ``usage``: the columns pricing reads and
    ``request_id`` (``pricing.price_columns``); ``positions``: each segment's row positions
    (``segments.row_positions``). Unpriced rows are left out of the figures: a segment with
    none priced keeps its model, as nothing measures what a move would save.
    """
    rows_at = positions.get(seg["segment"], np.empty(0, dtype=np.intp))
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
        "media_left_out": [],
        "regions": sorted({r for r in regions[rows_at] if r is not None}),
    }
    if model not in models:
        rec["reason"] = "model not in the catalog: cannot size or price it"
        return rec, seg, None
    if models[model].is_embedding:
        rec["reason"] = EMBEDDING_REASON
        return rec, seg, None
    if task == tt.UNKNOWN:
        rec["reason"] = "no task evidence; set task_overrides for this app or segment"
        return rec, seg, None
    if CONFIDENCE_RANK[seg["confidence"]] < CONFIDENCE_RANK[p["min_confidence"]]:
        rec["reason"] = (
            f"task type {task} inferred with {seg['confidence']} confidence (< "
            f"{p['min_confidence']}); confirm it with task_overrides"
        )
        return rec, seg, None
    if TIER_RANK[rec["current_tier"]] <= TIER_RANK[rec["target_tier"]]:
        rec["reason"] = (
            f"already at or below the {rec['target_tier']} tier that {task} needs (no upgrades)"
        )
        return rec, seg, None
    rec["tier_gap"] = TIER_RANK[rec["current_tier"]] - TIER_RANK[rec["target_tier"]]
    priced_mask = ~np.isnan(costs[rows_at])
    priced_at, unpriced_at = rows_at[priced_mask], rows_at[~priced_mask]
    if not len(priced_at):
        rec["reason"] = (
            f"not priced: {model} has no price where this segment runs "
            f"({_unpriced_detail(usage, reasons, unpriced_at)}); no saving can be measured"
        )
        return rec, seg, None
    current_usd = float(costs[priced_at].sum())  # Series.sum's, as none is NaN
    ask = repricing.Ask(
        seg["segment"], priced_at, model, rec["target_tier"], current_usd, seg["media_sent"]
    )
    return rec, seg, ask


def _finish_segment(
    rec: dict[str, Any],
    seg: pd.Series,
    ask: repricing.Ask,
    choice: dict[str, Any],
    usage: pd.DataFrame,
    costs: np.ndarray,
    reasons: pd.Series,
    positions: dict[str, np.ndarray],
) -> np.ndarray | None:
    """Fill ``rec`` with the candidate chosen for the segment (``choice``, from
    ``model_sizing_repricing.choose_candidate``) or why it keeps its model; its priced
    requests' costs on the candidate when it has one."""
    rows_at = positions[ask.segment]
    unpriced_at = rows_at[np.isnan(costs[rows_at])]
    current_usd, task = ask.current_usd, seg["task_type"]
    rec["candidates_tried"] = choice["tried"]
    rec["media_left_out"] = left_out = choice["left_out"]
    if choice["candidate"] is None:
        rec["reason"] = _no_candidate_reason(seg, rec["target_tier"], choice, current_usd)
        return None
    cand = choice["candidate"]
    projected = choice["priced"]["cost_usd"].astype("float64")
    projected_usd = float(projected.sum())
    info = choice["info"]
    rec.update(
        candidate=cand,
        cross_provider=bool(choice["cross_provider"]),
        status=PENDING,
        reason=f"{task} needs the {rec['target_tier']} tier; cheapest priced: {cand}"
        + media_mod.media_note(seg, left_out)
        + _unpriced_note(usage, reasons, unpriced_at, len(rows_at)),
        current_usd=current_usd,
        projected_usd=projected_usd,
        savings_usd=current_usd - projected_usd,
        savings_pct=100.0 * (1 - projected_usd / current_usd) if current_usd else 0.0,
        tokenizer_ratio=info["tokenizer_ratio"],
        cache_treatment=_describe_cache(info),
        adapt_info=info,
    )
    return projected.to_numpy()


def _no_candidate_reason(
    seg: pd.Series, tier: str, choice: dict[str, Any], current_usd: float
) -> str:
    """Why a segment keeps its model when its tier has no candidate to move to: none takes
    the media its requests send, none of those that do is priced where it runs, or none costs
    less than today on its own requests (both costs)."""
    cheapest, left_out = choice["cheapest"], choice["left_out"]
    if left_out and len(left_out) == len(choice["tried"]):
        return media_mod.no_capable_candidate(seg, tier, left_out)
    media = media_mod.media_note(seg, left_out)
    if cheapest is None:
        return f"no {tier}-tier model is priced where this segment runs{media}"
    cache = _describe_cache(cheapest["info"])
    return (
        f"no {tier}-tier model costs less than today: the cheapest, {cheapest['candidate']}, "
        f"would cost {repricing.usd(cheapest['cost'], current_usd)} against "
        f"{repricing.usd(current_usd, cheapest['cost'])} "
        "on this segment's requests" + ("" if cache == "no cached tokens" else f"; {cache}") + media
    )


def _unpriced_detail(usage: pd.DataFrame, reasons: pd.Series, at: np.ndarray) -> str:
    """Where and why rows have no price: 'ap-southeast-2: no price for model in region'."""
    where = pd.DataFrame(
        {
            "region": usage["region"].iloc[at].astype("string").fillna("(no region)"),
            "reason": reasons.iloc[at].fillna("no price"),
        }
    )
    counts = where.value_counts(sort=True)
    return "; ".join(f"{region}: {reason}" for region, reason in counts.index)


def _unpriced_note(
    usage: pd.DataFrame, reasons: pd.Series, unpriced_at: np.ndarray, requests: int
) -> str:
    """For a partly priced segment: how many requests its figures leave out, and why."""
    if not len(unpriced_at):
        return ""
    return (
        f"; {len(unpriced_at):,} of {requests:,} requests not priced "
        f"({_unpriced_detail(usage, reasons, unpriced_at)}), left out of its figures"
    )


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
    """Accept or reject pending recommendations the gate decided (the others stay pending,
    their reason saying why: too few scored, or scores taken on another candidate than the
    one proposed); rejected ones keep their current model."""
    out = segs.copy()
    q = quality.set_index("segment")
    for i, row in out.iterrows():
        if row["status"] != PENDING or row["segment"] not in q.index:
            continue
        g = q.loc[row["segment"]]
        if bool(g["decided"]):
            out.at[i, "status"] = ACCEPTED if bool(g["passed"]) else REJECTED
        out.at[i, "reason"] = f"{row['reason']}; quality gate: {g['verdict']}"
    rejected = out["status"] == REJECTED
    out.loc[rejected, "potential_savings_usd"] = out.loc[rejected, "savings_usd"]
    out.loc[rejected, "projected_usd"] = out.loc[rejected, "current_usd"]
    out.loc[rejected, "savings_usd"] = 0.0
    out.loc[rejected, "savings_pct"] = 0.0
    return out


def analyze(
    usage: pd.DataFrame, catalog: Any, *, prompts: pd.DataFrame | None = None, **params: Any
) -> Findings:
    """The strategy's findings on ``usage`` (see the module docstring for the params)."""
    return to_findings(plan(usage, catalog, prompts=prompts, **params))
