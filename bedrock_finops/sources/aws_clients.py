"""boto3 clients for the log sources: boto3's default session, with retries that outlast
throttling on a long ingest unless the user set their own."""

from __future__ import annotations

import os
from typing import Any

from bedrock_finops.sources.source_errors import SourceError

AWS_ATTEMPTS = 10  # per request, the first included; standard retry mode (backoff up to 20 s)


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
    try:
        return session.client(service, endpoint_url=endpoint_url, region_name=region, config=config)
    except ValueError as exc:  # botocore's bare "Invalid endpoint: ..."
        message = invalid_endpoint_message(exc)
        if message is None:
            raise
        raise SourceError(message) from None


SCHEMES = ("https", "http")
# botocore's message when it refuses an endpoint URL (a ValueError, raised making a client)
_INVALID_ENDPOINT = "Invalid endpoint: "


def endpoint_url_problem(url: str) -> str | None:
    """Why ``url`` is no endpoint URL botocore accepts, with the fix; None when it is one.

    botocore refuses a host name without a scheme (``localhost:4566``, a VPC endpoint's DNS
    name) only when a client is made, with a bare ``ValueError``; told up front instead.
    """
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    scheme, sep, rest = url.partition("://")
    if not sep:
        return f"has no scheme: write it as https://{url.lstrip('/')}"
    if scheme.lower() not in SCHEMES:
        return f"must start with https:// (or http://), e.g. https://{rest}"
    if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
        return "names no host: write it as https://HOST or https://HOST:PORT"
    return None


def check_endpoint_url(url: str | None, named: str) -> None:
    """Raise ``ValueError`` naming ``named`` (the option or variable that gave ``url``), the
    value and the fix, for an endpoint URL botocore would refuse. None or "": no override."""
    if url is None or url == "":
        return
    if not isinstance(url, str):
        raise ValueError(
            f"{named} {url!r} is a {type(url).__name__}: give a URL such as https://HOST, or None"
        )
    problem = endpoint_url_problem(url)
    if problem is not None:
        raise ValueError(f"{named} {url!r} {problem}".lstrip())


def invalid_endpoint_message(exc: BaseException) -> str | None:
    """The error line for botocore's refusal of an endpoint URL (given by an option, or by
    ``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>`` or the AWS config file); None for
    any other error."""
    text = str(exc)
    if not isinstance(exc, ValueError) or not text.startswith(_INVALID_ENDPOINT):
        return None
    url = text[len(_INVALID_ENDPOINT) :]
    problem = endpoint_url_problem(url) or "is refused by botocore"
    return (
        f"AWS endpoint URL {url!r} {problem} (it comes from --endpoint-url, run.endpoint_url, "
        "AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> or the profile's endpoint_url)"
    )


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
