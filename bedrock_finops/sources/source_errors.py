"""The two ways reading a log source fails: the whole run, or one S3 object; and what the run's
error says when AWS refuses the credentials, when they cannot be loaded at all, or when a
policy denies a request (shared by S3, CloudWatch Logs and the command)."""

from __future__ import annotations

import os
import re

NO_CREDENTIALS_FIX = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), run `aws configure`, "
    "or use an instance role"
)


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


def credentials_error(
    code: str, message: str, target: str, doing: str = "reading"
) -> SourceError | None:
    """The run's error when AWS refused the credentials themselves (not a permission):
    ``{doing} {target} failed: ...``."""
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
    return SourceError(f"{doing} {target} failed: {why} ({code}: {message}). Fix: {fix}")


# botocore's errors for credentials it cannot find or load, by name (older botocore versions
# lack some): raised making a client (a profile that does not exist or is broken, a failing
# credential_process) or at the first request (an SSO login that is missing or expired)
_CREDENTIAL_SETUP_ERRORS = (
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "TokenRetrievalError",
    "SSOError",  # SSOTokenLoadError (never logged in), UnauthorizedSSOTokenError (expired)
    "LoginError",  # `aws login` sessions
    "RefreshWithMFAUnsupportedError",
    "ProfileNotFound",
    "InvalidConfigError",  # a broken assume-role or SSO profile, a source_profile loop
    "ConfigParseError",
)


def credential_setup_errors() -> tuple[type[Exception], ...]:
    """botocore's errors for credentials that cannot be found or loaded (not AWS refusing
    them: see :func:`credentials_error`)."""
    from botocore import exceptions

    return tuple(
        getattr(exceptions, name) for name in _CREDENTIAL_SETUP_ERRORS if hasattr(exceptions, name)
    )


def credential_setup_error(exc: Exception, target: str | None = None) -> SourceError:
    """The run's error for one of :func:`credential_setup_errors`: what is wrong and the
    command that fixes it (``target``: what was being read, if anything)."""
    why, fix = _credential_problem(exc)
    lead = f"reading {target} failed: " if target else ""
    return SourceError(
        f"{lead}no usable AWS credentials: {why} ({type(exc).__name__}: {exc}). Fix: {fix}"
    )


def _credential_problem(exc: Exception) -> tuple[str, str]:
    """(why, fix) for a credential set-up error."""
    from botocore import exceptions as e

    kwargs = getattr(exc, "kwargs", {})
    if isinstance(exc, e.ProfileNotFound):
        return (
            f"the AWS profile {kwargs.get('profile')!r} is not in the AWS config files",
            "`aws configure list-profiles` lists the profiles there: "
            + _profile_fix(kwargs.get("profile")),
        )
    if isinstance(exc, e.SSOError) or (
        isinstance(exc, e.TokenRetrievalError) and kwargs.get("provider") == "sso"
    ):
        if isinstance(exc, e.UnauthorizedSSOTokenError):
            why = "the SSO login has expired"
        elif isinstance(exc, e.SSOTokenLoadError):
            why = "there is no SSO login for the profile yet"
        else:
            why = "the SSO login cannot be used or refreshed"
        return why, f"run `{_login_command('sso login')}` and run again"
    login_error = getattr(e, "LoginError", None)  # `aws login` sessions (newer botocore)
    if login_error is not None and isinstance(exc, login_error):
        return (
            "the `aws login` session has expired",
            f"run `{_login_command('login')}` and run again",
        )
    if isinstance(exc, e.CredentialRetrievalError):
        return _retrieval_problem(str(kwargs.get("provider", "")))
    if isinstance(exc, e.InvalidConfigError):
        return (
            "the AWS profile's settings are broken",
            "correct the profile as the message says (`aws configure list` shows the profile and "
            "files in use) and run again",
        )
    if isinstance(exc, e.ConfigParseError):
        return "the AWS config file cannot be parsed", "correct its syntax and run again"
    if isinstance(exc, e.PartialCredentialsError):
        return (
            "only part of a set of credentials is given",
            "give the missing value, or remove the others, and run again",
        )
    if isinstance(exc, e.RefreshWithMFAUnsupportedError):
        return (
            "the profile's role needs an MFA code, which cannot be asked for here",
            "get temporary credentials with the MFA code first (e.g. `aws sts get-session-token "
            "--serial-number ... --token-code ...`) and set them in the environment",
        )
    return "none were found", NO_CREDENTIALS_FIX


