"""``bedrock-finops run`` refuses what it can check before any work (no run folder is made),
and a run that fails after its folder is made says so in its manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from alias_files import bound_passed, nested_aliases
from notebook_builders import make_notebook

from bedrock_finops import cli, run_checks, runner
from bedrock_finops.ingest import IngestError
from bedrock_finops.sources.cur import BillingFormatError

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "fixtures" / "logs" / "good"
CREDENTIALS_FIX = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), run `aws configure`, "
    "or use an instance role"
)


def refused(tmp_path: Path, params: Path, capsys, *args: str) -> str:
    """The one ``error:`` line ``run`` prints, having checked it exits 2 and makes no folder."""
    out = tmp_path / "out"
    assert cli.main(["run", "--params", str(params), "--out", str(out), *args]) == 2
    captured = capsys.readouterr()
    assert not out.exists(), "a refused run made a run folder"
    assert "ingesting" not in captured.out
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0].removeprefix("error: ")


BAD_VALUES = [
    (
        "02_batch_inference:\n  business_time_zone: PST",
        "02_batch_inference.business_time_zone",
        "'PST' is not an IANA time zone name; use one such as 'UTC', 'America/New_York', "
        "'America/Los_Angeles' or 'Europe/Berlin'",
    ),
    (
        "02_batch_inference:\n  business_time_zone: America/LosAngeles",
        "02_batch_inference.business_time_zone",
        "did you mean 'America/Los_Angeles'?",
    ),
    (
        "02_batch_inference:\n  business_hours: [9, 25]",
        "02_batch_inference.business_hours",
        "business_hours [9, 25] must be [start, end) with start 0-23 and end 1-24",
    ),
    (
        "02_batch_inference:\n  threshold: 6",
        "02_batch_inference.threshold",
        "threshold 6.0 must be in [0, 1] (a weighted score)",
    ),
    (
        "01_model_sizing:\n  min_confidence: hi",
        "01_model_sizing.min_confidence",
        "min_confidence 'hi' must be one of ['low', 'medium', 'high']",
    ),
    (
        "01_model_sizing:\n  task_overrides: {support-bot: clasification}",
        "01_model_sizing.task_overrides",
        "unknown task types {'support-bot': 'clasification'}; valid task types: "
        "['classification', ",
    ),
    (
        "common:\n  discount_pct: 150",
        "common.discount_pct",
        "discount_pct 150 is not a percentage in [0, 100): give the negotiated discount",
    ),
    (
        "common:\n  price_sheet: prices-2025.csv",
        "common.price_sheet",
        "price sheet 'prices-2025.csv' not found: use 'current', 'seed' or a CSV path",
    ),
    (
        "01_model_sizing:\n  eval_results: scores.csv",
        "01_model_sizing.eval_results",
        "eval_results file scores.csv not found; write one with `bedrock-finops eval-sample",
    ),
]


@pytest.mark.parametrize(("section", "key_path", "problem"), BAD_VALUES)
def test_a_bad_value_is_refused_before_any_work(
    tmp_path, monkeypatch, capsys, section, key_path, problem
) -> None:
    monkeypatch.chdir(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n{section}\n")
    error = refused(tmp_path, params, capsys)
    assert error.startswith(f"{params}: {key_path}: ")
    assert problem in error


def test_the_local_copy_example_names_its_missing_overrides_file(
    tmp_path, monkeypatch, capsys
) -> None:
    """params/examples/local_copy.yaml, run where ./logs exists but the overrides CSV it names
    does not: refused before the ingest, naming the key, the path and the fix."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(GOOD, tmp_path / "logs")
    example = ROOT / "params" / "examples" / "local_copy.yaml"
    error = refused(tmp_path, example, capsys)
    assert error == (
        f"{example}: common.price_overrides: price overrides file './my-private-prices.csv' "
        "not found: give an existing CSV of your negotiated prices (the sheet's columns, a "
        "subset is fine; see docs/pricing.md)"
    )


