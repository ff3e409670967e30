"""Model sizing: a segment's own requests re-priced on a candidate model.

The candidate bills the same work differently: its tokenizer may count the text in more or
fewer tokens, and cached prefixes stay cached only where it supports caching and the prefix
meets its minimum. ``choose_candidate`` picks the model of the target tier that costs least on
the segment's own requests, and only one that costs less than today and takes every kind of
media the segment's requests send (``model_sizing_media``); ``prices_used`` lists the catalog
rates the figures rest on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops.models import known_models, media_not_taken
from bedrock_finops.strategies.model_sizing_media import left_out_reason
from bedrock_finops.tokens import UnknownTokenizerRatio, tokenizer_ratio


def adapt_tokens(
    seg_usage: pd.DataFrame,
    current: str,
    candidate: str,
    catalog: Any,
    ratios: dict[str, float],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The segment's usage as the candidate would bill it: tokenizer scaling, cache treatment.

    Cached prefixes (cache read + write of a request) stay cached when the candidate supports
    caching and the prefix is at least its ``min_cache_tokens``; otherwise those tokens are
    billed as uncached input. Returns the adapted usage and what was done.
    """
    models = known_models()
    ratio = tokenizer_ratio(models[current].tokenizer, models[candidate].tokenizer, ratios)
    out = seg_usage.copy()
    cols = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]
    if ratio != 1.0:
        for c in cols:
            out[c] = np.round(out[c].astype("float64") * ratio).astype("int64")
    prefix = out["cache_read_tokens"].astype("int64") + out["cache_write_tokens"].astype("int64")
    cached = prefix > 0
    uncache = pd.Series(False, index=out.index)
    supports: dict[str, Any] = {}
    if cached.any():
        keys = out.loc[cached, ["region", "geo", "service_tier"]].astype("string").fillna("")
        for (region, geo, tier), idx in keys.groupby(
            ["region", "geo", "service_tier"], sort=False
        ).groups.items():
            rate = _rate_or_none(catalog, candidate, region, geo or "none", tier or "default")
            ok = rate is not None and _flag(rate.get("supports_caching"))
            min_raw = rate.get("min_cache_tokens") if rate is not None else None
            min_tokens = 0.0 if min_raw is None or pd.isna(min_raw) else float(min_raw)
            supports[f"{region}/{geo}/{tier}"] = {
                "supports_caching": ok,
                "min_cache_tokens": int(min_tokens),
            }
            uncache.loc[idx] = (not ok) | (prefix.loc[idx] < min_tokens)
    moved = uncache & cached
    moved_tokens = int(prefix[moved].sum())
    out.loc[moved, "input_tokens"] = out.loc[moved, "input_tokens"] + prefix[moved]
    out.loc[moved, ["cache_read_tokens", "cache_write_tokens"]] = 0
    info = {
        "tokenizer_ratio": round(ratio, 4),
        "tokenizer_from": models[current].tokenizer,
        "tokenizer_to": models[candidate].tokenizer,
        "cached_requests": int(cached.sum()),
        "cache_kept_requests": int((cached & ~uncache).sum()),
        "cache_to_input_requests": int(moved.sum()),
        "cache_to_input_tokens": moved_tokens,
        "candidate_caching": supports,
    }
    return out, info


def _flag(value: Any) -> bool:
    return False if value is None or pd.isna(value) else bool(value)


def _rate_or_none(catalog: Any, model: str, region: str, geo: str, tier: str) -> pd.Series | None:
    try:
        rate = catalog.rate(model, region=region, geo=geo, service_tier=tier)
    except (KeyError, LookupError, ValueError):
        return None
    return rate


