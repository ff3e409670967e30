"""What `bedrock-finops ingest` says when the AWS credentials set up cannot be loaded, when AWS
refuses a request (an explicit Deny, a KMS key, a Requester Pays bucket) and when a bucket is
in another Region: one line naming the cause and the fix (with AWS's own words), exit 2.

Credentials are set up in AWS config files of the test's own and sent to the local moto server;
what moto cannot answer (a Deny's message, a redirect botocore could not follow) is played with
botocore's Stubber and AWS-shaped errors (their messages as the IAM User Guide's "Troubleshoot
access denied error messages" and the S3 and CloudWatch Logs docs give them).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import boto3
import botocore.credentials
import botocore.tokens
import pytest
from botocore.stub import Stubber

from bedrock_finops import cli, runner
from bedrock_finops.params import ParamsError
from bedrock_finops.sources import aws_clients, cloudwatch_logs
from bedrock_finops.sources import invocation_logs as logs

pytestmark = pytest.mark.aws
BUCKET = "bedrock-logs"
GROUP = "/aws/bedrock/modelinvocations"
KEY = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/a.json.gz"
ROLE = "arn:aws:sts::111122223333:assumed-role/FinOps/ingest"
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


def test_a_bad_aws_default_profile_is_named_as_the_one_to_fix(
    aws_home, moto_endpoint, tmp_path, capsys, monkeypatch
):
    """botocore reads AWS_DEFAULT_PROFILE before AWS_PROFILE: with a bad one set, setting
    AWS_PROFILE (the usual fix) changes nothing, so the fix names the variable to correct."""
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "finops-typo")
    monkeypatch.setenv("AWS_PROFILE", "procfail")
    code, err = _ingest(capsys, f"s3://{BUCKET}/", tmp_path / "o", "--endpoint-url", moto_endpoint)
    assert (code, err) == (
        2,
        f"error: reading s3://{BUCKET}/ failed: no usable AWS credentials: the AWS profile "
        "'finops-typo' is not in the AWS config files (ProfileNotFound: The config profile "
        "(finops-typo) could not be found). Fix: `aws configure list-profiles` lists the "
        "profiles there: AWS_DEFAULT_PROFILE names it, and boto3 reads it before AWS_PROFILE: "
        "set it to one of them, or unset it\n",
    )


def test_no_region_says_which_variable_boto3_reads(aws_home, tmp_path, capsys, monkeypatch):
    """boto3 reads AWS_DEFAULT_REGION, not AWS_REGION (which other SDKs read): a user who set
    only AWS_REGION is told so."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    code, err = _ingest(capsys, f"cloudwatch-logs://{GROUP}", tmp_path / "o")
    assert code == 2
    assert err.startswith("error: ")
    assert err.endswith(
        "; pass --region or set AWS_DEFAULT_REGION (boto3 does not read AWS_REGION)\n"
    )


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


# ---------------------------------------------------------------------------- S3 refusals


def _stubbed_s3(monkeypatch: pytest.MonkeyPatch, list_error: dict | None = None,
                get_error: dict | None = None) -> Stubber:  # fmt: skip
    """The ingest's S3 client is a Stubber's: the listing fails with ``list_error`` or lists
    one object, whose GetObject fails with ``get_error``."""
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(s3)
    if list_error is not None:
        stub.add_client_error("list_objects_v2", **list_error)
    else:
        stub.add_response(
            "list_objects_v2", {"Contents": [{"Key": KEY, "Size": 100}], "IsTruncated": False}
        )
        stub.add_client_error("get_object", expected_params={"Bucket": BUCKET, "Key": KEY},
                              **(get_error or {}))  # fmt: skip
    monkeypatch.setattr(logs, "s3_client", lambda *_: s3)  # the listing's
    monkeypatch.setattr(aws_clients, "s3_client", lambda *_: s3)  # the reads'
    monkeypatch.setattr(aws_clients, "_S3_CLIENTS", {})
    return stub


def _denied(message: str, code: str = "AccessDenied") -> dict:
    return {"service_error_code": code, "service_message": message, "http_status_code": 403}


