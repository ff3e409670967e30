"""The run command end to end on the embedded sample: folder, manifest, failures, secrets."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from notebook_builders import make_notebook

from bedrock_finops import cli, runner
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.interrupts import Terminated
from bedrock_finops.notebook_exec import (
    execute_notebook,
    kernel_manager_class,
    writable_ipython_folder,
)
from bedrock_finops.params import ParamsError
from bedrock_finops.sources.own_output import EARLIER_RUN

ROOT = Path(__file__).resolve().parents[1]
FAKE_KEY = "AKIAFAKEFAKEFAKE1234"
FAKE_SECRET = "fakeSecretKeyValue/abcdefghijklmnop0123"
FAKE_TOKEN = "FakeSessionTokenValue0123456789abcdefXYZ"

PARAMS_CELL = 'run_dir: str = ""  # run folder'

pytestmark = pytest.mark.slow


def failing_notebook(path: Path) -> Path:
    return make_notebook(path, PARAMS_CELL, "raise RuntimeError('planted failure')")


def secret_printing_notebook(path: Path) -> Path:
    return make_notebook(
        path,
        PARAMS_CELL,
        "import os\nprint({k: v for k, v in os.environ.items() if k.startswith('AWS_')})",
    )


def prompt_snippets(run_dir: Path) -> list[str]:
    """Distinctive pieces of real prompt text: system prompts and user turns of the run."""
    import pandas as pd

    prompts = pd.read_parquet(run_dir / "prompts.parquet")
    users = pd.read_parquet(run_dir / "usage.parquet", columns=["user_text"])["user_text"]
    texts = list(prompts["text"].dropna()) + list(users.dropna().drop_duplicates().head(50))
    return [t.strip()[:60] for t in texts if len(t.strip()) >= 40]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, Path]:
    """One full run of the project's notebooks on the sample, with fake credentials set."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    mp.setenv("AWS_SESSION_TOKEN", FAKE_TOKEN)
    out = tmp_path_factory.mktemp("outputs")
    nbs = tmp_path_factory.mktemp("notebooks")
    for src in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy(src, nbs / src.name)
    secret_printing_notebook(nbs / "90_env_probe.ipynb")
    try:
        code, run_dir = runner.run(
            ROOT / "params" / "default.yaml",
            day=dt.date(2026, 11, 1),
            out_root=out,
            notebooks_dir=nbs,
            jobs=2,
            log=lambda *_: None,
        )
    finally:
        mp.undo()
    return code, run_dir, out


def test_run_writes_complete_folder_and_manifest(sample_run) -> None:
    code, run_dir, out = sample_run
    assert code == 0
    assert run_dir == out / "2026-11-01"
    names = {p.name for p in run_dir.iterdir()}
    for expected in (
        "usage.parquet",
        "prompts.parquet",
        "quarantine.parquet",
        "ingest_report.json",
        "manifest.json",
        "00_baseline.ipynb",
        "00_baseline.html",
        "billing.parquet",
    ):
        assert expected in names, f"{expected} missing from the run folder"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["source"] == "sample"
    assert manifest["price_sheet"]["sheet"] == "current"
    assert manifest["price_sheet"]["as_of"] == "2026-11-28"  # the sheet's latest date, as a day
    assert manifest["versions"]["pandas"] != "not installed"
    assert manifest["notebooks"]["00_baseline"]["status"] == "ok"
    assert set(manifest["timings"]["notebooks_s"]) == set(manifest["notebooks"])
    # what each notebook ran with: its defaults under the file's values, and its prices
    assert set(manifest["notebook_params"]) == set(manifest["notebooks"])
    batch = manifest["notebook_params"]["02_batch_inference"]
    assert batch["parameters"]["run_dir"] == str(run_dir.resolve())
    assert (batch["parameters"]["threshold"], batch["parameters"]["timeout_hours"]) == (0.6, 24)
    assert batch["price_sheet"] == manifest["price_sheet"]
    assert manifest["notebook_params"]["90_env_probe"]["price_sheet"] is None
    ingest = manifest["ingest"]
    assert ingest["lines_read"] == ingest["rows"] + ingest["quarantined"] + ingest["duplicates"]
    assert (out / "latest").resolve() == run_dir.resolve()


def test_a_runs_folder_in_a_log_folder_is_not_read_as_logs(sample_run, tmp_path: Path) -> None:
    """``outputs/`` kept beside the logs: everything the run wrote is recognised as its own
    (by the manifest's mark and the names it writes) and listed as skipped, and none of its
    JSON files is read as a log (each line a quarantine entry)."""
    _, run_dir, out = sample_run
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    logs = tmp_path / "logs"
    shutil.copytree(good, logs)
    shutil.copytree(out, logs / "outputs", symlinks=True)
    report = ingest_to_folder(logs, tmp_path / "table", workers=1, progress=False)
    alone = ingest_to_folder(good, tmp_path / "alone", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.quarantined) == (alone.lines_read, 12, 0)
    of_the_run = [s for s in report.files_skipped if s["file"].startswith("outputs/2026-11-01/")]
    assert {s["reason"] for s in of_the_run} == {EARLIER_RUN}
    assert {"outputs/2026-11-01/manifest.json", "outputs/2026-11-01/batch_jobs/"} <= {
        s["file"] for s in of_the_run
    }


def test_second_run_same_day_gets_its_own_folder(tmp_path: Path) -> None:
    first = runner.new_run_folder(tmp_path, dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 9, 0, 0))
    second = runner.new_run_folder(
        tmp_path, dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 9, 0, 0)
    )
    third = runner.new_run_folder(tmp_path, dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 9, 0, 0))
    assert [first.name, second.name, third.name] == [
        "2026-11-01",
        "2026-11-01_090000",
        "2026-11-01_090000-2",
    ]


