"""Model sizing: a segment's own requests re-priced on a candidate model.

The candidate bills the same work differently: its tokenizer may count the text in more or
fewer tokens, and cached prefixes stay cached only where it supports caching and the prefix
meets its minimum. ``choose_candidate`` picks the model of the target tier that costs least on
the segment's own requests, and only one that costs less than today and takes every kind of
media the segment's requests send (``model_sizing_media``); ``choose_for_segments`` does so for
every segment of a plan, each candidate priced once for all the segments that try it;
``prices_used`` lists the catalog rates the figures rest on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bedrock_finops import amounts
from bedrock_finops.models import known_models, media_not_taken
from bedrock_finops.strategies.model_sizing_media import left_out_reason
from bedrock_finops.tokens import UnknownTokenizerRatio, tokenizer_ratio


@dataclass(frozen=True)
class CacheRows:
    """Per row of re-priced usage, what the candidate does with its cached prefix: the
    prefix's tokens (cache read + write, after the tokenizer ratio), whether the row had one,
    whether the candidate bills it as uncached input, and the place the row is called from
    (``region/geo/tier``, its key in ``supports``: whether the candidate caches there, and
    from how many tokens)."""

    prefix: np.ndarray
    cached: np.ndarray
    moved: np.ndarray
    places: np.ndarray
    supports: dict[str, dict[str, Any]]


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
    out, rows, tokenizer = _adapt_rows(seg_usage, current, candidate, catalog, ratios)
    return out, _adapt_info(tokenizer, rows, slice(None))


def _adapt_rows(
    usage: pd.DataFrame, current: str, candidate: str, catalog: Any, ratios: dict[str, float]
) -> tuple[pd.DataFrame, CacheRows, dict[str, Any]]:
    """:func:`adapt_tokens` for rows of any number of segments of one current model: the
    adapted rows, what happened to each row's cached prefix, and the tokenizer change."""
    models = known_models()
    ratio = tokenizer_ratio(models[current].tokenizer, models[candidate].tokenizer, ratios)
    out = usage.copy()
    cols = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]
    if ratio != 1.0:
        for c in cols:
            out[c] = np.round(out[c].astype("float64") * ratio).astype("int64")
    prefix = out["cache_read_tokens"].astype("int64") + out["cache_write_tokens"].astype("int64")
    cached = (prefix > 0).to_numpy()
    uncache = np.zeros(len(out), dtype=bool)
    places = np.full(len(out), None, dtype=object)
    supports: dict[str, Any] = {}
    if cached.any():
        cached_at = np.flatnonzero(cached)
        keys = out.iloc[cached_at][["region", "geo", "service_tier"]].astype("string").fillna("")
        groups = keys.groupby(["region", "geo", "service_tier"], sort=False).indices
        # in the order the places first appear, as the info lists them
        for (region, geo, tier), idx in sorted(groups.items(), key=lambda kv: kv[1][0]):
            rate = _rate_or_none(catalog, candidate, region, geo or "none", tier or "default")
            ok = rate is not None and _flag(rate.get("supports_caching"))
            min_raw = rate.get("min_cache_tokens") if rate is not None else None
            min_tokens = 0.0 if min_raw is None or pd.isna(min_raw) else float(min_raw)
            place = f"{region}/{geo}/{tier}"
            supports[place] = {"supports_caching": ok, "min_cache_tokens": int(min_tokens)}
            at = cached_at[idx]
            uncache[at] = (not ok) | (prefix.iloc[at] < min_tokens).to_numpy()
            places[at] = place
    moved = uncache & cached
    moved_rows = pd.Series(moved, index=out.index)
    out.loc[moved_rows, "input_tokens"] = out.loc[moved_rows, "input_tokens"] + prefix[moved_rows]
    out.loc[moved_rows, ["cache_read_tokens", "cache_write_tokens"]] = 0
    tokenizer = {
        "tokenizer_ratio": round(ratio, 4),
        "tokenizer_from": models[current].tokenizer,
        "tokenizer_to": models[candidate].tokenizer,
    }
    rows = CacheRows(prefix.to_numpy(dtype="int64"), cached, moved, places, supports)
    return out, rows, tokenizer


