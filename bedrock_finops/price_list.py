"""Build a price sheet from the AWS Price List API (``bedrock-finops prices update``).

Two service codes carry Bedrock token prices:

- ``AmazonBedrock``: first-party and open-weight models, priced per 1K tokens; the model is
  the product's ``model`` attribute, or the usage-type fragment where it has none (``NovaPro``;
  Titan's embedding products, ``USE1-TitanEmbeddingV2-Text-input-tokens``, have none).
- ``AmazonBedrockFoundationModels``: Claude and other Marketplace models, priced per 1M units;
  the model is the product's ``servicename`` ("Claude Sonnet 4.5 (Amazon Bedrock Edition)",
  "Cohere Embed 3 Model - English (Amazon Bedrock Edition)").

Each product's usage type says which sheet column it fills (see ``usage_types``). Products
that cannot be mapped to a catalog key or a column are listed, never dropped silently; so are
two products that fill one cell at different prices (a meter the parsing does not tell apart),
whose cell is left empty rather than settled by picking one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.price_sheets import (
    BUNDLED_SHEETS,
    KEY_COLUMNS,
    SHEET_COLUMNS,
    normalise_sheet,
    read_bundled_sheet,
)
from bedrock_finops.usage_types import model_key_from_product, parse_usage_type

SERVICE_CODES = ("AmazonBedrock", "AmazonBedrockFoundationModels")
PRICING_ENDPOINT_REGION = "us-east-1"  # the Price List API is served from a few regions only
# Units seen on Bedrock token products -> tokens per unit.
_UNIT_TOKENS = {
    "1ktokens": 1_000,
    "1000tokens": 1_000,
    "1mtokens": 1_000_000,
    "1000000tokens": 1_000_000,
    "units": None,
    "unit": None,
    "tokens": 1,
    "token": 1,
}
_COLUMN = {  # (token_kind, mode) -> sheet column
    ("input", "on_demand"): "input_per_1k",
    ("output", "on_demand"): "output_per_1k",
    ("cache_read", "on_demand"): "cache_read_per_1k",
    ("cache_write_5m", "on_demand"): "cache_write_5m_per_1k",
    ("cache_write_1h", "on_demand"): "cache_write_1h_per_1k",
    ("input", "batch"): "batch_input_per_1k",
    ("output", "batch"): "batch_output_per_1k",
}
# Usage-type modes billed on a service tier row of their own (the engine looks the tier up by
# the usage table's service_tier): the same columns as the default row, at the tier's rates.
_TIER_OF_MODE = {"flex": "flex", "priority": "priority", "latency_optimized": "latency-optimized"}
_TIER_COLUMN = {
    "input": "input_per_1k",
    "output": "output_per_1k",
    "cache_read": "cache_read_per_1k",
    "cache_write_5m": "cache_write_5m_per_1k",
    "cache_write_1h": "cache_write_1h_per_1k",
}


@dataclass
class UpdateResult:
    rows: pd.DataFrame  # the sheet written
    unmapped: pd.DataFrame  # service_code, name, usagetype, reason


def fetch_products(client: Any, service_code: str, region: str) -> list[dict]:
    """All products of one service code in one region (paginated), JSON-decoded."""
    paginator = client.get_paginator("get_products")
    pages = paginator.paginate(
        ServiceCode=service_code,
        Filters=[{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
        FormatVersion="aws_v1",
    )
    return [json.loads(p) if isinstance(p, str) else p for page in pages for p in page["PriceList"]]


def _usd_per_token(product: dict, service_code: str) -> tuple[float | None, str]:
    """USD per single token from the product's OnDemand price dimension."""
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dim in (term.get("priceDimensions") or {}).values():
            unit = str(dim.get("unit", "")).lower().replace(" ", "").replace("-", "")
            usd = (dim.get("pricePerUnit") or {}).get("USD")
            if usd is None:
                return None, "no USD price"
            per = _UNIT_TOKENS.get(unit, -1)
            if per == -1:
                return None, f"unknown unit {dim.get('unit')!r}"
            if per is None:  # "Units": AmazonBedrockFoundationModels prices are per 1M
                per = 1_000_000 if service_code == "AmazonBedrockFoundationModels" else 1_000
            return float(usd) / per, ""
    return None, "no OnDemand term"


