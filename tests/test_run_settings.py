"""A run's own settings, as ``eval-sample`` and ``batch-export`` read them from its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from usage_builders import prompts_frame, router_and_chat_usage

from bedrock_finops import cli, params, schema
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing as ms

ROUTER_TEXT = "Classify the ticket. Reply with exactly one label: billing, bug, other."
CHAT_TEXT = "You are the support assistant. Help customers with questions about billing."
HAIKU45 = "anthropic.claude-haiku-4-5"
HAIKU45_ID = "anthropic.claude-haiku-4-5-20251001-v1:0"
# the run's 01_model_sizing: Haiku 4.5 its only small Anthropic candidate, and only segments
# typed with high confidence sized (the router; the chat's simple_qa is medium)
OWN_SIZING = {
    "candidates": {"anthropic": {"small": [HAIKU45]}},
    "min_confidence": "high",
    "quality_threshold": 0.85,
}
NOT_FOUND_FIX = (
    "not found: give an existing CSV of your negotiated prices (the sheet's columns, a subset "
    "is fine; see docs/pricing.md)"
)
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
PREFIX = "s3://bucket/batch"


def _usage() -> pd.DataFrame:
    return router_and_chat_usage()


def _prompts() -> pd.DataFrame:
    return prompts_frame({"h-router": ROUTER_TEXT, "h-chat": CHAT_TEXT})


def _run(folder: Path, manifest: dict | None = None) -> Path:
    """A run folder: the usage table, its prompts and, when given, its manifest.json."""
    folder.mkdir()
    pq.write_table(schema.to_arrow(_usage()), folder / "usage.parquet")
    _prompts().to_parquet(folder / "prompts.parquet")
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _ran_with(notebook: str, **values) -> dict:
    """A manifest recording what ``notebook`` ran with (its defaults under ``values``)."""
    declared = params.notebook_parameters(_notebook(notebook))
    ran = {**params.notebook_defaults(declared), **values}
    return {"notebook_params": {notebook: {"parameters": ran, "price_sheet": {}}}}


def _notebook(name: str) -> Path:
    from bedrock_finops.runner import DEFAULT_NOTEBOOKS

    return DEFAULT_NOTEBOOKS / f"{name}.ipynb"


def _sample(run: Path, out: Path, *flags: str) -> int:
    return cli.main(["eval-sample", "--run", str(run), "--out", str(out), *flags])


def _drawn_for(out: Path) -> dict[str, tuple[str, dict]]:
    """Per app sampled: the candidate its sample was drawn for, and that candidate's IDs."""
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        e["app"]: (e["candidate_model"], e["candidate_model_ids"]) for e in manifest["segments"]
    }


# ---- eval-sample --------------------------------------------------------------------------------


def test_eval_sample_draws_for_the_candidates_the_runs_notebook_proposes(tmp_path, capsys):
    """It planned with the notebook's defaults: the router was drawn for Claude 3.5 Haiku and
    the chat sampled too, while the run's notebook proposed Haiku 4.5 for the router alone; so
    every score was taken on another candidate than the plan's, and the gate never decided."""
    run = _run(tmp_path / "run", _ran_with("01_model_sizing", **OWN_SIZING))
    out = tmp_path / "eval"
    assert _sample(run, out) == 0
    assert _drawn_for(out) == {"router": (HAIKU45, {"none": HAIKU45_ID})}
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"settings: the run's own ({run / 'manifest.json'}), flags over them"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["threshold"] == 0.85  # the run's quality_threshold
    # every sampled request scored, on the candidate the replay called: the run's plan decides
    (router,) = manifest["segments"]
    pd.DataFrame(
        {
            "request_id": router["request_ids"],
            "segment": router["segment"],
            "current_score": 1.0,
            "candidate_score": 0.9,
            "candidate_model_id": HAIKU45_ID,
        }
    ).to_csv(out / "eval_results.csv", index=False)
    sizing = ms.plan(
        _usage(),
        PriceCatalog.load("current"),
        prompts=_prompts(),
        eval_results=str(out / "eval_results.csv"),
        **OWN_SIZING,
    )
    assert sizing.quality["verdict"].tolist() == [
        "candidate reaches 90.0% of current quality on 10 of 10 sampled requests (>= 85%): accept"
    ]


