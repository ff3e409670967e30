"""Running Python as on a terminal that is not UTF-8: ``LC_ALL=C`` with UTF-8 mode off.

Python turns UTF-8 mode on by itself in the C locale (PEP 540), so ``PYTHONUTF8=0`` is what
makes it write files and stdout in ASCII there; :func:`run_ascii` checks that it does before
running anything, so a test that passes under it says something.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import codecs, locale, sys; print(codecs.lookup(locale.getpreferredencoding(False)).name,"
    " codecs.lookup(sys.stdout.encoding).name, sys.flags.utf8_mode)"
)
LOCALE_VARS = ("LANG", "LANGUAGE", "PYTHONIOENCODING", "PYTHONUTF8")


def ascii_env() -> dict[str, str]:
    """This environment in the C locale, UTF-8 mode off, the project and tests importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_") and k not in LOCALE_VARS}
    paths = [str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")]
    env.update(LC_ALL="C", PYTHONUTF8="0", PYTHONPATH=os.pathsep.join(p for p in paths if p))
    return env


def run_ascii(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """``python *args`` under the C locale, once Python is seen to use ASCII there for files
    and stdout; stdout and stderr are returned as bytes."""
    env = ascii_env()
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == ["ascii", "ascii", "0"], probe.stdout
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, **kwargs)
