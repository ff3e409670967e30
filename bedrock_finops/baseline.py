"""Where the money goes: spend by model, app, identity, day and hour; token mix; data quality.

Everything here works on the usage table and its per-row prices (``PriceCatalog.price``), so
every figure in the baseline notebook is a sum over rows an analyst can filter and check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from bedrock_finops import top_groups
from bedrock_finops.app_attribution import UNKNOWN_APP
from bedrock_finops.findings import priced_total
from bedrock_finops.segments import principals

COST_PARTS = ["input_usd", "cache_read_usd", "cache_write_usd", "output_usd"]
TOKEN_PARTS = ["input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]


def costed(usage: pd.DataFrame, priced: pd.DataFrame) -> pd.DataFrame:
    """The usage columns the baseline groups by, with per-row costs attached."""
    frame = pd.DataFrame(
        {
            "timestamp": usage["timestamp"],
            "day": usage["timestamp"].dt.floor("D"),
            "hour": usage["timestamp"].dt.hour.astype("int64"),
            "model": usage["model"]
            .astype("string")
            .fillna("(unknown) " + usage["model_id_raw"].astype("string")),
            "region": usage["region"].astype("string"),
            "app": usage["app"].astype("string").fillna(UNKNOWN_APP),
            # the principal (a role, not each of its sessions: a session name can be an e-mail)
            "identity": principals(usage["identity_arn"]).fillna("(unknown)"),
            **{c: usage[c].astype("int64") for c in TOKEN_PARTS},
            **{c: priced[c].astype("float64") for c in [*COST_PARTS, "cost_usd"]},
            "priced": priced["priced"].astype(bool),
        },
        index=usage.index,
    )
    return frame


def spend_by(frame: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Requests, tokens and cost per group, largest cost first, with each group's share.

    ``cost_usd`` sums the priced requests; ``usd_per_1k_requests`` divides it by them alone
    (``requests - unpriced_requests``), as an unpriced request's cost is unknown, not $0.
    Both are NaN for a group with no priced request."""
    grouped = frame.groupby(key, dropna=False, observed=True)
    out = grouped.agg(
        requests=("cost_usd", "size"),
        unpriced_requests=("priced", lambda s: int((~s).sum())),
        **{c: (c, "sum") for c in TOKEN_PARTS},
        cost_usd=("cost_usd", priced_total),
    )
    _add_ratios(out, out["cost_usd"].sum())
    # ties in name order, as daily_spend ranks them: a table and a chart keep the same top_n
    return out.sort_values("cost_usd", ascending=False, na_position="last", kind="stable")


def _add_ratios(out: pd.DataFrame, total: float) -> None:
    """``share_pct`` of ``total`` and ``usd_per_1k_requests`` from a spend table's sums."""
    # with no priced spend at all, a priced group's share is 0 and an unpriced group's NaN
    out["share_pct"] = 100.0 * out["cost_usd"] / total if total else out["cost_usd"] * 0.0
    priced_requests = out["requests"] - out["unpriced_requests"]
    out["usd_per_1k_requests"] = (1000.0 * out["cost_usd"] / priced_requests).where(
        priced_requests > 0
    )


def top_rows(table: pd.DataFrame, n: int, noun: str) -> pd.DataFrame:
    """The first ``n`` rows of a :func:`spend_by` table (largest spend first) and one
    ``other (K apps)`` row for the ``K`` others, so the rows add up to the whole table:
    requests, unpriced requests, tokens and priced cost are the others' sums (its cost NaN
    only when none of them is priced), its share and cost per 1K priced requests are
    computed on those sums. Unchanged with ``n`` rows or fewer."""
    if len(table) <= n:
        return table
    rest = table.iloc[n:]
    sums = ["requests", "unpriced_requests", *TOKEN_PARTS]
    other = pd.DataFrame(
        {**{c: [rest[c].sum()] for c in sums}, "cost_usd": [rest["cost_usd"].sum(min_count=1)]},
        index=pd.Index([top_groups.other_label(len(rest), noun)], name=table.index.name),
    )
    _add_ratios(other, table["cost_usd"].sum())
    return pd.concat([table.iloc[:n], other.astype(table.dtypes)])


def token_mix(frame: pd.DataFrame, key: str = "model") -> pd.DataFrame:
    """Dollars by token kind (uncached input, cache read, cache write, output) per group.

    Unpriced rows are left out (they are listed in the data-quality report)."""
    out = frame[frame["priced"]].groupby(key, observed=True)[COST_PARTS].sum()
    out.columns = ["uncached input", "cache read", "cache write", "output"]
    return out.loc[out.sum(axis=1).sort_values(ascending=False).index]