def test_the_live_replay_calls_the_runs_candidate_at_the_runs_prices(tmp_path, capsys):
    """The replay's dry run: Haiku 4.5 called behind the router's own ID, the cost estimated
    at the run's 50% discount; --discount-pct replaces the run's."""
    manifest = _ran_with("01_model_sizing", discount_pct=50.0, **OWN_SIZING)
    run = _run(tmp_path / "run", manifest)
    assert _sample(run, tmp_path / "eval", "--live") == 0
    printed = capsys.readouterr().out
    assert (
        "live replay: 10 requests x 2 models = 20 Converse calls, estimated $0.0411 (current "
        "$0.0382, candidate $0.0028; logged tokens, uncached)\n"
        "  router:claude-opus-4:28f169cf [us-east-1]: 10 x converse(anthropic.claude-opus-4) "
        f"and converse({HAIKU45_ID})\n"
    ) in printed
    assert _sample(run, tmp_path / "eval", "--live", "--discount-pct", "0") == 0
    assert "Converse calls, estimated $0.0821 (current $0.0765, candidate $0.0056;" in (
        capsys.readouterr().out
    )


def test_eval_sample_override_adds_to_the_runs_task_overrides(tmp_path, capsys):
    """The run typed the chat creative_research by hand (kept: no upgrade to a large model);
    --override types the router simple_qa over it: the chat stays kept, the router is drawn."""
    manifest = _ran_with("01_model_sizing", task_overrides={"chat": "creative_research"})
    run = _run(tmp_path / "run", manifest)
    out = tmp_path / "eval"
    assert _sample(run, out, "--override", "router=simple_qa") == 0
    assert _drawn_for(out) == {
        "router": (
            "anthropic.claude-3-5-haiku",
            {"none": "anthropic.claude-3-5-haiku-20241022-v1:0"},
        )
    }
    segments = json.loads((out / "manifest.json").read_text())["segments"]
    assert [e["task_type"] for e in segments] == ["simple_qa"]


@pytest.mark.parametrize(
    ("manifest", "origin", "drawn"),
    [
        (
            None,
            "the notebook's defaults (no manifest.json in the run)",
            {"router": "anthropic.claude-3-5-haiku", "chat": "anthropic.claude-3-5-haiku"},
        ),
        (
            {"tool": "bedrock-finops", "params": {"common": {"show_prompt_text": False}}},
            "the notebook's defaults ({manifest} does not record what its 01_model_sizing "
            "notebook ran with, and its params file sets none of them)",
            {"router": "anthropic.claude-3-5-haiku", "chat": "anthropic.claude-3-5-haiku"},
        ),
        (
            {"tool": "bedrock-finops", "params": {"01_model_sizing": OWN_SIZING}},
            "the run's params file over the notebook's defaults ({manifest} does not record "
            "what its 01_model_sizing notebook ran with)",
            {"router": HAIKU45},
        ),
    ],
    ids=["no-manifest", "older-manifest", "older-manifest-with-a-params-file"],
)
def test_eval_sample_says_where_its_settings_came_from(tmp_path, capsys, manifest, origin, drawn):
    """A manifest written before it recorded what each notebook ran with gives the params
    file it keeps (over the notebook's defaults), or, when that sets none, the defaults."""
    run = _run(tmp_path / "run", manifest)
    out = tmp_path / "eval"
    assert _sample(run, out) == 0
    origin = origin.format(manifest=run / "manifest.json")
    assert capsys.readouterr().out.splitlines()[0] == f"settings: {origin}, flags over them"
    assert {app: cand for app, (cand, _) in _drawn_for(out).items()} == drawn


