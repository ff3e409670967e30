"""The quarantine goes to ``quarantine.parquet.partial`` a row group at a time while the run
goes, not held to its end: the file and the report's counts are the same as one written
whole, and a run stopped or failing part-way leaves no part of it, nor the file open."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from record_rows import log_record

from bedrock_finops import ingest, ingest_output, quarantine_file
from bedrock_finops.ingest import IngestError, IngestReport, ingest_to_folder

BAD_TIMESTAMP = "bad timestamp (expected ISO-8601 with a date, time and Z or an offset)"


def _record(request_id: str, **changes) -> str:
    body = {"messages": [{"role": "user", "content": [{"text": "Summarise: " + "x" * 300}]}]}
    out = {"output": {"message": {"content": [{"text": "ok"}]}}, "stopReason": "end_turn"}
    rec = log_record(body, out) | {"requestId": request_id} | changes
    return json.dumps({k: v for k, v in rec.items() if v is not None})


LINES = {
    "a.json": [_record("a1"), "not json", _record("a3", operation=None)],
    "b.json": ["[1, 2]", _record("b2", timestamp="2025/06/02 11:01:00"), "not json either"],
    "c.json": [_record("c1", operation="InvokeAgent"), "{", _record("c3")],
}
EXPECTED = [  # source, line, reason: in the order the files and their lines are read
    ("a.json", 2, "invalid JSON"),
    ("a.json", 3, "missing operation"),
    ("b.json", 1, "record is not a JSON object"),
    ("b.json", 2, BAD_TIMESTAMP),
    ("b.json", 3, "invalid JSON"),
    ("c.json", 1, "unknown operation 'InvokeAgent'"),
    ("c.json", 2, "invalid JSON"),
]
BY_REASON = {
    "invalid JSON": 3,
    "missing operation": 1,
    "record is not a JSON object": 1,
    BAD_TIMESTAMP: 1,
    "unknown operation 'InvokeAgent'": 1,
}


def _logs(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    for name, lines in LINES.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder


def _ingest(logs: Path, out: Path) -> tuple[IngestReport, pa.Table]:
    report = ingest_to_folder(logs, out, workers=1, progress=False)
    return report, pq.read_table(out / "quarantine.parquet")


def _open_files() -> list[str]:
    """The files this process holds open (a removed one keeps its space)."""
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir() if fds.is_dir() else []:
        try:
            found.append(os.readlink(fd))
        except OSError:  # the one that listed the folder, closed since
            continue
    return found


def test_quarantined_lines_are_written_as_they_come_and_read_back_the_same(tmp_path, monkeypatch):
    logs = _logs(tmp_path)
    whole_report, whole = _ingest(logs, tmp_path / "whole")  # all in one row group
    monkeypatch.setattr(quarantine_file, "ROW_GROUP_ENTRIES", 2)
    partial = tmp_path / "grouped" / "quarantine.parquet.partial"
    before_close = []
    real_close = ingest_output.Collector.close

    def close(self):
        before_close.append(partial.is_file())
        real_close(self)

    monkeypatch.setattr(ingest_output.Collector, "close", close)
    report, grouped = _ingest(logs, tmp_path / "grouped")
    assert before_close == [True]  # written while the files were read, not at the end
    assert pq.ParquetFile(tmp_path / "grouped" / "quarantine.parquet").num_row_groups == 4
    assert grouped.equals(whole)
    assert grouped.to_pylist() == [
        {"source": f, "line": n, "reason": why, "excerpt": LINES[f][n - 1][:200]}
        for f, n, why in EXPECTED
    ]
    assert list(report.quarantine_by_reason.items()) == list(BY_REASON.items())
    assert report.quarantine_by_reason == whole_report.quarantine_by_reason
    assert (report.quarantined, report.rows) == (whole_report.quarantined, 2) == (7, 2)


def test_no_quarantined_line_gives_an_empty_file_of_the_four_columns(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_text(_record("a1") + "\n")
    report, table = _ingest(logs, tmp_path / "out")
    assert (report.quarantined, report.quarantine_by_reason, table.num_rows) == (0, {}, 0)
    assert table.schema == quarantine_file.QUARANTINE_SCHEMA


def test_a_run_stopped_after_quarantine_rows_were_written_leaves_the_earlier_run(
    tmp_path, monkeypatch
):
    logs = _logs(tmp_path)
    out = tmp_path / "out"
    _ingest(logs, out)
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr(quarantine_file, "ROW_GROUP_ENTRIES", 1)
    real = ingest._results

    def stopping_at_the_last_file(*args, **kwargs):
        for n, res in enumerate(real(*args, **kwargs)):
            if n == 2:
                raise KeyboardInterrupt
            yield res

    monkeypatch.setattr(ingest, "_results", stopping_at_the_last_file)
    with pytest.raises(KeyboardInterrupt) as stop:  # its traceback holds the run's objects
        ingest_to_folder(logs, out, workers=1, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    assert [f for f in _open_files() if f.startswith(str(out))] == []
    assert stop.traceback  # held until here


def test_a_full_disk_as_quarantine_rows_are_written_leaves_nothing_open(tmp_path, monkeypatch):
    monkeypatch.setattr(quarantine_file, "ROW_GROUP_ENTRIES", 1)
    real, written = quarantine_file.QuarantineFile._write_pending, []

    def filling_the_disk(self):
        real(self)  # the file is made and holds a row group when the disk fills
        written.append(self.path.stat().st_size)
        if len(written) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(quarantine_file.QuarantineFile, "_write_pending", filling_the_disk)
    out = tmp_path / "out"
    with pytest.raises(IngestError, match="^no space left on the disk in ") as full:
        ingest_to_folder(_logs(tmp_path), out, workers=1, progress=False)
    assert len(written) == 2
    assert not out.exists()  # made for the run, and taken back
    assert [f for f in _open_files() if f.startswith(str(out))] == []
    assert full.traceback  # held until here, with the run's objects
