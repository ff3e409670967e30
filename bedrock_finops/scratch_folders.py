"""Scratch folders that say who made them, so that the next run removes one a killed run left.

A SIGKILLed ingest (an out-of-memory kill, ``subprocess.run(timeout=)``, a second
``docker stop``) runs no cleanup: its /dev/shm folder of batches keeps holding memory and its
copy of expanded logs keeps holding disk. Each such folder is named ``<prefix><pid>-<hex>``
and its maker holds a lock on a file in it for as long as it runs (the kernel lets go when the
process ends, however it ends; forked workers share the lock, so it is held while any of them
lives). A later run removes a folder only when both show its maker gone: no process here has
the pid, and the lock can be taken (a run in another container that shares the folder but not
the process list still holds it). A folder whose lock cannot be tried (a file system without
locks) goes by the pid alone; one of the current process's pid, by the lock alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

from bedrock_finops.worker_pool import alive

try:
    import fcntl
except ImportError:  # Windows: no locks here (and no /dev/shm); folders are only made
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".owner"
_OWNED = r"(\d+)-[0-9a-f]{12}"  # what follows the prefix: the maker's pid and a random part


@dataclass
class ScratchFolder:
    """A folder this process made, and the lock that says it is in use."""

    path: Path
    lock: int | None

    def remove(self) -> None:
        """Let go of the lock, then remove the folder and everything in it (an open file
        cannot be removed on Windows; here the maker's live pid still keeps it its own)."""
        if self.lock is not None:
            with contextlib.suppress(OSError):
                os.close(self.lock)
            self.lock = None
        shutil.rmtree(self.path, ignore_errors=True)


def owned_name(prefix: str) -> re.Pattern[str]:
    """The names :func:`make` gives under ``prefix``."""
    return re.compile(re.escape(prefix) + _OWNED)


def make(parent: Path, prefix: str) -> ScratchFolder:
    """A new folder ``parent/<prefix><pid>-<hex>`` (this user's only), locked while it lives."""
    path = parent / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    path.mkdir(mode=0o700)
    try:
        fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    if fcntl is not None:
        with contextlib.suppress(OSError):  # no locks on this file system: the pid tells
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return ScratchFolder(path, fd)


def remove_stale(parent: Path, prefix: str) -> list[Path]:
    """Remove the folders :func:`make` made in ``parent`` whose makers are provably gone
    (see above); returns those removed. Never fails: what cannot be read or removed stays."""
    pattern = owned_name(prefix)
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return []
    removed = []
    for name in names:
        m = pattern.fullmatch(name)
        if m is None or not _own_folder(parent / name):
            continue
        pid = int(m.group(1))
        mine = pid == os.getpid()  # the pid of this process: made by an earlier one, or by it
        if not mine and alive(pid):
            continue
        lock = _try_lock(parent / name / LOCK_FILE)
        if lock is _HELD or (lock is _UNKNOWN and mine):
            continue
        try:
            shutil.rmtree(parent / name, ignore_errors=True)
        finally:
            if isinstance(lock, int):
                os.close(lock)
        if not os.path.lexists(parent / name):
            removed.append(parent / name)
    return removed


_HELD = "held"
_UNKNOWN = "unknown"


def _try_lock(path: Path) -> int | str:
    """An open descriptor holding ``path``'s lock; ``_HELD`` when another holds it;
    ``_UNKNOWN`` when it cannot be tried (no lock file: the maker died before making it)."""
    if fcntl is None:
        return _UNKNOWN
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return _UNKNOWN
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return _HELD
    except OSError:
        os.close(fd)
        return _UNKNOWN
    return fd


def _own_folder(path: Path) -> bool:
    """A real folder (not a link) of this user: another's is not this run's to judge."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    owner = getattr(os, "geteuid", None)
    return stat.S_ISDIR(st.st_mode) and (owner is None or st.st_uid == owner())
