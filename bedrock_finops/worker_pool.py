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

A worker that dies in the middle of the work (the kernel's out-of-memory killer sends SIGKILL,
which nothing can handle) breaks the pool, and its tasks' results raise :class:`WorkerDied`,
which says how it died and what it was doing, as its task last told :func:`working_on` (the
file it was reading): the pool itself only says "terminated abruptly".

Works with the fork, forkserver and spawn start methods: the initializer, the setup and the
task wrapper are plain module functions, and the parent is named by its pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, TypeVar

from bedrock_finops.interrupts import SIGHUP, Terminated, stops_held

T = TypeVar("T")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
WATCH_S = 0.5  # how often a watching thread asks whether the ingest is still there
NOTE_BYTES = 1024  # of what a worker is doing (``working_on``), as UTF-8, cut to fit
JOIN_S = 5.0  # how long a worker that is exiting is waited for, for its exit code

# the signals that ask a worker to stop (SIGHUP where the platform has it)
STOPS = (signal.SIGINT, signal.SIGTERM) + (() if SIGHUP is None else (SIGHUP,))

_stop_signal: int | None = None  # the signal that asked this worker to stop
_in_task = False


class WorkerDied(BrokenProcessPool):
    """A worker process ended in the middle of the pool's work without a word (killed: most
    likely by the kernel's out-of-memory killer), and the pool with it. The message says how
    it ended and what it was doing, when its task said (:func:`working_on`)."""


class _Notes:
    """What each worker is doing, one slot a worker, in memory the workers share with the
    ingest: a dead worker can no longer say, and the pool knows only that one died."""

    def __init__(self, context: BaseContext, workers: int) -> None:
        self.pids = context.RawArray(ctypes.c_long, workers)  # a slot's worker; 0: free
        self.texts = context.RawArray(ctypes.c_char, workers * NOTE_BYTES)
        self.lock = context.Lock()

    def claim(self) -> int | None:
        """(In a worker) a free slot, this process's from now on; None if none is left."""
        with self.lock:
            for slot, pid in enumerate(self.pids):
                if pid == 0:
                    self.pids[slot] = os.getpid()
                    return slot
        return None

    def write(self, slot: int, text: str) -> None:
        """(In the worker of ``slot``) ``text``, in place of what it said before. Copied whole
        (``memmove``): a slice assigned to a ctypes array is copied byte by byte."""
        data = text.encode("utf-8", "backslashreplace")[: NOTE_BYTES - 1] + b"\0"
        ctypes.memmove(ctypes.addressof(self.texts) + slot * NOTE_BYTES, data, len(data))

    def read(self, pid: int) -> str:
        """What worker ``pid`` last said it was doing ("": nothing, or no slot)."""
        for slot, owner in enumerate(self.pids):
            if owner == pid:
                text = self.texts[slot * NOTE_BYTES : (slot + 1) * NOTE_BYTES]
                return text.split(b"\0", 1)[0].decode("utf-8", "ignore")  # (a cut character)
        return ""


_notes: _Notes | None = None  # (in a worker) the pool's notes, and this worker's slot in them
_note_slot: int | None = None


