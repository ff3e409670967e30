"""A leading ``~`` in any path a user gives, on the command line or in a params file, names
the home folder as a shell would have: never a folder named ``~`` in the working directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from notebook_builders import make_notebook

from bedrock_finops import cli, params, run_checks, runner
from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.user_paths import UserPathError, expand_user

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "fixtures" / "logs" / "good"
CUR = ROOT / "tests" / "fixtures" / "billing" / "cur2.parquet"
NO_USER = (
    "'~nosuchuser-x/jobs': ~nosuchuser-x names the home folder of user 'nosuchuser-x', and "
    "there is no such user; give the full path"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME is tmp_path/home (holding bf/), and the command runs in tmp_path/cwd."""
    (tmp_path / "home" / "bf").mkdir(parents=True)
    (tmp_path / "cwd").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "home"


def test_the_rule(home: Path) -> None:
    assert expand_user("~/bf/sheet.csv") == f"{home}/bf/sheet.csv"
    assert expand_user("~") == str(home)
    for unchanged in ("current", "s3://bucket/~x", "runs/~/x", "./~x", ""):
        assert expand_user(unchanged) == unchanged
    with pytest.raises(UserPathError) as caught:
        expand_user("~nosuchuser-x/jobs")
    assert str(caught.value) == NO_USER


def test_without_a_home_folder_tilde_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    def no_entry(uid: int):
        raise KeyError(uid)

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    with pytest.raises(UserPathError) as caught:
        expand_user("~/bf")
    assert str(caught.value) == (
        "'~/bf': ~ names the home folder, and there is none: HOME is not set, and this user "
        "has no entry in the password database; give the full path"
    )


def test_ingest_out_after_an_equals_sign(home: Path) -> None:
    """``--out=~/bf/usage.parquet`` (bash expands no ~ after '='): pyarrow wrote the tables'
    .partial files under the home folder and the rename looked for them in ./~, failing and
    leaving them there."""
    shutil.copytree(GOOD, home / "bf" / "logs")
    argv = ["ingest", "--workers", "1", "--source=~/bf/logs", "--out=~/bf/t/usage.parquet"]
    assert cli.main(argv) == 0
    assert sorted(p.name for p in (home / "bf" / "t").iterdir()) == [
        "ingest_report.json",
        "prompts.parquet",
        "quarantine.parquet",
        "usage.parquet",
    ]
    assert pq.read_table(home / "bf" / "t" / "usage.parquet").num_rows == 12
    report = ingest_to_folder("~/bf/logs", "~/bf/lib", workers=1, progress=False)  # as in Python
    assert (report.rows, (home / "bf" / "lib" / "usage.parquet").exists()) == (12, True)
    assert not Path("~").exists()


def test_a_tilde_of_no_user_is_the_options_error(home: Path, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["sample", "--out=~nosuchuser-x/jobs"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.endswith(f"error: argument --out: {NO_USER}\n")


def _params(home: Path, text: str) -> params.RunParams:
    (home / "p.yaml").write_text(text)
    return params.load(home / "p.yaml", runner.discover_notebooks(runner.DEFAULT_NOTEBOOKS))


def test_params_paths_are_expanded_and_checked_there(home: Path) -> None:
    """``export_dir: ~/bf/jobs`` made a folder named ~ in the working directory, and
    ``price_sheet: ~/bf/sheet.csv`` was 'not found'."""
    shutil.copy(ROOT / "bedrock_finops" / "data" / "prices_current.csv", home / "bf" / "sheet.csv")
    shutil.copy(CUR, home / "bf" / "cur2.parquet")
    loaded = _params(
        home,
        "run:\n  source: ~/bf/logs\n  cur: [~/bf/cur2.parquet]\n"
        "common:\n  price_sheet: ~/bf/sheet.csv\n02_batch_inference:\n  export_dir: ~/bf/jobs\n",
    )
    assert (loaded.run["source"], loaded.run["cur"]) == (
        f"{home}/bf/logs",
        [f"{home}/bf/cur2.parquet"],
    )
    batch = loaded.for_notebook("02_batch_inference")
    assert (batch["price_sheet"], batch["export_dir"]) == (
        f"{home}/bf/sheet.csv",
        f"{home}/bf/jobs",
    )
    (home / "bf" / "logs").mkdir()
    sheets = run_checks.check_inputs(loaded, ["02_batch_inference"])  # the sheet is found
    assert sheets.notebooks["02_batch_inference"]["discount_pct"] == 0.0
    # the manifest records the file as written, with its paths as the notebooks get them
    assert run_checks.absolute_paths(loaded.raw["02_batch_inference"]) == {
        "export_dir": f"{home}/bf/jobs"
    }


def test_a_params_path_of_no_user_names_its_key(home: Path) -> None:
    with pytest.raises(params.ParamsError) as caught:
        _params(home, "02_batch_inference:\n  export_dir: ~nosuchuser-x/jobs\n")
    assert str(caught.value) == f"{home}/p.yaml: 02_batch_inference.export_dir: {NO_USER}"


@pytest.mark.slow
def test_a_run_writes_under_the_home_folder_it_was_given(home: Path) -> None:
    """``run --out=~/outs`` made ./~/outs in the working directory."""
    notebooks = home / "notebooks"
    notebooks.mkdir()
    make_notebook(notebooks / "00_probe.ipynb", 'run_dir: str = ""  # run folder', "1 + 1")
    shutil.copytree(GOOD, home / "bf" / "logs")
    (home / "p.yaml").write_text("run:\n  source: ~/bf/logs\n")
    argv = ["run", "--params=~/p.yaml", "--out=~/outs", "--notebooks=~/notebooks", "--no-html"]
    assert cli.main(argv) == 0
    manifest = json.loads((home / "outs" / "latest" / "manifest.json").read_text())
    assert manifest["source"] == f"{home}/bf/logs"
    assert manifest["ingest"]["rows"] == 12
    assert not Path("~").exists()
