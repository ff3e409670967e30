"""The cached sample run: one per version of the code, old ones removed once unused."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

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


def _read_only_home(monkeypatch, tmp_path: Path) -> Path:
    """HOME on a read-only file system (systemd's ProtectHome=read-only), no cache variable:
    making a folder under it fails as there. Returns the cache folder a run would use."""
    home = tmp_path / "home"
    home.mkdir()
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *args, **kwargs) -> None:
        if self.is_relative_to(home):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setenv("HOME", str(home))
    for name in ("BEDROCK_FINOPS_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    return home / ".cache" / "bedrock-finops"


def test_a_read_only_home_names_the_variables_not_out(tmp_path, monkeypatch, capsys):
    """The fix is to cache elsewhere: the error said "write elsewhere (--out)", though the run
    folder was not where it failed. Said before a run folder is made."""
    cache = _read_only_home(monkeypatch, tmp_path)
    message = (
        f"cannot cache the embedded sample in {cache} (Read-only file system); set "
        "BEDROCK_FINOPS_CACHE (or XDG_CACHE_HOME) to a folder this user can write to"
    )
    with pytest.raises(notebook.CacheFolderError) as refused:
        notebook.default_sample_run()
    assert str(refused.value) == message
    assert cli.main(["run", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_a_full_cache_disk_names_the_cache_folder_and_the_variables(tmp_path, monkeypatch):
    from bedrock_finops import ingest, sample

    monkeypatch.setenv("BEDROCK_FINOPS_CACHE", str(tmp_path / "cache"))

    def full(folder, **kwargs) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sample, "generate", full)
    expected = (
        f"no space left on the disk in {tmp_path / 'cache'}, where the embedded sample is "
        "generated and cached: free space there, or set BEDROCK_FINOPS_CACHE (or "
        "XDG_CACHE_HOME) to a folder on a disk with room"
    )
    with pytest.raises(notebook.CacheFolderError) as full_disk:
        notebook.default_sample_run()
    assert str(full_disk.value) == expected

    def ingest_full(*args, **kwargs) -> None:  # the ingest says it of its own output folder
        raise ingest.NoRoomForTables("no space left on the disk in ... (--out)")

    monkeypatch.setattr(sample, "generate", lambda folder, **kw: None)
    monkeypatch.setattr(ingest, "ingest_to_folder", ingest_full)
    with pytest.raises(notebook.CacheFolderError) as full_disk:
        notebook.default_sample_run()
    assert str(full_disk.value) == expected
    assert list((tmp_path / "cache").iterdir()) == []  # the scratch folder is gone


def test_a_cached_sample_on_a_read_only_file_system_still_serves(monkeypatch):
    path = notebook.default_sample_run()

    def read_only(*args, **kwargs) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(os, "utime", read_only)
    assert notebook.default_sample_run() == path
