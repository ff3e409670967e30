"""The keys under an S3 prefix that a time window needs, without listing the rest.

AWS delivers invocation logs under ``.../YYYY/MM/DD/HH/``, and a bucket keeps months of them.
A flat listing returns every key (one LIST request per 1,000) only for the ingest to keep a
week's. With a window, the listing walks the folders one level at a time (the ``/``
delimiter), skips each date folder that holds no hour of the window and lists a folder flat
as soon as every hour in it is inside (see ``time_folders``). Folders that are not dates
(``AWSLogs/``, the account, the region) are walked too, down to ``MAX_WALK_DEPTH`` levels;
below that a folder is listed flat. Without a window the prefix is listed flat.

The keys returned are a superset of those the window keeps, and every key a flat listing has
that the window keeps is among them, so filtering both by ``key_in_window`` gives the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bedrock_finops.sources.time_folders import all_inside, folder_span, may_hold

MAX_WALK_DEPTH = 12  # folder levels walked below the prefix (AWS's layout needs 9 at most)
NOTE_EVERY_REQUESTS = 50  # LIST requests between progress notes (~50,000 keys flat)


@dataclass
class KeyListing:
    keys: list[tuple[str, int]] = field(default_factory=list)  # (key, size in bytes)
    requests: int = 0  # LIST requests made (pages)
    folders_skipped: int = 0  # date folders outside the window, not listed


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

    def _pages(self, prefix: str, delimiter: bool):
        kwargs = {"Bucket": self.bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
            self.out.requests += 1
            if self.note is not None and self.out.requests % NOTE_EVERY_REQUESTS == 0:
                self.note(
                    f"listing s3://{self.bucket}/{self.base}: {len(self.out.keys):,} keys "
                    f"after {self.out.requests:,} requests ..."
                )
            yield page

    def flat(self, prefix: str) -> None:
        for page in self._pages(prefix, delimiter=False):
            self.out.keys.extend(_keys(page))

    def walk(self, prefix: str, depth: int) -> None:
        folders: list[str] = []
        for page in self._pages(prefix, delimiter=True):
            self.out.keys.extend(_keys(page))
            folders.extend(p["Prefix"] for p in page.get("CommonPrefixes") or [])
        for folder in folders:
            span = folder_span(relative_to(folder, self.base))
            if span is not None and not may_hold(span, self.start, self.end):
                self.out.folders_skipped += 1
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
    """The keys (with their sizes) under ``prefix`` that can hold records of [start, end), and
    what it took.

    Raises botocore's ``ClientError`` as the listing does (the caller names the permission).
    """
    walk = _Walk(client, bucket, folder_of(prefix), start, end, note)
    if start is None and end is None:
        walk.flat(prefix)
    else:
        walk.walk(prefix, 0)
    walk.out.keys.sort()
    return walk.out
