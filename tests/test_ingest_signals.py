"""A stopped ingest cleans up: SIGTERM as Ctrl-C does (exit 143, one line, no worker left, no
partial file, no /dev/shm folder, no scratch copy, an earlier table untouched), SIGHUP (a
closed terminal) too (exit 129) unless it runs under nohup, and after a SIGKILL, which nothing
can handle, the workers die with it and the next run removes what it left. Real processes,
real signals: Linux only (/proc), and slow (a sample is generated)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import bedrock_finops
from bedrock_finops import sample
from bedrock_finops.ingest import ingest_to_folder

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc"),
]

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
SHM = Path("/dev/shm")
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(Path(bedrock_finops.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
    ),
}


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """~9,000 records in 565 files: about a second of work for two workers."""
    out = tmp_path_factory.mktemp("signals")
    sample.generate(out, days=3, scale=2)
    return out / "logs"


@pytest.fixture
def reap() -> Iterator[set[int]]:
    """Pids a test started: any still running at its end is killed (a failing test leaves
    none behind, as the ingest it checks should not)."""
    pids: set[int] = set()
    yield pids
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> list[str] | None:
    """``/proc/PID/stat``'s fields after the command name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (dead, not yet reaped)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _descendants(pid: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            parents[int(entry)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        here = todo.pop()
        kids = [p for p, parent in parents.items() if parent == here]
        found.update(kids)
        todo.extend(kids)
    return found


def _wait_for(what: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _start(*args: str, wrapper: tuple[str, ...] = (), **popen: Any) -> subprocess.Popen:
    """A command of its own session: only its main process gets the signal, as from kill.
    ``wrapper``: a command that runs it (nohup)."""
    streams = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return subprocess.Popen(
        [*wrapper, sys.executable, *args], env=ENV, start_new_session=True, **(streams | popen)
    )


def _ingest_args(source: Path, out: Path) -> list[str]:
    return ["-m", "bedrock_finops.cli", "ingest", "--source", str(source),
            "--out", str(out / "usage.parquet"), "--workers", "2"]  # fmt: skip


def _ingest(
    source: Path, out: Path, reap: set[int], **popen: Any
) -> tuple[subprocess.Popen, set[int]]:
    """``bedrock-finops ingest`` with two workers, once they are started; and their pids."""
    proc = _start(*_ingest_args(source, out), **popen)
    reap.add(proc.pid)
    _wait_for(lambda: len(_descendants(proc.pid)) >= 2 or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    workers = _descendants(proc.pid)
    reap.update(workers)
    return proc, workers


def _leftovers(pid: int, out: Path) -> list[str]:
    """What the run of ``pid`` left: its /dev/shm folder, and any file but an earlier run's."""
    shm = [p.name for p in SHM.glob(f"bedrock-finops-{pid}-*")] if SHM.is_dir() else []
    earlier = {"usage.parquet", "prompts.parquet", "quarantine.parquet", "ingest_report.json"}
    made = sorted(p.name for p in out.iterdir() if p.name not in earlier) if out.exists() else []
    return shm + made


def test_sigterm_stops_the_ingest_as_ctrl_c_does(logs, tmp_path, reap):
    out = tmp_path / "out"
    ingest_to_folder(GOOD, out, workers=1, progress=False)  # an earlier run's table
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    proc, workers = _ingest(logs, out, reap)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)  # the workers hold no pipe open either
    assert (proc.returncode, stderr.decode(), stdout.decode()) == (
        143,
        "terminated (SIGTERM)\n",
        "",
    )
    assert [pid for pid in workers if _running(pid)] == []
    assert _leftovers(proc.pid, out) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier


def test_ctrl_c_still_exits_130(logs, tmp_path, reap):
    """Ctrl-C sends SIGINT to the whole process group: the workers get it too."""
    out = tmp_path / "out"
    proc, workers = _ingest(logs, out, reap)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stderr.decode(), stdout.decode()) == (130, "interrupted\n", "")
    assert [pid for pid in workers if _running(pid)] == []
    assert _leftovers(proc.pid, out) == []
    assert not out.exists()  # made for the run, and taken back


