"""Price catalog (bundled sheets, overrides, negotiated discount) and the vectorised cost engine.

Every figure the toolkit reports is a difference of two prices computed here, and every price
traces to a sheet row with a ``source`` and an ``as_of`` date. A token the catalog cannot price
is never billed at $0: its row is marked unpriced, with a reason, and its cost is NaN.

The sheets' format, reading and overrides are in ``price_sheets``; the ``prices`` command is in
``pricing_cli``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bedrock_finops.models import ModelRef, missing_profile
from bedrock_finops.models import resolve as resolve_model_id
from bedrock_finops.price_sheets import (
    BUNDLED_SHEETS,
    COMMITMENTS,
    KEY_COLUMNS,
    PRICE_COLUMNS,
    PriceInputError,
    apply_overrides,
    apply_provisioned_prices,
    check_sheet,
    normalise_sheet,
    read_bundled_provisioned,
    read_bundled_sheet,
    read_sheet_csv,
)
from bedrock_finops.schema import total_input_tokens

MODES = ("on_demand", "batch")
_NO_MODEL = "<unknown model>"  # stands in for a null catalog key while factorizing
_NO_REGION = "<no region>"  # a row without a region is unpriced, never priced as us-east-1
COST_COLUMNS = ["input_usd", "cache_read_usd", "cache_write_usd", "output_usd", "cost_usd"]

# Provisioned Throughput is billed per model-unit hour (``provisioned_cost``), not per token: a
# call logged against a ``provisioned-model/...`` ARN has no token price on its own model.
PROVISIONED_REASON = "Provisioned Throughput: billed per hour, not per token"
UNKNOWN_MODEL_REASON = "unknown model id"
# Models whose requests bill at a higher rate once the request's total input (uncached input +
# cache read + cache write) is above the threshold. The sheets carry the standard rates only,
# so such a request is unpriced rather than priced at the standard rate. Sources:
# aws-bedrock-facts.md, us-east-1 late 2026 ("Sonnet 4: 3 / 15 (above 200K context 6 / 22.50)");
# for Sonnet 4.5, AWS's pricing page row "Claude Sonnet 4.5 - Long Context" (6 / 22.50 global,
# quoted in anomalyco/models.dev#1220, 2026-03) and Anthropic's long-context pricing (2x input,
# 1.5x output above 200K for Sonnet 4 and 4.5). The 4.6 models and Opus 4.7 bill long prompts
# at their standard rates; the other Claude models take at most 200K. "Above" is strict:
# 200,000 tokens bill standard.
LONG_CONTEXT_THRESHOLD = {
    "anthropic.claude-sonnet-4": 200_000,
    "anthropic.claude-sonnet-4-5": 200_000,
}
LONG_CONTEXT_REASON = "input over 200K tokens: long-context price not in the sheet"


# The usage columns ``PriceCatalog.price`` reads. Strategies that select rows to re-price
# select these columns first: selecting rows of the whole table copies every column, and
# ``user_text`` alone is ~3 GB in a month of a million requests.
PRICED_USAGE_COLUMNS = [
    "model_id_raw", "model", "region", "geo", "service_tier", "cache_ttl",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens",
]  # fmt: skip


def price_columns(usage: pd.DataFrame, *extra: str) -> pd.DataFrame:
    """``usage`` narrowed to :data:`PRICED_USAGE_COLUMNS` (those it has) and ``extra``."""
    return usage[[c for c in (*PRICED_USAGE_COLUMNS, *extra) if c in usage.columns]]


def prices_as_of(priced: pd.DataFrame) -> str | None:
    """The date of the price rows that priced ``priced`` (``PriceCatalog.price``'s
    ``price_as_of``): one date, or "first to last" when they differ; None when no request was
    priced by a dated row. A sheet's own newest date (:attr:`PriceCatalog.as_of`) can belong to
    rows no request used, so figures name the dates of the prices behind them."""
    dates = priced["price_as_of"].dropna() if "price_as_of" in priced.columns else pd.Series()
    if dates.empty:
        return None
    first, last = dates.min().date().isoformat(), dates.max().date().isoformat()
    return first if first == last else f"{first} to {last}"


def check_discount_pct(discount_pct: float, named: str | None = None) -> None:
    """A negotiated discount is a percentage off every price, in [0, 100). ``named``: how an
    error names it and its value (a CLI flag, a run's setting)."""
    if not 0 <= discount_pct < 100:
        raise PriceInputError(
            f"{named or f'discount_pct {discount_pct:g}'} is not a percentage in [0, 100): "
            "give the negotiated discount off list prices, e.g. 12 for 12% (0: none)"
        )


@dataclass
class PriceCatalog:
    """A loaded price sheet. Build it with :meth:`load`."""

    sheet_name: str
    rows: pd.DataFrame
    provisioned: pd.DataFrame
    discount_pct: float = 0.0
    overrides: str | None = None
    provisioned_prices: str | None = None  # the CSV of your own Provisioned Throughput prices

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        sheet: str | Path = "current",
        overrides: str | Path | None = None,
        discount_pct: float = 0.0,
        provisioned: str | Path | None = None,
    ) -> PriceCatalog:
        """Load a bundled sheet (``"current"``, ``"seed"``) or a CSV path.

        ``overrides``: CSV with the same columns (a subset is fine) replacing matching rows and
        adding new ones. ``discount_pct``: a negotiated discount applied to every price
        (overrides included: give list prices there if you also pass a discount).
        ``provisioned``: CSV of Provisioned Throughput hourly prices per model unit (model,
        region, commitment, hourly_per_model_unit, source, as_of), e.g. an AWS quote; its rows
        replace the bundled ones of the same model, region and commitment, and, being your
        own price, are not discounted.
        """
        check_discount_pct(discount_pct)
        check_sheet(sheet)
        if str(sheet) in BUNDLED_SHEETS:
            name = str(sheet)
            rows = read_bundled_sheet(name)
        else:
            path = Path(sheet)
            name = path.name
            rows = normalise_sheet(read_sheet_csv(path), str(path))
        if overrides is not None:
            rows = apply_overrides(rows, overrides)
        pt = read_bundled_provisioned()
        factor = 1 - discount_pct / 100
        if factor != 1:
            rows[PRICE_COLUMNS] = rows[PRICE_COLUMNS] * factor
            pt["hourly_per_model_unit"] = pt["hourly_per_model_unit"] * factor
        if provisioned is not None:  # a quote is already your price: not discounted again
            pt = apply_provisioned_prices(pt, provisioned)
        return cls(
            name,
            rows,
            pt,
            discount_pct,
            None if overrides is None else str(overrides),
            None if provisioned is None else str(provisioned),
        )

    # ---- inspection ------------------------------------------------------------------------
    @property
    def as_of(self) -> pd.Timestamp | None:
        """The latest ``as_of`` in the sheet (None when the sheet is undated): the sheet's date,
        not that of the rows a run used (:func:`prices_as_of`)."""
        ts = self.rows["as_of"].max()
        return None if pd.isna(ts) else ts

    def source_summary(self) -> pd.DataFrame:
        """Where the prices come from: one line per source, with dates, rows and discount."""
        g = self.rows.groupby("source", dropna=False, sort=True)
        out = g.agg(
            rows=("model", "size"),
            models=("model", "nunique"),
            as_of_min=("as_of", "min"),
            as_of_max=("as_of", "max"),
        ).reset_index()
        out.insert(0, "sheet", self.sheet_name)
        out["discount_pct"] = self.discount_pct
        return out

    def rate(
        self,
        model: str,
        region: str = "us-east-1",
        geo: str = "none",
        service_tier: str = "default",
    ) -> pd.Series:
        """The sheet row the engine uses for one key (geo fallback included)."""
        idx, reason = self._resolve(model, region, geo or "none", service_tier or "default")
        if idx < 0:
            have = self.rows.loc[self.rows["model"] == model, KEY_COLUMNS]
            offered = (
                "; ".join("/".join(map(str, r)) for r in have.itertuples(index=False))
                or "no rows for this model"
            )
            raise KeyError(
                f"no price for model={model!r} region={region!r} geo={geo!r} "
                f"service_tier={service_tier!r} in sheet {self.sheet_name!r}: {reason}. "
                f"The sheet has (region/geo/tier): {offered}"
            )
        return self.rows.iloc[idx]

    # ---- key resolution (once per distinct key, never per usage row) ----------------------
    def _lookup(self) -> dict[tuple, int]:
        cache = getattr(self, "_lookup_cache", None)
        if cache is None or cache[0] is not self.rows:
            keys = self.rows[KEY_COLUMNS].astype(str).itertuples(index=False, name=None)
            cache = (self.rows, {k: i for i, k in enumerate(keys)})
            self._lookup_cache = cache
        return cache[1]

    def _resolve(self, model, region, geo, tier) -> tuple[int, str | None]:
        if model is _NO_MODEL or model == _NO_MODEL:
            return -1, UNKNOWN_MODEL_REASON
        if region == _NO_REGION:
            return -1, "no region on the record"
        if tier == "reserved":
            return -1, "reserved tier is billed per reserved tokens-per-minute, not per token"
        lookup = self._lookup()
        hit = lookup.get((model, region, geo, tier))
        if hit is not None:
            return hit, None
        if geo != "none":
            base = lookup.get((model, region, "none", tier))
            if base is not None and self.rows.at[base, "in_region_is_profile_price"]:
                missing = missing_profile(model, geo)  # a profile the model has: its price
                return (base, None) if missing is None else (-1, missing)
        in_sheet = self.rows["model"] == model
        if not in_sheet.any():
            return -1, "model not in price sheet"
        in_region = in_sheet & (self.rows["region"] == region)
        if not in_region.any():
            return -1, "no price for model in region"
        if not (in_region & (self.rows["service_tier"] == tier)).any():
            return -1, f"no {tier} tier price for model in region"
        return -1, f"no price for {geo} cross-region profile"

    # ---- the engine --------------------------------------------------------------------------
    def price(
        self,
        usage: pd.DataFrame,
        *,
        model: str | pd.Series | None = None,
        mode: str = "on_demand",
        service_tier: str | None = None,
    ) -> pd.DataFrame:
        """Price every usage row; a frame aligned to ``usage.index``.

        ``model`` re-prices the same tokens on another catalog key (or a Series of keys aligned
        to usage); ``service_tier`` forces a tier. ``mode="batch"`` uses batch rates; batch and
        prompt caching do not combine, so cache read and write tokens are billed as batch input.
        Rows without a price get NaN costs, ``priced=False`` and an ``unpriced_reason``. An
        output rate is needed only by a request with output tokens: a sheet row without one (an
        embedding model's, which writes no tokens) prices its calls by their input. Two
        rules apply before the sheet: a call logged against a ``provisioned-model/...`` ARN is
        unpriced on its own model (Provisioned Throughput bills per model-unit hour; re-pricing
        its tokens on another model with ``model=`` is priced), and a request whose total input
        (uncached + cache read + cache write) is above a model's long-context threshold
        (``LONG_CONTEXT_THRESHOLD``) is unpriced, as the sheets carry standard rates only.
        """
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}: use one of {MODES}")
        n = len(usage)
        codes, uniques = _factorize_keys(self._usage_keys(usage, model, service_tier, mode))
        rate_idx = np.empty(len(uniques), dtype=np.int64)
        reasons = np.empty(len(uniques), dtype=object)
        for j, key in enumerate(uniques):  # once per distinct key, not per row
            rate_idx[j], reasons[j] = self._resolve(*key)
        row_idx = rate_idx[codes]
        found = row_idx >= 0
        take = np.where(found, row_idx, 0)

        def col(name: str) -> np.ndarray:
            vals = (
                self.rows[name].to_numpy(dtype="float64")[take]
                if len(self.rows)
                else np.full(n, np.nan)
            )
            return np.where(found, vals, np.nan)

        tok = {
            c: usage[c].fillna(0).to_numpy(dtype="float64")
            for c in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
        }
        reason = reasons[codes].astype(object)
        logged = _logged_refs(usage)
        # an ID of no model, of a kind never priced per token (an imported model, a
        # Marketplace endpoint): that is why, not that it is unknown
        notes = np.array([ref.not_per_token for ref in logged[1]] + [None], dtype=object)
        note = notes[logged[0]]
        reason = np.where((reason == UNKNOWN_MODEL_REASON) & pd.notna(note), note, reason)
        # Provisioned Throughput first: even a row the sheet could price is not token-billed.
        reason = np.where(_provisioned_own_model(usage, model, logged), PROVISIONED_REASON, reason)
        total_in = total_input_tokens(usage).to_numpy(dtype="float64")
        threshold = np.array(
            [LONG_CONTEXT_THRESHOLD.get(k[0], np.inf) for k in uniques], dtype="float64"
        )
        reason = _flag(reason, total_in > threshold[codes], LONG_CONTEXT_REASON)
        # An output rate is needed only where output tokens are billed: an embedding model's
        # row has none (its calls write no tokens), and a request with output tokens on a row
        # without an output rate is unpriced, never $0.
        has_output = tok["output_tokens"] > 0
        if mode == "batch":
            in_rate = col("batch_input_per_1k")
            out_rate = col("batch_output_per_1k")
            read_rate = write_rate = in_rate  # no caching in batch: cached tokens bill as input
            missing = np.isnan(in_rate) | (has_output & np.isnan(out_rate))
            reason = _flag(reason, missing, "no batch price")
        else:
            in_rate = col("input_per_1k")
            out_rate = col("output_per_1k")
            read_rate = col("cache_read_per_1k")
            missing = np.isnan(in_rate) | (has_output & np.isnan(out_rate))
            reason = _flag(reason, missing, "no on-demand price")
            reason = _flag(
                reason, (tok["cache_read_tokens"] > 0) & np.isnan(read_rate), "no cache read price"
            )
        if mode == "batch":
            write_usd = _cost(tok["cache_write_tokens"], write_rate)
        else:
            hour = cache_write_1h_tokens(usage)
            minutes = tok["cache_write_tokens"] - hour
            rate_5m, rate_1h = col("cache_write_5m_per_1k"), col("cache_write_1h_per_1k")
            reason = _flag(reason, (hour > 0) & np.isnan(rate_1h), "no 1h cache write price")
            reason = _flag(reason, (minutes > 0) & np.isnan(rate_5m), "no cache write price")
            write_usd = _cost(minutes, rate_5m) + _cost(hour, rate_1h)
        priced = pd.isna(reason)
        out = pd.DataFrame(
            {
                "input_usd": _cost(tok["input_tokens"], in_rate),
                "cache_read_usd": _cost(tok["cache_read_tokens"], read_rate),
                "cache_write_usd": write_usd,
                "output_usd": _cost(tok["output_tokens"], out_rate),
            },
            index=usage.index,
        )
        out.loc[~priced] = np.nan
        out["cost_usd"] = out.sum(axis=1, min_count=4).where(priced)
        out["priced"] = priced
        out["unpriced_reason"] = pd.array(reason, dtype="string")
        as_of = self.rows["as_of"].to_numpy()[take] if len(self.rows) else np.full(n, None)
        out["price_as_of"] = pd.to_datetime(pd.Series(as_of, index=usage.index)).where(found)
        return out

    def unpriced(
        self, usage: pd.DataFrame, priced: pd.DataFrame | None = None, **kw
    ) -> pd.DataFrame:
        """Unpriced usage grouped by ID, model, region, geo, tier and reason (with counts)."""
        priced = self.price(usage, **kw) if priced is None else priced
        mask = ~priced["priced"].to_numpy()
        cols = ["model_id_raw", "model", "region", "geo", "service_tier"]
        sub = pd.DataFrame(
            {c: usage[c].astype("string") if c in usage else pd.NA for c in cols}, index=usage.index
        )[mask]
        sub["reason"] = priced["unpriced_reason"][mask]
        out = (
            sub.groupby(cols + ["reason"], dropna=False)
            .size()
            .rename("requests")
            .reset_index()
            .sort_values("requests", ascending=False, kind="stable")
        )
        return out[cols + ["requests", "reason"]].reset_index(drop=True)

    def _usage_keys(self, usage, model, service_tier, mode) -> list[pd.Series | str]:
        """The four key columns, or a scalar where one value applies to every row."""
        if model is None:
            models = usage["model"]
        elif isinstance(model, pd.Series):
            models = model.reindex(usage.index)
        else:
            models = model
        geo = usage.get("geo", "none")
        tier = service_tier or usage.get("service_tier", "default")
        if mode == "batch":  # batch jobs have no service tier
            tier = "default"
        return [models, usage["region"], geo, tier]

    # ---- Provisioned Throughput ------------------------------------------------------------
    def provisioned_hourly(self, model: str, region: str, commitment: str) -> float:
        """Hourly price per model unit; KeyError when unpublished (never a guessed price)."""
        if commitment not in COMMITMENTS:
            raise ValueError(f"commitment={commitment!r}: use one of {COMMITMENTS}")
        pt = self.provisioned
        hit = pt[
            (pt["model"] == model) & (pt["region"] == region) & (pt["commitment"] == commitment)
        ]
        if hit.empty or pd.isna(hit["hourly_per_model_unit"].iloc[0]):
            have = pt.loc[pt["model"] == model, ["region", "commitment"]].values.tolist()
            raise KeyError(
                f"no published Provisioned Throughput price for model={model!r} "
                f"region={region!r} commitment={commitment!r}; in the sheet: {have or 'none'}. "
                "Pass your price (the Bedrock console's Provisioned Throughput page, or an AWS "
                "quote) as a CSV: PriceCatalog.load(..., provisioned=PATH) with columns "
                "model, region, commitment, hourly_per_model_unit, source, as_of."
            )
        return float(hit["hourly_per_model_unit"].iloc[0])

    def provisioned_cost(
        self, model: str, region: str, commitment: str, model_units: int, hours: float
    ) -> float:
        """Cost of ``model_units`` units for ``hours`` (committed terms bill every hour)."""
        if model_units < 1:
            raise ValueError("model_units must be >= 1")
        return self.provisioned_hourly(model, region, commitment) * model_units * hours


