"""The optional C extensions are built wherever a C compiler and the Python headers are."""

from __future__ import annotations

import importlib

import pytest
from build_tools import can_build_extensions

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
    if can_build_extensions():  # the install had what it needs
        assert compiled, f"{module} was not built: run pip install -e . and read its log"
