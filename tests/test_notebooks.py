"""Every committed notebook follows the conventions the runner and nbval rely on."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
COMMON = ["run_dir", "price_sheet", "price_overrides", "discount_pct", "show_prompt_text"]
PARAM_LINE = re.compile(r"^(\w+)\s*:\s*(\w+)\s*=\s*.+?\s{2}#\s*\S")


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_there_are_notebooks() -> None:
    names = [p.stem for p in NOTEBOOKS]
    assert {"00_baseline", "01_model_sizing", "02_batch_inference"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_is_first_and_fully_parsed(path: Path) -> None:
    first = code_cells(path)[0]
    assert "parameters" in first.metadata.get("tags", []), "first code cell must be tagged"
    declared = papermill.inspect_notebook(str(path))
    lines = [ln for ln in first.source.splitlines() if ln.strip()]
    for line in lines:
        m = PARAM_LINE.match(line)
        assert m, f"{path.name}: parameter line not in 'name: type = default  # help' form: {line}"
        assert m[1] in declared, f"{path.name}: papermill cannot parse {line!r}"
    assert list(declared)[: len(COMMON)] == COMMON


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_thin_checked_and_stored_with_outputs(path: Path) -> None:
    cells = code_cells(path)
    for cell in cells:
        assert not re.search(r"^\s*(def|class)\s", cell.source, re.M), (
            "logic belongs in the package"
        )
        assert "injected-parameters" not in cell.metadata.get("tags", [])
    checked = [c for c in cells if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert checked, "key figures must be printed in '# NBVAL_CHECK_OUTPUT' cells"
    assert all(c.get("outputs") for c in checked), "stored without outputs: run `make notebooks`"
    assert not any(o.get("output_type") == "error" for c in cells for o in c.get("outputs", [])), (
        "stored outputs hold an error"
    )
