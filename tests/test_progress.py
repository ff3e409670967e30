"""The progress bar: drawn on a terminal, even one that reports no size; silent otherwise."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import sys
import termios
from pathlib import Path

import pytest

from bedrock_finops import cli
from bedrock_finops.progress import Progress
from bedrock_finops.sources import file_ranges

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"


def _drawn_on_terminal(rows: int, columns: int, monkeypatch) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    stream = os.fdopen(slave, "w", encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", stream)
    with Progress(total=4, enabled=None) as bar:  # None: on when stderr is a terminal
        for _ in range(4):
            bar.update(1, 250)
    stream.flush()
    stream.close()
    chunks = []
    while select.select([master], [], [], 1.0)[0]:  # all the bar wrote, however it arrives
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.parametrize(("rows", "columns"), [(0, 0), (40, 0), (0, 120), (40, 120)])
def test_a_terminal_gets_the_bar_whatever_size_it_reports(monkeypatch, rows, columns):
    """tqdm hides a bar on a terminal of 0 rows and draws an empty one at 0 columns."""
    text = _drawn_on_terminal(rows, columns, monkeypatch)
    assert "4/4" in text and "records=1000" in text


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    with Progress(total=4, enabled=None) as bar:
        bar.update(4, 1000)
    assert stream.getvalue() == "" and bar.records == 1000


@pytest.mark.parametrize("terminal", [False, True])
def test_the_ingest_command_draws_the_bar_only_on_a_terminal(
    tmp_path, capsys, monkeypatch, terminal
):
    """``bedrock-finops ingest`` writes nothing to a stderr that is no terminal (a log file,
    CI); on a terminal it draws the bar: the fixture's 2 files, 13 records (12 rows and a
    repeated delivery)."""
    if terminal:
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    out = tmp_path / "usage.parquet"
    assert cli.main(["ingest", "--source", str(GOOD), "--out", str(out), "--workers", "1"]) == 0
    err = capsys.readouterr().err
    if terminal:
        assert "ingest: 100%" in err and "2/2" in err and "records=13" in err
    else:
        assert err == ""


def test_a_file_read_in_ranges_moves_the_bar_range_by_range(tmp_path, capsys, monkeypatch):
    """A month's export in one file is cut into ranges: the bar counts them (parts), so it
    does not stand at 1/1, 100% after the first range while the rest is read, and every draw
    shows the records read so far (they lagged a result behind)."""
    line = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
    (tmp_path / "logs").mkdir()
    export = tmp_path / "logs" / "month.jsonl"
    export.write_text(
        "".join(json.dumps({**line, "requestId": f"r{i}"}) + "\n" for i in range(300))
    )
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", export.stat().st_size // 6 + 1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    out = tmp_path / "usage.parquet"
    args = ["ingest", "--source", str(tmp_path / "logs"), "--out", str(out), "--workers", "1"]
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    draws = re.findall(r"(\d+)/(\d+) \[[^\]]*records=([\d,]+)", err)
    assert draws and {total for _, total, _ in draws} == {"6"} and " 6/6 " in err
    assert "part" in err and "records=300" in err
    assert all(int(done) == 0 or int(records.replace(",", "")) > 0 for done, _, records in draws)
