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
import pyarrow as pa
from pandas.arrays import ArrowExtensionArray

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


NO_TEMPLATE = "none"  # the template of requests without a system prompt


def segment_keys(usage: pd.DataFrame) -> pd.DataFrame:
    """The three segment key columns for each usage row (nulls spelled out)."""
    return pd.DataFrame(
        {
            "app": usage["app"].astype("string").fillna(UNKNOWN_APP),
            "template": usage["system_hash"].astype("string").fillna(NO_TEMPLATE),
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

    Each column is computed for all segments at once (:class:`_SegmentRows`): a Python
    function per segment and column was about half of model sizing's time at 2,000 segments.
    The figures are the same to the last bit as ``np.percentile`` and ``Series.sum`` give.
    """
    frame = _segment_rows(usage, costs)
    if frame.empty:
        return _empty_summary()
    grouped = frame.groupby(SEGMENT_KEYS, sort=False, dropna=False)
    builtin = grouped.agg(
        requests=("input_tokens", "size"),
        input_tokens=("input_tokens", "sum"),
        cache_read_tokens=("cache_read_tokens", "sum"),
        cache_write_tokens=("cache_write_tokens", "sum"),
        output_tokens=("output_tokens", "sum"),
        output_tokens_p50=("output_tokens", "median"),
        streaming_share=("streaming", "mean"),
        max_tokens_stop_share=("hit_max_tokens", "mean"),
        weekend_share=("weekend", "mean"),
    ).reset_index()
    rows = _SegmentRows(grouped.ngroup().to_numpy(), builtin["requests"].to_numpy())
    cost = frame["cost_usd"].to_numpy()
    out = pd.DataFrame(
        {
            **{name: builtin[name] for name in [*SEGMENT_KEYS, *VOLUME_COLUMNS]},
            "output_tokens_p95": rows.percentile(frame["output_tokens"].to_numpy(), 95),
            "streaming_share": builtin["streaming_share"],
            "max_tokens_stop_share": builtin["max_tokens_stop_share"],
            "cost_usd": rows.priced_sum(cost),
            "unpriced_requests": rows.count(np.isnan(cost)),
            "active_hours": pd.Series(rows.distinct(frame["hour"]), dtype=object),
            "weekend_share": builtin["weekend_share"],
            "operation": rows.mode(frame["operation"]),
            "identity_arns": ArrowExtensionArray(
                pa.array(rows.distinct(frame["identity_arn"]), from_pandas=True)
            ),
        }
    )
    for shape, share in rows.shares(frame["output_shape"]).items():
        out[f"shape_{shape}"] = share
    out["segment"] = [segment_id(*k) for k in _key_tuples(out)]
    out["input_tokens_mean"] = total_input_tokens(out) / out["requests"]
    out["output_tokens_mean"] = out["output_tokens"] / out["requests"]
    return out.sort_values("cost_usd", ascending=False, na_position="last").reset_index(drop=True)


# summarise's columns before its per-segment figures: volumes and the median output
VOLUME_COLUMNS = [
    "requests",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "output_tokens_p50",
]


def _segment_rows(usage: pd.DataFrame, costs: pd.Series | None) -> pd.DataFrame:
    """The usage columns :func:`summarise` aggregates, one row per usage row, with its
    segment keys."""
    keys = segment_keys(usage)
    return pd.DataFrame(
        {
            **{k: keys[k] for k in SEGMENT_KEYS},
            "input_tokens": usage["input_tokens"].astype("int64"),
            "cache_read_tokens": usage["cache_read_tokens"].astype("int64"),
            "cache_write_tokens": usage["cache_write_tokens"].astype("int64"),
            "output_tokens": usage["output_tokens"].astype("int64"),
            "streaming": usage["streaming"].astype("boolean").fillna(False).astype(bool),
            "hit_max_tokens": hit_output_limit(usage["stop_reason"]),
            "hour": usage["timestamp"].dt.hour.astype("int64"),
            "weekend": usage["timestamp"].dt.day_of_week.astype("int64") >= 5,
            "output_shape": usage["output_shape"].astype("string").fillna("unknown"),
            "operation": usage["operation"].astype("string"),
            "identity_arn": principals(usage["identity_arn"]),
            "cost_usd": (costs.astype("float64") if costs is not None else np.nan),
        },
        index=usage.index,
    )


# The columns of a usage table without rows, in the dtypes the first, one-function-per-segment
# summarise gave them (an aggregation of no rows kept the dtype of the column it read).
_EMPTY_SUMMARY_DTYPES = {
    **dict.fromkeys(SEGMENT_KEYS, "string"),
    **dict.fromkeys(VOLUME_COLUMNS[:-1], "int64"),
    "output_tokens_p50": "float64",
    "output_tokens_p95": "int64",
    "streaming_share": "float64",
    "max_tokens_stop_share": "float64",
    "cost_usd": "float64",
    "unpriced_requests": "float64",
    "active_hours": "int64",
    "weekend_share": "int64",
    "operation": "string",
    "identity_arns": "string",
    "segment": "float64",
    "input_tokens_mean": "float64",
    "output_tokens_mean": "float64",
}


def _empty_summary() -> pd.DataFrame:
    """:func:`summarise` of a usage table without rows: its columns, no rows."""
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype) for name, dtype in _EMPTY_SUMMARY_DTYPES.items()}
    )


class _SegmentRows:
    """Per-segment figures for all segments at once, from each row's segment number
    (``codes``: 0, 1, ... in order of first appearance, as the groupby numbers them) and each
    segment's row count (``sizes``)."""

    def __init__(self, codes: np.ndarray, sizes: np.ndarray) -> None:
        self.codes = codes
        self.sizes = sizes
        self.ends = np.cumsum(sizes)
        self.starts = self.ends - sizes

    def count(self, flags: np.ndarray) -> np.ndarray:
        """How many rows of each segment are flagged."""
        return np.bincount(self.codes[flags], minlength=len(self.sizes)).astype(np.int64)

    def priced_sum(self, cost: np.ndarray) -> np.ndarray:
        """Each segment's cost, its unpriced (NaN) rows left out; NaN when none is priced.

        Summed a segment at a time by ``ndarray.sum``, as ``Series.sum`` adds them (numpy
        adds in blocks, so one running sum over all rows would differ in the last digits)."""
        by_segment = np.argsort(self.codes, kind="stable")  # row order kept within one
        filled = np.nan_to_num(cost[by_segment], nan=0.0)
        sums = np.array(
            [
                filled[a:b].sum()
                for a, b in zip(self.starts.tolist(), self.ends.tolist(), strict=True)
            ],
            dtype="float64",
        )
        return np.where(self.count(~np.isnan(cost)) > 0, sums, np.nan)

    def percentile(self, values: np.ndarray, q: float) -> np.ndarray:
        """Each segment's ``np.percentile(values, q)`` (linear interpolation), in numpy's own
        steps (``_quantile``, ``_lerp``) so each figure is the same to the last bit."""
        ordered = values[np.lexsort((values, self.codes))]
        last = self.sizes - 1
        position = last * np.true_divide(q, 100)
        below = np.floor(position)
        at_end = position >= last
        lower = np.where(at_end, last, below.astype(np.intp))
        upper = np.where(at_end, last, lower + 1)
        weight = position - np.where(at_end, -1.0, below)  # numpy's gamma (1 at the end)
        low, high = ordered[self.starts + lower], ordered[self.starts + upper]
        step = high - low
        return np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)

    def distinct(self, values: pd.Series) -> list[list]:
        """Each segment's distinct non-null values in ascending order (what ``sorted(set())``
        of its values gives), from one sort of the (segment, value) pairs."""
        pairs, width, ascending = self._value_pairs(values)
        pairs = np.unique(pairs)
        listed = ascending.take(pairs % width).tolist()
        bounds = np.searchsorted(pairs // width, np.arange(len(self.sizes) + 1)).tolist()
        return [listed[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def mode(self, values: pd.Series) -> pd.api.extensions.ExtensionArray:
        """Each segment's most frequent non-null value, the smallest on a tie (what
        ``Series.mode().iat[0]`` gives); NA for a segment with none."""
        pairs, width, ascending = self._value_pairs(values)
        pairs, counts = np.unique(pairs, return_counts=True)  # by segment, then value
        segment = pairs // width
        best = np.lexsort((-counts, segment))  # stable: equal counts stay smallest value first
        first = best[np.flatnonzero(np.diff(segment[best], prepend=-1))]  # each segment's best
        chosen = np.full(len(self.sizes), -1, dtype=np.intp)
        chosen[segment[first]] = pairs[first] % width
        return ascending.array.take(chosen, allow_fill=True)

    def shares(self, values: pd.Series) -> dict[Any, np.ndarray]:
        """``{value: each segment's share of rows with it}``, values in ascending order (what
        ``pd.crosstab(segment, values, normalize="index")`` gives)."""
        pairs, width, ascending = self._value_pairs(values)
        counts = np.bincount(pairs, minlength=len(self.sizes) * width)
        by_segment = counts.reshape(len(self.sizes), width)
        return {value: by_segment[:, i] / self.sizes for i, value in enumerate(ascending.tolist())}

    def _value_pairs(self, values: pd.Series) -> tuple[np.ndarray, int, pd.Index]:
        """(segment, value) of each non-null value as one number, ``segment * width + rank``
        (the value's rank among the distinct values), so sorting the numbers sorts by segment,
        then value; with ``width`` and the distinct values in ascending order."""
        present = values.notna().to_numpy()
        row_codes, uniques = pd.factorize(values[present])
        listed = uniques.tolist()
        ascending = sorted(range(len(listed)), key=listed.__getitem__)  # Python's order
        rank = np.empty(len(ascending), dtype=np.int64)
        rank[ascending] = np.arange(len(ascending))
        width = max(len(listed), 1)
        return self.codes[present] * width + rank[row_codes], width, uniques.take(ascending)


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
