"""Stopping on a signal: SIGTERM is handled as Ctrl-C is, so a stopped command cleans up.

SIGTERM is what ``kill PID``, ``timeout``, ``docker stop``, systemd and a cancelled CI job
send. By default it ends Python at once, with no ``finally`` run: an ingest left its worker
processes running, its partial table and its scratch copies behind. Raised instead as
:class:`Terminated`, a ``KeyboardInterrupt``, it takes the way Ctrl-C takes: every cleanup that
Ctrl-C runs runs, and the command exits ``EXIT_TERMINATED`` (128 + 15, as a shell reports it).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130: Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM: stop, cleaning up as for Ctrl-C."""

    def __str__(self) -> str:
        return "terminated (SIGTERM)"


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # a second SIGTERM while the first one's cleanup runs would cut it short: it is ignored
    # (SIGKILL still ends the process; the next run removes what that leaves, see owned_folders)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Terminated()


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM wait: they take effect (raise) once it ends.

    For a few steps that must happen all or none, such as renaming a run's files into place:
    stopped between two, an earlier run's files would be left beside this one's. Where the
    signal mask cannot be set (not POSIX), it does nothing."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread; the handler
    before it is put back after. Outside the main thread (no handler can be set) it does
    nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