def daily_spend(frame: pd.DataFrame, by: str = "app", top_n: int | None = None) -> pd.DataFrame:
    """Cost per day (rows) and group (columns), summed as ``spend_by`` sums it: the priced
    requests. 0.0 is a day a group made no request; NaN is unknown, never $0: a day whose
    requests of the group are all unpriced, and every day of a group with no priced request
    at all (its column stands for an unpriced group, which a chart names, not draws).

    With ``top_n`` and more groups than that: the ``top_n`` groups of largest priced spend
    (ranked as ``spend_by`` ranks them), largest first, then one ``other (K apps)`` column
    summed from the others' requests as a group's is, so the columns add up to the day's
    spend and a day whose other requests are all unpriced is NaN, not $0."""
    ranking, other = None, None
    if top_n is not None:
        spend = frame.groupby(by, observed=True)["cost_usd"].agg(priced_total)
        ranking = list(top_groups.ranked(spend))  # as spend_by orders its rows
        if len(ranking) > top_n:
            other = top_groups.other_label(len(ranking) - top_n, by)
            groups = frame[by].astype("object").where(frame[by].isin(ranking[:top_n]), other)
            frame = frame.assign(**{by: groups.astype(frame[by].dtype)})
    cost = frame.groupby(["day", by], observed=True)["cost_usd"].sum(min_count=1)
    daily = cost.unstack(by, fill_value=0.0)  # fills the days a group made no request
    ever_priced = frame.groupby(by, observed=True)["priced"].any()
    daily.loc[:, ~ever_priced.reindex(daily.columns).to_numpy()] = float("nan")
    if ranking is not None:  # largest first, the other column last
        daily = daily[[c for c in ranking if c in daily.columns] + ([other] if other else [])]
    return daily


def hourly_profile(frame: pd.DataFrame) -> pd.Series:
    """Cost per hour of day (UTC), summed over the period as ``daily_spend`` sums a day: NaN
    for an hour whose requests are all unpriced, and for every hour when no request is priced
    (as every day of a group with none priced), not $0 for the hours without requests."""
    if not frame["priced"].any():
        return pd.Series(float("nan"), index=pd.RangeIndex(24, name="hour"), name="cost_usd")
    cost = frame.groupby("hour")["cost_usd"].sum(min_count=1)
    return cost.reindex(range(24), fill_value=0.0)


def unpriced_note(frame: pd.DataFrame, by: str = "app", most: int | None = None) -> str:
    """One line naming the groups with unpriced requests, which no cost chart can draw:
    'Unpriced (cost unknown, not in the charts): eval-harness 77 of 77 requests'. With
    ``most``, the ``most`` groups of most unpriced requests, then how many more groups and
    requests ('and 140 more apps, 1,400 unpriced requests')."""
    unpriced = (~frame["priced"]).groupby(frame[by], observed=True).agg(["sum", "size"])
    unpriced = unpriced[unpriced["sum"] > 0].sort_values("sum", ascending=False, kind="stable")
    if unpriced.empty:
        return "Every request is priced."
    shown = unpriced if most is None else unpriced.iloc[:most]
    groups = ", ".join(f"{g} {n:,} of {total:,} requests" for g, (n, total) in shown.iterrows())
    rest = unpriced.iloc[len(shown) :]
    if len(rest):
        more = top_groups.plural(by) if len(rest) > 1 else by
        groups += f" and {len(rest):,} more {more}, {int(rest['sum'].sum()):,} unpriced requests"
    return f"Unpriced (cost unknown, not in the charts): {groups}"


def data_quality(
    ingest_report: dict[str, Any], priced: pd.DataFrame, unpriced: pd.DataFrame
) -> dict[str, Any]:
    """The run's data-quality report: nothing read is unaccounted for.

    "duplicates unlike the copy kept": duplicates whose content differs from the copy kept
    (``conflicting_duplicates`` in the ingest report); "large bodies unreadable": those
    ``fetch_large_bodies`` could not read; "delivered too late for the window": records
    dated before the run's window, delivered past the slack of the run before it. A count the
    report does not hold (an ingest older than the count) is :data:`NOT_RECORDED`, not 0."""
    report = ingest_report
    lines = int(report.get("lines_read", 0))
    rows = int(report.get("rows", 0))
    quarantined = int(report.get("quarantined", 0))
    duplicates = int(report.get("duplicates", 0))
    return {
        "lines read": lines,
        "rows in usage table": rows,
        "quarantined lines": quarantined,
        "duplicate deliveries dropped": duplicates,
        "duplicates unlike the copy kept": (
            _recorded(report, "conflicting_duplicate_count")
            if "conflicting_duplicate_count" in report
            else _recorded(report, "conflicting_duplicates", len)  # an older report's list
        ),
        "accounted for": lines == rows + quarantined + duplicates,
        "unpriced rows": int((~priced["priced"].astype(bool)).sum()),
        "unpriced model ids": int(unpriced["model_id_raw"].nunique()) if len(unpriced) else 0,
        "large bodies not fetched": _recorded(report, "large_bodies_not_fetched"),
        "large bodies unreadable": _recorded(report, "large_bodies_unread", len),
        "delivered too late for the window": _recorded(report, "delivered_too_late"),
    }


NOT_RECORDED = "not recorded: the ingest that wrote this run predates the count (ingest again)"


def _recorded(report: dict[str, Any], key: str, count: Callable[[Any], int] = int) -> int | str:
    """``count`` of the ingest report's ``key``, or :data:`NOT_RECORDED` when the report has
    no such key: an older ingest did not count it, which is not the same as none."""
    return count(report[key]) if key in report else NOT_RECORDED