def _model_name(attrs: dict, service_code: str, fragment: str | None) -> str:
    if service_code == "AmazonBedrockFoundationModels":
        return attrs.get("servicename") or attrs.get("model") or ""
    return attrs.get("model") or fragment or ""


def parse_products(products: list[dict], service_code: str, as_of: str) -> tuple[list, list]:
    """Price List products -> (cells, unmapped): one cell per (key, column) price."""
    cells, unmapped = [], []
    for product in products:
        attrs = product.get("product", {}).get("attributes", {})
        ut = parse_usage_type(attrs.get("usagetype", ""))
        name = _model_name(attrs, service_code, ut.model_fragment)

        def skip(reason: str, name=name, attrs=attrs) -> None:
            unmapped.append(
                {
                    "service_code": service_code,
                    "name": name,
                    "usagetype": attrs.get("usagetype", ""),
                    "reason": reason,
                }
            )

        key = model_key_from_product(name)
        if key is None:
            skip("model not in models.csv")
            continue
        if ut.token_kind == "other" or ut.long_context:
            skip("not a standard token price (image, provisioned, custom model, long context)")
            continue
        mode = ut.mode
        if mode in _TIER_OF_MODE:
            tier, column = _TIER_OF_MODE[mode], _TIER_COLUMN.get(ut.token_kind)
        else:
            tier, column = "default", _COLUMN.get((ut.token_kind, mode))
        if column is None:
            skip(f"no sheet column for {ut.token_kind} {mode}")
            continue
        usd, why = _usd_per_token(product, service_code)
        if usd is None:
            skip(why)
            continue
        region = attrs.get("regionCode") or ut.region
        geo = "global" if ut.geo == "global" else "none"
        source = f"AWS Price List API {service_code} {attrs.get('usagetype', '')}"
        cells.append(
            {
                "model": key,
                "region": region,
                "geo": geo,
                "service_tier": tier,
                "column": column,
                "usd_per_1k": round(usd * 1000, 10),
                "source": source,
                "as_of": as_of,
                "service_code": service_code,
                "name": name,
                "usagetype": attrs.get("usagetype", ""),
            }
        )
    return cells, unmapped


_CELL_KEYS = [*KEY_COLUMNS, "column"]


def _clashing(df: pd.DataFrame) -> pd.Series:
    """Cells whose (row key, column) another cell fills at another price."""
    return df.groupby(_CELL_KEYS)["usd_per_1k"].transform("nunique") > 1


def _clash_reason(cell: pd.Series, rivals: pd.DataFrame) -> str:
    others = "; ".join(
        f"{r.usagetype} at {r.usd_per_1k:g}"
        for r in rivals.drop(index=cell.name).itertuples(index=False)
    )
    return (
        f"clash: {cell['column']} of {cell['model']} in {cell['region']} (geo {cell['geo']}, "
        f"tier {cell['service_tier']}) is {cell['usd_per_1k']:g} USD per 1K here and {others}; "
        "the cell is left empty rather than one price picked"
    )


def split_clashes(cells: list[dict]) -> tuple[list[dict], list[dict]]:
    """The cells no other product fills at another price, and an unmapped entry for each
    product of a clash (two meters the usage types do not tell apart, as latency-optimized
    meters once read as standard ones). Identical prices from two products are no clash."""
    if not cells:
        return [], []
    df = pd.DataFrame(cells)
    for col in ("service_code", "name", "usagetype"):
        if col not in df:
            df[col] = ""
    clash = _clashing(df)
    entries = [
        {
            "service_code": cell["service_code"],
            "name": cell["name"],
            "usagetype": cell["usagetype"],
            "reason": _clash_reason(cell, rivals),
        }
        for _, rivals in df[clash].groupby(_CELL_KEYS)
        for _, cell in rivals.iterrows()
    ]
    return [c for c, bad in zip(cells, clash, strict=True) if not bad], entries


