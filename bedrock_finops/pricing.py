"""Price catalog (bundled sheets, overrides, negotiated discount) and the vectorised cost engine.

Every figure the toolkit reports is a difference of two prices computed here, and every price
traces to a sheet row with a ``source`` and an ``as_of`` date. A token the catalog cannot price
is never billed at $0: its row is marked unpriced, with a reason, and its cost is NaN.

Sheets are CSV, one row per (model, region, geo, service_tier), prices in USD per 1K tokens;
an empty cell means "not offered". ``in_region_is_profile_price`` says that cross-region
profiles (``us.``, ``eu.``, ``global.``) of that model bill at the in-region row's price, so a
sheet need not repeat it; newer models that price profiles differently carry explicit rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

PRICE_COLUMNS = [
    "input_per_1k",
    "output_per_1k",
    "cache_write_5m_per_1k",
    "cache_write_1h_per_1k",
    "cache_read_per_1k",
    "batch_input_per_1k",
    "batch_output_per_1k",
]
KEY_COLUMNS = ["model", "region", "geo", "service_tier"]
SHEET_COLUMNS = [
    *KEY_COLUMNS,
    *PRICE_COLUMNS,
    "min_cache_tokens",
    "supports_caching",
    "supports_batch",
    "in_region_is_profile_price",
    "source",
    "as_of",
]
BUNDLED_SHEETS = {"current": "prices_current.csv", "seed": "prices_seed.csv"}
COMMITMENTS = ("none", "1_month", "6_months")
MODES = ("on_demand", "batch")
_NO_MODEL = "<unknown model>"  # stands in for a null catalog key while factorizing
_NO_REGION = "<no region>"  # a row without a region is unpriced, never priced as us-east-1
COST_COLUMNS = ["input_usd", "cache_read_usd", "cache_write_usd", "output_usd", "cost_usd"]


def _read_csv(source) -> pd.DataFrame:
    return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])


def _bool(col: pd.Series, default: bool) -> pd.Series:
    s = col.astype(object).where(col.notna(), None)
    truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    vals = [default if v is None else truth.get(str(v).strip().lower(), default) for v in s]
    return pd.Series(vals, index=col.index, dtype=bool)


def normalise_sheet(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Validate a sheet's columns and types; raise naming the file and the fix."""
    missing = [c for c in KEY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"price sheet {origin} lacks key columns {missing}; a sheet needs "
            f"{', '.join(SHEET_COLUMNS)} (see docs/pricing.md)"
        )
    out = df.copy()
    for col in SHEET_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    out["geo"] = out["geo"].fillna("none")
    out["service_tier"] = out["service_tier"].fillna("default")
    for col in PRICE_COLUMNS:
        vals = pd.to_numeric(out[col], errors="coerce")
        bad = out[col].notna() & vals.isna()
        if bad.any():
            raise ValueError(
                f"price sheet {origin}: column {col} has non-numeric values "
                f"{out.loc[bad, col].unique().tolist()[:3]}; use a number, or leave it empty "
                "for 'not offered'"
            )
        if (vals < 0).any():
            raise ValueError(f"price sheet {origin}: negative price in {col}")
        out[col] = vals.astype("float64")
    out["min_cache_tokens"] = pd.to_numeric(out["min_cache_tokens"], errors="coerce").astype(
        "Int64"
    )
    out["supports_caching"] = (
        _bool(out["supports_caching"], False) | out["cache_read_per_1k"].notna()
    )
    out["supports_batch"] = _bool(out["supports_batch"], False) | out["batch_input_per_1k"].notna()
    out["in_region_is_profile_price"] = _bool(out["in_region_is_profile_price"], False)
    out["source"] = out["source"].fillna(origin).astype("string")
    out["as_of"] = pd.to_datetime(out["as_of"], errors="coerce")
    dup = out.duplicated(KEY_COLUMNS, keep=False)
    if dup.any():
        raise ValueError(
            f"price sheet {origin} has duplicate (model, region, geo, service_tier) rows: "
            f"{out.loc[dup, KEY_COLUMNS].drop_duplicates().values.tolist()[:3]}"
        )
    return out[SHEET_COLUMNS].reset_index(drop=True)


