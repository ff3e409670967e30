"""Whether this machine could build the package's compiled parts at install."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path


def can_build_extensions() -> bool:
    """A C compiler and the Python headers are here (what the install needs to compile)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    return bool(shutil.which(compiler)) and headers.exists()