def test_a_sheet_or_overrides_file_the_catalog_cannot_read_is_refused_before_any_work(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sheet.csv").write_text("model,input_per_1k\nx,0.001\n")
    (tmp_path / "mine.csv").write_text(
        "model,region,geo,service_tier,input_per_1k\nx,us-east-1,none,default,cheap\n"
    )
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\ncommon:\n  price_sheet: sheet.csv\n")
    assert refused(tmp_path, params, capsys).startswith(
        f"{params}: common.price_sheet: price sheet sheet.csv lacks key columns "
        "['region', 'geo', 'service_tier']; a sheet needs model, region"
    )
    params.write_text(
        f"run:\n  source: {GOOD}\ncommon:\n  price_overrides: mine.csv\n"
        "02_batch_inference:\n  price_sheet: seed\n"
    )
    assert refused(tmp_path, params, capsys) == (
        f"{params}: common.price_overrides: price sheet override: mine.csv: column "
        "input_per_1k has non-numeric values ['cheap']; use a number, or leave it empty for "
        "'not offered'"
    )


def test_a_missing_log_folder_is_refused_before_any_work(tmp_path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {tmp_path / 'no-such-logs'}\n")
    error = refused(tmp_path, params, capsys)
    assert error.startswith(
        f"{params}: run.source: log folder {tmp_path / 'no-such-logs'} does not exist; "
        "pass the folder that holds AWSLogs/..."
    )


def test_a_missing_billing_export_is_refused_before_any_work(tmp_path, capsys) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n  cur: {tmp_path / 'cur.parquet'}\n")
    error = refused(tmp_path, params, capsys)
    assert error == f"{params}: run.cur: billing export not found: {tmp_path / 'cur.parquet'}"


def test_an_export_with_two_deliveries_of_a_period_is_refused_before_any_work(
    tmp_path, capsys
) -> None:
    """Two refreshes of one month kept side by side and no manifest naming the latest: summed
    they would bill the month twice, so the run is refused, naming them, before any work."""
    period = tmp_path / "bedrock-cur" / "data" / "BILLING_PERIOD=2026-03"
    for execution in ("20260302T0615Z-4a1c", "20260303T0609Z-9f2e"):
        (period / execution).mkdir(parents=True)
        shutil.copy(ROOT / "tests/fixtures/billing/cur2.parquet", period / execution / "x.parquet")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n  cur: {tmp_path / 'bedrock-cur'}\n")
    error = refused(tmp_path, params, capsys)
    assert error.startswith(f"{params}: run.cur: {period.resolve()} holds 2 deliveries")
    assert "(20260302T0615Z-4a1c, 20260303T0609Z-9f2e)" in error


def test_an_aws_source_without_credentials_is_refused_before_any_work(
    tmp_path, capsys, no_aws_credentials
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("run:\n  source: s3://acme-bedrock-logs/team-a\n")
    error = refused(tmp_path, params, capsys)
    assert error == (
        f"{params}: run.source: reading s3://acme-bedrock-logs/team-a needs AWS credentials "
        f"and none were found; {CREDENTIALS_FIX}"
    )


def latest_run(out: Path) -> Path:
    """An earlier good run, that ``outputs/latest`` points at."""
    (out / "2026-10-01").mkdir(parents=True)
    (out / "latest").symlink_to("2026-10-01")
    return out / "2026-10-01"


def test_an_ingest_failure_is_recorded_and_latest_kept(tmp_path: Path) -> None:
    """A log folder that holds no logs fails in the ingest, after the folder is made: the
    folder stays as the record (manifest failed, with the stage and the reason) and
    ``latest`` still points at the last good run."""
    out = tmp_path / "out"
    good = latest_run(out)
    (tmp_path / "empty").mkdir()
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {tmp_path / 'empty'}\n")
    logs: list[str] = []
    with pytest.raises(IngestError, match="no invocation log files"):
        runner.run(params, out_root=out, log=lambda msg: None, log_error=logs.append)
    (run_dir,) = [p for p in out.iterdir() if p.name not in ("2026-10-01", "latest")]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"].startswith("ingest: no invocation log files (.json, .jsonl")
    assert manifest["price_sheet"]["sheet"] == "current"
    assert logs[-1] == f"run failed during ingest; recorded in {run_dir / 'manifest.json'}"
    assert (out / "latest").resolve() == good.resolve()


def test_a_billing_failure_is_recorded_not_left_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = latest_run(out)
    cur = tmp_path / "cur.csv"
    cur.write_text("line_item_usage_start_date,cost\n2025-06-02,1.0\n")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n  cur: {cur}\n")
    with pytest.raises(BillingFormatError, match="CUR export lacks column"):
        runner.run(params, out_root=out, log=lambda *_: None)
    (run_dir,) = [p for p in out.iterdir() if p.name not in ("2026-10-01", "latest")]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"].startswith(f"billing: {cur}: CUR export lacks column(s)")
    assert manifest["ingest"]["rows"] == 12 and manifest["notebooks"] == {}
    assert (out / "latest").resolve() == good.resolve()


@pytest.mark.slow
def test_relative_paths_are_read_from_where_the_run_starts(tmp_path, monkeypatch) -> None:
    """Notebooks run inside the run folder; a relative overrides path in the params file still
    means the file beside the user, as the up-front check read it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.csv").write_text(
        "model,region,geo,service_tier,input_per_1k\n"
        "anthropic.claude-sonnet-4,us-east-1,none,default,0.0025\n"
    )
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\ncommon:\n  price_overrides: ./mine.csv\n")
    code, run_dir = runner.run(
        params, out_root="out", only=["00_baseline"], html=False, log=lambda *_: None
    )
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert code == 0, manifest["notebooks"]["00_baseline"]["error"]
    assert manifest["price_sheet"]["overrides"] == str(tmp_path / "mine.csv")
    # recorded as the notebooks read it, so batch-export run elsewhere reads the same file
    assert manifest["params"]["common"]["price_overrides"] == str(tmp_path / "mine.csv")


def test_a_force_in_item_that_is_not_a_name_is_refused_before_any_work(tmp_path, capsys) -> None:
    """``force_in: [[a, b], {x: 1}, 3]`` passed the file's checks: the run made its folder,
    ingested, and the notebook failed on it."""
    params = tmp_path / "params.yaml"
    params.write_text(
        f"run:\n  source: {GOOD}\n02_batch_inference:\n  force_in: [[a, b], {{x: 1}}, 3]\n"
    )
    assert refused(tmp_path, params, capsys) == (
        f"{params}: 02_batch_inference.force_in: force_in[0] is a list (['a', 'b']), not an app "
        "or segment id; give each as an item of force_in itself, not a list in it: force_in: "
        "[support, nightly-etl]"
    )


def test_nested_aliases_are_refused_before_any_work(tmp_path, capsys) -> None:
    """353 bytes standing for 10**6 strings in force_in: the run made its folder, ingested, and
    failed in the notebook; with 10**9 (506 bytes) it ran out of memory building its manifest
    (a MemoryError traceback, the folder left empty)."""
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n" + nested_aliases(6))
    assert refused(tmp_path, params, capsys) == f"{params}: {bound_passed(283, line=4)}"


def test_an_impossible_date_is_one_error_line(tmp_path, capsys) -> None:
    """``end: 2026-11-31`` unquoted: YAML's own date reading failed with a traceback (exit 1)."""
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n  start: 2026-11-01\n  end: 2026-11-31\n")
    assert refused(tmp_path, params, capsys) == (
        f"{params}: run.end must be a date YYYY-MM-DD, got '2026-11-31' (day is out of range "
        "for month)"
    )


def test_a_key_left_blank_is_refused_before_any_work(tmp_path, capsys) -> None:
    """``discount_pct:`` with no value: papermill injected None and the notebooks failed after
    the ingest."""
    params = tmp_path / "params.yaml"
    params.write_text(
        f"run:\n  source: {GOOD}\ncommon:\n  discount_pct:\n02_batch_inference:\n  timeout_hours:\n"
    )
    assert refused(tmp_path, params, capsys) == (
        f"{params}: common.discount_pct: no value (YAML reads a key left blank as null); give "
        "a value, or remove the key to keep the default (0.0)"
    )


@pytest.mark.parametrize(
    ("common", "key_path", "problem"),
    [
        (
            "business_time_zone: America/NewYork",
            "common.business_time_zone",
            "did you mean 'America/New_York'?",
        ),
        ("top_n: 0", "common.top_n", "top_n 0 must be a positive whole number of table rows"),
        (
            "eval_results: scores.csv",
            "common.eval_results",
            "eval_results file scores.csv not found; write one with `bedrock-finops eval-sample",
        ),
    ],
)
def test_a_bad_value_in_common_is_refused_before_any_work(
    tmp_path, monkeypatch, capsys, common, key_path, problem
) -> None:
    """A value ``common`` gives the notebooks passed unchecked: the run made its folder and
    ingested, then notebook 02 failed on the time zone, and top_n 0 gave empty tables."""
    monkeypatch.chdir(tmp_path)
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\ncommon:\n  {common}\n")
    error = refused(tmp_path, params, capsys)
    assert error.startswith(f"{params}: {key_path}: ")
    assert problem in error


def test_only_runs_the_named_notebooks_of_a_file_for_all(tmp_path, capsys) -> None:
    """``--only`` with a params file that has every notebook's section (params/default.yaml):
    the file is read against all the notebooks in the folder, the named ones run. The others'
    sections were refused as unknown."""
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    cell = 'run_dir: str = ""  # run folder\n'
    make_notebook(nbs / "00_a.ipynb", cell + "top_n: int = 10  # rows", "print(top_n)")
    make_notebook(nbs / "01_b.ipynb", cell + "limit: int = 5  # rows", "raise RuntimeError()")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n00_a:\n  top_n: 3\n01_b:\n  limit: 2\n")
    code, run_dir = runner.run(
        params, only=["00_a"], out_root=tmp_path / "out", notebooks_dir=nbs, html=False,
        log=lambda *_: None,
    )  # fmt: skip
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (code, list(manifest["notebooks"])) == (0, ["00_a"])
    shutil.rmtree(tmp_path / "out")
    params.write_text(f"run:\n  source: {GOOD}\n01_b:\n  limt: 2\n")  # a section not run
    error = refused(tmp_path, params, capsys, "--only", "00_a", "--notebooks", str(nbs))
    assert error == (
        f"{params}: 01_b: unknown parameter 'limt'; valid parameters: limit (did you mean 'limit'?)"
    )


def test_every_path_parameter_is_read_from_the_working_directory(tmp_path, monkeypatch) -> None:
    """The notebooks run inside the run folder: each path they are given is made absolute
    from where the run starts; a bundled sheet stays a name."""
    monkeypatch.chdir(tmp_path)
    values = {"price_sheet": "current", "export_dir": "my_jobs", "eval_results": "s.csv"}
    assert run_checks.absolute_paths(values) == {
        "price_sheet": "current",
        "export_dir": str(tmp_path / "my_jobs"),
        "eval_results": str(tmp_path / "s.csv"),
    }


def test_a_relative_export_dir_is_beside_the_user_not_in_the_run_folder(
    tmp_path, monkeypatch
) -> None:
    """``export_dir: my_jobs`` wrote the jobs to <run folder>/my_jobs."""
    monkeypatch.chdir(tmp_path)
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    make_notebook(
        nbs / "02_b.ipynb",
        'run_dir: str = ""  # run folder\nexport_dir: str = ""  # jobs folder',
        "from pathlib import Path\nPath(export_dir).mkdir()\n(Path(export_dir) / 'job').touch()",
    )
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n02_b:\n  export_dir: my_jobs\n")
    code, run_dir = runner.run(
        params, out_root="out", notebooks_dir=nbs, html=False, log=lambda *_: None
    )
    assert code == 0
    assert (tmp_path / "my_jobs" / "job").is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["params"]["02_b"]["export_dir"] == str(tmp_path / "my_jobs")


def test_an_export_dir_that_is_a_file_is_refused_before_any_work(
    tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jobs").write_text("not a folder")
    params = tmp_path / "params.yaml"
    params.write_text(f"run:\n  source: {GOOD}\n02_batch_inference:\n  export_dir: jobs/may\n")
    assert refused(tmp_path, params, capsys) == (
        f"{params}: 02_batch_inference.export_dir: jobs/may: jobs is a file; give a folder for "
        "the batch jobs"
    )


def test_the_manifest_records_what_each_notebook_ran_with(tmp_path, monkeypatch) -> None:
    """Per notebook, its parameters cell's defaults with what papermill injected over them,
    and the prices it used: a section's discount over common's is its notebook's alone. The
    manifest had the file as written and common's prices only."""
    monkeypatch.chdir(tmp_path)
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    cell = (
        'run_dir: str = ""  # run folder\nprice_sheet: str = "current"  # sheet\n'
        "discount_pct: float = 0.0  # discount\nthreshold: float = 0.6  # score\n"
    )
    make_notebook(nbs / "00_a.ipynb", cell, "print(discount_pct)")
    make_notebook(nbs / "01_b.ipynb", cell, "print(discount_pct)")
    make_notebook(nbs / "02_c.ipynb", 'run_dir: str = ""  # run folder\nlimit: int = 5  # rows')
    params = tmp_path / "params.yaml"
    params.write_text(
        f"run:\n  source: {GOOD}\ncommon:\n  discount_pct: 10\n01_b:\n  discount_pct: 20\n"
        "  threshold: 0.4\n"
    )
    code, run_dir = runner.run(
        params, out_root="out", notebooks_dir=nbs, html=False, log=lambda *_: None
    )
    assert code == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["params"]["01_b"] == {"discount_pct": 20, "threshold": 0.4}  # as written
    ran = manifest["notebook_params"]
    assert ran["00_a"]["parameters"] == {
        "run_dir": str(run_dir.resolve()),
        "price_sheet": "current",
        "discount_pct": 10,
        "threshold": 0.6,
    }
    assert ran["01_b"]["parameters"] == {
        "run_dir": str(run_dir.resolve()),
        "price_sheet": "current",
        "discount_pct": 20,
        "threshold": 0.4,
    }
    assert ran["02_c"] == {
        "parameters": {"run_dir": str(run_dir.resolve()), "limit": 5},
        "price_sheet": None,  # it prices nothing
    }
    assert [ran[n]["price_sheet"]["discount_pct"] for n in ("00_a", "01_b")] == [10, 20]
    assert ran["01_b"]["price_sheet"]["sheet"] == "current"
    assert manifest["price_sheet"]["discount_pct"] == 10  # the prices common names
