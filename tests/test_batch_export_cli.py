"""``bedrock-finops batch-export``: input mistakes stop it before a job file is written."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from bedrock_finops import cli
from bedrock_finops.notebook import default_sample_run

ROLE = "arn:aws:iam::123456789012:role/bedrock-batch"
PREFIX = "s3://bucket/batch"


def _export(run: Path, out: Path, *flags: str) -> int:
    argv = ["batch-export", "--run-dir", str(run), "--out", str(out)]
    return cli.main([*argv, *flags])


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


INPUT_MISTAKES = {
    "role arn": (
        ["--role-arn", "notanarn", "--s3-prefix", PREFIX],
        "error: --role-arn 'notanarn' is not an IAM role ARN: give the service role Bedrock "
        "assumes to read the inputs and write the outputs, arn:aws:iam::<account>:role/<name>",
    ),
    "s3 prefix without s3://": (
        ["--role-arn", ROLE, "--s3-prefix", "my-bucket/p"],
        "error: --s3-prefix 'my-bucket/p' is not an s3:// location: give s3://<bucket>/<prefix>, "
        "where the job folders will be uploaded (did you mean s3://my-bucket/p?)",
    ),
    "s3 prefix without a bucket name": (
        ["--role-arn", ROLE, "--s3-prefix", "s3:///p"],
        "error: --s3-prefix 's3:///p' is not an s3:// location: give s3://<bucket>/<prefix>, "
        "where the job folders will be uploaded; '' is not a bucket name (3-63 lowercase "
        "letters, digits, . and -)",
    ),
    "s3 prefix with a space": (
        ["--role-arn", ROLE, "--s3-prefix", "s3://bucket/my jobs"],
        "error: --s3-prefix 's3://bucket/my jobs' is not an s3:// location: give "
        "s3://<bucket>/<prefix>, where the job folders will be uploaded; Bedrock takes only "
        "letters, digits and -!_*'(). between the /s of the key",
    ),
    "s3 prefix too long": (
        ["--role-arn", ROLE, "--s3-prefix", "s3://bucket/" + "p" * 1000],
        "error: --s3-prefix is 1,012 characters: a job's S3 location would pass Bedrock's "
        "1,024; give a shorter prefix",
    ),
    "timeout over 168 hours": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--timeout-hours", "500"],
        "error: --timeout-hours 500 is not a job timeout: Bedrock takes 24 to 168 hours, "
        "e.g. --timeout-hours 24",
    ),
    "min records over max records": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--min-records", "200", "--max-records", "50"],
        "error: --min-records 200 is over --max-records 50: a job cannot hold more than the "
        "maximum; lower --min-records or raise --max-records",
    ),
    "zero records a file": (
        ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--max-file-records", "0"],
        "error: --max-file-records 0 must be a positive whole number of records (Service "
        "Quotas: 'Records per input file per batch inference job')",
    ),
}


@pytest.mark.parametrize("case", INPUT_MISTAKES)
def test_an_input_mistake_is_one_line_and_writes_nothing(tmp_path, capsys, case):
    flags, message = INPUT_MISTAKES[case]
    out = tmp_path / "jobs"
    assert _export(default_sample_run(), out, *flags) == 2
    captured = capsys.readouterr()
    assert captured.err == message + "\n"
    assert captured.out == ""  # stopped before the run was read: not even its settings line
    assert _files(out) == []


def test_a_runs_own_bad_timeout_names_the_manifest_and_the_flag(tmp_path, capsys):
    """A timeout from the run's manifest.json is checked as a flag's is, and named as such."""
    run = tmp_path / "run"
    run.mkdir()
    params = {"02_batch_inference": {"timeout_hours": 200}}
    (run / "manifest.json").write_text(json.dumps({"params": params}))
    out = tmp_path / "jobs"
    assert _export(run, out, "--role-arn", ROLE, "--s3-prefix", PREFIX) == 2
    assert capsys.readouterr().err == (
        "error: the run's timeout_hours 200 (its manifest.json; --timeout-hours overrides it) "
        "is not a job timeout: Bedrock takes 24 to 168 hours, e.g. --timeout-hours 24\n"
    )
    assert _files(out) == []
    # the flag wins over the run's setting: the export gets past the check (to the missing
    # usage.parquet of this bare run folder)
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--timeout-hours", "48"]
    assert _export(run, out, *flags) == 2
    assert "holds no usage.parquet" in capsys.readouterr().err


def test_out_under_a_file_is_named(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code = _export(default_sample_run(), a_file / "jobs", "--role-arn", ROLE, "--s3-prefix", PREFIX)
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: --out {a_file / 'jobs'}: {a_file} is a file; give a folder for the jobs\n"
    )


def test_an_unknown_force_in_app_is_one_line_and_writes_nothing(tmp_path, capsys):
    """Checked against the run's apps, so after the run is read, but before a file is written."""
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--force-in", "no-such-app"]
    assert _export(default_sample_run(), out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: force_in names ['no-such-app'], which are neither apps nor")
    assert "'doc-summarizer'" in err and err.count("\n") == 1
    assert _files(out) == []


def test_apply_without_credentials_stops_before_writing(tmp_path, monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    out = tmp_path / "jobs"
    flags = ["--role-arn", ROLE, "--s3-prefix", PREFIX, "--apply"]
    assert _export(default_sample_run(), out, *flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unable to locate credentials; this command calls AWS")
    assert _files(out) == []
