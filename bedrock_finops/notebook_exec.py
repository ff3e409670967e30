"""Running one notebook headless: a kernel on local sockets, papermill, and an HTML copy.

The run (``runner``) sends each notebook here in a worker process; ``refresh_notebooks`` uses
the same kernel manager to re-execute the committed notebooks in place.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

MAX_SOCKET_PATH = 103  # a Unix-domain socket path holds ~104 bytes on macOS, 108 on Linux


def kernel_manager_class() -> type | None:
    """The kernel manager notebooks run under: local IPC sockets where the OS has them.

    Over TCP, each kernel warns that its traffic is unencrypted. The kernels here are local
    children, so Unix-domain sockets (``transport="ipc"``) are the fitting channel and keep
    the run log free of that warning. None (the default TCP manager) elsewhere.
    """
    if os.name != "posix":
        return None
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir

    class IpcKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            # one socket path per kernel: the default ("kernel-ipc" in the working folder)
            # would make kernels started side by side share their sockets
            ip = socket_path(Path(jupyter_runtime_dir()))
            if ip is not None:  # else stay on TCP
                kwargs.setdefault("transport", "ipc")
                kwargs.setdefault("ip", ip)
            super().__init__(**kwargs)

    return IpcKernelManager


def socket_path(runtime: Path) -> str | None:
    """A new kernel's socket path (its ports are appended): in Jupyter's runtime folder, else in
    a private folder of this user's in the temp folder, else None (TCP).

    The runtime folder is under the home folder, which a scheduled run may not be able to
    write (systemd's ``ProtectHome=read-only``, cron's ``HOME=/nonexistent``, a read-only
    container root): the kernel could not start, and every notebook failed. A folder is passed
    over too when the socket path in it would be too long for a Unix-domain socket."""
    name = f"bedrock-finops-{uuid.uuid4().hex[:12]}"
    for folder in (runtime, private_temp_folder()):
        if len(str(folder / name)) + len("-65535") > MAX_SOCKET_PATH:
            continue
        if _writable_folder(folder) and (folder == runtime or _private(folder)):
            return str(folder / name)
    return None


def writable_ipython_folder() -> None:
    """Point ``IPYTHONDIR`` (unless set) at a folder in :func:`private_temp_folder` when the
    home folder's ``.ipython`` cannot be made or written: each kernel, each worker, otherwise
    warns "IPython parent ... is not a writable location" on stderr (which a schedule mails as
    an error) and leaves a new temp folder behind. Kernels and workers inherit it."""
    if os.environ.get("IPYTHONDIR"):
        return
    home = os.path.expanduser("~")
    if home != "~" and _writable_folder(Path(home) / ".ipython"):
        return
    private = private_temp_folder()
    if _writable_folder(private) and _private(private):
        os.environ["IPYTHONDIR"] = str(private / "ipython")


def private_temp_folder() -> Path:
    """This user's folder for kernel sockets in the temp folder (made readable by it alone)."""
    return Path(tempfile.gettempdir()) / f"bedrock-finops-kernels-{os.geteuid()}"


def _writable_folder(folder: Path) -> bool:
    """Whether ``folder`` is there, made if need be (this user's only), and can be written."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:  # a read-only file system, a home folder that does not exist
        return False
    return os.access(folder, os.W_OK | os.X_OK)  # made before, on a file system now read-only


def _private(folder: Path) -> bool:
    """A real folder (not a link) of this user's that no one else can enter: in a shared temp
    folder, one another user made first under this name is not taken."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077


# jupyter_client interrupts (SIGINT) every kernel as it shuts it down. When that lands while
# the kernel is still in a message handler, ipykernel logs "KeyboardInterrupt caught in
# kernel." at ERROR: alarming noise in the run log about nothing. A cell's error reaches the
# run through the notebook (papermill), and a dead kernel as an exception, not through this log.
QUIET_KERNEL_LOG = "--IPKernelApp.log_level=CRITICAL"


def kernel_kwargs() -> dict[str, Any]:
    """What papermill and nbclient take to start kernels: quiet logs, the manager above."""
    manager = kernel_manager_class()
    kwargs: dict[str, Any] = {"extra_arguments": [QUIET_KERNEL_LOG]}
    if manager is not None:
        kwargs["kernel_manager_class"] = manager
    return kwargs


def execute_notebook(
    src: str, dest: str, parameters: dict[str, Any], cwd: str
) -> tuple[str, float, str | None]:
    """Run one notebook with papermill (in a worker process). Returns (status, seconds, error)."""
    import papermill

    started = time.perf_counter()
    try:
        papermill.execute_notebook(
            src,
            dest,
            parameters=parameters,
            cwd=cwd,
            progress_bar=False,
            kernel_name="python3",
            log_output=False,
            **kernel_kwargs(),
        )
        return "ok", time.perf_counter() - started, None
    except Exception as exc:  # papermill saves the notebook with its error cell first
        text = str(exc).strip().splitlines()
        summary = next((ln for ln in reversed(text) if ln.strip()), repr(exc))
        return "failed", time.perf_counter() - started, _strip_ansi(summary)[:500]


def export_html(notebook_path: Path) -> Path:
    """An HTML copy without code cells, for sharing with people who do not read code."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    nb = nbformat.read(notebook_path, as_version=4)
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": _title(nb, notebook_path)}}
    )
    dest = notebook_path.with_suffix(".html")
    write_whole(dest, body)
    return dest


def write_whole(dest: Path, text: str) -> None:
    """``text`` into ``dest`` as UTF-8 (an HTML page declares UTF-8 whatever the locale), whole
    or not at all: it is written beside ``dest`` and renamed into place, so a failure part way
    (a full disk) leaves no cut or empty file behind, and its error names ``dest``."""
    partial = dest.with_name(f".{dest.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, dest)
    except OSError as exc:  # named by ``dest`` (a failed write names no file at all)
        if exc.filename in (None, str(partial)):
            raise OSError(exc.errno, exc.strerror, str(dest)) from exc
        raise
    finally:
        partial.unlink(missing_ok=True)


def _title(nb: Any, path: Path) -> str:
    """The page title: the notebook's first heading ("02 · Batch inference: ..."), else its
    file name (nbconvert would call every page "Notebook")."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)
