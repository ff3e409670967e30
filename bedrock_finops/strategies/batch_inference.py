"""Strategy 02, batch inference: the batch discount for work that can wait.

Steps (each returns a table the notebook shows):

1. Score each segment (app, prompt template, model) for batch eligibility from its traffic:
   who calls (pipeline/service roles vs user sessions and user-facing apps), streaming or not,
   when requests arrive (busiest contiguous window, off-hours share, weekend share, day-to-day
   regularity), volume per job window against the minimum records per job, and whether the
   model has batch prices. Each signal has a value, a 0-1 score and a weight; the weighted mean
   is compared with ``threshold``. ``force_in`` / ``force_out`` (apps or segment ids) override.
   A segment on an embedding model is blocked whatever its score: records are written in a
   text model's forms only.
2. Re-price eligible traffic at batch rates with the cost engine (``mode="batch"``). Batch and
   prompt caching do not combine: for segments that cache today, the cache saving they give up
   (the same tokens priced uncached minus what they cost now) is netted out; a segment whose
   net saving is not positive is listed but not moved: kept for its caching when batch alone
   would save, kept as batch no cheaper when it would not.
3. Export ready batch jobs per job group (``export_jobs``; see ``batch_jobs``).

A batch job runs in one Region with one model ID, so a job group is (app, Region, model ID as
logged: ``model_id_raw``, with its geo prefix or profile ARN); a segment whose traffic spans
several Regions or model IDs splits into several jobs. The minimum records per job and the
cadence apply per job group; a job group too small for one job in the whole period stays on
demand (its rows are not moved) unless another job group of the segment can run or the
segment is forced in. Savings stay priced per request at that request's own Region.

``plan(...)`` does the work once; ``to_findings`` and ``to_effects`` turn it into the shared
contract; ``analyze`` is ``to_findings(plan(...))``. The defaults, decision labels and
parameter checks are in ``batch_params``; the signals of step 1 in ``batch_signals``; the
findings and effects in ``batch_findings``; the source article's examples, priced by the
engine, in ``batch_article_examples``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bedrock_finops import batch_jobs as bj
from bedrock_finops import batch_records
from bedrock_finops import segments as seg_mod
from bedrock_finops.amounts import usd
from bedrock_finops.app_attribution import UNKNOWN_APP
from bedrock_finops.column_take import ParquetColumn, text_parts, user_turns
from bedrock_finops.findings import Findings, period_of, priced_total
from bedrock_finops.media_blocks import (
    any_media,
    media_found_in,
    media_sent_by_request,
    media_sent_in,
)
from bedrock_finops.models import is_embedding_model
from bedrock_finops.pricing import price_columns, prices_as_of
from bedrock_finops.schema import total_input_tokens
from bedrock_finops.strategies.batch_findings import (
    after_change_by_app,
    eligible_apps,
    score_by_app,
    spend_by_app,
    to_effects,
    to_findings,
)
from bedrock_finops.strategies.batch_params import (
    BATCH_NO_CHEAPER,
    KEEP_CACHING,
    MOVE,
    NOT_ELIGIBLE,
    named_segments,
    validate_params,
)
from bedrock_finops.strategies.batch_signals import evidence_table, segment_signals

# The strategy's public API (to_findings, to_effects and the per-app figures, after_change_by_app
# to spend_by_app, are defined in batch_findings).
__all__ = [
    "BatchPlan",
    "after_change_by_app",
    "analyze",
    "eligible_apps",
    "export_jobs",
    "job_group",
    "job_groups_of",
    "plan",
    "prices_per_million",
    "score_by_app",
    "spend_by_app",
    "to_effects",
    "to_findings",
]


@dataclass
class BatchPlan:
    """Everything the strategy computed, kept together so the notebook computes it once."""

    params: dict[str, Any]
    segments: pd.DataFrame  # one row per segment: signals, score, eligibility, savings
    # one row per (segment, job group): region, model_id, requests, the group's rule and
    # whether the segment's rows in that group move (``in_job``)
    job_parts: pd.DataFrame
    evidence: pd.DataFrame  # long: segment, signal, value, score, weight, contribution
    rows: pd.DataFrame  # per request moved: request_id, segment, current/batch cost
    period: dict[str, Any]
    total_usd: float
    prices_used: pd.DataFrame
    catalog_info: dict[str, Any]
    data_quality: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # per usage row, in order: no job takes it (its user turn was not logged or sent media,
    # inline or by reference, or the sheet cannot price it both ways), so the export leaves
    # out exactly what the plan did
    left_out: np.ndarray | None = None

    @property
    def eligible(self) -> pd.DataFrame:
        return self.segments[self.segments["eligible"]]

    @property
    def moved(self) -> pd.DataFrame:
        return self.segments[self.segments["decision"] == MOVE]


# ---------------------------------------------------------------------------------------------
# Plan


def plan(
    usage: pd.DataFrame,
    catalog: Any,
    *,
    prompts: pd.DataFrame | None = None,
    priced: pd.DataFrame | None = None,
    user_text: pd.Series | ParquetColumn | None = None,
    period: dict[str, Any] | None = None,
    **params: Any,
) -> BatchPlan:
    """Score, decide and price every segment. ``priced`` = ``catalog.price(usage)`` if known.

    ``user_text``: where the user turns are when ``usage`` was read without them (e.g.
    ``RunContext.user_text_column``); only their presence is counted here.
    ``period``: the run's (``RunContext.period``), which knows the window the table was read
    for: per-day signals and monthly figures then divide by its length where the records
    cover it. By default the records' UTC calendar days (``period_of(usage)``).
    """
    if usage.empty:
        raise ValueError(
            "the usage table is empty: no segment to score for batch inference (check the "
            "run's ingest)"
        )
    priced = catalog.price(usage) if priced is None else priced
    seg_ids = seg_mod.row_segments(usage)
    summary = seg_mod.summarise(usage, priced["cost_usd"])
    p = validate_params(params, summary)
    period = period_of(usage) if period is None else period
    signals = segment_signals(usage, seg_ids, period, p)
    segs = summary.merge(signals, on="segment", how="left")
    segs["score"] = sum(segs[f"{s}_score"] * w for s, w in p["weights"].items())

    seg_rows = seg_mod.row_positions(seg_ids)
    no_rows = np.empty(0, dtype=np.intp)
    price_keys = usage[["model", "region", "geo"]].astype("string")  # all a rate needs
    segs["batch_supported"] = [
        _supports_batch(catalog, price_keys.iloc[seg_rows.get(s, no_rows)]) for s in segs["segment"]
    ]
    # a request whose user turn was not logged as text, or sent images, documents, video or audio
    # (kept as a placeholder or a block's JSON, which a record would send as text), cannot be
    # rebuilt: it stays on demand, out of every job group (and so of the minimum-records rule
    # and the cadence), counted
    unlogged, media = _user_turns_not_rebuildable(usage, user_text)
    segs["unlogged_user_turns"] = _per_segment(segs, seg_ids, unlogged)
    segs["media_user_turns"] = _per_segment(segs, seg_ids, media)
    keys = _job_keys(usage)
    row_groups = _groups_of(keys)
    batch = catalog.price(usage, mode="batch")
    uncached = catalog.price(_uncached(usage))
    rows = pd.DataFrame(
        {
            "request_id": usage["request_id"].astype(str),
            "segment": seg_ids.astype(str),
            "job_group": row_groups.astype(str),
            "current_usd": priced["cost_usd"].astype("float64"),
            "uncached_usd": uncached["cost_usd"].astype("float64"),
            "batch_usd": batch["cost_usd"].astype("float64"),
            "batch_unpriced_reason": batch["unpriced_reason"],
        },
        index=usage.index,
    )
    rows["priced_both"] = rows[["current_usd", "uncached_usd", "batch_usd"]].notna().all(axis=1)
    # what no job takes: a turn that cannot be rebuilt, or a request the sheet cannot price
    # both ways (e.g. a Region without batch prices), whose saving could not be counted
    left_out = unlogged | media | ~rows["priced_both"].to_numpy()
    fits = ~left_out
    job_parts = _job_parts(keys[fits], seg_ids[fits], row_groups[fits])
    row_keys = pd.MultiIndex.from_frame(rows[["segment", "job_group"]])
    # each row priced at its own Region, summed per (segment, job group) once; the loop
    # below adds up the parts in a job (rows of a group left on demand are not counted)
    part_costs = (
        rows[fits]
        .groupby(["segment", "job_group"], sort=False)
        .agg(
            priced_requests=("current_usd", "size"),
            current_usd=("current_usd", "sum"),
            uncached_usd=("uncached_usd", "sum"),
            batch_usd=("batch_usd", "sum"),
        )
        .reset_index()
    )
    # A job group's size counts the segments that move into it, and which move depends on
    # the sizes (the minimum records per job): decide again with ``members`` pooling their
    # requests. It only shrinks (a segment that did not move stays out), so this ends. A
    # segment outside it is judged as if it joined the members, so one that moves then was
    # counted with every request its jobs will hold.
    base, members = segs, set(segs["segment"])
    for _ in range(len(base) + 1):
        segs, parts = _job_rules(base, job_parts, p, members)
        kept = parts.loc[parts["in_job"], ["segment", "job_group"]]
        in_job = part_costs.merge(kept, on=["segment", "job_group"])
        segs = segs.merge(_segment_costs(in_job), on="segment", how="left")
        segs = _decide(segs, p)
        moved = set(segs.loc[segs["decision"] == MOVE, "segment"])
        if members <= moved:
            break
        members &= moved
    rows["in_job"] = row_keys.isin(pd.MultiIndex.from_frame(kept)) & fits
    taken = rows["segment"].isin(moved) & rows["in_job"]
    # every request no job takes: its segment stays, its group is too small, its turn was
    # not logged or held media, or the sheet cannot price it both ways
    in_jobs = rows.loc[taken].groupby("segment").size()
    segs["requests_left_on_demand"] = (
        segs["requests"] - segs["segment"].map(in_jobs).fillna(0)
    ).astype("int64")
    moved_rows = rows[taken].copy()
    moved_rows = moved_rows.drop(columns=["job_group", "in_job"])
    moved_rows["savings_usd"] = moved_rows["current_usd"] - moved_rows["batch_usd"]
    in_scope = rows["segment"].isin(set(segs.loc[segs["eligible"], "segment"]))
    dq = {
        "requests": int(len(usage)),
        "unpriced_requests": int(priced["cost_usd"].isna().sum()),
        "unpriced_usd_note": "unpriced requests are excluded from every figure, never counted $0",
        "eligible_requests_unpriced_for_batch": int((in_scope & rows["batch_usd"].isna()).sum()),
        "batch_unpriced_reasons": rows.loc[
            in_scope & rows["batch_usd"].isna(), "batch_unpriced_reason"
        ]
        .value_counts()
        .to_dict(),
    }
    if prompts is not None:
        texts = seg_mod.template_texts(prompts)
        need = usage["system_hash"].notna() & in_scope
        dq["eligible_requests_without_template_text"] = int(
            (need & ~usage["system_hash"].astype("string").isin(list(texts))).sum()
        )
    dq["eligible_requests_without_user_text"] = int((in_scope.to_numpy() & unlogged).sum())
    dq["eligible_requests_with_media"] = int((in_scope.to_numpy() & media).sum())
    dq["media_found_in"] = media_found_in(usage)
    return BatchPlan(
        params=p,
        segments=segs,
        evidence=evidence_table(segs, p["weights"]),
        rows=moved_rows,
        period=period,
        total_usd=priced_total(priced["cost_usd"]),
        prices_used=_prices_used(catalog, usage.loc[in_scope, ["model", "region", "geo"]]),
        catalog_info={
            "price_sheet": catalog.sheet_name,
            "price_sheet_as_of": prices_as_of(priced),  # the rows that priced the usage
            "discount_pct": catalog.discount_pct,
            "price_overrides": catalog.overrides,
        },
        data_quality=dq,
        notes=_notes(segs, parts),
        job_parts=parts,
        left_out=left_out,
    )


def _rebuildable(segs: pd.DataFrame) -> pd.Series:
    """Per segment: some of its requests' user turns were logged as text a batch record can
    carry (not missing, no media), so they can be rebuilt."""
    return segs["unlogged_user_turns"] + segs["media_user_turns"] < segs["requests"]


def _user_turns_not_rebuildable(
    usage: pd.DataFrame, user_text: pd.Series | ParquetColumn | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, (the user turn was not logged as text, it sent media): either way a batch
    record could not carry the turn. A turn not logged is a body over 100 KB left unread, or
    none; one logged empty or white space only stood for content not kept as text (Bedrock
    refuses an empty text block), and a record gets the same placeholder for it
    (``batch_records.turns_without_text``).
    Media sent inline are kept in ``user_text`` as placeholders, never their bytes, and media
    sent by reference (an S3 location, a URL) as their block's JSON (``media_blocks``); a
    record carries the turn as text only, so the model would answer the placeholder or the
    JSON. Which requests sent media is the usage table's ``media_sent`` (any turn of the
    request); a table without it has its user turns searched in the same pass over them, a
    part at a time."""
    texts = user_turns(usage, user_text)
    search = "media_sent" not in usage.columns
    unlogged = np.empty(len(usage), dtype=bool)
    media = np.empty(len(usage), dtype=bool)
    if not search:
        media[:] = any_media(media_sent_by_request(usage))
    for lo, hi, part in text_parts(texts):
        unlogged[lo:hi] = batch_records.turns_without_text(part)
        if search:
            media[lo:hi] = any_media(media_sent_in(part))
    return unlogged, media