def cells_to_sheet(cells: list[dict]) -> pd.DataFrame:
    """Pivot (key, column, price) cells into sheet rows in the bundled format.

    Two cells of one (key, column) at different prices are refused (``split_clashes`` lists
    and takes them out first): which meter is right is not for the pivot to guess.
    """
    if not cells:
        return normalise_sheet(pd.DataFrame(columns=SHEET_COLUMNS), "Price List API")
    df = pd.DataFrame(cells)
    clash = _clashing(df)
    if clash.any():
        shown = df.loc[clash, [*_CELL_KEYS, "usd_per_1k", "source"]].head(4).to_dict("records")
        raise ValueError(
            f"{int(clash.sum())} price cells clash (one cell, different prices), e.g. {shown}; "
            "take them out with split_clashes(), which lists each one"
        )
    wide = df.pivot_table(index=KEY_COLUMNS, columns="column", values="usd_per_1k", aggfunc="first")
    meta = df.groupby(KEY_COLUMNS).agg(
        source=("source", lambda s: "; ".join(sorted(set(s)))), as_of=("as_of", "max")
    )
    sheet = wide.join(meta).reset_index()
    # Geographic profiles (us., eu.) bill at the in-region price; global has its own rows.
    sheet["in_region_is_profile_price"] = sheet["geo"] == "none"
    sheet = normalise_sheet(sheet, "Price List API")
    return _with_min_cache_tokens(sheet)


def _bundled_min_cache_tokens() -> tuple[dict[str, int], str]:
    """Minimum cacheable tokens per model from the bundled current sheet, and its label.

    The Price List API has no such figure; the bundled sheet is where the toolkit keeps it
    (one value per model, from AWS's prompt-caching docs). Where a model's rows disagree the
    larger minimum is kept: a higher minimum never overstates what caching saves.
    """
    name = BUNDLED_SHEETS["current"]
    rows = read_bundled_sheet("current")
    as_of = rows["as_of"].max()
    label = f"{name}" + ("" if pd.isna(as_of) else f" as of {as_of:%Y-%m-%d}")
    mins = rows.dropna(subset=["min_cache_tokens"]).groupby("model")["min_cache_tokens"].max()
    return {str(k): int(v) for k, v in mins.items()}, label


def _with_min_cache_tokens(sheet: pd.DataFrame) -> pd.DataFrame:
    """Fill ``min_cache_tokens`` (absent from the Price List API) from the bundled sheet.

    Each row's ``source`` says where the minimum came from; a row that offers caching for a
    model the bundled sheet has no minimum for says that instead (set one in an override),
    as an empty minimum reads as "any prefix caches".
    """
    if sheet.empty:
        return sheet
    mins, label = _bundled_min_cache_tokens()
    out = sheet.copy()
    known = out["model"].map(mins)
    fill = out["min_cache_tokens"].isna() & known.notna()
    out.loc[fill, "min_cache_tokens"] = known[fill].astype("int64")
    out["source"] = out["source"].astype(object)
    out.loc[fill, "source"] = out.loc[fill, "source"] + f"; min_cache_tokens from {label}"
    unknown = out["min_cache_tokens"].isna() & out["supports_caching"]
    out.loc[unknown, "source"] = (
        out.loc[unknown, "source"]
        + f"; min_cache_tokens unknown (not in {label}): set it in an override"
    )
    return normalise_sheet(out, "Price List API")


def update_sheet(
    regions: list[str],
    out: str | Path,
    client: Any | None = None,
    as_of: str | None = None,
) -> UpdateResult:
    """Query both service codes for ``regions``, write the sheet CSV, return what was unmapped."""
    if client is None:
        import boto3

        client = boto3.client("pricing", region_name=PRICING_ENDPOINT_REGION)
    as_of = as_of or date.today().isoformat()
    cells, unmapped = [], []
    for service_code in SERVICE_CODES:
        for region in regions:
            c, u = parse_products(fetch_products(client, service_code, region), service_code, as_of)
            cells += c
            unmapped += u
    cells, clashes = split_clashes(cells)
    sheet = cells_to_sheet(cells)
    unmapped += clashes
    write_sheet(sheet, out)
    cols = ["service_code", "name", "usagetype", "reason"]
    return UpdateResult(sheet, pd.DataFrame(unmapped, columns=cols))


def write_sheet(sheet: pd.DataFrame, out: str | Path) -> None:
    """Write a sheet in the bundled CSV format (dates as YYYY-MM-DD, booleans lower case)."""
    df = sheet[SHEET_COLUMNS].copy()
    df["as_of"] = df["as_of"].dt.strftime("%Y-%m-%d")
    for col in ("supports_caching", "supports_batch", "in_region_is_profile_price"):
        df[col] = df[col].map({True: "true", False: "false"})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(out, index=False, float_format="%.10g")
