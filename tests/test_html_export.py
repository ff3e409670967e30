"""The HTML copy of an executed notebook, shared with people who do not read code."""

from __future__ import annotations

import shutil

from bedrock_finops import runner
from bedrock_finops.notebook_exec import export_html


def test_the_html_copy_is_titled_by_the_notebooks_heading_without_code(tmp_path):
    src = runner.DEFAULT_NOTEBOOKS / "02_batch_inference.ipynb"
    shutil.copy(src, tmp_path / src.name)
    html = export_html(tmp_path / src.name).read_text()
    assert "<title>02 · Batch inference: half price for work that can wait</title>" in html
    assert "bi.plan(" not in html  # code cells are left out
