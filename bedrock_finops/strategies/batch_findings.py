"""Batch inference's plan in the shared contract: findings, per-request effects, actions.

``to_findings`` turns a :class:`~bedrock_finops.strategies.batch_inference.BatchPlan` into
:class:`~bedrock_finops.findings.Findings` (one action per eligible segment, with its signals
and costs as evidence, the prices and parameters as assumptions); ``to_effects`` gives each
moved request's pricing mode and saving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from bedrock_finops import top_groups
from bedrock_finops.findings import Action, Findings, effects_frame, monthly_scaling
from bedrock_finops.strategies.batch_params import BATCH_NO_CHEAPER, MOVE, STRATEGY

if TYPE_CHECKING:
    from bedrock_finops.strategies.batch_inference import BatchPlan

TITLE = "Batch inference: the batch discount for work that can wait"


def to_findings(bp: BatchPlan) -> Findings:
    elig = bp.eligible
    scope = float(elig["current_usd_priced"].sum())
    projected = float(after_change_usd(elig).sum())
    assumptions: dict[str, Any] = {
        **bp.catalog_info,
        "pricing_mode": "the sheet's own batch input/output rates (shown per 1M tokens)",
        "cache_in_batch": "cache read/write tokens billed as batch input (no caching in batch)",
        "threshold": bp.params["threshold"],
        "weights": bp.params["weights"],
        "window_hours": bp.params["window_hours"],
        "business_hours": bp.params["business_hours"],
        "business_time_zone": bp.params["business_time_zone"],
        "job_window_days": bp.params["job_window_days"],
        "min_records_per_job": bp.params["min_records_per_job"],
        "pipeline_patterns": bp.params["pipeline_patterns"],
        "interactive_patterns": bp.params["interactive_patterns"],
        "force_in": bp.params["force_in"],
        "force_out": bp.params["force_out"],
        "prices": bp.prices_used.astype(object)
        .where(bp.prices_used.notna(), None)
        .to_dict("records"),
        "monthly_scaling": monthly_scaling(bp.period),
    }
    actions = [_action(rec, bp.params) for rec in elig.to_dict("records")]
    findings = Findings(
        strategy=STRATEGY,
        title=TITLE,
        period=bp.period,
        scope_usd=scope,
        projected_usd=projected,
        total_usd=bp.total_usd,
        confidence="medium",
        assumptions=assumptions,
        actions=actions,
        data_quality=bp.data_quality,
        notes=bp.notes,
    )
    return _with_jobs(findings, bp)


def after_change_usd(segments: pd.DataFrame) -> pd.Series:
    """Each segment's cost once the plan is carried out: its batch cost if it moves, its
    cost today if it stays on demand (kept, or not eligible)."""
    moves = segments["decision"] == MOVE
    return segments["batch_usd"].where(moves, segments["current_usd_priced"]).fillna(0.0)


def after_change_by_app(bp: BatchPlan) -> pd.Series:
    """The eligible spend per app once the plan is carried out (what ``projected_usd``
    sums), beside ``bp.eligible.groupby("app")["current_usd_priced"].sum()`` today."""
    elig = bp.eligible
    return after_change_usd(elig).groupby(elig["app"]).sum()


def score_by_app(bp: BatchPlan) -> pd.Series:
    """Each app's highest eligibility score (its best segment), lowest first."""
    return bp.segments.groupby("app")["score"].max().sort_values()


def spend_by_app(bp: BatchPlan) -> pd.Series:
    """Each app's priced spend today (all its segments; NaN when none is priced): the order
    the per-app charts keep their ``top_n`` apps in."""
    return bp.segments.groupby("app")["cost_usd"].sum(min_count=1)


def eligible_apps(bp: BatchPlan, most: int) -> str:
    """The eligible apps, in alphabetical order; past ``most`` of them, the ``most`` of
    largest eligible spend, largest first, then how many more (one line, not every app)."""
    spend = bp.eligible.groupby("app")["current_usd_priced"].sum()
    if len(spend) <= most:
        return ", ".join(sorted(spend.index)) or "none"
    names = [str(a) for a in top_groups.ranked(spend)]
    return f"{top_groups.named(names, most, 'app')} (largest eligible spend first)"


