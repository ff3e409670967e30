"""The largest groups of a table or chart, and what is left out of it.

A table or chart cut to its ``top_n`` groups says so and still adds up: the groups past the
top are summed as one ``other (K apps)`` row, bar or line where their values add up (spend),
or counted as not shown where they do not (a score); a list of names names a few and counts
the rest (``a, b, c and 145 more``), so a thousand apps never make a line or an image
thousands of characters wide.
"""

from __future__ import annotations

import re

import pandas as pd

from bedrock_finops.amounts import usd

OTHER = "other"
_OTHER_LABEL = re.compile(r"other \(\d[\d,]* [^()]+\)")
_IRREGULAR = {"identity": "identities", "category": "categories", "day": "days"}


def plural(noun: str) -> str:
    """``app`` -> ``apps``, ``identity`` -> ``identities``."""
    return _IRREGULAR.get(noun, noun + "s")


def counted(count: int, noun: str) -> str:
    """``1 app``, ``1,000 apps``."""
    return f"{count:,} {noun if count == 1 else plural(noun)}"


def other_label(count: int, noun: str) -> str:
    """The name of the row, bar or line that sums ``count`` groups: ``other (15 apps)``."""
    return f"{OTHER} ({counted(count, noun)})"


def is_other(label: object) -> bool:
    """Whether ``label`` names the sum of the groups past the top (:func:`other_label`)."""
    return isinstance(label, str) and _OTHER_LABEL.fullmatch(label) is not None


def named(names: list[str], most: int, noun: str = "") -> str:
    """``names`` joined, at most ``most`` of them, then how many more: ``a, b and 3 more``
    (``and 3 more apps`` with ``noun``)."""
    shown = ", ".join(names[:most])
    left = len(names) - most
    if left <= 0:
        return shown
    return f"{shown} and {left:,} more" + (f" {plural(noun) if left > 1 else noun}" if noun else "")


def ranked(values: pd.Series | pd.DataFrame, rank_by: pd.Series | None = None) -> pd.Index:
    """The labels of ``values`` (its index), largest first: by ``rank_by`` when given (a
    label it lacks ranks last), else by the value (a frame's row total); a label with no
    value at all (NaN: unpriced) ranks last. Ties keep the order of ``values``."""
    if rank_by is None:
        key = values if isinstance(values, pd.Series) else values.sum(axis=1, min_count=1)
    else:
        key = rank_by.reindex(values.index)
    order = key.astype("float64").sort_values(ascending=False, na_position="last", kind="stable")
    return order.index


def sum_rest(
    values: pd.Series | pd.DataFrame,
    n: int,
    noun: str,
    rank_by: pd.Series | None = None,
) -> pd.Series | pd.DataFrame:
    """The ``n`` largest rows of ``values`` (see :func:`ranked`), in their own order, then one
    ``other (K apps)`` row summing the ``K`` others, so the rows add up to the whole. A sum
    of rows none of which has a value is NaN (unknown), never 0. Unchanged with ``n`` rows
    or fewer."""
    if len(values) <= n:
        return values
    top = ranked(values, rank_by)[:n]
    kept = values.index.isin(top)
    rest = values[~kept]
    other = rest.sum(min_count=1)
    label = other_label(len(rest), noun)
    if isinstance(values, pd.Series):
        out = pd.concat([values[kept], pd.Series({label: other}, name=values.name)])
    else:
        out = pd.concat([values[kept], other.to_frame(label).T.astype(values.dtypes)])
    return out.rename_axis(values.index.name)


def leave_out(
    values: pd.Series | pd.DataFrame, n: int, rank_by: pd.Series | None = None
) -> pd.Series | pd.DataFrame:
    """The ``n`` largest rows of ``values`` (see :func:`ranked`), in their own order: for
    values that do not add up (a score), which :func:`cut_note` then counts as not shown."""
    if len(values) <= n:
        return values
    return values[values.index.isin(ranked(values, rank_by)[:n])]


def cut_note(
    total: int, n: int, noun: str, *, summed: bool, by: str = "spend", other: str = "sums"
) -> str:
    """What a table or chart of the top ``n`` of ``total`` groups leaves out, or "" when it
    shows them all: ``top 10 of 1,000 apps by spend; other (990 apps) sums the rest`` or,
    for values that do not add up, ``...; 990 not shown``. ``other``: what the other line
    does with the rest (``counts``, for lines of a label each)."""
    if total <= n:
        return ""
    head = f"top {n:,} of {counted(total, noun)} by {by}"
    if summed:
        return f"{head}; {other_label(total - n, noun)} {other} the rest"
    return f"{head}; {total - n:,} not shown"


def share_note(cost: pd.Series, n: int, noun: str) -> str:
    """How much of the spend the first ``n`` rows of a table hold, largest first: ``top 10
    of 1,000 segments by spend: $15.00 of $651.90 priced spend (2.3%); the other 990 hold
    the rest``, or ``all 9 segments shown: $519.10 priced spend``; with none priced, says so
    rather than "$0.00 priced spend"."""
    if not cost.notna().any():
        rows = "all " if len(cost) <= n else f"{n:,} of "
        return f"{rows}{counted(len(cost), noun)} shown: no priced spend (every request unpriced)"
    shown, total = float(cost.iloc[:n].sum()), float(cost.sum())
    if len(cost) <= n:
        return f"all {counted(len(cost), noun)} shown: {usd(total)} priced spend"
    pct = f" ({100 * shown / total:.1f}%)" if total else ""
    return (
        f"top {n:,} of {counted(len(cost), noun)} by spend: {usd(shown)} of {usd(total)} "
        f"priced spend{pct}; the other {len(cost) - n:,} hold the rest"
    )
