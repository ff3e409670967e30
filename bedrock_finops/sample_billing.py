"""A CUR 2.0 export for the embedded sample, with known gaps between the logs and the bill.

Built from the sample's own usage table priced on the bundled ``current`` sheet, so that every
line the logs explain matches to the cent, plus three planted differences the reconciliation
must find and explain (recorded in ``sample_cur_truth.json``):

- **unlogged traffic**: on one day, Claude Sonnet 4 usage billed but never logged (e.g. an
  account or region without invocation logging) — extra input and output tokens;
- **private pricing**: Llama 3.1 70B billed at a negotiated 15% below list, same tokens. As
  a CUR 2.0 export writes it by default: ``line_item_unblended_cost`` at list, the discount in
  the ``discount`` map (``total_discount``) and ``line_item_net_unblended_cost`` = list +
  discount, the billed figure;
- **Marketplace billing**: Claude models are billed under an opaque Marketplace product code
  ("Claude ... (Amazon Bedrock Edition)"), which a ``Service = Amazon Bedrock`` filter misses.

A tax line and a non-Bedrock (S3) line are included so readers must filter them out.
Marketplace quantities are in millions of tokens with pricing unit ``Units`` (as AWS writes
them; ``sources.cur`` converts them); first-party quantities are in ``1K tokens``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bedrock_finops.models import known_models
from bedrock_finops.schema import read_usage
from bedrock_finops.usage_types import REGION_CODES

MARKETPLACE_CODE = "c9lkq2v0y3b8m4xz1n7pw5tsd"  # opaque, as AWS's Marketplace codes are
UNLOGGED = {
    "day": "2026-10-15",
    "model": "anthropic.claude-sonnet-4",
    "region": "us-east-1",
    "input_tokens": 40_000_000,
    "output_tokens": 4_000_000,
}
PRIVATE_DISCOUNT = {"model": "meta.llama3-1-70b-instruct", "discount_pct": 15.0}
_CODE_OF_REGION = {v: k for k, v in REGION_CODES.items() if k != "EU"}
# usage-type dimension per token kind: (Marketplace CamelCase, first-party suffix)
_KINDS = {
    "input": ("InputTokenCount", "input-tokens", "input_usd", "input_tokens"),
    "output": ("OutputTokenCount", "output-tokens", "output_usd", "output_tokens"),
    "cache_read": (
        "CacheReadInputTokenCount",
        "cache-read-input-token-count",
        "cache_read_usd",
        "cache_read_tokens",
    ),
    "cache_write": (
        "CacheWriteInputTokenCount",
        "cache-write-input-token-count",
        "cache_write_usd",
        "cache_write_tokens",
    ),
}


def write_sample_cur(run_dir: Path, catalog=None) -> Path:
    """Write ``sample_cur.parquet`` (+ ``sample_cur_truth.json``) into ``run_dir``."""
    from bedrock_finops.pricing import PriceCatalog

    run_dir = Path(run_dir)
    usage = read_usage(run_dir / "usage.parquet")
    cat = catalog or PriceCatalog.load("current")
    priced = cat.price(usage)
    frame = pd.DataFrame(
        {
            "day": usage["timestamp"].dt.floor("D"),
            "model": usage["model"].astype("string"),
            "region": usage["region"].astype("string"),
            **{v[3]: usage[v[3]].astype("int64") for v in _KINDS.values()},
            **{v[2]: priced[v[2]].astype("float64") for v in _KINDS.values()},
        }
    )[priced["priced"].astype(bool).to_numpy()]
    daily = frame.groupby(["day", "model", "region"], observed=True).sum().reset_index()
    lines = []
    for row in daily.itertuples(index=False):
        for kind, (mp_dim, fp_suffix, usd_col, tok_col) in _KINDS.items():
            tokens, cost = int(getattr(row, tok_col)), float(getattr(row, usd_col))
            if tokens == 0:
                continue
            line = _line(row.day, row.model, row.region, kind, mp_dim, fp_suffix, tokens, cost)
            if row.model == PRIVATE_DISCOUNT["model"]:
                line["discount"] = -cost * PRIVATE_DISCOUNT["discount_pct"] / 100
            lines.append(line)
    unlogged_usd = 0.0
    day = pd.Timestamp(UNLOGGED["day"], tz="UTC")
    rate = cat.rate(UNLOGGED["model"], UNLOGGED["region"])
    for kind in ("input", "output"):
        tokens = UNLOGGED[f"{kind}_tokens"]
        cost = tokens / 1000 * float(rate[f"{kind}_per_1k"])
        unlogged_usd += cost
        mp_dim, fp_suffix = _KINDS[kind][:2]
        lines.append(
            _line(day, UNLOGGED["model"], UNLOGGED["region"], kind, mp_dim, fp_suffix, tokens, cost)
        )
    lines.append(_other_line(day, "AmazonBedrock", "", "Amazon Bedrock", 0.0, None, 12.34, "Tax"))
    lines.append(
        _other_line(
            day,
            "AmazonS3",
            "USE1-TimedStorage-ByteHrs",
            "Amazon Simple Storage Service",
            100.0,
            "GB-Mo",
            2.30,
            "Usage",
        )
    )
    path = run_dir / "sample_cur.parquet"
    pq.write_table(_table(lines), path)
    llama = daily[daily["model"] == PRIVATE_DISCOUNT["model"]]
    llama_list = float(llama[[v[2] for v in _KINDS.values()]].to_numpy().sum())
    truth = {
        "unlogged": {**UNLOGGED, "billed_usd": round(unlogged_usd, 6)},
        "private_pricing": {
            **PRIVATE_DISCOUNT,
            "list_usd": round(llama_list, 6),
            "billed_usd": round(llama_list * (1 - PRIVATE_DISCOUNT["discount_pct"] / 100), 6),
            "written_as": "line_item_net_unblended_cost and discount.total_discount on the "
            "usage lines (line_item_unblended_cost at list)",
        },
        "marketplace_models": sorted(m for m in daily["model"].unique() if _is_marketplace(m)),
        "tax_usd": 12.34,
        "other_service_lines": 1,
    }
    (run_dir / "sample_cur_truth.json").write_text(
        json.dumps(truth, indent=2) + "\n", encoding="utf-8"
    )
    return path


def _is_marketplace(model: str) -> bool:
    return known_models()[model].provider == "anthropic"


def _line(day, model, region, kind, mp_dim, fp_suffix, tokens, cost) -> dict:
    code = _CODE_OF_REGION.get(region, "USE1")
    info = known_models()[model]
    if _is_marketplace(model):
        return {
            "day": day,
            "product_code": MARKETPLACE_CODE,
            "usage_type": f"{code}-MP:{code}_{mp_dim}-Units",
            "product_name": f"{info.name} (Amazon Bedrock Edition)",
            "amount": tokens / 1e6,
            "unit": "Units",
            "cost": cost,
            "type": "Usage",
            "region": region,
        }
    fragment = info.name.replace(" Instruct", "").replace(" ", "").replace(".", "-")
    return {
        "day": day,
        "product_code": "AmazonBedrock",
        "usage_type": f"{code}-{fragment}-{fp_suffix}",
        "product_name": "Amazon Bedrock",
        "amount": tokens / 1000,
        "unit": "1K tokens",
        "cost": cost,
        "type": "Usage",
        "region": region,
    }


def _other_line(day, code, usage_type, name, amount, unit, cost, kind) -> dict:
    return {
        "day": day,
        "product_code": code,
        "usage_type": usage_type,
        "product_name": name,
        "amount": amount,
        "unit": unit,
        "cost": cost,
        "type": kind,
        "region": "us-east-1" if usage_type else "",
    }


def _table(lines: list[dict]) -> pa.Table:
    """CUR 2.0 columns and types (``product`` is a map column holding product_name; a
    line's discount is in the ``discount`` map and netted into its net unblended cost)."""
    ts = pa.timestamp("ms", tz="UTC")
    days = [pd.Timestamp(x["day"]).to_pydatetime() for x in lines]
    discounts = [x.get("discount", 0.0) for x in lines]
    return pa.table(
        {
            "bill_billing_period_start_date": pa.array([d.replace(day=1) for d in days], ts),
            "line_item_usage_start_date": pa.array(days, ts),
            "line_item_usage_end_date": pa.array([d + dt.timedelta(days=1) for d in days], ts),
            "line_item_product_code": [x["product_code"] for x in lines],
            "line_item_usage_type": [x["usage_type"] for x in lines],
            "line_item_line_item_type": [x["type"] for x in lines],
            "line_item_resource_id": ["" for _ in lines],
            "line_item_usage_amount": pa.array([float(x["amount"]) for x in lines], pa.float64()),
            "line_item_unblended_cost": pa.array([float(x["cost"]) for x in lines], pa.float64()),
            "line_item_net_unblended_cost": pa.array(
                [float(x["cost"]) + d for x, d in zip(lines, discounts, strict=True)], pa.float64()
            ),
            "discount": pa.array(
                [[("total_discount", d)] if d else [] for d in discounts],
                pa.map_(pa.string(), pa.float64()),
            ),
            "pricing_unit": [x["unit"] for x in lines],
            "product": pa.array(
                [
                    [("product_name", x["product_name"]), ("servicecode", x["product_code"])]
                    for x in lines
                ],
                pa.map_(pa.string(), pa.string()),
            ),
            "product_region_code": [x["region"] for x in lines],
        }
    )