def quarantine_reasons(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Quarantined lines by reason, most frequent first."""
    if quarantine.empty:
        return pd.DataFrame(columns=["lines"])
    return quarantine.groupby("reason").size().sort_values(ascending=False).to_frame("lines")


def log_costs(frame: pd.DataFrame) -> pd.DataFrame:
    """Log-derived cost by day, model and region: the left side of a reconciliation.

    Unpriced rows (unknown model, or a region missing from the sheet) are kept: their
    requests and tokens count in ``requests`` and the token columns, and are also given apart
    as ``unpriced_requests`` and ``unpriced_tokens``, so a bill line for logged but unpriced
    traffic is not mistaken for unlogged traffic. ``cost_usd`` sums the priced rows only; it is
    NaN (unknown, not $0) for a group whose rows are all unpriced.
    """
    unpriced = ~frame["priced"].astype(bool)
    out = (
        frame.assign(
            date=frame["day"].dt.date,
            unpriced_request=unpriced.astype("int64"),
            unpriced_tokens=sum(frame[c] for c in TOKEN_PARTS).where(unpriced, 0),
        )
        .groupby(["date", "model", "region"], observed=True, dropna=False)
        .agg(
            cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
            requests=("cost_usd", "size"),
            unpriced_requests=("unpriced_request", "sum"),
            input_tokens=("input_tokens", "sum"),
            output_tokens=("output_tokens", "sum"),
            cache_read_tokens=("cache_read_tokens", "sum"),
            cache_write_tokens=("cache_write_tokens", "sum"),
            unpriced_tokens=("unpriced_tokens", "sum"),
        )
        .reset_index()
    )
    return out


def headline(frame: pd.DataFrame, period: dict[str, Any]) -> dict[str, Any]:
    """Total spend, requests, tokens and the monthly run-rate, with the days it divides by
    and which days they are (``period["description"]``, from ``findings.period_of``). The
    spend and run-rate are NaN (unpriced), not $0, when no request is priced; they are not
    rounded here (to the cent, a run of one request's $0.00023 was $0.00): the key figures
    show them (``notebook.format_value``)."""
    from bedrock_finops.findings import DAYS_PER_MONTH, days_text

    total = priced_total(frame["cost_usd"])
    days = period.get("days") or 0
    shown = f"{days_text(days)} day{'' if days == 1 else 's'}"
    return {
        "period": f"{str(period.get('start'))[:10]} to {str(period.get('end'))[:10]} ({shown})",
        "period days, counted as": period.get("description", "the records' UTC calendar days"),
        "requests": int(len(frame)),
        "priced spend, USD": total,
        f"monthly run-rate (priced spend x {DAYS_PER_MONTH} / {shown}), USD": (
            total * DAYS_PER_MONTH / days if days else None
        ),
        "input tokens (uncached)": int(frame["input_tokens"].sum()),
        "cache read tokens": int(frame["cache_read_tokens"].sum()),
        "cache write tokens": int(frame["cache_write_tokens"].sum()),
        "output tokens": int(frame["output_tokens"].sum()),
    }


def gaps_by_explanation(rows: pd.DataFrame) -> pd.DataFrame:
    """Reconciliation rows summed by their explanation: where the log-vs-bill gap comes from.

    ``gap_pct_of_billed`` = gap / billed; ``gap_pct_of_logged`` = billed / logged - 1 (on the
    discount rows, the discount off the sheet's price)."""
    out = rows.groupby("explanation").agg(
        days_models=("gap_usd", "size"),
        log_usd=("log_usd", "sum"),
        billed_usd=("billed_usd", "sum"),
        gap_usd=("gap_usd", "sum"),
    )
    out["gap_pct_of_billed"] = (out["gap_usd"] / out["billed_usd"] * 100).where(
        out["billed_usd"] != 0
    )
    out["gap_pct_of_logged"] = (out["gap_usd"] / out["log_usd"] * 100).where(out["log_usd"] != 0)
    return out.sort_values("gap_usd", key=abs, ascending=False)


def largest_gaps(rows: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The (period, model) rows with the largest absolute gap. A period is a day, or the days
    of a billed line longer than one (a monthly export): when a row shown spans more than a
    day, ``end_date`` (the day after its last) follows ``date``, so a month's gap does not
    read as its first day's."""
    top = rows.reindex(rows["gap_usd"].abs().sort_values(ascending=False).index).head(n)
    cols = [
        "date", "model", "log_usd", "billed_usd", "gap_usd", "gap_pct_of_billed",
        "gap_pct_of_logged", "explanation",
    ]  # fmt: skip
    if _spans_days(top):
        cols.insert(1, "end_date")
    return top[cols]


def _spans_days(rows: pd.DataFrame) -> bool:
    """Whether any row covers more than one day (``date`` up to ``end_date``, exclusive)."""
    if "end_date" not in rows or rows.empty:
        return False
    first = pd.to_datetime(rows["date"].astype("object"))
    after = pd.to_datetime(rows["end_date"].astype("object"))
    return bool(((after - first).dt.days > 1).any())
