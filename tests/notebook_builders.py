"""Small notebooks for runner and params tests: a parameters cell plus code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat


def make_notebook(path: Path, parameters: str, *cells: str) -> Path:
    """Write a notebook whose first code cell (tagged ``parameters``) is ``parameters``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(src) for src in cells)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path
