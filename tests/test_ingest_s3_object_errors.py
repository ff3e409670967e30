"""An S3 object that cannot be read (archived, deleted after the listing, a server error) is one
quarantine entry and the ingest goes on; access, KMS and credential errors still stop the run
with a clear error. Against the local moto server; botocore's Stubber where moto cannot fail."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.sources import aws_clients
from bedrock_finops.sources import invocation_logs as logs

pytestmark = pytest.mark.aws
BUCKET = "bedrock-logs-object-errors"
HOUR = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1/2025/06/02"
KEYS = [f"{HOUR}/10/a.json.gz", f"{HOUR}/11/b.json.gz", f"{HOUR}/12/c.json.gz"]
GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
BASE = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
IDS = {KEYS[0]: [f"a-{i}" for i in range(5)], KEYS[2]: [f"c-{i}" for i in range(3)]}
ARCHIVED = (
    "unreadable S3 object (InvalidObjectState: archived in {}; restore it (S3 RestoreObject) "
    "to ingest it)"
)
DELETED = "unreadable S3 object (NoSuchKey: deleted after it was listed, e.g. by a lifecycle rule)"


def _body(ids: list[str]) -> bytes:
    return gzip.compress("".join(json.dumps({**BASE, "requestId": i}) + "\n" for i in ids).encode())


def _bucket(s3, storage_class: str = "STANDARD") -> None:
    """a and c: good objects; b (its records would be b-0 .. b-3) in ``storage_class``."""
    s3.create_bucket(Bucket=BUCKET)
    for key in KEYS:
        body = _body(IDS.get(key, [f"b-{i}" for i in range(4)]))
        sc = storage_class if key == KEYS[1] else "STANDARD"
        s3.put_object(Bucket=BUCKET, Key=key, Body=body, StorageClass=sc)


def _ingest(tmp_path: Path, **kwargs):
    report = ingest_to_folder(f"s3://{BUCKET}/", tmp_path, progress=False, **kwargs)
    usage = pq.read_table(tmp_path / "usage.parquet").column("request_id").to_pylist()
    quarantine = pq.read_table(tmp_path / "quarantine.parquet").to_pylist()
    return report, usage, [(q["source"], q["line"], q["reason"]) for q in quarantine]


def _assert_one_object_quarantined(report, usage, quarantine, reason: str) -> None:
    assert usage == IDS[KEYS[0]] + IDS[KEYS[2]]
    assert quarantine == [(KEYS[1], 1, reason)]
    assert report.quarantine_by_reason == {reason: 1}
    assert (report.files_read, report.rows, report.quarantined, report.duplicates) == (3, 8, 1, 0)
    assert report.lines_read == 9 == report.rows + report.quarantined + report.duplicates


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
@pytest.mark.parametrize("read_ahead", [True, False])
def test_an_archived_object_is_one_quarantine_entry(
    aws_client, tmp_path, storage_class, read_ahead
):
    """Read ahead on threads (no client given) or in order (a client given): the same."""
    s3 = aws_client("s3")
    _bucket(s3, storage_class)
    kwargs = {"endpoint_url": s3.meta.endpoint_url, "workers": 1}
    if not read_ahead:
        kwargs["s3_client"] = s3
    report, usage, quarantine = _ingest(tmp_path, **kwargs)
    _assert_one_object_quarantined(report, usage, quarantine, ARCHIVED.format(storage_class))


def test_archived_objects_are_noted_when_listed(aws_client):
    s3 = aws_client("s3")
    _bucket(s3, "DEEP_ARCHIVE")
    s3.put_object(Bucket=BUCKET, Key=f"{HOUR}/13/d.json.gz", Body=b"x", StorageClass="GLACIER")
    s3.put_object(Bucket=BUCKET, Key=f"{HOUR}/14/e.json.gz", Body=b"x", StorageClass="GLACIER_IR")
    notes: list[str] = []
    listing = logs.list_s3(f"s3://{BUCKET}", None, None, client=s3, note=notes.append)
    assert len(listing.units) == 5
    assert notes == [
        "2 of 5 log objects are stored in GLACIER or DEEP_ARCHIVE: each not restored "
        "(S3 RestoreObject) cannot be read and is quarantined"
    ]


@pytest.mark.parametrize("workers", [1, 2])
def test_an_object_deleted_after_the_listing_is_one_quarantine_entry(
    aws_client, tmp_path, monkeypatch, workers
):
    s3 = aws_client("s3")
    _bucket(s3)
    list_s3 = logs.list_s3

    def list_then_delete(*args, **kwargs):
        listing = list_s3(*args, **kwargs)
        s3.delete_object(Bucket=BUCKET, Key=KEYS[1])  # e.g. a lifecycle rule expires it now
        return listing

    monkeypatch.setattr(logs, "list_s3", list_then_delete)
    report, usage, quarantine = _ingest(
        tmp_path, endpoint_url=s3.meta.endpoint_url, workers=workers
    )
    _assert_one_object_quarantined(report, usage, quarantine, DELETED)


def _stubbed(error: dict) -> tuple[object, Stubber]:
    """A client that lists the three keys, reads a, fails b with ``error`` and reads c."""
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stub = Stubber(s3)
    contents = [{"Key": key, "Size": 100} for key in KEYS]
    stub.add_response("list_objects_v2", {"Contents": contents, "IsTruncated": False})
    for key in KEYS:
        if key == KEYS[1]:
            stub.add_client_error(
                "get_object", expected_params={"Bucket": BUCKET, "Key": key}, **error
            )
            continue
        data = _body(IDS[key])
        stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(data), len(data))},
            {"Bucket": BUCKET, "Key": key},
        )
    return s3, stub


@pytest.mark.parametrize(
    "error, reason",
    [
        (
            {"service_error_code": "NoSuchKey", "http_status_code": 404},
            "unreadable S3 object (NoSuchKey: deleted after it was listed, e.g. by a "
            "lifecycle rule)",
        ),
        (
            {
                "service_error_code": "InvalidObjectState",
                "service_message": "The operation is not valid for the object's storage class",
                "http_status_code": 403,
            },
            ARCHIVED.format("an archive tier"),
        ),
        (
            {
                "service_error_code": "InternalError",
                "service_message": "We encountered an internal error. Please try again.",
                "http_status_code": 500,
            },
            "unreadable S3 object (InternalError: We encountered an internal error. Please "
            "try again.) (still failing after every retry: run again)",
        ),
        (
            {
                "service_error_code": "ServiceUnavailable",
                "service_message": "Service is unable to handle request.",
                "http_status_code": 503,
            },
            "unreadable S3 object (ServiceUnavailable: Service is unable to handle request.) "
            "(still failing after every retry: run again)",
        ),
        (
            {
                "service_error_code": "KMS.DisabledException",
                "service_message": "arn:aws:kms:us-east-1:111122223333:key/k1 is disabled.",
                "http_status_code": 400,
            },
            "unreadable S3 object (KMS.DisabledException: "
            "arn:aws:kms:us-east-1:111122223333:key/k1 is disabled.)",
        ),
        (
            {"service_error_code": "SlowDown", "service_message": "", "http_status_code": 503},
            "unreadable S3 object (SlowDown: HTTP 503) (still failing after every retry: run "
            "again)",
        ),
        (
            {"service_error_code": "", "service_message": "", "http_status_code": 502},
            "unreadable S3 object (502: HTTP 502) (still failing after every retry: run again)",
        ),
    ],
)
def test_an_object_error_is_its_quarantine_entry(tmp_path, error, reason):
    s3, stub = _stubbed(error)
    with stub:
        report, usage, quarantine = _ingest(tmp_path, s3_client=s3)
    stub.assert_no_pending_responses()
    _assert_one_object_quarantined(report, usage, quarantine, reason)


@pytest.mark.parametrize(
    "error, message",
    [
        (
            {"service_error_code": "AccessDenied", "http_status_code": 403},
            f"access denied reading s3://{BUCKET}/{KEYS[1]} (bucket '{BUCKET}'): the caller "
            f"needs s3:GetObject on arn:aws:s3:::{BUCKET}/{KEYS[1]}",
        ),
        (
            {
                "service_error_code": "AccessDenied",
                "service_message": "User: arn:aws:sts::111122223333:assumed-role/r/s is not "
                "authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:"
                "111122223333:key/k1",
                "http_status_code": 403,
            },
            f"access denied decrypting s3://{BUCKET}/{KEYS[1]} (bucket '{BUCKET}'): the caller "
            "needs kms:Decrypt on the KMS key that encrypts it",
        ),
        (
            {
                "service_error_code": "KMS.AccessDeniedException",
                "service_message": "not allowed",
                "http_status_code": 400,
            },
            f"access denied decrypting s3://{BUCKET}/{KEYS[1]} (bucket '{BUCKET}'): the caller "
            "needs kms:Decrypt on the KMS key that encrypts it (KMS.AccessDeniedException: not "
            "allowed). Fix: grant kms:Decrypt on that key",
        ),
        (
            {
                "service_error_code": "ExpiredToken",
                "service_message": "The provided token has expired.",
                "http_status_code": 400,
            },
            f"reading s3://{BUCKET}/{KEYS[1]} failed: the credentials have expired or their "
            "session token is invalid (ExpiredToken: The provided token has expired.). Fix: "
            "refresh them",
        ),
        (
            {
                "service_error_code": "InvalidAccessKeyId",
                "service_message": "The AWS Access Key Id you provided does not exist.",
                "http_status_code": 403,
            },
            f"reading s3://{BUCKET}/{KEYS[1]} failed: AWS does not know the access key ID "
            "(InvalidAccessKeyId: The AWS Access Key Id you provided does not exist.). Fix: "
            "check AWS_ACCESS_KEY_ID",
        ),
        (
            {
                "service_error_code": "SignatureDoesNotMatch",
                "service_message": "The request signature we calculated does not match.",
                "http_status_code": 403,
            },
            f"reading s3://{BUCKET}/{KEYS[1]} failed: the secret access key does not match "
            "the access key ID (SignatureDoesNotMatch: The request signature we calculated "
            "does not match.). Fix: check AWS_SECRET_ACCESS_KEY",
        ),
    ],
)
def test_access_and_credential_errors_still_stop_the_run(tmp_path, error, message):
    s3, stub = _stubbed(error)
    with stub, pytest.raises(IngestError) as err:
        ingest_to_folder(f"s3://{BUCKET}/", tmp_path, s3_client=s3, progress=False)
    assert str(err.value).startswith(message)
    assert not (tmp_path / "usage.parquet").exists()


class _CredentialsExpireAfterListing:
    """A moto S3 client whose credentials stop refreshing once the listing is done."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_object(self, **kwargs):
        from botocore.exceptions import UnauthorizedSSOTokenError

        raise UnauthorizedSSOTokenError()


def test_credentials_that_stop_refreshing_stop_the_run(aws_client, tmp_path):
    """Not one quarantine entry per object for the rest of the run: a clear error."""
    s3 = aws_client("s3")
    _bucket(s3)
    with pytest.raises(IngestError, match=r"no usable AWS credentials.*aws sso login"):
        ingest_to_folder(
            f"s3://{BUCKET}/",
            tmp_path,
            s3_client=_CredentialsExpireAfterListing(s3),
            workers=1,
            progress=False,
        )
    assert not (tmp_path / "usage.parquet").exists()


def test_clients_come_from_boto3s_default_session(tmp_path, monkeypatch):
    """A notebook's setup_default_session(profile_name=...) applies to the ingest's clients."""
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n[profile finops]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    assert aws_clients.aws_client("s3").meta.region_name == "us-east-1"
    boto3.setup_default_session(profile_name="finops")
    assert aws_clients.aws_client("s3").meta.region_name == "eu-west-1"
