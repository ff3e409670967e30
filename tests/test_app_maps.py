"""The identity -> app and profile -> model maps, from map files and params files alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bedrock_finops import cli, name_maps, params

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"


def _ingest_error(tmp_path: Path, capsys, *argv: str) -> str:
    """The error line of an ingest that must refuse its options (exit code 2, no table)."""
    out = tmp_path / "run" / "usage.parquet"
    assert (
        cli.main(["ingest", "--workers", "1", "--source", str(GOOD), "--out", str(out), *argv]) == 2
    )
    assert not out.exists()
    return capsys.readouterr().err.strip()


# ------------------------------------------------------------------ a key given twice


def test_a_key_given_twice_in_a_yaml_identity_map_is_refused_with_its_lines(tmp_path, capsys):
    apps = tmp_path / "apps.yaml"
    apps.write_text("etl-runner: nightly-etl\nsupport-bot-role: support\netl-runner: reports\n")
    err = _ingest_error(tmp_path, capsys, "--identity-app-map", str(apps))
    assert err == (
        f"error: --identity-app-map {apps}: key 'etl-runner' is given twice (lines 1 and 3); "
        "keep one"
    )


def test_a_key_given_twice_in_a_json_profile_map_is_refused(tmp_path, capsys):
    profiles = tmp_path / "profiles.json"
    profiles.write_text(
        '{"support01": "anthropic.claude-3-haiku-20240307-v1:0",\n'
        ' "support01": "anthropic.claude-sonnet-4-20250514-v1:0"}\n'
    )
    err = _ingest_error(tmp_path, capsys, "--profile-map", str(profiles))
    assert err == f"error: --profile-map {profiles}: key 'support01' is given twice; keep one"


def test_a_key_given_twice_in_a_params_file_is_refused(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("run:\n  identity_app_map:\n    R5: search\n    R5: billing\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, {})
    assert str(err.value) == f"{p}: key 'R5' is given twice (lines 3 and 4); keep one"


def test_repeated_keys_in_other_mappings_and_yaml_merges():
    """Each mapping is checked on its own; a ``<<:`` merge may restate a key it overrides."""
    text = "a: {x: 1}\nb: {x: 2}\nbase: &b {k: 1}\nc:\n  <<: *b\n  k: 2\n"
    assert name_maps.load_map_text(text)["c"] == {"k": 2}
    with pytest.raises(name_maps.MapError, match=r"key 'x' is given twice \(lines 1 and 1\)"):
        name_maps.load_map_text("{x: 1, x: 2}")


def test_a_json_map_is_read_as_json():
    """JSON PyYAML does not read (indented with tabs, as ``json.dumps(indent="\\t")`` writes
    it) is a map all the same."""
    text = json.dumps({"etl-runner": "nightly-etl"}, indent="\t")
    assert name_maps.load_map_text(text) == {"etl-runner": "nightly-etl"}
