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
same spend when they both have Bedrock lines (the lines the readers keep,
:func:`bedrock_finops.sources.cur.is_bedrock_line`: every line type, tax and credits too,
Marketplace models included) of one billing period of the same usage account under the same
payer. Other services' lines are never read, so two exports that share an account's period only
in them (a member's own export holding its EC2 lines, the payer's holding its Bedrock lines; or a
month the account used no Bedrock) are read together, each Bedrock line once, and a note says
so. The usage account, not the payer alone: two member accounts' own exports share their
payer and none of their lines, and are read together, while a payer's consolidated export holds
every member account's lines, so beside a member's own export it shares that member's. The
payer too: an account that moves to another organization in the month is billed to each payer
for its days there, in each one's export. A column an export lacks is no proof the accounts
differ: lines without a usage account (or a payer) may be any account's (any payer's).

The billing period is the path's (``BILLING_PERIOD=YYYY-MM``, the legacy date range, or
``year=``/``month=``), else the line's ``bill_billing_period_start_date`` (``BillingPeriodStart``),
else the month its usage starts. Lines are read only when two exports may share a period, a
batch at a time (``cur.read_batches``), the columns above and those that tell a Bedrock line;
CUR 2.0's ``product`` map, costly to read and the only place a Marketplace line's product name
is, only where the answer turns on it (:func:`_settle_where_it_tells`).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# the columns a line's spend is told by, CUR's then FOCUS's
PERIOD_COLUMNS = ("bill_billing_period_start_date", "BillingPeriodStart")
USAGE_START_COLUMNS = ("line_item_usage_start_date", "ChargePeriodStart")
PAYER_COLUMNS = ("bill_payer_account_id", "BillingAccountId")
ACCOUNT_COLUMNS = ("line_item_usage_account_id", "SubAccountId")
SPEND_COLUMNS = (*PERIOD_COLUMNS, *USAGE_START_COLUMNS, *PAYER_COLUMNS, *ACCOUNT_COLUMNS)
# the columns that tell a Bedrock line (cur.is_bedrock_line): CUR's product code and name (legacy
# CUR's product/ProductName, CUR 2.0's product map), FOCUS's service
PRODUCT_COLUMNS = (
    "line_item_product_code",
    "product_product_name",
    "product",
    "ServiceName",
    "x_ServiceCode",
)
WANTED = (*SPEND_COLUMNS, *PRODUCT_COLUMNS)
PRODUCT_MAP = "product"  # CUR 2.0's: the only place a Marketplace line's product name is
WANTED_FLAT = tuple(c for c in WANTED if c != PRODUCT_MAP)  # all but the (costly) product map

DATA_EXPORT_PERIOD = re.compile(r"^BILLING_PERIOD=(\d{4})-(\d{2})$", re.IGNORECASE)
LEGACY_PERIOD = re.compile(r"^(\d{4})(\d{2})\d{2}-\d{8}$")
ATHENA_YEAR, ATHENA_MONTH = re.compile(r"^year=(\d{4})$"), re.compile(r"^month=(\d{1,2})$")
# a part of an export as AWS names it: <name>-00001.snappy.parquet, <name>-1.csv.gz
PART_NAME = re.compile(r"^(.+)-\d+(?:\.snappy)?\.(?:parquet|csv|csv\.gz|csv\.zip)$", re.IGNORECASE)
SHOWN = 3  # accounts named in a refusal

Account = tuple[str | None, str | None]  # (usage account, payer); None: the export does not say
# billing period -> the accounts with lines in it -> whether any of them is a Bedrock line
Held = dict[str, dict[Account, bool]]


@dataclass
class Holding:
    """What an export's files read hold; ``unsure``: its files (and their path's billing period)
    read without their product map, whose Marketplace lines are not yet told Bedrock's."""

    held: Held = field(default_factory=dict)
    unsure: dict[Path, str | None] = field(default_factory=dict)
    size: int = 0  # bytes of its files read

    def settle(self) -> None:
        """Read the unsure files' product maps: their Marketplace Bedrock lines too."""
        for path, period in self.unsure.items():
            _add_spend(self.held, _file_spend(path, period, WANTED))
        self.unsure = {}


