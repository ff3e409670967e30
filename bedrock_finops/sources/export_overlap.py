"""Two billing exports of the same spend, refused: reading both would count it twice.

The files read can hold more than one export: two CUR 2.0 Data Exports of one account under
different names, a legacy CUR report beside the Data Export that replaced it, an organization's
consolidated export beside a member account's own. Each export holds its accounts' whole billing
period, so two of them holding the same account's same period bill that spend once each.

An export is told by where its files sit, in AWS's layouts
(https://docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html,
https://docs.aws.amazon.com/cur/latest/userguide/understanding-report-versions.html):

- a Data Export (CUR 2.0, FOCUS): ``<export>/data/BILLING_PERIOD=YYYY-MM/...``;
- a legacy CUR report: ``<report>/yyyymmdd-yyyymmdd/...``, or for Athena
  ``<report>/year=YYYY/month=M/...``;
- any other file: the files of one folder named as AWS names the parts of one export
  (``<name>-00001.snappy.parquet``, ``<name>-1.csv.gz``) are that export; any other file is an
  export of its own.

A line's spend is its usage account's, billed to its payer, in its billing period: CUR
``line_item_usage_account_id``, ``bill_payer_account_id`` and ``bill_billing_period_start_date``
(legacy ``lineItem/UsageAccountId``, ``bill/PayerAccountId``, ``bill/BillingPeriodStartDate``),
FOCUS ``SubAccountId``, ``BillingAccountId`` and ``BillingPeriodStart``. Two exports hold the
same spend when they have lines of one billing period of the same usage account under the same
payer. The usage account, not the payer alone: two member accounts' own exports share their
payer and none of their lines, and are read together, while a payer's consolidated export holds
every member account's lines, so beside a member's own export it shares that member's. The
payer too: an account that moves to another organization in the month is billed to each payer
for its days there, in each one's export. A column an export lacks is no proof the accounts
differ: lines without a usage account (or a payer) may be any account's (any payer's).

The billing period is the path's (``BILLING_PERIOD=YYYY-MM``, the legacy date range, or
``year=``/``month=``), else the line's ``bill_billing_period_start_date`` (``BillingPeriodStart``),
else the month its usage starts. Lines are read only when two exports may share a period.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# the columns a line's spend is told by, CUR's then FOCUS's
PERIOD_COLUMNS = ("bill_billing_period_start_date", "BillingPeriodStart")
USAGE_START_COLUMNS = ("line_item_usage_start_date", "ChargePeriodStart")
PAYER_COLUMNS = ("bill_payer_account_id", "BillingAccountId")
ACCOUNT_COLUMNS = ("line_item_usage_account_id", "SubAccountId")
WANTED = (*PERIOD_COLUMNS, *USAGE_START_COLUMNS, *PAYER_COLUMNS, *ACCOUNT_COLUMNS)

DATA_EXPORT_PERIOD = re.compile(r"^BILLING_PERIOD=(\d{4})-(\d{2})$", re.IGNORECASE)
LEGACY_PERIOD = re.compile(r"^(\d{4})(\d{2})\d{2}-\d{8}$")
ATHENA_YEAR, ATHENA_MONTH = re.compile(r"^year=(\d{4})$"), re.compile(r"^month=(\d{1,2})$")
# a part of an export as AWS names it: <name>-00001.snappy.parquet, <name>-1.csv.gz
PART_NAME = re.compile(r"^(.+)-\d+(?:\.snappy)?\.(?:parquet|csv|csv\.gz|csv\.zip)$", re.IGNORECASE)
SHOWN = 3  # accounts named in a refusal

Account = tuple[str | None, str | None]  # (usage account, payer); None: the export does not say


@dataclass(frozen=True)
class Export:
    """One billing export, as its files' place tells it."""

    kind: str  # "Data Export", "legacy CUR report", "export files", "file"
    where: Path  # its folder; for files outside a layout, the files (``<name>-*``) or the file

    def __str__(self) -> str:
        return f"{self.kind} {self.where}"


