"""This tool's own output inside a source folder: a run's dated folder, an ingest's tables, an
eval sample, a batch export's jobs.

A log folder may hold what this tool wrote before: ``outputs/`` beside the logs, an
``ingest --out``, ``eval-sample --out`` or ``batch-export --out`` folder among them. Its JSON
files (a run's manifest, the ingest report, findings, a job's request) and JSONL files (eval
datasets, batch jobs' inputs) are no logs: read as logs, each line would be a quarantine entry.
A folder is taken for this tool's output only on a mark a folder of logs does not carry by
chance:

- a run's ``manifest.json``, which opens with ``"tool": "bedrock-finops"`` (``runner``);
- an eval sample's ``manifest.json``, which opens with ``"tool": "bedrock-finops", "kind":
  "eval-sample"`` (``quality_gate``) and names its datasets;
- a batch job's ``job.json``, which opens with ``"tool": "bedrock-finops", "kind":
  "batch-job"`` (``batch_jobs``), in the job's own folder;
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

from bedrock_finops.sources.log_sniff import local_head

# what an ingest writes beside its table (the table is named by the caller)
OUTPUT_FILES = ("prompts.parquet", "quarantine.parquet", "ingest_report.json")
REPORT = "ingest_report.json"
RUN_MANIFEST = "manifest.json"
EARLIER_OUTPUT = "an earlier ingest's output"
EARLIER_RUN = "an earlier run's output (bedrock-finops run)"
EARLIER_EVAL_SAMPLE = "an earlier eval sample (bedrock-finops eval-sample)"
EARLIER_BATCH_JOB = "an earlier batch job's files (bedrock-finops batch-export)"
# every reason a file is skipped as output this tool wrote earlier
EARLIER_REASONS = (EARLIER_RUN, EARLIER_OUTPUT, EARLIER_EVAL_SAMPLE, EARLIER_BATCH_JOB)
# the ``"kind"`` after the mark: an eval sample's manifest, a batch job's job.json
EVAL_SAMPLE_KIND = "eval-sample"
BATCH_JOB_KIND = "batch-job"
BATCH_JOB = "job.json"
# what eval-sample writes besides its datasets (named in its manifest): its manifest, and the
# live replay's scores, answers and failed requests (--live --apply)
EVAL_SAMPLE_FILES = frozenset(
    {RUN_MANIFEST, "eval_results.csv", "responses.jsonl", "replay_errors.json"}
)
# what batch-export writes in a job's folder, and the folder of its input files
BATCH_JOB_FILES = frozenset({BATCH_JOB, "request.json", "records.csv"})
BATCH_JOB_FOLDERS = frozenset({"input"})
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

TOOL = "bedrock-finops"
HEAD_BYTES = 4096  # read of a manifest or report for its mark (their first keys)
_MANIFEST_MARK = re.compile(rb'\A\{\s*"tool":\s*"bedrock-finops"')
_KIND = re.compile(rb'\A\{\s*"tool":\s*"bedrock-finops",\s*"kind":\s*"([\w-]+)"')
EVAL_MANIFEST_BYTES = 64 << 20  # an eval sample's manifest, read whole for its datasets' names
_REPORT_MARK = re.compile(rb'\A\{\s*"source":')
_REPORT_TABLE = re.compile(rb'^\s*"table":\s*("(?:[^"\\]|\\.)*")', re.MULTILINE)


@dataclass(frozen=True)
class EarlierOutput:
    """A folder this tool wrote: why its files are skipped, and which files are its."""

    reason: str  # one of EARLIER_REASONS
    files: frozenset[str]  # the names of the files it wrote there
    suffixes: tuple[str, ...] = ()  # and of those whose names end so (a run's notebooks)
    folders: frozenset[str] = frozenset()  # the folders it wrote there

    def holds(self, name: str) -> bool:
        """Whether a file of this name in the folder is one this tool wrote."""
        return name in self.files or name.endswith(self.suffixes)

    def holds_folder(self, name: str) -> bool:
        """Whether a folder of this name in the folder is one this tool wrote."""
        return name in self.folders


def earlier_output(folder: Path, names: Collection[str]) -> EarlierOutput | None:
    """The output this tool wrote in ``folder`` (whose file names are ``names``), by its mark;
    None for a folder without one."""
    if RUN_MANIFEST in names:
        head = _head(folder / RUN_MANIFEST)
        if _kind(head) == EVAL_SAMPLE_KIND:
            return EarlierOutput(EARLIER_EVAL_SAMPLE, EVAL_SAMPLE_FILES | _datasets(folder))
        if _MANIFEST_MARK.match(head):
            files = WRITTEN | {RUN_MANIFEST}
            return EarlierOutput(EARLIER_RUN, files, NOTEBOOK_SUFFIXES, WRITTEN_FOLDERS)
    if BATCH_JOB in names and _kind(_head(folder / BATCH_JOB)) == BATCH_JOB_KIND:
        return EarlierOutput(EARLIER_BATCH_JOB, BATCH_JOB_FILES, folders=BATCH_JOB_FOLDERS)
    if REPORT in names and "prompts.parquet" in names:
        head = _head(folder / REPORT)
        table = _table_named(head) if _REPORT_MARK.match(head) else None
        if table is not None and table in names:
            return EarlierOutput(EARLIER_OUTPUT, WRITTEN | {table}, NOTEBOOK_SUFFIXES)
    return None


def mark(kind: str) -> dict[str, str]:
    """The keys an eval sample's manifest or a batch job's ``job.json`` opens with: the folder's
    mark (written first: the mark is looked for at the start of the file)."""
    return {"tool": TOOL, "kind": kind}


def _kind(head: bytes) -> str | None:
    """The kind of output a marked file opens with (``"kind"`` right after the mark)."""
    found = _KIND.match(head)
    return found.group(1).decode() if found else None


def _datasets(folder: Path) -> frozenset[str]:
    """The dataset files an eval sample's manifest names (none when it cannot be read: then
    they are read as logs, and quarantined, rather than a file of the user's skipped)."""
    try:
        with open(folder / RUN_MANIFEST, "rb") as fh:
            segments = json.loads(fh.read(EVAL_MANIFEST_BYTES)).get("segments", [])
        files = [seg.get("file") for seg in segments]
    except (OSError, ValueError, AttributeError):
        return frozenset()
    return frozenset(f for f in files if isinstance(f, str) and "/" not in f)


def _head(path: Path) -> bytes:
    """The first bytes of a file; none when it cannot be read (then it bears no mark)."""
    return local_head(path, HEAD_BYTES)


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
