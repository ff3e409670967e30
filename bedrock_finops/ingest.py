"""Invocation logs -> the canonical usage table (``usage.parquet``), in one parallel pass.

Workers (one process per core, ``ingest_worker``) decompress and parse whole files and hand
back Arrow record batches; the parent (this module) plans the files, keeps the workers fed
and reports, while ``ingest_output.Collector`` keeps the first delivery of each
``requestId`` (files in key order), resolves model IDs once each, and streams the batches
into one Parquet file. Every line read ends up as a row, in the quarantine with a reason, or
counted as a duplicate delivery: ``lines_read == rows + quarantined + duplicates``.

Lines whose timestamp falls outside ``[start, end)`` are not read into the table; they are
counted in ``outside_window`` (a file delivered in the window's last hour may hold a few), as
are lines that cannot be dated in a file whose hour folder is outside the window (they are the
next window's to quarantine; see ``ingest_worker._owns_undated_lines``).
Blank lines between a file's records are not records and are not counted; a CloudWatch Logs
event is one even when its message is empty (``ingest_worker.EMPTY_EVENT``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import numbers
import os
import re
import shlex
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from bedrock_finops import (
    app_attribution,
    compiled,
    line_scan,
    made_folders,
    models,
    parse_scalars,
    row_batch,
    scratch_folders,
    window_coverage,
    worker_pool,
)
from bedrock_finops.app_checks import AppChecks
from bedrock_finops.disk_space import disk_full, no_room
from bedrock_finops.ingest_output import FOLDER_IN_THE_WAY, Collector, folders_in_the_way
from bedrock_finops.ingest_worker import (
    ChunkResult,
    Options,
    process_chunk,
    process_run_chunk,
    set_run_options,
    spill_dir,
)
from bedrock_finops.name_maps import (
    IDENTITY_APP_EXAMPLE,
    PROFILE_MAP_EXAMPLE,
    MapError,
    check_name_map,
    load_map_file,
)
from bedrock_finops.progress import Progress
from bedrock_finops.schema import from_arrow
from bedrock_finops.sources import invocation_logs as logs
from bedrock_finops.sources.aws_clients import check_endpoint_url
from bedrock_finops.sources.cloudwatch_logs import (
    GroupRetention,
    PageCount,
    iter_cloudwatch,
    log_group_and_region,
)
from bedrock_finops.sources.invocation_logs import OUTPUT_FILES, Unit
from bedrock_finops.sources.own_output import EARLIER_REASONS, folders_of
from bedrock_finops.sources.service_folders import OTHER_SERVICE, service_of
from bedrock_finops.sources.source_errors import SourceError
from bedrock_finops.sources.source_uri import normalised_source, s3_bucket_and_prefix
from bedrock_finops.sources.time_folders import DELIVERY_SLACK, WINDOW_YEARS, ceil_ms, to_ms
from bedrock_finops.terminal_text import for_terminal
from bedrock_finops.user_paths import UserPathError, expand_user, path_argument

# quarantine reasons (and unknown model IDs) the printed summary lists; the report has them all
SUMMARY_REASONS = 12
CHUNK_FILES = 32  # files per worker task at most
# tasks queued per worker: enough that workers keep busy while the parent writes a row group
# (~0.6 s of CPU; with 2 in flight the workers ran dry, measured 4% slower on 1M records)
TASKS_IN_FLIGHT_PER_WORKER = 6


def compiled_parts() -> str:
    """Which optional C extensions this install has (the rest runs their Python twins), and
    whether the parse modules run compiled (``compiled.py``)."""
    parts = {
        "line scan": line_scan.COMPILED,
        "row batch": row_batch.COMPILED,
        "timestamps": parse_scalars.COMPILED,
    }
    if not any(parts.values()) and compiled.status() != "yes":
        return "none (no C compiler at install: same results, slower)"
    extensions = ", ".join(f"{name} {'yes' if built else 'no'}" for name, built in parts.items())
    return f"{extensions}, parse modules {compiled.status()}"


class IngestError(RuntimeError):
    """The ingest cannot run; the message says what is wrong and how to fix it."""


class NoRoomForTables(IngestError):
    """A full disk or quota in the output folder: ``no_room`` says which, in words."""

    def __init__(self, message: str, no_room: str = "no space left on the disk") -> None:
        super().__init__(message)
        self.no_room = no_room


@dataclass
class IngestReport:
    """Data-quality report of one ingest run (written as ``ingest_report.json``)."""

    source: str
    table: str = "usage.parquet"  # the usage table's file name, next to this report
    files_read: int = 0  # files and S3 objects
    event_pages_read: int = 0  # CloudWatch Logs: FilterLogEvents pages
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    lines_read: int = 0
    rows: int = 0
    quarantined: int = 0
    duplicates: int = 0
    # duplicates whose content differs from the copy kept (same requestId, other record):
    # how many, and the first 1,000 (ingest_output.CONFLICTS_LISTED) with files and fields
    conflicting_duplicate_count: int = 0
    conflicting_duplicates: list[dict[str, Any]] = field(default_factory=list)
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    # S3 objects in an archive tier, not restored (InvalidObjectState): each is one quarantined
    # line, however many records it holds, and none of them is in the table
    archived_objects: int = 0
    # rows kept with null for a value no Bedrock call logs (parse_scalars.ROW_VALUE_BOUNDS:
    # a negative value, a max_tokens past MAX_TOKENS_PER_CALL, a temperature past 5), by
    # column and why:
    # {"latency_ms": {"negative": 3}}
    values_nulled: dict[str, dict[str, int]] = field(default_factory=dict)
    unknown_models: dict[str, int] = field(default_factory=dict)
    # unknown IDs of a kind never priced per token, mapped or not (an imported model, a
    # Bedrock Marketplace endpoint), and why (models.NOT_PER_TOKEN)
    unknown_model_reasons: dict[str, str] = field(default_factory=dict)
    # geo prefixes outside models.GEO_PREFIXES, read as geos AWS added later (rows per prefix)
    unlisted_geo_prefixes: dict[str, int] = field(default_factory=dict)
    large_bodies_not_fetched: int = 0
    # with fetch_large_bodies: the bodies that could not be read, and why (their rows are
    # among large_bodies_not_fetched)
    large_bodies_unread: list[dict[str, str]] = field(default_factory=list)
    outside_window: int = 0
    # of outside_window: dated before the window, in an hour folder past the slack of a run
    # ending at its start (delivered over DELIVERY_SLACK late): that run did not read them
    delivered_too_late: int = 0
    # of outside_window: dated before the window and after it, and the earliest and latest of
    # them (None: none dated outside); lines of another window's files that cannot be dated
    # are on neither side
    before_window: int = 0
    after_window: int = 0
    earliest_outside: datetime | None = None
    latest_outside: datetime | None = None
    # CloudWatch Logs subscription health checks (CONTROL_MESSAGE): no records, not lines read
    control_messages: int = 0
    # Bedrock's CloudWatch Logs set-up event ("Permissions are correctly set for Amazon Bedrock
    # logs."), the log group's counterpart of the permission-check object: no record, not a
    # line read
    setup_notices: int = 0
    # S3: LIST requests, and date folders outside the window that were not listed at all
    # (so the objects in them are in neither files_read nor files_skipped)
    list_requests: int = 0
    folders_outside_window: int = 0
    # application inference profiles bedrock:GetInferenceProfile could not resolve, and why
    # (their rows stay unknown; map them with profile_map)
    profile_lookup_failures: dict[str, str] = field(default_factory=dict)
    # unknown IDs profile_map has an entry for, and the entry: a target no catalog model has
    profile_map_unknown_targets: dict[str, str] = field(default_factory=dict)
    app_key: str = "app"  # the requestMetadata key apps were read from
    # identity_app_map keys that named no row's caller (a typo, another account), in the
    # map's order: how many, and the first UNMATCHED_LISTED
    identity_app_map_unmatched_count: int = 0
    identity_app_map_unmatched: list[str] = field(default_factory=list)
    # rows whose requestMetadata has a key missing app_key only by case or white space
    # ("App" for "app"), and no app under app_key itself: their app came from the map or role
    app_key_near_misses: dict[str, int] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    # the table's own span: its first and last record (None: no rows) and their calendar days
    # (UTC), which the notebooks' per-day figures divide by unless the window is shorter
    # (findings.period_of)
    first_record: datetime | None = None
    last_record: datetime | None = None
    record_days: int = 0
    # where the records fall short of the window by over a day (window_coverage.window_gaps),
    # and stretches inside their span without records (window_coverage.inside_gaps)
    window_gaps: list[dict[str, Any]] = field(default_factory=list)
    # the weekdays the traffic runs on, judged from the rows per day ("Mon", ...): days off
    # them are no gap (window_coverage.traffic_weekdays)
    traffic_weekdays: list[str] = field(default_factory=list)
    # CloudWatch Logs: the group's retention and creation (DescribeLogGroups), or why unknown
    log_group: dict[str, Any] | None = None
    # the summary's warnings that the table may not cover the window, and why
    window_warnings: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    rows_per_s: float = 0.0
    compiled: str = compiled_parts()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat() if self.start else None
        d["end"] = self.end.isoformat() if self.end else None
        d["first_record"] = self.first_record.isoformat() if self.first_record else None
        d["last_record"] = self.last_record.isoformat() if self.last_record else None
        for key in ("earliest_outside", "latest_outside"):
            d[key] = d[key].isoformat() if d[key] else None
        return d

    def _nothing_read(self) -> str:
        """Says so when the window (or the source) held no records: an empty table."""
        if self.lines_read:
            return ""
        what = "events" if self.source.startswith("cloudwatch-logs://") else "records"
        where = "in the window" if self.start or self.end else "in the source"
        return f"  (no {what} {where}: the table is empty)"

    def _sides(self) -> str:
        """The records outside the window by side, and their span: ' (5 before it, 4 after
        it; 2025-06-02 08:17 to 2025-06-02 11:06 UTC)'."""
        if self.earliest_outside is None or self.latest_outside is None:
            return ""
        span = " to ".join(
            t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
            for t in (self.earliest_outside, self.latest_outside)
        )
        return f" ({self.before_window:,} before it, {self.after_window:,} after it; {span} UTC)"

    def _skipped_lines(self) -> list[str]:
        """One line per reason files were skipped, commonest first; other AWS services'
        folders (a reason each, naming the service) are one line, naming the services; this
        tool's earlier output names the folders that hold it."""
        skipped = Counter(s["reason"] for s in self.files_skipped)
        services: Counter[str] = Counter()
        for reason in list(skipped):
            if (service := service_of(reason)) is not None:
                services[service] += skipped.pop(reason)
        shown = {reason: f"{reason}: {n:,}" for reason, n in skipped.items()}
        for reason in EARLIER_REASONS:
            if reason in skipped:
                files = [s["file"] for s in self.files_skipped if s["reason"] == reason]
                shown[reason] += f" in {folders_of(files)}"
        if services:
            n = sum(services.values())
            skipped[OTHER_SERVICE] = n
            names = ", ".join(f"{s} {k:,}" for s, k in services.most_common())
            shown[OTHER_SERVICE] = (
                f"other AWS services' logs, not Bedrock invocation logs ({names}): {n:,} "
                f"folder{'s' if n != 1 else ''}"
            )
        return [
            f"  skipped: {shown[reason]} (listed in ingest_report.json)"
            for reason, _ in skipped.most_common()
        ]

    def summary(self) -> str:
        lines = [
            f"source            {self.source}",
            f"window            [{self.start or '-'}, {self.end or '-'})",
            *self._span_lines(),
            f"files read        {self.files_read:,}  (skipped {len(self.files_skipped)})"
            if not self.event_pages_read
            else f"event pages read  {self.event_pages_read:,}",
            f"lines read        {self.lines_read:,}" + self._nothing_read(),
            f"  rows            {self.rows:,}",
            f"  quarantined     {self.quarantined:,}",
            *([f"    {archived_line(self.archived_objects)}"] if self.archived_objects else []),
            f"  duplicates      {self.duplicates:,}"
            + (
                f" ({self.conflicting_duplicate_count:,} with other content than the copy "
                "kept: see conflicting_duplicates in ingest_report.json"
                + (
                    f", the first {len(self.conflicting_duplicates):,} of them)"
                    if self.conflicting_duplicate_count > len(self.conflicting_duplicates)
                    else ")"
                )
                if self.conflicting_duplicate_count
                else ""
            ),
            f"outside window    {self.outside_window:,}"
            + self._sides()
            + (
                f" ({self.delivered_too_late:,} dated before the window but delivered over "
                f"{DELIVERY_SLACK.total_seconds() / 3600:g} h late, to folders a run ending "
                "at its start does not read: a window over both hours keeps them)"
                if self.delivered_too_late
                else ""
            ),
            f"large bodies      {self.large_bodies_not_fetched:,} not fetched"
            + (
                f" ({len(self.large_bodies_unread):,} could not be read: see "
                "large_bodies_unread in ingest_report.json)"
                if self.large_bodies_unread
                else ""
            ),
            f"elapsed           {self.elapsed_s:.1f}s ({self.rows_per_s:,.0f} rows/s)",
            f"compiled parts    {self.compiled}",
        ]
        if self.control_messages:
            lines.append(
                f"control messages  {self.control_messages:,} "
                "(CloudWatch Logs health checks, no records)"
            )
        if self.setup_notices:
            lines.append(
                f"set-up notices    {self.setup_notices:,} (Bedrock's \"Permissions are "
                'correctly set" CloudWatch Logs event, no record)'
            )
        if self.list_requests:
            lines.append(
                f"S3 listing        {self.list_requests:,} LIST requests; "
                f"{self.folders_outside_window:,} date folders outside the window unlisted"
            )
        lines.extend(self._skipped_lines())
        reasons = sorted(self.quarantine_by_reason.items(), key=lambda kv: -kv[1])
        for reason, n in reasons[:SUMMARY_REASONS]:
            lines.append(f"  quarantine: {reason}: {n:,}")
        if len(reasons) > SUMMARY_REASONS:  # e.g. damaged records, each with where it is
            rest = reasons[SUMMARY_REASONS:]
            lines.append(
                f"  quarantine: {len(rest):,} other reasons: {sum(n for _, n in rest):,} "
                "(all in ingest_report.json)"
            )
        if self.quarantined:
            lines.append(
                "  each quarantined line (source, line, reason, excerpt): quarantine.parquet, "
                f"next to {self.table}"
            )
        for column, reasons in self.values_nulled.items():
            for why, n in reasons.items():
                rows = f"{n:,} row{'s' if n != 1 else ''}"
                lines.append(
                    f"  nulled: {column} {why} in {rows} (no Bedrock call logs such a value; "
                    f"the {'rows are' if n != 1 else 'row is'} kept)"
                )
        unknown = sorted(self.unknown_models.items(), key=lambda kv: -kv[1])
        for raw, n in unknown[:SUMMARY_REASONS]:
            lines.append(f"  unknown model (unpriced): {raw}: {n:,} rows")
            if raw in self.unknown_model_reasons:
                lines.append(f"    {self.unknown_model_reasons[raw]}")
            if raw in self.profile_lookup_failures:
                lines.append(
                    f"    {self.profile_lookup_failures[raw]}; map it with profile_map "
                    "(--profile-map) to the model ID it routes to"
                )
            if raw in self.profile_map_unknown_targets:
                lines.append(
                    f"    profile_map maps it to {self.profile_map_unknown_targets[raw]!r}, "
                    "which is no model ID known here: give the Bedrock model ID it routes to, "
                    "e.g. anthropic.claude-3-5-haiku-20241022-v1:0"
                )
        if len(unknown) > SUMMARY_REASONS:  # e.g. thousands of application profiles
            rest = unknown[SUMMARY_REASONS:]
            lines.append(
                f"  unknown model (unpriced): {len(rest):,} other IDs: "
                f"{sum(n for _, n in rest):,} rows (all in ingest_report.json)"
            )
        lines.extend(self._app_lines())
        for geo, n in self.unlisted_geo_prefixes.items():
            lines.append(
                f"  new geo prefix {geo}.: {n:,} rows; priced where the price sheet has geo "
                f"{geo!r} (or the Region's price holds for profiles), else unpriced with the reason"
            )
        # each line escaped whole: model IDs, error codes in reasons, folder and app names
        # are the logs', and a control character in one would rewrite the terminal
        return "\n".join(for_terminal(line) for line in lines)

    def _span_lines(self) -> list[str]:
        """The records' span beside the window, and the warnings that it may not cover it."""
        warnings = [f"  warning: {w}" for w in self.window_warnings]
        if self.first_record is None or self.last_record is None:
            return warnings
        span = record_span(self.first_record, self.last_record, self.record_days)
        return [f"records span      {span}", *warnings]

    def _app_lines(self) -> list[str]:
        """The summary's lines on app attribution: map keys that matched no caller, and
        requestMetadata keys that miss the app key by case or white space."""
        lines = []
        listed = self.identity_app_map_unmatched[:SUMMARY_REASONS]
        for key in listed:
            lines.append(f"  identity_app_map key matched no caller: {key}")
        rest = self.identity_app_map_unmatched_count - len(listed)
        if rest > 0:
            lines.append(
                f"  identity_app_map: {rest:,} other keys matched no caller (see "
                "identity_app_map_unmatched in ingest_report.json)"
            )
        for key, n in self.app_key_near_misses.items():
            lines.append(
                f"  warning: {n:,} rows have requestMetadata key {key!r} but no {self.app_key!r}: "
                f"their app is the map's or the role's. If {key!r} names the app, ingest again "
                f"with --app-key {shlex.quote(key)} (run.app_key in a params file)"
            )
        return lines