def refuse_overlapping_exports(files: Iterable[Path]) -> None:
    """Raise ``BillingFormatError`` when two exports among ``files`` hold lines of one billing
    period of the same account, naming both, the period, the accounts and the fix."""
    placed = {path: _placed(path) for path in files}
    if len({export for export, _ in placed.values()}) < 2:
        return
    held = _held_spend(placed)
    exports = sorted(held, key=str)
    for i, first in enumerate(exports):
        for second in exports[i + 1 :]:
            shared = _shared_spend(held[first], held[second])
            if shared:
                from bedrock_finops.sources.billing_files import BillingFormatError

                silent = [e for e in (first, second) if _says_no_account(held[e], shared)]
                raise BillingFormatError(_overlap_problem(first, second, shared, silent))


def _placed(path: Path) -> tuple[Export, str | None]:
    """The export a file is part of, and its billing period (``YYYY-MM``) when the path says."""
    resolved = path.resolve()
    for folder in resolved.parents:
        if match := DATA_EXPORT_PERIOD.match(folder.name):
            export = folder.parent.parent if folder.parent.name == "data" else folder.parent
            return Export("Data Export", export), f"{match[1]}-{match[2]}"
        if match := LEGACY_PERIOD.match(folder.name):
            return Export("legacy CUR report", folder.parent), f"{match[1]}-{match[2]}"
        year = ATHENA_YEAR.match(folder.parent.name)
        if year and (month := ATHENA_MONTH.match(folder.name)):
            export = Export("legacy CUR report", folder.parent.parent)
            return export, f"{year[1]}-{int(month[1]):02d}"
    if part := PART_NAME.match(resolved.name):
        return Export("export files", resolved.parent / f"{part[1]}-*"), None
    return Export("file", resolved), None


def _held_spend(
    placed: dict[Path, tuple[Export, str | None]],
) -> dict[Export, dict[str, set[Account]]]:
    """Each export's accounts by billing period, read from the files of the periods another
    export may share (a file outside AWS's layouts says its periods only in its lines)."""
    exports_of: dict[str, set[Export]] = {}
    for export, period in placed.values():
        if period is not None:
            exports_of.setdefault(period, set()).add(export)
    unplaced = any(period is None for _, period in placed.values())
    held: dict[Export, dict[str, set[Account]]] = {}
    for path, (export, period) in placed.items():
        if period is None or unplaced or len(exports_of[period]) > 1:
            for line_period, accounts in _file_spend(path, period).items():
                held.setdefault(export, {}).setdefault(line_period, set()).update(accounts)
    return held


def _file_spend(path: Path, period: str | None) -> dict[str, set[Account]]:
    """A file's (usage account, payer) pairs by billing period: ``period`` when its path says,
    else each line's own. A file whose lines say no account still holds spend, of accounts
    unknown (its dates, which every export has, say it has lines)."""
    from bedrock_finops.sources.cur import _read_table

    raw, _ = _read_table(path, WANTED)
    if raw.empty:
        return {}
    account, payer = _first_of(raw, ACCOUNT_COLUMNS), _first_of(raw, PAYER_COLUMNS)
    dates = [] if period else _date_columns(raw)
    keys = [c for c in (account, payer, *dates) if c]
    if not keys:
        return {period: {(None, None)}} if period else {}
    lines = raw[keys].drop_duplicates()  # on the raw values: a few per file, read as they are
    periods = pd.Series(period, index=lines.index) if period else _line_periods(lines)
    none = pd.Series(None, index=lines.index, dtype="object")
    spend: dict[str, set[Account]] = {}
    for line_period, line_account, line_payer in zip(
        periods, lines[account] if account else none, lines[payer] if payer else none, strict=True
    ):
        if line_period is not None:
            spend.setdefault(line_period, set()).add((_id(line_account), _id(line_payer)))
    return spend


def _first_of(raw: pd.DataFrame, columns: tuple[str, ...]) -> str | None:
    """The first of ``columns`` the file has (CUR's, or FOCUS's)."""
    return next((c for c in columns if c in raw), None)


def _date_columns(raw: pd.DataFrame) -> list[str]:
    """The columns a line's billing period is read from: its start (a few values in a file),
    else the start of its usage."""
    return [c for c in PERIOD_COLUMNS if c in raw] or [c for c in USAGE_START_COLUMNS if c in raw]


def _line_periods(lines: pd.DataFrame) -> pd.Series:
    """Each line's billing period (``YYYY-MM``) from its date columns; None without one."""
    periods = pd.Series(None, index=lines.index, dtype="object")
    for column in (*PERIOD_COLUMNS, *USAGE_START_COLUMNS):
        if column in lines:
            starts = pd.to_datetime(lines[column], utc=True, errors="coerce", format="mixed")
            periods = periods.where(periods.notna(), starts.dt.strftime("%Y-%m"))
    return periods.where(periods.notna(), None)


