"""Worker processes (the ingest's, and ``run``'s notebooks'): they stop promptly when asked,
and never outlive their parent (below, "the ingest"; for a notebook, its kernel ends with the
worker: nbclient's cleanup, else the kernel's own watch on its parent).

- Asked to stop (SIGINT, which Ctrl-C sends the whole process group; SIGHUP, which a shell
  whose terminal closed sends it; SIGTERM, which :func:`stop` sends each worker), a worker
  ends the task it is running at once, raising as the parent would (``KeyboardInterrupt``,
  ``interrupts.Terminated``), and every later task before it starts. A SIGHUP ignored under
  ``nohup`` stays ignored, as in the parent. A worker starts with these signals blocked, until
  its own handlers are set: one that came sooner (the whole group's Ctrl-C or SIGHUP as the
  pool starts, or :func:`stop`) would run the handler a forked worker inherits from the
  ingest, and raise in the middle of the worker's start-up (a traceback, or a worker left
  ignoring SIGTERM).
  It is never stopped while it sends a result: a reply cut in two leaves half a message in
  the pool's result pipe, and the pool's shutdown then waits for the rest for ever (one way a
  Ctrl-C, which reaches the workers too, could hang the ingest).
- Each worker is killed when the ingest dies (see ``die_with_parent``): a SIGKILLed
  ingest, which can run no cleanup, leaves none running (they held its captured output
  open, and /dev/shm memory). Not on Windows.

What every task needs alike (the ingest's options, its app and profile maps among them) can
be given to :func:`start` as ``setup``: each worker receives it once, as it starts, and the
tasks carry only their own work.

Works with the fork, forkserver and spawn start methods: the initializer, the setup and the
task wrapper are plain module functions, and the parent is named by its pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from types import FrameType
from typing import Any, TypeVar

from bedrock_finops.interrupts import SIGHUP, Terminated, stops_held

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_S = 0.5  # how often a watching thread asks whether the ingest is still there

# the signals that ask a worker to stop (SIGHUP where the platform has it)
STOPS = (signal.SIGINT, signal.SIGTERM) + (() if SIGHUP is None else (SIGHUP,))

_stop_signal: int | None = None  # the signal that asked this worker to stop
_in_task = False


class _Pool(ProcessPoolExecutor):
    """Workers are started as tasks are submitted (all at the first, under fork), so the
    stops wait while one is: a worker starts with them blocked (see :func:`init_worker`), and
    the ingest takes one once the pool is whole. Stopped between making its workers and
    starting the thread that feeds them, the pool's shutdown would leave the workers waiting
    for work, and the ingest's exit waiting for them, for ever."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with stops_held(), _stops_blocked():
            return super().submit(fn, *args, **kwargs)


@contextlib.contextmanager
def _stops_blocked() -> Iterator[None]:
    """Within the block, the stop signals wait (for this thread; a process started in it
    inherits them blocked). Not on Windows, which has no signal mask."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def start(
    workers: int,
    mp_context: BaseContext | None = None,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes set up as above; run tasks with ``pool.submit(run_task,
    fn, ...)`` and end it early with :func:`stop`. ``setup(*setup_args)`` runs in each worker
    as it starts (a module function: under spawn and forkserver it and its arguments are
    pickled, once per worker)."""
    return _Pool(
        max_workers=workers,
        mp_context=mp_context,
        initializer=init_worker,
        initargs=(os.getpid(), setup, setup_args),
    )


def init_worker(
    parent: int, setup: Callable[..., None] | None = None, setup_args: tuple[Any, ...] = ()
) -> None:
    """Each worker's start: stop requests handled as above; killed with ``parent``; then
    ``setup(*setup_args)``. The stops are let through only once handled here: one that came
    before is taken now."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop_requested)
    if SIGHUP is not None and signal.getsignal(SIGHUP) != signal.SIG_IGN:  # (ignored: nohup)
        signal.signal(SIGHUP, _stop_requested)
    die_with_parent(parent)
    if setup is not None:
        setup(*setup_args)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)


def run_task(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker, unless the worker was asked to stop."""
    global _in_task
    _in_task = True
    try:
        if _stop_signal is not None:
            raise _stopped(_stop_signal)
        return fn(*args)
    finally:
        _in_task = False


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    global _stop_signal
    _stop_signal = signum
    if _in_task:  # else it waits for work, or sends a result: the shutdown ends it
        raise _stopped(signum)


def _stopped(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


def stop(pool: ProcessPoolExecutor) -> None:
    """End ``pool`` now: tasks not started are cancelled, running ones asked to stop; returns
    once every worker has exited.

    (The executor gives no public access to its workers' pids; ``_processes`` has held them
    since Python 3.2. Without it the running tasks finish first.)
    """
    if os.name == "posix":
        for pid in list(getattr(pool, "_processes", None) or ()):
            with contextlib.suppress(OSError):  # exited already
                os.kill(pid, signal.SIGTERM)
    pool.shutdown(wait=True, cancel_futures=True)


def die_with_parent(parent: int) -> None:
    """Have this worker killed when ``parent`` (the ingest) dies; exit now if it is gone.

    On Linux, by the kernel (``PR_SET_PDEATHSIG``) when the ingest started it (fork, spawn).
    Under forkserver its parent is the fork server, which would never exit: it waits for
    every process holding its pipe, workers too. So there, and where ``prctl`` is missing,
    a thread watches the ingest instead. Not on Windows."""
    if os.name != "posix":
        return
    if os.getppid() == parent and _kernel_kills_with_parent():
        # it died before the request was made, and no signal comes: this worker has been
        # handed to another parent (``alive`` would not tell: until reaped, it still exists)
        if os.getppid() != parent:
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _kernel_kills_with_parent() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    """(A worker's thread) kill this process once ``parent`` has exited."""
    try:
        fd = os.pidfd_open(parent)  # Linux 5.3+: readable once the process exits
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while alive(parent):
            time.sleep(WATCH_S)
    os.kill(os.getpid(), signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether a process with this pid exists here (one of another user's counts). Outside
    POSIX it cannot be asked safely (Windows' ``os.kill`` ends the process): True."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
