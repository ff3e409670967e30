"""Log-derived cost vs the bill, per day and model, with the gap explained from the numbers.

``log_costs`` is what the invocation logs price to: one row per (date, model[, region]) with
``cost_usd`` and ``requests``, and optionally token totals (``tokens``, or the four usage-table
columns ``input_tokens``, ``output_tokens``, ``cache_read_tokens``, ``cache_write_tokens``).
Logged requests without a price (:func:`bedrock_finops.baseline.log_costs` keeps them) count
in ``requests`` and the token totals, and apart in ``unpriced_requests`` and
``unpriced_tokens``; ``cost_usd`` covers the priced requests only (NaN: none priced). Without
an ``unpriced_requests`` column, a row whose ``cost_usd`` is NaN is taken as unpriced.
``billing`` is the frame of :mod:`bedrock_finops.sources.cur` (CUR, FOCUS or Cost Explorer).

Logs and bill are compared at the bill's own granularity: per model and day, or, for billed
lines longer than a day (a monthly CUR export, ``end_date`` in the billing frame), over the
line's days, the logs of those days summed (row ``date`` to ``end_date``, exclusive).

Each (period, model) gets one or more labels, each decided from quantities and costs:

- ``within tolerance``: billed and logged cost differ by at most ``tolerance_pct`` percent of
  the billed cost (or by less than half a cent, ``HALF_CENT``).
- ``unlogged traffic``: billed usage on a day/model with no logged requests, or billed tokens
  above logged tokens by more than the tolerance (``tolerance_pct`` percent of the logged
  tokens: calls made without invocation logging).
- ``logged but unpriced``: the bill is above the logged cost, and some of the day/model's
  logged requests have no price (a region or model missing from the price sheet): the
  traffic was logged, its cost is unknown, so the gap is not blamed on missing logging.
  Added after another label when the row has unpriced requests; when billed tokens also
  exceed every logged token, ``unlogged traffic`` follows it.
- ``private pricing / discount``: billed and logged tokens agree within the tolerance and the
  bill is lower (``billed_rate_ratio`` = billed cost per token / logged cost per priced
  token, below 1); or, without token counts, discount line items account for the gap.
- ``billed above log price``: billed and logged tokens agree but the bill is higher (ratio
  above 1): the price sheet is stale or lacks a tier or surcharge the bill applies.
- ``not in bill``: logged usage with nothing billed (billing lag, another payer account).
- ``logged tokens not billed``: logged tokens exceed billed tokens beyond the tolerance.
- ``unexplained``: none of the above can be shown from the data.
- ``Marketplace billing``: added when part of the bill is under a Marketplace product (Claude
  and other third-party models), which a ``Service = Amazon Bedrock`` filter would miss.
- ``unmapped billing line``: billed lines whose model could not be identified.

The billed side is billed Bedrock usage as :mod:`bedrock_finops.billed` defines it (usage and
discount lines, no tax). Tax, credits, refunds and fees are not usage: they are left out of the
comparison and reported in the totals on their own lines (``tax_usd``, ``other_excluded_usd``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from bedrock_finops.amounts import NOISE, clean, pct, usd
from bedrock_finops.billed import (
    BilledTotals,
    Window,
    billed_totals,
    in_window,
    line_days,
    usage_mask,
)
from bedrock_finops.sources.cur import separate_discounts

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
TOKEN_KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
LOG_REQUIRED = ("date", "model", "cost_usd", "requests")
UNMAPPED = "unmapped"

HALF_CENT = 0.005  # a gap below half a cent is rounding in the bill, whatever its percentage
WITHIN = "within tolerance"
UNLOGGED = "unlogged traffic"
UNPRICED = "logged but unpriced"
DISCOUNT = "private pricing / discount"
ABOVE_PRICE = "billed above log price"
NOT_BILLED = "not in bill"
UNDER_BILLED = "logged tokens not billed"
UNEXPLAINED = "unexplained"
MARKETPLACE = "Marketplace billing"
UNMAPPED_LINE = "unmapped billing line"

ROW_COLUMNS = [
    "date",
    "end_date",
    "model",
    "log_usd",
    "billed_usd",
    "gap_usd",
    "gap_pct_of_billed",
    "gap_pct_of_logged",
    "explanation",
    "requests",
    "unpriced_requests",
    "log_tokens",
    "unpriced_tokens",
    "billed_tokens",
    "billed_rate_ratio",
    "marketplace_usd",
    "discount_usd",
]


@dataclass
class Reconciliation:
    """Per (period, model) rows, totals and a short text summary."""

    rows: pd.DataFrame
    totals: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    tolerance_pct: float = 2.0
    billed: BilledTotals | None = None  # the bill's usage / tax / other split, in the window
    window: Window | None = None  # the days compared: first, and the day after the last


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.astype("object"), utc=True).dt.date


def _log_lines(log_costs: pd.DataFrame) -> pd.DataFrame:
    """The logged side, one row per row of ``log_costs``, checked and normalised."""
    missing = [c for c in LOG_REQUIRED if c not in log_costs.columns]
    if missing:
        raise ValueError(
            f"log_costs lacks column(s) {missing}; expected date, model, region, cost_usd, "
            "requests (and optionally tokens or the four token columns of the usage table)"
        )
    cost = pd.to_numeric(log_costs["cost_usd"]).astype(float)
    requests = pd.to_numeric(log_costs["requests"]).astype(float)
    df = pd.DataFrame(
        {
            "date": _day(log_costs["date"]),
            "model": log_costs["model"].astype("object").fillna("unknown"),
            "log_usd": cost.fillna(0.0),  # priced requests only; unpriced ones are counted
            "requests": requests,
        }
    )
    if "unpriced_requests" in log_costs:
        df["unpriced_requests"] = pd.to_numeric(log_costs["unpriced_requests"]).fillna(0.0)
    else:
        df["unpriced_requests"] = requests.where(cost.isna(), 0.0)
    if "tokens" in log_costs:
        df["log_tokens"] = pd.to_numeric(log_costs["tokens"]).astype(float)
    elif all(c in log_costs for c in TOKEN_COLUMNS):
        df["log_tokens"] = sum(pd.to_numeric(log_costs[c]).fillna(0) for c in TOKEN_COLUMNS)
    else:
        df["log_tokens"] = np.nan
    if "unpriced_tokens" in log_costs:
        df["unpriced_tokens"] = pd.to_numeric(log_costs["unpriced_tokens"]).fillna(0.0)
    else:
        df["unpriced_tokens"] = df["log_tokens"].where(cost.isna(), 0.0)
    return df


def _group_logs(lines: pd.DataFrame) -> pd.DataFrame:
    return lines.groupby(["date", "end_date", "model"], as_index=False).agg(
        log_usd=("log_usd", "sum"),
        requests=("requests", "sum"),
        unpriced_requests=("unpriced_requests", "sum"),
        log_tokens=("log_tokens", lambda s: s.sum(min_count=1)),
        unpriced_tokens=("unpriced_tokens", lambda s: s.sum(min_count=1)),
    )


def billed_side(billing: pd.DataFrame) -> pd.DataFrame:
    """Billed Bedrock usage (no tax) per line period (``date`` to ``end_date``, exclusive: one
    day on a daily or hourly bill) and model: cost, tokens, Marketplace, discounts."""
    return _group_bill(_bill_lines(billing))


def _bill_lines(billing: pd.DataFrame) -> pd.DataFrame:
    """The billed side, one row per usage line. A line in tokens of no known kind (no usage
    type to tell input from output or cache) leaves its row's billed tokens unknown, as a
    token line in another unit does: counted as 0 it would read as logged tokens not billed."""
    usage = billing[usage_mask(billing)]
    kind = usage["token_kind"].astype("object")
    in_tokens = usage["unit"].astype("object") == "tokens"
    token_line = kind.isin(TOKEN_KINDS)
    counted = token_line & in_tokens
    first, after = line_days(usage)
    df = pd.DataFrame(
        {
            "date": first.dt.date,
            "end_date": after.dt.date,
            "model": usage["model"].astype("object").fillna(UNMAPPED),
            "billed_usd": usage["cost_usd"].astype(float),
            "billed_tokens": usage["quantity"].astype(float).where(counted, 0.0),
            "uncounted": ((token_line & ~counted) | (kind.isna() & in_tokens)).astype(int),
            "marketplace_usd": usage["cost_usd"].astype(float).where(usage["marketplace"], 0.0),
            "discount_usd": _discounts(usage),
        }
    )
    return df


def _group_bill(lines: pd.DataFrame) -> pd.DataFrame:
    grouped = lines.groupby(["date", "end_date", "model"], as_index=False).sum()
    # Tokens are comparable only when every token line was in tokens.
    grouped["billed_tokens"] = grouped["billed_tokens"].where(grouped["uncounted"] == 0, np.nan)
    return grouped.drop(columns="uncounted")


def period_days(frame: pd.DataFrame) -> pd.Series:
    """How many days each row covers, ``date`` up to ``end_date`` (exclusive)."""
    pairs = zip(frame["date"], frame["end_date"], strict=True)
    return pd.Series([(after - first).days for first, after in pairs], frame.index, "int64")


def _merged_spans(bill: pd.DataFrame) -> pd.DataFrame:
    """Per model, the billed lines of more than one day (a monthly export's), merged where they
    overlap: stretches the bill can only be compared with as a whole."""
    long = bill[period_days(bill) > 1]
    spans = []
    for model, lines in long.sort_values(["model", "date"]).groupby("model", sort=False):
        start, end = None, None
        for first, after in zip(lines["date"], lines["end_date"], strict=True):
            if end is not None and first < end:  # overlaps the span so far
                end = max(end, after)
                continue
            if end is not None:
                spans.append((model, start, end))
            start, end = first, after
        spans.append((model, start, end))
    return pd.DataFrame(spans, columns=["model", "span_date", "span_end"], dtype="object")


def _days_of(spans: pd.DataFrame, first: str, after: str) -> pd.DataFrame:
    """``spans`` with one row per day of each, that day in ``date``."""
    days = [
        [start + dt.timedelta(days=k) for k in range((end - start).days)]
        for start, end in zip(spans[first], spans[after], strict=True)
    ]
    out = spans.assign(date=pd.Series(days, index=spans.index, dtype="object"))
    return out.explode("date") if len(out) else out


def _onto_spans(side: pd.DataFrame, span_days: pd.DataFrame) -> pd.DataFrame:
    """``side`` with each (date, model) moved onto the span holding it: ``date`` is the span's
    first day and ``end_date`` the day after its last; a day in no span stays a day of its own."""
    merged = side.drop(columns="end_date", errors="ignore").merge(
        span_days, on=["model", "date"], how="left"
    )
    spanned = merged["span_date"].notna()
    merged["end_date"] = merged["span_end"].where(
        spanned, merged["date"].map(lambda d: d + dt.timedelta(days=1))
    )
    merged["date"] = merged["span_date"].where(spanned, merged["date"])
    return merged.drop(columns=["span_date", "span_end"])


def _as_window(window: tuple | None) -> Window | None:
    if window is None:
        return None
    first, after = (pd.Timestamp(d).date() for d in window)
    return first, after


def _covered_days(lines: pd.DataFrame, window: Window) -> pd.DataFrame:
    """(model, date) of each day of the window some line of ``lines`` covers."""
    first, after = window
    reaching = lines[(lines["date"] < after) & (lines["end_date"] > first)][
        ["model", "date", "end_date"]
    ]
    clipped = reaching.assign(
        date=reaching["date"].map(lambda d: max(d, first)),
        end_date=reaching["end_date"].map(lambda d: min(d, after)),
    )
    return _days_of(clipped, "date", "end_date")[["model", "date"]].drop_duplicates()


def _logs_in_window(
    logs: pd.DataFrame,
    compared_bill: pd.DataFrame,
    left_out_bill: pd.DataFrame,
    window: Window | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(logs compared, logs left out): left out are the days outside the window, and a model's
    days under a billed line left out for reaching beyond the window (a monthly line against a
    week's window cannot be split, so neither side of it is compared), unless a compared line
    of the model covers the day too (its daily lines inside the window): those logs are
    compared with them, never both left out and compared."""
    if window is None:
        return logs, logs.iloc[:0]
    first, after = window
    outside = ~logs["date"].map(lambda d: first <= d < after).astype(bool)
    under_left_out = _on_days(logs, _covered_days(left_out_bill, window))
    under_compared = _on_days(logs, _covered_days(compared_bill, window))
    out = outside | (under_left_out & ~under_compared)
    return logs[~out], logs[out]


def _on_days(logs: pd.DataFrame, days: pd.DataFrame) -> pd.Series:
    """Whether each log row's (model, date) is one of ``days``."""
    merged = logs[["model", "date"]].merge(days, how="left", indicator=True)["_merge"]
    return pd.Series((merged == "both").to_numpy(), index=logs.index)


def _compared_periods(logs: pd.DataFrame, bill: pd.DataFrame) -> pd.DataFrame:
    """Logged and billed usage side by side per model and period: a day, or the span of
    billed lines longer than a day (a monthly export), with the logs of its days summed."""
    span_days = _days_of(_merged_spans(bill), "span_date", "span_end")
    logs = _group_logs(_onto_spans(logs, span_days))
    bill = _group_bill(_onto_spans(bill, span_days))
    return logs.merge(bill, on=["date", "end_date", "model"], how="outer")


def _discounts(usage: pd.DataFrame) -> pd.Series:
    """The discount in each line's cost: netted into a usage line, or a discount line's own."""
    if "discount_usd" in usage:
        return usage["discount_usd"].astype(float).fillna(0.0)
    return separate_discounts(usage)  # a billing.parquet written before the column existed


def _pct(part: float, whole: float) -> float:
    return part / whole * 100 if whole else (0.0 if not part else float(np.sign(part)) * 100)


def _token_gap_pct(row: pd.Series) -> float:
    """Billed tokens above (+) or below (-) every logged token, priced or not; NaN: unknown."""
    log_t, bill_t = row["log_tokens"], row["billed_tokens"]
    if pd.notna(log_t) and pd.notna(bill_t) and log_t > 0:
        return _pct(bill_t - log_t, log_t)
    return float("nan")


def _explain(row: pd.Series, tol: float) -> str:
    labels = [_primary(row, tol)]
    if labels[0] == UNPRICED and _token_gap_pct(row) > tol:
        labels.append(UNLOGGED)
    if row["unpriced_requests"] > 0 and labels[0] != UNPRICED:
        labels.append(UNPRICED)
    if row["marketplace_usd"] > 0:
        labels.append(MARKETPLACE)
    return "; ".join(labels)


def _primary(row: pd.Series, tol: float) -> str:
    if row["model"] == UNMAPPED:
        return UNMAPPED_LINE
    if row["requests"] == 0 and row["log_usd"] == 0 and row["billed_usd"] > 0:
        return UNLOGGED
    if row["billed_usd"] == 0 and (row["log_usd"] > 0 or row["unpriced_requests"] > 0):
        return NOT_BILLED
    if abs(row["gap_usd"]) < HALF_CENT or abs(row["gap_pct_of_billed"]) <= tol:
        return WITHIN
    if row["unpriced_requests"] > 0 and row["gap_usd"] > 0:
        return UNPRICED  # part of the bill is logged traffic the sheet cannot price
    token_gap = _token_gap_pct(row)
    if pd.notna(token_gap):
        if token_gap > tol:
            return UNLOGGED
        if token_gap < -tol:
            return UNDER_BILLED
        return DISCOUNT if row["gap_usd"] < 0 else ABOVE_PRICE
    if row["discount_usd"] < 0 and abs(row["gap_usd"] - row["discount_usd"]) <= tol / 100 * abs(
        row["log_usd"]
    ):
        return DISCOUNT
    return UNEXPLAINED


def reconcile(
    log_costs: pd.DataFrame,
    billing: pd.DataFrame,
    *,
    tolerance_pct: float = 2.0,
    window: tuple[dt.date, dt.date] | None = None,
) -> Reconciliation:
    """Compare log-derived cost with billed cost per (period, model) and explain each gap:
    a period is a day, or the days of a billed line longer than one (a monthly export).

    ``window`` (first day, day after the last; the run's) limits the comparison to the days
    the logs were read for: billed lines outside it, or reaching beyond it, are left out with
    the logs of the days they cover (unless a compared line of the model covers them too),
    and reported apart (``outside_window_*`` totals, a
    sentence of the summary) rather than read as unlogged traffic. None compares every day.

    Every percentage names its base: ``gap_pct_of_billed`` = gap / billed (-100 when nothing
    was billed), the share of the bill the logs do not explain; ``gap_pct_of_logged`` = gap /
    logged = billed / logged - 1 (NaN when nothing priced was logged). Logged cost is priced at
    the sheet's rates (list prices unless a discount or overrides were given), so on a
    ``private pricing / discount`` row ``gap_pct_of_logged`` is the discount off list: a 15%
    private rate reads -15.0, where ``gap_pct_of_billed`` would read -17.6. ``tolerance_pct`` is
    a percentage of the billed cost (and, for tokens, of the logged tokens).
    """
    window = _as_window(window)
    inside = in_window(billing, window)
    compared_bill = _bill_lines(billing[inside])
    logs, logs_out = _logs_in_window(
        _log_lines(log_costs), compared_bill, _bill_lines(billing[~inside]), window
    )
    df = _compared_periods(logs, compared_bill)
    for col in (
        "log_usd",
        "requests",
        "unpriced_requests",
        "billed_usd",
        "marketplace_usd",
        "discount_usd",
    ):
        df[col] = df[col].fillna(0.0).astype(float)
    df["unpriced_tokens"] = df["unpriced_tokens"].where(df["log_tokens"].notna())
    gap = df["billed_usd"] - df["log_usd"]
    df["gap_usd"] = gap.where(gap.abs() >= NOISE, 0.0)  # equal sums in another order: not a gap
    df["gap_pct_of_billed"] = [
        _pct(g, b) if b else (-100.0 if lg else 0.0)
        for g, b, lg in zip(df["gap_usd"], df["billed_usd"], df["log_usd"], strict=True)
    ]
    df["gap_pct_of_logged"] = (df["gap_usd"] / df["log_usd"] * 100).where(df["log_usd"] > 0)
    # cost per token of the priced logged requests vs of the bill (NaN where either is unknown)
    priced_tokens = df["log_tokens"] - df["unpriced_tokens"].fillna(0.0)
    log_rate = (df["log_usd"] / priced_tokens).where((priced_tokens > 0) & (df["log_usd"] > 0))
    bill_rate = df["billed_usd"] / df["billed_tokens"]
    df["billed_rate_ratio"] = (bill_rate / log_rate).replace([np.inf, -np.inf], np.nan)
    df["explanation"] = [_explain(r, tolerance_pct) for _, r in df.iterrows()]
    df = df.sort_values(["date", "end_date", "model"], ignore_index=True)[ROW_COLUMNS]
    for col in ("date", "end_date"):
        df[col] = df[col].astype(pd.ArrowDtype(pa.date32()))
    df["explanation"] = df["explanation"].astype("string[pyarrow]")
    df["model"] = df["model"].astype("string[pyarrow]")
    billed = billed_totals(billing[inside])
    totals = _totals(df, billed, tolerance_pct)
    totals.update(_left_out(billed_totals(billing[~inside]), logs_out))
    summary = _summary(df, totals, window)
    return Reconciliation(df, totals, summary, tolerance_pct, billed, window)


def _left_out(outside: BilledTotals, logs_out: pd.DataFrame) -> dict[str, float]:
    """What the window leaves out of the comparison, on either side."""
    return {
        "outside_window_usd": outside.usage_usd,
        "outside_window_incl_tax_usd": outside.total_usd,
        "outside_window_lines": outside.lines,
        "outside_window_log_usd": float(logs_out["log_usd"].sum()),
        "outside_window_requests": int(logs_out["requests"].sum()),
    }


def _gap_with(df: pd.DataFrame, label: str) -> float:
    return clean(float(_with(df, label)["gap_usd"].sum()))


def _with(df: pd.DataFrame, label: str) -> pd.DataFrame:
    return df[df["explanation"].str.split("; ").str[0] == label]


def _totals(df: pd.DataFrame, bill: BilledTotals, tolerance_pct: float) -> dict[str, float]:
    log_usd, billed = float(df["log_usd"].sum()), float(df["billed_usd"].sum())
    gap = clean(billed - log_usd)
    discounted = _with(df, DISCOUNT)
    disc_log = float(discounted["log_usd"].sum())
    totals = {
        "log_usd": log_usd,
        "billed_usd": billed,
        "gap_usd": gap,
        "gap_pct_of_billed": _pct(gap, billed),  # -100 when nothing was billed, as on the rows
        "gap_pct_of_logged": _pct(gap, log_usd) if log_usd else float("nan"),
        "tolerance_pct": float(tolerance_pct),
        # billed / logged - 1 over the discount rows: the discount off the sheet's price
        "discount_pct_of_logged": (
            _pct(float(discounted["gap_usd"].sum()), disc_log) if disc_log else float("nan")
        ),
        "marketplace_usd": float(df["marketplace_usd"].sum()),
        "unlogged_usd": _gap_with(df, UNLOGGED),
        "unpriced_usd": _gap_with(df, UNPRICED),
        "discount_usd": _gap_with(df, DISCOUNT),
        "above_log_price_usd": _gap_with(df, ABOVE_PRICE),
        "not_billed_usd": _gap_with(df, NOT_BILLED) + _gap_with(df, UNDER_BILLED),
        "unexplained_usd": _gap_with(df, UNEXPLAINED) + _gap_with(df, UNMAPPED_LINE),
        "within_tolerance_usd": _gap_with(df, WITHIN),
        "tax_usd": bill.tax_usd,
        "other_excluded_usd": bill.other_total_usd,
        "billed_incl_tax_usd": bill.total_usd,
        "days": _days_covered(df),
        "unpriced_requests": int(df["unpriced_requests"].sum()),
    }
    return totals


def _days_covered(rows: pd.DataFrame) -> int:
    """Distinct days the rows compare (a monthly row counts each of its days)."""
    periods = rows[["date", "end_date"]].astype("object").drop_duplicates()
    return int(_days_of(periods, "date", "end_date")["date"].nunique())


def _summary(df: pd.DataFrame, t: dict[str, float], window: Window | None) -> str:
    left_out = _left_out_text(t, window)
    if df.empty:
        return " ".join(
            ["Nothing to reconcile: no logged cost and no billed Bedrock usage.", left_out]
        ).strip()
    share = t["log_usd"] / t["billed_usd"] * 100 if t["billed_usd"] else float("nan")
    lines = [
        f"Logs price to {usd(t['log_usd'])} against {usd(t['billed_usd'])} of billed Bedrock "
        f"usage (excl. tax) over {t['days']} day(s), {pct(share)} of billed usage; gap "
        f"{usd(t['gap_usd'])} ({pct(t['gap_pct_of_billed'])} of billed usage"
        f"{'' if t['billed_usd'] else ': nothing billed'}).",
    ]
    if t["unpriced_requests"]:
        lines.append(
            f"{t['unpriced_requests']:,} logged request(s) have no price (model or region "
            "missing from the price sheet): their cost is unknown, not in the logged cost."
        )
    lines.append(
        f"Gap by cause: unlogged traffic {usd(t['unlogged_usd'])}, logged but unpriced "
        f"{usd(t['unpriced_usd'])}, private pricing / discount {usd(t['discount_usd'])}"
        f"{_discount_rate(t)}, "
        f"billed above log price {usd(t['above_log_price_usd'])}, logged but not billed "
        f"{usd(t['not_billed_usd'])}, unexplained {usd(t['unexplained_usd'])}, "
        f"{_within(t['tolerance_pct'])} {usd(t['within_tolerance_usd'])}."
    )
    if t["marketplace_usd"]:
        lines.append(
            f"{usd(t['marketplace_usd'])} of it is billed under Marketplace products, which a "
            "'Service = Amazon Bedrock' filter (budgets, Cost Explorer) leaves out."
        )
    if t["tax_usd"] or t["other_excluded_usd"]:
        lines.append(
            f"Not usage, so not compared: tax {usd(t['tax_usd'])}, credits, refunds and fees "
            f"{usd(t['other_excluded_usd'])} (all Bedrock line items: "
            f"{usd(t['billed_incl_tax_usd'])})."
        )
    return " ".join([*lines, left_out]).strip()


def _window_text(window: Window | None) -> str:
    if window is None:
        return "every day billed or logged"
    first, after = window
    return f"{first.isoformat()} to {(after - dt.timedelta(days=1)).isoformat()}"


def _left_out_text(t: dict[str, float], window: Window | None) -> str:
    """The sentence on what lies outside the compared window, empty when nothing does."""
    if not (t["outside_window_lines"] or t["outside_window_requests"]):
        return ""
    return (
        f"Left out, outside the compared window {_window_text(window)} (or on a billed line "
        f"reaching beyond it, which cannot be split): {t['outside_window_lines']:,} Bedrock line "
        f"item(s) with {usd(t['outside_window_usd'])} of billed usage (all of them, tax "
        f"included: {usd(t['outside_window_incl_tax_usd'])}), and "
        f"{t['outside_window_requests']:,} logged request(s) priced at "
        f"{usd(t['outside_window_log_usd'])}."
    )


def _discount_rate(t: dict[str, float]) -> str:
    rate = t["discount_pct_of_logged"]
    return "" if rate != rate else f" (billed / logged - 1 = {pct(rate)} on those rows)"


def _or_none(value: float, none: str) -> float | str:
    """``value``, or what its absence means (NaN would read as an unpriced cost)."""
    return none if value != value else value


def _within(tolerance_pct: float) -> str:
    return f"within tolerance (|gap| <= {tolerance_pct:g}% of billed, or < $0.005)"


def key_figures(rec: Reconciliation) -> dict[str, float | int | str]:
    """The totals under labels that say what each figure includes and each percentage's base
    (USD unless named)."""
    t = rec.totals
    return {
        "logged cost, priced at the sheet's rates, USD": t["log_usd"],
        "billed Bedrock usage, excl. tax, USD": t["billed_usd"],
        "gap (billed usage - logged), USD": t["gap_usd"],
        "gap, % of billed usage": t["gap_pct_of_billed"],
        "  unlogged traffic, USD": t["unlogged_usd"],
        "  logged but unpriced, USD": t["unpriced_usd"],
        "  private pricing / discount, USD": t["discount_usd"],
        "  private pricing / discount, billed / logged - 1, %": _or_none(
            t["discount_pct_of_logged"], "no discounted rows"
        ),
        "  billed above log price, USD": t["above_log_price_usd"],
        "  logged but not billed, USD": t["not_billed_usd"],
        "  unexplained, USD": t["unexplained_usd"],
        f"  {_within(t['tolerance_pct'])}, USD": t["within_tolerance_usd"],
        "tolerance, % of billed cost (tokens: % of logged tokens)": t["tolerance_pct"],
        "billed usage under Marketplace products, USD": t["marketplace_usd"],
        "tax (not usage, not compared), USD": t["tax_usd"],
        "credits, refunds and fees (not compared), USD": t["other_excluded_usd"],
        "all Bedrock line items incl. tax, USD": t["billed_incl_tax_usd"],
        "days": t["days"],
        "unpriced logged requests": t["unpriced_requests"],
        "compared window (UTC days)": _window_text(rec.window),
        "billed usage outside the window (not compared), USD": t["outside_window_usd"],
        "logged cost outside the window (not compared), USD": t["outside_window_log_usd"],
    }