@pytest.mark.parametrize("to_group", [False, True], ids=["to-the-ingest", "to-its-group"])
def test_sighup_stops_the_ingest_as_sigterm_does(logs, tmp_path, reap, to_group):
    """A closed terminal or ssh session: a shell sends SIGHUP to each of its jobs' process
    groups (the workers too), the kernel to a session's leader alone."""
    out = tmp_path / "out"
    ingest_to_folder(GOOD, out, workers=1, progress=False)  # an earlier run's table
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    proc, workers = _ingest(logs, out, reap)
    if to_group:
        os.killpg(proc.pid, signal.SIGHUP)
    else:
        proc.send_signal(signal.SIGHUP)
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stderr.decode(), stdout.decode()) == (
        129,
        "terminated (SIGHUP)\n",
        "",
    )
    assert [pid for pid in workers if _running(pid)] == []
    assert _leftovers(proc.pid, out) == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier


def _take_terminal() -> None:
    """(In the child, a session leader) make the terminal on stdin its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _drain(fd: int) -> None:
    """Read what is waiting on a non-blocking terminal, so the writer never waits for room."""
    with contextlib.suppress(OSError):  # BlockingIOError: nothing more now
        while os.read(fd, 1 << 16):
            pass


def test_a_closed_terminal_stops_the_ingest(logs, tmp_path, reap):
    """The ingest runs on a terminal that goes away (its window closed, its ssh connection
    dropped): the kernel sends SIGHUP, and from then on writing to the terminal fails, the
    last line too. The ingest still stops cleanly, with SIGHUP's code."""
    out = tmp_path / "out"
    master, terminal = pty.openpty()
    os.set_blocking(master, False)
    try:
        proc = _start(*_ingest_args(logs, out), stdin=terminal, stdout=terminal,
                      stderr=terminal, preexec_fn=_take_terminal)  # fmt: skip
    finally:
        os.close(terminal)
    reap.add(proc.pid)

    def started() -> bool:
        _drain(master)  # the progress bar: it is on a terminal
        return len(_descendants(proc.pid)) >= 2 or proc.poll() is not None

    _wait_for(started)
    assert proc.poll() is None
    workers = _descendants(proc.pid)
    reap.update(workers)
    os.close(master)  # the terminal hangs up
    assert proc.wait(timeout=30) == 129
    assert [pid for pid in workers if _running(pid)] == []
    assert _leftovers(proc.pid, out) == []
    assert not out.exists()


@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup")
def test_under_nohup_a_hangup_leaves_the_ingest_running(logs, tmp_path, reap):
    """``nohup`` starts the command with SIGHUP ignored: the ingest and its workers keep it
    so, and the table is the one an ingest never sent SIGHUP writes."""
    expected = ingest_to_folder(logs, tmp_path / "expected", workers=2, progress=False)
    out = tmp_path / "out"
    proc = _start(*_ingest_args(logs, out), wrapper=("nohup",))
    reap.add(proc.pid)
    _wait_for(lambda: len(_descendants(proc.pid)) >= 2 or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGHUP)
    stdout, stderr = proc.communicate(timeout=60)
    assert (proc.returncode, stderr.decode()) == (0, "")
    report = json.loads((out / "ingest_report.json").read_text())
    counts = ("files_read", "lines_read", "rows", "quarantined", "duplicates")
    assert {k: report[k] for k in counts} == {k: getattr(expected, k) for k in counts}
    assert report["rows"] > 0


