"""Params files are validated against the notebooks' parameters cells before any work."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alias_files import bound_passed, nested_aliases
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
    with pytest.raises(params.ParamsError, match="not valid YAML") as bad:
        params.load(write(tmp_path, "run: [unclosed\n"), notebooks)
    assert str(bad.value).endswith(
        "is not valid YAML: line 2, column 1: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence)"
    )
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"run:\n  source: caf\xe9\n")
    with pytest.raises(params.ParamsError) as bad:
        params.load(latin1, notebooks)
    assert str(bad.value) == (
        f"{latin1} is not UTF-8 text (byte 0xe9 at offset 18); save it as UTF-8"
    )


def test_a_relative_params_path_from_another_folder_points_to_the_projects_file(
    tmp_path, notebooks, monkeypatch
) -> None:
    """cron starts in HOME, systemd in /: a relative --params is read from there, and the
    error said to try the very path it had not found."""
    monkeypatch.chdir(tmp_path)
    project_file = Path(__file__).resolve().parents[1] / "params" / "default.yaml"
    with pytest.raises(params.ParamsError) as missing:
        params.load(Path("params/default.yaml"), notebooks)
    assert str(missing.value) == (
        f"params file params/default.yaml does not exist in the current directory ({tmp_path}),"
        f" which a relative path is read from; the project's is {project_file}: give its "
        "absolute path"
    )
    with pytest.raises(params.ParamsError) as missing:
        params.load(tmp_path / "prod.yaml", notebooks)
    assert str(missing.value) == (
        f"params file {tmp_path / 'prod.yaml'} does not exist; the project's default params "
        f"file is {project_file}"
    )


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

    from bedrock_finops.batch_export_cli import _NOTEBOOK_DEFAULTS
    from bedrock_finops.runner import DEFAULT_NOTEBOOKS

    declared = params.notebook_parameters(DEFAULT_NOTEBOOKS / "02_batch_inference.ipynb")
    assert {k: ast.literal_eval(declared[k]["default"]) for k in _NOTEBOOK_DEFAULTS} == (
        _NOTEBOOK_DEFAULTS
    )


@pytest.fixture(scope="module")
def project_notebooks() -> dict[str, Path]:
    from bedrock_finops.runner import DEFAULT_NOTEBOOKS, discover_notebooks

    return discover_notebooks(DEFAULT_NOTEBOOKS)


TIME_ZONE_FIX = (
    "use one such as 'UTC', 'America/New_York', 'America/Los_Angeles' or 'Europe/Berlin'"
)
TASK_TYPES = (
    "['classification', 'extraction', 'summarisation', 'simple_qa', 'reasoning_coding', "
    "'creative_research']"
)
BAD_VALUES = [
    (
        "02_batch_inference:\n  business_time_zone: PST\n",
        "02_batch_inference.business_time_zone",
        f"business_time_zone 'PST' is not an IANA time zone name; {TIME_ZONE_FIX}",
    ),
    (
        "02_batch_inference:\n  business_time_zone: America/LosAngeles\n",
        "02_batch_inference.business_time_zone",
        "business_time_zone 'America/LosAngeles' is not an IANA time zone name; "
        "did you mean 'America/Los_Angeles'?",
    ),
    (
        "02_batch_inference:\n  business_hours: [9, 25]\n",
        "02_batch_inference.business_hours",
        "business_hours [9, 25] must be [start, end) with start 0-23 and end 1-24; "
        "a start after the end wraps midnight ([22, 6])",
    ),
    (
        "02_batch_inference:\n  threshold: 6\n  window_hours: 3\n",
        "02_batch_inference.threshold",
        "threshold 6.0 must be in [0, 1] (a weighted score)",
    ),
    (
        "02_batch_inference:\n  timeout_hours: 2\n",
        "02_batch_inference.timeout_hours",
        "timeout_hours 2 is not a job timeout: Bedrock takes 24 to 168 hours",
    ),
    (
        "02_batch_inference:\n  s3_prefix: my-bucket/jobs\n",
        "02_batch_inference.s3_prefix",
        "s3_prefix 'my-bucket/jobs' is not an s3:// location: give s3://<bucket>/<prefix> "
        "(did you mean s3://my-bucket/jobs?)",
    ),
    (
        "02_batch_inference:\n  min_records_per_job: 600\n  max_records_per_job: 500\n",
        "02_batch_inference.min_records_per_job, 02_batch_inference.max_records_per_job",
        "min_records_per_job 600 is over max_records_per_job 500: a job cannot hold more than "
        "the maximum; lower the minimum or raise the maximum",
    ),
    (
        "01_model_sizing:\n  min_confidence: hi\n",
        "01_model_sizing.min_confidence",
        "min_confidence 'hi' must be one of ['low', 'medium', 'high']",
    ),
    (
        "01_model_sizing:\n  task_overrides: {support: clasification}\n",
        "01_model_sizing.task_overrides",
        "task_overrides sets unknown task types {'support': 'clasification'}; "
        f"valid task types: {TASK_TYPES}",
    ),
    (
        "common:\n  discount_pct: 150\n",
        "common.discount_pct",
        "discount_pct 150 is not a percentage in [0, 100): give the negotiated discount off "
        "list prices, e.g. 12 for 12% (0: none)",
    ),
    (
        "00_baseline:\n  discount_pct: -5\n",
        "00_baseline.discount_pct",
        "discount_pct -5 is not a percentage in [0, 100): give the negotiated discount off "
        "list prices, e.g. 12 for 12% (0: none)",
    ),
    ("run:\n  sample: {days: 0}\n", "run.sample.days", "days must be at least 1, got 0"),
    (
        "00_baseline:\n  top_n: 0\n",
        "00_baseline.top_n",
        "top_n 0 must be a positive whole number of table rows",
    ),
    (
        "02_batch_inference:\n  top_n: -1\n",
        "02_batch_inference.top_n",
        "top_n -1 must be a positive whole number of table rows",
    ),
    (
        "01_model_sizing:\n  top_n: 0\n",
        "01_model_sizing.top_n",
        "top_n 0 must be a positive whole number of table rows",
    ),
    (
        "00_baseline:\n  reconcile_tolerance_pct: -1.0\n",
        "00_baseline.reconcile_tolerance_pct",
        "reconcile_tolerance_pct -1.0 must be a percentage of billed cost, 0 or more (e.g. 2)",
    ),
    (
        "01_model_sizing:\n  tokenizer_ratios: {llama3: -0.85}\n",
        "01_model_sizing.tokenizer_ratios",
        "tokenizer_ratios['llama3'] -0.85 must be tokens per Anthropic token, a positive "
        "number such as 0.85",
    ),
    (
        "01_model_sizing:\n  tokenizer_ratios: {lama3: 0.85}\n",
        "01_model_sizing.tokenizer_ratios",
        "tokenizer_ratios names the tokenizer 'lama3'; the catalog's: ['anthropic', 'anthropic2', "
        "'claude2', 'cohere', 'deepseek', 'llama3', 'llama4', 'mistral', 'nova', 'openai', 'qwen', "
        "'titan']",
    ),
]


@pytest.mark.parametrize(("text", "key_path", "problem"), BAD_VALUES)
def test_bad_values_name_the_file_the_key_path_and_the_fix(
    tmp_path, project_notebooks, text, key_path, problem
) -> None:
    """The strategies' own rules, applied when the file is read: the error is the file, the
    key path, the problem and its fix."""
    p = write(tmp_path, text)
    with pytest.raises(params.ParamsError) as err:
        params.load(p, project_notebooks)
    assert str(err.value) == f"{p}: {key_path}: {problem}"


def test_values_that_need_the_runs_data_wait_for_it(tmp_path, project_notebooks) -> None:
    """Names of apps and segments (force_in, task_overrides keys) are checked against the run's
    traffic in the notebook; a lowered pair of limits is checked together, not each alone."""
    p = write(
        tmp_path,
        "01_model_sizing:\n  task_overrides: {some-app: classification}\n"
        "02_batch_inference:\n  force_in: [some-app]\n  business_time_zone: Asia/Tokyo\n"
        "  max_records_per_job: 500\n",  # the file limit (50,000) becomes the job's
    )
    rp = params.load(p, project_notebooks)
    assert rp.notebooks["02_batch_inference"]["business_time_zone"] == "Asia/Tokyo"
    assert rp.notebooks["01_model_sizing"]["task_overrides"] == {"some-app": "classification"}


def test_an_impossible_date_is_refused_naming_the_key_and_the_value(tmp_path, notebooks) -> None:
    """YAML reads an unquoted date itself and raises a bare ValueError for one that does not
    exist; it is the key's own error instead, with the value and why."""
    p = write(tmp_path, "run:\n  start: 2026-11-01\n  end: 2026-11-31\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, notebooks)
    assert str(err.value) == (
        f"{p}: run.end must be a date YYYY-MM-DD, got '2026-11-31' (day is out of range for month)"
    )
    p = write(tmp_path, "run:\n  sample: {start: 2026-13-01}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, notebooks)
    assert str(err.value) == (
        f"{p}: run.sample.start must be a date YYYY-MM-DD, got '2026-13-01' (month must be in "
        "1..12)"
    )
    with pytest.raises(params.ParamsError) as err:
        params.load(write(tmp_path, "00_a:\n  top_n: !!int ten\n"), notebooks)
    assert str(err.value) == (
        f"{p}: a value YAML cannot read: invalid literal for int() with base 10: 'ten'"
    )


def test_a_relative_window_is_read_as_written_and_resolved_by_the_run(tmp_path, notebooks):
    rp = params.load(write(tmp_path, "run:\n  window: previous_month\n"), notebooks)
    assert (rp.run["window"], rp.run["start"], rp.run["end"]) == ("previous_month", None, None)
    rp = params.load(write(tmp_path, "run:\n  window: last_30_days\n"), notebooks)
    assert rp.run["window"] == "last_30_days"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "window: previous_month\n  start: 2026-10-01",
            "run.window and run.start are both set; give run.window for days relative to the "
            "run's day, or run.start/run.end for fixed days, not both",
        ),
        (
            "window: last_7_days\n  start: 2026-10-01\n  end: 2026-11-01",
            "run.window and run.start and run.end are both set; give run.window for days "
            "relative to the run's day, or run.start/run.end for fixed days, not both",
        ),
        (
            "window: last_month",
            "run.window 'last_month' is not a window; give previous_month (the whole previous "
            "calendar month), month_to_date (the 1st of this month to yesterday) or last_N_days "
            "(the N whole days before today, e.g. last_7_days, last_30_days); days are UTC and "
            "today is left out, its logs still arriving (did you mean 'previous_month'?)",
        ),
        ("window: last_0_days", "run.window 'last_0_days' holds no day; give last_N_days with N "
         "of 1 or more"),
        ("window: 30", "run.window must be str or NoneType, got int 30"),
        (
            'start: "-30d"',
            "run.start must be a date YYYY-MM-DD, got '-30d'; for days relative to the run's "
            "day, give run.window instead (previous_month, month_to_date, last_N_days)",
        ),
    ],
)  # fmt: skip
def test_a_window_that_cannot_be_run_names_its_keys(tmp_path, notebooks, text, message) -> None:
    p = write(tmp_path, f"run:\n  {text}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, notebooks)
    assert str(err.value).startswith(f"{p}: {message}")


BLANK_FIX = "give a value, or remove the key to keep the default"


@pytest.mark.parametrize(
    ("text", "key_path", "default"),
    [
        ("common:\n  price_sheet:\n", "common.price_sheet", '"current"'),
        ("00_a:\n  top_n:\n", "00_a.top_n", "10"),
        ("run:\n  app_key:\n", "run.app_key", "'app'"),
        ("run:\n  sample: {days: }\n", "run.sample.days", "30"),
    ],
)
def test_a_key_left_blank_is_refused(tmp_path, notebooks, text, key_path, default) -> None:
    """YAML reads ``top_n:`` as null, which papermill would inject over the notebook's
    default, failing it after the ingest: the file must give a value or leave the key out."""
    p = write(tmp_path, text)
    with pytest.raises(params.ParamsError) as err:
        params.load(p, notebooks)
    assert str(err.value) == (
        f"{p}: {key_path}: no value (YAML reads a key left blank as null); {BLANK_FIX} ({default})"
    )


def test_a_blank_value_stays_where_none_is_a_value(tmp_path) -> None:
    """A run key that takes null (region) and a notebook parameter whose default is None keep
    a key left blank."""
    nb = make_notebook(tmp_path / "00_a.ipynb", "limit: int = None  # rows, all when None\n")
    rp = params.load(write(tmp_path, "run:\n  region:\n00_a:\n  limit:\n"), {"00_a": nb})
    assert (rp.run["region"], rp.notebooks["00_a"]) == (None, {"limit": None})


PROVIDERS = "['amazon', 'anthropic', 'cohere', 'deepseek', 'meta', 'mistral', 'openai', 'qwen']"
CANDIDATES = [
    (
        "antropic: {small: [anthropic.claude-haiku-4-5]}",
        "candidates names the provider 'antropic', which the catalog does not know; did you "
        f"mean 'anthropic'? known providers: {PROVIDERS}",
    ),
    (
        "Anthropic: {small: [anthropic.claude-haiku-4-5]}",
        "candidates names the provider 'Anthropic', which the catalog does not know; did you "
        f"mean 'anthropic'? known providers: {PROVIDERS}",
    ),
    (
        "anthropic: {small: anthropic.claude-haiku-4-5}",
        "candidates['anthropic']['small'] must be a list of model keys, got the string "
        "'anthropic.claude-haiku-4-5'; write it in brackets: small: [anthropic.claude-haiku-4-5]",
    ),
    (
        "anthropic: {small: }",
        "candidates['anthropic']['small'] must be a list of model keys, got no value; write "
        "small: [MODEL_KEY, ...] ([] for none)",
    ),
]


@pytest.mark.parametrize(("candidates", "problem"), CANDIDATES)
def test_candidates_name_known_providers_and_lists(
    tmp_path, project_notebooks, candidates, problem
) -> None:
    """A misspelt or capitalised provider was kept and never used (a segment's provider is the
    catalog's), silently changing the savings; a model given as a string was read as a list of
    its letters."""
    p = write(tmp_path, f"01_model_sizing:\n  candidates: {{{candidates}}}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, project_notebooks)
    assert str(err.value) == f"{p}: 01_model_sizing.candidates: {problem}"


def test_candidates_of_a_provider_outside_the_defaults_are_taken(
    tmp_path, project_notebooks
) -> None:
    p = write(tmp_path, "01_model_sizing:\n  candidates: {deepseek: {large: []}}\n")
    rp = params.load(p, project_notebooks)
    assert rp.notebooks["01_model_sizing"]["candidates"] == {"deepseek": {"large": []}}


COMMON_VALUES = [
    (
        "business_time_zone: America/NewYork",
        "common.business_time_zone",
        "business_time_zone 'America/NewYork' is not an IANA time zone name; did you mean "
        "'America/New_York'?",
    ),
    ("top_n: 0", "common.top_n", "top_n 0 must be a positive whole number of table rows"),
    (
        "timeout_hours: 1",
        "common.timeout_hours",
        "timeout_hours 1 is not a job timeout: Bedrock takes 24 to 168 hours",
    ),
    (
        "min_records_per_job: 600\n02_batch_inference:\n  max_records_per_job: 500",
        "common.min_records_per_job, 02_batch_inference.max_records_per_job",
        "min_records_per_job 600 is over max_records_per_job 500: a job cannot hold more than "
        "the maximum; lower the minimum or raise the maximum",
    ),
]


@pytest.mark.parametrize(("values", "key_path", "problem"), COMMON_VALUES)
def test_values_in_common_are_checked_as_each_notebook_gets_them(
    tmp_path, project_notebooks, values, key_path, problem
) -> None:
    """``common`` passes its values to every notebook that declares them: they are checked by
    that notebook's rules, merged with its section, and named where the file sets them."""
    p = write(tmp_path, f"common:\n  {values}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, project_notebooks)
    assert str(err.value) == f"{p}: {key_path}: {problem}"


def test_a_sections_value_replaces_commons_for_its_notebook(tmp_path, project_notebooks) -> None:
    """common's top_n 0 would be refused; each notebook that declares top_n (00, 01 and 02)
    has its own in its section, so common's is never used."""
    p = write(
        tmp_path,
        "common:\n  top_n: 0\n00_baseline:\n  top_n: 5\n01_model_sizing:\n  top_n: 6\n"
        "02_batch_inference:\n  top_n: 7\n",
    )
    loaded = params.load(p, project_notebooks)
    assert loaded.for_notebook("00_baseline")["top_n"] == 5
    assert loaded.for_notebook("01_model_sizing")["top_n"] == 6
    assert loaded.for_notebook("02_batch_inference")["top_n"] == 7


APP_FIX = "force_in: [support, nightly-etl]"
ITEMS_THAT_ARE_NO_NAMES = [
    (
        "02_batch_inference:\n  force_in: [[a, b], {x: 1}, 3]",
        "02_batch_inference.force_in",
        "force_in[0] is a list (['a', 'b']), not an app or segment id; give each as an item of "
        f"force_in itself, not a list in it: {APP_FIX}",
    ),
    (
        "02_batch_inference:\n  force_in: [support, {x: 1}]",
        "02_batch_inference.force_in",
        "force_in[1] is a mapping ({'x': 1}), not an app or segment id; give each as a string, "
        f"not a mapping: {APP_FIX}",
    ),
    (
        "02_batch_inference:\n  force_out:\n    - support\n    -\n",
        "02_batch_inference.force_out",
        "force_out[1] is empty, not an app or segment id; remove the empty item (a '-' or ',' "
        "with nothing after it): force_out: [support, nightly-etl]",
    ),
    (
        "02_batch_inference:\n  force_out: [support, 2024]",
        "02_batch_inference.force_out",
        "force_out[1] is the number 2024, not an app or segment id; write it in quotes, as the "
        "file spells it ('2024' if that is how it reads)",
    ),
    (
        "common:\n  force_in: [yes]",
        "common.force_in",
        "force_in[0] is the boolean True, not an app or segment id; write it in quotes, as the "
        "file spells it ('true' if that is how it reads) (YAML reads unquoted yes, no, on, off, "
        "true and false as booleans)",
    ),
    (
        "01_model_sizing:\n  candidates: {anthropic: {small: [[anthropic.claude-haiku-4-5]]}}",
        "01_model_sizing.candidates",
        "candidates['anthropic']['small'][0] is a list (['anthropic.claude-haiku-4-5']), not a "
        "model key; give each as an item of candidates['anthropic']['small'] itself, not a list "
        "in it: small: [MODEL_KEY, ...]",
    ),
    (
        "01_model_sizing:\n  task_overrides: {2024: classification}",
        "01_model_sizing.task_overrides",
        "task_overrides key 2024 is the number 2024, not an app or segment id; write it in "
        "quotes, as the file spells it ('2024': classification)",
    ),
    (
        "01_model_sizing:\n  task_overrides: {support: [classification]}",
        "01_model_sizing.task_overrides",
        "task_overrides['support'] is a list (['classification']), not a task type; give one of "
        f"{TASK_TYPES}: support: classification",
    ),
    (
        "01_model_sizing:\n  tier_map: {classification: {a: 1}}",
        "01_model_sizing.tier_map",
        "tier_map['classification'] is a mapping ({'a': 1}), not a tier; give one of ['small', "
        "'medium', 'large']: classification: small",
    ),
    (
        "run:\n  cur: [cur/2026-10, [cur/2026-11]]",
        "run.cur",
        "cur[1] is a list (['cur/2026-11']), not a file or folder; give each as an item of cur "
        "itself, not a list in it: cur: [exports/2026-10, exports/2026-11]",
    ),
]


@pytest.mark.parametrize(("text", "key_path", "problem"), ITEMS_THAT_ARE_NO_NAMES)
def test_an_item_that_is_not_a_string_is_named_by_its_position(
    tmp_path, project_notebooks, text, key_path, problem
) -> None:
    """YAML reads ``[a, b]`` inside a list as a list, ``2024`` as a number and ``yes`` as a
    boolean: no app, segment, model or file is named by one. They passed the file's checks,
    and the run failed on them in the notebook after the ingest, or never matched."""
    p = write(tmp_path, f"{text}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, project_notebooks)
    assert str(err.value) == f"{p}: {key_path}: {problem}"


def test_nested_aliases_are_refused_before_the_values_are_checked(
    tmp_path, project_notebooks
) -> None:
    """353 bytes of aliases within aliases stand for 10**6 strings (see test_user_yaml): the
    file is refused as it is read, saying why, before any check or the run walks the values."""
    p = write(tmp_path, nested_aliases(6))
    with pytest.raises(params.ParamsError) as err:
        params.load(p, project_notebooks)
    assert str(err.value) == f"{p}: {bound_passed(283)}"