@dataclass(frozen=True)
class Export:
    """One billing export, as its files' place tells it."""

    kind: str  # "Data Export", "legacy CUR report", "export files", "file"
    where: Path  # its folder; for files outside a layout, the files (``<name>-*``) or the file

    def __str__(self) -> str:
        return f"{self.kind} {self.where}"


def refuse_overlapping_exports(files: Iterable[Path]) -> list[str]:
    """Raise ``BillingFormatError`` when two exports among ``files`` hold Bedrock lines of one
    billing period of the same account, naming both, the period, the accounts and the fix.

    Returns a note for each two exports read together though both hold lines of one account's
    period: only one of them, or neither, holds Bedrock lines of it, so no line read is in both.
    """
    placed = {path: _placed(path) for path in files}
    if len({export for export, _ in placed.values()}) < 2:
        return []
    holdings = _held_spend(placed)
    exports = sorted(holdings, key=str)
    notes = []
    for i, first in enumerate(exports):
        for second in exports[i + 1 :]:
            _settle_where_it_tells(holdings[first], holdings[second])
            held = {e: holdings[e].held for e in (first, second)}
            bedrock = {e: _bedrock_spend(held[e]) for e in (first, second)}
            shared = _shared_spend(bedrock[first], bedrock[second])
            if shared:
                from bedrock_finops.sources.billing_files import BillingFormatError

                silent = [e for e in (first, second) if _says_no_account(bedrock[e], shared)]
                raise BillingFormatError(_overlap_problem(first, second, shared, silent))
            if note := _other_lines_note(first, second, holdings):
                notes.append(note)
    return notes


def _settle_where_it_tells(first: Holding, second: Holding) -> None:
    """Read the product maps of two exports sharing an account's period where the answer turns
    on them: an export's, the smaller first, when it shows no Bedrock line of an account the
    other may hold Bedrock lines of. A member's own export of EC2 lines is read again, small;
    the payer's export, whose member's lines are Bedrock by their product code, is not."""
    shared = _shared_spend(_all_spend(first.held), _all_spend(second.held))
    every = [(p, a) for p, found in shared.items() for a in found]
    for this, other in sorted([(first, second), (second, first)], key=lambda pair: pair[0].size):
        if this.unsure and any(
            not _holds_bedrock(this.held, p, a)
            and (other.unsure or _holds_bedrock(other.held, p, a))
            for p, a in every
        ):
            this.settle()


def _bedrock_spend(held: Held) -> dict[str, set[Account]]:
    """The accounts with Bedrock lines, by billing period."""
    spend = {p: {a for a, bedrock in found.items() if bedrock} for p, found in held.items()}
    return {p: found for p, found in spend.items() if found}


def _all_spend(held: Held) -> dict[str, set[Account]]:
    """The accounts with lines of any service, by billing period."""
    return {p: set(found) for p, found in held.items()}


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


def _held_spend(placed: dict[Path, tuple[Export, str | None]]) -> dict[Export, Holding]:
    """Each export's accounts by billing period, and whether it holds Bedrock lines of each,
    read from the files of the periods another export may share (a file outside AWS's layouts
    says its periods only in its lines); a product map is left for :meth:`Holding.settle`."""
    from bedrock_finops.sources.cur import column_names

    exports_of: dict[str, set[Export]] = {}
    for export, period in placed.values():
        if period is not None:
            exports_of.setdefault(period, set()).add(export)
    unplaced = any(period is None for _, period in placed.values())
    holdings: dict[Export, Holding] = {}
    for path, (export, period) in placed.items():
        if period is None or unplaced or len(exports_of[period]) > 1:
            holding = holdings.setdefault(export, Holding())
            _add_spend(holding.held, _file_spend(path, period, WANTED_FLAT))
            holding.size += path.stat().st_size
            if PRODUCT_MAP in column_names(path):
                holding.unsure[path] = period
    return holdings


def _add_spend(held: Held, more: Held) -> None:
    """``more`` into ``held``: an account holds Bedrock lines when any of its lines is one."""
    for period, accounts in more.items():
        found = held.setdefault(period, {})
        for account, bedrock in accounts.items():
            found[account] = found.get(account, False) or bedrock