def test_eval_sample_names_the_runs_moved_overrides_file_and_the_flag(tmp_path, capsys):
    """A price overrides file the run was made with, moved since: the error says it is the
    run's setting and that --price-overrides replaces it; the flag given is named as such."""
    moved = str(tmp_path / "finops" / "negotiated.csv")
    run = _run(tmp_path / "run", _ran_with("01_model_sizing", price_overrides=moved))
    out = tmp_path / "eval"
    assert _sample(run, out) == 2
    assert capsys.readouterr().err == (
        f"error: the run's price_overrides {moved!r} (its manifest.json; --price-overrides "
        f"overrides it) {NOT_FOUND_FIX}\n"
    )
    assert not out.exists()
    assert _sample(run, out, "--price-overrides", moved + ".old") == 2
    assert capsys.readouterr().err == (
        f"error: --price-overrides {moved}.old (command line) {NOT_FOUND_FIX}\n"
    )
    negotiated = tmp_path / "negotiated.csv"
    negotiated.write_text(
        "model,region,geo,service_tier,input_per_1k,output_per_1k\n"
        "anthropic.claude-opus-4,us-east-1,none,default,0.01,0.05\n"
    )
    assert _sample(run, out, "--price-overrides", str(negotiated)) == 0


def test_eval_sample_names_the_runs_price_sheet_and_discount(tmp_path, capsys):
    run = _run(tmp_path / "run", _ran_with("01_model_sizing", price_sheet="old-sheet.csv"))
    assert _sample(run, tmp_path / "eval") == 2
    assert capsys.readouterr().err == (
        "error: the run's price_sheet 'old-sheet.csv' (its manifest.json; --price-sheet "
        "overrides it) not found: use 'current', 'seed' or a CSV path (write one with "
        "`bedrock-finops prices update --out FILE`)\n"
    )
    run = _run(tmp_path / "run2", _ran_with("01_model_sizing", discount_pct=100.0))
    assert _sample(run, tmp_path / "eval") == 2
    assert capsys.readouterr().err == (
        "error: the run's discount_pct 100.0 (its manifest.json; --discount-pct overrides it) "
        "is not a percentage in [0, 100): give the negotiated discount off list prices, e.g. "
        "12 for 12% (0: none)\n"
    )
    assert _sample(run, tmp_path / "eval", "--discount-pct", "10") == 0


def test_eval_sample_on_a_cut_manifest_is_one_error_line_naming_it(tmp_path, capsys):
    run = _run(tmp_path / "run")
    (run / "manifest.json").write_text('{"tool": "bedrock-finops", "notebook_params": {')
    out = tmp_path / "eval"
    assert _sample(run, out) == 2
    assert capsys.readouterr().err == (
        f"error: {run / 'manifest.json'} is not valid JSON (Expecting property name enclosed in "
        "double quotes: line 1 column 48 (char 47)): the run's record is damaged (a full disk "
        "as it was written?); run again, or move it aside to sample with the notebook's "
        "defaults and the flags\n"
    )
    assert not out.exists()


SIZING = "01_model_sizing"
UNKNOWN_HAIKU = {"anthropic": {"small": ["anthropic.claude-haiku-9"]}}
UNKNOWN_MODELS = (
    "candidates['anthropic']['small'] names unknown models ['anthropic.claude-haiku-9']"
)
RUN_HAS = (
    "The run has 2 apps ('chat', 'router') and 2 segments, listed in 01_model_sizing's task "
    "table (its app and segment columns)"
)


def _not_an_app(name: str, close: str) -> str:
    """The error on a task override naming ``name``, which the run's app ``close`` is near."""
    return (
        f"task_overrides names [{name!r}], which is neither an app nor a segment id in this "
        f"run; did you mean {close!r} for {name!r}? {RUN_HAS}"
    )


FILED = f"{SIZING}.candidates in params/acme.yaml"


def _filed(manifest: dict, **section) -> dict:
    """``manifest`` of a run whose params file, params/acme.yaml, set ``section`` in its
    01_model_sizing section."""
    return {**manifest, "params_file": "params/acme.yaml", "params": {SIZING: section}}


