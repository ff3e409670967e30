"""The scratch folders a killed ingest leaves (/dev/shm batches, expanded logs under the output
folder) are removed by the next run when their maker is provably gone, and never a live one's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bedrock_finops import scratch_folders
from bedrock_finops.sources import invocation_logs as logs

pytestmark = pytest.mark.skipif(os.name != "posix", reason="pids and locks as on POSIX")
PREFIX = ".expanded-"


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _left(parent: Path, pid: int) -> Path:
    """A folder as ``make`` names it, for ``pid``, with a copy in it and its lock file."""
    folder = parent / f"{PREFIX}{pid}-0123456789ab"
    folder.mkdir()
    (folder / "0.jsonl").write_text("{}\n")
    (folder / scratch_folders.LOCK_FILE).touch()
    return folder


def test_a_dead_makers_folder_is_removed(tmp_path):
    folder = _left(tmp_path, _dead_pid())
    assert scratch_folders.remove_stale(tmp_path, PREFIX) == [folder]
    assert list(tmp_path.iterdir()) == []


def test_a_live_makers_folder_is_kept(tmp_path):
    folder = _left(tmp_path, os.getppid())  # alive: it runs this test
    assert scratch_folders.remove_stale(tmp_path, PREFIX) == []
    assert folder.is_dir()


def test_a_folder_locked_by_a_live_process_is_kept_though_its_pid_is_gone(tmp_path):
    """A run in another container (another pid namespace) sharing the folder: its pid means
    nothing here, its lock does."""
    folder = _left(tmp_path, _dead_pid())
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'r+'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)",
         str(folder / scratch_folders.LOCK_FILE)],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout.readline() == b"locked\n"
        assert scratch_folders.remove_stale(tmp_path, PREFIX) == []
        assert folder.is_dir()
    finally:
        holder.kill()
        holder.wait()
    assert scratch_folders.remove_stale(tmp_path, PREFIX) == [folder]


def test_this_runs_own_folder_is_kept_and_removed_when_done(tmp_path):
    own = scratch_folders.make(tmp_path, PREFIX)
    assert own.path.name.startswith(f"{PREFIX}{os.getpid()}-")
    assert scratch_folders.remove_stale(tmp_path, PREFIX) == []  # its lock is held
    own.remove()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_an_earlier_process_with_this_pid_is_removed(tmp_path):
    """A container's PID 1, killed and started again: the same pid, but no lock held."""
    folder = _left(tmp_path, os.getpid())
    assert scratch_folders.remove_stale(tmp_path, PREFIX) == [folder]


def test_what_no_run_made_is_left_alone(tmp_path):
    dead = _dead_pid()
    (tmp_path / ".expanded-0123456789ab").mkdir()  # named before the pid was in the name
    (tmp_path / f"{PREFIX}{dead}-notours").mkdir()
    (tmp_path / f"{PREFIX}{dead}-0123456789ab").write_text("a file")
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / f"{PREFIX}{dead}-ba9876543210").symlink_to(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert scratch_folders.remove_stale(tmp_path, PREFIX) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_killed_runs_scratch_in_a_source_folder_is_skipped_not_read(tmp_path):
    (tmp_path / "a.json").write_text('{"requestId": "x"}\n')
    _left(tmp_path, os.getppid())
    listing = logs.list_local(tmp_path, None, None)
    assert [u.name for u in listing.units] == ["a.json"]
    assert listing.skipped == [
        {"file": f"{PREFIX}{os.getppid()}-0123456789ab/", "reason": logs.STOPPED_SCRATCH}
    ]


def test_a_run_removes_what_killed_runs_left_in_their_run_folders(tmp_path):
    """A run never writes into a dated folder twice, so the ingest's own clean-up (of its
    output folder) never saw a SIGKILLed run's copy: 118 MB stayed for good. The next run
    under the same --out removes it, and only from run folders, and only a dead maker's."""
    from notebook_builders import make_notebook

    from bedrock_finops import runner

    out = tmp_path / "out"
    killed, running, other = out / "2026-11-01", out / "2026-11-02", out / "not-a-run"
    for folder in (killed, running, other):
        folder.mkdir(parents=True)
    for folder in (killed, running):
        (folder / "manifest.json").write_text('{"tool": "bedrock-finops", "status": "running"}')
    (out / "latest").symlink_to(killed.name)
    dead = _left(killed, _dead_pid())
    live = _left(running, os.getppid())
    not_a_runs = _left(other, _dead_pid())
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_first.ipynb", 'run_dir: str = ""', "1 + 1")
    logs: list[str] = []
    code, _ = runner.run(None, out_root=out, notebooks_dir=nbs, html=False, log=logs.append)
    assert code == 0
    assert (dead.exists(), live.is_dir(), not_a_runs.is_dir()) == (False, True, True)
    assert f"removed {dead}: the scratch copy of logs a killed run left" in logs
