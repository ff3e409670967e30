"""Price sheets: the bundled and user CSV files, read and checked, and override files applied.

Sheets are CSV, one row per (model, region, geo, service_tier), prices in USD per 1K tokens;
an empty cell means "not offered". ``in_region_is_profile_price`` says that cross-region
profiles (``us.``, ``eu.``, ``global.``) of that model bill at the in-region row's price, so a
sheet need not repeat it; newer models that price profiles differently carry explicit rows.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from bedrock_finops.models import GEO_PREFIXES, is_request_geo, known_models, resolve, stem
from bedrock_finops.usage_types import REGION_CODES

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
PROVISIONED_KEY_COLUMNS = ["model", "region", "commitment"]
PROVISIONED_COLUMNS = [*PROVISIONED_KEY_COLUMNS, "hourly_per_model_unit", "source", "as_of"]
COMMITMENTS = ("none", "1_month", "6_months")
# the service tiers the engine prices per token (``reserved`` is billed per reserved capacity)
PER_TOKEN_TIERS = ("default", "flex", "priority", "latency-optimized")


class PriceInputError(ValueError):
    """A price sheet, override file or discount that cannot be used; the message says the fix."""


def check_sheet(sheet: str | Path, named: str | None = None) -> None:
    """A sheet is a bundled name (``current``, ``seed``) or a CSV file that exists. ``named``:
    how an error names it and its value (a CLI flag, a run's setting)."""
    if str(sheet) not in BUNDLED_SHEETS and not Path(sheet).is_file():
        raise FileNotFoundError(
            f"{named or f'price sheet {str(sheet)!r}'} not found: use 'current', 'seed' or a "
            "CSV path (write one with `bedrock-finops prices update --out FILE`)"
        )


def check_overrides_file(path: str | Path, named: str | None = None) -> None:
    """An overrides file must exist: a price the user meant to give is never silently dropped.
    ``named``: how an error names it and its value (a CLI flag, a run's setting)."""
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"{named or f'price overrides file {str(path)!r}'} not found: give an existing "
            "CSV of your negotiated prices (the sheet's columns, a subset is fine; see "
            "docs/pricing.md)"
        )


