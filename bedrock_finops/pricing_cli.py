"""The ``bedrock-finops prices show|update`` command: print the prices in use, refresh a sheet.

A sheet's or an override file's cells (a model key, a Region, a source), the file's name and
the products the Price List API lists are printed with their control characters escaped
(:mod:`bedrock_finops.terminal_text`): a tampered CSV cannot rewrite the terminal.
"""

from __future__ import annotations

import re
import sys

import pandas as pd

from bedrock_finops import models, price_display
from bedrock_finops.price_sheets import KEY_COLUMNS
from bedrock_finops.run_settings import check_prices, command_line_settings
from bedrock_finops.terminal_text import cells_for_terminal, print_line
from bedrock_finops.user_paths import path_argument


def register(subparsers) -> None:
    """Add ``prices show`` and ``prices update`` to the ``bedrock-finops`` command."""
    p = subparsers.add_parser("prices", help="show or refresh the price sheets")
    sub = p.add_subparsers(dest="prices_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the prices the engine will use, with sources")
    show.add_argument("--sheet", type=path_argument, help="current (default) | seed | a CSV")
    show.add_argument(
        "--model", help="catalog key, a logged model ID (us.…-v1:0, an ARN) or part of a key"
    )
    show.add_argument("--region")
    show.add_argument("--overrides", type=path_argument)
    show.add_argument("--discount-pct", type=float, help="flat negotiated discount, percent")
    show.set_defaults(func=_cmd_show)
    upd = sub.add_parser("update", help="build a sheet from the AWS Price List API")
    upd.add_argument("--region", action="append", dest="regions", help="repeatable")
    upd.add_argument(
        "--out", default="prices_pricelist.csv", type=path_argument, help="CSV to write"
    )
    upd.set_defaults(func=_cmd_update)


# the prices `prices show` loads, each with its flag (argparse dest) and its default
_SHOW_FLAGS = {
    "price_sheet": "sheet",
    "price_overrides": "overrides",
    "discount_pct": "discount_pct",
}
_SHOW_DEFAULTS = {"price_sheet": "current", "price_overrides": "", "discount_pct": 0.0}


def _cmd_show(args) -> int:
    # an error names the flag at fault, as the other commands name theirs (run_settings)
    settings = command_line_settings(_SHOW_DEFAULTS, _SHOW_FLAGS, vars(args))
    cat = check_prices(settings.values, settings.named)
    rows, how = select_models(cat.rows, args.model)
    if rows.empty:
        ref = models.resolve(args.model)
        if ref.key is not None:  # a model the catalog lists, without prices in this sheet
            print_line(
                f"error: --model {args.model!r} is {models.model_info(ref.key).name} "
                f"({ref.key}), which sheet {cat.sheet_name!r} does not price: its calls stay "
                "unpriced. Build a sheet with its prices with `bedrock-finops prices update`, "
                "or give them in an override file (docs/pricing.md)",
                file=sys.stderr,
            )
            return 2
        keys = ", ".join(sorted(cat.rows["model"].unique()))
        print_line(
            f"error: --model {args.model!r}: sheet {cat.sheet_name!r} has no such model (a "
            f"catalog key, a logged model ID or part of a key); its models: {keys}",
            file=sys.stderr,
        )
        return 2
    if args.region and not (rows["region"] == args.region).any():
        regions = ", ".join(sorted(rows["region"].unique()))
        what = f"for --model {args.model!r} " if args.model else ""
        print_line(
            f"error: --region {args.region!r}: sheet {cat.sheet_name!r} has no prices "
            f"{what}there; its regions: {regions}",
            file=sys.stderr,
        )
        return 2
    if args.region:
        rows = rows[rows["region"] == args.region]
    if how:
        print_line(how)
    rates = [c for c in rows.columns if c.endswith("_per_1k")]
    flags = ["in_region_is_profile_price", "as_of"]
    shown = price_display.per_1m(rows[[*KEY_COLUMNS, *rates, *flags]])
    with pd.option_context("display.width", 250, "display.max_rows", 500):
        print(cells_for_terminal(shown).to_string(index=False))
    as_of = cat.as_of.date() if cat.as_of is not None else "undated"
    print()
    print_line(  # the sheet's file name
        f"USD per 1M tokens. sheet: {cat.sheet_name}  as_of: {as_of}  "
        f"discount: {cat.discount_pct}% (applied above)"
    )
    print(
        "in_region_is_profile_price: a cross-region profile (us., eu., ...) of this model bills "
        "the in-region (geo none) row"
    )
    for src in rows["source"].unique():
        print_line(f"source: {src}")
    return 0


def select_models(rows: pd.DataFrame, model: str | None) -> tuple[pd.DataFrame, str]:
    """The sheet rows for ``--model``, and how it was read: a catalog key exactly, a logged
    model ID (geo prefix, version, ARN) by its catalog key, else keys that contain it."""
    if not model:
        return rows, ""
    if (rows["model"] == model).any():
        return rows[rows["model"] == model], ""
    ref = models.resolve(model)
    if ref.key is not None and (rows["model"] == ref.key).any():
        return rows[rows["model"] == ref.key], f"{model} is catalog key {ref.key} (geo {ref.geo})"
    found = rows[rows["model"].str.contains(re.escape(model))]
    keys = ", ".join(sorted(found["model"].unique()))
    return found, f"no catalog key {model!r}; keys containing it: {keys}" if keys else ""


def _cmd_update(args) -> int:
    from bedrock_finops.price_list import update_sheet

    result = update_sheet(
        regions=args.regions or ["us-east-1", "us-west-2", "eu-west-1"], out=args.out
    )
    print_line(f"wrote {len(result.rows)} rows to {args.out}")
    if len(result.unmapped):
        print(f"{len(result.unmapped)} products not in the sheet (each with why):")
        print(cells_for_terminal(result.unmapped).to_string(index=False))
    return 0