def test_no_credentials_or_prompt_text_in_outputs(sample_run) -> None:
    _, run_dir, _ = sample_run
    texts = [p for p in run_dir.rglob("*") if p.suffix in (".ipynb", ".html", ".json")]
    assert any(p.name == "90_env_probe.ipynb" for p in texts)
    probe = (run_dir / "90_env_probe.ipynb").read_text()
    assert "[redacted credential]" in probe  # the probe did print them: they were scrubbed
    for path in texts:
        body = path.read_text(errors="replace")
        for secret in (FAKE_KEY, FAKE_SECRET, FAKE_TOKEN):
            assert secret not in body, f"{path.name} holds an AWS credential"
    snippets = prompt_snippets(run_dir)
    assert len(snippets) >= 5
    for path in texts:
        if path.name == "truth.json":
            continue
        body = path.read_text(errors="replace")
        for snippet in snippets:
            assert snippet not in body, f"{path.name} shows prompt text {snippet[:30]!r}"


def test_failing_notebook_does_not_stop_the_others(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    shutil.copy(ROOT / "notebooks" / "00_baseline.ipynb", nbs / "00_baseline.ipynb")
    failing_notebook(nbs / "05_broken.ipynb")
    logs: list[str] = []
    errors: list[str] = []
    code, run_dir = runner.run(
        None,
        out_root=tmp_path / "out",
        notebooks_dir=nbs,
        jobs=2,
        html=False,
        log=lambda msg: logs.append(str(msg)),
        log_error=errors.append,
    )
    assert code == 1
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["notebooks"]["00_baseline"]["status"] == "ok"
    broken = manifest["notebooks"]["05_broken"]
    assert broken["status"] == "failed" and "planted failure" in broken["error"]
    saved = nbformat.read(run_dir / "05_broken.ipynb", as_version=4)
    assert any(
        o.get("ename") == "RuntimeError"
        for c in saved.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    ), "the error notebook keeps papermill's error output"
    # the failure and the run's summary are errors (stderr), not progress (stdout)
    assert errors[0].startswith("FAILED 05_broken: ") and "error notebook" in errors[0]
    assert errors[1].startswith("1 of 2 notebooks ok in ") and len(errors) == 2
    assert not [line for line in logs if "FAILED" in line or "notebooks ok" in line]
    assert not (tmp_path / "out" / "latest").exists()


def test_an_html_copy_that_cannot_be_written_fails_its_notebook_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTML copy is what a run shares: one that cannot be written is said on the console
    for its notebook, the run exits 1 and ``latest`` stays; the executed notebook is kept.
    It was said only in the manifest, the notebook ok and the run '2 of 2 notebooks ok'."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for name in ("00_first", "05_second"):
        make_notebook(nbs / f"{name}.ipynb", PARAMS_CELL, "1 + 1")
    real_export = runner.export_html

    def export(path: Path) -> Path:
        if path.stem == "05_second":
            raise OSError(errno.ENOSPC, "No space left on device", str(path.with_suffix(".html")))
        return real_export(path)

    monkeypatch.setattr(runner, "export_html", export)
    logs: list[str] = []
    code, run_dir = runner.run(
        None, out_root=tmp_path / "out", notebooks_dir=nbs, jobs=1,
        log=lambda msg: logs.append(str(msg)), log_error=logs.append,
    )  # fmt: skip
    assert code == 1
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    first, second = manifest["notebooks"]["00_first"], manifest["notebooks"]["05_second"]
    assert (first["status"], first["html"], first["error"]) == (
        "ok",
        str(run_dir / "00_first.html"),
        None,
    )
    assert (second["status"], second["html"]) == ("failed", None)
    assert second["error"] == (
        "HTML export failed: OSError: [Errno 28] No space left on device: "
        f"'{run_dir / '05_second.html'}'"
    )
    assert logs[-2] == (
        f"FAILED 05_second: {second['error']}\n  the notebook itself ran: "
        f"{run_dir / '05_second.ipynb'} (--no-html runs without the HTML copies)"
    )
    assert logs[-1].startswith("1 of 2 notebooks ok in ")
    assert (run_dir / "05_second.ipynb").exists()
    assert not (tmp_path / "out" / "latest").exists()


def _manifest_writes_fail(monkeypatch: pytest.MonkeyPatch, when) -> None:
    """A write of manifest.json whose text ``when`` picks fails part way, as on a full disk:
    a cut file is left where it was written, and the error names no file (as a write's)."""
    real_write_text = Path.write_text

    def write_text(self: Path, text: str, *args, **kwargs) -> int:
        if self.name in ("manifest.json", ".manifest.json.partial") and when(text):
            real_write_text(self, text[:100], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)


def _one_notebook_run(tmp_path: Path) -> list[str]:
    """The `run` command's arguments for one small notebook over the fixture logs."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_first.ipynb", PARAMS_CELL, "1 + 1")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {ROOT / 'tests' / 'fixtures' / 'logs' / 'good'}\n")
    return ["run", "--params", str(params), "--notebooks", str(nbs), "--out",
            str(tmp_path / "out"), "--no-html"]  # fmt: skip


def test_a_manifest_whose_last_write_fails_leaves_the_run_failed(tmp_path, monkeypatch, capsys):
    """The last write of manifest.json (the notebooks all ok) fails on a full disk: the run
    exits 2 naming the folder to free, latest stays, and the manifest is JSON that says
    failed. It was left cut short (invalid JSON), outside the failure's record."""
    _manifest_writes_fail(monkeypatch, lambda text: json.loads(text)["status"] == "ok")
    assert cli.main(_one_notebook_run(tmp_path)) == 2
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["error"]) == (
        "failed",
        f"manifest: [Errno 28] No space left on device: '{run_dir / 'manifest.json'}'",
    )
    assert manifest["notebooks"]["00_first"]["status"] == "ok"
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (
        f"error: No space left on device ({run_dir / 'manifest.json'}); free space in "
        f"{run_dir}, or write elsewhere (--out)"
    )
    assert f"run failed during manifest; recorded in {run_dir / 'manifest.json'}" in err
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith(".")) == []


def test_a_manifest_that_cannot_be_written_at_all_is_said(tmp_path, monkeypatch, capsys):
    """No write of the manifest fits: the first fails (the run stops before its ingest) and
    so does the failure's record; the folder holds no cut manifest.json."""
    _manifest_writes_fail(monkeypatch, lambda text: True)
    assert cli.main(_one_notebook_run(tmp_path)) == 2
    (run_dir,) = (tmp_path / "out").iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == []
    out, err = capsys.readouterr()
    assert "ingesting" not in out
    assert (
        "run failed during manifest; it could not be recorded (No space left on device): the "
        "run folder holds no manifest.json"
    ) in err
    assert err.splitlines()[-1] == (
        f"error: No space left on device ({run_dir / 'manifest.json'}); free space in "
        f"{run_dir}, or write elsewhere (--out)"
    )