_KEY_DEFAULTS = (_NO_MODEL, _NO_REGION, "none", "default")


def _factorize_keys(cols: list[pd.Series | str]) -> tuple[np.ndarray, list[tuple]]:
    """Row codes into the distinct (model, region, geo, tier) keys, without Python row loops.

    Each column is factorized on its own (Arrow dictionary encoding), the codes are combined
    into one integer per row, and that integer is factorized again.
    """
    n = next((len(c) for c in cols if isinstance(c, pd.Series)), 0)
    combined = np.zeros(n, dtype=np.int64)
    levels = []
    for col, default in zip(cols, _KEY_DEFAULTS, strict=True):
        if isinstance(col, pd.Series):
            codes, uniq = pd.factorize(col, use_na_sentinel=True)
            values = [str(v) for v in uniq] + [default]
            codes = np.where(codes < 0, len(values) - 1, codes)
        else:
            codes, values = np.zeros(n, dtype=np.int64), [default if col is None else col]
        combined = combined * len(values) + codes
        levels.append((values, len(values)))
    row_codes, uniq_combined = pd.factorize(combined)
    keys = []
    for c in uniq_combined:
        key = []
        for values, size in reversed(levels):
            c, r = divmod(int(c), size)
            key.append(values[r])
        keys.append(tuple(reversed(key)))
    return row_codes, keys


