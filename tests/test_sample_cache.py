"""The cached sample run: one per version of the code, old ones removed once unused."""

from __future__ import annotations

import os
import time

import pytest

from bedrock_finops import cli, notebook


def test_sample_runs_unused_for_a_week_are_removed(tmp_path):
    now = time.time()
    keep = tmp_path / "sample-run-aaaaaaaaaaaa"
    recent = tmp_path / "sample-run-bbbbbbbbbbbb"  # another checkout's, used yesterday
    stale = tmp_path / "sample-run-cccccccccccc"  # unused for 8 days
    other = tmp_path / "not-a-sample-run"
    for folder, age_days in ((keep, 30), (recent, 1), (stale, 8), (other, 30)):
        folder.mkdir()
        (folder / "usage.parquet").write_bytes(b"x")
        os.utime(folder, (now - age_days * 86400, now - age_days * 86400))
    removed = notebook.prune_stale_sample_runs(keep)
    assert removed == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "not-a-sample-run",
        "sample-run-aaaaaaaaaaaa",
        "sample-run-bbbbbbbbbbbb",
    ]


def test_using_the_cached_sample_marks_it_used():
    path = notebook.default_sample_run()
    week_ago = time.time() - 7 * 86400
    os.utime(path, (week_ago, week_ago))
    assert notebook.default_sample_run() == path
    assert path.stat().st_mtime > time.time() - 60


def _no_home(monkeypatch) -> None:
    """No HOME and no entry for this user in the password database (``docker run --user``
    with a user id of no account, OpenShift's arbitrary user id)."""
    import pwd

    def no_entry(uid: int):
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)


def test_the_cache_follows_xdg_without_a_home_folder(tmp_path, monkeypatch):
    """XDG_CACHE_HOME set, no home folder to be found: the home folder is not looked for (it
    was, and the run ended in 'RuntimeError: Could not determine home directory.')."""
    _no_home(monkeypatch)
    monkeypatch.delenv("BEDROCK_FINOPS_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert notebook.cache_root() == tmp_path / "xdg" / "bedrock-finops"


def test_no_folder_for_the_cache_is_one_error_naming_the_variables(tmp_path, monkeypatch, capsys):
    """Neither variable set and no home folder: `run` on the sample says which variables to
    set, in one line, before it makes a run folder."""
    _no_home(monkeypatch)
    for name in ("BEDROCK_FINOPS_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(notebook.CacheFolderError):
        notebook.cache_root()
    assert cli.main(["run", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "error: no folder to cache the embedded sample in: HOME is not set and this user has "
        "no home folder in the password database; set BEDROCK_FINOPS_CACHE (or "
        "XDG_CACHE_HOME, or HOME) to a folder this user can write to\n"
    )
    assert not (tmp_path / "out").exists()
