"""The progress bar: drawn on a terminal, even one that reports no size; silent otherwise."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import sys
import termios
from pathlib import Path

import pytest

from bedrock_finops import cli
from bedrock_finops.progress import Progress

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
