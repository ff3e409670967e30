"""The optional C extensions are built wherever a C compiler and the Python headers are."""

from __future__ import annotations

import importlib
import shutil
import sysconfig
from pathlib import Path

import pytest

from bedrock_finops import line_scan, parse_scalars, row_batch


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


COMPILED = {
    "bedrock_finops._linescan": line_scan.COMPILED,
    "bedrock_finops._rowbatch": row_batch.COMPILED,
    "bedrock_finops._timestamps": parse_scalars.COMPILED,
}


@pytest.mark.parametrize(("module", "compiled"), COMPILED.items())
def test_built_where_a_compiler_is(module, compiled):
    assert compiled is _importable(module)
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    headers = Path(sysconfig.get_paths()["include"], "Python.h")
    if shutil.which(compiler) and headers.exists():  # the install had what it needs
        assert compiled, f"{module} was not built: run pip install -e . and read its log"
