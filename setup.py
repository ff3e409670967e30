"""The optional compiled parts; everything else about the package is in pyproject.toml.

- Three C extensions, built when a C compiler and the Python headers are present. Each has a
  pure-Python twin next to it (``line_scan.py``, ``row_batch.py``, ``parse_scalars.py``) that
  gives the same results, more slowly.
- The parse modules (``bedrock_finops.compiled.MODULES``) compiled as they stand by Cython
  into ``bedrock_finops/_compiled/``, with each source's SHA-256 in ``sources.json``:
  ``bedrock_finops/compiled.py`` loads them in place of the ``.py`` files while the hashes
  match.

``optional=True`` throughout: when a build fails, the install still succeeds and the code
runs from its Python source.
"""

from __future__ import annotations

import hashlib
import json
import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
PACKAGE = "bedrock_finops"
COMPILED = "_compiled"  # as bedrock_finops/compiled.py names it


def _compiled_modules() -> tuple[str, ...]:
    """``compiled.MODULES``, read without importing the package (its imports need more)."""
    return runpy.run_path(str(HERE / PACKAGE / "compiled.py"))["MODULES"]


def _digest(module: str) -> str:
    return hashlib.sha256((HERE / PACKAGE / f"{module}.py").read_bytes()).hexdigest()


def _cython_extensions() -> tuple[list[Extension], dict[str, str]]:
    """The parse modules as extensions of ``bedrock_finops._compiled``, and the digest of each
    source compiled; none when Cython is missing or cannot translate them."""
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("Cython is missing: the parse modules stay pure Python", file=sys.stderr)
        return [], {}
    modules = _compiled_modules()
    digests = {m: _digest(m) for m in modules}  # before translating: what the C is made of
    try:
        # translated under their own names (the names their classes and functions carry,
        # which pickling looks up), then built as modules of the _compiled folder
        translated = cythonize(
            [Extension(f"{PACKAGE}.{m}", [f"{PACKAGE}/{m}.py"]) for m in modules],
            build_dir="build/cython",
            quiet=True,
            compiler_directives={
                "language_level": 3,
                "annotation_typing": False,  # type hints stay hints: Python's semantics
                "binding": True,  # functions keep Python's introspection
            },
        )
    except Exception as exc:  # noqa: BLE001 - any failure leaves the pure-Python modules
        print(f"Cython could not translate the parse modules ({exc})", file=sys.stderr)
        return [], {}
    built = [
        Extension(
            f"{PACKAGE}.{COMPILED}.{ext.name.rpartition('.')[2]}",
            ext.sources,
            include_dirs=ext.include_dirs,
            define_macros=ext.define_macros,
            optional=True,
        )
        for ext in translated
    ]
    return built, digests


class BuildExt(build_ext):
    """``build_ext`` that records, beside the compiled parse modules, the sources they match."""

    digests: dict[str, str] = {}

    def build_extension(self, ext: Extension) -> None:
        super().build_extension(ext)  # raises on failure, also when optional (caught above)
        prefix = f"{PACKAGE}.{COMPILED}."
        if ext.name.startswith(prefix):
            module = ext.name.removeprefix(prefix)
            self._built[module] = self.digests[module]
            self._where = Path(self.get_ext_fullpath(ext.name)).parent

    def run(self) -> None:
        self._built: dict[str, str] = {}
        self._where: Path | None = None
        if self.inplace and self.digests:  # the folder the compiled modules are copied to
            (HERE / PACKAGE / COMPILED).mkdir(exist_ok=True)
        super().run()
        if self._where is None:
            return
        self._record(self._where)
        if self.inplace:  # setuptools copies the modules back into the source folder
            self._record(HERE / PACKAGE / COMPILED)

    def _record(self, folder: Path) -> None:
        (folder / "sources.json").write_text(
            json.dumps(self._built, indent=1, sort_keys=True), encoding="utf-8"
        )


cython_extensions, BuildExt.digests = _cython_extensions()
setup(
    ext_modules=[
        Extension("bedrock_finops._linescan", ["bedrock_finops/_linescan.c"], optional=True),
        Extension("bedrock_finops._rowbatch", ["bedrock_finops/_rowbatch.c"], optional=True),
        Extension("bedrock_finops._timestamps", ["bedrock_finops/_timestamps.c"], optional=True),
        *cython_extensions,
    ],
    cmdclass={"build_ext": BuildExt},
)
