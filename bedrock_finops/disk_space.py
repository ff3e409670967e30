"""A full disk (or quota), told as one error naming the folder and what needed the room."""

from __future__ import annotations

import errno

# ENOSPC: the file system is full; EDQUOT: the user's quota on it is (not on every platform)
FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e)


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says a write found no room (pyarrow's write errors carry the errno too)."""
    return isinstance(exc, OSError) and exc.errno in FULL_ERRNOS


def no_room(exc: OSError) -> str:
    """What the error said, in words: no space left, or the quota reached."""
    if exc.errno == errno.ENOSPC:
        return "no space left on the disk"
    return "disk quota exceeded"


def megabytes(n: int | float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e6:,.1f} MB"
