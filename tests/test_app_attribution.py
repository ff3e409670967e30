"""A row's app (requestMetadata, the identity map, the role) and the callers tables show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from record_rows import log_record

from bedrock_finops import cli, params
from bedrock_finops.ingest import IngestError, ingest_to_folder

ACCT = "111122223333"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/support-bot-role/i-0abc"
FEDERATED = f"arn:aws:sts::{ACCT}:federated-user/dave@example.com"
BODY = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def _record(request_id: str = "r1", arn: object = SESSION, metadata: object = None) -> dict:
    rec = log_record(BODY, {"output": {"message": {"content": [{"text": "ok"}]}}})
    rec["requestId"] = request_id
    rec["identity"] = {"arn": arn}
    if metadata is not None:
        rec["requestMetadata"] = metadata
    return rec


def _logs(tmp_path: Path, records: list[dict]) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


# ------------------------------------------------- D2: maps checked the same everywhere


@pytest.mark.parametrize(
    ("yaml_map", "problem"),
    [
        (
            "{R5: {app: search}}",
            "the value of 'R5' is a mapping ({'app': 'search'}), not a name; give the name "
            'itself: "R5": "search"',
        ),
        (
            "{R5: 2024}",
            'the value of \'R5\' is the number 2024, not a name; write it in quotes: "R5": "2024"',
        ),
        (
            "{2024: search}",
            'the key 2024 is the number 2024, not a name; write it in quotes ("2024": ...)',
        ),
    ],
)
def test_a_params_map_is_checked_as_a_map_file_is(tmp_path, capsys, yaml_map, problem):
    """The same problem, in the same words, from a params file and from --identity-app-map."""
    p = tmp_path / "p.yaml"
    p.write_text(f"run:\n  identity_app_map: {yaml_map}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, {})
    assert str(err.value) == f"{p}: run.identity_app_map: {problem}"
    apps = tmp_path / "apps.yaml"
    apps.write_text(yaml_map + "\n")
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--source", str(tmp_path), "--out", str(out)]
    assert cli.main([*argv, "--identity-app-map", str(apps)]) == 2
    assert capsys.readouterr().err.strip() == f"error: --identity-app-map {apps}: {problem}"


def test_a_params_profile_map_is_checked_too(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("run:\n  profile_map: {support01: [a, b]}\n")
    with pytest.raises(params.ParamsError) as err:
        params.load(p, {})
    assert str(err.value) == (
        f"{p}: run.profile_map: the value of 'support01' is a list (['a', 'b']), not a name; "
        'give one name: "support01": "NAME"'
    )


def test_a_map_given_in_python_is_checked_before_anything_is_read(tmp_path):
    """An int key used to crash the ingest with an AttributeError."""
    with pytest.raises(IngestError) as err:
        ingest_to_folder(tmp_path, tmp_path / "out", identity_app_map={2024: "x"})
    assert str(err.value).startswith("identity_app_map: the key 2024 is the number 2024")
    with pytest.raises(IngestError, match=r"^profile_map: the value of 'p' is the number 1,"):
        ingest_to_folder(tmp_path, tmp_path / "out", profile_map={"p": 1})
