"""Which files of a billing export (CUR 2.0, legacy CUR, FOCUS) are read, and what is left out.

The paths given are files and folders; a folder's export files (:func:`is_export_file`) are
read at any depth, each file once however many of the paths reach it. Left out, and told
(``ExportFiles.skipped``, ``ExportFiles.notes``):

- a legacy CUR's Athena status table, ``<report>/cost_and_usage_data_status/
  cost_and_usage_data_status.parquet`` (one ``status`` column saying whether a refresh is under
  way: https://docs.aws.amazon.com/cur/latest/userguide/create-manual-cur-table.html), which
  holds no billing lines;
- every delivery of a billing period but the latest. An export that keeps each refresh writes
  the period so far every time: legacy CUR with "create new report version" to
  ``<report>/yyyymmdd-yyyymmdd/<assemblyId>/<report>-N.csv.gz``, a Data Export (CUR 2.0, FOCUS)
  with overwrite off to ``<export>/data/BILLING_PERIOD=YYYY-MM/<executionId>/``, so adding
  them would count the spend once per refresh. The latest is the one the period's manifest
  names: legacy CUR's ``yyyymmdd-yyyymmdd/<report>-Manifest.json`` (rewritten at each refresh;
  ``assemblyId`` and ``reportKeys``, S3 keys), a Data Export's
  ``<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json`` (``dataFiles``, S3 URIs;
  https://docs.aws.amazon.com/cur/latest/userguide/understanding-report-versions.html,
  https://docs.aws.amazon.com/cur/latest/userguide/dataexports-export-delivery.html). Without
  a manifest naming one of them, the read is refused (:class:`BillingFormatError`), naming the
  deliveries and the fix: point at one delivery. A delivery is the folder right below the
  period's folder (or the period's folder itself, for files right in it).

Two exports that bill the same account's same billing period (two Data Exports of one account,
a legacy CUR report and a CUR 2.0 export of one month, a payer's consolidated export and a member
account's own) are refused when both hold Bedrock lines of it; when one of them holds only other
services' lines of it (which are not read), both are read and a note says so:
:mod:`bedrock_finops.sources.export_overlap`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bedrock_finops.sources.export_overlap import refuse_overlapping_exports

Note = Callable[[str], None]

STATUS_TABLE = "cost_and_usage_data_status"
STATUS_TABLE_REASON = (
    "a legacy CUR's Athena status table (one status column: whether a refresh is under way), "
    "not billing lines"
)
# a billing period's folder: a Data Export's partition, a legacy CUR's date range
PERIOD_FOLDER = re.compile(r"^(?:BILLING_PERIOD=\d{4}-\d{2}|\d{8}-\d{8})$", re.IGNORECASE)
SHOWN = 3  # older deliveries named in a note; files_skipped lists them all


class BillingFormatError(ValueError):
    """A billing export lacks what the reader needs."""


@dataclass
class ExportFiles:
    """The files to read, and what was left out: ``skipped`` holds one ``{"file", "reason"}``
    for each file or folder left out, ``notes`` a sentence for the user on each."""

    files: list[Path] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def leave_out(self, paths: list[Path], reason: str, note: str) -> None:
        self.skipped.extend({"file": str(path), "reason": reason} for path in paths)
        self.notes.append(note)


def print_note(message: str) -> None:
    """Tell the user on stderr (stdout carries the figures), the file and folder names in the
    note escaped for the terminal."""
    from bedrock_finops.terminal_text import print_line

    print_line(f"billing: {message}", file=sys.stderr)


def tell(selection: ExportFiles, note: Note | None) -> None:
    """Each of ``selection``'s notes to ``note`` (None: told to no one)."""
    if note is not None:
        for message in selection.notes:
            note(message)


def is_export_file(path: Path) -> bool:
    """A file a billing export's data can be in: parquet, CSV, gzip (``.csv.gz``,
    ``.snappy.parquet`` end so too) or a legacy CUR's ZIP-compressed ``.csv.zip``."""
    return path.is_file() and (path.suffix in (".parquet", ".csv", ".gz") or _is_csv_zip(path))


def _is_csv_zip(path: Path) -> bool:
    return path.name.lower().endswith(".csv.zip")


