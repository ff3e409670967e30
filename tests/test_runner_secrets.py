"""A credential value from the environment is in none of a run's files nor in what it prints,
however the run ends: here one that the logs' folder is named after, so it reaches the params,
the ingest's report, the manifest and the run's lines. The manifest, rewritten from memory
after the run folder was scrubbed, kept it, and an empty window's run scrubbed nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_builders import make_notebook

from bedrock_finops import runner
from bedrock_finops.interrupts import Terminated

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "fixtures" / "logs" / "good"
LEAKED = "LeakedSessionToken0123456789"  # an AWS_SESSION_TOKEN value the logs' folder holds
REDACTED = "[redacted credential]"

pytestmark = pytest.mark.slow


def _run(tmp_path: Path, params: str) -> subprocess.CompletedProcess:
    """The `run` command, with ``LEAKED`` set as the session token, over a notebook that runs;
    returns the finished command, its stdout and stderr captured."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_first.ipynb", 'run_dir: str = ""', "1 + 1")
    (tmp_path / "params.yaml").write_text(params)
    argv = [sys.executable, "-m", "bedrock_finops.cli", "run", "--params", "params.yaml",
            "--notebooks", str(nbs), "--out", "out"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_SESSION_TOKEN": LEAKED}
    return subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _run_folder(tmp_path: Path) -> Path:
    (run_dir,) = (p for p in (tmp_path / "out").iterdir() if not p.is_symlink())
    return run_dir


def _logs_in_a_folder_named_by_the_credential(tmp_path: Path) -> str:
    shutil.copytree(GOOD, tmp_path / LEAKED / "logs")
    return f"./{LEAKED}/logs"


def _files_holding(folder: Path, value: str) -> list[str]:
    """The files below ``folder`` whose bytes hold ``value``, whatever their kind."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and value.encode() in p.read_bytes()
    )


def test_a_good_runs_files_and_lines_hold_no_credential(tmp_path: Path) -> None:
    source = _logs_in_a_folder_named_by_the_credential(tmp_path)
    done, run_dir = _run(tmp_path, f"run:\n  source: {source}\n"), _run_folder(tmp_path)
    assert done.returncode == 0, done.stderr
    assert _files_holding(run_dir, LEAKED) == []
    assert LEAKED not in done.stdout + done.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["source"] == manifest["params"]["run"]["source"] == f"./{REDACTED}/logs"
    assert manifest["ingest"]["source"] == f"{REDACTED}/logs"
    assert f"ingesting ./{REDACTED}/logs ..." in done.stdout.splitlines()


def test_an_empty_windows_files_and_lines_hold_no_credential(tmp_path: Path) -> None:
    source = _logs_in_a_folder_named_by_the_credential(tmp_path)
    window = f'run:\n  source: {source}\n  start: "2030-01-01"\n  end: "2030-01-02"\n'
    done, run_dir = _run(tmp_path, window), _run_folder(tmp_path)
    assert done.returncode == 2
    assert _files_holding(run_dir, LEAKED) == []
    assert LEAKED not in done.stdout + done.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["error"].startswith(
        f"the ingest found no invocations to analyse: {REDACTED}/logs holds none in the window"
    )
    report = json.loads((run_dir / "ingest_report.json").read_text())
    assert report["source"] == f"{REDACTED}/logs"
    assert done.stderr.splitlines()[-1] == f"error: {manifest['error']}"


def test_a_run_whose_ingest_fails_holds_no_credential_in_its_record_or_lines(
    tmp_path: Path,
) -> None:
    """A source with no logs fails the ingest after the run folder is made: the manifest's
    error, the failure's line and the command's last line name the source."""
    (tmp_path / LEAKED / "empty").mkdir(parents=True)
    done = _run(tmp_path, f"run:\n  source: ./{LEAKED}/empty\n")
    run_dir = _run_folder(tmp_path)
    assert done.returncode == 2
    assert _files_holding(run_dir, LEAKED) == []
    assert LEAKED not in done.stdout + done.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    missing = f"no invocation log files (.json, .jsonl, .ndjson or .gz) under {REDACTED}/empty;"
    assert manifest["error"].startswith(f"ingest: {missing}")
    assert done.stderr.splitlines()[-1].startswith(f"error: {missing}")


def test_a_source_refused_before_any_work_is_named_without_the_credential(tmp_path: Path) -> None:
    """A source that does not exist is refused before the run folder is made, in one line."""
    done = _run(tmp_path, f"run:\n  source: ./{LEAKED}/logs\n")
    assert done.returncode == 2
    assert not (tmp_path / "out").exists()
    assert LEAKED not in done.stdout + done.stderr
    assert done.stderr == (
        f"error: params.yaml: run.source: log folder {REDACTED}/logs "
        f"({tmp_path / REDACTED / 'logs'}) does not exist; pass the folder that holds "
        "AWSLogs/... (or any folder of .json, .jsonl, .ndjson or .gz log files), "
        "s3://bucket/prefix, or cloudwatch-logs://LOG_GROUP\n"
    )


def test_a_run_stopped_during_its_notebooks_holds_no_credential_in_its_record_or_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM once the first notebook is done (here as its line is logged)."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", LEAKED)
    monkeypatch.chdir(tmp_path)
    source = _logs_in_a_folder_named_by_the_credential(tmp_path)
    (tmp_path / "params.yaml").write_text(f"run:\n  source: {source}\n")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for name in ("00_first", "05_second"):
        make_notebook(nbs / f"{name}.ipynb", 'run_dir: str = ""', "1 + 1")
    lines: list[str] = []

    def log(message: str) -> None:
        lines.append(message)
        if message.strip().startswith("00_first: ok"):
            raise Terminated(signal.SIGTERM)

    with pytest.raises(Terminated):
        runner.run("params.yaml", out_root="out", notebooks_dir=nbs, jobs=1, html=False,
                   log=log, log_error=lines.append)  # fmt: skip
    run_dir = _run_folder(tmp_path)
    assert _files_holding(run_dir, LEAKED) == []
    assert [line for line in lines if LEAKED in line] == []
    assert f"ingesting ./{REDACTED}/logs ..." in lines
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["error"]) == ("failed", "notebooks: terminated (SIGTERM)")
    assert manifest["source"] == f"./{REDACTED}/logs"