def test_a_run_stopped_after_a_notebook_finished_records_its_result(tmp_path: Path) -> None:
    """A SIGTERM once the first notebook is done (here as its line is logged): the manifest
    records that notebook's result and files; it said "notebooks: {}" though they were there."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(
        nbs / "00_first.ipynb",
        PARAMS_CELL,
        "from pathlib import Path\n(Path(run_dir) / '00_first.findings.json').write_text('{}')",
    )
    make_notebook(nbs / "05_second.ipynb", PARAMS_CELL, "1 + 1")

    def log(message: str) -> None:
        if message.strip().startswith("00_first: ok"):
            raise Terminated(signal.SIGTERM)

    with pytest.raises(Terminated):
        runner.run(None, out_root=tmp_path / "out", notebooks_dir=nbs, jobs=1, log=log)
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["error"]) == (
        "failed",
        "notebooks: terminated (SIGTERM)",
    )
    assert list(manifest["notebooks"]) == ["00_first"]
    first = manifest["notebooks"]["00_first"]
    assert (first["status"], first["findings"], first["output"]) == (
        "ok",
        ["00_first.findings.json"],
        str(run_dir / "00_first.ipynb"),
    )
    assert list(manifest["timings"]["notebooks_s"]) == ["00_first"]


def test_a_latest_that_is_a_real_folder_is_left_and_the_run_succeeds(tmp_path: Path) -> None:
    """outputs copied with cp -rL turn the link into a folder: the run is good (exit 0) and
    says latest was left; it exited 2 on "[Errno 21] Is a directory" and left its temp link."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_first.ipynb", PARAMS_CELL, "1 + 1")
    latest = tmp_path / "out" / "latest"
    latest.mkdir(parents=True)
    (latest / "kept.txt").write_text("the user's")
    logs: list[str] = []
    code, run_dir = runner.run(
        None, out_root=tmp_path / "out", notebooks_dir=nbs, jobs=1, html=False,
        log=lambda msg: None, log_error=logs.append,
    )  # fmt: skip
    assert code == 0
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "ok"
    said = (
        f"warning: {latest} is a folder, not a link, and is left as it is: it does not name "
        f"this run ({run_dir.name}); remove or rename it, and the next good run makes it a link"
    )
    assert said in logs
    assert (latest / "kept.txt").read_text() == "the user's" and not latest.is_symlink()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [run_dir.name, "latest"]


def test_latest_is_pointed_through_a_link_of_a_name_of_its_own(tmp_path, monkeypatch) -> None:
    """The temporary link's name holds more than the pid (a pid is reused, in a container
    always 1), and it is removed whatever happens to the rename."""
    (run_dir := tmp_path / "2026-11-01").mkdir()
    made: list[str] = []
    real_symlink = Path.symlink_to

    def symlink_to(self: Path, target) -> None:
        made.append(self.name)
        real_symlink(self, target)

    def replace(src, dst) -> None:
        raise OSError(errno.EIO, "Input/output error", str(src))

    monkeypatch.setattr(Path, "symlink_to", symlink_to)
    runner._point_latest(tmp_path, run_dir, log=print)
    assert (tmp_path / "latest").readlink() == Path("2026-11-01")
    monkeypatch.setattr(runner.os, "replace", replace)
    with pytest.raises(OSError, match="Input/output error"):
        runner._point_latest(tmp_path, run_dir, log=print)
    assert all(re.fullmatch(rf"\.latest-{os.getpid()}-[0-9a-f]{{12}}", name) for name in made)
    assert len(set(made)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-01", "latest"]


def test_a_credential_in_a_notebooks_error_is_redacted_in_the_manifest_and_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's files are scrubbed before the manifest takes the notebooks' errors: each
    write of the manifest, and each line logged, is scrubbed itself."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(
        nbs / "00_leak.ipynb",
        PARAMS_CELL,
        "import os\n"
        "raise RuntimeError('could not sign with ' + os.environ['AWS_SECRET_ACCESS_KEY'])",
    )
    logs: list[str] = []
    code, run_dir = runner.run(
        None, out_root=tmp_path / "out", notebooks_dir=nbs, jobs=1, html=False,
        log=lambda msg: logs.append(str(msg)), log_error=logs.append,
    )  # fmt: skip
    assert code == 1
    manifest = json.loads((run_dir / "manifest.json").read_text())
    error = manifest["notebooks"]["00_leak"]["error"]
    assert error == "RuntimeError: could not sign with [redacted credential]"
    assert not [line for line in logs if FAKE_SECRET in line]
    assert any("could not sign with [redacted credential]" in line for line in logs)


