"""CloudWatch Logs: a log group's events in a time window, as units of up to
``CW_PAGE_EVENTS`` records (``FilterLogEvents``, paginated)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bedrock_finops.sources.aws_clients import aws_client
from bedrock_finops.sources.invocation_logs import Unit
from bedrock_finops.sources.source_errors import SourceError, credentials_error
from bedrock_finops.sources.time_folders import DELIVERY_SLACK

CW_PAGE_EVENTS = 2000


@dataclass
class PageCount:
    """CloudWatch Logs ``FilterLogEvents`` pages read so far (counted as the events are read)."""

    pages: int = 0


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
) -> Iterator[Unit]:
    """``filter_log_events`` over [start, end + slack), paginated, in units of events (up to
    ``page_events``; the events of a unit are all in the window or all after it).

    A group with no events there yields nothing when it has a log stream (an empty table);
    with no stream either, it raises ``SourceError``: most likely the wrong group or Region.
    """
    from botocore.exceptions import ClientError

    group = uri[len("cloudwatch-logs://") :]
    if not group:
        raise SourceError(f"{uri!r} names no log group; use cloudwatch-logs://LOG_GROUP")
    client = client or aws_client("logs", endpoint_url, region)
    kwargs: dict[str, Any] = {"logGroupName": group}
    if start is not None:
        kwargs["startTime"] = int(start.timestamp() * 1000)
    if end is not None:
        kwargs["endTime"] = int((end + DELIVERY_SLACK).timestamp() * 1000) - 1
    end_ms = None if end is None else int(end.timestamp() * 1000)
    batch = _Batch(group)
    n = 0
    try:
        for page in client.get_paginator("filter_log_events").paginate(**kwargs):
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
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise SourceError(
                f"log group {group!r} not found in {client.meta.region_name}; check the name "
                "and region (model invocation logging settings show the group)"
            ) from None
        refused = credentials_error(
            code, exc.response.get("Error", {}).get("Message", ""), f"log group {group!r}"
        )
        if refused is not None:
            raise refused from None
        if code in ("AccessDeniedException", "AccessDenied"):
            raise SourceError(
                f"access denied reading log group {group!r}: the caller needs "
                "logs:FilterLogEvents on it. Fix: grant logs:FilterLogEvents on "
                f"arn:aws:logs:*:*:log-group:{group}:*"
            ) from None
        if code in ("ThrottlingException", "RateExceeded", "Throttling"):
            raise SourceError(
                f"reading log group {group!r} was still throttled after every retry: "
                "FilterLogEvents allows 5 requests a second per account and Region, shared "
                "with everything else that reads logs there. Try again later, raise "
                "AWS_MAX_ATTEMPTS, or ingest the S3 delivery of the same logs instead"
            ) from None
        raise SourceError(f"reading log group {group!r} failed: {exc}") from None
    if batch.lines:
        yield batch.unit(n)
    if n == 0 and not _has_streams(client, group):  # most likely the wrong group or Region
        raise SourceError(
            f"no events in log group {group!r} in {client.meta.region_name}"
            f"{_window_text(start, end)}; check the Region (--region), the window, and that "
            "model invocation logging delivers to this group"
        )


def _has_streams(client: Any, group: str) -> bool:
    """Whether ``group`` has a log stream: logging delivers to it, so a window with no events
    is an empty table (as an S3 prefix holding only the permission-check object), not an error.

    Asked with ``DescribeLogStreams``; without that permission, with ``FilterLogEvents`` (the
    one the read needs) over the whole group: any event, or a page that says there is more.
    """
    from botocore.exceptions import ClientError

    try:
        return bool(client.describe_log_streams(logGroupName=group, limit=1).get("logStreams"))
    except ClientError:
        pass
    try:
        page = client.filter_log_events(logGroupName=group, limit=1)
    except ClientError:
        return False
    return bool(page.get("events") or page.get("nextToken"))


def _window_text(start: datetime | None, end: datetime | None) -> str:
    """`` from START``, `` before END`` or `` between START and END (+1 h ...)``, or ''."""
    slack = f" (+{DELIVERY_SLACK.total_seconds() / 3600:g} h for late deliveries)"
    if start and end:
        return f" between {start} and {end}{slack}"
    if start:
        return f" from {start}"
    return f" before {end}{slack}" if end else ""
