"""The ingest's worker side: a chunk of log units -> Arrow record batches + quarantine entries.

Runs in worker processes (one per core). Each worker decompresses and parses whole files,
builds usage rows (``parse.fast_row``, else ``parse.record_row`` or the quarantine reason),
turns them into Arrow batches and hands them to the parent through a memory-backed Arrow IPC
file (``spill``/``unspill``), or in the result itself where there is no /dev/shm.
"""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from bedrock_finops import models, scratch_folders, worker_pool
from bedrock_finops.parse import fast_row, record_row, row_values
from bedrock_finops.parse_body import PromptCache
from bedrock_finops.parse_scalars import BadRecord, fast_timestamp_ms, parse_timestamp_ms
from bedrock_finops.row_batch import to_batch
from bedrock_finops.sources import invocation_logs as logs
from bedrock_finops.sources.document_files import is_depth_error
from bedrock_finops.sources.invocation_logs import Unit
from bedrock_finops.sources.large_text import TextTooLarge
from bedrock_finops.sources.log_decoding import (
    _TIMESTAMP_PREFIX,
    gunzip_lines,
    is_setup_notice,
    record_after_timestamp,
    record_with_lone_surrogates,
)
from bedrock_finops.sources.read_ahead import Fetched, read_ahead
from bedrock_finops.sources.s3_objects import ObjectTooLarge, read_s3_bytes
from bedrock_finops.sources.source_errors import SourceError, UnreadableObject
from bedrock_finops.sources.source_uri import s3_bucket_and_prefix
from bedrock_finops.sources.time_folders import DELIVERY_SLACK, key_span

EXCERPT_CHARS = 200  # of a quarantined line, kept to show what was wrong
# what the parsers raise on a record of an unexpected shape (a number where AWS writes an
# object, a string where it writes a list, ...): the record is quarantined, the run goes on
MALFORMED = (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError)
NESTED_TOO_DEEP = "nested too deep to read"
# a CloudWatch Logs event (or an envelope's) whose message is only white space: it was
# delivered as a record, so it is a line read, unlike a blank line between records in a file
EMPTY_EVENT = "empty event (the message is only white space)"
# a line that does not parse and is not UTF-8 either, as a document file's record says it
NOT_UTF8 = "invalid JSON (bytes that are not UTF-8)"
# rows turned into Arrow at a time: ~4 MB of prompt text, which converts ~40% faster than a
# whole chunk's rows at once (measured), as the text is still in the CPU's cache
CONVERT_ROWS = 1024
SLACK_MS = int(DELIVERY_SLACK.total_seconds() * 1000)
# the start values of a unit's earliest and latest record outside the window (epoch ms): any
# timestamp is below the one and above the other
_NO_EARLIEST, _NO_LATEST = 2**63, -(2**63)
_PACKAGE = __name__.partition(".")[0]


@dataclass(frozen=True)
class Options:
    """What a worker needs to parse records (picklable)."""

    token: str
    app_key: str = "app"
    identity_app_map: dict[str, str] | None = None
    # logged ID -> the model it routes to (an application profile, provisioned or custom
    # model): the provider rules a worker applies (image tokens, <think> tags) follow it
    profile_map: dict[str, str] | None = None
    fetch_large_bodies: bool = False
    start_ms: int | None = None
    end_ms: int | None = None
    local_root: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    spill_dir: str | None = None  # workers hand batches over as Arrow files here


@dataclass
class OutsideSides:
    """Of the records outside the window, the ones dated before it and after it, and the
    earliest and latest timestamp among them (epoch ms; None: none dated outside). Lines that
    cannot be dated, in files of another window, are outside on neither side."""

    before: int = 0
    after: int = 0
    earliest_ms: int | None = None
    latest_ms: int | None = None

    def add(self, before: int, after: int, earliest_ms: int, latest_ms: int) -> None:
        """Count a unit's (or a chunk's) records outside the window in."""
        if not (before or after):
            return
        self.before += before
        self.after += after
        if self.earliest_ms is None or earliest_ms < self.earliest_ms:
            self.earliest_ms = earliest_ms
        if self.latest_ms is None or latest_ms > self.latest_ms:
            self.latest_ms = latest_ms

    def merge(self, other: OutsideSides) -> None:
        if other.earliest_ms is not None and other.latest_ms is not None:
            self.add(other.before, other.after, other.earliest_ms, other.latest_ms)