def record_span(first: datetime, last: datetime, days: int) -> str:
    """The first and last record (written as the window is) and their calendar days, as the
    ingest's and the run's summaries show them."""
    return f"[{first}, {last}]  ({days:,} calendar day{'s' if days != 1 else ''})"


def archived_line(n: int) -> str:
    """What ``n`` archived S3 objects mean for the table (the summary's and the run's line)."""
    return (
        f"{n:,} archived S3 object{'s' if n != 1 else ''} (GLACIER, DEEP_ARCHIVE or an "
        "archive access tier): their records are not in this table, one quarantined line "
        "each however many records it holds; restore them (S3 RestoreObject) and run again"
    )


# ---------------------------------------------------------------------------- the pass


def window_bound_utc(value: Any, name: str = "time") -> datetime | None:
    """A window bound in UTC: a date, a datetime or ISO-8601 text; naive values are UTC.

    Only ISO-8601 text is read (``2025-06-02``, ``2025-06-02T06:00``, ``...Z``, ``+02:00``):
    ``02/06/2025`` could be either month first or day first, and a wrong guess would
    silently move the window.
    """
    if value is None:
        return None
    try:
        no_time = bool(value != value)  # pandas' NaT (an empty column's max), NaN
    except TypeError:  # pandas' NA (an empty Arrow-backed column's max): no truth value
        no_time = True
    if no_time:
        raise IngestError(
            f"{name} {value!r} is no time (the min or max of an empty column?); give a date "
            "or time, or None for no bound"
        )
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, np.datetime64):  # a numpy array's element; naive, so UTC
        when = _from_datetime64(value, name)
    elif isinstance(value, date):
        when = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
            if _finer_than_a_microsecond(value):  # fromisoformat drops digits past the sixth
                when += timedelta(microseconds=1)  # so that the bound still rounds up
        except ValueError:
            raise IngestError(
                f"{name} {value!r} is not an ISO-8601 date or time; give YYYY-MM-DD or a time "
                "such as 2025-06-02T06:00Z (UTC when no offset is given)"
            ) from None
    else:
        raise IngestError(
            f"{name} {value!r} is a {type(value).__name__}, not a date or time; give a date, "
            "a datetime (or pandas Timestamp, numpy datetime64) or ISO-8601 text: YYYY-MM-DD "
            "or a time such as 2025-06-02T06:00Z"
        )
    try:
        utc = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00: before year 1 in UTC
        utc = None
    if utc is None or not WINDOW_YEARS[0] <= utc.year <= WINDOW_YEARS[1]:
        whole = {"start": "from the first record", "end": "to the last record"}.get(name)
        raise IngestError(
            f"{name} {value!s} is outside the years {WINDOW_YEARS[0]}-{WINDOW_YEARS[1]} "
            "(UTC) a window can name" + (f"; leave the {name} out to read {whole}" if whole else "")
        )
    # records carry milliseconds: the bound every step uses (S3 and local folders, CloudWatch
    # Logs, the records' filter, the report) is rounded up to one, start and end alike
    return to_ms(utc)