class _Pool(ProcessPoolExecutor):
    """Workers are started as tasks are submitted (all at the first, under fork), so the
    stops wait while one is: a worker starts with them blocked (see :func:`init_worker`), and
    the ingest takes one once the pool is whole. Stopped between making its workers and
    starting the thread that feeds them, the pool's shutdown would leave the workers waiting
    for work, and the ingest's exit waiting for them, for ever.

    A task's future is handed on from the executor's own, with :class:`WorkerDied` for the
    executor's ``BrokenProcessPool``. It is worked out as the executor marks its futures
    broken, before it ends the other workers: the workers that have ended by then are the
    ones that died."""

    def __init__(self, notes: _Notes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._notes = notes
        self._died: WorkerDied | None = None

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with stops_held(), _stops_blocked():
            try:
                task = super().submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                raise self._worker_died() from None
        told: Future[T] = Future()
        task.add_done_callback(functools.partial(self._hand_on, told))
        return told

    def _hand_on(self, told: Future[T], task: Future[T]) -> None:
        """(A done callback, in the executor's thread) ``task``'s outcome, to ``told``."""
        if task.cancelled():
            told.cancel()
            told.set_running_or_notify_cancel()  # (wakes ``as_completed``, as the executor does)
            return
        exc = task.exception()
        if exc is None:
            told.set_result(task.result())
        else:
            told.set_exception(self._worker_died() if isinstance(exc, BrokenProcessPool) else exc)

    def _worker_died(self) -> WorkerDied:
        """The pool's one :class:`WorkerDied`, worked out the first time it is asked."""
        if self._died is None:
            processes = dict(getattr(self, "_processes", None) or {})  # (as :func:`stop`)
            self._died = WorkerDied(_death_message(_ended(processes), self._notes))
        return self._died


def _ended(processes: dict[int, BaseProcess]) -> list[tuple[int, int]]:
    """The workers of ``processes`` (by pid) that have ended other than cleanly: (pid, exit
    code). A worker's sentinel is ready as it exits, a moment before its exit code can be
    read: so each worker whose sentinel is ready is waited for (``JOIN_S`` at most)."""
    ready = set(wait([p.sentinel for p in processes.values()], timeout=0))
    ended = []
    for pid, process in processes.items():
        if process.sentinel in ready:
            process.join(JOIN_S)
            if process.exitcode:
                ended.append((pid, process.exitcode))
    return ended


def _death_message(ended: list[tuple[int, int]], notes: _Notes) -> str:
    """What happened, for ``ended``: the workers that died, (pid, exit code); one that was
    doing something it said is named first."""
    if not ended:
        return "a worker process ended unexpectedly"
    deaths = sorted(
        ((notes.read(pid), exitcode) for pid, exitcode in ended), key=lambda d: not d[0]
    )
    doing, exitcode = deaths[0]
    message = f"a worker process died ({_how_it_ended(exitcode)})"
    message += f" while {doing}" if doing else ""
    if len(deaths) > 1:
        message += f" ({len(deaths) - 1} other worker{'s' if len(deaths) > 2 else ''} too)"
    if exitcode == -getattr(signal, "SIGKILL", 9):
        message += ": give it more memory, or run fewer workers at once"
    return message


def _how_it_ended(exitcode: int) -> str:
    """A worker's end in words: ``killed by SIGKILL, ...``, ``exit code 3``."""
    if exitcode >= 0:
        return f"exit code {exitcode}"
    try:
        name = signal.Signals(-exitcode).name
    except ValueError:
        name = f"signal {-exitcode}"
    if name == "SIGKILL":
        return "killed by SIGKILL, most likely by the kernel's out-of-memory killer"
    return f"killed by {name}"


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
    context = mp_context or multiprocessing.get_context()
    notes = _Notes(context, workers)
    return _Pool(
        notes,
        max_workers=workers,
        mp_context=context,
        initializer=init_worker,
        initargs=(os.getpid(), setup, setup_args, notes),
    )


def init_worker(
    parent: int,
    setup: Callable[..., None] | None = None,
    setup_args: tuple[Any, ...] = (),
    notes: _Notes | None = None,
) -> None:
    """Each worker's start: stop requests handled as above; killed with ``parent``; a slot in
    ``notes`` for :func:`working_on`; then ``setup(*setup_args)``. The stops are let through
    only once handled here: one that came before is taken now."""
    global _notes, _note_slot
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop_requested)
    if SIGHUP is not None and signal.getsignal(SIGHUP) != signal.SIG_IGN:  # (ignored: nohup)
        signal.signal(SIGHUP, _stop_requested)
    die_with_parent(parent)
    if notes is not None:
        _notes, _note_slot = notes, notes.claim()
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
        working_on("")


def working_on(doing: str) -> None:
    """(In a task) what this worker is doing now, in words (``reading logs/a.json``): named
    by :class:`WorkerDied` if the worker dies before the next call or the end of its task.
    Nothing outside a pool's worker."""
    if _notes is not None and _note_slot is not None:
        _notes.write(_note_slot, doing)


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