def _logged_refs(usage: pd.DataFrame) -> tuple[np.ndarray, list[ModelRef]]:
    """Each row's logged model ID resolved (once per distinct ID): (row codes into the refs,
    the refs); a row without an ID has the code ``len(refs)``."""
    if "model_id_raw" not in usage or len(usage) == 0:
        return np.full(len(usage), 0, dtype=np.int64), []
    codes, uniq = pd.factorize(usage["model_id_raw"], use_na_sentinel=True)
    refs = [resolve_model_id(str(raw)) for raw in uniq]
    return np.where(codes < 0, len(refs), codes), refs


def _provisioned_own_model(
    usage: pd.DataFrame, model, logged: tuple[np.ndarray, list[ModelRef]]
) -> np.ndarray:
    """Rows logged against a provisioned-model ARN and priced on their own (logged) model.

    Re-pricing the same tokens on another model (``model=``) is a priced hypothetical: an
    on-demand or batch call to that model bills per token.
    """
    n = len(usage)
    codes, refs = logged
    if not refs:
        return np.zeros(n, dtype=bool)
    kinds = np.array([ref.kind == "provisioned-model" for ref in refs] + [False])
    is_pt = kinds[codes]
    if model is None or not is_pt.any():
        return is_pt
    target = model.reindex(usage.index) if isinstance(model, pd.Series) else model
    if "model" not in usage:
        return np.zeros(n, dtype=bool)
    logged = usage["model"].astype(object)
    same = target.astype(object) == logged if isinstance(target, pd.Series) else logged == target
    return is_pt & same.fillna(False).to_numpy(dtype=bool)


