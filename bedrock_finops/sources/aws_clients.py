"""boto3 clients for the log sources: boto3's default session, with retries that outlast
throttling on a long ingest unless the user set their own."""

from __future__ import annotations

import os
from typing import Any

AWS_ATTEMPTS = 10  # per request, the first included; standard retry mode (backoff up to 20 s)
NO_CREDENTIALS_FIX = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), run `aws configure`, "
    "or use an instance role"
)


def aws_client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A boto3 client that retries throttled and failed requests ``AWS_ATTEMPTS`` times.

    botocore's default (3 attempts in standard mode, 5 in legacy mode) can give up on a
    throttled request part-way through a long ingest. Retry settings of the user's own, in
    the environment (``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``) or in the profile's
    ``~/.aws/config`` (``max_attempts``, ``retry_mode``), win. The client comes from boto3's
    default session, as ``boto3.client`` would make it, so a notebook's
    ``boto3.setup_default_session(profile_name=...)`` applies.
    """
    from botocore.config import Config

    session = default_session()
    config = None
    if not _user_retry_settings(session.profile_name):
        config = Config(retries={"mode": "standard", "total_max_attempts": AWS_ATTEMPTS})
    return session.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


def default_session() -> Any:
    """boto3's default session (made as ``boto3.client`` makes it, if there is none yet)."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def has_credentials() -> bool:
    """Whether the default session finds credentials (their presence, not their validity)."""
    return default_session().get_credentials() is not None


def _user_retry_settings(profile_name: str) -> bool:
    """Whether the user set a retry count or mode, in the environment or the profile's section
    of the AWS config file.

    ``get_config_variable`` cannot tell: it answers botocore's default when nothing is set,
    so the two places are asked directly.
    """
    import botocore.session

    if os.environ.get("AWS_MAX_ATTEMPTS") or os.environ.get("AWS_RETRY_MODE"):
        return True
    named = None if profile_name == "default" else profile_name  # "default" may be absent
    profile = botocore.session.Session(profile=named).get_scoped_config()
    return "max_attempts" in profile or "retry_mode" in profile


def s3_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    return aws_client("s3", endpoint_url, region)


_S3_CLIENTS: dict[tuple, Any] = {}


def process_s3_client(endpoint_url: str | None, region: str | None) -> Any:
    """This process's S3 client for an endpoint and region, made once.

    A boto3 client is safe to share between threads; making one is not (the default session
    is not thread-safe), so threads that read objects get it from here after it exists.
    """
    key = (endpoint_url, region, os.getpid())
    client = _S3_CLIENTS.get(key)
    if client is None:
        client = _S3_CLIENTS[key] = s3_client(endpoint_url, region)
    return client