def read_sheet_csv(source) -> pd.DataFrame:
    """A sheet as strings; only an empty cell is missing (no "NA" or "null" guessing)."""
    try:
        return pd.read_csv(source, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise PriceInputError(
            f"price sheet {source} is empty; a sheet is a CSV with a header row (see "
            "docs/pricing.md)"
        ) from None


def read_bundled_sheet(name: str) -> pd.DataFrame:
    """A bundled sheet (a ``BUNDLED_SHEETS`` key: ``"current"``, ``"seed"``), normalised."""
    filename = BUNDLED_SHEETS[name]
    with resources.files("bedrock_finops.data").joinpath(filename).open(encoding="utf-8") as fh:
        return normalise_sheet(read_sheet_csv(fh), filename)


def _bool(col: pd.Series, default: bool) -> pd.Series:
    s = col.astype(object).where(col.notna(), None)
    truth = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    vals = [default if v is None else truth.get(str(v).strip().lower(), default) for v in s]
    return pd.Series(vals, index=col.index, dtype=bool)


def normalise_sheet(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Validate a sheet's columns and types; raise naming the file and the fix."""
    missing = [c for c in KEY_COLUMNS if c not in df.columns]
    if missing:
        raise PriceInputError(
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
            raise PriceInputError(
                f"price sheet {origin}: column {col} has non-numeric values "
                f"{out.loc[bad, col].unique().tolist()[:3]}; use a number, or leave it empty "
                "for 'not offered'"
            )
        if (vals < 0).any():
            raise PriceInputError(f"price sheet {origin}: negative price in {col}")
        out[col] = vals.astype("float64")
    out["min_cache_tokens"] = pd.to_numeric(out["min_cache_tokens"], errors="coerce").astype(
        "Int64"
    )
    out["supports_caching"] = (
        _bool(out["supports_caching"], False) | out["cache_read_per_1k"].notna()
    )
    out["supports_batch"] = _bool(out["supports_batch"], False) | out["batch_input_per_1k"].notna()
    out["in_region_is_profile_price"] = _bool(out["in_region_is_profile_price"], False)
    _source_date_and_keys(out, KEY_COLUMNS, f"price sheet {origin}", origin)
    return out[SHEET_COLUMNS].reset_index(drop=True)


def _source_date_and_keys(out: pd.DataFrame, keys: list[str], what: str, origin: str) -> None:
    """Every row names its source (the file when it does not) and date; a key appears once."""
    out["source"] = out["source"].fillna(origin).astype("string")
    out["as_of"] = pd.to_datetime(out["as_of"], errors="coerce")
    dup = out.duplicated(keys, keep=False)
    if dup.any():
        raise PriceInputError(
            f"{what} has duplicate ({', '.join(keys)}) rows: "
            f"{out.loc[dup, keys].drop_duplicates().values.tolist()[:3]}"
        )


@cache
def known_regions() -> frozenset[str]:
    """AWS Regions: those botocore's endpoint data lists (every partition) and those with a
    billing code in ``usage_types.REGION_CODES``."""
    import botocore.session

    endpoints = botocore.session.get_session().get_data("endpoints")
    listed = {region for part in endpoints["partitions"] for region in part["regions"]}
    return frozenset(listed | set(REGION_CODES.values()))


def _nearest(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1, cutoff=0.6)
    return f" (nearest: {close[0]})" if close else ""


def _model_problem(model: str, geo: str) -> tuple[str | None, str | None]:
    """(catalog key, None) for an override row's model, or (None, why it cannot be one).

    A catalog key stays; a model ID as logged (a base ID with its date and version, an ARN)
    reads as its catalog key; a profile ID only for a row of its own geo.
    """
    if model in known_models():
        return model, None
    ref = resolve(model)
    if ref.key is None:
        hint = _nearest(stem(model), sorted(known_models()))
        return None, f"model {model!r} is not in the model catalog{hint}"
    if ref.geo != "none" and ref.geo != geo:
        return None, (
            f"model {model!r} is the {ref.geo} cross-region profile of {ref.key}, but the "
            f"row's geo is {geo}: give model {ref.key} with geo {ref.geo} (or none for the "
            "in-Region row)"
        )
    return ref.key, None


def _region_problem(region: str) -> str | None:
    if region in known_regions():
        return None
    return f"region {region!r} is not an AWS Region{_nearest(region, sorted(known_regions()))}"


def _key_cell(value) -> str | None:
    """A geo or service_tier cell as requests carry it: stripped, lower-case; None if empty."""
    text = None if pd.isna(value) else str(value).strip().lower()
    return text or None


def _geo_problem(geo: str) -> str | None:
    if is_request_geo(geo):
        return None
    return (
        f"geo {geo!r} is no geo a request can have; use none (in-Region), "
        f"{', '.join(GEO_PREFIXES)} or a profile prefix AWS adds later as logged (uk)"
    )


def _tier_problem(tier: str) -> str | None:
    if tier in PER_TOKEN_TIERS:
        return None
    why = " (reserved is billed per reserved capacity, not per token)" if tier == "reserved" else ""
    return (
        f"service_tier {tier!r} is not a tier the engine prices per token{why}; use "
        f"{', '.join(PER_TOKEN_TIERS)} (default is the standard tier)"
    )


def _keyed_row(model, region, geo, tier) -> tuple[str | None, str | None, list[str]]:
    """An override row's (catalog key, Region, problems): cells stripped, the model as its key,
    geo and service_tier as requests carry them."""
    geo = geo or "none"
    problems = [p for p in (_geo_problem(geo), _tier_problem(tier or "default")) if p]
    key = None
    if pd.isna(model):
        problems.append("the model is empty")
    else:
        key, why = _model_problem(str(model).strip(), geo)
        problems += [why] if why else []
    if pd.isna(region):
        problems.append("the region is empty")
        region = None
    else:
        region = str(region).strip()
        why = _region_problem(region)
        problems += [why] if why else []
    return key, region, problems


def catalog_keyed(raw: pd.DataFrame, origin: str) -> pd.DataFrame:
    """An override file's rows with each model as its catalog key and geo and service_tier as
    requests carry them (stripped, lower-case), or an error naming every row whose model,
    Region, geo or service_tier no usage row can have (its price would never apply).

    A usage row's ``model`` is a catalog key (``data/models.csv``) and its ``region`` an AWS
    Region, so a row keyed otherwise (a typo, a Region without its last hyphen) would add a
    row nothing matches and leave the traffic at the sheet's price without a word.
    """
    out = raw.copy()
    out["geo"] = raw["geo"].map(_key_cell)
    out["service_tier"] = raw["service_tier"].map(_key_cell)
    problems = []
    for i, row in enumerate(out.itertuples(index=False)):
        key, region, why = _keyed_row(row.model, row.region, row.geo, row.service_tier)
        out.iat[i, out.columns.get_loc("model")] = key
        out.iat[i, out.columns.get_loc("region")] = region
        problems += [f"line {i + 2}: {w}" for w in why]
    if problems:
        raise PriceInputError(
            f"{origin}: rows refused, as their prices would not reach the requests they "
            f"name: {'; '.join(problems)}. A model is a catalog key (a key of the package's "
            "data/models.csv, as anthropic.claude-sonnet-4) or a model ID as logged; a model "
            "the catalog lacks cannot be priced, as its calls read 'unknown model id'"
        )
    return out


def apply_overrides(rows: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Replace matching (model, region, geo, tier) rows and add new ones.

    For a row that matches the sheet, only the cells the override file fills change: an empty
    cell (or a column the file lacks) keeps the sheet's value. A new row takes the file as is.
    A model is a catalog key or a model ID as logged (read as its key); a row whose model or
    Region no request can have is refused (:func:`catalog_keyed`).
    """
    check_overrides_file(path)
    label = f"override: {Path(path).name}"
    raw = read_sheet_csv(path)
    normalise_sheet(raw, label)  # a file's columns and values are checked first
    raw = catalog_keyed(raw, f"price overrides file {path}")
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
        # normalise_sheet reads an empty flag as false: only a cell the file fills changes it
        given = raw[col].notna().to_numpy() if col in raw.columns else np.zeros(len(raw), bool)
        keep = known & ~given
        new.loc[keep, col] = base.loc[new.index[keep], col].values
    new["source"] = label
    out = pd.concat([base.drop(new.index[known]), new]).reset_index()
    return normalise_sheet(out[SHEET_COLUMNS], label)


def read_bundled_provisioned() -> pd.DataFrame:
    """The bundled Provisioned Throughput sheet: USD per model unit per hour, by commitment."""
    with (
        resources.files("bedrock_finops.data")
        .joinpath("provisioned_throughput.csv")
        .open(encoding="utf-8") as fh
    ):
        return normalise_provisioned(read_sheet_csv(fh), "provisioned_throughput.csv")


def normalise_provisioned(df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a Provisioned Throughput sheet; raise naming the file, the column and the fix."""
    missing = [c for c in (*PROVISIONED_KEY_COLUMNS, "hourly_per_model_unit") if c not in df]
    if missing:
        raise PriceInputError(
            f"Provisioned Throughput prices {origin} lack columns {missing}; the file needs "
            f"{', '.join(PROVISIONED_COLUMNS)} (one row per model, region and commitment)"
        )
    out = df.copy()
    for col in ("source", "as_of"):
        if col not in out.columns:
            out[col] = pd.NA
    wrong = sorted(set(out["commitment"].dropna()) - set(COMMITMENTS))
    if wrong or out["commitment"].isna().any():
        raise PriceInputError(
            f"Provisioned Throughput prices {origin}: commitment {wrong or ['(empty)']} is not "
            f"one of {', '.join(COMMITMENTS)}"
        )
    hourly = pd.to_numeric(out["hourly_per_model_unit"], errors="coerce")
    bad = hourly.isna() | (hourly <= 0)
    if bad.any():
        raise PriceInputError(
            f"Provisioned Throughput prices {origin}: hourly_per_model_unit "
            f"{out.loc[bad, 'hourly_per_model_unit'].tolist()[:3]} is not a positive number "
            "(USD per model unit per hour); leave out a commitment that is not offered"
        )
    out["hourly_per_model_unit"] = hourly.astype("float64")
    _source_date_and_keys(
        out, PROVISIONED_KEY_COLUMNS, f"Provisioned Throughput prices {origin}", origin
    )
    return out[PROVISIONED_COLUMNS].reset_index(drop=True)


def apply_provisioned_prices(bundled: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Your Provisioned Throughput prices (a quote, the console's figures) over the bundled
    rows: a (model, region, commitment) in the file replaces the bundled one; others add."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Provisioned Throughput prices {str(path)!r} not found: give a CSV with "
            f"{', '.join(PROVISIONED_COLUMNS)}"
        )
    own = normalise_provisioned(read_sheet_csv(path), f"provisioned: {path.name}")
    keep = ~bundled.set_index(PROVISIONED_KEY_COLUMNS).index.isin(
        own.set_index(PROVISIONED_KEY_COLUMNS).index
    )
    return pd.concat([bundled[keep], own], ignore_index=True)