def _per_segment(segs: pd.DataFrame, seg_ids: pd.Series, flags: np.ndarray) -> pd.Series:
    """How many of each segment's rows ``flags`` marks, aligned to ``segs``."""
    counts = pd.Series(flags).groupby(seg_ids.astype(str).to_numpy()).sum()
    return segs["segment"].map(counts).fillna(0).astype("int64")


def _uncached(usage: pd.DataFrame) -> pd.DataFrame:
    """The same requests with cache reads and writes billed as plain input."""
    out = price_columns(usage).copy()
    out["input_tokens"] = total_input_tokens(usage).astype(usage["input_tokens"].dtype)
    out["cache_read_tokens"] = (usage["cache_read_tokens"] * 0).astype(
        usage["cache_read_tokens"].dtype
    )
    out["cache_write_tokens"] = (usage["cache_write_tokens"] * 0).astype(
        usage["cache_write_tokens"].dtype
    )
    return out


def _segment_costs(parts: pd.DataFrame) -> pd.DataFrame:
    """Per segment, the costs of its (segment, job group) parts in a job, all priced both
    ways."""
    g = parts.groupby("segment")
    out = pd.DataFrame(
        {
            "priced_requests": g["priced_requests"].sum(),
            "current_usd_priced": g["current_usd"].sum(),
            "uncached_usd": g["uncached_usd"].sum(),
            "batch_usd": g["batch_usd"].sum(),
        }
    ).reset_index()
    out["cache_given_up_usd"] = out["uncached_usd"] - out["current_usd_priced"]
    out["gross_batch_saving_usd"] = out["uncached_usd"] - out["batch_usd"]
    out["net_saving_usd"] = out["current_usd_priced"] - out["batch_usd"]
    return out


