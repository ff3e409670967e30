"""Readers for Bedrock model invocation logs: a local folder, ``s3://``, ``cloudwatch-logs://``.

A source lists *units* (a file, an S3 object, or a page of CloudWatch events) in a
deterministic order; :func:`unit_lines` turns one unit into its NDJSON lines, in a worker
process. Units are sorted by key so the first delivery of a duplicated record is always the
same one. Reading S3 objects is in ``s3_objects``, CloudWatch Logs in ``cloudwatch_logs``,
the boto3 clients in ``aws_clients``.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bedrock_finops.disk_space import disk_full, megabytes, no_room
from bedrock_finops.sources import file_ranges, large_text, log_sniff
from bedrock_finops.sources.aws_clients import s3_client
from bedrock_finops.sources.document_files import (
    as_ndjson,
    documents_on_disk,
    event_line,
    looks_like_documents,
)
from bedrock_finops.sources.large_text import ScratchCopyError, TextOnDisk
from bedrock_finops.sources.log_decoding import (
    GZIP_MAGIC,
    MAGIC_BYTES,
    Decoded,
    gunzip_lines,
    other_compression,
    utf8_from_wide,
    wide_encoding,
)
from bedrock_finops.sources.own_output import (
    EARLIER_OUTPUT,
    EARLIER_REASONS,
    EARLIER_RUN,
    OUTPUT_FILES,
    EarlierOutput,
    earlier_output,
    folders_of,
)
from bedrock_finops.sources.s3_listing import (
    ARCHIVE_CLASSES,
    PAGE_KEYS,
    folder_of,
    list_window_keys,
    relative_to,
)
from bedrock_finops.sources.s3_objects import access_error, download_s3_object, read_s3_bytes
from bedrock_finops.sources.service_folders import (
    OTHER_SERVICE,
    layout_inside,
    other_service_folder,
    service_of,
)
from bedrock_finops.sources.source_errors import (
    SourceError,
    UnreadableObject,
    credential_setup_error,
    credential_setup_errors,
)
from bedrock_finops.sources.source_uri import s3_bucket_and_prefix
from bedrock_finops.sources.time_folders import has_layout, key_in_window

PERMISSION_CHECK = "amazon-bedrock-logs-permission-check"
# a .gz file is read whatever its inner name (CloudWatch Logs export and Firehose objects
# end in .gz alone); gzip is recognised by its magic bytes, not by the name
LOG_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz")
NOT_A_LOG = "not a log file (.json, .jsonl, .ndjson or .gz)"
# an object a Firehose stream wrote with no compression set and so no extension (what AWS
# advises for a CloudWatch Logs subscription, whose payloads are gzipped already):
# <stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid> (docs.aws.amazon.com/firehose, "Configure
# Amazon S3 object name format")
FIREHOSE_OBJECT = re.compile(
    r"-\d+-\d{4}(?:-\d{2}){5}-[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
ARCHIVE = "a tar archive: unpack it (tar -xf) and read the folder it gives"
EMPTY = "empty file"  # 0 bytes: no record and no line, but listed so it is not read unseen
# .../HH/data/<requestId>_input.json.gz: a large body, read only on demand
_BODY_RE = re.compile(r"(?:^|/)data/[^/]+_(?:input|output)\.json(?:\.gz)?$")


@dataclass(frozen=True)
class Unit:
    """One readable piece of a source. ``name`` labels rows and quarantine entries."""

    kind: str  # "file" | "s3" | "events"
    name: str
    location: str = ""  # local path or S3 key
    lines: tuple[str, ...] = ()
    bucket: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    start: int = 0  # a byte range of a large local file (see file_ranges); stop None: to the end
    stop: int | None = None
    first_line: int = 1  # the file's line number of the unit's first line
    # the last unit of an expanded gzip file whose stream was cut or damaged: the quarantine
    # reason its end stands for (``truncated gzip``, ``corrupt gzip (...)``)
    end_error: str | None = None
    size: int | None = None  # an S3 object's size from the listing (bounds reading ahead)
    # events at or after the window's end, read only for records delivered late: a line of
    # them that cannot be dated is the next window's (see ingest_worker._owns_undated_lines)
    late: bool = False
    # CloudWatch Logs: each event's (log stream, timestamp in ms), for its quarantine entry;
    # ``first_line`` is then the number of the unit's first event among the events read
    event_refs: tuple[tuple[str, int], ...] = ()
    # a local file's: where text too large to hold in memory is copied as it is decompressed
    # (the ingest's scratch folder; None: the system's temporary folder, see ``large_text``)
    scratch: str | None = None


@dataclass
class Listing:
    units: list[Unit] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    list_requests: int = 0  # S3 LIST requests the listing took
    folders_outside_window: int = 0  # S3 date folders skipped unlisted (outside the window)
    # a log file or S3 date folder outside the window in AWS's layout: not read, but it shows
    # the source holds Bedrock's logs, so a window with none of them is an empty table
    layout_outside: bool = False
    # other log files (by name) outside the window, the first few: read for the same proof
    # (``log_sniff``) only when nothing else gives it
    outside_samples: list[str] = field(default_factory=list)

    def note_outside(self, location: str) -> None:
        """A log file (path or key) whose date folders are outside the window."""
        if self.layout_outside:
            return
        if has_layout(location):
            self.layout_outside = True
        elif len(self.outside_samples) < log_sniff.MAX_FILES_READ:
            self.outside_samples.append(location)


def _classify(rel: str) -> str | None:
    """None for a log file; else why it is skipped (permission check, large body)."""
    name = rel.rsplit("/", 1)[-1]
    if PERMISSION_CHECK in name:
        return "permission-check object"
    if _BODY_RE.search(rel):
        return "large body (read with its record, when large bodies are fetched)"
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        return ARCHIVE
    if not name.endswith(LOG_SUFFIXES) and not FIREHOSE_OBJECT.search(name):
        return NOT_A_LOG
    return None


# ---------------------------------------------------------------------------- local folders


def check_local_root(root: Path) -> None:
    """A local source must exist: a folder of logs or one log file."""
    if not root.exists():
        shown = root if root.is_absolute() else f"{root} ({root.absolute()})"
        raise SourceError(
            f"log folder {shown} does not exist; pass the folder that holds AWSLogs/... "
            "(or any folder of .json, .jsonl, .ndjson or .gz log files), s3://bucket/prefix, or "
            "cloudwatch-logs://LOG_GROUP"
        )


def list_local(
    root: Path,
    start: datetime | None,
    end: datetime | None,
    expand_dir: Path | None = None,
    note: Callable[[str], None] | None = None,
    own_output: Path | None = None,
) -> Listing:
    """The log files under ``root`` as units; large files as ranges (``file_ranges``), large
    gzip files first expanded into ``expand_dir`` when one is given (``note`` says so).
    ``own_output``: the folder this ingest writes to; its files are not read as logs."""
    check_local_root(root)
    listing = Listing()
    paths = [(_shown(root.name), root)] if root.is_file() else _walked(root, listing, own_output)
    for rel, path in paths:
        reason = _classify(rel)
        if reason is not None:
            listing.skipped.append({"file": rel, "reason": reason})
            continue
        if not key_in_window(rel, start, end):
            listing.note_outside(Path(os.path.abspath(path)).as_posix())
            continue
        try:
            if path.stat().st_size == 0:
                listing.skipped.append({"file": rel, "reason": EMPTY})
                continue
            listing.units.extend(_file_units(path, rel, expand_dir, note))
        except OSError:  # unreadable now: the worker's read says so in the quarantine
            listing.units.append(Unit("file", rel, str(path)))
    if not listing.units and not _found_logs(listing, log_sniff.local_head):
        _no_logs(str(root), start, end, listing, "in" if root.is_file() else "under")
    return listing


def _found_logs(listing: Listing, head: Callable[[str], bytes]) -> bool:
    """Whether the source shows it is a Bedrock log folder though nothing in it is to be read:
    the permission-check object AWS writes, empty log files, or log files (or S3 date folders)
    outside the window that are Bedrock's, by AWS's layout or by their first records
    (``head`` reads a sample's start). Its having no records to read is then no error: a quiet
    window gives an empty table, as a log group with no events in the window does. A name
    alone proves nothing: other services' dated ``.json.gz`` files would make a wrong source
    a silent empty table."""
    if listing.layout_outside or any(
        s["reason"].startswith("permission") or s["reason"] == EMPTY for s in listing.skipped
    ):
        return True
    return any(log_sniff.looks_like_invocation_log(head(x)) for x in listing.outside_samples)


OWN_OUTPUT = "this ingest's own output"
# where an ingest expands large gzip files (ingest.py names it); one a killed run left behind
# holds a copy of logs read elsewhere
# (.expanded-<pid>-<hex>: see scratch_folders; .expanded-<hex> before the pid was in it)
SCRATCH_PREFIX = ".expanded-"
SCRATCH_FOLDER = re.compile(r"\.expanded-(?:\d+-)?[0-9a-f]{12}")
STOPPED_SCRATCH = "a stopped ingest's scratch copy of expanded logs"


def _walked(root: Path, listing: Listing, own_output: Path | None) -> list[tuple[str, Path]]:
    """:func:`_walk`, or one error for a tree nested deeper than Python's ``os.walk`` follows
    (it recurses, up to about 1,000 levels on Python 3.11), instead of a traceback."""
    try:
        return _walk(root, listing, own_output)
    except RecursionError:
        raise SourceError(
            f"{root}: folders are nested deeper than can be walked (about "
            f"{sys.getrecursionlimit():,} levels); pass the folder that holds the logs, further "
            "down, as --source"
        ) from None


def _walk(root: Path, listing: Listing, own_output: Path | None) -> list[tuple[str, Path]]:
    """``(name shown, path)`` of every file below ``root``, in name order.

    Symlinked folders are followed, each folder read once (a link loop or a second link to
    the same folder is listed as skipped). A folder that cannot be read, and anything that is
    not a regular file (a FIFO would block the read), is listed as skipped with the reason.
    A broken link is kept: reading it fails, and the quarantine says why. Another AWS
    service's folder (``service_folders``) is listed as skipped once, not walked. In a folder
    of this tool's own output (``own_output``: an earlier run's or ingest's, or the one this
    ingest writes to), the files it wrote there are listed as skipped, each by name.
    """
    found: list[tuple[str, Path]] = []
    seen: set[tuple[int, int]] = set()
    output = own_output.resolve() if own_output is not None else None
    root_folders = Path(os.path.abspath(root)).parts[1:]  # AWSLogs/<account>/ may be above

    def unreadable(exc: OSError) -> None:
        rel = _shown(Path(exc.filename or root).relative_to(root).as_posix())
        listing.skipped.append({"file": rel + "/", "reason": f"unreadable folder ({exc.strerror})"})

    for folder, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=True):
        here = Path(folder)
        try:
            st = os.stat(here)
        except OSError as exc:  # gone since it was listed
            unreadable(exc)
            dirnames.clear()
            continue
        identity = (st.st_dev, st.st_ino)
        if identity in seen:  # reached again through a link: its files are listed already
            rel = _shown(here.relative_to(root).as_posix())
            listing.skipped.append({"file": rel + "/", "reason": "folder already read (a link)"})
            dirnames.clear()
            continue
        seen.add(identity)
        dirnames.sort()
        own = output is not None and here.resolve() == output
        earlier = earlier_output(here, filenames)  # a run's or an ingest's folder: no logs
        for name in sorted(filenames):
            path = here / name
            rel = _shown(path.relative_to(root).as_posix())
            if (written := _written_here(name, own, earlier)) is not None:
                listing.skipped.append({"file": rel, "reason": written})
                continue
            try:
                mode = os.stat(path).st_mode
            except OSError:
                found.append((rel, path))  # a broken link or loop: its read is quarantined
                continue
            if stat.S_ISREG(mode):
                found.append((rel, path))
            else:
                listing.skipped.append({"file": rel, "reason": "not a regular file"})
        for d in list(dirnames):
            rel = _shown((here / d).relative_to(root).as_posix()) + "/"
            if SCRATCH_FOLDER.fullmatch(d):  # gzip files an ingest expanded: this run's, or
                dirnames.remove(d)  # a killed run's
                if not own:
                    listing.skipped.append({"file": rel, "reason": STOPPED_SCRATCH})
            elif earlier is not None and earlier.holds_folder(d):  # a run's batch jobs
                dirnames.remove(d)
                reason = OWN_OUTPUT if own else earlier.reason
                listing.skipped.append({"file": rel, "reason": reason})
            elif (other := other_service_folder(rel, root_folders)) is not None and not (
                layout_inside(here / d)
            ):
                dirnames.remove(d)  # CloudTrail beside BedrockModelInvocationLogs: not read
                listing.skipped.append(other.skipped())
    return sorted(found, key=lambda item: item[0])


def _written_here(name: str, own: bool, earlier: EarlierOutput | None) -> str | None:
    """Why a file is not read as a log because this tool wrote it (``own_output``): in the
    folder this ingest writes to, the files it writes and what an earlier run there wrote;
    elsewhere, what an earlier run or ingest wrote. None for any other file."""
    if own and (name in OUTPUT_FILES or name.endswith(".parquet.partial")):
        return OWN_OUTPUT
    if earlier is not None and earlier.holds(name):
        return OWN_OUTPUT if own else earlier.reason
    return None


def _shown(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 are shown as escapes (``caf\\xe9``)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _file_units(
    path: Path, rel: str, expand_dir: Path | None, note: Callable[[str], None] | None = None
) -> list[Unit]:
    """One unit for a file read whole; one per range of a large file (see ``file_ranges``)."""
    end_error = None
    size = path.stat().st_size
    if expand_dir is not None and file_ranges.worth_expanding(path, size):
        if note is not None:
            note(f"decompressing {rel} ({size / 1e6:,.0f} MB gzipped) to read it in parallel ...")
        try:
            expanded = file_ranges.expand_gzip(path, expand_dir)
        except file_ranges.NoRoomToExpand as exc:  # not "unreadable": the run cannot go on
            raise SourceError(_no_room_to_expand(rel, size, expand_dir, exc)) from None
        if expanded is not None:
            path, end_error = expanded
    ranges = file_ranges.line_ranges(path) or [(0, None, 1)]
    scratch = None if expand_dir is None else str(expand_dir)
    units = [
        Unit("file", rel, str(path), start=a, stop=b, first_line=line, scratch=scratch)
        for a, b, line in ranges
    ]
    if end_error:
        units[-1] = replace(units[-1], end_error=end_error)
    return units


def _no_room_to_expand(rel: str, size: int, folder: Path, exc: file_ranges.NoRoomToExpand) -> str:
    """The error of a gzip file whose decompressed copy did not fit in the scratch folder."""
    if exc.expected and exc.expected >= exc.written:
        need = f"about {megabytes(exc.expected)} by its gzip trailer"
    else:  # the trailer gives a last member's size only, modulo 4 GiB
        need = f"at least the {megabytes(exc.written)} it had reached when the disk filled"
    return (
        f"{no_room(exc.error)} in {folder.parent}: {rel} ({megabytes(size)} of gzip) is "
        "decompressed to a scratch copy there to be read in parallel, and the copy needs the "
        f"file's decompressed size, {need}. Free that much there, or write the table to a "
        "disk with room (--out); the copy is removed"
    )


def _no_logs(
    where: str,
    start: datetime | None,
    end: datetime | None,
    listing: Listing,
    preposition: str = "under",
) -> None:
    window = f" between {start} and {end}" if start or end else ""
    archives = [s["file"] for s in listing.skipped if s["reason"] == ARCHIVE]
    if archives:
        raise SourceError(
            f"no invocation log files{window} {preposition} {where}, only tar archives "
            f"({', '.join(archives[:3])}{', ...' if len(archives) > 3 else ''}): unpack them "
            "(tar -xf) and point the source at the folder they give"
        )
    earlier = [s for s in listing.skipped if s["reason"] in EARLIER_REASONS]
    if earlier:
        written = [s["file"] for s in earlier]
        runs = {s["reason"] for s in earlier} <= {EARLIER_RUN, EARLIER_OUTPUT}
        raise SourceError(
            f"no invocation log files{window} {preposition} {where}, only the output of earlier "
            f"bedrock-finops {'runs or ingests' if runs else 'commands'} "
            f"({folders_of(written)}), which is not read; point "
            "the source at the folder of logs itself (the one that holds "
            "AWSLogs/<account>/BedrockModelInvocationLogs, or your log files)"
        )
    others = [s for s in listing.skipped if s["reason"].startswith(OTHER_SERVICE)]
    if others:  # CloudTrail and the like beside (or instead of) BedrockModelInvocationLogs
        services = ", ".join(dict.fromkeys(str(service_of(s["reason"])) for s in others))
        folders = ", ".join(s["file"] for s in others[:3]) + (", ..." if len(others) > 3 else "")
        held = f"{services} in {folders}"
        found = (
            f" (other AWS services' logs there are not read: {held})"
            if window
            else f", only other AWS services' logs ({held})"
        )
        raise SourceError(
            f"no invocation log files{window} {preposition} {where}{found}; point the source "
            "at the folder that holds AWSLogs/<account>/BedrockModelInvocationLogs"
        )
    raise SourceError(
        f"no invocation log files (.json, .jsonl, .ndjson or .gz){window} {preposition} "
        f"{where}; point the "
        "source at the folder or prefix that holds AWSLogs/<account>/BedrockModelInvocationLogs"
        " (check model invocation logging is enabled and delivering there)"
    )


# ---------------------------------------------------------------------------- S3


def list_s3(
    uri: str,
    start: datetime | None,
    end: datetime | None,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    client: Any | None = None,
    note: Callable[[str], None] | None = None,
) -> Listing:
    """List log objects in the prefix's folder, keeping keys inside the window
    (``s3_listing``: date folders outside the window are not listed at all, nor other AWS
    services' folders, each listed as skipped once); a prefix that is one object's key is that
    object."""
    from botocore.exceptions import ClientError

    bucket, prefix = s3_bucket_and_prefix(uri)
    try:
        client = client or s3_client(endpoint_url, region)
        found = list_window_keys(client, bucket, prefix, start, end, note)
    except ClientError as exc:
        raise access_error(exc, bucket, prefix, "s3:ListBucket") from None
    except credential_setup_errors() as exc:  # a missing profile, an expired SSO login, ...
        raise credential_setup_error(exc, f"s3://{bucket}/{prefix}") from None
    listing = Listing(
        list_requests=found.requests,
        folders_outside_window=found.folders_skipped,
        layout_outside=found.layout_folders_skipped > 0,
    )
    # CloudTrail and the like beside BedrockModelInvocationLogs: each folder once, not its keys
    # (in the order a local copy's folders are walked: CloudTrail/ before CloudTrail-Digest/)
    folders = sorted(found.other_services, key=lambda folder: folder.split("/"))
    listing.skipped.extend(found.other_services[f].skipped() for f in folders)
    base = folder_of(prefix)
    for key, size in found.keys:
        # an object named by the prefix itself is labelled by its name, as a local file is
        rel = key.rsplit("/", 1)[-1] if key == prefix else relative_to(key, base)
        reason = _classify(rel)
        if reason is not None:
            listing.skipped.append({"file": rel, "reason": reason})
            continue
        if not key_in_window(rel, start, end):
            listing.note_outside(key)
            continue
        if size == 0:
            listing.skipped.append({"file": rel, "reason": EMPTY})
            continue
        listing.units.append(
            Unit("s3", rel, key, bucket=bucket, endpoint_url=endpoint_url, region=region, size=size)
        )
    if not listing.units and not _found_logs(
        listing, lambda key: log_sniff.s3_head(client, bucket, key)
    ):
        # the date folders outside the window were not listed: a log key of each may prove it
        listing.outside_samples = _first_log_keys(
            client, bucket, found.other_folders_skipped, listing
        )
        if not _found_logs(listing, lambda key: log_sniff.s3_head(client, bucket, key)):
            _no_logs(f"s3://{bucket}/{base}", start, end, listing)
    _note_archived(listing, found.archived, note)
    return listing


def _first_log_keys(client: Any, bucket: str, folders: list[str], listing: Listing) -> list[str]:
    """The first log file's key in each of ``folders`` (one LIST request each, counted)."""
    keys = []
    for folder in folders:
        listing.list_requests += 1
        try:
            page = client.list_objects_v2(Bucket=bucket, Prefix=folder, MaxKeys=PAGE_KEYS)
        except Exception:  # no proof then: the run's error says no logs were found
            continue
        for item in page.get("Contents") or []:
            if _classify(item["Key"]) is None and item.get("Size"):
                keys.append(item["Key"])
                break
    return keys


def localise_large_objects(
    listing: Listing,
    scratch: Path,
    client: Any | None = None,
    note: Callable[[str], None] | None = None,
) -> None:
    """Download each large S3 object into ``scratch`` (streamed to disk) and list it as a
    local file, cut into ranges as a large local file is: any object over
    ``file_ranges.gzip_local_bytes`` (a gzip one that size may hold more text than a worker
    should hold whole), whatever its name; once local, its first bytes tell gzip and its
    trailer its size, as for any local file.

    Read from S3 whole, such an object (a month's export in one object, say) would take one
    worker and memory in proportion to its size. The units keep the object's name, so rows
    and quarantine entries read as they would from S3; ``scratch`` goes with the run. An
    object that cannot be downloaded stays an S3 unit: reading it says why, in the quarantine.
    Access and credential errors end the run, as they do when reading.

    The objects read from S3 whole copy their text to ``scratch`` too, once it passes
    ``large_text.HELD_TEXT_BYTES`` as it is decompressed (a few KB of gzip may hold
    gigabytes), as a local file's does, on the disk the run was given room on: not to the
    system's temporary folder, which may be small, or a tmpfs that holds it in memory.
    """
    # gzip is told by content, not name, and the content is known only once local: any
    # object that would be downloaded if it were gzip is (a plain one costs a pass to disk)
    limit = min(file_ranges.gzip_local_bytes(), file_ranges.RANGE_BYTES)
    units: list[Unit] = []
    for n, unit in enumerate(listing.units):
        if unit.kind == "s3":
            unit = replace(unit, scratch=str(scratch))
        if unit.kind != "s3" or (unit.size or 0) <= limit:
            units.append(unit)
            continue
        local = scratch / "s3" / str(n) / Path(unit.location).name
        local.parent.mkdir(parents=True, exist_ok=True)
        if note is not None:
            note(f"downloading {unit.name} ({unit.size / 1e6:,.0f} MB) to read it in parallel ...")
        try:
            download_s3_object(
                unit.bucket, unit.location, local, unit.endpoint_url, unit.region, client
            )
        except UnreadableObject:  # read as before: the worker's read quarantines it
            local.unlink(missing_ok=True)
            units.append(unit)
            continue
        except BaseException as exc:  # a full disk, an interrupt: no partial download left
            local.unlink(missing_ok=True)
            if disk_full(exc):
                raise SourceError(
                    f"{no_room(exc)} in {scratch.parent}: the S3 object {unit.name} "
                    f"({megabytes(unit.size or 0)}) is downloaded to a scratch copy there to be "
                    "read in parallel, and needs that much room (a gzip one, its decompressed "
                    "size as well). Free it there, or write the table to a disk with room "
                    "(--out); the copy is removed"
                ) from None
            raise
        units.extend(_file_units(local, unit.name, scratch, note))
    listing.units = units


def _note_archived(
    listing: Listing, archived: set[str], note: Callable[[str], None] | None
) -> None:
    """Say up front how many objects to read are listed in an archive storage class: unless
    restored, each will be a quarantine entry (``InvalidObjectState``)."""
    n = sum(1 for u in listing.units if u.location in archived)
    if n and note is not None:
        classes = " or ".join(ARCHIVE_CLASSES)
        note(
            f"{n:,} of {len(listing.units):,} log objects are stored in {classes}: each not "
            "restored (S3 RestoreObject) cannot be read and is quarantined"
        )


# ---------------------------------------------------------------------------- units


FILE_CHUNK_BYTES = 4 << 20


def file_chunks(unit: Unit) -> Iterator[bytes]:
    """A local file's bytes (its ``start``..``stop`` range), in 4 MiB chunks."""
    size = FILE_CHUNK_BYTES
    with open(unit.location, "rb") as fh:
        left = None if unit.stop is None else unit.stop - unit.start
        fh.seek(unit.start)
        while chunk := fh.read(size if left is None else min(size, left)):
            yield chunk
            if left is not None:
                left -= len(chunk)


def s3_unit_bytes(unit: Unit, client: Any | None = None) -> bytes | UnreadableObject:
    """An S3 unit's bytes, or why they could not be read in full (access errors raise)."""
    try:
        return read_s3_bytes(unit.bucket, unit.location, unit.endpoint_url, unit.region, client)
    except UnreadableObject as exc:
        return exc


def unit_lines(
    unit: Unit, client: Any | None = None, fetched: bytes | UnreadableObject | None = None
) -> Decoded:
    """The records of one unit, one line each (see :func:`as_ndjson` for other shapes).

    ``fetched``: an S3 unit's ``s3_unit_bytes``, when they were read ahead (``read_ahead``).
    A file or S3 object that cannot be read in full is one quarantine entry (``Decoded.error``).
    No more than ``large_text.HELD_TEXT_BYTES`` of its text is held whole; a scratch copy
    that finds no room ends the run (``SourceError``), as expanding a large file does.
    """
    if unit.kind == "events":
        return Decoded(events=[event_line(line) for line in unit.lines])
    try:
        if unit.kind == "s3":
            data = s3_unit_bytes(unit, client) if fetched is None else fetched
            if isinstance(data, UnreadableObject):
                return Decoded(error=str(data))
            return _records(gunzip_lines([data], scratch=unit.scratch), False, unit.scratch)
        return _file_lines(unit)
    except ScratchCopyError as exc:
        raise SourceError(_no_room_for_text(unit.name, exc)) from None


def _file_lines(unit: Unit) -> Decoded:
    try:
        if unit.stop is not None:
            return _range_lines(unit)
        decoded = _large_plain_file(unit)
        if decoded is None:
            decoded = gunzip_lines(file_chunks(unit), scratch=unit.scratch)
        return _records(decoded, unit.end_error is not None, unit.scratch)
    except OSError as exc:  # removed since it was listed, no permission, a disk error
        return Decoded(error=f"unreadable file ({type(exc).__name__})")


def _large_plain_file(unit: Unit) -> Decoded | None:
    """A whole plain file over ``large_text.HELD_TEXT_BYTES`` (one not cut into ranges: JSON
    documents, UTF-16 or UTF-32 text, a ``\\r`` line end), read from itself a block at a
    time rather than held (its UTF-16 or UTF-32 text from a UTF-8 copy); None for any other
    file (gzip, compressed by another tool, small), which ``gunzip_lines`` reads."""
    if os.stat(unit.location).st_size <= large_text.HELD_TEXT_BYTES:
        return None  # (one stat: most files are small)
    file = open(unit.location, "rb")  # noqa: SIM115 (the text closes it once it is let go)
    try:
        head = os.pread(file.fileno(), MAGIC_BYTES, 0)
    except BaseException:
        file.close()
        raise
    if head.startswith(GZIP_MAGIC) or other_compression(head) is not None:
        file.close()
        return None
    if (wide := wide_encoding(head)) is None:
        return Decoded(text=TextOnDisk(file, bom=True, owned=True))
    with file:
        return utf8_from_wide(TextOnDisk(file).blocks(), wide, unit.scratch)


def _range_lines(unit: Unit) -> Decoded:
    """A range of a file ``file_ranges.line_ranges`` cut (it cuts text only: a plain file, or a
    gzip file's expanded copy). Its bytes are text whatever they start with: a later range
    starts with a line like any other, whose bytes say nothing of the file's compression
    (one bad line there is one ``invalid JSON`` entry). A range over ``HELD_TEXT_BYTES``
    (a line in it about that long) is read from the file a line at a time."""
    assert unit.stop is not None
    if unit.stop - unit.start > large_text.HELD_TEXT_BYTES:
        # opened now, so that a file gone since it was listed is its entry, as below; the
        # text closes it once it is let go
        file = open(unit.location, "rb")  # noqa: SIM115
        text = TextOnDisk(file, unit.start, unit.stop, bom=unit.start == 0, owned=True)
        decoded = Decoded(text=text)
    else:
        decoded = gunzip_lines(file_chunks(unit), gz=False)
    if unit.start != 0:  # a later range: lines only
        return decoded
    return _records(decoded, unit.end_error is not None, unit.scratch)


def _records(decoded: Decoded, cut: bool, scratch: str | None) -> Decoded:
    """``as_ndjson``; text on disk (``Decoded.text``) is read from there a line at a time,
    and JSON documents there a document at a time (``documents_on_disk``, its lines kept in
    ``scratch`` past ``large_text.HELD_TEXT_BYTES`` of them)."""
    if decoded.text is not None:
        if not looks_like_documents(decoded.text.head()):
            return decoded
        return documents_on_disk(decoded, cut, scratch)
    return as_ndjson(decoded, cut=cut)


def _no_room_for_text(name: str, exc: ScratchCopyError) -> str:
    """The run's error when the scratch copy of a file's text could not be written."""
    error = exc.error
    problem = no_room(error) if disk_full(error) else f"cannot write ({error.strerror or error})"
    if exc.folder is None:
        where, fix = tempfile.gettempdir(), "or set TMPDIR to a folder with room"
    else:
        where, fix = str(Path(exc.folder).parent), "or write the table to a disk with room (--out)"
    return (
        f"{problem} in {where}: {_why_copied(name, exc)}. Free that much there, {fix}; the "
        "copy is removed"
    )


def _why_copied(name: str, exc: ScratchCopyError) -> str:
    """What a file's scratch copy holds, why it is made, and the room it needs, by what it
    was given: a gzip file's decompressed text, UTF-16 or UTF-32 text decoded to UTF-8, or the
    records of a file of JSON documents, a line each (none of these two is decompressed)."""
    held = f"{large_text.HELD_TEXT_BYTES >> 20:,} MB"  # (MiB, as the limit is told everywhere)
    so_far = megabytes(exc.needed)
    if exc.holds == large_text.DECOMPRESSED:
        return (
            f"{name} decompresses to more than {held} of text, which is copied to a scratch "
            "file there to be read a line at a time rather than held in memory, and the copy "
            f"needs the file's decompressed size, at least the {so_far} decompressed so far"
        )
    if exc.holds == large_text.RECORDS:
        return (
            f"{name} is a file of JSON documents of more than {held}, whose records are kept "
            "in a scratch file there, a line each, to be read one at a time rather than held "
            "in memory, and the copy needs about the size of its text, at least the "
            f"{so_far} of records made so far"
        )
    return (
        f"{name} is {exc.holds} text of more than {held} once decoded, which is decoded to a "
        "UTF-8 copy in a scratch file there to be read a line at a time rather than held in "
        "memory (its line breaks are more than one byte), and the copy needs the text's size "
        f"in UTF-8, at least the {so_far} decoded so far"
    )