_FRACTION = re.compile(r"[.,](\d{7,})")


def _finer_than_a_microsecond(text: str) -> bool:
    """Whether ISO text gives a nonzero digit past the microseconds (``06:00:00.000000001``,
    as ``str()`` of a nanosecond pandas or numpy time prints)."""
    m = _FRACTION.search(text)
    return m is not None and m.group(1)[6:].strip("0") != ""


def _from_datetime64(value: np.datetime64, name: str) -> datetime:
    """A numpy datetime64 as a naive datetime, rounded up to the microsecond (as the bound is
    rounded up to the millisecond); a year no datetime can hold is outside any window."""
    us = value.astype("datetime64[us]")
    when = us.astype(datetime)  # an int, for a year past 9999 or before 1
    if not isinstance(when, datetime):
        raise IngestError(
            f"{name} {value!s} is outside the years {WINDOW_YEARS[0]}-{WINDOW_YEARS[1]} (UTC) "
            "a window can name"
        )
    return when + timedelta(microseconds=1) if us < value else when


@dataclass
class _Plan:
    label: str
    units: Iterable[Unit]
    total: int | None  # units (files, ranges of large files, pages of events); None: unknown
    skipped: list[dict[str, str]]
    local_root: str | None = None
    client: Any | None = None  # an injected client forces in-process reading
    list_requests: int = 0  # S3 LIST requests the listing took
    folders_outside_window: int = 0  # S3 date folders outside the window, not listed
    cloudwatch_pages: PageCount | None = None  # pages read, counted as they come
    log_group: GroupRetention | None = None  # filled once the group is read

    @property
    def progress_unit(self) -> str:
        """What progress counts: files, or parts when a large file is read in ranges (each
        range a step, so the bar moves through a month's export in one file), or batches of
        CloudWatch Logs events."""
        if self.cloudwatch_pages is not None:
            return "batch"  # of CW_PAGE_EVENTS
        if isinstance(self.units, list) and any(u.start or u.stop is not None for u in self.units):
            return "part"
        return "file"


