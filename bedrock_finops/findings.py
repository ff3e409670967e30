"""The contract between a strategy, its notebook and the summary.

A strategy's ``analyze(usage, catalog, **params)`` returns a :class:`Findings`. It is written
as ``<notebook>.findings.json`` (the headline numbers, assumptions and ranked actions) and
``<notebook>.effects.parquet`` (what the strategy changes, request by request), which the
summary applies in a fixed order and re-prices with the same cost engine.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

DAYS_PER_MONTH = 30.4375  # 365.25 / 12: how period savings are scaled to a month


def priced_total(cost: pd.Series) -> float:
    """The priced requests' cost (an unpriced request's is NaN): NaN, which the key figures
    read 'unpriced', not $0, when none is priced; $0 when the priced ones cost nothing."""
    return float(cost.sum(min_count=1))


# Per-request effects. A strategy fills the columns it changes and leaves the rest null.
EFFECTS_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("strategy", pa.string()),
        ("new_model", pa.string()),  # model sizing: catalog key to re-price on
        ("input_tokens_removed", pa.int64()),  # token trimming
        ("output_tokens_removed", pa.int64()),
        ("cached_read_tokens", pa.int64()),  # prompt caching: input tokens read from cache
        ("cached_write_tokens", pa.int64()),  # ... and written to it
        ("cached_write_1h_tokens", pa.int64()),  # ... of those, written with the 1-hour TTL
        ("pricing_mode", pa.string()),  # batch | provisioned | on_demand
        ("avoided", pa.bool_()),  # dedup / semantic cache: the call is not made
        ("savings_usd", pa.float64()),  # this strategy's own saving on this request
    ]
)
EFFECT_COLUMNS = EFFECTS_SCHEMA.names
SUMMARY_ORDER = (
    "dedup",
    "semantic_cache",
    "model_sizing",
    "token_trimming",
    "prompt_caching",
    "batch_inference",
    "provisioned_throughput",
)
EFFORTS = ("low", "medium", "high")
CONFIDENCES = ("low", "medium", "high")


@dataclass
class Action:
    id: str
    scope: dict[str, Any]  # {app, model, template}: where the action applies
    action: str  # what to do, in one imperative sentence
    savings_usd: float  # over the analysed period
    effort: str = "medium"
    evidence: dict[str, Any] = field(default_factory=dict)
    status: str = "recommended"  # recommended | pending evaluation | rejected | accepted


@dataclass
class Findings:
    strategy: str
    title: str
    period: dict[str, Any]  # {start, end, days, rule, description, ...}: see period_of
    scope_usd: float  # spend of the traffic in scope, over the period
    projected_usd: float  # what that traffic would cost after the change
    # all priced spend in the period (denominator of savings_pct_of_total): NaN (null in
    # JSON) with no request priced, see priced_total
    total_usd: float
    confidence: str = "medium"
    assumptions: dict[str, Any] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    data_quality: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def savings_usd(self) -> float:
        return self.scope_usd - self.projected_usd

    @property
    def savings_monthly_usd(self) -> float:
        days = float(self.period.get("days") or 0)
        return self.savings_usd * DAYS_PER_MONTH / days if days > 0 else float("nan")

    @property
    def savings_pct_of_total(self) -> float:
        """The saving as a percentage of all priced spend; NaN (null in JSON) with no priced
        spend (only models the sheet lacks): no percentage of $0, which read as 0%."""
        return 100.0 * self.savings_usd / self.total_usd if self.total_usd else float("nan")

    def ranked_actions(self) -> list[Action]:
        return sorted(self.actions, key=lambda a: a.savings_usd, reverse=True)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["actions"] = [asdict(a) for a in self.ranked_actions()]
        d["savings_usd"] = self.savings_usd
        d["savings_monthly_usd"] = self.savings_monthly_usd
        d["savings_pct_of_total"] = self.savings_pct_of_total
        return _jsonable(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Findings:
        d = dict(d)
        for derived in ("savings_usd", "savings_monthly_usd", "savings_pct_of_total"):
            d.pop(derived, None)
        d["actions"] = [Action(**a) for a in d.get("actions", [])]
        if d.get("total_usd") is None:  # written as null: no request priced
            d["total_usd"] = float("nan")
        return cls(**d)


def period_of(
    usage: pd.DataFrame, window_start: Any = None, window_end: Any = None
) -> dict[str, Any]:
    """The period a usage table covers: ``start`` and ``end`` (its first and last record) and
    ``days``, which its per-day and monthly figures divide by.

    ``days`` is the UTC calendar days the records touch, unless the table was read for a
    window with both ends (the ingest's ``--start`` and ``--end``) shorter than that: then it
    is the window's own length in days, fractional if need be. 48 hours of traffic from noon
    to noon touch 3 calendar days but are 2 days of traffic; counted as 3, every monthly
    figure would read 2/3 of what the traffic costs. Records that fall short of the window
    (logs gone, logging started late) touch fewer calendar days than the window is long, and
    divide by those. ``rule`` says which applied ("window" or "calendar days") and
    ``description`` says it in words; ``calendar_days``, ``window_start``, ``window_end`` and
    ``window_days`` give both sides of the choice.
    """
    ws, we = _utc_or_none(window_start), _utc_or_none(window_end)
    window_days = (we - ws).total_seconds() / 86400 if ws is not None and we is not None else None
    window = {
        "window_start": ws.isoformat() if ws is not None else None,
        "window_end": we.isoformat() if we is not None else None,
        "window_days": _whole_if_whole(window_days) if window_days is not None else None,
    }
    if usage.empty:
        return {"start": None, "end": None, "days": 0, "calendar_days": 0, **window,
                "rule": "calendar days", "description": "no records"}  # fmt: skip
    start = pd.Timestamp(usage["timestamp"].min())
    end = pd.Timestamp(usage["timestamp"].max())
    calendar = int((_utc(end).normalize() - _utc(start).normalize()).days + 1)
    from bedrock_finops.window_coverage import divisor_days  # the ingest's warnings' rule too

    days, by_window = divisor_days(ws, we, calendar)
    period = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "days": days,
        "calendar_days": calendar,
        **window,
        "rule": "window" if by_window else "calendar days",
    }
    return {**period, "description": period_description(period)}


def period_description(period: dict[str, Any]) -> str:
    """Which days a period's figures divide by, and why, as the notebooks show it."""
    calendar = int(period.get("calendar_days") or 0)
    first, last = str(period["start"])[:10], str(period["end"])[:10]
    touched = (
        f"the {calendar:,} UTC calendar day{'s' if calendar != 1 else ''} the records touch "
        f"({first if first == last else f'{first} to {last}'})"
    )
    window_days = period.get("window_days")
    if window_days is None:
        return f"{touched}; the table was read without a window with both ends"
    window = (
        f"the window [{_shown(period['window_start'])}, {_shown(period['window_end'])}), "
        f"{days_text(window_days)} days long"
    )
    if period.get("rule") == "window":
        return f"{window}, not {touched}, which would count its part days whole"
    if calendar == window_days:
        return f"{touched}, as many as {window}"
    return f"{touched}, fewer than {window}, which the records do not cover"


def days_text(days: float) -> str:
    """A number of days as the figures show it: ``30``, ``2``, ``1.5``, ``1.96``."""
    if float(days).is_integer():
        return f"{int(days):,}"
    return f"{float(days):,.2f}".rstrip("0").rstrip(".")


def monthly_scaling(period: dict[str, Any], what: str = "period savings") -> str:
    """How ``what`` is scaled to a month: the days divided by, and which days they are."""
    days = period.get("days") or 0
    how = period.get("description")
    return f"{what} x {DAYS_PER_MONTH} / {days_text(days)} days" + (f": {how}" if how else "")


def _utc(when: pd.Timestamp) -> pd.Timestamp:
    return when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")


def _utc_or_none(when: Any) -> pd.Timestamp | None:
    """A window bound (ISO text, a datetime, None) in UTC; a naive one is UTC."""
    return None if when is None or when == "" else _utc(pd.Timestamp(when))


def _whole_if_whole(days: float) -> float | int:
    """Whole days as an int (2 days, not 2.0), so a window of whole days reads as one."""
    return int(days) if float(days).is_integer() else days


def _shown(when: Any) -> str:
    return _utc(pd.Timestamp(when)).strftime("%Y-%m-%d %H:%M UTC")


def empty_effects() -> pd.DataFrame:
    return EFFECTS_SCHEMA.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


def effects_frame(df: pd.DataFrame, strategy: str) -> pd.DataFrame:
    """Normalise a strategy's per-request effects to the effects schema."""
    if "request_id" not in df.columns:
        raise ValueError("effects need a request_id column")
    unknown = sorted(set(df.columns) - set(EFFECT_COLUMNS))
    if unknown:
        raise ValueError(f"unknown effect columns {unknown}; allowed: {EFFECT_COLUMNS}")
    if "cached_write_1h_tokens" in df.columns:
        writes = df["cached_write_tokens"] if "cached_write_tokens" in df.columns else 0
        over = df["cached_write_1h_tokens"].fillna(0) > pd.Series(writes, index=df.index).fillna(0)
        if over.any():
            raise ValueError(
                f"cached_write_1h_tokens exceed cached_write_tokens (of which they are a part) "
                f"for {int(over.sum())} requests, e.g. {df.loc[over, 'request_id'].iloc[0]}"
            )
    out = df.copy()
    out["strategy"] = strategy
    for name in EFFECT_COLUMNS:
        if name not in out.columns:
            out[name] = None
    table = pa.Table.from_pandas(out[EFFECT_COLUMNS], preserve_index=False).cast(EFFECTS_SCHEMA)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def write(
    findings: Findings, effects: pd.DataFrame | None, out_dir: Path, name: str
) -> tuple[Path, Path | None]:
    """Write ``<name>.findings.json`` and, when given, ``<name>.effects.parquet``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fpath = out_dir / f"{name}.findings.json"
    fpath.write_text(
        json.dumps(findings.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    epath = None
    if effects is not None:
        epath = out_dir / f"{name}.effects.parquet"
        eff = effects_frame(effects, findings.strategy)
        pq.write_table(pa.Table.from_pandas(eff, preserve_index=False).cast(EFFECTS_SCHEMA), epath)
    return fpath, epath


def read(path: Path) -> Findings:
    return Findings.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def read_effects(path: Path) -> pd.DataFrame:
    """A strategy's effects file in the effects schema; a file written before a column
    existed gets it, empty (null: the strategy did not set it)."""
    table = pq.read_table(path)
    for name in EFFECT_COLUMNS:
        if name not in table.column_names:
            kind = EFFECTS_SCHEMA.field(name).type
            table = table.append_column(pa.field(name, kind), pa.nulls(table.num_rows, kind))
    return table.select(EFFECT_COLUMNS).cast(EFFECTS_SCHEMA).to_pandas(types_mapper=pd.ArrowDtype)


def _jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy/pandas scalars unwrapped, NaN, NaT and NA -> null, timestamps
    -> ISO."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if obj is pd.NaT or obj is pd.NA:  # an undated price row, a missing value
        return None
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    return obj