def _not_authorized(action: str, resource: str, because: str) -> str:
    return (
        f'User: {ROLE} is not authorized to perform: {action} on resource: "{resource}" {because}'
    )


SCP_DENY = _not_authorized(
    "s3:ListBucket", f"arn:aws:s3:::{BUCKET}",
    "with an explicit deny in a service control policy: "
    "arn:aws:organizations::999988887777:policy/o-abcd1234/service_control_policy/p-abcd1234",
)  # fmt: skip
VPCE_DENY = _not_authorized(
    "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "with an explicit deny in a VPC endpoint policy"
)
BOUNDARY_DENY = _not_authorized(
    "s3:GetObject",
    f"arn:aws:s3:::{BUCKET}/{KEY}",
    "with an explicit deny in a permissions boundary",
)
IDENTITY_DENY = _not_authorized(
    "s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "with an explicit deny in an identity-based policy"
)
KMS_DENY = _not_authorized(
    "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k1",
    "with an explicit deny in a resource-based policy",
)  # fmt: skip
VPCE_NO_ALLOW = _not_authorized(
    "s3:GetObject", f"arn:aws:s3:::{BUCKET}/{KEY}",
    "because no VPC endpoint policy allows the s3:GetObject action",
)  # fmt: skip
NO_EXEMPTION = "to exempt the role running the ingest, or run it as one the Deny does not cover"
GRANTS = (
    f"s3:ListBucket on arn:aws:s3:::{BUCKET} and s3:GetObject on arn:aws:s3:::{BUCKET}/* (and "
    "kms:Decrypt if the bucket uses SSE-KMS)"
)


@pytest.mark.parametrize(
    ("list_error", "get_error", "message"),
    [
        (_denied(SCP_DENY), None,
         f"access denied reading s3://{BUCKET}/ (bucket '{BUCKET}'): an explicit Deny in a "
         f"service control policy blocks the request (AccessDenied: {SCP_DENY}). Fix: no Allow "
         "overrides a Deny: ask whoever manages the organization's service control policies "
         f"(AWS Organizations) {NO_EXEMPTION}"),
        (_denied(VPCE_DENY), None,
         f"access denied reading s3://{BUCKET}/ (bucket '{BUCKET}'): an explicit Deny in a VPC "
         f"endpoint policy blocks the request (AccessDenied: {VPCE_DENY}). Fix: no Allow "
         "overrides a Deny: ask whoever manages the policy of the VPC endpoint the request went "
         f"through {NO_EXEMPTION}"),
        (_denied(IDENTITY_DENY), None,
         f"access denied reading s3://{BUCKET}/ (bucket '{BUCKET}'): an explicit Deny in an "
         f"identity-based policy blocks the request (AccessDenied: {IDENTITY_DENY}). Fix: no "
         "Allow overrides a Deny: ask whoever manages the policies attached to the role or "
         f"user running the ingest {NO_EXEMPTION}"),
        (None, _denied(BOUNDARY_DENY),
         f"access denied reading s3://{BUCKET}/{KEY} (bucket '{BUCKET}'): an explicit Deny in a "
         f"permissions boundary blocks the request (AccessDenied: {BOUNDARY_DENY}). Fix: no "
         "Allow overrides a Deny: ask whoever manages the permissions boundary of the role or "
         f"user running the ingest {NO_EXEMPTION}"),
        # a Deny on the object's KMS key: not "grant kms:Decrypt"
        (None, _denied(KMS_DENY),
         f"access denied reading s3://{BUCKET}/{KEY} (bucket '{BUCKET}'): an explicit Deny in a "
         f"resource-based policy blocks the request (AccessDenied: {KMS_DENY}). Fix: no Allow "
         "overrides a Deny: ask whoever manages the resource's own policy (a bucket policy, a "
         f"key policy) {NO_EXEMPTION}"),
        # the Allow is missing in the VPC endpoint's policy, not the role's
        (None, _denied(VPCE_NO_ALLOW),
         f"access denied reading s3://{BUCKET}/{KEY} (bucket '{BUCKET}'): the caller needs "
         f"s3:GetObject on arn:aws:s3:::{BUCKET}/{KEY} (AccessDenied: {VPCE_NO_ALLOW}). Fix: "
         f"allow {GRANTS} in the policy of the VPC endpoint the request went through, which "
         "AWS says lacks it"),
        # what a Requester Pays bucket answers a request that does not agree to pay
        (None, _denied("Access Denied"),
         f"access denied reading s3://{BUCKET}/{KEY} (bucket '{BUCKET}'): the caller needs "
         f"s3:GetObject on arn:aws:s3:::{BUCKET}/{KEY} (AccessDenied: Access Denied). Fix: "
         f"grant {GRANTS} to the role running the ingest; a Requester Pays bucket also answers "
         "403 to requests that do not agree to pay (x-amz-request-payer), which the ingest does "
         "not send: read a copy in a bucket that is not Requester Pays"),
        (_denied("Access Denied"), None,
         f"access denied reading s3://{BUCKET}/ (bucket '{BUCKET}'): the caller needs "
         f"s3:ListBucket on arn:aws:s3:::{BUCKET} (AccessDenied: Access Denied). Fix: grant "
         f"{GRANTS} to the role running the ingest"),
    ],
)  # fmt: skip
def test_a_denial_says_what_aws_said_and_the_fix_that_fits_it(
    tmp_path, capsys, monkeypatch, list_error, get_error, message
):
    """An explicit Deny (an SCP, a VPC endpoint policy, a permissions boundary) is not fixed by
    granting anything: the error says so and names where the Deny is, with AWS's own text."""
    stub = _stubbed_s3(monkeypatch, list_error, get_error)
    with stub:
        code, err = _ingest(capsys, f"s3://{BUCKET}/", tmp_path / "o")
    assert (code, err) == (2, f"error: {message}\n")
    stub.assert_no_pending_responses()


