"""CloudWatch Logs: a log group's events in a time window, as units of up to
``CW_PAGE_EVENTS`` records (``FilterLogEvents``, paged by hand: see :func:`_pages`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bedrock_finops.sources.aws_clients import aws_client
from bedrock_finops.sources.invocation_logs import Unit
from bedrock_finops.sources.source_errors import (
    KMS_DENIAL,
    SourceError,
    aws_said,
    credential_setup_error,
    credential_setup_errors,
    credentials_error,
    explicit_deny,
    missing_allow_in,
)
from bedrock_finops.sources.time_folders import DELIVERY_SLACK, ceil_ms

CW_PAGE_EVENTS = 2000
# A sparse group can answer several empty pages carrying the token it was sent (aws-cli#3191):
# reading on returns the events. This many answers with the token sent in a row, though (with
# events or none), is a search that does not advance.
MAX_SAME_TOKEN_PAGES = 1000
# CloudWatch Logs' pattern for a log group name (the API refuses anything else)
_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
_GROUP_ARN = re.compile(r"(arn:aws[a-z-]*:logs:([a-z0-9-]+):\d{12}:log-group:([^:]+))(?::\*)?")


@dataclass
class PageCount:
    """CloudWatch Logs ``FilterLogEvents`` pages read so far (counted as the events are read)."""

    pages: int = 0


@dataclass
class GroupRetention:
    """How long the group read keeps its events, and since when it exists, as
    ``DescribeLogGroups`` tells it once the group is read: a window that starts before either
    reads a partial table (events past ``retentionInDays`` are deleted, none predate the group).
    """

    checked: bool = False
    retention_days: int | None = None  # None: the events never expire
    created: datetime | None = None
    why_unchecked: str = ""  # DescribeLogGroups' error code, or that it did not list the group

    def to_report(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "retention_days": self.retention_days,
            "created": self.created.isoformat() if self.created else None,
            "why_unchecked": self.why_unchecked or None,
        }


@dataclass
class _Batch:
    """The events gathered for the next unit: messages, and where each came from."""

    group: str
    first: int = 0  # events read before this batch's first
    late: bool = False
    lines: list[str] = field(default_factory=list)
    refs: list[tuple[str, int]] = field(default_factory=list)

    def add(self, event: dict, stamp: int, late: bool) -> None:
        self.late = late
        self.lines.append(event.get("message", ""))
        self.refs.append((event.get("logStreamName", ""), stamp))

    def unit(self, read: int) -> Unit:
        """The batch as a unit (``read``: events read so far, this batch's included); empty
        again after."""
        unit = Unit(
            "events", f"{self.group}#{self.first + 1}", lines=tuple(self.lines),
            late=self.late, first_line=self.first + 1, event_refs=tuple(self.refs),
        )  # fmt: skip
        self.first, self.lines, self.refs = read, [], []
        return unit


@dataclass(frozen=True)
class LogGroup:
    """A log group as a ``cloudwatch-logs://`` source names it."""

    name: str
    arn: str | None = None  # given by ARN (without ``:*``): sent as ``logGroupIdentifier``

    @property
    def request(self) -> dict[str, str]:
        """How ``FilterLogEvents`` and ``DescribeLogStreams`` are told the group: by ARN when
        given one, which is how a monitoring account reads a source account's group (by
        name, the caller's own account's group of that name would be read instead)."""
        return {"logGroupIdentifier": self.arn} if self.arn else {"logGroupName": self.name}

    @property
    def label(self) -> str:
        return self.arn or self.name


def log_group_and_region(uri: str, region: str | None) -> tuple[LogGroup, str | None]:
    """The log group a ``cloudwatch-logs://`` source names, and the Region to read it in.

    The group may be given by name or by ARN (as the console and ``describe-log-groups`` show
    it, with or without the trailing ``:*``); an ARN's Region is used unless ``region`` says
    another, which is an error rather than a guess.
    """
    text = uri[len("cloudwatch-logs://") :]
    if not text:
        raise SourceError(f"{uri!r} names no log group; use cloudwatch-logs://LOG_GROUP")
    arn = _GROUP_ARN.fullmatch(text)
    group = text if arn is None else arn.group(3)
    if arn is not None:
        arn_region = arn.group(2)
        if region is not None and region != arn_region:
            raise SourceError(
                f"the log group ARN names Region {arn_region}, but the Region given is "
                f"{region} (--region, run.region in a params file, or the client passed in); "
                f"drop one, or give the group by name (cloudwatch-logs://{group})"
            )
        region = arn_region
    elif group.startswith("arn:"):
        raise SourceError(
            f"{group!r} is not a log group ARN (arn:aws:logs:REGION:ACCOUNT:log-group:NAME); "
            "give the group by name, e.g. cloudwatch-logs:///aws/bedrock/modelinvocations"
        )
    if not _GROUP_NAME.fullmatch(group):
        raise SourceError(
            f"{group!r} is not a log group name: CloudWatch Logs names hold only letters, "
            "digits and . - _ / # (up to 512); copy the name from the model invocation "
            "logging settings"
        )
    return LogGroup(group, None if arn is None else arn.group(1)), region


def iter_cloudwatch(
    uri: str,
    start: datetime | None,
    end: datetime | None,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    client: Any | None = None,
    page_events: int = CW_PAGE_EVENTS,
    count: PageCount | None = None,
    retention: GroupRetention | None = None,
) -> Iterator[Unit]:
    """``filter_log_events`` over [start, end + slack), paginated, in units of events (up to
    ``page_events``; the events of a unit are all in the window or all after it).

    A group with no events there yields nothing when it has a log stream (an empty table);
    with no stream either, it raises ``SourceError``: most likely the wrong group or Region.
    Once the group is read, ``retention`` (when given) is filled from ``DescribeLogGroups``.
    """
    from botocore.exceptions import ClientError

    if client is not None:
        group, _ = log_group_and_region(uri, client.meta.region_name)
    else:
        group, region = log_group_and_region(uri, region)
        client = _logs_client(group, endpoint_url, region)
    kwargs: dict[str, Any] = dict(group.request)
    if start is not None:
        kwargs["startTime"] = ceil_ms(start)
    if end is not None:
        kwargs["endTime"] = ceil_ms(end + DELIVERY_SLACK) - 1
    end_ms = None if end is None else ceil_ms(end)
    batch = _Batch(group.name)
    n = 0
    try:
        for page in _pages(client, kwargs, group):
            if count is not None:
                count.pages += 1
            for event in page.get("events") or []:
                stamp = event.get("timestamp") or 0
                late = end_ms is not None and stamp >= end_ms
                if batch.lines and late != batch.late:  # a unit holds late events or none
                    yield batch.unit(n)
                batch.add(event, stamp, late)
                n += 1
                if len(batch.lines) >= page_events:
                    yield batch.unit(n)
        if n == 0 and not _has_streams(client, group):  # most likely the wrong group or Region
            raise SourceError(
                f"no events in log group {group.label!r} in {client.meta.region_name}"
                f"{_window_text(start, end)}; check the Region (--region), the window, and "
                "that model invocation logging delivers to this group"
            )
    except ClientError as exc:
        raise _read_error(exc, group, client) from None
    except credential_setup_errors() as exc:  # an SSO login that expired, ...
        raise credential_setup_error(exc, f"log group {group.label!r}") from None
    if retention is not None:
        _check_retention(client, group, retention)
    if batch.lines:
        yield batch.unit(n)


def _check_retention(client: Any, group: LogGroup, into: GroupRetention) -> None:
    """Fill ``into`` from ``DescribeLogGroups`` (by ARN as ``logGroupIdentifiers``, by name
    as ``logGroupNamePrefix``). A refusal (no ``logs:DescribeLogGroups``) or a group not
    listed leaves it unchecked, saying why: the read itself is done and stays good."""
    from botocore.exceptions import BotoCoreError, ClientError

    ask = {"logGroupIdentifiers": [group.arn]} if group.arn else {"logGroupNamePrefix": group.name}
    try:
        listed = client.describe_log_groups(**ask).get("logGroups") or []
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "") or type(exc).__name__
        into.why_unchecked = f"DescribeLogGroups answered {code}"
        return
    except BotoCoreError as exc:  # the connection dropped, a timeout: the read stays good
        into.why_unchecked = f"DescribeLogGroups failed: {type(exc).__name__}"
        return
    found = next((g for g in listed if _is_group(g, group)), None)
    if found is None:
        into.why_unchecked = "DescribeLogGroups did not list the group"
        return
    into.checked = True
    into.retention_days = found.get("retentionInDays")
    if isinstance(found.get("creationTime"), int):
        into.created = datetime.fromtimestamp(found["creationTime"] / 1000, UTC)