def _flag(reason: np.ndarray, mask: np.ndarray, text) -> np.ndarray:
    """Set ``text`` where ``mask`` and no earlier reason is set (first reason wins)."""
    empty = pd.isna(reason)
    return np.where(mask & empty, text, reason)


def _cost(tokens: np.ndarray, rate: np.ndarray) -> np.ndarray:
    # Zero tokens of a component cost $0 even when that component is not offered.
    return np.where(tokens == 0, 0.0, tokens / 1000.0 * rate)


def cache_write_1h_tokens(usage: pd.DataFrame) -> np.ndarray:
    """Of each row's cache writes, those written with the 1h TTL (the rest: 5m), as floats.

    The usage table's ``cache_write_1h_tokens``; where a row has none (a table built by hand,
    or without the column), all of its writes when its ``cache_ttl`` is "1h", else none.
    Numpy throughout: the engine prices small segments many times over.
    """
    writes = usage["cache_write_tokens"].to_numpy(dtype="float64", na_value=0.0)
    by_ttl = np.zeros_like(writes)
    if "cache_ttl" in usage:
        ttl = usage["cache_ttl"].to_numpy(dtype=object, na_value="5m")
        by_ttl = np.where(ttl == "1h", writes, 0.0)
    if "cache_write_1h_tokens" not in usage:
        return by_ttl
    given = usage["cache_write_1h_tokens"].to_numpy(dtype="float64", na_value=np.nan)
    return np.clip(np.where(np.isnan(given), by_ttl, given), 0.0, writes)