def _id(value: object) -> str | None:
    """An account ID as AWS writes it (12 digits, zeros kept when read as a number)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return f"{int(value):012d}"
    text = str(value).strip()
    return text or None


def _shared_spend(
    first: dict[str, set[Account]], second: dict[str, set[Account]]
) -> dict[str, set[Account]]:
    """The accounts two exports both hold, by billing period: the same usage account under the
    same payer, where a missing one matches any."""
    shared: dict[str, set[Account]] = {}
    for period in sorted(first.keys() & second.keys()):
        by_account: dict[str | None, list[Account]] = {}
        for b in second[period]:
            by_account.setdefault(b[0], []).append(b)
        both = {
            _common(a, b)
            for a in first[period]
            for b in _same_account(a, by_account)
            if _meet(a[1], b[1])
        }
        if both:
            shared[period] = both
    return shared


def _same_account(
    account: Account, by_account: dict[str | None, list[Account]]
) -> Iterable[Account]:
    """The accounts of ``by_account`` that may be ``account``'s usage account (looked up, not
    compared pair by pair: an organization's export holds many)."""
    if account[0] is None:
        return (b for found in by_account.values() for b in found)
    return [*by_account.get(account[0], []), *by_account.get(None, [])]


def _meet(first: str | None, second: str | None) -> bool:
    return first is None or second is None or first == second


def _common(first: Account, second: Account) -> Account:
    """Two matching accounts as both exports hold them: the usage account when both name it
    (None: one does not say), and the payer either names."""
    return (first[0] if first[0] == second[0] else None, first[1] or second[1])


def _says_no_account(spend: dict[str, set[Account]], shared: dict[str, set[Account]]) -> bool:
    """True when an export has lines of no known usage account in a period it shares."""
    return any(account is None for period in shared for account, _ in spend[period])


def _overlap_problem(
    first: Export, second: Export, shared: dict[str, set[Account]], silent: list[Export]
) -> str:
    """Why two exports cannot be read together, and the fix, in one line: the accounts both
    name, else the export(s) (``silent``) whose lines name none."""
    named = {p: {a for a in found if a[0] is not None} for p, found in shared.items()}
    named = {p: found for p, found in named.items() if found}
    if named:
        accounts = sorted(set().union(*named.values()), key=str)
        return (
            f"{first} and {second} both bill {_accounts(accounts)} for {_periods(named)}: two "
            "exports of the same spend, which reading both would count twice. Point at one of "
            "them (an organization's consolidated export already holds its member accounts' "
            "lines); exports of different accounts or billing periods are read together."
            + _parts_hint(first, second)
        )
    whose = "both" if len(silent) == 2 else str(silent[0])
    return (
        f"{first} and {second} both bill {_periods(shared)}, and the lines of {whose} do not "
        f"say which account they are of (no {' or '.join(ACCOUNT_COLUMNS)} column), so they may "
        "be two exports of the same spend, which reading both would count twice. Point at one "
        "of them, or export them with that column: exports of different accounts are read "
        "together." + _parts_hint(first, second)
    )


def _parts_hint(first: Export, second: Export) -> str:
    """For a file outside AWS's layouts: how to say that files are parts of one export."""
    if "file" not in (first.kind, second.kind):
        return ""
    return (
        " If the files are parts of one export, split by hand, join them into one file or put "
        "them in one folder named as AWS names parts (<name>-1.csv, <name>-2.csv)."
    )


def _periods(shared: dict[str, set[Account]]) -> str:
    periods = sorted(shared)
    return f"billing period{'s' if len(periods) > 1 else ''} {', '.join(periods)}"


def _accounts(accounts: list[Account]) -> str:
    """'account 111122223333 (payer 999988887777)', 'accounts A, B, C and 2 more'."""
    shown = [
        account if payer in (None, account) else f"{account} (payer {payer})"
        for account, payer in accounts[:SHOWN]
    ]
    more = f" and {len(accounts) - SHOWN} more" if len(accounts) > SHOWN else ""
    return f"account{'s' if len(accounts) > 1 else ''} {', '.join(shown)}{more}"
