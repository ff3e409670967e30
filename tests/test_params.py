"""Params files are validated against the notebooks' parameters cells before any work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from notebook_builders import make_notebook

from bedrock_finops import params


@pytest.fixture
def notebooks(tmp_path: Path) -> dict[str, Path]:
    common = 'run_dir: str = ""  # run\nprice_sheet: str = "current"  # sheet\n'
    return {
        "00_a": make_notebook(
            tmp_path / "00_a.ipynb", common + "top_n: int = 10  # rows\n", "print(run_dir)"
        ),
        "01_b": make_notebook(
            tmp_path / "01_b.ipynb",
            common + "threshold: float = 0.9  # gate\nforce: list = []  # x\n",
        ),
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_valid_file_routes_common_and_sections(tmp_path, notebooks) -> None:
    p = write(
        tmp_path,
        "run:\n  source: ./logs\n  start: '2026-10-01'\ncommon:\n  price_sheet: seed\n"
        "00_a:\n  top_n: 5\n01_b:\n  threshold: 1\n  force: [x]\n",
    )
    rp = params.load(p, notebooks)
    assert rp.run["source"] == "./logs"
    assert rp.run["start"] == dt.date(2026, 10, 1)
    assert rp.run["end"] is None
    declared = params.notebook_parameters(notebooks["00_a"])
    assert rp.for_notebook("00_a", declared) == {"price_sheet": "seed", "top_n": 5}
    declared_b = params.notebook_parameters(notebooks["01_b"])
    assert rp.for_notebook("01_b", declared_b) == {
        "price_sheet": "seed",
        "threshold": 1,
        "force": ["x"],
    }


def test_typo_in_notebook_section_names_key_file_and_choices(tmp_path, notebooks) -> None:
    p = write(tmp_path, "00_a:\n  topn: 5\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, notebooks)
    msg = str(err.value)
    assert str(p) in msg and "'topn'" in msg
    assert "price_sheet, top_n" in msg and "did you mean 'top_n'" in msg


def test_unknown_section_and_run_key(tmp_path, notebooks) -> None:
    with pytest.raises(
        params.ParamsError, match=r"unknown section '02_c'.*run, common, 00_a, 01_b"
    ):
        params.load(write(tmp_path, "02_c: {}\n"), notebooks)
    with pytest.raises(params.ParamsError, match=r"unknown key run.sorce.*did you mean 'source'"):
        params.load(write(tmp_path, "run:\n  sorce: x\n"), notebooks)


def test_wrong_types_are_refused(tmp_path, notebooks) -> None:
    with pytest.raises(params.ParamsError, match=r"top_n must be int, got str 'ten' \(rows\)"):
        params.load(write(tmp_path, "00_a:\n  top_n: ten\n"), notebooks)
    with pytest.raises(params.ParamsError, match=r"top_n must be int, got bool"):
        params.load(write(tmp_path, "00_a:\n  top_n: true\n"), notebooks)
    with pytest.raises(params.ParamsError, match=r"run.start must be a date"):
        params.load(write(tmp_path, "run:\n  start: yesterday\n"), notebooks)
    with pytest.raises(params.ParamsError, match=r"run.cost_explorer must be bool"):
        params.load(write(tmp_path, "run:\n  cost_explorer: 'yes'\n"), notebooks)


def test_runner_owned_parameter_cannot_be_set(tmp_path, notebooks) -> None:
    with pytest.raises(params.ParamsError, match="run_dir is set by the runner"):
        params.load(write(tmp_path, "00_a:\n  run_dir: /tmp\n"), notebooks)


def test_missing_or_invalid_file(tmp_path, notebooks) -> None:
    with pytest.raises(params.ParamsError, match="does not exist"):
        params.load(tmp_path / "nope.yaml", notebooks)
    with pytest.raises(params.ParamsError, match="not valid YAML"):
        params.load(write(tmp_path, "run: [unclosed\n"), notebooks)


def test_default_params_file_is_valid_for_the_project_notebooks() -> None:
    from bedrock_finops.runner import DEFAULT_NOTEBOOKS, discover_notebooks

    root = Path(__file__).resolve().parents[1]
    rp = params.load(root / "params" / "default.yaml", discover_notebooks(DEFAULT_NOTEBOOKS))
    assert rp.run["source"] == "sample"
    for example in sorted((root / "params" / "examples").glob("*.yaml")):
        params.load(example, discover_notebooks(DEFAULT_NOTEBOOKS))


def test_default_params_are_the_notebooks_own_defaults() -> None:
    """``make run`` (params/default.yaml) and the committed notebooks (their own defaults,
    which nbval checks) must show the same sample: every value in the file is the
    notebook's default."""
    import ast

    import yaml

    from bedrock_finops.runner import DEFAULT_NOTEBOOKS, discover_notebooks

    root = Path(__file__).resolve().parents[1]
    values = yaml.safe_load((root / "params" / "default.yaml").read_text())
    checked = 0
    for name, path in discover_notebooks(DEFAULT_NOTEBOOKS).items():
        declared = params.notebook_parameters(path)
        section = {**(values.get("common") or {}), **(values.get(name) or {})}
        for key, value in section.items():
            if key in declared:
                assert ast.literal_eval(declared[key]["default"]) == value, (name, key)
                checked += 1
    assert checked >= 30


def test_batch_export_defaults_are_the_batch_notebooks() -> None:
    """``batch-export`` on a run without a manifest falls back to the notebook's defaults."""
    import ast

    from bedrock_finops.batch_jobs import _NOTEBOOK_DEFAULTS
    from bedrock_finops.runner import DEFAULT_NOTEBOOKS

    declared = params.notebook_parameters(DEFAULT_NOTEBOOKS / "02_batch_inference.ipynb")
    assert {k: ast.literal_eval(declared[k]["default"]) for k in _NOTEBOOK_DEFAULTS} == (
        _NOTEBOOK_DEFAULTS
    )