def _unknown_candidate(how: str) -> dict:
    """A run's manifest naming an unknown candidate: what the notebook ran with, set by the
    params file; the params file alone (a manifest written before notebook_params); or what the
    notebook ran with alone."""
    if how == "older-manifest":
        return _filed({"tool": "bedrock-finops"}, candidates=UNKNOWN_HAIKU)
    ran = _ran_with(SIZING, candidates=UNKNOWN_HAIKU)
    return _filed(ran, candidates=UNKNOWN_HAIKU) if how == "params-file" else ran


@pytest.mark.parametrize(
    ("how", "origin"),
    [
        ("params-file", f"the run's candidates (its manifest.json; {FILED})"),
        ("older-manifest", f"the run's candidates (its manifest.json; {FILED})"),
        ("manifest-alone", "the run's candidates (its manifest.json)"),
    ],
)
def test_eval_sample_names_where_a_candidate_it_rejects_came_from(tmp_path, capsys, how, origin):
    """A candidate the catalog does not know: the error named only the setting, not that it
    was the run's (what its notebook ran with, or its params file, in its manifest.json) nor
    the params file's key that set it. It is said before the run is read."""
    from bedrock_finops.models import known_models

    run = _run(tmp_path / "run", _unknown_candidate(how))
    out = tmp_path / "eval"
    assert _sample(run, out) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {origin}: {UNKNOWN_MODELS}; known: {sorted(known_models())}\n"
    assert captured.out == ""  # not even the settings line: nothing was read
    assert not out.exists()


def test_eval_sample_names_where_a_task_override_it_rejects_came_from(tmp_path, capsys):
    """An app no segment has, and a task type that is none: set by the run's params file, or
    by --override on the command line; the error said neither."""
    manifest = _ran_with(SIZING, task_overrides={"chatbot": "simple_qa"})
    run = _run(tmp_path / "run", _filed(manifest, task_overrides={"chatbot": "simple_qa"}))
    out = tmp_path / "eval"
    assert _sample(run, out) == 2
    assert capsys.readouterr().err == (
        f"error: the run's task_overrides (its manifest.json; {SIZING}.task_overrides in "
        f"params/acme.yaml): {_not_an_app('chatbot', 'chat')}\n"
    )
    run = _run(tmp_path / "run2", _ran_with(SIZING))
    assert _sample(run, out, "--override", "router=simple_qa", "--override", "routr=simple_qa") == 2
    assert capsys.readouterr().err == (
        f"error: --override routr=simple_qa (command line): {_not_an_app('routr', 'router')}\n"
    )
    assert _sample(run, out, "--override", "router=simple-qa") == 2
    assert capsys.readouterr().err == (
        "error: --override router=simple-qa (command line): task_overrides sets unknown task "
        "types {'router': 'simple-qa'}; valid task types: ['classification', 'extraction', "
        "'summarisation', 'simple_qa', 'reasoning_coding', 'creative_research']\n"
    )
    assert not out.exists()


def test_an_override_replaces_the_runs_entry_it_would_reject(tmp_path, capsys):
    """The run typed the router with a task type that is none; --override router=... replaces
    that entry, so the run's is not checked, and the router is drawn as simple_qa."""
    run = _run(tmp_path / "run", _ran_with(SIZING, task_overrides={"router": "simple-qa"}))
    assert _sample(run, tmp_path / "eval") == 2
    assert capsys.readouterr().err.startswith(
        "error: the run's task_overrides (its manifest.json): task_overrides sets unknown task "
        "types {'router': 'simple-qa'};"
    )
    out = tmp_path / "eval"
    assert _sample(run, out, "--override", "router=simple_qa") == 0
    segments = json.loads((out / "manifest.json").read_text())["segments"]
    typed = [(e["app"], e["task_type"]) for e in segments]
    assert typed == [("router", "simple_qa"), ("chat", "simple_qa")]  # the chat's inferred


