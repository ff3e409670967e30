"""What `bedrock-finops ingest` says when the AWS credentials set up cannot be loaded: one line
naming the cause and the fix, exit 2.

Credentials are set up in AWS config files of the test's own and sent to the local moto server.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import botocore.credentials
import botocore.tokens
import pytest

from bedrock_finops import cli, runner
from bedrock_finops.params import ParamsError

pytestmark = pytest.mark.aws
BUCKET = "bedrock-logs"
GROUP = "/aws/bedrock/modelinvocations"
SSO_URL = "https://legacy.awsapps.com/start"


def _ingest(capsys, source: str, out: Path, *args: str) -> tuple[int, str]:
    """``bedrock-finops ingest`` as a user runs it: the exit code and what it printed on stderr."""
    argv = ["ingest", "--source", source, "--out", str(out / "usage.parquet"), "--workers", "1"]
    code = cli.main([*argv, *args])
    return code, capsys.readouterr().err


# ---------------------------------------------------------------------------- credentials


@pytest.fixture
def aws_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with AWS config files holding the profiles a first run meets, and no other
    credentials anywhere: set AWS_PROFILE to one of them."""
    home = tmp_path / "home"
    (home / ".aws" / "sso" / "cache").mkdir(parents=True)
    failing = home / "fail.py"
    failing.write_text("import sys\nsys.stderr.write('the token file is gone')\nsys.exit(1)\n")
    (home / ".aws" / "config").write_text(
        "[profile finops-sso]\nsso_session = corp\nsso_account_id = 111122223333\n"
        "sso_role_name = FinOpsReadOnly\nregion = us-east-1\n\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n"
        f"[profile legacy-sso]\nsso_start_url = {SSO_URL}\nsso_region = us-east-1\n"
        "sso_account_id = 111122223333\nsso_role_name = FinOpsReadOnly\nregion = us-east-1\n\n"
        "[profile assume]\nrole_arn = arn:aws:iam::111122223333:role/FinOps\n"
        "source_profile = missing-base\nregion = us-east-1\n\n"
        f"[profile procfail]\ncredential_process = {sys.executable} {failing}\n"
        "region = us-east-1\n"
    )
    # the legacy profile logged in once; its token expired since
    cached = home / ".aws" / "sso" / "cache" / f"{hashlib.sha1(SSO_URL.encode()).hexdigest()}.json"
    cached.write_text(json.dumps({
        "startUrl": SSO_URL, "region": "us-east-1", "accessToken": "x",
        "expiresAt": "2024-01-01T00:00:00Z",
    }))  # fmt: skip
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE", "AWS_PROFILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    # botocore reads SSO tokens from a folder it found in ~ when it was imported
    for provider in (botocore.credentials.SSOProvider, botocore.tokens.SSOTokenProvider):
        monkeypatch.setattr(provider, "_SSO_TOKEN_CACHE_DIR", str(home / ".aws" / "sso" / "cache"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return home


CREDENTIAL_CASES = {
    "finops-typo": (
        "the AWS profile 'finops-typo' is not in the AWS config files (ProfileNotFound: The "
        "config profile (finops-typo) could not be found). Fix: `aws configure list-profiles` "
        "lists the profiles there: set AWS_PROFILE to one of them (or unset it to use the "
        "default credentials)"
    ),
    "finops-sso": (
        "there is no SSO login for the profile yet (SSOTokenLoadError: Error loading SSO Token: "
        "Token for corp does not exist). Fix: run `aws sso login --profile finops-sso` and run "
        "again"
    ),
    "legacy-sso": (
        "the SSO login has expired (UnauthorizedSSOTokenError: The SSO session associated with "
        "this profile has expired or is otherwise invalid. To refresh this SSO session run aws "
        "sso login with the corresponding profile.). Fix: run `aws sso login --profile "
        "legacy-sso` and run again"
    ),
    "assume": (
        "the AWS profile's settings are broken (InvalidConfigError: The source_profile "
        '"missing-base" referenced in the profile "assume" does not exist.). Fix: correct the '
        "profile as the message says (`aws configure list` shows the profile and files in use) "
        "and run again"
    ),
    "procfail": (
        "the profile's credential_process failed (CredentialRetrievalError: Error when "
        "retrieving credentials from custom-process: the token file is gone). Fix: run that "
        "command yourself (`aws configure get credential_process` shows it) to see why, fix "
        "it, and run again"
    ),
}


@pytest.mark.parametrize("profile", list(CREDENTIAL_CASES))
@pytest.mark.parametrize(
    ("source", "target"),
    [
        (f"s3://{BUCKET}/", f"s3://{BUCKET}/"),
        (f"cloudwatch-logs://{GROUP}", f"log group '{GROUP}'"),
    ],
)
def test_credentials_that_cannot_be_loaded_are_one_line_with_the_fix(
    aws_home, moto_endpoint, tmp_path, capsys, monkeypatch, profile, source, target
):
    """A profile named wrongly (raised making the client), an SSO login never made or expired
    (raised at the first request), a broken assume-role profile, a failing credential_process:
    each names its fix, not a botocore traceback (exit 1)."""
    monkeypatch.setenv("AWS_PROFILE", profile)
    code, err = _ingest(capsys, source, tmp_path / "o", "--endpoint-url", moto_endpoint)
    assert (code, err) == (
        2,
        f"error: reading {target} failed: no usable AWS credentials: {CREDENTIAL_CASES[profile]}\n",
    )
    assert not (tmp_path / "o" / "usage.parquet").exists()


@pytest.mark.parametrize("command", [
    ["prices", "update", "--region", "us-east-1", "--out", "p.csv"],
    ["billing", "--cost-explorer", "2025-06-01", "2025-06-03"],
])  # fmt: skip
@pytest.mark.parametrize("profile", ["finops-typo", "legacy-sso", "procfail"])
def test_the_other_commands_that_call_aws_say_the_same(
    aws_home, moto_endpoint, tmp_path, capsys, monkeypatch, command, profile
):
    """`prices update` and `billing --cost-explorer` make their clients with boto3 directly;
    the command turns the same errors into the same line."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_PROFILE", profile)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    assert cli.main(command) == 2
    assert capsys.readouterr().err == (
        f"error: no usable AWS credentials: {CREDENTIAL_CASES[profile]}\n"
    )


def test_a_run_names_a_missing_profile_before_its_folder_is_made(aws_home, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "finops-typo")
    params = tmp_path / "params.yaml"
    params.write_text(f'run:\n  source: "s3://{BUCKET}/"\n')
    with pytest.raises(ParamsError) as err:
        runner.run(params, out_root=tmp_path / "out", log=lambda *_: None)
    assert str(err.value) == (
        f"{params}: run.source: reading s3://{BUCKET}/: no usable AWS credentials: "
        f"{CREDENTIAL_CASES['finops-typo']}"
    )
    assert not (tmp_path / "out").exists()


def test_a_run_whose_sso_login_expired_says_to_log_in(
    aws_home, moto_endpoint, tmp_path, capsys, monkeypatch
):
    """The login is found expired only at the first request: the ingest says it, the run exits
    2 and its manifest records it."""
    monkeypatch.setenv("AWS_PROFILE", "legacy-sso")
    params = tmp_path / "params.yaml"
    params.write_text(f'run:\n  source: "s3://{BUCKET}/"\n  endpoint_url: "{moto_endpoint}"\n')
    argv = ["run", "--params", str(params), "--out", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.endswith(
        f"error: reading s3://{BUCKET}/ failed: no usable AWS credentials: "
        f"{CREDENTIAL_CASES['legacy-sso']}\n"
    )
    (manifest,) = (tmp_path / "out").glob("*/manifest.json")
    assert "run `aws sso login --profile legacy-sso`" in json.loads(manifest.read_text())["error"]
