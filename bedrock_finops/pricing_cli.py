"""The ``bedrock-finops prices show|update`` command: print the prices in use, refresh a sheet."""

from __future__ import annotations

import re

import pandas as pd

from bedrock_finops.price_sheets import KEY_COLUMNS
from bedrock_finops.pricing import PriceCatalog


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
