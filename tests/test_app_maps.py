"""The identity -> app and profile -> model maps, from map files and params files alike."""

from __future__ import annotations

import functools
import json
import multiprocessing
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest
from alias_files import bound_passed, nested_aliases
from record_rows import log_record

from bedrock_finops import cli, name_maps, params, worker_pool
from bedrock_finops.ingest import ingest_to_folder, read_invocation_logs

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


def test_a_yaml_map_of_aliases_within_aliases_is_refused_as_it_is_read(tmp_path, capsys):
    """353 bytes standing for 10**6 names (10**9 in 506): the check of the map quoted the
    mapping it found in place of a name whole, building every one of them."""
    apps = tmp_path / "apps.yaml"
    apps.write_text(nested_aliases(6).replace("02_batch_inference", "etl-runner"))
    err = _ingest_error(tmp_path, capsys, "--identity-app-map", str(apps))
    assert err == f"error: --identity-app-map {apps}: {bound_passed(283)}"


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


# ------------------------------------------------------------------ the maps in the workers

PROFILE = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abcd1234efgh"
FILLER = 10_000  # entries of each map that name no caller or model of the logs


def _logs_with_a_profile(tmp_path: Path) -> Path:
    """The good fixture's files, and one of a request with a tool spec through an application
    profile: mapped to Nova, it takes no ``tools`` checkpoint (a rule the workers read from
    profile_map)."""
    folder = tmp_path / "logs"
    shutil.copytree(GOOD, folder)
    body = {
        "messages": [{"role": "user", "content": [{"text": "Weather in Paris?"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "weather", "inputSchema": {"json": {}}}}]},
    }
    rec = log_record(body, {"output": {"message": {"content": [{"text": "Sunny."}]}}})
    rec.update(requestId="req-profile-tools", modelId=PROFILE)
    (folder / "part-3.json").write_text(json.dumps(rec) + "\n")
    return folder


def _large_maps() -> dict[str, dict[str, str]]:
    """An identity map and a profile map of ``FILLER`` + 1 entries, one of each matching."""
    roles = {f"arn:aws:iam::111122223333:role/team{k}/role-{k}": f"app-{k}" for k in range(FILLER)}
    profiles = {
        f"{PROFILE.rpartition('/')[0]}/p{k:08d}": "anthropic.claude-3-5-haiku-20241022-v1:0"
        for k in range(FILLER)
    }
    return {
        "identity_app_map": {"etl-runner": "nightly-etl", **roles},
        "profile_map": {PROFILE: "amazon.nova-pro-v1:0", **profiles},
    }


def _task_sizes(monkeypatch) -> list[int]:
    """The pickled size of each task handed to a worker pool from now on (what the pool sends
    its workers: the function and its arguments)."""
    sizes: list[int] = []
    submit = worker_pool._Pool.submit

    def measured(self, fn, /, *args, **kwargs):
        sizes.append(len(pickle.dumps((fn, args, kwargs))))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(worker_pool._Pool, "submit", measured)
    return sizes


def test_a_task_carries_its_files_not_the_maps(tmp_path, monkeypatch):
    """The options reach each worker once, as it starts: a task (here one file) is the same
    size with maps of 10,000 entries as without them, not 2 MB more. (A task names the
    ingest's scratch folder, inside the output folder: the two folders' names are of one
    length.)"""
    logs = _logs_with_a_profile(tmp_path)
    sizes = _task_sizes(monkeypatch)
    ingest_to_folder(logs, tmp_path / "run-1", workers=2, progress=False, lookup_profiles=False)
    plain = list(sizes)
    sizes.clear()
    ingest_to_folder(
        logs, tmp_path / "run-2", workers=2, progress=False, lookup_profiles=False,
        **_large_maps(),
    )  # fmt: skip
    assert len(plain) == 3
    assert sizes == plain
    assert max(sizes) < 1_000  # (425 bytes here; 2 MB with the options in each task)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_the_workers_apply_the_maps_under_each_start_method(tmp_path, monkeypatch, method):
    """The pool's workers get the maps however they are started: the table is the one a
    single process makes, the mapped role's app and the mapped profile's model rules in it."""
    logs = _logs_with_a_profile(tmp_path)
    maps = _large_maps()
    serial = read_invocation_logs(logs, workers=1, progress=False, lookup_profiles=False, **maps)
    context = multiprocessing.get_context(method)
    monkeypatch.setattr(
        worker_pool, "start", functools.partial(worker_pool.start, mp_context=context)
    )
    pooled = read_invocation_logs(logs, workers=2, progress=False, lookup_profiles=False, **maps)
    pd.testing.assert_frame_equal(pooled, serial)
    rows = pooled.set_index("request_id")
    assert rows.loc["req-llama-1", "app"] == "nightly-etl"
    assert [e["kind"] for e in rows.loc["req-profile-tools", "prefix_hashes"]] == ["message"]
    assert rows.loc["req-profile-tools", "model"] == "amazon.nova-pro"
