"""The parse modules compiled with Cython, used only while they match their source.

``setup.py`` compiles the modules of :data:`MODULES` (the per-record work of the ingest) into
``bedrock_finops/_compiled/`` when Cython and a C compiler are there, and records each
source's SHA-256 beside them in ``sources.json``. They are the same code as the ``.py``
files, run as C: a worker's CPU per record drops by about a seventh (``benchmarks/README.md``).

The compiled files are not next to the sources on purpose: an extension module there would
be imported in place of its ``.py``, so an edited source would silently not run until the
next build. Here a finder (:func:`install`, called as the package is imported) loads a
compiled module only while its recorded hash is the source's; an edited module runs from its
``.py`` until the next ``pip install -e .`` (``make`` does it when a source changes).

``BEDROCK_FINOPS_PURE_PYTHON=1`` turns them off: every module runs from its ``.py``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path

PACKAGE = __name__.rpartition(".")[0]
PACKAGE_DIR = Path(__file__).resolve().parent
COMPILED_DIR = PACKAGE_DIR / "_compiled"
SOURCES_FILE = "sources.json"  # module -> SHA-256 of the .py it was compiled from
OFF_VARIABLE = "BEDROCK_FINOPS_PURE_PYTHON"
MODULES = (
    "parse",
    "parse_body",
    "parse_features",
    "parse_request",
    "parse_response",
    "parse_scalars",
)


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def extension_path(compiled_dir: Path, module: str) -> Path:
    """Where the compiled ``module`` is, or would be, for this interpreter."""
    return compiled_dir / (module + importlib.machinery.EXTENSION_SUFFIXES[0])


def fresh_modules(package_dir: Path = PACKAGE_DIR, compiled_dir: Path = COMPILED_DIR) -> dict:
    """``{module: compiled file}`` of the compiled modules that match their source today."""
    try:
        recorded = json.loads((compiled_dir / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    fresh = {}
    for module in MODULES:
        built = extension_path(compiled_dir, module)
        source = package_dir / f"{module}.py"
        if not built.is_file() or not source.is_file():
            continue
        if recorded.get(module) == source_digest(source):
            fresh[module] = built
    return fresh


class _CompiledFinder(MetaPathFinder):
    """Finds ``bedrock_finops.<module>`` in its compiled file, for the fresh ones only."""

    def __init__(self, compiled: dict[str, Path]) -> None:
        self.compiled = {f"{PACKAGE}.{m}": path for m, path in compiled.items()}

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> ModuleSpec | None:
        built = self.compiled.get(fullname)
        if built is None:
            return None
        return importlib.util.spec_from_file_location(fullname, built)


_finder: _CompiledFinder | None = None


def turned_off() -> bool:
    """Whether :data:`OFF_VARIABLE` asks for every module to run from its source."""
    return os.environ.get(OFF_VARIABLE, "") not in ("", "0")


def install() -> None:
    """Load the fresh compiled modules from now on (once; not with :data:`OFF_VARIABLE`)."""
    global _finder
    if _finder is not None or turned_off():
        return
    _finder = _CompiledFinder(fresh_modules())
    sys.meta_path.insert(0, _finder)


def status() -> str:
    """In words, which parse modules run compiled (for the ingest report and benchmarks)."""
    if turned_off():
        return f"no ({OFF_VARIABLE} is set)"
    running = [m for m in MODULES if _runs_compiled(f"{PACKAGE}.{m}")]
    if len(running) == len(MODULES):
        return "yes"
    if not (COMPILED_DIR / SOURCES_FILE).exists():
        return "no (not built: Cython or a C compiler was missing at install)"
    fresh = fresh_modules()  # hashes every source: once
    stale = [m for m in MODULES if m not in fresh]
    if stale:
        return f"no for {', '.join(stale)} (changed since the build: pip install -e . again)"
    return f"{len(running)} of {len(MODULES)}"


def _runs_compiled(name: str) -> bool:
    module = importlib.import_module(name)
    return Path(getattr(module, "__file__", "") or "").parent == COMPILED_DIR
