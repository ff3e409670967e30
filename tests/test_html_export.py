"""The HTML copy of an executed notebook, shared with people who do not read code."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from ascii_locale import run_ascii

from bedrock_finops import runner
from bedrock_finops.notebook_exec import export_html


def test_the_html_copy_is_titled_by_the_notebooks_heading_without_code(tmp_path):
    src = runner.DEFAULT_NOTEBOOKS / "02_batch_inference.ipynb"
    shutil.copy(src, tmp_path / src.name)
    html = export_html(tmp_path / src.name).read_text()
    assert "<title>02 · Batch inference: half price for work that can wait</title>" in html
    assert "bi.plan(" not in html  # code cells are left out


def test_the_html_copy_is_utf8_in_a_locale_that_is_not(tmp_path):
    """nbconvert's page declares UTF-8 and holds the heading's '·' and its own bullets: on a
    C or Latin-1 locale it was written in the locale's encoding, which failed part way and
    left an empty file."""
    src = runner.DEFAULT_NOTEBOOKS / "02_batch_inference.ipynb"
    shutil.copy(src, tmp_path / src.name)
    code = "import sys; from pathlib import Path; from bedrock_finops.notebook_exec import *; "
    done = run_ascii("-c", code + "export_html(Path(sys.argv[1]))", str(tmp_path / src.name))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    html = (tmp_path / "02_batch_inference.html").read_text(encoding="utf-8")
    assert "<title>02 · Batch inference: half price for work that can wait</title>" in html
    assert '<meta charset="utf-8"' in html


def test_an_html_copy_that_cannot_be_written_leaves_no_file(tmp_path, monkeypatch):
    """A write that fails part way (a full disk) leaves neither a cut page nor an empty one."""
    src = runner.DEFAULT_NOTEBOOKS / "00_baseline.ipynb"
    shutil.copy(src, tmp_path / src.name)
    real_write = Path.write_text

    def write_half_then_fail(path: Path, text: str, *args, **kwargs) -> int:
        real_write(path, text[: len(text) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(Path, "write_text", write_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export_html(tmp_path / src.name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00_baseline.ipynb"]