REMOTE_SOURCES = ("s3://", "cloudwatch-logs://")


def local_source(source: str, region: str | None = None) -> Path | None:
    """The local folder or file a source names; None for S3 and CloudWatch Logs.

    Raises :class:`SourceError` for a mistyped scheme, a name S3 or CloudWatch Logs cannot
    have, or a log group ARN of another Region than ``region``: before any work is done."""
    source = normalised_source(source)
    if source.startswith("s3://"):
        s3_bucket_and_prefix(source)
    if source.startswith("cloudwatch-logs://"):
        log_group_and_region(source, region)
    if source.startswith(REMOTE_SOURCES):
        return None
    try:
        return Path(expand_user(source))
    except UserPathError as exc:  # ~name of no such user
        raise IngestError(f"source {exc}") from None


def _plan(
    source: Any,
    start,
    end,
    endpoint_url,
    region,
    s3_client,
    logs_client,
    scratch: Path,
    note: Callable[[str], None] | None = None,
) -> _Plan:
    try:
        src = normalised_source(str(source))
        if src.startswith("s3://"):
            listing = logs.list_s3(
                src,
                start,
                end,
                endpoint_url=endpoint_url,
                region=region,
                client=s3_client,
                note=note,
            )
            logs.localise_large_objects(listing, scratch, s3_client, note)
            return _Plan(
                src,
                listing.units,
                len(listing.units),
                listing.skipped,
                client=s3_client,
                list_requests=listing.list_requests,
                folders_outside_window=listing.folders_outside_window,
            )
        if src.startswith("cloudwatch-logs://"):
            pages, retention = PageCount(), GroupRetention()
            units = iter_cloudwatch(
                src,
                start,
                end,
                endpoint_url=endpoint_url,
                region=region,
                client=logs_client,
                count=pages,
                retention=retention,
            )
            return _Plan(src, units, None, [], cloudwatch_pages=pages, log_group=retention)
        root = local_source(src)
        assert root is not None  # s3:// and cloudwatch-logs:// returned above
        listing = logs.list_local(
            root, start, end, expand_dir=scratch, note=note, own_output=scratch.parent
        )
        return _Plan(
            str(root),
            listing.units,
            len(listing.units),
            listing.skipped,
            local_root=str(root if root.is_dir() else root.parent),
        )
    except SourceError as exc:
        raise IngestError(str(exc)) from None


