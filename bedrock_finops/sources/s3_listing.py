"""The keys under an S3 prefix that a time window needs, without listing the rest.

AWS delivers invocation logs under ``.../YYYY/MM/DD/HH/``, and a bucket keeps months of them.
A flat listing returns every key (one LIST request per 1,000) only for the ingest to keep a
week's. With a window, the listing walks the folders one level at a time (the ``/``
delimiter), skips each date folder that holds no hour of the window and lists a folder flat
as soon as every hour in it is inside (see ``time_folders``). Folders that are not dates
(``AWSLogs/``, the account, the region) are walked too, down to ``MAX_WALK_DEPTH`` levels;
below that a folder is listed flat. A folder named like a year above the layout (a prefix such
as ``bedrock/2025/``) is no date: the keys under it are dated by the folders after
``BedrockModelInvocationLogs/<region>/``. Before such a folder outside the window is skipped,
its first 1,000 keys are listed (one request): when one of them is in the layout, the folder
is walked instead (a folder marker or a stray file sorting first is not the answer).
Without a window the prefix is listed flat.

Another AWS service's folder (``AWSLogs/<account>/CloudTrail/``, see ``service_folders``) is
not listed: the walk skips it as it skips a date folder outside the window, and a flat listing
that reaches it goes on after it (``StartAfter``) instead of paging through it: each such
folder adds one request at most to listing the rest (the page it was reached in), where
paging through a year of one region's CloudTrail (~105,000 keys) takes 106. Its keys are never
returned; the folder is, in ``other_services``.

A prefix names a folder: ``team-a`` and ``team-a/`` both list ``team-a/...`` only, never
``team-ab/...``; an empty prefix is the whole bucket. A prefix that is one object's key, with
nothing under it as a folder, is that object.

The keys returned are a superset of those the window keeps, and every key a flat listing has
that the window keeps is among them but for those in other services' folders, so filtering
both by ``key_in_window`` (and leaving out those folders) gives the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bedrock_finops.sources.service_folders import ServiceFolder, other_service_folder
from bedrock_finops.sources.time_folders import (
    all_inside,
    folder_span,
    has_layout,
    in_layout,
    may_hold,
)

# after every key of a folder: U+10FFFF is the largest code point (F4 8F BF BF in UTF-8)
PAST_FOLDER = "\U0010ffff"
PAGE_KEYS = 1000  # keys per LIST request (S3's most)
MAX_WALK_DEPTH = 12  # folder levels walked below the prefix (AWS's layout needs 9 at most)
NOTE_EVERY_REQUESTS = 50  # LIST requests between progress notes (~50,000 keys flat)
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")  # storage classes read only once restored
SAMPLE_FOLDERS = 3  # skipped date folders outside AWS's layout kept, to look into if need be


@dataclass
class KeyListing:
    keys: list[tuple[str, int]] = field(default_factory=list)  # (key, size in bytes)
    requests: int = 0  # LIST requests made (pages)
    folders_skipped: int = 0  # date folders outside the window, not listed
    layout_folders_skipped: int = 0  # of them, those in AWS's layout (Bedrock's by their path)
    # the first few others: a key of one may be read to prove the prefix holds Bedrock's logs
    other_folders_skipped: list[str] = field(default_factory=list)
    archived: set[str] = field(default_factory=set)  # keys listed in an ``ARCHIVE_CLASSES``
    # other AWS services' folders (relative to the prefix's folder), their keys left out
    other_services: dict[str, ServiceFolder] = field(default_factory=dict)


def folder_of(prefix: str) -> str:
    """The folder a prefix names: ``team-a`` and ``team-a/`` both mean ``team-a/``."""
    return prefix if prefix.endswith("/") or not prefix else prefix + "/"


def relative_to(key: str, base: str) -> str:
    """A key (or folder) relative to the ``base`` folder; whole when it is not under it.

    Keys and folders are made relative the same way, so a folder's date span and the spans of
    the keys under it agree (``time_folders``).
    """
    return key[len(base) :] if key.startswith(base) else key


def _keys(page: dict) -> list[tuple[str, int]]:
    return [(obj["Key"], int(obj.get("Size") or 0)) for obj in page.get("Contents") or []]


def _archived(page: dict) -> set[str]:
    return {
        obj["Key"]
        for obj in page.get("Contents") or []
        if obj.get("StorageClass") in ARCHIVE_CLASSES
    }


class _Walk:
    def __init__(
        self,
        client: Any,
        bucket: str,
        base: str,
        start: datetime | None,
        end: datetime | None,
        note: Callable[[str], None] | None,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.base = base
        self.start = start
        self.end = end
        self.note = note
        self.out = KeyListing()
        self.source_folders = base.split("/")[:-1]  # AWSLogs/<account>/ may be the prefix

    def _count(self) -> None:
        self.out.requests += 1
        if self.note is not None and self.out.requests % NOTE_EVERY_REQUESTS == 0:
            self.note(
                f"listing s3://{self.bucket}/{self.base}: {len(self.out.keys):,} keys "
                f"after {self.out.requests:,} requests ..."
            )

    def _pages(self, prefix: str):
        """One level of ``prefix``: its keys and its folders (``CommonPrefixes``)."""
        kwargs = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/"}
        for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
            self._count()
            yield page

    def _other_service(self, key: str) -> ServiceFolder | None:
        return other_service_folder(relative_to(key, self.base), self.source_folders)

    def _skip_service(self, other: ServiceFolder) -> None:
        self.out.other_services.setdefault(other.folder, other)

    def _add(self, page: dict) -> None:
        """A page's keys, but for those in another service's folder (that folder noted)."""
        contents = page.get("Contents") or []
        kept = []
        for obj in contents:
            other = self._other_service(obj["Key"])
            if other is None:
                kept.append(obj)
            else:
                self._skip_service(other)
        if len(kept) < len(contents):
            page = {"Contents": kept}
        self.out.keys.extend(_keys(page))
        self.out.archived |= _archived(page)

    def flat(self, prefix: str) -> None:
        """Every key under ``prefix``, one request per 1,000, except that a page ending in
        another service's folder is followed by one starting after that folder (StartAfter)
        rather than by the rest of it: its keys cost one request at most, not one per 1,000.
        """
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": PAGE_KEYS}
        while True:
            page = self.client.list_objects_v2(**kwargs)
            self._add(page)
            self._count()
            if not page.get("IsTruncated"):
                return
            kwargs = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": PAGE_KEYS}
            contents = page.get("Contents") or []
            last = contents[-1]["Key"] if contents else ""
            other = self._other_service(last) if last else None
            # keys sort by their UTF-8 bytes: no key under the folder sorts after this one
            # but those that go on after U+10FFFF, listed (and left out) page by page
            past = self.base + other.folder + PAST_FOLDER if other is not None else ""
            if last < past:
                kwargs["StartAfter"] = past
            else:
                kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def one(self, key: str) -> None:
        """Add ``key`` if it is an object's (one request: the first key it prefixes is it);
        named by the source, it is read even in another service's folder."""
        self.out.requests += 1
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        found = [o for o in page.get("Contents") or [] if o["Key"] == key]
        self.out.keys.extend(_keys({"Contents": found}))
        self.out.archived |= _archived({"Contents": found})

    def _layout_below(self, folder: str) -> bool:
        """Whether AWS's layout starts below ``folder`` (a folder named like a year outside
        the layout): one request, for its first 1,000 keys, so that a folder marker
        (``bedrock/2025/``, what the S3 console's "Create folder" writes) or a stray file
        sorting before ``AWSLogs/`` does not decide it.

        ``bedrock/2025/AWSLogs/.../BedrockModelInvocationLogs/us-east-1/2026/...`` is dated
        by the folders after the region, not by ``2025``: skipping ``bedrock/2025/`` for its
        name would lose them.
        """
        self.out.requests += 1
        page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=folder, MaxKeys=1000)
        return any(has_layout(relative_to(o["Key"], folder)) for o in page.get("Contents") or [])

    def walk(self, prefix: str, depth: int) -> None:
        folders: list[str] = []
        for page in self._pages(prefix):
            self._add(page)
            folders.extend(p["Prefix"] for p in page.get("CommonPrefixes") or [])
        for folder in folders:
            rel = relative_to(folder, self.base)
            other = other_service_folder(rel, self.source_folders)
            if other is not None and not self._layout_below(folder):
                self._skip_service(other)  # CloudTrail beside BedrockModelInvocationLogs: its
                continue  # first 1,000 keys listed, to be sure it holds no Bedrock logs
            span = folder_span(rel)
            if span is not None and not may_hold(span, self.start, self.end):
                if not in_layout(folder) and self._layout_below(folder):
                    self.walk(folder, depth + 1)  # a prefix named like a year: not a date
                else:
                    self.out.folders_skipped += 1
                    if in_layout(folder):
                        self.out.layout_folders_skipped += 1
                    elif len(self.out.other_folders_skipped) < SAMPLE_FOLDERS:
                        self.out.other_folders_skipped.append(folder)
            elif (span is not None and all_inside(span, self.start, self.end)) or (
                depth >= MAX_WALK_DEPTH
            ):
                self.flat(folder)
            else:
                self.walk(folder, depth + 1)


def list_window_keys(
    client: Any,
    bucket: str,
    prefix: str,
    start: datetime | None,
    end: datetime | None,
    note: Callable[[str], None] | None = None,
) -> KeyListing:
    """The keys (with their sizes) in the folder ``prefix`` names that can hold records of
    [start, end), and what it took; the object itself when ``prefix`` is a key with nothing
    under it.

    Raises botocore's ``ClientError`` as the listing does (the caller names the permission).
    """
    base = folder_of(prefix)
    walk = _Walk(client, bucket, base, start, end, note)
    if start is None and end is None:
        walk.flat(base)
    else:
        walk.walk(base, 0)
    if not walk.out.keys and not walk.out.other_services and base != prefix:
        walk.one(prefix)
    walk.out.keys.sort()
    return walk.out