def is_status_table(path: Path) -> bool:
    """A legacy CUR's Athena status table (``cost_and_usage_data_status/...parquet``)."""
    return path.parent.name == STATUS_TABLE or path.name.startswith(f"{STATUS_TABLE}.")


def select_export_files(paths: str | Path | Sequence[str | Path]) -> ExportFiles:
    """The files of a billing export to read, and what is left out with why."""
    selection = ExportFiles()
    for path in _given_files(paths):
        if is_status_table(path):
            note = f"left out {path}: {STATUS_TABLE_REASON}"
            selection.leave_out([path], STATUS_TABLE_REASON, note)
        else:
            selection.files.append(path)
    _keep_latest_deliveries(selection)
    # two exports of one period and account's Bedrock lines: refused; of its other lines: told
    selection.notes.extend(refuse_overlapping_exports(selection.files))
    return selection


def export_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files of a billing export that are read (:func:`select_export_files`)."""
    return select_export_files(paths).files


def _given_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """The paths given, a folder's export files in place of the folder, each file once
    (compared resolved: a folder and a folder in it, a file named twice)."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files.extend(_folder_files(p))
        elif p.exists():
            files.append(p)
        else:
            raise FileNotFoundError(f"billing export not found: {p}")
    return _each_once(files)


def _folder_files(folder: Path) -> list[Path]:
    found = sorted(f for f in folder.rglob("*") if is_export_file(f))
    if not [f for f in found if not is_status_table(f)]:
        only = f" (only {STATUS_TABLE}, {STATUS_TABLE_REASON})" if found else ""
        raise FileNotFoundError(
            f"no .parquet, .csv, .csv.gz or .csv.zip billing files under {folder}{only}"
        )
    return found


def _each_once(files: list[Path]) -> list[Path]:
    """``files`` without a second path to a file already in it (compared resolved)."""
    seen: set[Path] = set()
    once = []
    for f in files:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            once.append(f)
    return once


# --- deliveries of a billing period --------------------------------------------------------


@dataclass(frozen=True)
class _Delivery:
    period: Path  # the billing period's folder, resolved
    folder: Path  # the folder holding this delivery's files (the period's, for files right in it)


def _delivery_of(path: Path) -> _Delivery | None:
    """Where a file sits in AWS's layout: None outside a billing period's folder."""
    resolved = path.resolve()
    for depth, folder in enumerate(resolved.parents):
        if PERIOD_FOLDER.match(folder.name):
            return _Delivery(folder, resolved.parents[depth - 1] if depth else folder)
    return None


def _keep_latest_deliveries(selection: ExportFiles) -> None:
    """Of each billing period delivered more than once, keep the latest delivery's files."""
    deliveries = {path: _delivery_of(path) for path in selection.files}
    by_period: dict[Path, set[Path]] = {}
    for delivery in filter(None, deliveries.values()):
        by_period.setdefault(delivery.period, set()).add(delivery.folder)
    older: set[_Delivery] = set()
    for period, folders in sorted(by_period.items()):
        if len(folders) > 1:
            latest, manifest = _latest_delivery(period, folders)
            left = sorted(folders - {latest})
            older |= {_Delivery(period, folder) for folder in left}
            loose = [p for p, d in deliveries.items() if d == _Delivery(period, period)]
            _leave_out_older(selection, period, latest, manifest, left, loose)
    selection.files = [path for path in selection.files if deliveries[path] not in older]


def _leave_out_older(
    selection: ExportFiles,
    period: Path,
    latest: Path,
    manifest: Path,
    older: list[Path],
    loose: list[Path],
) -> None:
    """Record the older deliveries, each folder once; an older delivery of files right in the
    period's folder (which holds the latest delivery's folder too) by its files, ``loose``."""
    reason = (
        f"an older delivery of billing period {period.name}, holding the period so far as the "
        f"latest does ({manifest} names {_name(latest, period)} as the latest)"
    )
    paths = [f for f in older if f != period] + (loose if period in older else [])
    shown = ", ".join(_name(f, period) for f in older[:SHOWN])
    more = f" and {len(older) - SHOWN} more" if len(older) > SHOWN else ""
    note = (
        f"{period}: read the latest delivery of billing period {period.name}, "
        f"{_name(latest, period)}, as {manifest.name} names it; left out {_older(len(older))} "
        f"of the period, each holding the period so far: {shown}{more}"
    )
    selection.leave_out(paths, reason, note)