def test_eval_sample_defaults_are_the_sizing_notebooks() -> None:
    """Without a manifest, eval-sample plans with the 01_model_sizing notebook's defaults: its
    copy of them is the notebook's parameters cell (all but eval_results, which the sample
    gives, the run folder, and what the notebook shows: the text, the segments its key
    figures name)."""
    from bedrock_finops.quality_gate import _SIZING_DEFAULTS, _SIZING_SETTINGS

    defaults = params.notebook_defaults(params.notebook_parameters(_notebook("01_model_sizing")))
    shown = {"show_prompt_text", "top_n"}
    assert set(defaults) - set(_SIZING_DEFAULTS) == {"run_dir", "eval_results", *shown}
    assert {k: defaults[k] for k in _SIZING_DEFAULTS} == _SIZING_DEFAULTS
    assert set(_SIZING_SETTINGS) == set(_SIZING_DEFAULTS)


# ---- batch-export -------------------------------------------------------------------------------


def _export(run: Path, out: Path, *flags: str) -> int:
    argv = ["batch-export", "--run", str(run), "--out", str(out), "--role-arn", ROLE]
    return cli.main([*argv, "--s3-prefix", PREFIX, *flags])


def test_batch_export_names_the_runs_moved_overrides_file_and_the_flag(tmp_path, capsys):
    """It said only that the file was not found, not that it was the run's setting (its
    manifest.json) nor that --price-overrides replaces it, as its other settings are named."""
    moved = "/srv/finops/negotiated.csv"
    run = _run(tmp_path / "run", _ran_with("02_batch_inference", price_overrides=moved))
    out = tmp_path / "jobs"
    assert _export(run, out) == 2
    assert capsys.readouterr().err == (
        f"error: the run's price_overrides {moved!r} (its manifest.json; --price-overrides "
        f"overrides it) {NOT_FOUND_FIX}\n"
    )
    assert not out.exists()
    assert _export(run, out, "--price-overrides", moved + ".old") == 2
    assert capsys.readouterr().err == (
        f"error: --price-overrides {moved}.old (command line) {NOT_FOUND_FIX}\n"
    )


def test_batch_export_names_the_setting_whose_file_is_refused(tmp_path, capsys):
    """An overrides file that exists but cannot be read as prices: its own error, said as the
    run's setting's."""
    overrides = tmp_path / "negotiated.csv"
    overrides.write_text("model,input_per_1k\nanthropic.claude-opus-4,0.01\n")
    run = _run(tmp_path / "run", _ran_with("02_batch_inference", price_overrides=str(overrides)))
    assert _export(run, tmp_path / "jobs") == 2
    assert capsys.readouterr().err == (
        "error: the run's price_overrides (its manifest.json; --price-overrides overrides it): "
        "price sheet override: negotiated.csv lacks key columns ['region', 'geo', "
        "'service_tier']; a sheet needs model, region, geo, service_tier, input_per_1k, "
        "output_per_1k, cache_write_5m_per_1k, cache_write_1h_per_1k, cache_read_per_1k, "
        "batch_input_per_1k, batch_output_per_1k, min_cache_tokens, supports_caching, "
        "supports_batch, in_region_is_profile_price, source, as_of (see docs/pricing.md)\n"
    )


# ---- price settings: where each came from ------------------------------------------------------

NOT_A_PERCENTAGE = (
    "is not a percentage in [0, 100): give the negotiated discount off list prices, e.g. 12 for "
    "12% (0: none)"
)
SHEET_NOT_FOUND = (
    "not found: use 'current', 'seed' or a CSV path (write one with `bedrock-finops prices "
    "update --out FILE`)"
)


def _priced_by_params_file(notebook: str, section: str, **prices) -> dict:
    """The manifest of a run whose params file, params/acme.yaml, set ``prices`` in its
    ``section`` (common, or the notebook's own), and whose ``notebook`` ran with them."""
    return {
        **_ran_with(notebook, **prices),
        "params_file": "params/acme.yaml",
        "params": {section: prices},
    }


