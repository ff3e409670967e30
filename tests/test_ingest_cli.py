"""The ingest command's options: the output's name, mapping files, Region, profile lookups."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
from ascii_locale import run_ascii
from botocore.stub import Stubber

from bedrock_finops import cli, ingest, models
from bedrock_finops.ingest import ingest_to_folder, read_invocation_logs
from bedrock_finops.sources.invocation_logs import SCRATCH_PREFIX

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
ACCT = "111122223333"
APP_ARN = f"arn:aws:bedrock:eu-west-1:{ACCT}:application-inference-profile/support01"
SONNET4 = "anthropic.claude-sonnet-4-20250514-v1:0"


def _ingest(*argv: str) -> int:
    return cli.main(["ingest", "--workers", "1", *argv])


def test_another_output_name_leaves_an_earlier_run_alone(tmp_path, capsys):
    run = tmp_path / "run"
    assert _ingest("--source", str(GOOD), "--out", str(run / "usage.parquet")) == 0
    before = (run / "usage.parquet").read_bytes()
    assert _ingest("--source", str(GOOD), "--out", str(run / "other.parquet")) == 2
    err = capsys.readouterr().err
    assert f"{run} already holds the ingest that wrote usage.parquet" in err
    assert (run / "usage.parquet").read_bytes() == before
    assert not (run / "other.parquet").exists()


def test_an_output_named_otherwise_is_written_under_its_name(tmp_path):
    run = tmp_path / "run"
    for _ in range(2):  # running it again replaces its own run
        assert _ingest("--source", str(GOOD), "--out", str(run / "june.parquet")) == 0
    assert sorted(p.name for p in run.iterdir()) == [
        "ingest_report.json",
        "june.parquet",
        "prompts.parquet",
        "quarantine.parquet",
    ]
    assert pq.read_table(run / "june.parquet").num_rows == 12
    assert json.loads((run / "ingest_report.json").read_text())["table"] == "june.parquet"


def _profile_logs(tmp_path: Path) -> Path:
    """One record sent through an application inference profile by a role without app key."""
    rec = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
    rec.update(requestId="req-profile-1", modelId=APP_ARN)
    rec["identity"] = {"arn": f"arn:aws:sts::{ACCT}:assumed-role/support-bot-role/i-0abc"}
    rec["input"]["inputBodyJson"] = {"messages": [{"role": "user", "content": "hi"}]}
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(rec) + "\n")
    return folder


def test_mapping_files_and_region_from_the_command_line(tmp_path, monkeypatch):
    seen = {}
    real = ingest.ingest_to_folder

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "ingest_to_folder", spy)
    logs = _profile_logs(tmp_path)
    apps = tmp_path / "apps.yaml"
    apps.write_text(f"arn:aws:iam::{ACCT}:role/support-bot-role: support\n")
    profiles = tmp_path / "profiles.json"
    profiles.write_text(json.dumps({"support01": f"eu.{SONNET4}"}))
    out = tmp_path / "run" / "usage.parquet"
    argv = ["--source", str(logs), "--out", str(out), "--region", "eu-west-1"]
    argv += ["--identity-app-map", str(apps), "--profile-map", str(profiles)]
    assert _ingest(*argv) == 0
    row = pq.read_table(out).to_pylist()[0]
    assert (row["app"], row["model"], row["geo"]) == ("support", "anthropic.claude-sonnet-4", "eu")
    assert seen["region"] == "eu-west-1"  # for an S3 bucket or log group in that Region


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "must hold one mapping of names to names"),
        (
            "a: [1\n",
            "is not valid YAML or JSON: line 2, column 1: expected ',' or ']', but got "
            "'<stream end>' (while parsing a flow sequence); write one mapping of names to "
            "names, e.g. ",
        ),
        ("support-role: caf\xe9\n", "is not UTF-8 text (byte 0xe9 at offset 17); save it as UTF-8"),
    ],
)
def test_a_bad_mapping_file_is_one_line(tmp_path, capsys, text, message):
    bad = tmp_path / "map.yaml"
    bad.write_bytes(text.encode("latin-1"))
    out = tmp_path / "run" / "usage.parquet"
    assert _ingest("--source", str(GOOD), "--out", str(out), "--profile-map", str(bad)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --profile-map") and message in err
    assert err.count("\n") == 1  # PyYAML's own text quotes the line, with a caret under it
    assert not out.exists()


def _stubbed_bedrock(region: str) -> boto3.client:
    client = boto3.client(
        "bedrock", region_name=region, aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(client)
    stub.add_response(
        "get_inference_profile",
        {
            "inferenceProfileName": "support",
            "inferenceProfileArn": APP_ARN,
            "inferenceProfileId": "support01",
            "status": "ACTIVE",
            "type": "APPLICATION",
            "models": [
                {"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{SONNET4}"}
                for r in ("eu-west-1", "eu-central-1")
            ],
        },
        {"inferenceProfileIdentifier": APP_ARN},
    )
    stub.activate()
    return client


def test_unmapped_application_profiles_are_looked_up(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    regions: list[str] = []

    def client_for(self, region):
        regions.append(region)
        return _stubbed_bedrock(region)

    monkeypatch.setattr(models.ProfileLookup, "_aws_client", client_for)
    df = read_invocation_logs(_profile_logs(tmp_path), workers=1, progress=False)
    row = df.iloc[0]
    assert (row["model"], row["geo"]) == ("anthropic.claude-sonnet-4", "eu")
    assert regions == ["eu-west-1"]  # one client, in the profile's own Region
    assert df.attrs["ingest"]["profile_lookup_failures"] == {}


def test_no_lookup_when_asked_not_to(tmp_path, monkeypatch):
    def client_for(self, region):
        raise AssertionError("no client may be made")

    monkeypatch.setattr(models.ProfileLookup, "_aws_client", client_for)
    df = read_invocation_logs(
        _profile_logs(tmp_path), workers=1, progress=False, lookup_profiles=False
    )
    assert pd.isna(df.iloc[0]["model"])
    assert df.attrs["ingest"]["unknown_models"] == {APP_ARN: 1}


def test_without_credentials_the_report_says_why_a_profile_stayed_unknown(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    report = ingest_to_folder(_profile_logs(tmp_path), tmp_path / "run", workers=1, progress=False)
    reason = "no AWS credentials to call bedrock:GetInferenceProfile"
    assert report.profile_lookup_failures == {APP_ARN: reason}
    assert report.unknown_models == {APP_ARN: 1}
    assert f"    {reason}; map it with profile_map (--profile-map)" in report.summary()


def test_a_profile_that_does_not_exist_leaves_the_lookup_out_and_says_why(tmp_path, monkeypatch):
    """AWS_PROFILE naming no profile: a local folder is still read (the lookup is the only AWS
    call), and the report says why the profile stayed unknown (it gave no reason)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_PROFILE", "finops-typo")
    report = ingest_to_folder(_profile_logs(tmp_path), tmp_path / "run", workers=1, progress=False)
    assert report.rows == 1 and report.unknown_models == {APP_ARN: 1}
    assert report.profile_lookup_failures == {
        APP_ARN: "bedrock:GetInferenceProfile not called: no usable AWS credentials: the AWS "
        "profile 'finops-typo' is not in the AWS config files (ProfileNotFound: The config "
        "profile (finops-typo) could not be found). Fix: `aws configure list-profiles` lists "
        "the profiles there: set AWS_PROFILE to one of them (or unset it to use the default "
        "credentials)"
    }


