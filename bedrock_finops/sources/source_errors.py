"""The two ways reading a log source fails: the whole run, or one S3 object."""

from __future__ import annotations


class SourceError(RuntimeError):
    """The source cannot be read; the message names the problem and the fix."""


class UnreadableObject(RuntimeError):
    """An S3 object that cannot be read (deleted, archived, or its download kept breaking):
    the message is its quarantine reason."""


# AWS's codes for credentials it does not accept, by service: the key is unknown, the secret
# does not match it, or a session token is expired or invalid
_UNKNOWN_KEY = frozenset(
    {"InvalidAccessKeyId", "UnrecognizedClientException", "InvalidClientTokenId"}
)
_BAD_SIGNATURE = frozenset({"SignatureDoesNotMatch", "InvalidSignatureException"})
_EXPIRED = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "InvalidToken", "TokenRefreshRequired"}
)
# the request's own time is too far from AWS's: the machine's clock is off
_CLOCK = frozenset({"RequestExpired", "RequestTimeTooSkewed"})
CREDENTIAL_CODES = _UNKNOWN_KEY | _BAD_SIGNATURE | _EXPIRED | _CLOCK


def credentials_error(code: str, message: str, target: str) -> SourceError | None:
    """The run's error when AWS refused the credentials themselves (not a permission)."""
    said = message.lower()
    skewed = code in _BAD_SIGNATURE and any(
        w in said for w in ("expired", "not yet current", "skew")
    )  # "Signature expired: ... is now earlier", "Signature not yet current: ... is still later"
    if code in _CLOCK or skewed:
        why = "the request's time is too far from AWS's clock"
        fix = "set this machine's clock right (e.g. enable NTP) and run again"
    elif code in _UNKNOWN_KEY:
        why = "AWS does not know the access key ID"
        fix = (
            "check AWS_ACCESS_KEY_ID / AWS_PROFILE name credentials of this account and "
            "partition, and that the key was not deleted or deactivated"
        )
    elif code in _BAD_SIGNATURE:
        why = "the secret access key does not match the access key ID"
        fix = "check AWS_SECRET_ACCESS_KEY (or the profile's secret) belongs to that key"
    elif code in _EXPIRED:
        why = "the credentials have expired or their session token is invalid"
        fix = "refresh them (e.g. aws sso login, or assume the role again) and run again"
    else:
        return None
    return SourceError(f"reading {target} failed: {why} ({code}: {message}). Fix: {fix}")