def test_sigkill_takes_the_workers_and_the_next_run_removes_what_it_left(logs, tmp_path, reap):
    out = tmp_path / "out"
    proc, workers = _ingest(logs, out, reap)
    proc.kill()
    proc.communicate(timeout=30)  # returns once no worker holds its output open
    _wait_for(lambda: not any(_running(pid) for pid in workers), seconds=5)
    left = _leftovers(proc.pid, out)
    assert [n for n in left if n.startswith(f".expanded-{proc.pid}-")] != []
    if SHM.is_dir() and os.access(SHM, os.W_OK):
        assert [n for n in left if n.startswith(f"bedrock-finops-{proc.pid}-")] != []
    ingest_to_folder(GOOD, out, workers=2, progress=False)
    assert _leftovers(proc.pid, out) == []


POOL_SCRIPT = """
import multiprocessing, os, sys, time
from pathlib import Path

from bedrock_finops import worker_pool
from bedrock_finops.interrupts import terminating_raises


def busy(folder):
    Path(folder, str(os.getpid())).touch()
    time.sleep(60)


if __name__ == "__main__":
    method, folder = sys.argv[1:]
    with terminating_raises():
        pool = worker_pool.start(2, multiprocessing.get_context(method))
        try:
            for f in [pool.submit(worker_pool.run_task, busy, folder) for _ in range(8)]:
                f.result()
        except KeyboardInterrupt as exc:
            worker_pool.stop(pool)
            print(type(exc).__name__)
            sys.exit(143)
"""


def _busy_pool(tmp_path: Path, method: str, reap: set[int]) -> tuple[subprocess.Popen, set[int]]:
    """A script running a pool of two workers, each in a minute-long task; the pids of the
    workers and of the start method's helpers (the fork server, the resource tracker)."""
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    busy = tmp_path / "busy"
    busy.mkdir()
    proc = _start(str(script), method, str(busy))
    reap.add(proc.pid)
    _wait_for(lambda: len(list(busy.iterdir())) == 2 or proc.poll() is not None)
    assert proc.poll() is None, proc.communicate()
    workers = {int(p.name) for p in busy.iterdir()}
    reap.update(workers)  # (not the helpers: they go with them, the tracker cleaning up)
    return proc, workers | _descendants(proc.pid)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_stopped_pool_ends_its_running_tasks_at_once(tmp_path, method, reap):
    proc, pids = _busy_pool(tmp_path, method, reap)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=30)
    assert (proc.returncode, stdout) == (143, b"Terminated\n")
    assert time.monotonic() - t0 < 20  # not the minute the tasks run, nor the 6 queued ones
    _wait_for(lambda: not any(_running(pid) for pid in pids), seconds=5)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_workers_die_with_a_killed_parent(tmp_path, method, reap):
    """Under forkserver the workers' parent is the fork server, which waits for them."""
    proc, pids = _busy_pool(tmp_path, method, reap)
    proc.kill()
    proc.communicate(timeout=30)
    _wait_for(lambda: not any(_running(pid) for pid in pids), seconds=5)


SLOW_START_SCRIPT = """
import multiprocessing, os, signal, sys, time

from bedrock_finops import worker_pool
from bedrock_finops.interrupts import terminating_raises


def busy():
    time.sleep(60)


if __name__ == "__main__":
    os.register_at_fork(after_in_child=lambda: time.sleep(1))  # workers slow to start
    with terminating_raises():
        pool = worker_pool.start(2, multiprocessing.get_context("fork"))
        try:
            tasks = [pool.submit(worker_pool.run_task, busy) for _ in range(4)]
            os.killpg(0, int(sys.argv[1]))  # the whole group's stop, as the workers start
            for task in tasks:
                task.result()
        except KeyboardInterrupt as exc:
            worker_pool.stop(pool)
            print(type(exc).__name__)
            sys.exit(128 + int(sys.argv[1]))
"""


