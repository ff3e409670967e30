"""This tool's own output inside a source folder: a run's dated folder, an ingest's tables.

A log folder may hold what this tool wrote before: ``outputs/`` beside the logs, an
``ingest --out`` folder among them. Its JSON files (a run's manifest, the ingest report,
findings) and JSONL files (batch jobs' inputs) are no logs: read as logs, each line would be a
quarantine entry. A folder is taken for this tool's output only on a mark a folder of logs
does not carry by chance:

- a run's ``manifest.json``, which opens with ``"tool": "bedrock-finops"`` (``runner``);
- an ingest's ``ingest_report.json``, which opens with its ``"source"``, beside its
  ``prompts.parquet`` and the table the report names (``usage.parquet`` in reports older than
  the name).

In such a folder only the files this tool writes there, by name, are left out (each listed as
skipped, with the reason); any other file is read, so a log file the user put there is read, and
a ``manifest.json`` of the user's own in a folder without the mark is a log file like any other.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

# what an ingest writes beside its table (the table is named by the caller)
OUTPUT_FILES = ("prompts.parquet", "quarantine.parquet", "ingest_report.json")
REPORT = "ingest_report.json"
RUN_MANIFEST = "manifest.json"
EARLIER_OUTPUT = "an earlier ingest's output"
EARLIER_RUN = "an earlier run's output (bedrock-finops run)"
# what a run writes into its folder besides the ingest's files and its manifest (runner,
# billing_inputs, sample_billing, the sample's truth.json), and what notebooks write beside
# the table they read: each notebook executed and its HTML copy, findings, effects, routing
WRITTEN = frozenset(
    {
        "usage.parquet",
        *OUTPUT_FILES,
        "billing.parquet",
        "metrics.parquet",
        "truth.json",
        "sample_cur.parquet",
        "sample_cur_truth.json",
    }
)
NOTEBOOK_SUFFIXES = (
    ".ipynb",
    ".html",
    ".findings.json",
    ".effects.parquet",
    ".routing.csv",
    ".routing.json",
)
# folders a run writes into its own: the batch notebook's ready jobs (JSONL inputs), and the
# embedded sample's logs while it is generated
WRITTEN_FOLDERS = frozenset({"batch_jobs", ".sample"})

HEAD_BYTES = 4096  # read of a manifest or report for its mark (their first keys)
_MANIFEST_MARK = re.compile(rb'\A\{\s*"tool":\s*"bedrock-finops"')
_REPORT_MARK = re.compile(rb'\A\{\s*"source":')
_REPORT_TABLE = re.compile(rb'^\s*"table":\s*("(?:[^"\\]|\\.)*")', re.MULTILINE)


@dataclass(frozen=True)
class EarlierOutput:
    """A folder this tool wrote: why its files are skipped, and which files are its."""

    reason: str  # EARLIER_RUN or EARLIER_OUTPUT
    table: str  # the usage table's file name

    def holds(self, name: str) -> bool:
        """Whether a file of this name in the folder is one this tool wrote."""
        if name == RUN_MANIFEST:
            return self.reason == EARLIER_RUN
        return name in WRITTEN or name == self.table or name.endswith(NOTEBOOK_SUFFIXES)

    def holds_folder(self, name: str) -> bool:
        """Whether a folder of this name in the folder is one this tool wrote."""
        return self.reason == EARLIER_RUN and name in WRITTEN_FOLDERS


def earlier_output(folder: Path, names: Collection[str]) -> EarlierOutput | None:
    """The output this tool wrote in ``folder`` (whose file names are ``names``), by its mark;
    None for a folder without one."""
    if RUN_MANIFEST in names and _MANIFEST_MARK.match(_head(folder / RUN_MANIFEST)):
        return EarlierOutput(EARLIER_RUN, "usage.parquet")
    if REPORT in names and "prompts.parquet" in names:
        head = _head(folder / REPORT)
        table = _table_named(head) if _REPORT_MARK.match(head) else None
        if table is not None and table in names:
            return EarlierOutput(EARLIER_OUTPUT, table)
    return None


def _head(path: Path) -> bytes:
    """The first bytes of a file; none when it cannot be read (then it bears no mark)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError:
        return b""


def _table_named(report_head: bytes) -> str | None:
    """The table an ingest report names (``usage.parquet`` before reports named it)."""
    found = _REPORT_TABLE.search(report_head)
    if found is None:
        return "usage.parquet"
    try:
        name = json.loads(found.group(1))
    except ValueError:
        return None
    return name if isinstance(name, str) else None


def folders_of(files: list[str]) -> str:
    """The folders of skipped files (relative to the source, ``.`` for the source itself),
    once each in order, the first three named: ``outputs/2026-11-26, outputs/2026-11-27``."""
    folders = list(dict.fromkeys(posixpath.dirname(f.rstrip("/")) or "." for f in files))
    return ", ".join(folders[:3]) + (", ..." if len(folders) > 3 else "")