def _is_group(listed: dict, group: LogGroup) -> bool:
    """Whether a ``DescribeLogGroups`` entry is ``group``: a prefix lists every group whose
    name starts with it; an ARN is matched with or without its ``:*``."""
    if group.arn:
        return group.arn in (
            listed.get("logGroupArn"),
            str(listed.get("arn", "")).removesuffix(":*"),
        )
    return listed.get("logGroupName") == group.name


def _logs_client(group: LogGroup, endpoint_url: str | None, region: str | None) -> Any:
    """A CloudWatch Logs client; credentials that cannot be loaded (a profile that does not
    exist, a failing credential_process) are the run's error, said for the group."""
    try:
        return aws_client("logs", endpoint_url, region)
    except credential_setup_errors() as exc:
        raise credential_setup_error(exc, f"log group {group.label!r}") from None


def _pages(client: Any, kwargs: dict[str, Any], group: LogGroup) -> Iterator[dict]:
    """``FilterLogEvents`` pages, by hand: botocore's paginator stops the whole read with
    "the same next token was received twice" when a sparse group answers an empty page with
    the token it was sent, which AWS does (boto3#1584); asking again moves on."""
    token = None
    same = 0
    while True:
        page = client.filter_log_events(**kwargs, **({"nextToken": token} if token else {}))
        yield page
        following = page.get("nextToken")
        if not following:
            return
        same = same + 1 if following == token else 0
        if same >= MAX_SAME_TOKEN_PAGES:
            raise SourceError(
                f"reading log group {group.label!r}: FilterLogEvents answered {same} pages in "
                "a row with the token it was sent, without moving on; run again, or ingest "
                "the S3 delivery of the same logs instead"
            )
        token = following


