"""Model sizing's settings: the tiers, the source article's task-to-tier table, the candidate
models per provider, the segment statuses, and ``validate_params``, which checks a run's
parameters against them (errors name the key and the valid choices); ``check_settings`` is
its part that needs no traffic, run before a run reads any logs.
"""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd

from bedrock_finops import task_types as tt
from bedrock_finops.models import known_models
from bedrock_finops.strategies import merge_params
from bedrock_finops.tokens import TOKENIZER_RATIOS
from bedrock_finops.user_yaml import as_written, bool_note, item_problem, value_kind

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
# Statuses whose candidate a gateway should call. Only a passed quality gate routes traffic:
# a pending or rejected segment keeps its current model (its candidate is shown, not called).
ROUTED = (ACCEPTED,)

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


def validate_params(params: dict[str, Any], segments: pd.DataFrame) -> dict[str, Any]:
    """Merge params over the defaults and check them; errors name the key and valid choices."""
    p = check_settings(params)
    tt.check_overrides(p["task_overrides"], segments)
    return p


def check_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The part of :func:`validate_params` that needs no traffic (all but the apps and
    segments ``task_overrides`` names), so a params file is checked before a run reads logs."""
    p = merge_params(STRATEGY, DEFAULT_PARAMS, params)
    check_tier_names(p["tier_map"])
    tier_map = {**DEFAULT_TIER_MAP, **(p["tier_map"] or {})}
    bad = {k: v for k, v in tier_map.items() if k not in tt.TASK_TYPES or v not in TIERS}
    if bad:
        raise ValueError(
            f"tier_map entries {bad} are invalid: keys must be task types {list(tt.TASK_TYPES)} "
            f"and values tiers {list(TIERS)}"
        )
    p["tier_map"] = tier_map
    models = known_models()
    cands = {prov: dict(tiers) for prov, tiers in DEFAULT_CANDIDATES.items()}
    for prov, tiers in (p["candidates"] or {}).items():
        check_candidate_tiers(prov, tiers, models)
        cands.setdefault(prov, {}).update(tiers)
    for prov, tiers in cands.items():
        for tier, keys in tiers.items():
            wrong = [k for k in keys if not isinstance(k, str) or k not in models]
            if wrong:
                raise ValueError(
                    f"candidates[{prov!r}][{tier!r}] names unknown models {wrong}; "
                    f"known: {sorted(models)}"
                )
            check_text_models(prov, tier, keys, models)
    p["candidates"] = cands
    ratios = {**TOKENIZER_RATIOS, **(p["tokenizer_ratios"] or {})}
    tokenizers = sorted({*TOKENIZER_RATIOS, *(m.tokenizer for m in models.values())})
    for family, ratio in ratios.items():
        if family not in tokenizers:
            raise ValueError(
                f"tokenizer_ratios names the tokenizer {family!r}; the catalog's: {tokenizers}"
            )
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < 10:
            raise ValueError(
                f"tokenizer_ratios[{family!r}] {ratio!r} must be tokens per Anthropic token, a "
                "positive number such as 0.85"
            )
    p["tokenizer_ratios"] = {family: float(ratio) for family, ratio in ratios.items()}
    if p["min_confidence"] not in CONFIDENCE_RANK:
        raise ValueError(
            f"min_confidence {p['min_confidence']!r} must be one of {list(CONFIDENCE_RANK)}"
        )
    thr = float(p["quality_threshold"])
    if not 0 < thr <= 1.5:
        raise ValueError(f"quality_threshold {thr} should be a ratio such as 0.9 (90%)")
    p["quality_threshold"] = thr
    check_override_names(p["task_overrides"])
    tt.check_override_types(p["task_overrides"])
    p["task_overrides"] = dict(p["task_overrides"] or {})
    return p


def check_candidate_tiers(provider: Any, tiers: Any, models: dict[str, Any]) -> None:
    """One provider's entry of ``candidates``: a provider the catalog knows (a misspelt one
    would be kept and never used, as a segment's provider is the catalog's), mapping tiers to
    lists of model keys."""
    providers = sorted({m.provider for m in models.values()})
    if provider not in providers:
        close = difflib.get_close_matches(str(provider).lower(), providers, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"candidates names the provider {provider!r}, which the catalog does not know; "
            f"{hint}known providers: {providers}"
        )
    if not isinstance(tiers, dict):
        raise ValueError(f"candidates[{provider!r}] must map tiers {list(TIERS)} to model lists")
    for tier, keys in tiers.items():
        if tier not in TIERS:
            raise ValueError(f"candidates[{provider!r}] has tier {tier!r}; valid: {list(TIERS)}")
        if not isinstance(keys, list):
            raise ValueError(
                f"candidates[{provider!r}][{tier!r}] must be a list of model keys, "
                + _list_fix(tier, keys)
            )
        for index, key in enumerate(keys):
            if not isinstance(key, str):
                where = f"candidates[{provider!r}][{tier!r}]"
                example = f"{tier}: [MODEL_KEY, ...]"
                raise ValueError(item_problem(where, index, key, "a model key", example))


def check_text_models(provider: str, tier: str, keys: list[str], models: dict[str, Any]) -> None:
    """A candidate is a text model: an embedding model (models.csv ``output_modalities``)
    returns vectors, not the text a segment's callers read, though it would price its input
    below any text model's."""
    embedding = [k for k in keys if models[k].is_embedding]
    if embedding:
        raise ValueError(
            f"candidates[{provider!r}][{tier!r}] names embedding models {embedding}: they "
            "return embeddings, not text, so no segment can move to one; list text models"
        )


def check_tier_names(tier_map: Any) -> None:
    """Each tier ``tier_map`` gives a string: a list or a mapping there is named as such,
    with the tiers to choose from (the check of the entries lists the valid task types)."""
    for task, tier in (tier_map if isinstance(tier_map, dict) else {}).items():
        if not isinstance(tier, str):
            raise ValueError(
                f"tier_map[{task!r}] is {value_kind(tier)}, not a tier; give one of "
                f"{list(TIERS)}: {task}: {TIERS[0]}"
            )


def check_override_names(overrides: Any) -> None:
    """Each key of ``task_overrides`` (an app or segment id) and each value (a task type) a
    string: YAML reads a key ``2024`` as a number, which no app's name would ever equal, so the
    run would fail on it only after the ingest, in the notebook."""
    for key, value in (overrides if isinstance(overrides, dict) else {}).items():
        if not isinstance(key, str):
            raise ValueError(
                f"task_overrides key {key!r} is {value_kind(key)}, not an app or segment id; "
                f"write it in quotes, as the file spells it ('{as_written(key)}': {value})"
                f"{bool_note(key)}"
            )
        if not isinstance(value, str):
            raise ValueError(
                f"task_overrides[{key!r}] is {value_kind(value)}, not a task type; give one "
                f"of {list(tt.TASK_TYPES)}: {key}: {tt.TASK_TYPES[0]}"
            )


def _list_fix(tier: str, value: Any) -> str:
    """What a tier was given instead of a list, and the list to write."""
    if isinstance(value, str) and value.strip():
        return f"got the string {value!r}; write it in brackets: {tier}: [{value.strip()}]"
    got = "no value" if value is None else f"{type(value).__name__} {value!r}"
    return f"got {got}; write {tier}: [MODEL_KEY, ...] ([] for none)"
