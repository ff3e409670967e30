"""A `run` stopped while its notebooks execute: SIGTERM to the run alone (``kill``, ``docker
stop``), SIGHUP from a terminal that closed. Each notebook's worker ends its kernel at once,
nothing is left running, and the run's folder records the stop. Before, the run waited for
every running notebook to finish (a cell of any length), past a ``docker stop``'s grace."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
from notebook_builders import make_notebook

from bedrock_finops.notebook_exec import execute_notebook

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "fixtures" / "logs" / "good"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CELL_S = 600  # the notebook's cell: far longer than any test waits
STOP_S = 60  # ample for a stop that ends the kernels: a stop that waits for the cell times out

pytestmark = pytest.mark.slow


def _waiting_notebook(folder: Path) -> Path:
    """A notebook whose kernel writes its pid into the run folder, then sleeps."""
    folder.mkdir()
    return make_notebook(
        folder / "00_wait.ipynb",
        'run_dir: str = ""',
        f"import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep({CELL_S})",
    )


def _alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _wait_for(what: Callable[[], bool], seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def run_folders(tmp_path: Path) -> Iterator[tuple[list[str], Path]]:
    """The `run` command over the small fixture logs and the waiting notebook, and its output
    root; a kernel still running at the test's end is killed."""
    _waiting_notebook(tmp_path / "notebooks")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "bedrock_finops.cli", "run", "--params", str(params),
            "--notebooks", str(tmp_path / "notebooks"), "--out", str(out), "--no-html"]  # fmt: skip
    yield args, out
    for pid_file in out.glob("*/kernel.pid"):
        pid = int(pid_file.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _kernel_pid(out: Path) -> int:
    pid_file: list[Path] = []
    _wait_for(lambda: bool(pid_file.extend(out.glob("*/kernel.pid")) or pid_file))
    _wait_for(lambda: pid_file[0].read_text() != "")
    return int(pid_file[0].read_text())


def _recorded_stop(out: Path) -> tuple[str, str]:
    (run_dir,) = [p for p in out.iterdir() if p.name != "latest"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return manifest["status"], manifest["error"]


def _run_in_notebook(args: list[str], out: Path) -> tuple[subprocess.Popen, int, list[int]]:
    """The run started as a session of its own (a signal reaches its main process only, as
    from ``kill``) and waited for until its notebook's kernel runs: (run, kernel, workers)."""
    proc = subprocess.Popen(
        args, env=ENV, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    kernel = _kernel_pid(out)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    return proc, kernel, [int(pid) for pid in children.read_text().split()]


def test_sigterm_to_the_run_alone_ends_its_running_notebooks(run_folders):
    args, out = run_folders
    proc, kernel, workers = _run_in_notebook(args, out)
    proc.send_signal(signal.SIGTERM)  # the run alone: its workers are not sent it
    stdout, stderr = proc.communicate(timeout=STOP_S)
    assert (proc.returncode, stderr.decode().splitlines()[-1]) == (143, "terminated (SIGTERM)")
    assert _recorded_stop(out) == ("failed", "notebooks: terminated (SIGTERM)")
    _wait_for(lambda: not _alive(kernel), seconds=30)
    assert [pid for pid in workers if _alive(pid)] == []


def _take_terminal() -> None:
    """(In the child, a new session's leader) the terminal on stdin becomes its controlling
    terminal, as a login shell's is."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_a_closed_terminal_ends_the_running_notebooks(run_folders):
    """The kernel sends SIGHUP to the run and its workers, and writing to the terminal fails
    from then on: the run still ends with SIGHUP's code, its kernel ended too."""
    args, out = run_folders
    master, terminal = pty.openpty()
    os.set_blocking(master, False)
    try:
        proc = subprocess.Popen(args, env=ENV, stdin=terminal, stdout=terminal, stderr=terminal,
                                preexec_fn=_take_terminal)  # fmt: skip
    finally:
        os.close(terminal)
    kernel = _kernel_pid(out)
    os.close(master)  # the terminal hangs up
    assert proc.wait(timeout=STOP_S) == 129
    assert _recorded_stop(out) == ("failed", "notebooks: terminated (SIGHUP)")
    _wait_for(lambda: not _alive(kernel), seconds=30)


def test_a_notebook_leaves_its_workers_stop_handlers_in_place(tmp_path: Path):
    """A worker's own SIGTERM handler, which turns a stop into an exception at a safe point
    (see worker_pool), is still set after papermill ran a notebook there: its next notebook is
    stopped the same way."""
    src = make_notebook(tmp_path / "nb.ipynb", 'run_dir: str = ""', "1 + 1")

    def handler(signum, frame):
        raise AssertionError("not called")

    before = signal.signal(signal.SIGTERM, handler)
    try:
        status, _, error = execute_notebook(
            str(src), str(tmp_path / "out.ipynb"), {}, str(tmp_path)
        )
        assert (status, error, signal.getsignal(signal.SIGTERM)) == ("ok", None, handler)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[1].outputs[0]["data"] == {
        "text/plain": "2"
    }


def test_a_killed_run_takes_its_notebook_workers_and_kernels_along(run_folders):
    """SIGKILL cannot be handled: the workers are killed with the run (as the ingest's are),
    and each kernel, watching its worker, ends with it. Before, the workers waited for work
    for ever, holding the caller's output open."""
    args, out = run_folders
    proc, kernel, workers = _run_in_notebook(args, out)
    proc.kill()
    proc.wait(timeout=STOP_S)
    try:
        _wait_for(lambda: not any(_alive(pid) for pid in [*workers, kernel]), seconds=STOP_S)
    finally:  # a failing test leaves none running either
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
