"""Folders a command makes for its output, taken back when it fails before writing there.

A refused ingest (no logs in the source, a folder it cannot read, an access error) or a
stopped one would otherwise leave an empty output folder behind, to be taken for a result.
Only folders this process made are removed, and only while empty: a folder that was there
before stays, whatever it holds, and so does one something else has written to since.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def missing(folder: Path) -> list[Path]:
    """``folder`` and those of its parents that do not exist yet, deepest first: what
    ``folder.mkdir(parents=True)`` would make."""
    absent = []
    for path in (folder, *folder.parents):
        if os.path.lexists(path):
            break
        if path.name not in ("..", "."):  # x/.. is no folder made (and cannot be removed)
            absent.append(path)
    return absent


def remove_if_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty: the first that is not (or
    cannot be removed) stays, and the folders above it with it."""
    for folder in folders:
        try:
            folder.rmdir()
        except FileNotFoundError:  # gone already
            continue
        except OSError:  # not empty, or not ours to remove
            return


@contextlib.contextmanager
def taken_back_on_failure(folders: list[Path]) -> Iterator[None]:
    """Within the block, ``folders`` are made for it: if it fails (an error, a Ctrl-C), those
    still empty are removed."""
    try:
        yield
    except BaseException:
        remove_if_empty(folders)
        raise
