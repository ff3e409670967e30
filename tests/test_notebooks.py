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


PRICED_SPEND = re.compile(r'"([^"]*priced[^"]*spend[^"]*)"')  # a key figure's label
ALL_PRICED = "all priced spend over the period (that base), USD"  # of savings as a % of spend


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("01_model_sizing", {"all priced spend, USD", "savings, % of all priced spend"}),
        ("02_batch_inference", {"all priced spend, USD", "saving, % of all priced spend"}),
    ],
)
def test_the_base_of_the_savings_is_all_priced_spend_in_each_notebook(name, labels) -> None:
    """One name for one figure (findings.total_usd): 02 said "total priced spend" where 01
    said "all priced spend", and both "priced logged spend" beside the savings."""
    path = next(p for p in NOTEBOOKS if p.stem == name)
    checked = [c.source for c in code_cells(path) if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert {label for src in checked for label in PRICED_SPEND.findall(src)} == {
        *labels,
        ALL_PRICED,
    }


@pytest.fixture(scope="module")
def noon_window_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six days of the sample read for the 48 hours from noon UTC on its second day: records
    fill the window and touch 3 UTC calendar days."""
    from bedrock_finops import sample
    from bedrock_finops.ingest import ingest_to_folder

    work = tmp_path_factory.mktemp("noon")
    sample.generate(work / "sample", days=6, scale=0.3)
    out = work / "run"
    ingest_to_folder(
        work / "sample" / "logs", out, "2026-10-02T12:00Z", "2026-10-04T12:00Z", progress=False
    )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_divides_by_the_runs_window(path: Path, noon_window_run: Path) -> None:
    """Every notebook takes the run's period (``ctx.period``): its findings divide by the
    window's 2 days, not the 3 calendar days the records touch."""
    import json

    from bedrock_finops.notebook_exec import kernel_kwargs

    out = noon_window_run
    papermill.execute_notebook(
        str(path), str(out / path.name), parameters={"run_dir": str(out)}, cwd=str(out),
        progress_bar=False, log_output=False, **kernel_kwargs(),
    )  # fmt: skip
    shown = "".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for cell in code_cells(out / path.name)
        for o in cell.get("outputs", [])
    )
    assert "2 days long, not the 3 UTC calendar days" in shown
    findings = out / f"{path.stem}.findings.json"
    if path.stem != "00_baseline":  # the baseline prices what is, and has no findings file
        period = json.loads(findings.read_text())["period"]
        assert (period["days"], period["calendar_days"], period["rule"]) == (2, 3, "window")


@pytest.fixture(scope="module")
def one_request_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of one request on Llama 3.1 70B in us-east-1 (183 tokens in, 64 out, at
    $0.72 per 1M each): $0.00017784 of spend."""
    import pyarrow.parquet as pq
    from usage_builders import make_usage

    from bedrock_finops import schema

    usage = make_usage(
        [
            dict(
                n=1,
                app="entity-extractor",
                model="meta.llama3-1-70b-instruct",
                input_tokens=183,
                output_tokens=64,
            )
        ]
    )
    out = tmp_path_factory.mktemp("one-request")
    pq.write_table(schema.to_arrow(usage), out / "usage.parquet")
    return out


SPEND_OF_ONE_REQUEST = {
    "00_baseline": ["priced spend, USD", "meta.llama3-1-70b-instruct", "entity-extractor"],
    "01_model_sizing": ["all priced spend, USD", ALL_PRICED],
    "02_batch_inference": ["all priced spend, USD", ALL_PRICED],
}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_shows_the_spend_of_one_request(path: Path, one_request_run: Path) -> None:
    """One request's $0.00018 of spend is not zero: its key figures read 0.00 (the notebooks
    rounded them to the cent before printing)."""
    from bedrock_finops.notebook_exec import kernel_kwargs

    out = one_request_run
    papermill.execute_notebook(
        str(path), str(out / path.name), parameters={"run_dir": str(out)}, cwd=str(out),
        progress_bar=False, log_output=False, **kernel_kwargs(),
    )  # fmt: skip
    printed = [
        re.split(r"\s{2,}", line)  # a key figure's label, then its value
        for cell in code_cells(out / path.name)
        if cell.source.startswith("# NBVAL_CHECK_OUTPUT")
        for o in cell.get("outputs", [])
        for line in str(o.get("text", "")).splitlines()
    ]
    for label in SPEND_OF_ONE_REQUEST[path.stem]:
        assert [figure[1:] for figure in printed if figure[0] == label] == [["0.00018"]], label
