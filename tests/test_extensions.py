"""The optional C extensions are built wherever a C compiler is, and say which code runs."""

from __future__ import annotations

import importlib
import shutil
import sysconfig

import pytest

from bedrock_finops import line_scan, row_batch


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    ("module", "twin"),
    [("bedrock_finops._linescan", line_scan), ("bedrock_finops._rowbatch", row_batch)],
)
def test_built_where_a_compiler_is(module, twin):
    assert twin.COMPILED is _importable(module)
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler):  # not silently missing: the install had what it needs
        assert twin.COMPILED, f"{module} was not built: run pip install -e . and read its log"