def _apply_overrides(rows: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Replace matching (model, region, geo, tier) rows and add new ones.

    For a row that matches the sheet, only the cells the override file fills change: an empty
    cell (or a column the file lacks) keeps the sheet's value. A new row takes the file as is.
    """
    raw = _read_csv(path)
    label = f"override: {Path(path).name}"
    ovr = normalise_sheet(raw, label)
    base = rows.set_index(KEY_COLUMNS)
    new = ovr.set_index(KEY_COLUMNS)
    known = new.index.isin(base.index)
    old = base.loc[new.index[known]]
    for col in [*PRICE_COLUMNS, "min_cache_tokens", "as_of"]:
        new.loc[known, col] = new.loc[known, col].where(
            new.loc[known, col].notna(), old[col].values
        )
    for col in ("supports_caching", "supports_batch", "in_region_is_profile_price"):
        if col not in raw.columns:
            new.loc[known, col] = old[col].values
    new["source"] = label
    out = pd.concat([base.drop(new.index[known]), new]).reset_index()
    return normalise_sheet(out[SHEET_COLUMNS], label)


@dataclass
class PriceCatalog:
    """A loaded price sheet. Build it with :meth:`load`."""

    sheet_name: str
    rows: pd.DataFrame
    provisioned: pd.DataFrame
    discount_pct: float = 0.0
    overrides: str | None = None

    # ---- loading ---------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        sheet: str | Path = "current",
        overrides: str | Path | None = None,
        discount_pct: float = 0.0,
    ) -> PriceCatalog:
        """Load a bundled sheet (``"current"``, ``"seed"``) or a CSV path.

        ``overrides``: CSV with the same columns (a subset is fine) replacing matching rows and
        adding new ones. ``discount_pct``: a negotiated discount applied to every price
        (overrides included: give list prices there if you also pass a discount).
        """
        if not 0 <= discount_pct < 100:
            raise ValueError(f"discount_pct={discount_pct}: give a percentage in [0, 100)")
        data = resources.files("bedrock_finops.data")
        if str(sheet) in BUNDLED_SHEETS:
            name = str(sheet)
            with data.joinpath(BUNDLED_SHEETS[name]).open() as fh:
                rows = normalise_sheet(_read_csv(fh), BUNDLED_SHEETS[name])
        else:
            path = Path(sheet)
            if not path.exists():
                raise FileNotFoundError(
                    f"price sheet {sheet!r} not found: use 'current', 'seed' or a CSV path "
                    "(write one with `bedrock-finops prices update --out FILE`)"
                )
            name = path.name
            rows = normalise_sheet(_read_csv(path), str(path))
        if overrides is not None:
            rows = _apply_overrides(rows, overrides)
        with data.joinpath("provisioned_throughput.csv").open() as fh:
            pt = _read_csv(fh)
        pt["hourly_per_model_unit"] = pd.to_numeric(pt["hourly_per_model_unit"])
        factor = 1 - discount_pct / 100
        if factor != 1:
            rows[PRICE_COLUMNS] = rows[PRICE_COLUMNS] * factor
            pt["hourly_per_model_unit"] = pt["hourly_per_model_unit"] * factor
        return cls(name, rows, pt, discount_pct, None if overrides is None else str(overrides))

    # ---- inspection ------------------------------------------------------------------------
    @property
    def as_of(self) -> pd.Timestamp | None:
        """The latest ``as_of`` in the sheet (None when the sheet is undated)."""
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
            return -1, "unknown model id"
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
                return base, None
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
        Rows without a price get NaN costs, ``priced=False`` and an ``unpriced_reason``.
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
        if mode == "batch":
            in_rate = col("batch_input_per_1k")
            out_rate = col("batch_output_per_1k")
            read_rate = write_rate = in_rate  # no caching in batch: cached tokens bill as input
            reason = _flag(reason, np.isnan(in_rate) | np.isnan(out_rate), "no batch price")
        else:
            in_rate = col("input_per_1k")
            out_rate = col("output_per_1k")
            read_rate = col("cache_read_per_1k")
            ttl = _ttl(usage, n)
            write_rate = np.where(
                ttl == "1h", col("cache_write_1h_per_1k"), col("cache_write_5m_per_1k")
            )
            reason = _flag(reason, np.isnan(in_rate) | np.isnan(out_rate), "no on-demand price")
            reason = _flag(
                reason, (tok["cache_read_tokens"] > 0) & np.isnan(read_rate), "no cache read price"
            )
            reason = _flag(
                reason,
                (tok["cache_write_tokens"] > 0) & np.isnan(write_rate),
                np.where(ttl == "1h", "no 1h cache write price", "no cache write price"),
            )
        priced = pd.isna(reason)
        out = pd.DataFrame(
            {
                "input_usd": _cost(tok["input_tokens"], in_rate),
                "cache_read_usd": _cost(tok["cache_read_tokens"], read_rate),
                "cache_write_usd": _cost(tok["cache_write_tokens"], write_rate),
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
                f"region={region!r} commitment={commitment!r}; published: {have or 'none'}. "
                "Refresh with `bedrock-finops prices update` or pass a quote."
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


def _flag(reason: np.ndarray, mask: np.ndarray, text) -> np.ndarray:
    """Set ``text`` where ``mask`` and no earlier reason is set (first reason wins)."""
    empty = pd.isna(reason)
    return np.where(mask & empty, text, reason)


def _cost(tokens: np.ndarray, rate: np.ndarray) -> np.ndarray:
    # Zero tokens of a component cost $0 even when that component is not offered.
    return np.where(tokens == 0, 0.0, tokens / 1000.0 * rate)


def _ttl(usage: pd.DataFrame, n: int) -> np.ndarray:
    if "cache_ttl" not in usage:
        return np.full(n, "5m", dtype=object)
    return usage["cache_ttl"].astype(object).fillna("5m").to_numpy()


def with_cached_prefix(
    usage: pd.DataFrame,
    prefix_tokens: int | pd.Series,
    hit_mask: pd.Series | np.ndarray,
    ttl: str = "5m",
) -> pd.DataFrame:
    """A copy of usage with a prompt prefix moved from uncached input into the cache.

    Rows where ``hit_mask`` is true read the prefix from cache; the others write it (first
    use). The prefix moved is capped at each row's uncached input, so total input tokens never
    change. Rows that moved tokens get ``cache_ttl=ttl``.
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
    moved = np.minimum(prefix.clip(lower=0).astype("int64"), inp).astype("int64")
    out = usage.copy()
    out["input_tokens"] = (inp - moved).astype(usage["input_tokens"].dtype)
    read = usage["cache_read_tokens"].fillna(0) + moved.where(hit, 0)
    write = usage["cache_write_tokens"].fillna(0) + moved.where(~hit, 0)
    out["cache_read_tokens"] = read.astype(usage["cache_read_tokens"].dtype)
    out["cache_write_tokens"] = write.astype(usage["cache_write_tokens"].dtype)
    ttl_col = out["cache_ttl"] if "cache_ttl" in out else pd.Series(pd.NA, index=out.index)
    out["cache_ttl"] = ttl_col.astype("string").mask(moved.to_numpy() > 0, ttl)
    if "cache_ttl" in usage:
        out["cache_ttl"] = out["cache_ttl"].astype(usage["cache_ttl"].dtype)
    return out


# ---- CLI: `bedrock-finops prices show|update` -------------------------------------------------


def register(subparsers) -> None:
    """Add ``prices show`` and ``prices update`` to the ``bedrock-finops`` command."""
    p = subparsers.add_parser("prices", help="show or refresh the price sheets")
    sub = p.add_subparsers(dest="prices_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the prices the engine will use, with sources")
    show.add_argument("--sheet", default="current", help="current | seed | path to a CSV")
    show.add_argument("--model", help="catalog key or a substring of it")
    show.add_argument("--region")
    show.add_argument("--overrides")
    show.add_argument("--discount-pct", type=float, default=0.0)
    show.set_defaults(func=_cmd_show)
    upd = sub.add_parser("update", help="build a sheet from the AWS Price List API")
    upd.add_argument("--region", action="append", dest="regions", help="repeatable")
    upd.add_argument("--out", default="prices_pricelist.csv", help="CSV to write")
    upd.set_defaults(func=_cmd_update)


def _cmd_show(args) -> int:
    cat = PriceCatalog.load(args.sheet, overrides=args.overrides, discount_pct=args.discount_pct)
    rows = cat.rows
    if args.model:
        rows = rows[rows["model"].str.contains(re.escape(args.model))]
    if args.region:
        rows = rows[rows["region"] == args.region]
    if rows.empty:
        print(f"no rows in sheet {cat.sheet_name!r} for model={args.model} region={args.region}")
        return 1
    cols = [
        *KEY_COLUMNS,
        "input_per_1k",
        "output_per_1k",
        "cache_write_5m_per_1k",
        "cache_read_per_1k",
        "batch_input_per_1k",
        "as_of",
    ]
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(rows[cols].to_string(index=False))
        print(f"\nsheet: {cat.sheet_name}  as_of: {cat.as_of}  discount: {cat.discount_pct}%")
        for src in rows["source"].unique():
            print(f"source: {src}")
    return 0


def _cmd_update(args) -> int:
    from bedrock_finops.price_list import update_sheet

    result = update_sheet(
        regions=args.regions or ["us-east-1", "us-west-2", "eu-west-1"], out=args.out
    )
    print(f"wrote {len(result.rows)} rows to {args.out}")
    if len(result.unmapped):
        print(f"{len(result.unmapped)} products not mapped to a catalog key:")
        print(result.unmapped.to_string(index=False))
    return 0
