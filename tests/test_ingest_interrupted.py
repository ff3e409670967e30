"""A run that fails or is interrupted part-way leaves no usage.parquet to be mistaken for a
whole one, nor an output folder it made; a finished run leaves no partial file; a file that
cannot be read is quarantined."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bedrock_finops import cli, ingest, ingest_output, interrupts
from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.sources.source_errors import SourceError

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"


def _stopping_after_one_chunk(error: BaseException):
    real = ingest._results

    def results(*args, **kwargs):
        for n, res in enumerate(real(*args, **kwargs)):
            if n == 1:
                raise error
            yield res

    return results


@pytest.mark.parametrize(
    "error, raised",
    [(KeyboardInterrupt(), KeyboardInterrupt), (SourceError("bucket went away"), IngestError)],
)
def test_a_stopped_run_leaves_no_usage_table(tmp_path, monkeypatch, error, raised):
    logs = tmp_path / "logs"
    shutil.copytree(GOOD, logs)  # two files: the run stops after the first
    monkeypatch.setattr(ingest, "CHUNK_FILES", 1)
    monkeypatch.setattr(ingest, "_results", _stopping_after_one_chunk(error))
    with pytest.raises(raised):
        ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    assert not (tmp_path / "out").exists()  # made for the run, and taken back


def test_a_run_that_fails_while_finishing_leaves_no_partial_file(tmp_path, monkeypatch):
    """The last row group is written, and the duplicates compared, once every file is read:
    a failure there (a full disk) removes the partial table as one mid-way does."""

    def full_disk(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ingest_output.Collector, "_conflicting_duplicates", full_disk)
    with pytest.raises(IngestError, match="^no space left on the disk in "):
        ingest_to_folder(GOOD, tmp_path / "out", workers=1, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_run_that_fails_at_its_last_file_leaves_the_earlier_run_whole(tmp_path, monkeypatch):
    """Run again into the same folder and failing as the prompts are written: the quarantine
    already written is not put beside the earlier run's table (nor the report's counts)."""
    out = tmp_path / "out"
    ingest_to_folder(GOOD, out, workers=1, progress=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.json").write_text("not a record\n")

    def full_disk(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ingest_output.Collector, "_write_prompts", full_disk)
    with pytest.raises(IngestError, match="^no space left on the disk in "):
        ingest_to_folder(bad, out, workers=1, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _refusing(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A source the ingest refuses once its output folder is made, and the error's start."""
    source = tmp_path / "logs"
    source.mkdir()
    if kind == "another service's logs only":
        trail = source / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1"
        trail.mkdir(parents=True)
        (trail / "trail.json.gz").write_bytes(b"")
        return source, "no invocation log files under"
    if kind == "a folder it may not read":
        from bedrock_finops.sources import invocation_logs as logs

        def refuse(root, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(root))

        monkeypatch.setattr(logs, "list_local", refuse)
        return source, r"\[Errno 13\] Permission denied"
    return source, "no invocation log files"  # an empty folder


REFUSALS = ["an empty folder", "another service's logs only", "a folder it may not read"]


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_refused_source_leaves_no_folder_it_made(tmp_path, monkeypatch, kind):
    source, says = _refusing(kind, tmp_path, monkeypatch)
    out = tmp_path / "new" / "run" / "out"
    with pytest.raises((IngestError, PermissionError), match=says):
        ingest_to_folder(source, out, workers=1, progress=False)
    assert not (tmp_path / "new").exists()


def test_a_refused_source_leaves_the_folders_that_were_there(tmp_path):
    """An output folder, or a folder above it, that was there before stays, whatever it
    holds; only the ones made for the run go."""
    source = tmp_path / "logs"
    source.mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine\n")
    for out in (tmp_path / "empty", tmp_path / "kept" / "new" / "out"):
        with pytest.raises(IngestError, match="no invocation log files"):
            ingest_to_folder(source, out, workers=1, progress=False)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "empty", "kept", "kept/notes.txt", "logs",
    ]  # fmt: skip


