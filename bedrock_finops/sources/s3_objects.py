"""Reading S3 objects: streamed, read again when a stream is cut, and AWS's errors turned
into the run's error (access, credentials) or the object's quarantine reason."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bedrock_finops.sources.aws_clients import process_s3_client
from bedrock_finops.sources.source_errors import (
    CREDENTIAL_CODES,
    KMS_DENIAL,
    SourceError,
    UnreadableObject,
    aws_said,
    credential_setup_error,
    credential_setup_errors,
    credentials_error,
    explicit_deny,
    missing_allow_in,
)

S3_READ_ATTEMPTS = 3  # reads of an object whose stream is cut before it is quarantined
S3_RETRY_PAUSE_S = 0.5  # times the attempt number, between reads

# error codes that mean the run cannot read the bucket at all (not one object): the run stops
# with a clear error; any other error reading an object quarantines that object alone
_DENIED = frozenset({"AccessDenied", "403", "AllAccessDisabled", "KMS.AccessDeniedException"})
# GetObject's code for an object in an archive tier, not restored (GLACIER, DEEP_ARCHIVE, an
# Intelligent-Tiering archive access tier)
ARCHIVED = "InvalidObjectState"

# a request sent to another Region than the bucket's, that botocore could not redirect
_WRONG_REGION = frozenset(
    {
        "PermanentRedirect",
        "TemporaryRedirect",
        "301",
        "307",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",  # an opt-in Region's bucket, asked elsewhere
    }
)
# "The eu-south-1 location constraint is incompatible for the region specific endpoint ..."
_CONSTRAINT_REGION = re.compile(r"\bThe ([a-z]{2}(?:-[a-z]+)+-\d+) location constraint")
# a PermanentRedirect's Endpoint: bucket.s3.eu-west-1.amazonaws.com
_ENDPOINT_REGION = re.compile(r"\bs3[.-]([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.")
# error codes of requests botocore retried (throttling, a server error) until it gave up
_RETRIED = frozenset(
    {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling"}
)
_REQUESTER_PAYS_NOTE = (
    "; a Requester Pays bucket also answers 403 to requests that do not agree to pay "
    "(x-amz-request-payer), which the ingest does not send: read a copy in a bucket that is not "
    "Requester Pays"
)


def is_archived_entry(reason: str) -> bool:
    """Whether a quarantine reason is an S3 object's, unread because it is archived: the
    reason as :func:`_object_error` words it, from its start (a logged ``errorCode`` can hold
    any text, and a failed invocation's reason quotes it)."""
    return reason.startswith(f"unreadable S3 object ({ARCHIVED}: archived in ")


def _error_code(exc: Exception) -> tuple[str, str]:
    error = getattr(exc, "response", {}).get("Error", {})
    return error.get("Code", ""), error.get("Message", "")


def access_error(exc: Exception, bucket: str, key: str, action: str) -> SourceError:
    code, message = _error_code(exc)
    target = f"s3://{bucket}/{key}"
    said = aws_said(code, message)
    refused = credentials_error(code, message, target)
    if refused is not None:
        return refused
    if _sent_to_another_region(exc):
        return _wrong_region_error(exc, bucket, target)
    if code in _DENIED and (deny := explicit_deny(message)) is not None:
        why, fix = deny
        return SourceError(
            f"access denied reading {target} (bucket {bucket!r}): {why}{said}. Fix: {fix}"
        )
    if code == "KMS.AccessDeniedException" or (code in _DENIED and KMS_DENIAL.search(message)):
        return SourceError(
            f"access denied decrypting {target} (bucket {bucket!r}): the caller needs "
            f"kms:Decrypt on the KMS key that encrypts it{said}. Fix: grant "
            "kms:Decrypt on that key (in its key policy or the role's policy) to the role "
            "running the ingest"
        )
    if code in _DENIED:
        resource = (
            f"arn:aws:s3:::{bucket}"
            if action == "s3:ListBucket"
            else (f"arn:aws:s3:::{bucket}/{key or '*'}")
        )
        return SourceError(
            f"access denied reading {target} (bucket {bucket!r}): the caller needs "
            f"{action} on {resource}{said}. Fix: {_grant_fix(bucket, action, message)}"
        )
    if code == "NoSuchBucket":
        return SourceError(f"bucket {bucket!r} does not exist (from {target}); check the name")
    return SourceError(f"reading {target} failed: {exc}")


def _grant_fix(bucket: str, action: str, message: str) -> str:
    """What to grant for a plain denial, and where: the caller's policies, unless AWS names
    another policy that lacks the Allow (a VPC endpoint policy, a permissions boundary)."""
    grants = (
        f"s3:ListBucket on arn:aws:s3:::{bucket} and s3:GetObject on arn:aws:s3:::{bucket}/* "
        "(and kms:Decrypt if the bucket uses SSE-KMS)"
    )
    elsewhere = missing_allow_in(message)
    if elsewhere is not None:
        return f"allow {grants} in {elsewhere}, which AWS says lacks it"
    note = _REQUESTER_PAYS_NOTE if action == "s3:GetObject" else ""
    return f"grant {grants} to the role running the ingest{note}"


def _bucket_region(exc: Exception) -> str | None:
    """The bucket's Region as an S3 error tells it: ``x-amz-bucket-region``, the error's
    ``Region`` or ``Endpoint``, or an ``IllegalLocationConstraintException``'s message."""
    response = getattr(exc, "response", {}) or {}
    error = response.get("Error", {})
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    if region := headers.get("x-amz-bucket-region") or error.get("Region"):
        return region
    for pattern, text in (
        (_CONSTRAINT_REGION, error.get("Message", "")),
        (_ENDPOINT_REGION, error.get("Endpoint", "")),
    ):
        if found := pattern.search(text):
            return found.group(1)
    return None


def _sent_to_another_region(exc: Exception) -> bool:
    """Whether S3 refused the request for its Region (a malformed authorization header that
    names no Region is some other fault)."""
    code, _ = _error_code(exc)
    if code == "AuthorizationHeaderMalformed":
        return _bucket_region(exc) is not None
    return code in _WRONG_REGION


def _wrong_region_error(exc: Exception, bucket: str, target: str) -> SourceError:
    """A request sent to another Region than the bucket's, which botocore could not redirect."""
    code, message = _error_code(exc)
    region = _bucket_region(exc)
    said = aws_said(code, message)
    if region is None:
        return SourceError(
            f"reading {target} failed: the bucket {bucket!r} is in another Region than the "
            f"request was sent to{said}. Fix: pass its Region with --region (run.region in a "
            f"params file); `aws s3api get-bucket-location --bucket {bucket}` tells it"
        )
    return SourceError(
        f"reading {target} failed: the bucket {bucket!r} is in {region}{said}. Fix: pass "
        f"--region {region} (run.region in a params file)"
    )


def _object_error(exc: Exception, bucket: str, key: str) -> SourceError | UnreadableObject:
    """A GetObject error: run-wide (access, credentials, bucket) raises as
    :class:`SourceError`; any other is this object's :class:`UnreadableObject`."""
    code, message = _error_code(exc)
    if code in _DENIED | CREDENTIAL_CODES | {"NoSuchBucket"} or _sent_to_another_region(exc):
        return access_error(exc, bucket, key, "s3:GetObject")
    if code == "NoSuchKey":
        why = "deleted after it was listed, e.g. by a lifecycle rule"
    elif code == ARCHIVED:
        error = getattr(exc, "response", {}).get("Error", {})
        where = " ".join(filter(None, (error.get("StorageClass"), error.get("AccessTier"))))
        where = where or "an archive tier"
        why = f"archived in {where}; restore it (S3 RestoreObject) to ingest it"
    else:
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        why = message or f"HTTP {status}"
        if code in _RETRIED or (isinstance(status, int) and status >= 500):
            return UnreadableObject(
                f"unreadable S3 object ({code or status}: {why}) (still failing after every "
                "retry: run again)"
            )
    return UnreadableObject(f"unreadable S3 object ({code or type(exc).__name__}: {why})")


class ObjectTooLarge(Exception):
    """An object larger than the most its reader takes (``most`` bytes): not read."""

    def __init__(self, most: int) -> None:
        super().__init__(f"over {most:,} bytes")
        self.most = most


def read_s3_object(
    bucket: str,
    key: str,
    endpoint_url: str | None,
    region: str | None,
    client: Any | None = None,
    most: int | None = None,
) -> Iterator[bytes]:
    """Stream an object's bytes in 1 MiB chunks (one client per process and endpoint).

    Raises :class:`SourceError` when the run cannot read the bucket (access, credentials),
    :class:`UnreadableObject` when this object cannot be read (deleted, archived, an error
    that outlasted the retries), :class:`ObjectTooLarge` when it is over ``most`` bytes.
    """
    from botocore.exceptions import ClientError

    if client is None:
        client = process_s3_client(endpoint_url, region)
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        raise _object_error(exc, bucket, key) from None
    body = response["Body"]
    if most is not None and response.get("ContentLength", 0) > most:
        body.close()
        raise ObjectTooLarge(most)
    yield from body.iter_chunks(1 << 20)


def read_s3_bytes(
    bucket: str,
    key: str,
    endpoint_url: str | None,
    region: str | None,
    client: Any | None = None,
    attempts: int = S3_READ_ATTEMPTS,
    most: int | None = None,
) -> bytes:
    """An object's bytes, read again from the start when the connection drops part-way.

    boto3 retries a failed request, but not a body stream cut during the read (a reset
    connection, a read timeout); one such cut must not end an ingest of thousands of objects.
    Access errors raise :class:`SourceError` at once; :class:`UnreadableObject` when the
    object cannot be read (``read_s3_object``) or after ``attempts`` cut reads;
    :class:`ObjectTooLarge` when it is over ``most`` bytes (by its size, or as it is read).
    """
    parts: list[bytes] = []
    read = 0

    def restart() -> None:
        nonlocal read
        parts.clear()
        read = 0

    def add(chunk: bytes) -> None:
        nonlocal read
        read += len(chunk)
        if most is not None and read > most:
            raise ObjectTooLarge(most)
        parts.append(chunk)

    _read_retrying(bucket, key, endpoint_url, region, client, attempts, restart, add, most)
    return b"".join(parts)


def download_s3_object(
    bucket: str,
    key: str,
    path: Path,
    endpoint_url: str | None,
    region: str | None,
    client: Any | None = None,
    attempts: int = S3_READ_ATTEMPTS,
) -> None:
    """An object streamed into ``path``, with the retries and errors of ``read_s3_bytes``.

    One GET streamed to disk: the object is never in memory whole (boto3's ``download_file``
    splits it into ranged GETs instead, which was 6x slower against the test server)."""
    with path.open("wb") as f:

        def restart() -> None:
            f.seek(0)
            f.truncate()

        _read_retrying(bucket, key, endpoint_url, region, client, attempts, restart, f.write)


def _read_retrying(
    bucket: str,
    key: str,
    endpoint_url: str | None,
    region: str | None,
    client: Any | None,
    attempts: int,
    restart: Callable[[], Any],
    write: Callable[[bytes], Any],
    most: int | None = None,
) -> None:
    """Feed the object's chunks to ``write``; on a cut stream, ``restart`` and read again."""
    from botocore.exceptions import BotoCoreError

    for attempt in range(1, attempts + 1):
        restart()
        try:
            for chunk in read_s3_object(bucket, key, endpoint_url, region, client, most):
                write(chunk)
            return
        except BotoCoreError as exc:
            if isinstance(exc, credential_setup_errors()):  # the run's problem, not the object's
                raise credential_setup_error(exc, f"s3://{bucket}/{key}") from None
            if attempt == attempts:
                raise UnreadableObject(
                    f"unreadable S3 object ({type(exc).__name__} on {attempts} tries)"
                ) from exc
            time.sleep(S3_RETRY_PAUSE_S * attempt)
