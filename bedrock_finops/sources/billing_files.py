"""Which files of a billing export (CUR 2.0, legacy CUR, FOCUS) are read, and what is left out.

The paths given are files and folders; a folder's export files (:func:`is_export_file`) are
read at any depth, each file once however many of the paths reach it. Left out, and told
(``ExportFiles.skipped``, ``ExportFiles.notes``):

- a legacy CUR's Athena status table, ``<report>/cost_and_usage_data_status/
  cost_and_usage_data_status.parquet`` (one ``status`` column saying whether a refresh is under
  way: https://docs.aws.amazon.com/cur/latest/userguide/create-manual-cur-table.html), which
  holds no billing lines.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Note = Callable[[str], None]

STATUS_TABLE = "cost_and_usage_data_status"
STATUS_TABLE_REASON = (
    "a legacy CUR's Athena status table (one status column: whether a refresh is under way), "
    "not billing lines"
)


class BillingFormatError(ValueError):
    """A billing export lacks what the reader needs."""


@dataclass
class ExportFiles:
    """The files to read, and what was left out: ``skipped`` holds one ``{"file", "reason"}``
    for each file or folder left out, ``notes`` a sentence for the user on each."""

    files: list[Path] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def leave_out(self, path: Path, reason: str, note: str) -> None:
        self.skipped.append({"file": str(path), "reason": reason})
        self.notes.append(note)


def print_note(message: str) -> None:
    """Tell the user on stderr (stdout carries the figures)."""
    print(f"billing: {message}", file=sys.stderr)


def tell(selection: ExportFiles, note: Note | None) -> None:
    for message in selection.notes if note else ():
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
            selection.leave_out(
                path, STATUS_TABLE_REASON, f"left out {path}: {STATUS_TABLE_REASON}"
            )
        else:
            selection.files.append(path)
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
