"""A run's own settings, as ``batch-export`` reads them from its manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from usage_builders import make_usage, prompts_frame

from bedrock_finops import cli, params, schema

ROUTER_TEXT = "Classify the ticket. Reply with exactly one label: billing, bug, other."
CHAT_TEXT = "You are the support assistant. Help customers with questions about billing."
NOT_FOUND_FIX = (
    "not found: give an existing CSV of your negotiated prices (the sheet's columns, a subset "
    "is fine; see docs/pricing.md)"
)
ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
PREFIX = "s3://bucket/batch"


def _usage() -> pd.DataFrame:
    return make_usage(
        [
            dict(
                n=10,
                app="router",
                model="anthropic.claude-opus-4",
                system_hash="h-router",
                input_tokens=500,
                output_tokens=2,
                output_shape="label",
                max_tokens=5,
                user_text="I was charged twice, write to me at jo@example.com",
            ),
            dict(
                n=4,
                app="chat",
                model="anthropic.claude-sonnet-4",
                system_hash="h-chat",
                input_tokens=100,
                output_tokens=150,
                user_text="How do I add a seat?",
            ),
        ]
    )


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
    assert capsys.readouterr().err == f"error: --price-overrides {moved}.old {NOT_FOUND_FIX}\n"


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
