"""What a local folder may hold besides log files: links, pipes, odd names, the run's own
output. Each is read, skipped with a reason, or quarantined; none is lost unsaid."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.sources.invocation_logs import EARLIER_OUTPUT, STOPPED_SCRATCH

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
BASE = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])


def _write(path: Path, *request_ids: str, extra: str = "") -> None:
    lines = [json.dumps({**BASE, "requestId": i}) for i in request_ids]
    path.write_text("\n".join(lines) + "\n" + extra)


def _quarantine(out: Path) -> list[tuple[str, int, str]]:
    rows = pq.read_table(out / "quarantine.parquet").to_pylist()
    return [(q["source"], q["line"], q["reason"]) for q in rows]


@pytest.fixture
def odd_folder(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1")
    month = tmp_path / "elsewhere" / "month"
    month.mkdir(parents=True)
    _write(month / "b.json", "b-1", "b-2")
    os.symlink(month, logs / "linked_month")  # read through the link
    os.symlink(month, logs / "zz_again")  # the same folder again: skipped, not read twice
    os.symlink(logs / "missing.json", logs / "dangling.json")
    os.symlink(logs / "loop2.json", logs / "loop1.json")
    os.symlink(logs / "loop1.json", logs / "loop2.json")
    os.mkfifo(logs / "pipe.json")  # reading it would wait forever
    _write(logs / os.fsdecode(b"caf\xe9.json"), "cafe-1", extra="not json\n")
    return logs


def test_links_pipes_and_odd_names(odd_folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    report = ingest_to_folder(odd_folder, out, workers=1, progress=False)
    usage = pq.read_table(out / "usage.parquet").to_pylist()
    assert sorted(r["request_id"] for r in usage) == ["a-1", "b-1", "b-2", "cafe-1"]
    assert {r["request_id"]: r["source_file"] for r in usage}["cafe-1"] == "caf\\xe9.json"
    assert _quarantine(out) == [
        ("caf\\xe9.json", 2, "invalid JSON"),
        ("dangling.json", 1, "unreadable file (FileNotFoundError)"),
        ("loop1.json", 1, "unreadable file (OSError)"),
        ("loop2.json", 1, "unreadable file (OSError)"),
    ]
    assert report.files_skipped == [
        {"file": "pipe.json", "reason": "not a regular file"},
        {"file": "zz_again/", "reason": "folder already read (a link)"},
    ]
    assert (report.rows, report.quarantined, report.lines_read) == (4, 4, 8)


def test_the_runs_own_output_inside_the_source_is_not_read(tmp_path: Path):
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1", "a-2")
    first = ingest_to_folder(logs, logs, workers=1, progress=False)
    again = ingest_to_folder(logs, logs, workers=1, progress=False)
    assert (
        (again.lines_read, again.rows, again.quarantined)
        == (2, 2, 0)
        == (
            first.lines_read,
            first.rows,
            first.quarantined,
        )
    )
    own = [s["file"] for s in again.files_skipped if s["reason"] == "this ingest's own output"]
    assert own == ["ingest_report.json", "prompts.parquet", "quarantine.parquet"]


def test_an_earlier_ingests_output_inside_the_source_is_not_read(tmp_path: Path):
    """Its report is no log."""
    logs = tmp_path / "logs"
    logs.mkdir()
    _write(logs / "a.json", "a-1", "a-2")
    ingest_to_folder(logs, logs / "out", workers=1, progress=False)
    again = ingest_to_folder(logs, tmp_path / "elsewhere", workers=1, progress=False)
    assert (again.lines_read, again.rows, again.quarantined, again.duplicates) == (2, 2, 0, 0)
    earlier = [s["file"] for s in again.files_skipped if s["reason"] == EARLIER_OUTPUT]
    assert earlier == ["out/ingest_report.json", "out/prompts.parquet", "out/quarantine.parquet"]


def test_a_killed_ingests_scratch_copy_inside_the_source_is_not_read(tmp_path: Path):
    """A killed run leaves its expanded gzip files and no report: they are no second copy of
    the logs, and the report lists the folder as skipped."""
    logs = tmp_path / "logs"
    (logs / "out" / ".expanded-0123456789ab").mkdir(parents=True)
    _write(logs / "a.json", "a-1", "a-2")
    _write(logs / "out" / ".expanded-0123456789ab" / "big.json", "a-1", "a-2")
    report = ingest_to_folder(logs, tmp_path / "elsewhere", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.duplicates) == (2, 2, 0)
    assert report.files_skipped == [
        {"file": "out/.expanded-0123456789ab/", "reason": STOPPED_SCRATCH}
    ]


def test_a_home_folder_of_no_user_is_a_clear_error(tmp_path: Path):
    with pytest.raises(IngestError, match=r"source '~nosuchuser-x/logs'.*full path"):
        ingest_to_folder("~nosuchuser-x/logs", tmp_path, progress=False)
