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
from typing import Any

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
    """Within the block, Ctrl-C and SIGTERM wait: the first one that came takes effect (its
    handler runs, and raises) when the block ends.

    For a few steps that must happen all or none, such as renaming a run's files into place:
    stopped between two, an earlier run's files would be left beside this one's. Held by
    swapping the Python handlers, not by the signal mask, which holds a signal for one thread
    only (another of the process's threads would take it). Only the main thread can set
    handlers; elsewhere it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    stops = (signal.SIGINT, signal.SIGTERM)
    before = {sig: signal.signal(sig, lambda signum, frame: came.append(signum)) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        if came:
            _deliver(came[0], before[came[0]])


def _deliver(signum: int, handler: Any) -> None:
    """Do what ``handler`` (as ``signal.signal`` returned it) does for ``signum``, now."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)  # the default action: Python's own, or the process ends


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