def _file_spend(path: Path, period: str | None, wanted: tuple[str, ...]) -> Held:
    """A file's (usage account, payer) pairs by billing period (``period`` when its path says,
    else each line's own), and whether each has Bedrock lines (as far as the ``wanted`` columns
    tell: without CUR 2.0's product map, not a Marketplace line); read a batch at a time.
    A file whose lines say no account still holds spend, of accounts unknown (its dates, which
    every export has, say it has lines)."""
    from bedrock_finops.sources.cur import read_batches

    spend: Held = {}
    for raw in read_batches(path, wanted):
        _add_spend(spend, _batch_spend(raw, period))
    return spend


def _batch_spend(raw: pd.DataFrame, period: str | None) -> Held:
    """:func:`_file_spend` of one batch of a file's lines."""
    from bedrock_finops.sources.cur import is_bedrock_line

    account, payer = _first_of(raw, ACCOUNT_COLUMNS), _first_of(raw, PAYER_COLUMNS)
    dates = [] if period else _date_columns(raw)
    keys = [c for c in (account, payer, *dates) if c]
    if not keys and not period:
        return {}
    products = [c for c in raw if c not in SPEND_COLUMNS]  # a few values, a map's pulled out
    # on the raw values: a few per file, read as they are, then told Bedrock's or not
    lines = raw[keys + products].drop_duplicates() if keys or products else raw.iloc[:1, :0]
    bedrock = is_bedrock_line(lines)
    periods = pd.Series(period, index=lines.index) if period else _line_periods(lines)
    none = pd.Series(None, index=lines.index, dtype="object")
    spend: Held = {}
    for line_period, line_account, line_payer, is_bedrock in zip(
        periods,
        lines[account] if account else none,
        lines[payer] if payer else none,
        bedrock,
        strict=True,
    ):
        if line_period is not None:
            found = spend.setdefault(line_period, {})
            key = (_id(line_account), _id(line_payer))
            found[key] = found.get(key, False) or bool(is_bedrock)
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


def _other_lines_note(first: Export, second: Export, holdings: dict[Export, Holding]) -> str | None:
    """When two exports read together both hold lines of one account's billing period (none
    Bedrock lines in both): which of them holds no Bedrock lines of it (said of an export whose
    product maps were read), so nothing is summed twice; None when they share no account's
    period."""
    held = {e: holdings[e].held for e in (first, second)}
    shared = _shared_spend(_all_spend(held[first]), _all_spend(held[second]))
    if not shared:
        return None
    every = {(p, a) for p, found in shared.items() for a in found}
    lacking = {
        e: {(p, a) for p, a in every if not _holds_bedrock(held[e], p, a)}
        for e in (first, second)
        if not holdings[e].unsure
    }
    lacking.update({e: set() for e in (first, second) if holdings[e].unsure})
    accounts = {a for _, a in every}
    if lacking[first] == lacking[second] == every:
        without = f"neither holds Bedrock lines of {_it(accounts)}"
    else:
        without = " and ".join(
            f"{e} holds no Bedrock lines of "
            + (_it(accounts) if gone == every else _whose({a for _, a in gone}))
            for e, gone in lacking.items()
            if gone
        )
    return (
        f"{first} and {second} both hold lines of {_whose(accounts)} for {_periods(shared)}, "
        f"but {without or 'not Bedrock lines of one account in both'}: no Bedrock line is in "
        "both, so both are read (other services' lines are not)."
    )


def _holds_bedrock(held: Held, period: str, account: Account) -> bool:
    """True when ``held`` has a Bedrock line ``account``'s (a missing usage account or payer
    matches any) in ``period``."""
    return any(
        bedrock and _meet(account[0], other[0]) and _meet(account[1], other[1])
        for other, bedrock in held.get(period, {}).items()
    )


def _whose(accounts: set[Account]) -> str:
    """'account A (payer P)', 'accounts A, B', and 'accounts not named' when lines do not say
    theirs."""
    named = sorted((a for a in accounts if a[0] is not None), key=str)
    unnamed = "accounts not named (no usage account column)" if len(named) < len(accounts) else ""
    return " and ".join(filter(None, (_accounts(named) if named else "", unnamed)))


def _it(accounts: set[Account]) -> str:
    return "it" if len(accounts) == 1 else "them"


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