@pytest.mark.parametrize(
    ("sig", "stop"),
    [
        (signal.SIGINT, "KeyboardInterrupt"),
        (signal.SIGTERM, "Terminated"),
        (signal.SIGHUP, "Terminated"),
    ],
)
def test_a_stop_as_the_workers_start_stops_them_too(tmp_path, reap, sig, stop):
    """Ctrl-C or a closed terminal reaches the whole group, workers that are still starting
    too. A forked worker has the ingest's handlers until it sets its own: the stop waits for
    those, rather than raising inside the worker's start-up (a traceback on stderr, and a
    worker left ignoring SIGTERM, which ran its minute-long task to the end)."""
    script = tmp_path / "slow_start.py"
    script.write_text(SLOW_START_SCRIPT)
    proc = _start(str(script), str(int(sig)))
    reap.add(proc.pid)
    t0 = time.monotonic()
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stdout.decode(), stderr.decode()) == (128 + sig, f"{stop}\n", "")
    assert time.monotonic() - t0 < 20


STOP_IN_SUBMIT_SCRIPT = """
import multiprocessing, os, signal, sys, threading, time
from concurrent.futures import process

from bedrock_finops import worker_pool
from bedrock_finops.interrupts import terminating_raises

launch = process.ProcessPoolExecutor._launch_processes


def launch_then_stop(self):
    launch(self)
    os.kill(os.getpid(), signal.SIGTERM)  # the workers are made, the thread feeding them not
    time.sleep(0.5)  # (time for another thread to take it)


if __name__ == "__main__":
    process.ProcessPoolExecutor._launch_processes = launch_then_stop
    # another thread, as the progress bar's: it takes a signal the submitting thread blocks
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
    with terminating_raises():
        pool = worker_pool.start(2, multiprocessing.get_context("fork"))
        try:
            pool.submit(worker_pool.run_task, time.sleep, 60).result()
        except KeyboardInterrupt as exc:
            worker_pool.stop(pool)
            print(type(exc).__name__)
            sys.exit(143)
"""


def test_a_stop_while_the_pool_starts_its_workers_ends_them(tmp_path, reap):
    """SIGTERM arrives between making the workers and starting the thread that feeds them:
    it waits for the pool to be whole, then stops it. (Taken at once, the pool's shutdown
    left the workers waiting for work, and the process's exit waiting for them.)"""
    script = tmp_path / "stop_in_submit.py"
    script.write_text(STOP_IN_SUBMIT_SCRIPT)
    proc = _start(str(script))
    reap.add(proc.pid)
    stdout, stderr = proc.communicate(timeout=30)
    assert (proc.returncode, stdout.decode(), stderr.decode()) == (143, "Terminated\n", "")


KILLED_AS_A_WORKER_STARTS_SCRIPT = """
import os, signal, time

from bedrock_finops import worker_pool

parent = os.getpid()
if os.fork() == 0:  # a worker, as the pool forks one
    ask_the_kernel = worker_pool._kernel_kills_with_parent

    def killed_first():
        os.kill(parent, signal.SIGKILL)  # the ingest is killed as its worker starts
        while os.getppid() == parent:
            time.sleep(0.01)
        return ask_the_kernel()  # too late: no signal will come

    worker_pool._kernel_kills_with_parent = killed_first
    worker_pool.die_with_parent(parent)
    time.sleep(60)  # a worker left running, holding the ingest's output open
    os._exit(0)
time.sleep(60)
"""


def test_a_worker_whose_ingest_was_killed_as_it_started_exits(tmp_path, reap):
    """SIGKILLed between the worker's look at its parent and its request to die with it: the
    worker sees it has been handed to another parent and exits. (The ingest, a zombie until
    its caller reaps it, still looks alive to ``kill(pid, 0)``; the caller waits for the
    output the worker holds open first, so neither ever ended.)"""
    script = tmp_path / "killed_as_a_worker_starts.py"
    script.write_text(KILLED_AS_A_WORKER_STARTS_SCRIPT)
    proc = _start(str(script))
    reap.add(proc.pid)
    proc.communicate(timeout=30)  # returns once the worker has let go of the output
    assert proc.returncode == -signal.SIGKILL