def _older(count: int) -> str:
    return "1 older delivery" if count == 1 else f"{count} older deliveries"


def _name(folder: Path, period: Path) -> str:
    return folder.name if folder != period else f"the files right in {period.name}"


def _latest_delivery(period: Path, folders: set[Path]) -> tuple[Path, Path]:
    """(the delivery folder the period's manifest names, that manifest); refused when no
    manifest names exactly one of ``folders``."""
    manifests = _period_manifests(period)
    named = {
        m: {period / n if n else period for n in _named_deliveries(m, period)} for m in manifests
    }
    latest = {folder for names in named.values() for folder in names}
    if len(latest & folders) == 1:
        folder = next(iter(latest & folders))
        return folder, next(m for m, names in named.items() if folder in names)
    raise BillingFormatError(_deliveries_problem(period, folders, manifests, latest))


def _period_manifests(period: Path) -> list[Path]:
    """The manifests that name a period's latest delivery: legacy CUR's, in the period's folder
    (a delivery's own, in its folder, names only itself), and a Data Export's, in
    ``<export>/metadata/BILLING_PERIOD=YYYY-MM/``."""
    folders = [period]
    if period.parent.name == "data":
        folders.append(period.parent.parent / "metadata" / period.name)
    found = (f for folder in folders if folder.is_dir() for f in folder.iterdir())
    return sorted(f for f in found if f.is_file() and _is_manifest(f))


def _is_manifest(path: Path) -> bool:
    return path.name == "Manifest.json" or path.name.endswith("-Manifest.json")


def _named_deliveries(manifest: Path, period: Path) -> set[str]:
    """The delivery folders a manifest lists files in ("" for files right in the period's
    folder): by ``reportKeys`` (legacy CUR, S3 keys) or ``dataFiles`` (Data Exports, S3 URIs),
    else by its ``assemblyId`` (legacy CUR) or ``executionId`` (Data Exports)."""
    content = _json_object(manifest)
    keys = content.get("reportKeys") or content.get("dataFiles") or []
    names = set()
    for key in keys if isinstance(keys, list) else []:
        parts = str(key).split("/")
        if period.name in parts[:-1]:
            below = parts[parts.index(period.name) + 1 : -1]
            names.add(below[0] if below else "")
    if not names:
        ids = (content.get(k) for k in ("assemblyId", "executionId"))
        names = {i for i in ids if isinstance(i, str) and i}
    return names


def _json_object(path: Path) -> dict:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _deliveries_problem(
    period: Path, folders: set[Path], manifests: list[Path], latest: set[Path]
) -> str:
    """Why the deliveries of ``period`` cannot be read, and the fix, in one line."""
    here = ", ".join(_name(f, period) for f in sorted(folders))
    if not manifests:
        why = "no manifest says which is the latest"
    elif not latest:
        why = f"its manifest ({', '.join(m.name for m in manifests)}) names none of them"
    elif not latest & folders:
        named = ", ".join(_name(f, period) for f in sorted(latest))
        why = f"its manifest names {named} as the latest, which is not here (download it)"
    else:
        named = ", ".join(_name(f, period) for f in sorted(latest & folders))
        why = f"its manifests name more than one of them as the latest ({named})"
    return (
        f"{period} holds {len(folders)} deliveries of billing period {period.name} ({here}), "
        "each the whole period so far (an export that keeps every refresh: legacy CUR's "
        '"create new report version", a Data Export with overwrite off), so reading them all '
        f"would count its spend {len(folders)} times, and {why}. Point at one delivery folder "
        "(the latest), or keep beside them the manifest AWS delivers with them "
        f"({_manifest_place(period)})."
    )


def _manifest_place(period: Path) -> str:
    if period.name.upper().startswith("BILLING_PERIOD="):
        return f"<export>/metadata/{period.name}/<export>-Manifest.json"
    return f"{period.name}/<report>-Manifest.json"