def test_a_refused_ingest_command_leaves_no_folder_it_made(tmp_path, capsys):
    source = tmp_path / "logs"
    source.mkdir()
    out = tmp_path / "new" / "usage.parquet"
    assert cli.main(["ingest", "--source", str(source), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: no invocation log files")
    assert not out.parent.exists()


def test_a_refused_ingest_takes_back_folders_made_on_a_path_through_dot_dot(tmp_path, capsys):
    """``--out new/../made/usage.parquet`` makes ``new`` and ``made``: both go, though the path
    names ``new/..`` (no folder of its own, and one that cannot be removed)."""
    source = tmp_path / "logs"
    source.mkdir()
    out = tmp_path / "new" / ".." / "made" / "usage.parquet"
    assert cli.main(["ingest", "--source", str(source), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("error: no invocation log files")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


@pytest.mark.parametrize("name", ["quarantine.parquet", "prompts.parquet"])
def test_a_table_named_as_a_file_written_beside_it_is_refused(tmp_path, name):
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, tmp_path / "out", workers=1, progress=False, table_name=name)
    assert str(err.value) == (
        f"the usage table cannot be named {name}: the ingest writes its {name} beside it; name "
        "it e.g. usage.parquet"
    )
    assert not (tmp_path / "out").exists()


def test_a_finished_run_leaves_no_partial_file(tmp_path):
    ingest_to_folder(GOOD, tmp_path / "out", workers=1, progress=False)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["ingest_report.json", "prompts.parquet", "quarantine.parquet", "usage.parquet"]


def test_a_file_gone_since_it_was_listed_is_one_quarantine_entry(tmp_path, monkeypatch):
    from bedrock_finops.sources import invocation_logs as logs

    folder = tmp_path / "logs"
    shutil.copytree(GOOD, folder)
    listed = logs.list_local(folder, None, None)
    (folder / "part-1.json").unlink()  # e.g. a sync still running removed it
    monkeypatch.setattr(logs, "list_local", lambda *args, **kwargs: listed)
    report = ingest_to_folder(folder, tmp_path / "out", workers=1, progress=False)
    assert report.quarantine_by_reason == {"unreadable file (FileNotFoundError)": 1}
    assert report.rows > 0 and report.lines_read == report.rows + report.quarantined


def test_a_file_that_cannot_be_opened_while_listing_is_still_read(tmp_path, monkeypatch):
    from bedrock_finops.sources import file_ranges

    def refuse(path, range_bytes=None):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(file_ranges, "line_ranges", refuse)
    report = ingest_to_folder(GOOD, tmp_path / "out", workers=1, progress=False)
    assert report.files_read == 2 and report.rows == 12  # read whole by the workers


HANGUP = [signal.SIGHUP] if hasattr(signal, "SIGHUP") else []
needs_sighup = pytest.mark.skipif(not HANGUP, reason="no SIGHUP on this platform")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, *HANGUP])
def test_a_stop_while_the_files_are_renamed_leaves_one_runs_files(tmp_path, monkeypatch, sig):
    """A Ctrl-C, SIGTERM or SIGHUP arriving between two of the final renames waits until the last:
    the folder holds this run's four files, not its report beside an earlier run's table."""
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(GOOD / "part-1.json", one / "part-1.json")
    out = tmp_path / "out"
    assert ingest_to_folder(one, out, workers=1, progress=False).rows == 6
    real, renamed = os.replace, []

    def replace(src, dst):
        real(src, dst)
        renamed.append(dst)
        if len(renamed) == 3:  # the report is in place, the table not yet
            os.kill(os.getpid(), sig)

    monkeypatch.setattr(ingest_output.os, "replace", replace)
    # Ctrl-C as Python takes it by default: a shell starts a background job with SIGINT
    # ignored, and an ignored SIGINT stays ignored (nothing to raise)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with interrupts.terminating_raises(), pytest.raises(KeyboardInterrupt):
            ingest_to_folder(GOOD, out, workers=1, progress=False)
    finally:
        signal.signal(signal.SIGINT, before)
    report = json.loads((out / "ingest_report.json").read_text())
    assert report["rows"] == pq.read_metadata(out / "usage.parquet").num_rows == 12
    assert sorted(p.name for p in out.iterdir()) == [
        "ingest_report.json", "prompts.parquet", "quarantine.parquet", "usage.parquet",
    ]  # fmt: skip


@needs_sighup
def test_a_hangup_is_a_termination_of_its_own_name_and_exit_code():
    """A closed terminal's SIGHUP stops the command as SIGTERM does, and says which it was;
    a worker's stop, pickled to the parent, keeps the signal."""
    before = signal.getsignal(signal.SIGHUP)
    with pytest.raises(interrupts.Terminated) as stop, interrupts.terminating_raises():
        os.kill(os.getpid(), signal.SIGHUP)
    assert (str(stop.value), stop.value.exit_code) == ("terminated (SIGHUP)", 129)
    assert str(pickle.loads(pickle.dumps(stop.value))) == "terminated (SIGHUP)"
    assert signal.getsignal(signal.SIGHUP) == before


@needs_sighup
def test_a_hangup_ignored_under_nohup_stays_ignored():
    """``nohup`` starts a command with SIGHUP ignored: a closed terminal must not stop it."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with interrupts.terminating_raises():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            with interrupts.stops_held():
                os.kill(os.getpid(), signal.SIGHUP)
            os.kill(os.getpid(), signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)