def _supports_batch(catalog: Any, keys: pd.DataFrame) -> bool:
    """The sheet offers batch for the segment's (model, region, geo): flag and batch prices,
    and its records can be written: not for an embedding model's (:data:`EMBEDDING_NOT_BATCHED`).

    ``keys``: the segment's rows' model, region and geo, as strings.
    """
    key = keys.mode(dropna=False)
    if key.empty or pd.isna(key.iat[0, 0]):
        return False
    model, region, geo = (key.iat[0, i] for i in range(3))
    if is_embedding_model(model):  # its records are not written (EMBEDDING_NOT_BATCHED)
        return False
    try:
        rate = catalog.rate(model, region=region, geo=geo if pd.notna(geo) else "none")
    except KeyError:
        return False
    return (
        bool(rate["supports_batch"])
        and pd.notna(rate["batch_input_per_1k"])
        and pd.notna(rate["batch_output_per_1k"])
    )


def job_group(app: str, region: str, model_id: str) -> str:
    """The job group label. A batch job runs in one Region with one model ID, so segments of
    one app share jobs only within one (Region, model ID as logged); each record carries its
    own template."""
    return f"{app}:{region}:{model_id}"


def job_groups_of(usage: pd.DataFrame) -> pd.Series:
    """The job group of every usage row: (app, region, model ID), aligned to usage."""
    return _groups_of(_job_keys(usage))


