"""Traffic segments: (app, prompt template, model), the unit most strategies reason about.

A prompt template is identified by the hash of its system prompt (``system_hash``); rows
without a system prompt share the template ``"none"``. ``summarise`` turns the usage table
(and, when given, its priced costs) into one row per segment with the evidence strategies show:
volumes, token shape, output shapes, stop reasons, timing and callers (``identity_arns``: the
principals, roles without their session names).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops.app_attribution import UNKNOWN_APP, principal_arn
from bedrock_finops.schema import total_input_tokens

SEGMENT_KEYS = ["app", "template", "model"]

# Stop reasons that say the answer hit the request's output limit, as each family spells
# them (the usage table keeps the logged spelling; they are compared in lower case):
#   max_tokens  Converse and ConverseStream stopReason (Bedrock API reference, StopReason);
#               Anthropic Messages and Text Completions stop_reason; Nova stopReason
#   length      Meta Llama stop_reason (model-parameters-meta.html); Mistral text and chat
#               completion stop_reason (model-parameters-mistral-*.html); AI21 Jamba,
#               OpenAI gpt-oss and other OpenAI-style chat finish_reason; DeepSeek-R1
#               stop_reason (model-parameters-deepseek.html)
#   LENGTH      Amazon Titan Text completionReason (model-parameters-titan-text.html)
#   MAX_TOKENS  Cohere Command and Command R finish_reason (model-parameters-cohere-
#               command.html, model-parameters-cohere-command-r-plus.html)
# Not counted: stops at the model's context window (Converse and Anthropic
# model_context_window_exceeded, Cohere ERROR_LIMIT): not the output limit a request sets.
OUTPUT_LIMIT_STOPS = ("length", "max_tokens")


def hit_output_limit(stop_reason: pd.Series) -> pd.Series:
    """Per row, whether the stop reason says the output limit was hit (any family's
    spelling, in any case); False where there is none."""
    lowered = stop_reason.astype("string").str.lower()
    return lowered.isin(OUTPUT_LIMIT_STOPS).fillna(False).astype(bool)


def segment_keys(usage: pd.DataFrame) -> pd.DataFrame:
    """The three segment key columns for each usage row (nulls spelled out)."""
    return pd.DataFrame(
        {
            "app": usage["app"].astype("string").fillna(UNKNOWN_APP),
            "template": usage["system_hash"].astype("string").fillna("none"),
            "model": usage["model"]
            .astype("string")
            .fillna("unknown:" + usage["model_id_raw"].astype("string"))
            .fillna("unknown"),
        },
        index=usage.index,
    )


def principals(identity_arn: pd.Series) -> pd.Series:
    """Each row's caller without its session (:func:`app_attribution.principal_arn`), so a
    role is one caller, not one per session, and no session name (an e-mail) is shown.
    Computed once per distinct ARN."""
    arns = identity_arn.astype("string")
    lookup = {arn: principal_arn(arn) for arn in arns.dropna().unique().tolist()}
    return arns.map(lookup, na_action="ignore").astype("string")


def segment_id(app: str, template: str, model: str) -> str:
    """Short stable identifier of a segment, safe for file names."""
    digest = hashlib.sha256(f"{app}|{template}|{model}".encode()).hexdigest()[:8]
    return f"{app}:{model.split('.')[-1]}:{digest}"


def summarise(usage: pd.DataFrame, costs: pd.Series | None = None) -> pd.DataFrame:
    """One row per segment with volumes, costs and the evidence columns.

    ``costs`` is the per-row ``cost_usd`` from ``PriceCatalog.price`` (aligned to usage);
    unpriced rows count as NaN and make the segment's ``unpriced_requests`` non-zero.
    """
    keys = segment_keys(usage)
    frame = pd.DataFrame(
        {
            **{k: keys[k] for k in SEGMENT_KEYS},
            "input_tokens": usage["input_tokens"].astype("int64"),
            "cache_read_tokens": usage["cache_read_tokens"].astype("int64"),
            "cache_write_tokens": usage["cache_write_tokens"].astype("int64"),
            "output_tokens": usage["output_tokens"].astype("int64"),
            "streaming": usage["streaming"].astype("boolean").fillna(False).astype(bool),
            "hit_max_tokens": hit_output_limit(usage["stop_reason"]),
            "hour": usage["timestamp"].dt.hour.astype("int64"),
            "weekday": usage["timestamp"].dt.day_of_week.astype("int64"),
            "output_shape": usage["output_shape"].astype("string").fillna("unknown"),
            "operation": usage["operation"].astype("string"),
            "identity_arn": principals(usage["identity_arn"]),
            "cost_usd": (costs.astype("float64") if costs is not None else np.nan),
        },
        index=usage.index,
    )
    grouped = frame.groupby(SEGMENT_KEYS, sort=False, dropna=False)
    out = grouped.agg(
        requests=("input_tokens", "size"),
        input_tokens=("input_tokens", "sum"),
        cache_read_tokens=("cache_read_tokens", "sum"),
        cache_write_tokens=("cache_write_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
        output_tokens_p50=("output_tokens", "median"),
        output_tokens_p95=("output_tokens", lambda s: float(np.percentile(s, 95))),
        streaming_share=("streaming", "mean"),
        max_tokens_stop_share=("hit_max_tokens", "mean"),
        cost_usd=("cost_usd", lambda s: float(s.sum(min_count=1)) if s.notna().any() else np.nan),
        unpriced_requests=("cost_usd", lambda s: int(s.isna().sum())),
        active_hours=("hour", lambda s: sorted(set(s.tolist()))),
        weekend_share=("weekday", lambda s: float((s >= 5).mean())),
        operation=("operation", lambda s: s.mode().iat[0] if len(s) else None),
        identity_arns=("identity_arn", lambda s: sorted(set(s.dropna().tolist()))),
    ).reset_index()
    shapes = pd.crosstab([frame[k] for k in SEGMENT_KEYS], frame["output_shape"], normalize="index")
    shapes.columns = [f"shape_{c}" for c in shapes.columns]
    out = out.merge(shapes.reset_index(), on=SEGMENT_KEYS, how="left")
    out["segment"] = [
        segment_id(a, t, m)
        for a, t, m in zip(out["app"], out["template"], out["model"], strict=True)
    ]
    out["input_tokens_mean"] = total_input_tokens(out) / out["requests"]
    out["output_tokens_mean"] = out["output_tokens"] / out["requests"]
    return out.sort_values("cost_usd", ascending=False, na_position="last").reset_index(drop=True)


def row_segments(usage: pd.DataFrame) -> pd.Series:
    """The segment id of every usage row (aligned to usage.index)."""
    keys = segment_keys(usage)
    uniq = keys.drop_duplicates()
    ids = {k: segment_id(*k) for k in _key_tuples(uniq)}
    return pd.Series([ids[k] for k in _key_tuples(keys)], index=usage.index, dtype="string")


def _key_tuples(keys: pd.DataFrame) -> zip:
    """(app, template, model) per row. ``tolist`` first: iterating an Arrow-backed column
    element by element costs ~1 us a value (10 s over a month of a million rows)."""
    return zip(keys["app"].tolist(), keys["template"].tolist(), keys["model"].tolist(), strict=True)


def row_positions(labels: pd.Series) -> dict[Any, np.ndarray]:
    """Each label's row positions, in row order, found in one pass.

    For code that works one segment (or job group) at a time: selecting with
    ``labels == label`` would scan every row once per label.
    """
    return labels.groupby(labels.to_numpy(), sort=False).indices


def template_texts(prompts: pd.DataFrame | None) -> dict[str, str]:
    """``{system_hash: text}`` of the prompt templates in prompts.parquet (system prompts
    only; empty when the run kept no prompt text)."""
    if prompts is None or prompts.empty or "text" not in prompts.columns:
        return {}
    rows = prompts
    if "kind" in rows.columns:
        rows = rows[rows["kind"].astype("string") == "system"]
    rows = rows.dropna(subset=["text"])
    return dict(zip(rows["hash"].astype(str), rows["text"].astype(str), strict=True))