def price_on(
    seg_usage: pd.DataFrame, current: str, candidate: str, catalog: Any, ratios: dict[str, float]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Re-price a segment's own requests on ``candidate`` with the cost engine."""
    adapted, info = adapt_tokens(seg_usage, current, candidate, catalog, ratios)
    priced = catalog.price(adapted, model=candidate)
    return priced, info


def choose_candidate(
    seg_usage: pd.DataFrame,
    current: str,
    target_tier: str,
    catalog: Any,
    params: dict[str, Any],
    current_usd: float,
    media: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Cheapest model of ``target_tier`` that costs less than today (``current_usd``) on the
    segment's own requests and takes every kind of ``media`` they send: same provider first,
    then (optionally) others.

    Each candidate is compared by its cost on these requests as it would bill them (tokenizer
    ratio, its cache rules), not by its list price. Returns ``{candidate, priced, info, tried,
    cost, cheapest, left_out}``; ``candidate`` is None when no candidate takes the media, is
    priced for every request of the segment and is cheaper than today (``tried`` says what
    each would cost, or why it was ruled out; ``cheapest``, the cheapest priced one that is
    not cheaper, as ``{candidate, cost, info}``), and when ``seg_usage`` has no rows: a
    candidate priced on no request would cost $0. ``left_out``: the candidates ruled out for
    the media, in the order tried.
    """
    none = {"candidate": None, "priced": None, "info": {}, "tried": {}, "cost": None}
    if seg_usage.empty:
        return {**none, "cheapest": None, "left_out": []}
    models = known_models()
    provider = models[current].provider
    own = list(params["candidates"].get(provider, {}).get(target_tier, []))
    others = [
        k
        for prov, tiers in params["candidates"].items()
        if prov != provider
        for k in tiers.get(target_tier, [])
    ]
    tried: dict[str, str] = {}
    left_out: list[str] = []
    cheapest = None  # the cheapest priced candidate, cheaper than today or not
    for group in (own, others if params["cross_provider"] else []):
        best = None
        for cand in group:
            if cand == current:
                continue
            missing = media_not_taken(cand, media)
            if missing:  # it would refuse the requests: never priced, never proposed
                tried[cand] = left_out_reason(cand, missing)
                left_out.append(cand)
                continue
            try:
                priced, info = price_on(
                    seg_usage, current, cand, catalog, params["tokenizer_ratios"]
                )
            except UnknownTokenizerRatio as exc:
                tried[cand] = f"not compared: {exc}"
                continue
            if not bool(priced["priced"].all()):
                reasons = priced.loc[~priced["priced"].astype(bool), "unpriced_reason"]
                tried[cand] = f"not priced: {reasons.astype(str).iloc[0]}"
                continue
            cost = float(priced["cost_usd"].sum())
            tried[cand] = usd(cost, current_usd)
            if cheapest is None or cost < cheapest["cost"]:
                cheapest = {"candidate": cand, "cost": cost, "info": info}
            if cost >= current_usd:
                tried[cand] += f", not cheaper than today's {usd(current_usd, cost)}"
                continue
            if best is None or cost < best["cost"]:
                best = {"candidate": cand, "priced": priced, "info": info, "cost": cost}
        if best is not None:
            best["tried"] = tried
            best["cross_provider"] = group is others
            best["left_out"] = left_out
            return best
    return {**none, "tried": tried, "cheapest": cheapest, "left_out": left_out}


def usd(amount: float, *compared: float) -> str:
    """A dollar amount as the reasons show it: to the cent when it and the amounts it is
    compared with are $1 or more, else to four decimals, so two amounts read alike."""
    cents = min(abs(a) for a in (amount, *compared)) >= 1
    return f"${amount:,.2f}" if cents else f"${amount:,.4f}"


def prices_used(usage: pd.DataFrame, segs: pd.DataFrame, catalog: Any) -> pd.DataFrame:
    """Every rate the figures rest on: current and candidate model per region/geo/tier."""
    rows = []
    keys = usage[["model", "region", "geo", "service_tier"]].astype("string").drop_duplicates()
    cand_by_model = segs.dropna(subset=["candidate"]).groupby("model")["candidate"].unique()
    seen = set()
    for _, k in keys.dropna(subset=["model"]).iterrows():
        models = [k["model"], *cand_by_model.get(k["model"], [])]
        for m in models:
            key = (m, k["region"], k["geo"] or "none", k["service_tier"] or "default")
            if key in seen:
                continue
            seen.add(key)
            rate = _rate_or_none(catalog, *key)
            if rate is None:
                continue
            rows.append(
                {"model": m, "region": key[1], "geo": key[2], "service_tier": key[3]}
                | {
                    c: rate.get(c)
                    for c in (
                        "input_per_1k",
                        "output_per_1k",
                        "cache_write_5m_per_1k",
                        "cache_read_per_1k",
                        "min_cache_tokens",
                        "supports_caching",
                        "source",
                        "as_of",
                    )
                }
            )
    return pd.DataFrame(rows)