def test_eval_sample_names_the_params_file_key_that_set_a_price_setting(tmp_path, capsys):
    """A discount of 150 or a sheet that is none, set by the run's params file: the error
    named the run's setting but not the key of the file that set it, as it names a candidate's;
    a flag given is said to be the command line's."""
    manifest = _priced_by_params_file(SIZING, "common", discount_pct=150.0)
    run = _run(tmp_path / "run", manifest)
    assert _sample(run, tmp_path / "eval") == 2
    assert capsys.readouterr().err == (
        "error: the run's discount_pct 150.0 (its manifest.json; common.discount_pct in "
        f"params/acme.yaml; --discount-pct overrides it) {NOT_A_PERCENTAGE}\n"
    )
    assert _sample(run, tmp_path / "eval", "--discount-pct", "150") == 2
    assert capsys.readouterr().err == (
        f"error: --discount-pct 150 (command line) {NOT_A_PERCENTAGE}\n"
    )
    manifest = _priced_by_params_file(SIZING, SIZING, price_sheet="nope")
    run = _run(tmp_path / "run2", manifest)
    assert _sample(run, tmp_path / "eval") == 2
    assert capsys.readouterr().err == (
        "error: the run's price_sheet 'nope' (its manifest.json; 01_model_sizing.price_sheet in "
        f"params/acme.yaml; --price-sheet overrides it) {SHEET_NOT_FOUND}\n"
    )
    assert not (tmp_path / "eval").exists()


BAD_ROWS = (
    "rows refused, as their prices would not reach the requests they name: line 2: model "
    "'anthropic.claude-nope' is not in the model catalog"
)


def test_batch_export_names_the_params_file_key_that_set_bad_overrides(tmp_path, capsys):
    """An overrides file of rows no request can have, set in the run's params file's common
    section: the error names that key, as eval-sample's do."""
    overrides = tmp_path / "negotiated.csv"
    overrides.write_text(
        "model,region,geo,service_tier,input_per_1k\n"
        "anthropic.claude-nope,us-east-1,none,default,0.01\n"
    )
    manifest = _priced_by_params_file(
        "02_batch_inference", "common", price_overrides=str(overrides)
    )
    run = _run(tmp_path / "run", manifest)
    assert _export(run, tmp_path / "jobs") == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "error: the run's price_overrides (its manifest.json; common.price_overrides in "
        "params/acme.yaml; --price-overrides overrides it): price overrides file "
        f"{overrides}: {BAD_ROWS}"
    )
    assert _export(run, tmp_path / "jobs", "--discount-pct", "150") == 2
    assert capsys.readouterr().err == (
        f"error: --discount-pct 150 (command line) {NOT_A_PERCENTAGE}\n"
    )
    assert not (tmp_path / "jobs").exists()


def test_prices_show_names_the_flag_of_a_price_setting_it_refuses(tmp_path, capsys):
    """`prices show` said `price sheet 'nope' not found` and `price overrides file ... not
    found`, not the flag that gave them, as the other commands name theirs."""
    assert cli.main(["prices", "show", "--sheet", "nope"]) == 2
    assert capsys.readouterr().err == f"error: --sheet nope (command line) {SHEET_NOT_FOUND}\n"
    missing = tmp_path / "mine.csv"
    assert cli.main(["prices", "show", "--overrides", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: --overrides {missing} (command line) {NOT_FOUND_FIX}\n"
    )
    missing.write_text(
        "model,region,geo,service_tier,input_per_1k\n"
        "anthropic.claude-nope,us-east-1,none,default,0.01\n"
    )
    assert cli.main(["prices", "show", "--overrides", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(
        f"error: --overrides (command line): price overrides file {missing}: {BAD_ROWS}"
    )
    assert cli.main(["prices", "show", "--discount-pct", "150"]) == 2
    assert capsys.readouterr().err == (
        f"error: --discount-pct 150 (command line) {NOT_A_PERCENTAGE}\n"
    )