def test_notebooks_past_the_jobs_are_logged_as_queued(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    for name in ("00_first", "05_second"):
        make_notebook(nbs / f"{name}.ipynb", PARAMS_CELL, "1 + 1")
    logs: list[str] = []
    code, _ = runner.run(
        None, out_root=tmp_path / "out", notebooks_dir=nbs, jobs=1, html=False,
        log=lambda msg: logs.append(str(msg)),
    )  # fmt: skip
    assert code == 0
    assert [line for line in logs if line.startswith("[")] == [
        "[1/2] 00_first started",
        "[2/2] 05_second queued",
    ]


def test_a_window_without_traffic_stops_before_the_notebooks(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    params.write_text(f'run:\n  source: {good}\n  start: "2030-01-01"\n  end: "2030-01-02"\n')
    logs: list[str] = []
    errors: list[str] = []
    code, run_dir = runner.run(
        params, out_root=tmp_path / "out", log=logs.append, log_error=errors.append
    )
    assert code == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["notebooks"] == {}
    assert manifest["error"] == (
        f"the ingest found no invocations to analyse: {good} holds none in the window "
        "[2030-01-01T00:00:00+00:00, 2030-01-02T00:00:00+00:00): all 13 records are before it "
        "(2025-06-02 to 2025-06-02); set run.start to 2025-06-02 or earlier"
    )
    assert errors == [f"error: {manifest['error']}"]  # stderr, which cron mails
    assert not [line for line in logs if line.startswith("error")]
    assert not list(run_dir.glob("*.ipynb")) and not (tmp_path / "out" / "latest").exists()


def _stopped_run_error(tmp_path: Path, run_lines: str) -> str:
    """The error of a run of ``run_lines`` (its params' ``run:`` keys) that stops before its
    notebooks."""
    params = tmp_path / "params.yaml"
    params.write_text("run:\n" + run_lines)
    code, run_dir = runner.run(params, out_root=tmp_path / "out", log=lambda msg: None)
    assert code == 2
    return json.loads((run_dir / "manifest.json").read_text())["error"]


def test_a_source_of_bad_lines_alone_points_at_the_quarantine_not_a_window(
    tmp_path: Path,
) -> None:
    """Every line invalid JSON and no window set: the error names the quarantine's reasons and
    where to read them, and no window (there is none) nor run.start and run.end."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text("".join(f'{{"requestId": "x{i}", oops\n' for i in range(3)))
    assert _stopped_run_error(tmp_path, f"  source: {logs}\n") == (
        "the ingest found no invocations to analyse: 3 lines read, 3 quarantined "
        "(3 invalid JSON). Check that run.source holds Bedrock invocation logs: "
        "quarantine.parquet in the run folder shows each quarantined line and why"
    )


def test_a_window_after_every_record_says_to_move_run_end(tmp_path: Path) -> None:
    """The fixture's records (2 June 2025) are all after a window of May: run.end must pass
    their last day, which it leaves out."""
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    error = _stopped_run_error(
        tmp_path, f'  source: {good}\n  start: "2025-05-01"\n  end: "2025-05-08"\n'
    )
    assert error == (
        f"the ingest found no invocations to analyse: {good} holds none in the window "
        "[2025-05-01T00:00:00+00:00, 2025-05-08T00:00:00+00:00): all 13 records are after it "
        "(2025-06-02 to 2025-06-02); set run.end to 2025-06-03 or later"
    )


def test_a_window_between_records_names_both_sides(tmp_path: Path) -> None:
    """A record on 2 June and one on 10 June, the window 5 June: one each side."""
    logs = tmp_path / "logs"
    logs.mkdir()
    first = (ROOT / "tests" / "fixtures" / "logs" / "good" / "part-2.json").read_text()
    record = json.loads(first.splitlines()[0])
    later = {**record, "requestId": "later", "timestamp": "2025-06-10T09:00:00Z"}
    (logs / "a.jsonl").write_text(json.dumps(record) + "\n" + json.dumps(later) + "\n")
    error = _stopped_run_error(
        tmp_path, f'  source: {logs}\n  start: "2025-06-05"\n  end: "2025-06-06"\n'
    )
    assert error == (
        f"the ingest found no invocations to analyse: {logs} holds none in the window "
        "[2025-06-05T00:00:00+00:00, 2025-06-06T00:00:00+00:00): 2 records outside it: 1 before "
        "it, 1 after it (2025-06-02 to 2025-06-10); set run.start to 2025-06-02 or earlier and "
        "run.end to 2025-06-11 or later"
    )


def test_a_group_holding_only_the_set_up_notice_stops_without_a_quarantined_line(
    tmp_path: Path,
) -> None:
    """Bedrock's "Permissions are correctly set" event is no record: the run finds no
    invocation, and says so without calling the notice a quarantined line."""
    logs = tmp_path / "logs"
    logs.mkdir()
    notice = "Permissions are correctly set for Amazon Bedrock logs."
    events = {"events": [{"logStreamName": "s", "timestamp": 1748862000000, "message": notice}]}
    (logs / "events.json").write_text(json.dumps(events))
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {logs}\n")
    code, run_dir = runner.run(params, out_root=tmp_path / "out", log=lambda msg: None)
    assert code == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["error"] == (
        "the ingest found no invocations to analyse: 0 lines read, 0 quarantined, 1 set-up "
        'notice left out (Bedrock\'s "Permissions are correctly set" event, no record). '
        "Check that run.source holds Bedrock invocation logs: it held no invocation record"
    )


def test_a_quiet_day_says_the_window_held_no_invocations(tmp_path: Path) -> None:
    """A scheduled daily run over a day with no traffic: the ingest gives an empty table (the
    source holds logs, of other days) and the run stops saying so, not that the source holds no
    logs."""
    hour = tmp_path / "us-east-1" / "2025" / "06" / "02" / "06"
    hour.mkdir(parents=True)
    good = ROOT / "tests" / "fixtures" / "logs" / "good" / "part-2.json"
    (hour / "a.json").write_text(good.read_text().splitlines()[0] + "\n")
    params = tmp_path / "params.yaml"
    params.write_text(
        f'run:\n  source: {tmp_path / "us-east-1"}\n  start: "2025-06-03"\n  end: "2025-06-04"\n'
    )
    errors: list[str] = []
    code, run_dir = runner.run(
        params, out_root=tmp_path / "out", log=lambda msg: None, log_error=errors.append
    )
    assert code == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["ingest"]["lines_read"] == 0
    assert errors[-1] == (
        f"error: the ingest found no invocations to analyse: {tmp_path / 'us-east-1'} holds none "
        "in the window [2025-06-03T00:00:00+00:00, 2025-06-04T00:00:00+00:00); widen run.start "
        "and run.end to a period with traffic"
    )


def test_a_handful_of_records_runs_every_notebook(tmp_path: Path) -> None:
    """A small team's logs (12 invocations, nothing batch-eligible) still give every report."""
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {ROOT / 'tests' / 'fixtures' / 'logs' / 'good'}\n")
    code, run_dir = runner.run(params, out_root=tmp_path / "out", html=False, log=lambda *_: None)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0, {n: r["error"] for n, r in manifest["notebooks"].items() if r["error"]}
    assert manifest["ingest"]["rows"] == 12
    assert {n: r["status"] for n, r in manifest["notebooks"].items()} == {
        "00_baseline": "ok",
        "01_model_sizing": "ok",
        "02_batch_inference": "ok",
    }


def logs_on_days(folder: Path, days: dict[str, str]) -> Path:
    """The fixture logs in ``folder``, each file's records moved to its day (name -> day)."""
    folder.mkdir()
    for name, day in days.items():
        text = (ROOT / "tests" / "fixtures" / "logs" / "good" / name).read_text()
        (folder / name).write_text(text.replace('"timestamp":"2025-06-02T', f'"timestamp":"{day}T'))
    return folder


def test_a_monthly_run_analyses_the_previous_month_everywhere(tmp_path: Path) -> None:
    """run.window previous_month, run on 2 April 2026 at 06:00 UTC: March's records are read
    (part-1's 6; part-2's 7, of 1 April, are outside), the CUR is compared over March (its two
    days of March bill $9.52), the baseline's period and comparison are March's, and the run
    says so and records the window beside the days it resolved to."""
    logs = logs_on_days(
        tmp_path / "logs", {"part-1.json": "2026-03-31", "part-2.json": "2026-04-01"}
    )
    params = tmp_path / "params.yaml"
    cur = ROOT / "tests" / "fixtures" / "billing" / "cur2.parquet"
    params.write_text(f"run:\n  source: {logs}\n  window: previous_month\n  cur: {cur}\n")
    lines: list[str] = []
    code, run_dir = runner.run(
        params,
        only=["00_baseline"],
        out_root=tmp_path / "out",
        html=False,
        log=lambda msg: lines.append(str(msg)),
        clock=lambda: dt.datetime(2026, 4, 2, 6, 0, tzinfo=dt.UTC),
    )
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0, manifest.get("error") or manifest["notebooks"]
    assert lines[1] == (
        "window: previous_month = 2026-03-01 to 2026-03-31 (31 UTC days; run.start 2026-03-01, "
        "run.end 2026-04-01)"
    )
    assert manifest["window"] == {
        "window": "previous_month",
        "start": "2026-03-01",
        "end": "2026-04-01",
        "resolved_on": "2026-04-02",
    }
    assert manifest["params"]["run"]["window"] == "previous_month"  # the file as written
    assert manifest["created_at"] == "2026-04-02T06:00:00+00:00"
    march = ("2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00")
    ingest = manifest["ingest"]
    assert (ingest["start"], ingest["end"]) == march
    assert (ingest["rows"], ingest["outside_window"]) == (6, 7)
    assert manifest["billing"]["window"] == ["2026-03-01", "2026-04-01"]
    assert manifest["billing"]["billed_usd"] == 9.52
    shown = notebook_text(run_dir / "00_baseline.ipynb")
    assert (
        "the 1 UTC calendar day the records touch (2026-03-31), fewer than the window "
        "[2026-03-01 00:00 UTC, 2026-04-01 00:00 UTC), 31 days long" in shown
    )
    assert re.search(r"compared window \(UTC days\) +2026-03-01 to 2026-03-31\n", shown)


def notebook_text(path: Path) -> str:
    """The text a notebook printed, every cell's."""
    cells = nbformat.read(path, as_version=4).cells
    return "".join(o.get("text", "") for c in cells for o in c.get("outputs", []))


def test_a_relative_window_is_resolved_on_the_utc_day(tmp_path: Path) -> None:
    """01:00 on 1 July 2025 in UTC+2 is still 30 June in UTC: previous_month is May, which the
    fixture's records (2 June) are not in; the run stops, naming run.window."""
    params = tmp_path / "params.yaml"
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    params.write_text(f"run:\n  source: {good}\n  window: previous_month\n")
    utc_plus_2 = dt.timezone(dt.timedelta(hours=2))
    code, run_dir = runner.run(
        params,
        out_root=tmp_path / "out",
        log=lambda msg: None,
        clock=lambda: dt.datetime(2025, 7, 1, 1, 0, tzinfo=utc_plus_2),
    )
    assert code == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["window"]["start"] == "2025-05-01" and manifest["window"]["end"] == "2025-06-01"
    assert manifest["error"] == (
        f"the ingest found no invocations to analyse: {good} holds none in the window "
        "[2025-05-01T00:00:00+00:00, 2025-06-01T00:00:00+00:00): all 13 records are after it "
        "(2025-06-02 to 2025-06-02); widen run.window (previous_month) to a period with traffic"
    )


def test_month_to_date_on_the_first_is_refused_before_any_work(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    params.write_text(f"run:\n  source: {good}\n  window: month_to_date\n")
    with pytest.raises(ParamsError) as err:
        runner.run(
            params,
            out_root=tmp_path / "out",
            log=lambda *_: None,
            clock=lambda: dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC),
        )
    assert str(err.value) == (
        f"{params}: run.window: month_to_date holds no whole day on 2026-03-01, the 1st of the "
        "month (today is left out); run it from the 2nd, or use previous_month on the 1st"
    )
    assert not (tmp_path / "out").exists()


def test_typo_in_params_is_refused_before_any_work(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("00_baseline:\n  top_m: 5\n")
    with pytest.raises(ParamsError, match=r"'top_m'.*did you mean 'top_n'"):
        runner.run(bad, out_root=tmp_path / "out", log=lambda *_: None)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_scrub_secrets_replaces_values_in_text_files(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text(f"key={FAKE_SECRET}")
    (tmp_path / "b.parquet").write_bytes(b"untouched")
    changed = runner.scrub_secrets(tmp_path, {"AWS_SECRET_ACCESS_KEY": FAKE_SECRET})
    assert changed == 1
    assert (tmp_path / "a.html").read_text() == "key=[redacted credential]"


def test_scrub_secrets_takes_a_bedrock_api_key_and_container_credentials(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("Bearer bedrock-api-key-0123456789 token ecs-token-abcdefgh")
    env = {
        "AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key-0123456789",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-token-abcdefgh",
    }
    assert runner.scrub_secrets(tmp_path, env) == 1
    assert (tmp_path / "a.html").read_text() == (
        "Bearer [redacted credential] token [redacted credential]"
    )


def test_scrub_secrets_reads_blocks_and_keeps_other_bytes(tmp_path: Path, monkeypatch) -> None:
    """A credential across a block boundary is found; bytes that are not UTF-8 stay as they
    were; files without a credential are not rewritten."""
    monkeypatch.setattr(runner, "SCRUB_BLOCK", 7)  # every credential straddles blocks
    body = b"\xff\xfe head " + FAKE_SECRET.encode() + b" mid " + FAKE_SECRET.encode() + b" end"
    (tmp_path / "in.jsonl").write_bytes(body)
    (tmp_path / "clean.json").write_bytes(b"\xff nothing here")
    before = (tmp_path / "clean.json").stat().st_mtime_ns
    changed = runner.scrub_secrets(tmp_path, {"AWS_SESSION_TOKEN": FAKE_SECRET})
    assert changed == 1
    expected = b"\xff\xfe head [redacted credential] mid [redacted credential] end"
    assert (tmp_path / "in.jsonl").read_bytes() == expected
    assert (tmp_path / "clean.json").stat().st_mtime_ns == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.json", "in.jsonl"]


def _kernel_prints(tmp_path: Path, expression: str) -> str:
    """What a one-cell notebook run by ``execute_notebook`` prints for ``expression``."""
    nb = nbformat.v4.new_notebook()
    code = f"from ipykernel.kernelapp import IPKernelApp\nprint({expression})"
    nb.cells = [nbformat.v4.new_code_cell(code)]
    src, dest = tmp_path / "probe.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    status, _, error = execute_notebook(str(src), str(dest), {}, str(tmp_path))
    assert (status, error) == ("ok", None)
    return nbformat.read(dest, as_version=4).cells[0].outputs[0]["text"]


def test_kernel_log_keeps_shutdown_noise_out_of_the_run_log(tmp_path: Path) -> None:
    """The kernel's own log shows only CRITICAL: its shutdown-interrupt ERROR stays out."""
    levels = "[h.level for h in IPKernelApp.instance().log.handlers]"
    assert _kernel_prints(tmp_path, levels) == "[50]\n"


@pytest.mark.skipif(kernel_manager_class() is None, reason="no Unix-domain sockets here")
def test_notebooks_run_on_a_local_ipc_kernel(tmp_path: Path) -> None:
    """Kernels talk over Unix-domain sockets, so none warns about unencrypted TCP."""
    assert _kernel_prints(tmp_path, "IPKernelApp.instance().transport") == "ipc\n"


def test_sample_run_log_says_whether_the_cache_was_built_or_reused(tmp_path, monkeypatch):
    from bedrock_finops import notebook

    cache = tmp_path / "cache" / "sample-run-x"

    def build() -> Path:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "usage.parquet").write_bytes(b"")
        (cache / "ingest_report.json").write_text('{"rows": 3}')
        return cache

    monkeypatch.setattr(notebook, "sample_run_path", lambda: cache)
    monkeypatch.setattr(notebook, "default_sample_run", build)
    from bedrock_finops.params import RUN_KEYS

    run = {k: spec[1] for k, spec in RUN_KEYS.items()}
    (first := tmp_path / "run1").mkdir()
    (second := tmp_path / "run2").mkdir()
    source = "sample (the embedded sample)"
    assert runner.ingest_for_run(run, first) == {
        "rows": 3, "source": source, "cached_as": str(cache)
    }  # fmt: skip
    assert runner.ingest_for_run(run, second) == {
        "rows": 3, "source": source, "reused_from_cache": str(cache)
    }  # fmt: skip
    # the run's own report says so too, not the cache's scratch folder it was ingested from
    assert json.loads((second / "ingest_report.json").read_text()) == {
        "rows": 3, "source": source, "reused_from_cache": str(cache)
    }  # fmt: skip
    assert json.loads((cache / "ingest_report.json").read_text()) == {"rows": 3}


def test_a_generated_sample_stopped_during_its_ingest_leaves_no_logs(tmp_path, monkeypatch):
    """`sample: {days: 3}` is generated into the run folder's .sample: stopped by SIGTERM
    during the ingest, those logs were left there."""
    from bedrock_finops import ingest, sample
    from bedrock_finops.params import RUN_KEYS

    def generate(folder, **opts):
        (Path(folder) / "logs").mkdir(parents=True)
        (Path(folder) / "logs" / "a.json").write_text("{}\n")

    def stopped(*args, **kwargs):
        raise Terminated(signal.SIGTERM)

    monkeypatch.setattr(sample, "generate", generate)
    monkeypatch.setattr(ingest, "ingest_to_folder", stopped)
    run = {k: spec[1] for k, spec in RUN_KEYS.items()} | {"sample": {"days": 3}}
    with pytest.raises(Terminated):
        runner.ingest_for_run(run, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_a_full_run_folder_gets_no_cut_copy_of_the_cached_tables(tmp_path, monkeypatch):
    """The disk under --out fills while the cached sample's tables are copied in: no cut
    usage.parquet is left under its name ("Parquet magic bytes not found"), and the error
    names the file being made in the run folder, not the cache's file it was read from."""
    from bedrock_finops import notebook
    from bedrock_finops.params import RUN_KEYS

    cache = tmp_path / "cache"
    cache.mkdir()
    for name in ("usage.parquet", "prompts.parquet", "ingest_report.json"):
        (cache / name).write_text("x" * 1000)
    monkeypatch.setattr(notebook, "sample_run_path", lambda: cache)
    monkeypatch.setattr(notebook, "default_sample_run", lambda: cache)
    real_copyfile = shutil.copyfile

    def copyfile(src, dst, **kwargs):
        if Path(src).name == "usage.parquet":  # as shutil's sendfile copy fails
            Path(dst).write_text("x" * 100)
            error = OSError(errno.ENOSPC, "No space left on device")
            error.filename, error.filename2 = str(src), str(dst)
            raise error
        return real_copyfile(src, dst, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", copyfile)
    (run_dir := tmp_path / "run").mkdir()
    with pytest.raises(OSError) as full:
        runner.ingest_for_run({k: spec[1] for k, spec in RUN_KEYS.items()}, run_dir)
    assert (full.value.errno, full.value.filename) == (
        errno.ENOSPC,
        str(run_dir / "usage.parquet"),
    )
    assert list(run_dir.iterdir()) == []


def test_the_sample_is_ingested_with_the_runs_settings(tmp_path, monkeypatch):
    """``fetch_large_bodies``, ``app_key`` and the maps apply to the sample as to any logs:
    a run that sets one ingests the sample afresh with it, not the cached default ingest."""
    from bedrock_finops import ingest, notebook, sample
    from bedrock_finops.params import RUN_KEYS

    seen: dict = {}

    class Report:
        def to_dict(self) -> dict:
            return {"rows": 7}

    def fake_ingest(src, out, start, end, **kw):
        seen.update(kw, source=Path(src).name)
        return Report()

    def fake_generate(folder, **opts):
        (Path(folder) / "logs").mkdir(parents=True)
        (Path(folder) / "truth.json").write_text("{}")

    monkeypatch.setattr(ingest, "ingest_to_folder", fake_ingest)
    monkeypatch.setattr(sample, "generate", fake_generate)
    monkeypatch.setattr(notebook, "default_sample_run", lambda: pytest.fail("used the cache"))
    run = {k: spec[1] for k, spec in RUN_KEYS.items()}
    run.update(fetch_large_bodies=True, app_key="team", identity_app_map={"role-a": "app-a"})
    report = runner.ingest_for_run(run, tmp_path, progress=False)
    assert report == {"rows": 7, "source": "sample (generated for this run)"}
    assert json.loads((tmp_path / "ingest_report.json").read_text()) == report
    assert seen["source"] == "logs" and seen["fetch_large_bodies"] is True
    assert (seen["app_key"], seen["identity_app_map"]) == ("team", {"role-a": "app-a"})


def test_sample_cache_key_follows_python_and_c_sources(tmp_path, monkeypatch):
    from bedrock_finops import notebook

    package = tmp_path / "bedrock_finops"
    (package / "data").mkdir(parents=True)
    (package / "parse.py").write_text("A = 1\n")
    (package / "_linescan.c").write_text("int x;\n")
    (package / "data" / "prices.csv").write_text("model,price\n")
    (package / "README.txt").write_text("not part of a run\n")
    monkeypatch.setattr(notebook.resources, "files", lambda _: package)
    keys = [notebook._code_fingerprint()]
    edits = [
        ("README.txt", "edited\n"),
        ("_linescan.c", "int y;\n"),
        ("parse.py", "A = 2\n"),
        ("data/prices.csv", "model,price\nm,1\n"),
    ]
    for name, text in edits:
        (package / name).write_text(text)
        keys.append(notebook._code_fingerprint())
    assert keys[1] == keys[0]  # a file that shapes no run
    assert len(set(keys[1:])) == 4  # each source or data edit gives a new cache folder


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path (a socket path holds ~104 bytes: tmp_path's are long)."""
    folder = Path(tempfile.mkdtemp(prefix="bf-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(kernel_manager_class() is None, reason="no Unix-domain sockets here")
def test_ipc_kernels_fall_back_to_tcp_when_the_socket_path_is_too_long(monkeypatch, short_tmp):
    import jupyter_core.paths

    monkeypatch.setattr(jupyter_core.paths, "jupyter_runtime_dir", lambda: str(short_tmp / "r"))
    monkeypatch.setattr(tempfile, "tempdir", str(short_tmp / "tmp"))
    short = kernel_manager_class()()
    assert (short.transport, short.ip.startswith(str(short_tmp / "r" / "bedrock-finops-"))) == (
        "ipc",
        True,
    )
    deep = short_tmp / ("d" * 120)
    monkeypatch.setattr(jupyter_core.paths, "jupyter_runtime_dir", lambda: str(deep))
    private = short_tmp / "tmp" / f"bedrock-finops-kernels-{os.geteuid()}"
    assert kernel_manager_class()().ip.startswith(f"{private}/bedrock-finops-")
    monkeypatch.setattr(tempfile, "tempdir", str(deep))  # the temp folder's too long as well
    assert kernel_manager_class()().transport == "tcp"
    assert not deep.exists()


@pytest.fixture
def read_only_home(monkeypatch: pytest.MonkeyPatch, short_tmp: Path) -> Path:
    """Jupyter's runtime folder under a home folder that cannot be written (as under systemd's
    ProtectHome=read-only): making it fails as on a read-only file system. The temp folder is
    the test's own; returns it. The sample stays cached where it was, as a user of such a home
    folder caches it (BEDROCK_FINOPS_CACHE): the run's check would otherwise refuse it first."""
    import jupyter_core.paths

    from bedrock_finops import notebook

    monkeypatch.setenv("BEDROCK_FINOPS_CACHE", str(notebook.cache_root()))
    home = short_tmp / "home"
    (short_tmp / "tmp").mkdir()
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args, **kwargs) -> None:
        if self.is_relative_to(home):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *args, **kwargs)

    runtime = home / ".local" / "share" / "jupyter" / "runtime"
    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(jupyter_core.paths, "jupyter_runtime_dir", lambda: str(runtime))
    monkeypatch.setattr(tempfile, "tempdir", str(short_tmp / "tmp"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("IPYTHONDIR", "")  # (unset: restored as it was once the test is done)
    return short_tmp / "tmp"


@pytest.mark.skipif(kernel_manager_class() is None, reason="no Unix-domain sockets here")
def test_notebooks_run_when_the_home_folder_is_read_only(tmp_path, read_only_home) -> None:
    """The kernels' sockets go to a private folder in the temp folder: every notebook failed
    with "[Errno 30] Read-only file system: '.../.local'"."""
    writable_ipython_folder()  # as a run does (see the test below)
    (tmp_path / "nb").mkdir()
    ran = _kernel_prints(tmp_path / "nb", "IPKernelApp.instance().connection_file")
    folder = read_only_home / f"bedrock-finops-kernels-{os.geteuid()}"
    assert (folder.is_dir(), stat.S_IMODE(folder.stat().st_mode)) == (True, 0o700)
    assert _kernel_prints(tmp_path / "nb", "IPKernelApp.instance().transport") == "ipc\n"
    assert ran.startswith(str(read_only_home)) and not (read_only_home.parent / "home").exists()


def test_kernels_get_an_ipython_folder_when_the_home_folder_is_read_only(
    tmp_path, read_only_home, monkeypatch
) -> None:
    """Each kernel warned "IPython parent ... is not a writable location" on stderr, which a
    schedule mails as an error, and left a new temp folder behind."""
    writable_ipython_folder()
    folder = read_only_home / f"bedrock-finops-kernels-{os.geteuid()}" / "ipython"
    assert os.environ["IPYTHONDIR"] == str(folder)
    (tmp_path / "nb").mkdir()
    ipython_dir = "__import__('IPython').paths.get_ipython_dir()"
    assert _kernel_prints(tmp_path / "nb", ipython_dir) == f"{folder}\n"


@pytest.mark.skipif(kernel_manager_class() is None, reason="no Unix-domain sockets here")
def test_a_temp_folder_of_the_same_name_that_others_can_enter_is_not_taken(read_only_home):
    folder = read_only_home / f"bedrock-finops-kernels-{os.geteuid()}"
    folder.mkdir(parents=True, mode=0o777)
    folder.chmod(0o777)
    assert kernel_manager_class()().transport == "tcp"


def test_a_notebook_that_did_not_run_gets_no_html_copy(tmp_path, read_only_home, monkeypatch):
    """An HTML copy is what a run shares: a failed notebook's would be taken for a result.
    With the kernel's start failing (no socket folder), the copies of the notebooks that never
    ran were written all the same."""
    from bedrock_finops import notebook_exec

    monkeypatch.setattr(notebook_exec, "socket_path", lambda runtime: "/nonexistent/dir/k")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "00_first.ipynb", PARAMS_CELL, "1 + 1")
    code, run_dir = runner.run(
        None, out_root=tmp_path / "out", notebooks_dir=nbs, jobs=1, log=lambda *_: None
    )
    manifest = json.loads((run_dir / "manifest.json").read_text())
    first = manifest["notebooks"]["00_first"]
    assert (code, first["status"], first["html"]) == (1, "failed", None)
    assert (run_dir / "00_first.ipynb").exists() and not (run_dir / "00_first.html").exists()


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ('start: "2025-06-03"\n  end: "2025-06-02"', "run.start 2025-06-03 is not before"),
        ('start: "2025-06-02"\n  end: "2025-06-02"', "run.start 2025-06-02 is not before"),
        ("start: 2025-06-02 12:00:00", "run.start must be a day YYYY-MM-DD"),
        ('end: "0001-01-01"', r"run.end 0001-01-01 is outside the years 1970-9998 a window "
         r"can name; leave it out \(null\) to read to the last record"),
    ],
)  # fmt: skip
def test_a_bad_window_is_refused_before_any_work(tmp_path: Path, window, message) -> None:
    params = tmp_path / "params.yaml"
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    params.write_text(f"run:\n  source: {good}\n  {window}\n")
    with pytest.raises(ParamsError, match=message):
        runner.run(params, out_root=tmp_path / "out", log=lambda *_: None)
    assert not (tmp_path / "out").exists()


def test_two_billing_sources_are_refused_before_any_work(tmp_path: Path) -> None:
    params = tmp_path / "params.yaml"
    good = ROOT / "tests" / "fixtures" / "logs" / "good"
    params.write_text(f"run:\n  source: {good}\n  cur: a.parquet\n  focus: b.csv\n")
    with pytest.raises(ParamsError, match="cur and focus are set.*give only one"):
        runner.run(params, out_root=tmp_path / "out", log=lambda *_: None)
    assert not (tmp_path / "out").exists()


def test_scrub_secrets_replaces_each_secret_whole_through_links(tmp_path: Path) -> None:
    """Adjacent values, one secret inside another (the longer is replaced whole), a file
    reached by a link (the file is rewritten, the link kept) and its mode kept."""
    token = FAKE_SECRET + "TOKENTAIL"  # holds the secret key
    real = tmp_path / "real.txt"
    real.write_text(f"{FAKE_SECRET}{FAKE_SECRET}|{token}")
    real.chmod(0o640)
    (tmp_path / "link.txt").symlink_to(real)
    env = {"AWS_SECRET_ACCESS_KEY": FAKE_SECRET, "AWS_SESSION_TOKEN": token}
    assert runner.scrub_secrets(tmp_path, env) == 1  # the link's target, once
    mark = "[redacted credential]"
    assert real.read_text() == f"{mark}{mark}|{mark}"
    assert (tmp_path / "link.txt").is_symlink() and (real.stat().st_mode & 0o777) == 0o640


def test_a_closed_terminal_during_the_ingest_is_recorded_and_stops_the_run(tmp_path, monkeypatch):
    """SIGHUP: the terminal is gone, so the line saying where the record is cannot be written;
    the run still stops as terminated, not with that write's error."""

    def hung_up(*args, **kwargs):
        raise Terminated(signal.SIGHUP)

    def log(message):
        if str(message).startswith("run failed"):
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(runner, "ingest_for_run", hung_up)
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {ROOT / 'tests' / 'fixtures' / 'logs' / 'good'}\n")
    with pytest.raises(Terminated, match=r"^terminated \(SIGHUP\)$"):
        runner.run(params, out_root=tmp_path / "out", log=log)
    (run_dir,) = (tmp_path / "out").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["status"], manifest["error"]) == ("failed", "ingest: terminated (SIGHUP)")


@pytest.mark.parametrize("env", [{}, {"AWS_SESSION_TOKEN": FAKE_SECRET}])
def test_scrubbed_keeps_a_path_name_that_is_not_utf8(env: dict[str, str]) -> None:
    """A folder named with a Latin-1 byte reaches Python as a lone surrogate ("\\udce9"); a
    log line naming it comes back as it was (the console prints it as an escape), with or
    without a credential to redact: a strict encode ended the run at its first log line."""
    name = os.fsdecode(b"/tmp/out-caf\xe9")
    assert runner.scrubbed(f"run folder: {name}", env) == f"run folder: {name}"
    line = f"{name} {FAKE_SECRET}"
    want = f"{name} [redacted credential]" if env else line
    assert runner.scrubbed(line, env) == want
