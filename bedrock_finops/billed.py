"""Billed Bedrock cost: one definition, used by the reconciliation, the manifest and the CLI.

**Billed Bedrock usage** (``usage_usd``) is the cost of the billing lines whose line type is
usage or a discount on usage (:data:`USAGE_LINE_TYPES`): on-demand and batch tokens, the
Marketplace lines of Claude and other third-party models, negotiated discounts netted in. It
excludes tax, which is reported on its own line (``tax_usd``), and credits, refunds and fees
(``other_usd``, by line type): they are not the price of usage, so they are never compared with
log-derived cost. ``total_usd`` is every Bedrock line item: usage + tax + the others.

A line with no line type is taken as usage (Cost Explorer answers and some exports have none).

A run compares its logs with the bill over the run's window (:func:`in_window`): a line is in it
when all its days are, ``date`` up to its ``end_date`` (exclusive); the others are reported apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bedrock_finops.amounts import rounded

Window = tuple[dt.date, dt.date]  # first UTC day, and the day after the last

# CUR line item types of a discount written as a line of its own (legacy CUR, and CUR 2.0 with
# "manual discount compatibility"); CUR 2.0 by default nets it into the usage line instead.
# SppDiscount is the Solution Provider Program's: an account bought through a reseller.
DISCOUNT_LINE_TYPES = frozenset(
    {"EdpDiscount", "PrivateRateDiscount", "BundledDiscount", "SppDiscount", "Discount"}
)
# CUR line item types (and FOCUS ChargeCategory "Usage") that are the price of usage.
USAGE_LINE_TYPES = (
    frozenset({"Usage", "DiscountedUsage", "SavingsPlanCoveredUsage"}) | DISCOUNT_LINE_TYPES
)
TAX_LINE_TYPES = frozenset({"Tax"})  # CUR line item type and FOCUS ChargeCategory alike

USAGE_LABEL = "billed Bedrock usage (usage and discount lines, Marketplace included; excl. tax)"
TAX_LABEL = "tax (not usage)"
OTHER_LABEL = "credits, refunds and fees (not usage)"
TOTAL_LABEL = "all Bedrock line items (usage + tax + credits/fees)"


def line_types(billing: pd.DataFrame) -> pd.Series:
    """Each line's type, "Usage" where the source gives none."""
    return billing["line_type"].astype("object").fillna("Usage")


def usage_mask(billing: pd.DataFrame) -> pd.Series:
    """True for the lines that count as billed Bedrock usage."""
    return line_types(billing).isin(USAGE_LINE_TYPES)


def line_days(billing: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each line's first day and the day after its last, as UTC midnights; a frame without
    ``end_date`` (a ``billing.parquet`` written before it existed) has one-day lines."""
    first = pd.to_datetime(billing["date"].astype("object"), utc=True)
    after = first + pd.Timedelta(days=1)
    if "end_date" in billing:
        ends = pd.to_datetime(billing["end_date"].astype("object"), utc=True)
        after = ends.where(ends > first, after)
    return first, after


def in_window(billing: pd.DataFrame, window: Window | None) -> pd.Series:
    """True for the lines whose days all lie in ``window`` (every line when it is None)."""
    if window is None:
        return pd.Series(True, index=billing.index)
    first, after = line_days(billing)
    lo, hi = (pd.Timestamp(d, tz="UTC") for d in window)
    return (first >= lo) & (after <= hi)


@dataclass(frozen=True)
class BilledTotals:
    """Billed Bedrock cost split the one way every report uses."""

    usage_usd: float
    tax_usd: float
    other_usd: dict[str, float] = field(default_factory=dict)  # by line type
    lines: int = 0
    usage_lines: int = 0

    @property
    def other_total_usd(self) -> float:
        return float(sum(self.other_usd.values()))

    @property
    def total_usd(self) -> float:
        return self.usage_usd + self.tax_usd + self.other_total_usd

    def labelled(self) -> dict[str, float]:
        """The four figures under labels that say what each includes, in USD."""
        return {
            USAGE_LABEL: self.usage_usd,
            TAX_LABEL: self.tax_usd,
            OTHER_LABEL: self.other_total_usd,
            TOTAL_LABEL: self.total_usd,
        }

    def for_manifest(self) -> dict[str, Any]:
        """JSON-ready, rounded as the figures are shown (``amounts.rounded``: to the cent, a
        sub-cent amount to two significant digits); ``billed_usd`` is billed Bedrock usage,
        no tax."""
        return {
            "billed_usd": rounded(self.usage_usd),
            "billed_usd_is": USAGE_LABEL,
            "tax_usd": rounded(self.tax_usd),
            "credits_refunds_fees_usd": {k: rounded(v) for k, v in self.other_usd.items()},
            "all_line_items_usd": rounded(self.total_usd),
            "usage_lines": self.usage_lines,
        }


def billed_totals(billing: pd.DataFrame) -> BilledTotals:
    """Split a billing frame (:mod:`bedrock_finops.sources.cur`) into usage, tax and others."""
    kinds = line_types(billing)
    cost = billing["cost_usd"].astype(float)
    usage = kinds.isin(USAGE_LINE_TYPES)
    tax = kinds.isin(TAX_LINE_TYPES)
    others = cost[~usage & ~tax].groupby(kinds[~usage & ~tax]).sum()
    return BilledTotals(
        usage_usd=float(cost[usage].sum()),
        tax_usd=float(cost[tax].sum()),
        other_usd={str(k): float(v) for k, v in others.items()},
        lines=len(billing),
        usage_lines=int(usage.sum()),
    )