@dataclass
class ChunkResult:
    """What a worker hands back for a chunk of units (files, objects, batches of events)."""

    files: int
    batches: list[pa.RecordBatch]
    quarantine: list[tuple[str, int, str, str]]
    lines_read: int
    outside_window: int
    control_messages: int  # CloudWatch Logs health-check envelopes left out (no records)
    prompts: dict[str, tuple[str, int, str]]
    batch_path: str | None = None  # the batches, as an Arrow IPC file in ``Options.spill_dir``
    event_batches: int = 0  # units of CloudWatch Logs events (not files)
    # large bodies fetch_large_bodies could not read: (s3 path, why); their rows keep
    # body_in_s3 = true
    bodies_unread: list[tuple[str, str]] = field(default_factory=list)
    too_late: int = 0  # of outside_window: see ``_past_previous_slack``
    sides: OutsideSides = field(default_factory=OutsideSides)
    # Bedrock's CloudWatch Logs set-up notice (``log_decoding.SETUP_NOTICE``), left out: no
    # record, so no line read
    setup_notices: int = 0
    parts: int = 0  # units of files read (a large file's ranges each count): progress's steps
    # values parse.record_row nulled as no Bedrock call logs them: (the row's position among
    # the chunk's rows, in its batches' order; the column; why), so the parent counts only
    # the rows it keeps (not a duplicate delivery's)
    values_nulled: list[tuple[int, str, str]] = field(default_factory=list)


_STATE: dict[str, Any] = {}
# a pool worker's options, set as it starts (``set_run_options``): the same for every task of
# the run, they are not sent with each (pickled into each task, maps of 10,000 entries each
# would make every task of 32 files a 2 MB message, 50-80 ms of CPU to send and read)
_run_options: Options | None = None


def set_run_options(opts: Options) -> None:
    """(A pool worker's ``setup``) the options every task of this run reads."""
    global _run_options
    _run_options = opts


def process_run_chunk(units: list[Unit]) -> ChunkResult:
    """:func:`process_chunk` in a pool worker, with the options ``set_run_options`` gave it."""
    if _run_options is None:
        raise RuntimeError("a worker started without its run's options (set_run_options)")
    return process_chunk(units, _run_options)


def _worker_state(opts: Options) -> tuple[PromptCache, dict[str, str], dict[str, str]]:
    if _STATE.get("token") != opts.token:
        _STATE.update(token=opts.token, cache=PromptCache(), keys={}, rules={})
    return _STATE["cache"], _STATE["keys"], _STATE["rules"]


def malformed_reason(exc: Exception) -> str:
    """The quarantine reason for a record the parsers could not read (see ``MALFORMED``).

    Names the error type and the package function that met the odd value, e.g.
    ``malformed record (AttributeError in parse_response.stream_text)``: enough to find the
    field, and few enough distinct reasons to count them. The error's message is left out:
    it can quote the record's values (prompt text).
    """
    where = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(_PACKAGE + "."):
            # a compiled module's frames name their function in full (module.function)
            function = code.co_name.rpartition(".")[2]
            where = f"{module.removeprefix(_PACKAGE + '.')}.{function}"
        tb = tb.tb_next
    name = type(exc).__name__
    return f"malformed record ({name} in {where})" if where else f"malformed record ({name})"


