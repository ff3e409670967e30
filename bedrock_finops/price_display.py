"""Prices as a person reads them: USD per 1M tokens, the unit in the column name.

The sheets and the engine work per 1K tokens (``input_per_1k``); AWS publishes per 1M, and a
per-1K price such as 0.00008 reads as "8e-05". Every table of prices a notebook shows goes
through :func:`per_1m`; :func:`rates_used` is the baseline's table of the rates that priced
the run, next to the spend each produced.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from bedrock_finops.pricing import cache_write_1h_tokens

PER_1K = "_per_1k"
PER_1M = "_usd_per_1m"
RATE_KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
LOGGED_TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
# of the writes, those at the 1h rate (the rest at 5m), as the engine reads them
TOKENS = (*LOGGED_TOKENS, "cache_write_1h_tokens")
KEY = ["model", "region", "geo", "service_tier"]


def price_text(usd_per_1m: float | None) -> str:
    """``3.00``, ``0.08``, ``6.875``, ``0.004375``: cents at least, every published digit
    kept (up to six decimals); a price the sheet leaves empty is "not offered"."""
    if usd_per_1m is None or pd.isna(usd_per_1m):
        return "not offered"
    text = f"{float(usd_per_1m):,.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def per_1m(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` with every ``X_per_1k`` column shown as ``X_usd_per_1m`` text, in place."""
    out = prices.copy()
    renames = {c: c[: -len(PER_1K)] + PER_1M for c in out.columns if c.endswith(PER_1K)}
    for col in renames:
        out[col] = [price_text(v * 1000 if pd.notna(v) else None) for v in out[col]]
    return out.rename(columns=renames)


def rates_used(usage: pd.DataFrame, priced: pd.DataFrame, catalog: Any) -> pd.DataFrame:
    """One row per (model, region, geo, service tier) that priced rows: the rates the engine
    applied (the sheet row it resolved to, after any discount), per 1M tokens, its ``source``
    and ``as_of``, and the requests, tokens and spend they produced; largest spend first.

    ``sheet_geo`` is the geo of the sheet row used (a cross-region profile billed at the
    in-region price resolves to the ``none`` row). The spend column adds up to all priced
    spend.
    """
    ok = priced["priced"].astype(bool).to_numpy()
    keys = pd.DataFrame(
        {
            "model": usage["model"].astype("string"),
            "region": usage["region"].astype("string"),
            "geo": usage["geo"].astype("string").fillna("none"),
            "service_tier": usage["service_tier"].astype("string").fillna("default"),
        },
        index=usage.index,
    )
    hour = pd.Series(cache_write_1h_tokens(usage), index=usage.index).astype("int64")
    frame = keys.assign(
        **{c: usage[c].fillna(0).astype("int64") for c in LOGGED_TOKENS},
        cache_write_1h_tokens=hour,
        cost_usd=priced["cost_usd"].astype("float64"),
    )[ok]
    spend = (
        frame.groupby(KEY, observed=True)
        .agg(
            requests=("cost_usd", "size"),
            **{c: (c, "sum") for c in TOKENS},
            cost_usd=("cost_usd", "sum"),
        )  # fmt: skip
        .reset_index()
    )
    rows = []
    for key in spend[KEY].itertuples(index=False, name=None):
        rate = catalog.rate(*key)
        rows.append(
            {f"{k}{PER_1M}": price_text(_per_1m(rate.get(f"{k}{PER_1K}"))) for k in RATE_KINDS}
            | {"sheet_geo": rate["geo"], "source": rate["source"], "as_of": rate["as_of"]}
        )
    rate_cols = [f"{k}{PER_1M}" for k in RATE_KINDS]
    # columns named, not taken from the rows: a run with no priced request has none
    rates = pd.DataFrame(
        rows, index=spend.index, columns=[*rate_cols, "sheet_geo", "source", "as_of"]
    )
    out = pd.concat([spend, rates], axis=1)
    out = out[[*KEY, "sheet_geo", *rate_cols, "requests", *TOKENS, "cost_usd", "source", "as_of"]]
    return out.sort_values("cost_usd", ascending=False, ignore_index=True)


def _per_1m(per_1k: Any) -> float | None:
    return None if per_1k is None or pd.isna(per_1k) else float(per_1k) * 1000
