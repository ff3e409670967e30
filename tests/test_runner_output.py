"""What `run` prints where, as a schedule keeps it: cron's ``>> cron.log 2>&1`` (stdout and
stderr in one file, neither a terminal) or ``> /dev/null`` (only stderr, mailed). Progress and
results go to stdout, errors and a failed run's lines to stderr, each line as it is printed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from notebook_builders import make_notebook

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "fixtures" / "logs" / "good"
PARAMS_CELL = 'run_dir: str = ""  # run folder'

pytestmark = pytest.mark.slow


def _environment() -> dict[str, str]:
    """cron's: no PYTHONUNBUFFERED (Python then buffers stdout into a file)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**env, "PYTHONPATH": str(ROOT)}


def _run(tmp_path: Path, params: str, *args: str, **streams) -> subprocess.CompletedProcess:
    (tmp_path / "params.yaml").write_text(params)
    argv = [sys.executable, "-m", "bedrock_finops.cli", "run", "--params", "params.yaml",
            "--out", "out", "--no-html", *args]  # fmt: skip
    return subprocess.run(
        argv, cwd=tmp_path, env=_environment(), stdin=subprocess.DEVNULL, timeout=300, **streams
    )


def test_a_failed_runs_lines_come_in_the_order_printed_in_one_log(tmp_path: Path) -> None:
    """`>> cron.log 2>&1`: the error (stderr) landed above the run's own earlier lines, which
    stdout held in its buffer until the command exited."""
    (tmp_path / "empty").mkdir()
    with open(tmp_path / "cron.log", "ab") as log:
        done = _run(tmp_path, "run:\n  source: empty\n", stdout=log, stderr=log)
    assert done.returncode == 2
    lines = (tmp_path / "cron.log").read_text().splitlines()
    (run_dir,) = (tmp_path / "out").iterdir()
    assert [line.split(":")[0] for line in lines] == [
        "run folder",
        "ingesting empty ...",
        "run failed during ingest; recorded in out/" + run_dir.name + "/manifest.json",
        "error",
    ]


def test_errors_reach_stderr_alone(tmp_path: Path) -> None:
    """`> /dev/null`, cron mailing what is left: an empty window (exit 2) and a failing
    notebook (exit 1) printed their errors on stdout, and stderr got nothing."""
    window = f'run:\n  source: {GOOD}\n  start: "2020-01-01"\n  end: "2020-01-02"\n'
    done = _run(tmp_path, window, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("error: the ingest found no invocations to analyse: ")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_broken.ipynb", PARAMS_CELL, "raise RuntimeError('planted')")
    done = _run(
        tmp_path, f"run:\n  source: {GOOD}\n", "--notebooks", str(nbs),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    assert errors[0] == "FAILED 00_broken: RuntimeError: planted"
    assert errors[-1].startswith("0 of 1 notebooks ok in ")
    assert "FAILED" not in done.stdout and "00_broken: failed in " in done.stdout


def test_a_killed_run_keeps_the_lines_it_printed(tmp_path: Path) -> None:
    """SIGKILL (the out-of-memory killer, `timeout -s KILL`) after the first notebook is done:
    its line is in the log. Held in stdout's buffer, it was lost with the process."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_first.ipynb", PARAMS_CELL, "1 + 1")
    make_notebook(
        nbs / "05_wait.ipynb",
        PARAMS_CELL,
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(600)",
    )
    (tmp_path / "params.yaml").write_text(f"run:\n  source: {GOOD}\n")
    argv = [sys.executable, "-m", "bedrock_finops.cli", "run", "--params", "params.yaml",
            "--out", "out", "--no-html", "--jobs", "1", "--notebooks", str(nbs)]  # fmt: skip
    with open(tmp_path / "cron.log", "ab") as log:
        run = subprocess.Popen(
            argv, cwd=tmp_path, env=_environment(), stdin=subprocess.DEVNULL, stdout=log,
            stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "out").glob("*/kernel.pid")):
            assert time.monotonic() < deadline and run.poll() is None, "05_wait never started"
            time.sleep(0.1)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:  # the killed run takes its kernels along; a failed test leaves none either
        if run.poll() is None:
            run.kill()
        for pid_file in (tmp_path / "out").glob("*/kernel.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
    lines = (tmp_path / "cron.log").read_text().splitlines()
    assert any(line.startswith("    00_first: ok in ") for line in lines), lines
    assert "[2/2] 05_wait queued" in lines