def _chunked(units: Iterable[Unit], size: int) -> Iterator[list[Unit]]:
    chunk: list[Unit] = []
    for unit in units:
        chunk.append(unit)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _chunk_size(total: int | None, workers: int) -> int:
    """Files per task: enough to amortise per-task costs, small enough to balance the cores."""
    if total is None:
        # CloudWatch batches already hold up to CW_PAGE_EVENTS events each; more per task would
        # hold back the first progress (and the table) until that many events were fetched
        return 1
    return max(1, min(CHUNK_FILES, total // (workers * 8) or 1))


def _results(
    units: Iterable[Unit], opts: Options, workers: int, client: Any | None, chunk: int
) -> Iterator[ChunkResult]:
    """Process chunks in order; in parallel with a bounded number of results in flight."""
    chunks = _chunked(units, chunk)
    if workers <= 1 or client is not None:
        for part in chunks:
            yield process_chunk(part, opts, client)
        return
    window = workers * TASKS_IN_FLIGHT_PER_WORKER
    spill = spill_dir()
    opts = replace(opts, spill_dir=str(spill.path) if spill else None)
    pool = None
    finished = False
    try:
        # the options (maps of any size) reach each worker once; a task carries its units
        pool = worker_pool.start(workers, setup=set_run_options, setup_args=(opts,))
        pending: deque[Future] = deque()
        for part in chunks:
            pending.append(pool.submit(worker_pool.run_task, process_run_chunk, part))
            if len(pending) >= window:
                yield pending.popleft().result()
            while pending and pending[0].done():  # in order, as soon as they are ready:
                yield pending.popleft().result()  # progress moves while a slow source lists
        while pending:
            yield pending.popleft().result()
        finished = True
    finally:
        try:
            if pool is not None and finished:
                pool.shutdown(wait=True)
            elif pool is not None:  # an error, Ctrl-C, SIGTERM, or the reader stopped: the
                worker_pool.stop(pool)  # queued tasks are not run, the running ones stopped
        finally:
            if spill is not None:
                spill.remove()


def ingest_to_folder(
    source: Any,
    out_dir: str | Path,
    start: Any = None,
    end: Any = None,
    *,
    app_key: str = "app",
    identity_app_map: dict[str, str] | None = None,
    profile_map: dict[str, str] | None = None,
    fetch_large_bodies: bool = False,
    workers: int | None = None,
    progress: bool | None = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    bedrock_client: Any | None = None,
    s3_client: Any | None = None,
    logs_client: Any | None = None,
    lookup_profiles: bool = True,
    table_name: str = "usage.parquet",
) -> IngestReport:
    """Ingest invocation logs from ``source`` into ``out_dir``.

    Writes ``usage.parquet`` (USAGE_SCHEMA; ``table_name`` names it otherwise),
    ``prompts.parquet`` (distinct system prompts and tool specs), ``quarantine.parquet`` and
    ``ingest_report.json``. ``source`` is a local
    folder, ``s3://bucket/prefix`` or ``cloudwatch-logs://LOG_GROUP``; ``start``/``end``
    bound the record timestamps, ``[start, end)`` in UTC. ``endpoint_url`` (or the standard
    ``AWS_ENDPOINT_URL``) points the boto3 clients elsewhere, e.g. at a test server.

    Application inference profile ARNs missing from ``profile_map`` are looked up with
    ``bedrock:GetInferenceProfile`` when AWS credentials exist (``lookup_profiles=False``:
    never); the report lists each that could not be resolved, and why.
    """
    t0 = time.perf_counter()
    _check_table_name(table_name)
    _check_workers(workers)
    start_dt, end_dt = window_bound_utc(start, "start"), window_bound_utc(end, "end")
    if start_dt and end_dt and start_dt >= end_dt:
        raise IngestError(
            f"start {start_dt} is not before end {end_dt}; the window is [start, end)"
        )
    id_map, profile_map = _checked_maps(app_key, identity_app_map, profile_map)
    try:  # a source named wrongly is told before the output folder is made
        local_source(str(source), logs_client.meta.region_name if logs_client else region)
    except SourceError as exc:
        raise IngestError(str(exc)) from None
    endpoint_url = _checked_endpoint_url(endpoint_url)
    out = _output_folder(out_dir)
    if blocked := folders_in_the_way(out, table_name):  # told now, not after the whole read
        raise IngestError(f"{blocked[0]} is {FOLDER_IN_THE_WAY}")
    made = made_folders.missing(out)  # removed again if the ingest fails (and they are empty)
    with made_folders.taken_back_on_failure(made):
        _make_output_folder(out)
        watched = sys.stderr.isatty() if progress is None else progress  # as Progress decides
        note = _note_on_stderr if watched else None
        scratch = _scratch_folder(out, table_name, note)  # large gzip files, expanded to be cut
        try:
            plan = _plan(
                source,
                start_dt,
                end_dt,
                endpoint_url,
                region,
                s3_client,
                logs_client,
                scratch.path,
                note,
            )
            report = IngestReport(
                source=plan.label,
                table=table_name,
                start=start_dt,
                end=end_dt,
                files_skipped=plan.skipped,
                list_requests=plan.list_requests,
                folders_outside_window=plan.folders_outside_window,
            )
            report.app_key = app_key
            opts = Options(
                token=uuid.uuid4().hex,
                app_key=app_key,
                identity_app_map=id_map,
                profile_map=profile_map,
                fetch_large_bodies=fetch_large_bodies,
                start_ms=ceil_ms(start_dt) if start_dt else None,
                end_ms=ceil_ms(end_dt) if end_dt else None,
                local_root=plan.local_root,
                endpoint_url=endpoint_url,
                region=region,
            )
            n_workers = int(workers or os.cpu_count() or 1)
            if plan.total is not None:
                n_workers = min(n_workers, max(plan.total, 1))
            if bedrock_client is None and lookup_profiles:
                # not the source's endpoint: botocore finds Bedrock's (AWS_ENDPOINT_URL_BEDROCK)
                bedrock_client = models.ProfileLookup()
            apps = AppChecks(app_key, id_map)
            collector = functools.partial(Collector, out, profile_map, bedrock_client, report, apps)
            _write_tables(plan, opts, n_workers, out, report, collector, progress, t0)
            return report
        finally:
            scratch.remove()


def _output_folder(out_dir: str | Path) -> Path:
    """The folder ``out_dir`` names, ``~`` expanded as for the source (pyarrow would expand it
    when writing a table and Python not when renaming it into place)."""
    try:
        return Path(expand_user(str(out_dir)))
    except UserPathError as exc:
        raise IngestError(f"output folder {exc}") from None


def _make_output_folder(out: Path) -> None:
    """``out`` and its missing parents; one error naming a file in their way."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        a_file = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
        why = f"{a_file} is a file, not a folder" if a_file is not None else exc.strerror
        raise IngestError(f"cannot create the output folder {out}: {why}") from None


def _scratch_folder(
    out: Path, table: str, note: Callable[[str], None] | None
) -> scratch_folders.ScratchFolder:
    """This run's scratch folder in ``out``, once the ones killed runs left there are removed."""
    for stale in scratch_folders.remove_stale(out, logs.SCRATCH_PREFIX):
        if note is not None:
            note(f"removed {stale}: the scratch copy of logs a stopped ingest left")
    try:
        return scratch_folders.make(out, logs.SCRATCH_PREFIX)
    except OSError as exc:
        if disk_full(exc):
            raise NoRoomForTables(_no_room_for_tables(out, table, exc), no_room(exc)) from None
        raise


def _write_tables(
    plan: _Plan,
    opts: Options,
    workers: int,
    out: Path,
    report: IngestReport,
    new_collector: Callable[[], Collector],
    progress: bool | None,
    t0: float,
) -> None:
    """Read the plan into the usage table, its companions and the report, written under
    partial names and put in place at the end. A failure or an interrupt (Ctrl-C, SIGTERM)
    anywhere removes the partial files and stops the workers first: an earlier run's files
    stay as they were."""
    collector: Collector | None = None
    try:
        collector = new_collector()
        chunk = _chunk_size(plan.total, workers)
        results = _results(plan.units, opts, workers, plan.client, chunk)
        # closed before the partial files go: the workers are stopped, not left to run
        with (
            Progress(plan.total, progress, unit=plan.progress_unit) as bar,
            contextlib.closing(results),
        ):
            for res in results:
                collector.add(res)
                bar.update(res.parts + res.event_batches, res.lines_read)
        collector.close()  # (its last row group and checks can fail too)
        if plan.cloudwatch_pages is not None:
            report.event_pages_read = plan.cloudwatch_pages.pages
        _judge_coverage(report, plan.log_group, window_coverage.utc_now(), collector.days)
        if isinstance(collector.bedrock_client, models.ProfileLookup):
            report.profile_lookup_failures = dict(collector.bedrock_client.failures)
        report.elapsed_s = round(time.perf_counter() - t0, 3)
        report.rows_per_s = round(report.rows / report.elapsed_s, 1) if report.elapsed_s else 0.0
        collector.commit(out, json.dumps(report.to_dict(), indent=2) + "\n")
        return
    except BaseException as exc:
        if collector is not None:
            collector.abort()
        if isinstance(exc, SourceError):
            raise IngestError(str(exc)) from None
        if not disk_full(exc):
            raise
        no_room_error = NoRoomForTables(_no_room_for_tables(out, report.table, exc), no_room(exc))
    # raised here, the full disk's error is gone with its traceback: the writers it holds
    # would keep the removed partial files open, and their space taken, while it is kept
    raise no_room_error


def _judge_coverage(
    report: IngestReport,
    group: GroupRetention | None,
    now: datetime,
    days: Mapping[date, window_coverage.DayRecords],
) -> None:
    """The report's word on whether the table covers its window: the records' calendar days,
    the weekdays the traffic runs on, the gaps at the window's edges and inside the records'
    span, and what the log group read keeps (see ``window_coverage``)."""
    first, last = report.first_record, report.last_record
    if first is not None and last is not None:
        report.record_days = window_coverage.calendar_days(first, last)
    weekdays = window_coverage.traffic_weekdays(days)
    report.traffic_weekdays = [window_coverage.WEEKDAYS[wd] for wd in weekdays]
    edges = window_coverage.window_gaps(report.start, report.end, first, last, now)
    inside = window_coverage.inside_gaps(days, weekdays)
    report.window_gaps = window_coverage.in_time_order(edges, inside)
    warnings = []
    if told := [gap for gap in edges if window_coverage.edge_gap_told(gap, weekdays)]:
        warnings.append(window_coverage.gap_warning(told, report.record_days, report.end))
    if inside:
        warnings.append(
            window_coverage.inside_gap_warning(inside, report.record_days, report.start, report.end)
        )
    if group is not None:
        report.log_group = group.to_report()
        warnings.extend(window_coverage.log_group_warnings(group, report.start, now))
    report.window_warnings = warnings


def _no_room_for_tables(out: Path, table: str, exc: OSError) -> str:
    return (
        f"{no_room(exc)} in {out}, where the usage table ({table}) and the prompts.parquet, "
        "quarantine.parquet and ingest_report.json beside it are written: free space there, "
        "or write the table to another disk (--out)"
    )


def _check_table_name(name: Any) -> None:
    """The table's file name: a bare name ending .parquet, written in the output folder (a
    folder in it, ``..`` or an absolute path would put it elsewhere)."""
    if not isinstance(name, str):
        raise IngestError(
            f"table_name {name!r} is no file name ({type(name).__name__}); give one such as "
            "usage.parquet"
        )
    if Path(name).name != name or "/" in name or "\\" in name or name in (".", ".."):
        raise IngestError(
            f"table_name {name!r} is not a bare file name: the table is written in the output "
            "folder (out_dir); give that folder as out_dir and the name alone, e.g. usage.parquet"
        )
    if not name.endswith(".parquet") or name == ".parquet":
        raise IngestError(
            f"table_name {name!r} must be a name ending in .parquet, e.g. usage.parquet"
        )
    if name in OUTPUT_FILES:  # written beside the table: the one would overwrite the other
        raise IngestError(
            f"the usage table cannot be named {name}: the ingest writes its {name} beside it; "
            "name it e.g. usage.parquet"
        )


def _check_workers(workers: Any) -> None:
    """Worker processes: None (one per core) or a whole number, 1 or more."""
    if workers is None:
        return
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise IngestError(
            f"workers (--workers) {workers!r} is not a number of processes: give a whole number, "
            "1 or more (1 reads in this process), or leave it out for one per core"
        )


def _checked_endpoint_url(endpoint_url: Any) -> str | None:
    """The endpoint override (the argument, else ``AWS_ENDPOINT_URL``), checked before any work:
    botocore refuses a host name without https:// only when a client is made."""
    named = "endpoint_url (--endpoint-url)" if endpoint_url else "AWS_ENDPOINT_URL"
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    try:
        check_endpoint_url(endpoint_url, named)
    except ValueError as exc:
        raise IngestError(str(exc)) from None
    return endpoint_url


def _checked_maps(
    app_key: Any, identity_app_map: dict[str, str] | None, profile_map: dict[str, str] | None
) -> tuple[app_attribution.IdentityAppMap | None, dict[str, str] | None]:
    """The identity -> app map, indexed, and the profile map, once checked with the app key
    (as a params file's are): ``IngestError`` names the map, the key and the fix."""
    try:
        app_attribution.check_app_key(app_key)
    except ValueError as exc:
        raise IngestError(f"app_key (--app-key) {exc}") from None
    try:
        id_map = app_attribution.IdentityAppMap(identity_app_map) if identity_app_map else None
    except MapError as exc:
        raise IngestError(f"identity_app_map: {exc}") from None
    try:
        if profile_map:
            profile_map = check_name_map(profile_map, PROFILE_MAP_EXAMPLE)
    except MapError as exc:
        raise IngestError(f"profile_map: {exc}") from None
    return id_map, profile_map


def read_invocation_logs(
    source: Any, start: Any = None, end: Any = None, **kwargs: Any
) -> pd.DataFrame:
    """Ingest into a temporary folder and return the usage table.

    ``attrs["ingest"]`` holds the report and ``attrs["quarantine"]`` the quarantined lines,
    one dict each (source, line, reason, excerpt): ``pd.DataFrame(df.attrs["quarantine"])``.
    (A list, not a frame: pandas compares attrs with ``==`` when concatenating.) To keep the
    files (``prompts.parquet`` too), use :func:`ingest_to_folder`.
    """
    if "table_name" in kwargs:  # the table is returned, and its temporary file removed
        raise TypeError(
            "read_invocation_logs() takes no table_name: it returns the table as a DataFrame; "
            "to write it under a name, use ingest_to_folder(source, out_dir, table_name=...)"
        )
    with tempfile.TemporaryDirectory(prefix="bedrock-finops-") as tmp:
        report = ingest_to_folder(source, tmp, start, end, **kwargs)
        df = from_arrow(pq.read_table(Path(tmp) / report.table))
        quarantine = pq.read_table(Path(tmp) / "quarantine.parquet").to_pylist()
    df.attrs["ingest"] = report.to_dict()
    df.attrs["quarantine"] = quarantine
    return df


# ---------------------------------------------------------------------------- CLI


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "ingest",
        help="read invocation logs into the usage table",
        description="Read Bedrock model invocation logs (local folder, s3://bucket/prefix or "
        "cloudwatch-logs://LOG_GROUP) into usage.parquet; prompts.parquet, quarantine.parquet "
        "and ingest_report.json are written next to it.",
    )
    p.add_argument(
        "--source",
        required=True,
        type=path_argument,
        help="folder, s3://bucket/prefix, or cloudwatch-logs://LOG_GROUP",
    )
    p.add_argument(
        "--out", required=True, type=path_argument, help="usage table to write (.parquet)"
    )
    p.add_argument("--start", help="first day/time to include (UTC, e.g. 2025-06-01)")
    p.add_argument("--end", help="end of the window, exclusive (UTC)")
    p.add_argument(
        "--app-key",
        default="app",
        help="requestMetadata key naming the app (default app; the report counts rows with "
        "the key in another case or spacing)",
    )
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--endpoint-url", default=None, help="AWS endpoint override (tests, VPC)")
    p.add_argument("--region", default=None, help="AWS Region of the bucket or log group")
    p.add_argument(
        "--fetch-large-bodies",
        action="store_true",
        help="read bodies over 100 KB from their data/ objects",
    )
    p.add_argument(
        "--identity-app-map",
        type=path_argument,
        metavar="FILE",
        help="YAML/JSON mapping of IAM role (name or ARN), IAM user or federated user -> app, "
        "for records without the app key; no wildcards",
    )
    p.add_argument(
        "--profile-map",
        type=path_argument,
        metavar="FILE",
        help="YAML/JSON mapping of application inference profile or provisioned model "
        "ARN (or ID) -> the model ID it routes to",
    )
    p.add_argument(
        "--no-profile-lookup",
        action="store_true",
        help="never call bedrock:GetInferenceProfile for unmapped application profiles",
    )
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    """The ``ingest`` command. Its mistakes are :class:`IngestError`, for the command's one
    ``error:`` line (``cli``), which is scrubbed of credential values as its other lines are."""
    out = Path(args.out)
    folder = out.parent
    if out.suffix != ".parquet":
        raise IngestError(f"--out {out} must name a .parquet file, e.g. out/usage.parquet")
    if out.is_dir():  # told before the ingest reads anything, not when it renames the table
        raise IngestError(
            f"--out {out} is a folder; name the table's file, e.g. {out / 'usage.parquet'}"
        )
    other = _other_run(folder, out.name)
    if other:
        raise IngestError(
            f"{folder} already holds the ingest that wrote {other}; its "
            "prompts.parquet, quarantine.parquet and ingest_report.json would be replaced. "
            f"Write to another folder, or to {folder / other} to replace that run."
        )
    replacing = out.exists()
    report = ingest_to_folder(
        args.source,
        folder,
        args.start,
        args.end,
        app_key=args.app_key,
        identity_app_map=_mapping_file(args.identity_app_map, "--identity-app-map"),
        profile_map=_mapping_file(args.profile_map, "--profile-map"),
        workers=args.workers,
        endpoint_url=args.endpoint_url,
        region=args.region,
        fetch_large_bodies=args.fetch_large_bodies,
        lookup_profiles=not args.no_profile_lookup,
        table_name=out.name,
    )
    for line in report.summary().split("\n"):  # each line escaped as it was built
        _say(line)
    if replacing:
        _say(f"{out} replaces the table an earlier ingest wrote there")
    return 0


def _say(line: str, file: TextIO | None = None) -> None:
    """Print one of the ingest's lines (stdout unless ``file``) with any credential value from
    the environment redacted, as ``run`` prints its lines: a line may quote the source (a
    folder or an S3 prefix named after one) or the output folder, and a scheduled ingest's
    output is mailed or kept in a log. The line is escaped whole for the terminal, a line
    break too: a folder named ``a\\nok ...`` printed a line of its own."""
    from bedrock_finops.runner import scrubbed

    print(for_terminal(scrubbed(line)), file=file)


def _note_on_stderr(line: str) -> None:
    """What a watched ingest says as it works (a scratch copy removed, a large file expanded,
    an S3 listing's progress), on stderr, scrubbed, and with the file or folder name it may
    quote escaped for the terminal."""
    _say(line, sys.stderr)


def _other_run(folder: Path, table: str) -> str | None:
    """The table of an earlier ingest in ``folder`` other than ``table``, if one is there."""
    try:
        earlier = json.loads((folder / "ingest_report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = earlier.get("table", "usage.parquet") if isinstance(earlier, dict) else None
    if isinstance(name, str) and name != table and (folder / name).exists():
        return name
    return None


def _mapping_file(path: str | None, option: str) -> dict[str, str] | None:
    """A YAML or JSON file holding one mapping of names to names (a CLI option's value)."""
    if path is None:
        return None
    example = IDENTITY_APP_EXAMPLE if option == "--identity-app-map" else PROFILE_MAP_EXAMPLE
    try:
        return load_map_file(Path(path), option, example)
    except MapError as exc:
        raise IngestError(str(exc)) from None