def _groups_of(keys: pd.DataFrame) -> pd.Series:
    # lists, not the Arrow-backed columns: iterating those costs ~1 us a value
    columns = (keys["app"].tolist(), keys["region"].tolist(), keys["model_id"].tolist())
    return pd.Series(
        [job_group(a, r, m) for a, r, m in zip(*columns, strict=True)],
        index=keys.index,
        dtype="string",
    )


def _job_keys(usage: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "app": usage["app"].astype("string").fillna(UNKNOWN_APP),
            "region": usage["region"].astype("string").fillna("unknown"),
            "model_id": _model_ids(usage),
        },
        index=usage.index,
    )


def _model_ids(usage: pd.DataFrame) -> pd.Series:
    """The model ID a job would name: the logged one, or a prompt router's choice (a batch
    job cannot name a router)."""
    raw = usage["model_id_raw"].astype("string")
    if "routed_model_id" in usage:
        raw = usage["routed_model_id"].astype("string").fillna(raw)
    return raw.fillna("unknown")


def _job_parts(keys: pd.DataFrame, seg_ids: pd.Series, groups: pd.Series) -> pd.DataFrame:
    """One row per (segment, job group) with its Region, model ID and requests."""
    frame = pd.DataFrame(
        {
            "segment": seg_ids.astype(str),
            "job_group": groups.astype(str),
            "region": keys["region"].astype(str),
            "model_id": keys["model_id"].astype(str),
        }
    )
    return (
        frame.groupby(["segment", "job_group", "region", "model_id"], sort=True)
        .size()
        .rename("requests")
        .reset_index()
    )