def with_cached_prefix(
    usage: pd.DataFrame,
    prefix_tokens: int | pd.Series,
    hit_mask: pd.Series | np.ndarray,
    ttl: str = "5m",
) -> pd.DataFrame:
    """A copy of usage with a prompt prefix moved from uncached input into the cache.

    ``prefix_tokens`` counts from the start of the prompt, as the cumulative tokens of
    ``prefix_hashes`` do. A row's own cached tokens (read or written) are the start of its
    prompt too, so only the part of the prefix beyond them moves: a row already caching the
    prefix is unchanged. Rows where ``hit_mask`` is true read the moved part from cache; the
    others write it (first use). The part moved is capped at each row's uncached input, so
    total input tokens never change. Rows that moved tokens get ``cache_ttl=ttl`` ("1h" when
    they also write at 1h), and with ``ttl="1h"`` the written part adds to
    ``cache_write_1h_tokens``.
    """
    if ttl not in ("5m", "1h"):
        raise ValueError(f"ttl={ttl!r}: use '5m' or '1h'")
    prefix = (
        prefix_tokens.reindex(usage.index).fillna(0)
        if isinstance(prefix_tokens, pd.Series)
        else pd.Series(prefix_tokens, index=usage.index)
    )
    hit = pd.Series(np.asarray(hit_mask, dtype=bool), index=usage.index)
    inp = usage["input_tokens"].fillna(0)
    cached = usage["cache_read_tokens"].fillna(0) + usage["cache_write_tokens"].fillna(0)
    beyond = (prefix - cached).clip(lower=0).astype("int64")
    moved = np.minimum(beyond, inp).astype("int64")
    out = usage.copy()
    hour = pd.Series(cache_write_1h_tokens(usage), index=usage.index)  # before writes change
    out["input_tokens"] = (inp - moved).astype(usage["input_tokens"].dtype)
    read = usage["cache_read_tokens"].fillna(0) + moved.where(hit, 0)
    write = usage["cache_write_tokens"].fillna(0) + moved.where(~hit, 0)
    out["cache_read_tokens"] = read.astype(usage["cache_read_tokens"].dtype)
    out["cache_write_tokens"] = write.astype(usage["cache_write_tokens"].dtype)
    if ttl == "1h":
        hour = hour + moved.where(~hit, 0)
    out["cache_write_1h_tokens"] = (
        hour.round().astype("int64").astype(usage["cache_write_tokens"].dtype)
    )
    ttl_col = out["cache_ttl"] if "cache_ttl" in out else pd.Series(pd.NA, index=out.index)
    # the longest TTL the row now writes with: a 5m prefix added to 1h writes keeps "1h"
    longest = np.where(hour.to_numpy() > 0, "1h", ttl)
    out["cache_ttl"] = ttl_col.astype("string").mask(moved.to_numpy() > 0, longest)
    if "cache_ttl" in usage:
        out["cache_ttl"] = out["cache_ttl"].astype(usage["cache_ttl"].dtype)
    return out