def test_a_lookup_client_that_cannot_be_made_says_why(tmp_path, monkeypatch):
    """AWS_ENDPOINT_URL_BEDROCK without a scheme: boto3 refuses the client, and the report
    names that (the profile stayed unknown with no reason given)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "localhost:4566")
    report = ingest_to_folder(_profile_logs(tmp_path), tmp_path / "run", workers=1, progress=False)
    assert report.unknown_models == {APP_ARN: 1}
    assert report.profile_lookup_failures[APP_ARN].startswith(
        "bedrock:GetInferenceProfile failed (AWS endpoint URL 'localhost:4566' has no scheme: "
        "write it as https://localhost:4566"
    )


def test_a_profile_mapped_to_no_known_model_is_named_in_the_report(tmp_path):
    """The mapping was read, but its target is no model ID: the row stays unpriced, and the
    report says which entry to fix, not only that the profile is unknown."""
    report = ingest_to_folder(
        _profile_logs(tmp_path),
        tmp_path / "run",
        profile_map={"support01": "claude-sonnet"},
        workers=1,
        progress=False,
        lookup_profiles=False,
    )
    assert report.unknown_models == {APP_ARN: 1}
    assert report.profile_map_unknown_targets == {APP_ARN: "claude-sonnet"}
    assert (
        "    profile_map maps it to 'claude-sonnet', which is no model ID known here: give "
        "the Bedrock model ID it routes to, e.g. anthropic.claude-3-5-haiku-20241022-v1:0"
    ) in report.summary()


def test_a_marketplace_endpoint_is_unpriced_with_why_even_when_mapped(tmp_path):
    """Billed per hour of its SageMaker instances: a mapping to the serverless model does not
    price it per token, and the summary says why under the unknown ID."""
    endpoint = f"arn:aws:sagemaker:us-east-1:{ACCT}:endpoint/my-marketplace-llama"
    folder = _profile_logs(tmp_path)
    rec = json.loads((folder / "a.json").read_text())
    rec["modelId"] = endpoint
    (folder / "a.json").write_text(json.dumps(rec) + "\n")
    report = ingest_to_folder(
        folder, tmp_path / "run", profile_map={endpoint: "meta.llama3-1-8b-instruct-v1:0"},
        workers=1, progress=False, lookup_profiles=False,
    )  # fmt: skip
    why = (
        "Bedrock Marketplace endpoint: billed per hour of its SageMaker instances (and any "
        "model provider's fee), not per token"
    )
    assert (report.rows, report.unknown_models) == (1, {endpoint: 1})
    assert report.unknown_model_reasons == {endpoint: why}
    assert report.profile_map_unknown_targets == {}
    lines = report.summary().splitlines()
    at = lines.index(f"  unknown model (unpriced): {endpoint}: 1 rows")
    assert lines[at + 1] == f"    {why}"
    table = pq.read_table(tmp_path / "run" / "usage.parquet").to_pylist()
    assert (table[0]["model"], table[0]["model_id_raw"]) == (None, endpoint)


def test_the_summary_prints_on_a_terminal_that_is_not_utf8(tmp_path):
    """An unknown model ID with an accent, on a C locale: the summary shows it escaped and
    the command succeeds; it wrote its tables and then ended in a UnicodeEncodeError."""
    rec = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
    rec.update(requestId="req-accent-1", modelId="anthropic.claude-nouveau-modèle-v1:0")
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "run" / "usage.parquet"
    argv = ["ingest", "--workers", "1", "--source", str(folder), "--out", str(out)]
    done = run_ascii("-m", "bedrock_finops.cli", *argv)
    assert (done.returncode, done.stderr) == (0, b"")
    assert "  unknown model (unpriced): anthropic.claude-nouveau-mod\\xe8le-v1:0: 1 rows\n" in (
        done.stdout.decode("ascii")
    )
    assert pq.read_table(out).column("model_id_raw").to_pylist() == [rec["modelId"]]


# --- credential values in what the command prints ------------------------------------------

SECRET = "wJalrFakeSecretKey0123456789"  # an AWS_SECRET_ACCESS_KEY value the paths hold
REDACTED = "[redacted credential]"


def _ingest_captured(capsys, *argv: str) -> tuple[int, str]:
    """The ingest command's exit code, and its stdout and stderr together."""
    code = _ingest(*argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_no_line_the_command_prints_holds_a_credential_value(tmp_path, capsys, monkeypatch):
    """Logs and an output folder named after the secret key in the environment: the summary's
    source, the line saying an earlier table is replaced and each error line (an --out that is
    no .parquet, another ingest's folder, a source that does not exist) say it redacted, as
    `run` does; they printed it."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    source, run = tmp_path / SECRET / "logs", tmp_path / SECRET / "run"
    shutil.copytree(GOOD, source)
    shown_run = str(run).replace(SECRET, REDACTED)
    printed = []
    for _ in range(2):  # the second replaces the first's table, and says so
        code, text = _ingest_captured(capsys, "--source", str(source), "--out", f"{run}/u.parquet")
        assert code == 0, text
        printed.append(text)
    assert printed[0].splitlines()[0] == f"source            {source}".replace(SECRET, REDACTED)
    assert printed[1].splitlines()[-1] == (
        f"{shown_run}/u.parquet replaces the table an earlier ingest wrote there"
    )
    mistakes = {  # (source, --out): how the error line starts
        (source, f"{run}/u.txt"): f"error: --out {shown_run}/u.txt must name a .parquet file",
        (source, f"{run}/other.parquet"): (
            f"error: {shown_run} already holds the ingest that wrote u.parquet"
        ),
        (source / "gone", f"{run}/u.parquet"): (
            f"error: log folder {source / 'gone'} does not exist".replace(SECRET, REDACTED)
        ),
    }
    for (given, out), said in mistakes.items():
        code, text = _ingest_captured(capsys, "--source", str(given), "--out", out)
        assert code == 2, text
        assert text.startswith(said), text
        printed.append(text)
    assert [SECRET in text for text in printed] == [False] * len(printed)


def test_a_watched_ingests_notes_hold_no_credential_value(tmp_path, capsys, monkeypatch):
    """On a terminal the ingest says what it does before the summary (here: that it removed the
    scratch copy a killed ingest left in the output folder, named after the secret): that line
    is redacted too."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    run = tmp_path / SECRET / "run"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = run / f"{SCRATCH_PREFIX}{dead.pid}-0123456789ab"
    stale.mkdir(parents=True)
    code, text = _ingest_captured(capsys, "--source", str(GOOD), "--out", f"{run}/u.parquet")
    assert code == 0, text
    shown = str(stale).replace(SECRET, REDACTED)
    assert f"removed {shown}: the scratch copy of logs a stopped ingest left\n" in text
    assert SECRET not in text


def test_an_s3_source_named_after_a_credential_is_printed_redacted(
    tmp_path, capsys, monkeypatch, aws_client
):
    """An S3 prefix holding the secret key's value: the summary names the source redacted."""
    # the moto server's request log (werkzeug's, on stderr) is not the command's
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="logs-bucket")
    for part in GOOD.iterdir():
        s3.upload_file(str(part), "logs-bucket", f"{SECRET}/{part.name}")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)  # moto takes any key
    endpoint = s3.meta.endpoint_url
    argv = ["--source", f"s3://logs-bucket/{SECRET}", "--out", str(tmp_path / "u.parquet")]
    code, text = _ingest_captured(capsys, *argv, "--endpoint-url", endpoint)
    assert code == 0, text
    assert text.splitlines()[0] == f"source            s3://logs-bucket/{REDACTED}"
    assert SECRET not in text