def _job_rules(
    segs: pd.DataFrame, parts: pd.DataFrame, p: dict[str, Any], members: set[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The minimum-records rule and cadence per job group, then summed up per segment.

    A job group pools the requests of the candidate segments among ``members``; another
    candidate is judged as if it joined them, a segment that is no candidate on its own."""
    segs = segs.copy()
    forced_in = named_segments(segs, p["force_in"])
    forced_out = named_segments(segs, p["force_out"])
    segs["forced"] = np.where(
        segs["segment"].isin(forced_in), "in", np.where(segs["segment"].isin(forced_out), "out", "")
    )
    candidate = (
        ((segs["score"] >= p["threshold"]) | (segs["forced"] == "in"))
        & (segs["forced"] != "out")
        & segs["batch_supported"]
        & _rebuildable(segs)
    )
    info = segs[["segment", "requests", "volume_value", "forced"]].assign(candidate=candidate)
    parts = parts.merge(
        info.rename(columns={"requests": "segment_requests"}), on="segment", how="left"
    )
    parts["per_window"] = parts["volume_value"] * (parts["requests"] / parts["segment_requests"])
    # A job takes the candidate segments' rows of its group; others are judged on their own.
    cand = parts["candidate"].astype(bool)
    pool = cand & parts["segment"].isin(members)

    def group_size(column: str) -> pd.Series:
        pooled = parts[column].where(pool, 0).groupby(parts["job_group"]).transform("sum")
        return pooled.where(pool, pooled + parts[column]).where(cand, parts[column])

    parts["job_group_requests"] = group_size("requests").astype("int64")
    parts["job_group_per_window"] = group_size("per_window")
    min_rec = p["min_records_per_job"]
    parts["min_records_rule"] = np.where(
        parts["job_group_requests"] < min_rec,
        "too small for one job",
        np.where(
            parts["job_group_per_window"] < min_rec, "accumulate several windows per job", "ok"
        ),
    )
    per_day = parts["job_group_per_window"] / p["job_window_days"]
    parts["days_per_job"] = np.maximum(
        p["job_window_days"], np.ceil(min_rec / per_day.replace(0, np.nan))
    )
    small = parts["min_records_rule"] == "too small for one job"
    any_ok = (~small).groupby(parts["segment"]).transform("any")
    # a too-small group stays on demand when another group of the segment can run a job
    # (force_in too: Bedrock refuses a job under the minimum)
    parts["in_job"] = ~small | ~any_ok
    parts = parts.drop(columns=["segment_requests", "volume_value", "forced", "candidate"])

    per_seg = []
    for seg, g in parts.groupby("segment", sort=False):
        run = g[g["in_job"]]
        rule = (
            "too small for one job"
            if (run["min_records_rule"] == "too small for one job").all()
            else "accumulate several windows per job"
            if (run["min_records_rule"] == "accumulate several windows per job").any()
            else "ok"
        )
        per_seg.append(
            {
                "segment": seg,
                "job_group": "; ".join(run["job_group"]),
                "job_groups": int(len(run)),
                "job_group_requests": int(run["job_group_requests"].sum()),
                "job_group_per_window": float(run["job_group_per_window"].sum()),
                "min_records_rule": rule,
                "days_per_job": float(run["days_per_job"].max()),
            }
        )
    per_seg_columns = [
        "segment", "job_group", "job_groups", "job_group_requests", "job_group_per_window",
        "min_records_rule", "days_per_job",
    ]  # fmt: skip
    segs = segs.merge(pd.DataFrame(per_seg, columns=per_seg_columns), on="segment", how="left")
    segs = segs.fillna(
        {"job_group": "", "job_groups": 0, "job_group_requests": 0, "job_group_per_window": 0.0,
         "min_records_rule": "no request can go in a job"}
    )  # fmt: skip
    for column in ("job_groups", "job_group_requests"):
        segs[column] = segs[column].astype("int64")
    parts = parts[
        ["segment", "job_group", "region", "model_id", "requests", "job_group_requests",
         "job_group_per_window", "min_records_rule", "days_per_job", "in_job"]
    ]  # fmt: skip
    return segs, parts.reset_index(drop=True)


@dataclass(frozen=True)
class Blocker:
    """One thing that keeps a segment out of batch jobs whatever its score or force_in:
    ``text`` says it in full (the plan's ``blockers``), ``short`` names it in a few words,
    the same for every segment it blocks (to count segments by)."""

    short: str
    text: str


# Why an embedding model's segment is kept out of batch jobs whatever its batch price: a record
# is the text model's request rebuilt (its InvokeModel body, or Converse), which an embedding
# model takes neither of
EMBEDDING_NOT_BATCHED = (
    "an embedding model: batch records are written for text-generation models only (their "
    "InvokeModel body or Converse), which an embedding model does not take"
)


def segment_blockers(segs: pd.DataFrame, min_records_per_job: int) -> list[list[Blocker]]:
    """Per segment (a row of ``BatchPlan.segments``), what keeps it out of batch jobs."""
    out = []
    rebuildable = _rebuildable(segs).tolist()
    for rec, can_rebuild in zip(segs.to_dict("records"), rebuildable, strict=True):
        b = []
        if is_embedding_model(rec["model"]):
            b.append(Blocker("embedding model", EMBEDDING_NOT_BATCHED))
        elif not rec["batch_supported"]:
            b.append(Blocker("no batch price", "model has no batch price in the sheet"))
        if rec["min_records_rule"] == "too small for one job":
            b.append(
                Blocker(
                    f"fewer than {min_records_per_job:,} requests for a job",
                    f"fewer than {min_records_per_job} requests in the whole period for its "
                    "job group, with the segments that move into it",
                )
            )
        if rec["job_groups"] == 0 and rec["batch_supported"] and can_rebuild:
            b.append(
                Blocker(
                    "no request priced both ways",
                    "none of its requests can be priced both ways, so none can go in a job",
                )
            )
        if not can_rebuild:
            b.append(Blocker("no request a record can rebuild", _not_rebuildable(rec)))
        out.append(b)
    return out


def _decide(segs: pd.DataFrame, p: dict[str, Any]) -> pd.DataFrame:
    """Eligibility (score, blockers, force_in/out) and the move/keep decision."""
    segs = segs.copy()
    min_rec = p["min_records_per_job"]
    segs["blockers"] = ["; ".join(b.text for b in mine) for mine in segment_blockers(segs, min_rec)]
    by_score = (segs["score"] >= p["threshold"]) & (segs["blockers"] == "")
    segs["eligible"] = (
        (by_score | (segs["forced"] == "in"))
        & segs["batch_supported"]
        & (segs["forced"] != "out")
        & _rebuildable(segs)  # force_in cannot send a placeholder to a model, for text or media
        & (segs["min_records_rule"] != "too small for one job")  # nor a job Bedrock refuses
        & (segs["job_groups"] > 0)
    )
    segs["decision"] = np.where(segs["eligible"], _move_or_keep(segs), NOT_ELIGIBLE)
    return segs.sort_values(["eligible", "score"], ascending=False).reset_index(drop=True)


# why a request whose user turn sent media cannot go in a job (after "their user turn")
MEDIA_NOT_REBUILT = (
    "sent images, documents, video or audio (media_sent), which a batch record cannot carry: it "
    "holds only the last user turn, as text, with the placeholder of media sent inline (the "
    "usage table keeps no media bytes) or the JSON of media sent by reference (an S3 location "
    "or URL), which the model would answer instead"
)


def _not_rebuildable(rec: dict[str, Any]) -> str:
    """Why none of a segment's requests can be rebuilt: their user turns were not logged as
    text (none, or empty), sent media, or some of each."""
    unlogged, media = rec["unlogged_user_turns"], rec["media_user_turns"]
    if not media:
        return (
            "no request's user turn was logged as text, so none can be rebuilt (bodies over 100 KB "
            "are read only with fetch_large_bodies)"
        )
    if not unlogged:
        return f"no request can be rebuilt: every request {MEDIA_NOT_REBUILT}"
    return (
        f"no request can be rebuilt: {unlogged:,} user turns were not logged as text (bodies "
        f"over 100 KB are read only with fetch_large_bodies), {media:,} {MEDIA_NOT_REBUILT}"
    )


def _move_or_keep(segs: pd.DataFrame) -> np.ndarray:
    """Per segment, were it eligible: move when batch saves net of the cache saving given up;
    else keep caching when batch alone would save (the cache saving outweighs it), or keep
    because batch is no cheaper than on demand even without caching."""
    net = segs["net_saving_usd"].fillna(0.0)
    gross = segs["gross_batch_saving_usd"].fillna(0.0)
    return np.where(net > 0, MOVE, np.where(gross > 0, KEEP_CACHING, BATCH_NO_CHEAPER))


def _prices_used(catalog: Any, usage: pd.DataFrame) -> pd.DataFrame:
    """The sheet rows behind the eligible traffic's prices (on-demand and batch)."""
    cols = [
        "model", "region", "geo", "input_per_1k", "output_per_1k", "cache_read_per_1k",
        "cache_write_5m_per_1k", "batch_input_per_1k", "batch_output_per_1k", "supports_batch",
        "source", "as_of",
    ]  # fmt: skip
    keys = usage[["model", "region", "geo"]].astype("string").dropna(subset=["model"])
    out = []
    for model, region, geo in keys.drop_duplicates().itertuples(index=False):
        try:
            rate = catalog.rate(model, region=region, geo=geo if pd.notna(geo) else "none")
        except KeyError:
            continue
        out.append({"model": model, "region": region, "geo": geo} | {c: rate[c] for c in cols[3:]})
    return pd.DataFrame(out, columns=cols)


def prices_per_million(prices: pd.DataFrame) -> pd.DataFrame:
    """The prices-used table in USD per 1M tokens (how AWS publishes them), for display:
    ``X_per_1k`` columns become ``X_usd_per_1m`` text (:func:`price_display.per_1m`)."""
    from bedrock_finops.price_display import per_1m

    return per_1m(prices)


def _notes(segs: pd.DataFrame, parts: pd.DataFrame) -> list[str]:
    notes = [
        "Batch jobs return results asynchronously (AWS targets completion within the job "
        "timeout, 24-168 hours); only traffic whose caller does not wait for the answer moves.",
        "Batch and prompt caching do not combine: segments that cache today give that saving "
        "up, and it is netted out of their batch saving.",
    ]
    keep = segs[segs["decision"] == KEEP_CACHING]
    for rec in keep.to_dict("records"):
        notes.append(
            f"{rec['app']} ({rec['segment']}) is eligible but stays on demand: its cache saving "
            f"{usd(rec['cache_given_up_usd'])} is at least the batch saving "
            f"{usd(rec['gross_batch_saving_usd'])}."
        )
    for rec in segs[segs["decision"] == BATCH_NO_CHEAPER].to_dict("records"):
        notes.append(
            f"{rec['app']} ({rec['segment']}) is eligible but stays on demand: at these prices "
            f"its batch cost {usd(rec['batch_usd'])} is no less than its on-demand cost without "
            f"caching {usd(rec['uncached_usd'])}."
        )
    partly = segs["eligible"] & segs["unlogged_user_turns"].between(1, segs["requests"] - 1)
    for rec in segs[partly].to_dict("records"):
        notes.append(
            f"{rec['app']} ({rec['segment']}): {rec['unlogged_user_turns']:,} of its requests "
            "stay on demand: their user turn was not logged as text, so they cannot be rebuilt "
            "(bodies over 100 KB are read only with fetch_large_bodies; not counted in the "
            "saving)."
        )
    with_media = segs["eligible"] & (segs["media_user_turns"] > 0)  # eligible: not all
    for rec in segs[with_media].to_dict("records"):
        notes.append(
            f"{rec['app']} ({rec['segment']}): {rec['media_user_turns']:,} of its requests stay "
            f"on demand: they {MEDIA_NOT_REBUILT} (not counted in the saving)."
        )
    for rec in segs[(segs["forced"] == "in") & ~segs["batch_supported"]].to_dict("records"):
        why = "is an embedding model" if is_embedding_model(rec["model"]) else "has no batch price"
        notes.append(f"force_in {rec['segment']} ignored: its model {why}.")
    elig = set(segs.loc[segs["eligible"], "segment"])
    for part in parts[~parts["in_job"] & parts["segment"].isin(elig)].to_dict("records"):
        notes.append(
            f"{part['segment']}: its {part['requests']:,} requests in {part['region']} on "
            f"{part['model_id']} stay on demand: {part['job_group_requests']:,} in the whole "
            "period is too few for one batch job there (not counted in the saving)."
        )
    return notes


def analyze(
    usage: pd.DataFrame, catalog: Any, *, prompts: pd.DataFrame | None = None, **params: Any
) -> Findings:
    """Batch-inference findings for a usage table (see the module docstring for the steps)."""
    return to_findings(plan(usage, catalog, prompts=prompts, **params))


# ---------------------------------------------------------------------------------------------
# Export


JOB_COLUMNS = [
    "job_group", "app", "segments", "job_name", "region", "model_id", "invocation_type", "records",
    "files", "bytes", "below_min_records", "placeholder_user_text", "media_user_turns",
    "missing_template_text", "directory",
]  # fmt: skip


def export_jobs(
    bp: BatchPlan,
    usage: pd.DataFrame,
    prompts: pd.DataFrame | None,
    out_dir: str | Path,
    *,
    role_arn: str,
    s3_prefix: str,
    quotas: bj.BatchQuotas | None = None,
    timeout_hours: int = 24,
    segments: list[str] | None = None,
    user_text: pd.Series | ParquetColumn | None = None,
) -> pd.DataFrame:
    """Write ready batch jobs per job group (app x Region x model ID as logged) of the moved
    segments (or of the ``segments`` given); one row per job. Each job is for one Region and
    one model ID: its ``job.json`` records the Region to submit it in.

    Prompts are rebuilt from the template text and ``user_text`` (full bodies are not kept).
    As the plan does, the export leaves out requests whose user turn was not logged or sent
    media, inline or by reference (a record carries the turn as text only); the table still
    counts records written with a placeholder user turn (``placeholder_user_text``) or from
    a turn that sent media (``media_user_turns``), which batch-export would hold back.
    ``user_text``: as in :func:`plan`.
    """
    texts = user_turns(usage, user_text)
    quotas = quotas or bj.BatchQuotas(min_records_per_job=bp.params["min_records_per_job"])
    chosen = bp.moved if segments is None else bp.segments[bp.segments["segment"].isin(segments)]
    seg_ids = seg_mod.row_segments(usage).astype(str)
    groups = job_groups_of(usage).astype(str)
    parts = bp.job_parts
    take = parts[parts["segment"].isin(set(chosen["segment"])) & parts["in_job"]]
    wanted = pd.MultiIndex.from_frame(take[["segment", "job_group"]])
    # as the plan: what no job takes (a turn not logged or with media, a request not priced
    # both ways)
    left_out = bp.left_out
    if left_out is None or len(left_out) != len(usage):
        raise ValueError(
            f"the plan was made from {0 if left_out is None else len(left_out):,} usage rows "
            f"and usage has {len(usage):,}: export with the usage table the plan was made from"
        )
    in_job = pd.MultiIndex.from_arrays([seg_ids, groups]).isin(wanted) & ~left_out
    group_rows = seg_mod.row_positions(groups)
    # what a record is built from; the user turns come from one pass over their column
    export_view = usage[
        [c for c in batch_records.RECORD_COLUMNS if c in usage.columns and c != "user_text"]
    ]
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    groups: list[tuple[str, pd.DataFrame, np.ndarray, batch_records.RecordBuilder]] = []
    out = []
    try:
        for group, members in take.groupby("job_group", sort=False):
            at = group_rows[group]
            at = at[in_job[at]]
            # each group's records go to a spool file of its own, split into jobs from there
            spool = batch_records.new_spool(Path(out_dir))
            builder = batch_records.RecordBuilder(export_view.iloc[at], prompts, spool=spool)
            groups.append((group, members, at, builder))
        _build_records(texts, groups)
        for group, members, _, builder in groups:
            records = builder.finish()
            region, model_id = members["region"].iat[0], members["model_id"].iat[0]  # one each
            jobs = bj.export_segment(
                records,
                Path(out_dir),
                segment=group,
                model_id=model_id,
                role_arn=role_arn,
                s3_prefix=s3_prefix,
                quotas=quotas,
                timeout_hours=timeout_hours,
                tags={"bedrock-finops:job-group": bj.tag_value(group)},
                region=region,
            )
            for job in jobs:
                out.append(
                    {
                        "job_group": group,
                        "app": str(builder.rows["app"].iat[0]),
                        "segments": int(members["segment"].nunique()),
                        "job_name": job.name,
                        "region": region,
                        "model_id": model_id,
                        "invocation_type": records.style,
                        "records": job.records,
                        "files": len(job.files),
                        "bytes": job.bytes,
                        "below_min_records": job.below_min_records,
                        "placeholder_user_text": records.missing_user_text,
                        "media_user_turns": records.media_user_turns,
                        "missing_template_text": records.missing_system_text,
                        "directory": str(job.directory),
                    }
                )
    finally:
        for *_, builder in groups:
            if builder.out.spool is not None:
                builder.out.spool.unlink(missing_ok=True)
    return pd.DataFrame(out, columns=JOB_COLUMNS)  # the columns even when no job is written


def _build_records(
    texts: pd.Series | ParquetColumn,
    groups: list[tuple[str, pd.DataFrame, np.ndarray, batch_records.RecordBuilder]],
) -> None:
    """Build every job group's records in one pass over the user turns, a part at a time
    (a row group of the file, or a chunk of the column): each part is read once, whatever
    the number of groups, and only one part is in memory."""
    for lo, hi, part in text_parts(texts):
        for _, _, at, builder in groups:
            stop = int(np.searchsorted(at, hi))  # the group's rows (ascending) below ``hi``
            if stop > builder.done:
                mine = at[builder.done : stop] - lo
                builder.add(stop, pd.arrays.ArrowExtensionArray(part.take(pa.array(mine))))