def _excerpt(line: bytes | memoryview) -> str:
    return bytes(line[: EXCERPT_CHARS * 4]).decode("utf-8", "replace")[:EXCERPT_CHARS]


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one chunk; collect once at the end.

    Parsing allocates tens of containers per record and keeps thousands of cached blocks
    alive, so automatic collections would walk the caches again and again (about 15% of a
    worker's time). Parsed records form no reference cycles, so pausing loses nothing; one
    collection per chunk reclaims whatever cycle did form.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(0)


def process_chunk(units: list[Unit], opts: Options, client: Any | None = None) -> ChunkResult:
    """Decode a chunk of units into record batches plus quarantine entries.

    Many files per task keep the per-task overhead (pickling, spilling) small next to the
    per-record work.
    """
    with _gc_paused():
        return _process_chunk(units, opts, client)


def row_keys(
    profile_map: dict[str, str] | None,
    keys: dict[str, str] | None = None,
    rules: dict[str, str] | None = None,
) -> tuple[Callable[[str], str], Callable[[str], str] | None]:
    """The ``model_key`` and ``rules_key`` lookups ``parse.record_row`` and ``fast_row`` take,
    memoised in ``keys`` and ``rules`` (a worker's, kept across its chunks). Without a
    profile_map the rules read the request hash's model part: no second lookup (None)."""
    keys = {} if keys is None else keys
    rules = {} if rules is None else rules

    def model_key(raw: str) -> str:
        key = keys.get(raw)
        if key is None:
            key = keys[raw] = models.request_model_id(raw)
        return key

    def rules_key(raw: str) -> str:
        key = rules.get(raw)
        if key is None:
            key = rules[raw] = models.rules_model_id(raw, profile_map)
        return key

    return model_key, (rules_key if profile_map else None)


def _process_chunk(units: list[Unit], opts: Options, client: Any | None) -> ChunkResult:
    cache, keys, rules = _worker_state(opts)
    lookups = row_keys(opts.profile_map, keys, rules)

    rows: list[tuple] = []
    batches: list[pa.RecordBatch] = []
    quarantine: list[tuple[str, int, str, str]] = []
    bodies_unread: list[tuple[str, str]] = []
    nulled: list[tuple[int, str, str]] = []  # ChunkResult.values_nulled
    buffered: list[tuple[int, str, str]] = []  # the same for ``rows``: positions in it
    lines_read = outside = control = too_late = notices = converted = 0
    sides = OutsideSides()
    for unit, fetched in read_ahead(units, client):
        worker_pool.working_on(_reading(unit))  # named if the worker dies reading it
        n, out, c, late, notice = _unit_rows(
            unit, fetched, opts, client, lookups, cache, rows, quarantine, bodies_unread, buffered,
            sides,
        )  # fmt: skip
        lines_read += n
        outside += out
        control += c
        too_late += late
        notices += notice
        if len(rows) >= CONVERT_ROWS:  # convert while the rows' text is still in CPU cache
            nulled.extend((converted + at, column, why) for at, column, why in buffered)
            buffered.clear()
            batches.append(to_batch(rows))
            converted += len(rows)
            rows = []
    if rows:
        nulled.extend((converted + at, column, why) for at, column, why in buffered)
        batches.append(to_batch(rows))
    prompts = dict(cache.seen)
    cache.seen.clear()
    path = None
    if batches and opts.spill_dir is not None:
        with contextlib.suppress(OSError):  # e.g. a container's small /dev/shm is full
            path, batches = spill(batches, opts.spill_dir), []
    # a large file's later ranges are not files; CloudWatch Logs events come in batches
    files = sum(1 for u in units if u.start == 0 and u.kind != "events")
    event_batches = sum(1 for u in units if u.kind == "events")
    parts = len(units) - event_batches
    return ChunkResult(
        files, batches, quarantine, lines_read, outside, control, prompts, path, event_batches,
        bodies_unread, too_late, sides, notices, parts, nulled,
    )  # fmt: skip


def _reading(unit: Unit) -> str:
    """What a worker reading ``unit`` is doing, in words: ``reading logs/a.json``, ``reading
    month.jsonl from line 1,048,577`` (a large file's later range), ``reading 1,000 events of
    GROUP from event 2,001``."""
    if unit.kind == "events":
        group = unit.name.rpartition("#")[0]
        return f"reading {len(unit.lines):,} events of {group} from event {unit.first_line:,}"
    if unit.start:
        return f"reading {unit.name} from line {unit.first_line:,}"
    return f"reading {unit.name}"


def spill(batches: list[pa.RecordBatch], folder: str) -> str:
    """Write ``batches`` as an Arrow IPC file (in memory-backed /dev/shm where there is one).

    Raises OSError when the folder has no room; the chunk's result then carries the batches.

    The parent maps the file instead of unpickling a copy sent through a pipe: a chunk is
    tens of MB of prompt text, and the pipe copies cost both sides CPU time.
    """
    path = os.path.join(folder, f"{os.getpid()}-{uuid.uuid4().hex}.arrow")
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, batches[0].schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
    except OSError:  # no room: leave no partial file; the caller sends the batches instead
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def unspill(path: str) -> list[pa.RecordBatch]:
    """The batches a worker spilled, memory-mapped (no copy); the file name goes at once."""
    try:
        reader = pa.ipc.open_file(pa.memory_map(path))
        return [reader.get_batch(i) for i in range(reader.num_record_batches)]
    finally:
        os.unlink(path)  # the mapping stays valid until the batch is released


SHM = Path("/dev/shm")
SPILL_PREFIX = "bedrock-finops-"


def spill_dir() -> scratch_folders.ScratchFolder | None:
    """A fresh folder for spilled batches: in /dev/shm when present, else none (use pipes).

    The folders killed runs left there (their memory is not freed until they are removed)
    are removed first; see ``scratch_folders``."""
    if not (SHM.is_dir() and os.access(SHM, os.W_OK)):
        return None
    scratch_folders.remove_stale(SHM, SPILL_PREFIX)
    try:
        return scratch_folders.make(SHM, SPILL_PREFIX)
    except OSError:  # full, say: the batches go through the pipes instead
        return None


def _unit_rows(
    unit: Unit,
    fetched: Fetched,
    opts: Options,
    client: Any | None,
    lookups: tuple[Any, Any],  # parse.record_row's model_key and rules_key (``row_keys``)
    cache: PromptCache,
    rows: list[tuple],
    quarantine: list[tuple[str, int, str, str]],
    bodies_unread: list[tuple[str, str]],
    nulled: list[tuple[int, str, str]],
    sides: OutsideSides,
) -> tuple[int, int, int, int, int]:
    """Append one unit's rows and quarantine entries, and to ``nulled`` the values
    ``record_row`` nulled in them: (the row's position in ``rows``, the column, why); count
    its records dated outside the window in ``sides``.

    Returns (lines read, records outside the window, control messages left out, records
    before the window delivered past the slack of the run that ends where this one starts,
    set-up notices left out: only the ones this run owns, see ``_owns_undated_lines``).
    """
    decoded = logs.unit_lines(unit, client, fetched)
    lines_read = outside = too_late = notices = 0
    # dated outside the window: before it, after it, the earliest and latest (epoch ms), kept
    # in locals with a comparison each (no list, no datetime per record)
    before = after = 0
    earliest_ms, latest_ms = _NO_EARLIEST, _NO_LATEST
    past_slack = _past_previous_slack(unit, opts)
    window = opts.start_ms is not None or opts.end_ms is not None
    name = unit.name
    loads = orjson.loads
    start_ms, end_ms, fetch = opts.start_ms, opts.end_ms, opts.fetch_large_bodies
    kw = {
        "app_key": opts.app_key,
        "identity_app_map": opts.identity_app_map,
        "model_key": lookups[0],
        "rules_key": lookups[1],
        "cache": cache,
    }
    owns_undated = _owns_undated_lines(unit, opts)
    counts_notices = owns_undated and _dates_notices(unit, window)
    append = rows.append
    damaged = decoded.damaged  # a document file's damaged stretches: index -> reason
    events = decoded.events  # one line per event (or document record): none is a blank line
    where = _entry_source(unit)
    per_event = bool(unit.event_refs)  # a CloudWatch event's row names its stream and time too
    i = unit.first_line - 1  # the last line's number, blank ones included (ranges: of the file)
    for i, line in enumerate(decoded.views(), unit.first_line):
        if damaged is not None and (reason := damaged.get(i - unit.first_line)) is not None:
            if owns_undated:
                lines_read += 1
                quarantine.append((where(i), i, reason, _excerpt(line)))
            else:
                outside += 1
            continue
        try:
            rec = loads(line)
        except orjson.JSONDecodeError as exc:
            blank = not bytes(line).strip()
            if blank and events is None:
                continue  # blank lines are not records; an event is one, even when empty
            rec = None if blank else record_after_timestamp(line)
            if rec is None and not blank:
                rec = record_with_lone_surrogates(line)
            if rec is None:
                if not blank and is_setup_notice(line):  # no record: not a line read
                    notices += counts_notices
                    continue
                if owns_undated:
                    lines_read += 1
                    reason = EMPTY_EVENT if blank else _invalid_json_reason(line, exc)
                    quarantine.append((where(i), i, reason, _excerpt(line)))
                else:
                    outside += 1
                continue
        lines_read += 1
        if window:
            if not isinstance(rec, dict):  # undated: record_row gives the reason
                if not owns_undated:
                    lines_read -= 1
                    outside += 1
                    continue
            else:
                value = rec.get("timestamp")
                ts = fast_timestamp_ms(value, cache.hours)
                try:
                    ts = parse_timestamp_ms(value) if ts is None else ts
                except BadRecord:
                    if not owns_undated:
                        lines_read -= 1
                        outside += 1
                        continue
                    # undated, and this run's: record_row gives the reason, in the order of
                    # its checks (an unknown operation is named, with a window or without)
                    ts = None
                if ts is not None and (
                    (start_ms is not None and ts < start_ms)
                    or (end_ms is not None and ts >= end_ms)
                ):
                    lines_read -= 1
                    outside += 1
                    if start_ms is not None and ts < start_ms:
                        before += 1
                        too_late += past_slack
                    else:
                        after += 1
                    if ts < earliest_ms:
                        earliest_ms = ts
                    if ts > latest_ms:
                        latest_ms = ts
                    continue
        if fetch:
            _fetch_bodies(rec, opts, client, bodies_unread)
        source = where(i) if per_event else name
        try:
            row = fast_row(rec, source, **kw)
        except (*MALFORMED, RecursionError):
            row = None  # record_row decides, with its own checks
        if row is None:
            found: list[tuple[str, str]] = []
            try:
                full = record_row(rec, nulled=found, **kw)
            except BadRecord as exc:
                quarantine.append((where(i), i, str(exc), _excerpt(line)))
                continue
            except MALFORMED as exc:
                quarantine.append((where(i), i, malformed_reason(exc), _excerpt(line)))
                continue
            except RecursionError:  # a value nested deeper than the parsers walk (orjson
                # reads 1,024 levels): this record's entry, not the end of the run
                quarantine.append((where(i), i, NESTED_TOO_DEEP, _excerpt(line)))
                continue
            full["source_file"] = source
            row = row_values(full)
            nulled.extend((len(rows), column, why) for column, why in found)
        append(row)
    for reason in (
        "truncated gzip" if decoded.truncated else unit.end_error,
        decoded.error,
    ):
        if reason is None:
            continue
        if owns_undated:
            lines_read += 1
            quarantine.append((name, i + 1, reason, ""))
        else:
            outside += 1
    control = decoded.control_messages if counts_notices else 0  # placed in the window as a notice
    sides.add(before, after, earliest_ms, latest_ms)
    return lines_read, outside, control, too_late, notices


def _invalid_json_reason(line: bytes | memoryview, exc: orjson.JSONDecodeError) -> str:
    """The reason for a line that does not parse: ``invalid JSON``; :data:`NESTED_TOO_DEEP`
    for valid JSON deeper than orjson reads (1,024 levels), on its own or after a CloudWatch
    Logs export task's timestamp; or :data:`NOT_UTF8` when its bytes are not UTF-8 (a file
    saved as Latin-1 or Windows-1252), which orjson refuses whatever the rest of the line is.
    Asked of failed lines only."""
    if is_depth_error(exc) or _stamped_record_too_deep(line):
        return NESTED_TOO_DEEP
    try:
        bytes(line).decode("utf-8")
    except UnicodeDecodeError:
        return NOT_UTF8
    return "invalid JSON"


def _stamped_record_too_deep(line: bytes | memoryview) -> bool:
    """Whether ``line`` is a CloudWatch Logs export task's (a timestamp, white space, the
    record) whose record orjson refused for its depth: the line's own error is at the
    timestamp, which says nothing of the record."""
    data = bytes(line)
    stamp = _TIMESTAMP_PREFIX.match(data)
    if stamp is None:
        return False
    try:
        orjson.loads(data[stamp.end() :])
    except orjson.JSONDecodeError as exc:
        return is_depth_error(exc)
    return False


def _entry_source(unit: Unit) -> Callable[[int], str]:
    """The ``source`` of a quarantine entry (and ``source_file`` of a row) for line ``i`` of
    ``unit``: its name, or for a CloudWatch Logs event, the event's log stream and time
    (``STREAM@2026-11-25T06:10:00.123Z``) to find it by: a batch's number says nothing to the
    user, and changes with the window read."""
    if not unit.event_refs:
        return lambda i: unit.name

    def event(i: int) -> str:
        stream, ms = unit.event_refs[i - unit.first_line]
        when = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{stream}@{when}.{ms % 1000:03d}Z"

    return event


def _past_previous_slack(unit: Unit, opts: Options) -> bool:
    """Whether ``unit`` sits in an hour folder that a run ending at this run's start does
    not read (it reads ``DELIVERY_SLACK`` past its end): its records dated before the start
    were delivered too late for that run."""
    if opts.start_ms is None or unit.kind == "events":
        return False
    span = key_span(unit.name)
    if span is None:
        return False
    return int(span[0].timestamp() * 1000) >= opts.start_ms + SLACK_MS


def _owns_undated_lines(unit: Unit, opts: Options) -> bool:
    """Whether this run quarantines the lines of ``unit`` that cannot be dated.

    With a window, files from the hour after it are read too, for records delivered late. A
    line that cannot be dated (invalid JSON, no readable timestamp, a cut stream) belongs to
    the window that holds its file's first hour folder: adjacent windows never both count it,
    and the other window's lines go to ``outside``. CloudWatch Logs events are judged by
    their own event time (``Unit.late``); files outside date folders are always this run's.
    """
    if opts.start_ms is None and opts.end_ms is None:
        return True
    if unit.kind == "events":
        return not unit.late
    span = key_span(unit.name)
    if span is None:
        return True
    first_ms = int(span[0].timestamp() * 1000)
    return (opts.start_ms is None or first_ms >= opts.start_ms) and (
        opts.end_ms is None or first_ms < opts.end_ms
    )


def _dates_notices(unit: Unit, window: bool) -> bool:
    """Whether a set-up notice (or a Firehose file's CloudWatch Logs health check) in ``unit``
    can be placed in the run's window: always without a window; a log group's by its event
    time (``_owns_undated_lines``), a file's by its date folders. In a file outside date
    folders its event time is not read, so a windowed run leaves it uncounted rather than
    have every window count it."""
    return not window or unit.kind == "events" or key_span(unit.name) is not None


def _fetch_bodies(
    rec: Any, opts: Options, client: Any | None, unread: list[tuple[str, str]]
) -> None:
    """Replace ``inputBodyS3Path``/``outputBodyS3Path`` by the bodies they point to; a body
    that cannot be read is added to ``unread`` with why."""
    if not isinstance(rec, dict):
        return
    for section, path_key, body_key in (
        ("input", "inputBodyS3Path", "inputBodyJson"),
        ("output", "outputBodyS3Path", "outputBodyJson"),
    ):
        part = rec.get(section)
        if not isinstance(part, dict) or part.get(body_key) is not None:
            continue
        path = part.get(path_key)
        if isinstance(path, str) and path.startswith("s3://"):
            try:
                body = _read_body(path, opts, client)
            except BodyUnread as exc:  # the row keeps body_in_s3 = true
                unread.append((path, str(exc)))
                continue
            # a request body that is JSON but no object is as unread as one that is no JSON:
            # the billed row stays (a response may be a list: a stream's chunks)
            if section == "input" and not isinstance(body, dict):
                unread.append((path, "not a JSON object"))
                continue
            part[body_key] = body


class BodyUnread(Exception):
    """A large body that could not be read; the message says why."""


NOT_IN_LOCAL_COPY = "not in the local copy (no file under the source at the end of its key)"
# The most of a large body read, as stored and once decompressed. A body is held whole to be
# parsed, and its values take several times its size; the largest request Bedrock takes is
# 20 MB (Anthropic Claude's payload limit), so a body past this is no logged call's: a gzip
# body of a few MB that decompressed to 1 GiB took a worker to 3.5 GB.
LARGE_BODY_BYTES = 64 << 20


def body_too_large() -> str:
    """The reason a body over ``LARGE_BODY_BYTES`` is unread."""
    return f"too large to read (over {LARGE_BODY_BYTES >> 20:,} MB)"


def _local_body(key: str, root: Path) -> Path:
    """The file of the large body S3 holds at ``key``, in a local copy of the logs at ``root``.

    The root may be any folder of the bucket's layout (the bucket, ``AWSLogs/``, the region,
    an hour; a sync that left some folders out), so the key's ends are tried, longest first,
    down to ``data/<name>``: ``root/<key>``, ``root/<key without its first folder>``, ...
    Raises :class:`BodyUnread` when none is a file.
    """
    parts = key.split("/")
    if ".." in parts:  # never read outside the copy
        raise BodyUnread(NOT_IN_LOCAL_COPY)
    for i in range(max(len(parts) - 1, 1)):
        path = root.joinpath(*parts[i:])
        try:
            if path.is_file():
                return path
        except OSError:  # e.g. a name longer than the file system takes: try a shorter end
            continue
    raise BodyUnread(NOT_IN_LOCAL_COPY)


def _local_bytes(path: Path, most: int) -> bytes:
    """The bytes of the file at ``path``; :class:`ObjectTooLarge` past ``most`` of them."""
    with path.open("rb") as fh:
        data = fh.read(most + 1)
    if len(data) > most:
        raise ObjectTooLarge(most)
    return data


def _read_body(s3_path: str, opts: Options, client: Any | None) -> Any:
    """The JSON body a record's ``*BodyS3Path`` points to; raises :class:`BodyUnread`, also
    for a body over ``LARGE_BODY_BYTES``, as stored or once decompressed (read no further)."""
    most = LARGE_BODY_BYTES
    try:
        if opts.local_root is not None:  # the key's ends are looked for: the bucket is no matter
            key = s3_path[len("s3://") :].partition("/")[2]
            data = _local_bytes(_local_body(key, Path(opts.local_root)), most)
        else:
            bucket, key = s3_bucket_and_prefix(s3_path)
            data = read_s3_bytes(bucket, key, opts.endpoint_url, opts.region, client, most=most)
        decoded = gunzip_lines([data], most=most)
    except OSError as exc:
        raise BodyUnread(f"unreadable file ({exc.strerror or exc})") from None
    except (SourceError, UnreadableObject) as exc:  # access, credentials, a broken download
        raise BodyUnread(str(exc)) from None
    except (ObjectTooLarge, TextTooLarge):
        raise BodyUnread(body_too_large()) from None
    if decoded.truncated or (decoded.error and not decoded.trailing_bytes):
        raise BodyUnread(decoded.error or "truncated gzip")  # (bytes after it: whole, read)
    try:
        return orjson.loads(b"\n".join(decoded.lines))
    except orjson.JSONDecodeError:
        raise BodyUnread("not JSON") from None