REDIRECT = (
    "The bucket you are attempting to access must be addressed using the specified endpoint. "
    "Please send all future requests to this endpoint."
)
CONSTRAINT = (
    "The eu-south-1 location constraint is incompatible for the region specific endpoint this "
    "request was sent to."
)


@pytest.mark.parametrize(
    ("error", "region", "said"),
    [
        ({"service_error_code": "PermanentRedirect", "service_message": REDIRECT,
          "http_status_code": 301,
          "response_meta": {"HTTPHeaders": {"x-amz-bucket-region": "eu-west-1"}}},
         "eu-west-1", f"PermanentRedirect: {REDIRECT}"),
        ({"service_error_code": "AuthorizationHeaderMalformed",
          "service_message": "The authorization header is malformed; the region 'us-east-1' is "
          "wrong; expecting 'eu-west-1'", "http_status_code": 400,
          "service_error_meta": {"Region": "eu-west-1"}},
         "eu-west-1", "AuthorizationHeaderMalformed: The authorization header is malformed; the "
         "region 'us-east-1' is wrong; expecting 'eu-west-1'"),
        ({"service_error_code": "IllegalLocationConstraintException",
          "service_message": CONSTRAINT, "http_status_code": 400},
         "eu-south-1", f"IllegalLocationConstraintException: {CONSTRAINT}"),
        ({"service_error_code": "PermanentRedirect", "service_message": REDIRECT,
          "http_status_code": 301,
          "service_error_meta": {"Endpoint": f"{BUCKET}.s3.ap-southeast-2.amazonaws.com"}},
         "ap-southeast-2", f"PermanentRedirect: {REDIRECT}"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("failing", ["list", "get"])
def test_a_bucket_in_another_region_says_which(
    tmp_path, capsys, monkeypatch, error, region, said, failing
):
    """A redirect botocore could not follow (it follows those it can) names the bucket's
    Region, from the error's header, Region, endpoint or message; on GetObject too, where it is
    the run's error rather than each object's quarantine entry."""
    stub = _stubbed_s3(monkeypatch, *((error, None) if failing == "list" else (None, error)))
    with stub:
        code, err = _ingest(capsys, f"s3://{BUCKET}/", tmp_path / "o")
    target = f"s3://{BUCKET}/" + ("" if failing == "list" else KEY)
    assert (code, err) == (
        2,
        f"error: reading {target} failed: the bucket '{BUCKET}' is in {region} ({said}). Fix: "
        f"pass --region {region} (run.region in a params file)\n",
    )


def test_a_redirect_that_names_no_region_says_how_to_find_it(tmp_path, capsys, monkeypatch):
    error = {"service_error_code": "PermanentRedirect", "service_message": REDIRECT,
             "http_status_code": 301}  # fmt: skip
    with _stubbed_s3(monkeypatch, error):
        code, err = _ingest(capsys, f"s3://{BUCKET}/", tmp_path / "o")
    assert (code, err) == (
        2,
        f"error: reading s3://{BUCKET}/ failed: the bucket '{BUCKET}' is in another Region than "
        f"the request was sent to (PermanentRedirect: {REDIRECT}). Fix: pass its Region with "
        f"--region (run.region in a params file); `aws s3api get-bucket-location --bucket "
        f"{BUCKET}` tells it\n",
    )


def test_a_malformed_authorization_that_names_no_region_is_not_called_a_region(
    tmp_path, capsys, monkeypatch
):
    error = {
        "service_error_code": "AuthorizationHeaderMalformed",
        "service_message": "The authorization header is malformed",
        "http_status_code": 400,
    }
    with _stubbed_s3(monkeypatch, error):
        code, err = _ingest(capsys, f"s3://{BUCKET}/", tmp_path / "o")
    assert code == 2
    assert "Region" not in err and "AuthorizationHeaderMalformed" in err


# ---------------------------------------------------------------------------- CloudWatch Logs


def _stubbed_logs(monkeypatch: pytest.MonkeyPatch, error: dict) -> Stubber:
    logs_client = boto3.client(
        "logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(logs_client)
    stub.add_client_error("filter_log_events", **error)
    monkeypatch.setattr(cloudwatch_logs, "aws_client", lambda *_: logs_client)
    return stub


CW_RESOURCE = f"arn:aws:logs:us-east-1:111122223333:log-group:{GROUP}:log-stream:"
CW_SCP_DENY = (
    f"User: {ROLE} is not authorized to perform: logs:FilterLogEvents on resource: "
    f"{CW_RESOURCE} with an explicit deny in a service control policy"
)
CW_VPCE_NO_ALLOW = (
    f"User: {ROLE} is not authorized to perform: logs:FilterLogEvents on resource: "
    f"{CW_RESOURCE} because no VPC endpoint policy allows the logs:FilterLogEvents action"
)
CW_KMS = (
    "The specified KMS key does not exist or is not allowed to be used with Arn "
    f"'arn:aws:logs:us-east-1:111122223333:log-group:{GROUP}'"
)
CW_KMS_DECRYPT = (
    f"User: {ROLE} is not authorized to perform: kms:Decrypt on resource: "
    "arn:aws:kms:us-east-1:111122223333:key/k1 because no resource-based policy allows the "
    "kms:Decrypt action"
)
KMS_FIX = (
    "the key's policy must allow the service principal logs.us-east-1.amazonaws.com "
    "kms:Decrypt (with kms:Encrypt*, kms:ReEncrypt*, kms:GenerateDataKey* and kms:Describe*) "
    "for this group; `aws logs describe-log-groups` shows its kmsKeyId. Granting "
    "logs:FilterLogEvents does not help"
)
GROUP_RESOURCE = f"arn:aws:logs:us-east-1:*:log-group:{GROUP}:*"


@pytest.mark.parametrize(
    ("message", "says"),
    [
        (CW_SCP_DENY,
         f"access denied reading log group '{GROUP}': an explicit Deny in a service control "
         f"policy blocks the request (AccessDeniedException: {CW_SCP_DENY}). Fix: no Allow "
         "overrides a Deny: ask whoever manages the organization's service control policies "
         f"(AWS Organizations) {NO_EXEMPTION}"),
        (CW_KMS,
         f"access denied reading log group '{GROUP}': it is encrypted with a KMS key that "
         f"CloudWatch Logs cannot use (AccessDeniedException: {CW_KMS}). Fix: {KMS_FIX}"),
        (CW_KMS_DECRYPT,
         f"access denied reading log group '{GROUP}': it is encrypted with a KMS key that "
         f"CloudWatch Logs cannot use (AccessDeniedException: {CW_KMS_DECRYPT}). Fix: {KMS_FIX}"),
        (CW_VPCE_NO_ALLOW,
         f"access denied reading log group '{GROUP}': the caller needs logs:FilterLogEvents on "
         f"it (AccessDeniedException: {CW_VPCE_NO_ALLOW}). Fix: allow logs:FilterLogEvents on "
         f"{GROUP_RESOURCE} in the policy of the VPC endpoint the request went through, which "
         "AWS says lacks it"),
        (f"User: {ROLE} is not authorized to perform: logs:FilterLogEvents on resource: "
         f"{CW_RESOURCE} because no identity-based policy allows the logs:FilterLogEvents action",
         f"access denied reading log group '{GROUP}': the caller needs logs:FilterLogEvents on "
         f"it (AccessDeniedException: User: {ROLE} is not authorized to perform: "
         f"logs:FilterLogEvents on resource: {CW_RESOURCE} because no identity-based policy "
         "allows the logs:FilterLogEvents action). Fix: grant logs:FilterLogEvents on "
         f"{GROUP_RESOURCE}"),
    ],
)  # fmt: skip
def test_a_log_group_denial_says_what_aws_said_and_the_fix_that_fits_it(
    tmp_path, capsys, monkeypatch, message, says
):
    error = {"service_error_code": "AccessDeniedException", "service_message": message,
             "http_status_code": 400}  # fmt: skip
    stub = _stubbed_logs(monkeypatch, error)
    with stub:
        code, err = _ingest(capsys, f"cloudwatch-logs://{GROUP}", tmp_path / "o")
    assert (code, err) == (2, f"error: {says}\n")


def test_a_group_named_without_its_slash_suggests_it(aws_client, tmp_path, capsys):
    """``cloudwatch-logs://aws/bedrock/...`` names the group ``aws/bedrock/...``, which is not
    Bedrock's ``/aws/bedrock/...``: the error says which was meant."""
    logs_client = aws_client("logs")
    logs_client.create_log_group(logGroupName=GROUP)
    endpoint = logs_client.meta.endpoint_url
    code, err = _ingest(
        capsys, f"cloudwatch-logs://{GROUP[1:]}", tmp_path / "o", "--endpoint-url", endpoint
    )
    assert (code, err) == (
        2,
        f"error: log group '{GROUP[1:]}' not found in us-east-1; check the name and region "
        "(model invocation logging settings show the group); did you mean "
        f"'{GROUP}' (cloudwatch-logs://{GROUP})?\n",
    )
    code, err = _ingest(
        capsys, f"cloudwatch-logs://{GROUP}-x", tmp_path / "o", "--endpoint-url", endpoint
    )  # a name with its slash: no suggestion
    assert (code, err) == (
        2,
        f"error: log group '{GROUP}-x' not found in us-east-1; check the name and region "
        "(model invocation logging settings show the group)\n",
    )


def test_a_group_arn_without_the_slash_suggests_the_arn_with_it(tmp_path, capsys, monkeypatch):
    arn = "arn:aws:logs:us-east-1:999988887777:log-group:aws/bedrock/modelinvocations"
    error = {
        "service_error_code": "ResourceNotFoundException",
        "service_message": "The specified log group does not exist.",
        "http_status_code": 400,
    }
    with _stubbed_logs(monkeypatch, error):
        code, err = _ingest(capsys, f"cloudwatch-logs://{arn}:*", tmp_path / "o")
    slashed = arn.replace(":log-group:", ":log-group:/")
    assert (code, err) == (
        2,
        f"error: log group '{arn}' not found in us-east-1; check the name and region (model "
        "invocation logging settings show the group); did you mean "
        f"'{GROUP}' (cloudwatch-logs://{slashed}:*)?\n",
    )