def _read_error(exc: Any, group: LogGroup, client: Any) -> SourceError:
    """The ``SourceError`` that says what a refused CloudWatch Logs request needs."""
    code = exc.response.get("Error", {}).get("Code", "")
    message = exc.response.get("Error", {}).get("Message", "")
    label, region = group.label, client.meta.region_name
    if code == "ResourceNotFoundException":
        return SourceError(
            f"log group {label!r} not found in {region}; check the name and region (model "
            f"invocation logging settings show the group){_slashed_hint(group)}"
        )
    refused = credentials_error(code, message, f"log group {label!r}")
    if refused is not None:
        return refused
    if code in _DENIED:
        return _denied_error(group, region, client.meta.partition, aws_said(code, message))
    if code in ("ThrottlingException", "RateExceeded", "Throttling"):
        return SourceError(
            f"reading log group {label!r} was still throttled after every retry: "
            "FilterLogEvents allows 5 requests a second per account and Region, shared "
            "with everything else that reads logs there. Try again later, raise "
            "AWS_MAX_ATTEMPTS, or ingest the S3 delivery of the same logs instead"
        )
    return SourceError(f"reading log group {label!r} failed: {exc}")


def _denied_error(group: LogGroup, region: str, partition: str, said: str) -> SourceError:
    """Access denied: an explicit Deny, the log group's KMS key, or a missing permission."""
    label = group.label
    if (deny := explicit_deny(said)) is not None:
        why, fix = deny
        return SourceError(f"access denied reading log group {label!r}: {why}{said}. Fix: {fix}")
    if KMS_DENIAL.search(said):  # CloudWatch Logs itself decrypts a group's events
        return SourceError(
            f"access denied reading log group {label!r}: it is encrypted with a KMS key that "
            f"CloudWatch Logs cannot use{said}. Fix: the key's policy must allow the service "
            f"principal logs.{region}.amazonaws.com kms:Decrypt (with kms:Encrypt*, "
            "kms:ReEncrypt*, kms:GenerateDataKey* and kms:Describe*) for this group; `aws logs "
            "describe-log-groups` shows its kmsKeyId. Granting logs:FilterLogEvents does not "
            "help"
        )
    resource = f"{group.arn}:*" if group.arn else (
        f"arn:{partition}:logs:{region}:*:log-group:{group.name}:*"
    )  # fmt: skip
    elsewhere = missing_allow_in(said)
    fix = (
        f"allow logs:FilterLogEvents on {resource} in {elsewhere}, which AWS says lacks it"
        if elsewhere is not None
        else f"grant logs:FilterLogEvents on {resource}"
    )
    return SourceError(
        f"access denied reading log group {label!r}: the caller needs "
        f"logs:FilterLogEvents on it{said}. Fix: {fix}"
    )


def _slashed_hint(group: LogGroup) -> str:
    """For a group name without its leading slash (``aws/bedrock/...``): the name with it.
    AWS services' log groups start with ``/``, and ``cloudwatch-logs://aws/...`` drops it."""
    if group.name.startswith("/"):
        return ""
    if group.arn is not None:
        arn = group.arn.replace(":log-group:", ":log-group:/", 1)
        return f"; did you mean '/{group.name}' (cloudwatch-logs://{arn}:*)?"
    return f"; did you mean '/{group.name}' (cloudwatch-logs:///{group.name})?"


def _has_streams(client: Any, group: LogGroup) -> bool:
    """Whether ``group`` has a log stream: logging delivers to it, so a window with no events
    is an empty table (as an S3 prefix holding only the permission-check object), not an error.

    Asked with ``DescribeLogStreams``; without that permission, with ``FilterLogEvents`` (the
    one the read needs) over the whole group: any event, or a page that says there is more.
    Any other refusal (throttling past the retries, say) is the caller's error to report.
    """
    from botocore.exceptions import ClientError

    try:
        streams = client.describe_log_streams(**group.request, limit=1)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") not in _DENIED:
            raise
    else:
        return bool(streams.get("logStreams"))
    page = client.filter_log_events(**group.request, limit=1)
    return bool(page.get("events") or page.get("nextToken"))


_DENIED = ("AccessDeniedException", "AccessDenied")


def _window_text(start: datetime | None, end: datetime | None) -> str:
    """`` from START``, `` before END`` or `` between START and END (+1 h ...)``, or ''."""
    slack = f" (+{DELIVERY_SLACK.total_seconds() / 3600:g} h for late deliveries)"
    if start and end:
        return f" between {start} and {end}{slack}"
    if start:
        return f" from {start}"
    return f" before {end}{slack}" if end else ""