def _retrieval_problem(provider: str) -> tuple[str, str]:
    """(why, fix) for credentials a provider failed to give (``CredentialRetrievalError``)."""
    if provider == "custom-process":
        return (
            "the profile's credential_process failed",
            "run that command yourself (`aws configure get credential_process` shows it) to "
            "see why, fix it, and run again",
        )
    if provider.startswith("assume-role"):
        return (
            "assuming the profile's role failed",
            "check the profile's role_arn and source_profile (or credential_source), and that "
            "the source credentials may assume the role",
        )
    return (
        f"getting credentials from {provider or 'their source'} failed",
        "check that source works (`aws sts get-caller-identity` shows the same error) and run "
        "again",
    )


def _login_command(command: str) -> str:
    """``aws sso login`` (or ``aws login``) for the profile in use."""
    profile = _profile_name()
    if profile and profile != "default":
        return f"aws {command} --profile {profile}"
    return f"aws {command}"


def _profile_name() -> str | None:
    """The profile boto3's default session uses (a notebook may have set it), else the
    environment's."""
    import boto3

    if boto3.DEFAULT_SESSION is not None:
        return boto3.DEFAULT_SESSION.profile_name
    # botocore's order: AWS_DEFAULT_PROFILE first
    return os.environ.get("AWS_DEFAULT_PROFILE") or os.environ.get("AWS_PROFILE")


def _profile_fix(profile: str | None) -> str:
    """Where to correct a profile name that is in no config file: botocore reads
    AWS_DEFAULT_PROFILE before AWS_PROFILE, so setting AWS_PROFILE cannot fix a bad
    AWS_DEFAULT_PROFILE."""
    if profile is not None and os.environ.get("AWS_DEFAULT_PROFILE") == profile:
        return (
            "AWS_DEFAULT_PROFILE names it, and boto3 reads it before AWS_PROFILE: set it to one "
            "of them, or unset it"
        )
    return "set AWS_PROFILE to one of them (or unset it to use the default credentials)"


# ---------------------------------------------------------------------------- denials

# AWS's access denied messages name the policy type that denied: "... with an explicit deny
# in a service control policy" (": arn:..." may follow), "... because no VPC endpoint policy
# allows the s3:ListBucket action" (IAM User Guide, "Troubleshoot access denied error
# messages"); the types: identity-based, resource-based, session, service control, resource
# control and VPC endpoint policies, and permissions boundaries
_EXPLICIT_DENY = re.compile(r"explicit deny in an? ((?:[\w-]+ )*?(?:policy|boundary))", re.I)
_NO_ALLOW = re.compile(r"because no ((?:[\w-]+ )*?(?:policy|boundary)) allows", re.I)
# a denial that names a KMS key ("not authorized to perform: kms:Decrypt", KMS's "The
# ciphertext refers to a customer master key that does not exist ...")
KMS_DENIAL = re.compile(r"kms:|customer master key|kms key", re.IGNORECASE)
# where each kind of policy is changed
_POLICY_OWNERS = {
    "service control policy": "the organization's service control policies (AWS Organizations)",
    "resource control policy": "the organization's resource control policies (AWS Organizations)",
    "vpc endpoint policy": "the policy of the VPC endpoint the request went through",
    "permissions boundary": "the permissions boundary of the role or user running the ingest",
    "session policy": "the session policy passed when the role was assumed",
    "identity-based policy": "the policies attached to the role or user running the ingest",
    "resource-based policy": "the resource's own policy (a bucket policy, a key policy)",
}


def aws_said(code: str, message: str) -> str:
    """AWS's own words for an error, as ``(Code: Message)``: they name the action, resource
    and policy, which a fix guessed from the code alone can get wrong."""
    said = ": ".join(part for part in (code, message.strip()) if part)
    return f" ({said})" if said else ""


def explicit_deny(message: str) -> tuple[str, str] | None:
    """(why, fix) for a request an explicit Deny blocked, which no grant fixes, naming the
    kind of policy AWS's message names; None for any other denial."""
    if "explicit deny" not in message.lower():
        return None
    found = _EXPLICIT_DENY.search(message)
    kind = found.group(1) if found else "policy"
    where = _POLICY_OWNERS.get(kind.lower(), f"the {kind} AWS names")
    article = "an" if kind[0].lower() in "aeiou" else "a"
    return (
        f"an explicit Deny in {article} {kind} blocks the request",
        f"no Allow overrides a Deny: ask whoever manages {where} to exempt the role running "
        "the ingest, or run it as one the Deny does not cover",
    )


def missing_allow_in(message: str) -> str | None:
    """Where the Allow is missing when AWS names a policy other than the caller's own
    (``because no VPC endpoint policy allows ...``): there, not in the caller's policies."""
    found = _NO_ALLOW.search(message)
    if found is None or found.group(1).lower() == "identity-based policy":
        return None
    return _POLICY_OWNERS.get(found.group(1).lower(), f"the {found.group(1)}")
