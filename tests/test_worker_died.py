"""A worker process that dies in the middle of the ingest (the out-of-memory killer's SIGKILL,
which nothing can handle) ends the command with one ``error:`` line, exit 2, saying how it
died and which file it was reading, not with the pool's ``BrokenProcessPool`` traceback.

The workers die here as such a worker does, by SIGKILL or ``os._exit``: real processes, POSIX
only."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
from concurrent.futures import as_completed
from pathlib import Path

import pytest

from bedrock_finops import cli, ingest_worker, worker_pool
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.ingest_worker import _reading
from bedrock_finops.sources.invocation_logs import Unit
from bedrock_finops.worker_pool import WorkerDied

pytestmark = pytest.mark.skipif(os.name != "posix", reason="kills worker processes")

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
KILLED = (
    "a worker process died (killed by SIGKILL, most likely by the kernel's out-of-memory "
    "killer) while reading b.json: give it more memory, or run fewer workers at once"
)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Six files of the same records, one a task with two workers."""
    folder = tmp_path / "logs"
    folder.mkdir()
    text = (GOOD / "part-1.json").read_text()
    for name in "abcdef":
        (folder / f"{name}.json").write_text(text)
    return folder


def _dies_reading(monkeypatch: pytest.MonkeyPatch, name: str, die) -> None:
    """The worker that reads ``name`` dies (``die()``) as it starts on its records. The pool
    forks its workers here, so they have the patch (forkserver and spawn would not)."""
    context = multiprocessing.get_context("fork")
    monkeypatch.setattr(
        worker_pool, "start", functools.partial(worker_pool.start, mp_context=context)
    )
    unit_rows = ingest_worker._unit_rows

    def dying(unit, *args):
        if unit.name == name:
            die()
        return unit_rows(unit, *args)

    monkeypatch.setattr(ingest_worker, "_unit_rows", dying)


def _sigkill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_while_reading_a_file_is_one_error_line(
    logs, tmp_path, monkeypatch, capsys
):
    _dies_reading(monkeypatch, "b.json", _sigkill)
    out = tmp_path / "out" / "usage.parquet"
    argv = ["ingest", "--source", str(logs), "--out", str(out), "--workers", "2"]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err == f"error: {KILLED}\n"
    assert not out.parent.exists()  # the folder it made is removed, as after other errors


def test_a_worker_that_exits_says_its_exit_code(logs, tmp_path, monkeypatch):
    _dies_reading(monkeypatch, "c.json", functools.partial(os._exit, 3))
    with pytest.raises(WorkerDied) as err:
        ingest_to_folder(logs, tmp_path / "out", workers=2, progress=False)
    assert str(err.value) == "a worker process died (exit code 3) while reading c.json"


def test_what_a_worker_reads_is_said_in_words():
    assert _reading(Unit("file", "logs/a.json", "/x/logs/a.json")) == "reading logs/a.json"
    later = Unit("file", "month.jsonl", "/x/month.jsonl", start=67_108_901, first_line=86_470)
    assert _reading(later) == "reading month.jsonl from line 86,470"
    events = Unit("events", "group#2001", lines=("{}",) * 1000, first_line=2001)
    assert _reading(events) == "reading 1,000 events of group from event 2,001"


# the pool itself, under each start method: module functions, as a spawned worker imports them


def _say_then_exit(code: int) -> None:
    worker_pool.working_on("reading big.json")
    os._exit(code)


def _say_then_return(value: int) -> int:
    worker_pool.working_on(f"reading {value}.json")
    return value


def _fail() -> None:
    raise ValueError("not a death")


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_the_pool_names_what_the_dead_worker_was_doing(method):
    pool = worker_pool.start(1, mp_context=multiprocessing.get_context(method))
    try:
        future = pool.submit(worker_pool.run_task, _say_then_exit, 7)
        with pytest.raises(WorkerDied) as err:
            future.result(timeout=60)
        assert str(err.value) == "a worker process died (exit code 7) while reading big.json"
        with pytest.raises(WorkerDied) as again:  # the pool is broken: said the same way
            pool.submit(worker_pool.run_task, _say_then_return, 1)
        assert again.value is err.value
    finally:
        worker_pool.stop(pool)


def test_a_worker_is_named_only_while_its_task_runs():
    """A task that returned leaves nothing said: a worker killed between tasks, or in a task
    that said nothing, is not said to be reading the last file."""
    pool = worker_pool.start(1, mp_context=multiprocessing.get_context("fork"))
    try:
        assert pool.submit(worker_pool.run_task, _say_then_return, 5).result(timeout=60) == 5
        future = pool.submit(worker_pool.run_task, _sigkill)
        with pytest.raises(WorkerDied) as err:
            future.result(timeout=60)
        assert str(err.value) == (
            "a worker process died (killed by SIGKILL, most likely by the kernel's out-of-memory "
            "killer): give it more memory, or run fewer workers at once"
        )
    finally:
        worker_pool.stop(pool)


def test_results_and_errors_are_handed_on_as_before():
    pool = worker_pool.start(2, mp_context=multiprocessing.get_context("fork"))
    try:
        futures = {pool.submit(worker_pool.run_task, _say_then_return, i): i for i in range(4)}
        failing = pool.submit(worker_pool.run_task, _fail)
        assert sorted(f.result(timeout=60) for f in as_completed(futures)) == [0, 1, 2, 3]
        with pytest.raises(ValueError, match="not a death"):
            failing.result(timeout=60)
    finally:
        worker_pool.stop(pool)
