"""``bedrock-finops billing``: read a CUR 2.0, FOCUS or Cost Explorer source and show it.

The screen shows billed Bedrock usage per day and model (:mod:`bedrock_finops.billed`: usage
and discount lines, no tax) with its total, then tax, credits and fees on lines of their own,
and the total of every Bedrock line item. ``--out`` writes every Bedrock line item read (usage,
discounts, tax, credits, fees; ``line_type`` says which), so that file sums to the last total.
A value the export holds (a line type, a file or folder name in a note) is printed with its
control characters escaped (:mod:`bedrock_finops.terminal_text`); the ``--out`` file keeps it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from bedrock_finops.amounts import usd
from bedrock_finops.billed import billed_totals
from bedrock_finops.terminal_text import cells_for_terminal, for_terminal, print_line
from bedrock_finops.user_paths import path_argument

OUT_HELP = (
    "also write every Bedrock line item read (usage, discounts, tax, credits, fees; the "
    "line_type column says which) to this .parquet or .csv file; it sums to the 'all Bedrock "
    "line items' total printed last"
)


def billed_by_day_and_model(billing: pd.DataFrame) -> pd.DataFrame:
    """Billed Bedrock usage (no tax) per (date, model), Marketplace share alongside; a bill
    with lines longer than a day (a monthly export) also shows where each ends (``end_date``,
    exclusive)."""
    from bedrock_finops.reconcile import billed_side, period_days

    bill = billed_side(billing)
    period = ["date", "end_date"] if (period_days(bill) > 1).any() else ["date"]
    return bill[[*period, "model", "billed_usd", "billed_tokens", "marketplace_usd"]]


def report(billing: pd.DataFrame) -> str:
    """What the command prints: the per day/model table, then the labelled totals, the
    export's values in them escaped for the terminal."""
    table = billed_by_day_and_model(billing)
    totals = billed_totals(billing)
    out = []
    if len(table):
        shown = table.assign(
            billed_usd=table["billed_usd"].map(usd),
            marketplace_usd=table["marketplace_usd"].map(usd),
            billed_tokens=table["billed_tokens"].map(
                lambda v: "n/a" if pd.isna(v) else f"{v:,.0f}"
            ),
        )
        out.append(cells_for_terminal(shown).to_string(index=False))
    else:
        out.append("no Bedrock usage lines")
    width = max(len(k) for k in totals.labelled())
    out.append("")
    for label, value in totals.labelled().items():
        out.append(f"{label:<{width}}  {usd(value):>12}")
    for kind, value in totals.other_usd.items():  # the export's line type, as it spells it
        out.append(f"{'  of which ' + for_terminal(kind):<{width}}  {usd(value):>12}")
    other = billing.attrs.get("rows_other_services", 0)
    out.append(
        f"\n{totals.lines} Bedrock line item(s), {totals.usage_lines} of them usage; "
        f"{other} line(s) of other services skipped"
    )
    return "\n".join(out)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "billing",
        help="billed Bedrock usage per day and model, tax and credits apart, with totals "
        "(CUR 2.0, FOCUS or Cost Explorer)",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--cur",
        nargs="+",
        type=path_argument,
        metavar="PATH",
        help="CUR 2.0 parquet/CSV files or folders",
    )
    src.add_argument(
        "--focus",
        nargs="+",
        type=path_argument,
        metavar="PATH",
        help="FOCUS 1.0/1.2 export files",
    )
    src.add_argument(
        "--cost-explorer",
        nargs=2,
        metavar=("START", "END"),
        help="query Cost Explorer for the UTC days [START, END), ISO-8601 dates (YYYY-MM-DD; "
        "a time of day rounds START down and END up to a day, an offset is converted to UTC); "
        "each request costs $0.01",
    )
    p.add_argument("--out", type=path_argument, help=OUT_HELP)
    p.set_defaults(func=_billing_command)


def _billing_command(args: argparse.Namespace) -> int:
    from bedrock_finops.sources import cost_explorer, cur

    if args.cur:
        billing = cur.read_cur(args.cur)
    elif args.focus:
        billing = cur.read_focus(args.focus)
    else:
        billing = cost_explorer.read_cost_explorer(*args.cost_explorer)
        first, after = billing.attrs["ce_period"]
        print_line(f"Cost Explorer, UTC days [{first}, {after})")
    print(report(billing))
    if args.out:
        out = Path(args.out)
        if out.suffix == ".parquet":
            billing.to_parquet(out)
        else:
            billing.to_csv(out, index=False)
        total = billed_totals(billing).total_usd
        print_line(f"{len(billing)} Bedrock line item(s) summing to {usd(total)} written to {out}")
    return 0