def _adapt_info(tokenizer: dict[str, Any], rows: CacheRows, at: slice) -> dict[str, Any]:
    """What :func:`adapt_tokens` reports of the rows ``at`` (one segment's)."""
    cached, moved = rows.cached[at], rows.moved[at]
    places = dict.fromkeys(rows.places[at][cached])  # in the order they first appear
    return {
        **tokenizer,
        "cached_requests": int(cached.sum()),
        "cache_kept_requests": int((cached & ~moved).sum()),
        "cache_to_input_requests": int(moved.sum()),
        "cache_to_input_tokens": int(rows.prefix[at][moved].sum()),
        "candidate_caching": {place: dict(rows.supports[place]) for place in places},
    }


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


Pricer = Callable[[str], tuple[pd.DataFrame, dict[str, Any]]]  # candidate -> price_on's answer


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
    if seg_usage.empty:
        return {**_NO_CANDIDATE, "cheapest": None, "left_out": []}

    def price(cand: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        return price_on(seg_usage, current, cand, catalog, params["tokenizer_ratios"])

    return choose_among(price, current, target_tier, params, current_usd, media)


_NO_CANDIDATE = {"candidate": None, "priced": None, "info": {}, "tried": {}, "cost": None}


def candidate_groups(
    current: str, target_tier: str, params: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """The models of ``target_tier`` a segment on ``current`` may move to, in the order they
    are tried: its own provider's, then the other providers' (tried only with
    ``cross_provider``, when none of its own is cheaper)."""
    provider = known_models()[current].provider
    own = list(params["candidates"].get(provider, {}).get(target_tier, []))
    others = [
        k
        for prov, tiers in params["candidates"].items()
        if prov != provider
        for k in tiers.get(target_tier, [])
    ]
    return own, others


def choose_among(
    price: Pricer,
    current: str,
    target_tier: str,
    params: dict[str, Any],
    current_usd: float,
    media: tuple[str, ...] = (),
) -> dict[str, Any]:
    """:func:`choose_candidate` on a segment of at least one priced request, each candidate's
    cost on them given by ``price`` (:func:`price_on`'s answer, or one re-priced with other
    segments' requests: :class:`Repricer`)."""
    own, others = candidate_groups(current, target_tier, params)
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
                priced, info = price(cand)
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
    return {**_NO_CANDIDATE, "tried": tried, "cheapest": cheapest, "left_out": left_out}


@dataclass(frozen=True)
class Ask:
    """A segment that looks for a candidate: its priced requests' row positions, its model,
    the tier its task needs, what it costs today and the media its requests send."""

    segment: str
    positions: np.ndarray
    current: str
    target_tier: str
    current_usd: float
    media: tuple[str, ...] = ()

    def to_price(self, group: list[str]) -> list[str]:
        """The candidates of ``group`` :func:`choose_among` prices for this segment."""
        return [c for c in group if c != self.current and not media_not_taken(c, self.media)]


@dataclass(frozen=True)
class _Repriced:
    """One candidate's re-pricing of the requests of the segments on one model that try it."""

    priced: pd.DataFrame  # priced, cost_usd and unpriced_reason of the rows
    rows: CacheRows
    tokenizer: dict[str, Any]
    at: dict[str, slice]  # each segment's rows


class Repricer:
    """Segments' own requests re-priced on candidates, each candidate once for the requests
    of every segment that tries it (per current model, whose tokenizer it scales from): a
    run of 2,000 segments of five requests each took 50 s in the fixed cost of adapting and
    pricing a few rows on each candidate apart. Each request's cost is its own, and each
    segment's figures are summed from its own rows, so they are those of :func:`price_on` on
    it (its ``priced``, ``cost_usd`` and ``unpriced_reason`` columns)."""

    def __init__(self, usage: pd.DataFrame, catalog: Any, ratios: dict[str, float]) -> None:
        self.usage = usage  # the columns pricing reads (``pricing.price_columns``)
        self.catalog = catalog
        self.ratios = ratios
        self._done: dict[tuple[str, str], _Repriced | UnknownTokenizerRatio] = {}

    def prepare(self, asks: list[Ask], group: Callable[[Ask], list[str]]) -> None:
        """Re-price, at once per candidate and current model, the requests of ``asks`` on the
        candidates ``group`` names for each (those :func:`choose_among` prices)."""
        wanted: dict[tuple[str, str], list[Ask]] = {}
        for ask in asks:
            for cand in ask.to_price(group(ask)):
                if (ask.segment, cand) not in self._done:
                    wanted.setdefault((cand, ask.current), []).append(ask)
        for (cand, current), of in wanted.items():
            self._reprice(cand, current, of)

    def _reprice(self, cand: str, current: str, asks: list[Ask]) -> None:
        positions = np.concatenate([ask.positions for ask in asks])
        ends = np.cumsum([len(ask.positions) for ask in asks]).tolist()
        try:
            adapted, rows, tokenizer = _adapt_rows(
                self.usage.iloc[positions], current, cand, self.catalog, self.ratios
            )
        except UnknownTokenizerRatio as exc:
            for ask in asks:
                self._done[(ask.segment, cand)] = exc
            return
        # what choose_among reads, held until every segment has chosen: not the adapted rows
        # nor the cost split (a plan on a million requests peaks as high as it did apart)
        priced = self.catalog.price(adapted, model=cand)[["priced", "cost_usd", "unpriced_reason"]]
        at = {
            ask.segment: slice(start, end)
            for ask, start, end in zip(asks, [0, *ends[:-1]], ends, strict=True)
        }
        done = _Repriced(priced, rows, tokenizer, at)
        for ask in asks:
            self._done[(ask.segment, cand)] = done

    def price(self, ask: Ask, cand: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        """:func:`price_on`'s answer for ``ask``'s requests (re-priced alone if not prepared)."""
        if (ask.segment, cand) not in self._done:
            self._reprice(cand, ask.current, [ask])
        done = self._done[(ask.segment, cand)]
        if isinstance(done, UnknownTokenizerRatio):
            raise done
        at = done.at[ask.segment]
        return done.priced.iloc[at], _adapt_info(done.tokenizer, done.rows, at)


def choose_for_segments(
    usage: pd.DataFrame, catalog: Any, params: dict[str, Any], asks: list[Ask]
) -> dict[str, dict[str, Any]]:
    """:func:`choose_candidate` for every segment of ``asks``, by segment id: each
    candidate priced once for all the segments that try it. The other providers' models
    are priced only for the segments none of whose own provider's is cheaper, as
    :func:`choose_among` tries them only then."""
    repricer = Repricer(usage, catalog, params["tokenizer_ratios"])

    def choose(ask: Ask, with_params: dict[str, Any]) -> dict[str, Any]:
        return choose_among(
            lambda cand: repricer.price(ask, cand),
            ask.current,
            ask.target_tier,
            with_params,
            ask.current_usd,
            ask.media,
        )

    def own(ask: Ask) -> list[str]:
        return candidate_groups(ask.current, ask.target_tier, params)[0]

    def others(ask: Ask) -> list[str]:
        return candidate_groups(ask.current, ask.target_tier, params)[1]

    repricer.prepare(asks, own)
    choices = {ask.segment: choose(ask, {**params, "cross_provider": False}) for ask in asks}
    if params["cross_provider"]:
        rest = [ask for ask in asks if choices[ask.segment]["candidate"] is None]
        repricer.prepare(rest, others)
        choices.update({ask.segment: choose(ask, params) for ask in rest})
    return choices


def usd(amount: float, *compared: float) -> str:
    """A dollar amount as the reasons show it: to the cent when it and the amounts it is
    compared with are $1 or more, else to four decimals, so two amounts read alike; one under
    $0.0001 to two significant digits (``amounts.usd``), never $0.0000."""
    cents = min(abs(a) for a in (amount, *compared)) >= 1
    return amounts.usd(amount, at_least=2 if cents else 4)


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
