"""Stopping on a signal: SIGTERM and SIGHUP are handled as Ctrl-C is, so a stopped command
cleans up.

SIGTERM is what ``kill PID``, ``timeout``, ``docker stop``, systemd and a cancelled CI job
send; SIGHUP what a closed terminal or a dropped ssh session sends. By default either ends
Python at once, with no ``finally`` run: an ingest left its worker processes running, its
partial table and its scratch copies behind. Raised instead as :class:`Terminated`, a
``KeyboardInterrupt``, it takes the way Ctrl-C takes: every cleanup that Ctrl-C runs runs, and
the command exits 128 + the signal's number, as a shell reports it (143 for SIGTERM, 129 for
SIGHUP).

A process started under ``nohup`` has SIGHUP ignored, and keeps it ignored: that is what
``nohup`` is asked for. SIGTERM is handled whatever the parent set, as before: it is how a stop
is asked for, and left ignored, ``docker stop`` or systemd would end the process with SIGKILL
after their grace period, with no cleanup.
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
SIGHUP: int | None = getattr(signal, "SIGHUP", None)  # none on Windows
# the signals that ask this process to end, where the platform has them
TERMINATING = (signal.SIGTERM,) if SIGHUP is None else (signal.SIGTERM, SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM (or SIGHUP): stop, cleaning up as for Ctrl-C."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(int(signum))  # (its args: a worker's is pickled to the parent)
        self.signum = int(signum)

    def __str__(self) -> str:
        return f"terminated ({signal.Signals(self.signum).name})"

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process the signal ended: 128 + its number."""
        return 128 + self.signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    # a second stop while the first one's cleanup runs would cut it short: it is ignored
    # (SIGKILL still ends the process; the next run removes what that leaves, see owned_folders)
    for sig in TERMINATING:
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


def _handled(sig: int) -> bool:
    """Whether this process takes ``sig`` as a stop: not when it is ignored as ``nohup`` asks."""
    return sig != SIGHUP or signal.getsignal(sig) != signal.SIG_IGN


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """Within the block, Ctrl-C, SIGTERM and SIGHUP wait: the first one that came takes effect
    (its handler runs, and raises) when the block ends.

    For a few steps that must happen all or none, such as renaming a run's files into place:
    stopped between two, an earlier run's files would be left beside this one's. Held by
    swapping the Python handlers, not by the signal mask, which holds a signal for one thread
    only (another of the process's threads would take it). Only the main thread can set
    handlers; elsewhere it does nothing. A signal ignored under ``nohup`` stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    stops = [sig for sig in (signal.SIGINT, *TERMINATING) if _handled(sig)]
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
def terminating_raises() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread
    (SIGHUP not when it is ignored: ``nohup``); the handlers before are put back after.
    Outside the main thread (no handler can be set) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, _raise_terminated) for sig in TERMINATING if _handled(sig)}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
