"""Traffic segments: (app, prompt template, model), the unit most strategies reason about.

A prompt template is identified by the hash of its system prompt (``system_hash``); rows
without a system prompt share the template ``"none"``. ``summarise`` turns the usage table
(and, when given, its priced costs) into one row per segment with the evidence strategies show:
volumes, token shape, output shapes, stop reasons, timing and callers (``identity_arns``: the
principals, roles without their session names).
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops.app_attribution import UNKNOWN_APP, principal_arn
from bedrock_finops.schema import total_input_tokens
from bedrock_finops.top_groups import counted

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


NAMES_SHOWN = 5  # unknown names an error names (and suggests for) before "and M more"
APPS_NAMED = 10  # a run with at most this many apps has them named in the error too


def unknown_names(names: Iterable[str], segments: pd.DataFrame) -> list[str]:
    """The names that are neither an app nor a segment id of ``segments``. Looked up in a
    set: a list of 10,000 segment ids checked against 10,000 took seconds in lists."""
    known = set(segments["app"].astype(str)) | set(segments["segment"].astype(str))
    return [name for name in names if name not in known]


def unknown_names_error(
    key: str, unknown: list[str], segments: pd.DataFrame, listed_in: str
) -> str:
    """One line for a setting naming apps or segment ids a run does not have: the names (at
    most :data:`NAMES_SHOWN`), the closest the run has to each, how many apps and segments
    it has (its apps by name when they are few) and where they are listed; not every app and
    segment id, which ran to 49 KB for 1,000 apps.

    ``force_in names ['app-0001'], which is neither an app nor a segment id in this run;
    did you mean 'app-00001' or 'app-00010' for 'app-0001'? The run has 1,000 apps and
    1,000 segments, listed in <listed_in>``"""
    apps = set(segments["app"].astype(str))
    ids = set(segments["segment"].astype(str))
    shown = unknown[:NAMES_SHOWN]
    what = (
        "which is neither an app nor a segment id"
        if len(unknown) == 1
        else "which are neither apps nor segment ids"
    )
    more = f" and {len(unknown) - len(shown):,} more" if len(unknown) > len(shown) else ""
    close = _closest(shown, sorted(apps | ids))
    guess = f"; did you mean {close}?" if close else "."
    few = f" ({', '.join(map(repr, sorted(apps)))})" if len(apps) <= APPS_NAMED else ""
    return (
        f"{key} names {shown}{more}, {what} in this run{guess} The run has "
        f"{counted(len(apps), 'app')}{few} and {counted(len(ids), 'segment')}, listed in "
        f"{listed_in}"
    )


def _closest(names: list[str], choices: list[str]) -> str:
    """``'app-00001' or 'app-00010' for 'app-0001', ...``: up to three of ``choices`` close
    to each name that has any; "" when none has."""
    parts = []
    for name in names:
        close = [repr(c) for c in close_matches(name, choices)]
        if close:
            joined = close[0] if len(close) == 1 else f"{', '.join(close[:-1])} or {close[-1]}"
            parts.append(f"{joined} for {name!r}")
    return "; ".join(parts)


def close_matches(word: str, choices: list[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """``difflib.get_close_matches``, ties in alphabetical order: it breaks them the other
    way, so 'app-0001' got 'app-00901', 'app-00801' and 'app-00701' before 'app-00001'."""
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    scored = []
    for choice in choices:
        matcher.set_seq1(choice)
        if (
            matcher.real_quick_ratio() >= cutoff
            and matcher.quick_ratio() >= cutoff
            and matcher.ratio() >= cutoff
        ):
            scored.append((-matcher.ratio(), choice))
    return [choice for _, choice in sorted(scored)[:n]]


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