def _with_jobs(f: Findings, bp: BatchPlan) -> Findings:
    """Each action's jobs as evidence; an action whose segment's traffic runs as several jobs
    (one per Region and model ID) says so, with each job's cadence."""
    parts = bp.job_parts
    if parts.empty:
        return f
    window = bp.params["job_window_days"]
    for action in f.actions:
        seg = action.id.removeprefix("batch:")
        mine = parts[parts["segment"] == seg]
        run, left = mine[mine["in_job"]], mine[~mine["in_job"]]
        action.evidence["jobs"] = [
            {
                "job_group": r["job_group"],
                "region": r["region"],
                "model_id": r["model_id"],
                "requests": int(r["requests"]),
                "job_group_requests": int(r["job_group_requests"]),
                "min_records_rule": r["min_records_rule"],
                "days_of_traffic_per_job": float(r["days_per_job"]),
                "moves": bool(r["in_job"]),
            }
            for r in mine.to_dict("records")
        ]
        if action.status != "recommended" or (len(run) < 2 and left.empty):
            continue
        jobs = "; ".join(
            f"{r['region']} with {r['model_id']} ({int(r['requests']):,} requests, every "
            + (
                f"{int(r['days_per_job'])} days)"
                if r["days_per_job"] > window
                else f"{window} day(s))"
            )
            for r in run.to_dict("records")
        )
        text = (
            f"{action.action}, as {len(run)} separate job(s), one per Region and model ID: {jobs}"
        )
        if not left.empty:
            text += "; on demand (too few for a job): " + "; ".join(
                f"{r['region']} with {r['model_id']} ({int(r['requests']):,} requests)"
                for r in left.to_dict("records")
            )
        action.action = text
    return f


def _action(rec: dict[str, Any], p: dict[str, Any]) -> Action:
    moving = rec["decision"] == MOVE
    evidence = {
        sig: {
            "value": rec[f"{sig}_value"],
            "score": round(float(rec[f"{sig}_score"]), 3),
            "weight": round(w, 3),
        }
        for sig, w in p["weights"].items()
    }
    evidence |= {
        "score": round(float(rec["score"]), 3),
        "threshold": p["threshold"],
        "forced": rec["forced"] or None,
        "requests": int(rec["requests"]),
        "busiest_window_start_utc": int(rec["busiest_window_start_utc"]),
        "job_group": rec["job_group"],
        "job_group_requests": int(rec["job_group_requests"]),
        "min_records_rule": rec["min_records_rule"],
        "days_of_traffic_per_job": float(rec["days_per_job"]),
        "current_usd": rec["current_usd_priced"],
        "uncached_on_demand_usd": rec["uncached_usd"],
        "cache_saving_given_up_usd": rec["cache_given_up_usd"],
        "batch_usd": rec["batch_usd"],
        "net_saving_usd": rec["net_saving_usd"],
    }
    if moving:
        cadence = job_cadence(rec["days_per_job"], p["job_window_days"])
        text = (
            f"Submit {rec['app']}'s requests (template {str(rec['template'])[:12]}) to "
            f"{rec['model']} as a batch inference job {cadence} instead of on-demand calls"
        )
        status = "recommended"
    elif rec["decision"] == BATCH_NO_CHEAPER:
        text = f"Keep {rec['app']} on demand: batch is no cheaper at these prices"
        status = "rejected"
    else:
        text = f"Keep {rec['app']} on demand with prompt caching: it saves more than batch would"
        status = "rejected"
    effort = (
        "low" if rec["caller_score"] >= 0.99 and rec["non_streaming_score"] >= 0.99 else "medium"
    )
    return Action(
        id=f"batch:{rec['segment']}",
        scope={"app": rec["app"], "model": rec["model"], "template": rec["template"]},
        action=text,
        savings_usd=float(rec["net_saving_usd"]) if moving else 0.0,
        effort=effort,
        evidence=evidence,
        status=status,
    )


def to_effects(bp: BatchPlan) -> pd.DataFrame:
    """Per moved request: pricing mode batch and this strategy's own saving."""
    df = pd.DataFrame(
        {
            "request_id": bp.rows["request_id"].to_numpy(),
            "pricing_mode": "batch",
            "savings_usd": bp.rows["savings_usd"].to_numpy(dtype="float64"),
        }
    )
    return effects_frame(df, STRATEGY)


def job_cadence(days_per_job: float, job_window_days: int) -> str:
    """How often a segment's job runs: the job window, or longer when one window holds fewer
    requests than a job's minimum (``days_per_job``: days of traffic that fill one)."""
    if days_per_job > job_window_days:
        return f"every {int(days_per_job)} days"
    return f"every {job_window_days} day(s)"
