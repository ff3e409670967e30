"""A worker's S3 objects read ahead on threads, while it parses the ones before them.

Each S3 GET waits a network round trip (tens of ms against AWS) before its first byte. Read
one after another, a worker waits longer than it parses: a month is ~8,000 objects of ~150 KB,
and at 40 ms each two workers wait nearly three minutes, next to ~25 s of parsing. Threads
overlap the waits (the GIL is released while a thread waits on the network). At most
``S3_READ_AHEAD`` objects, and ``S3_READ_AHEAD_BYTES`` of them by their listed sizes, are read
ahead of the one being parsed, so a worker's memory stays bounded: AWS's log objects are
small, but a Firehose stream writes objects of up to 128 MB.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bedrock_finops.sources.aws_clients import process_s3_client
from bedrock_finops.sources.invocation_logs import Unit, s3_unit_bytes
from bedrock_finops.sources.source_errors import UnreadableObject

S3_READ_AHEAD = 8  # objects in flight per worker (botocore pools 10 connections per client)
S3_READ_AHEAD_BYTES = 64 << 20  # their listed sizes; one object of any size is always read

Fetched = bytes | UnreadableObject | None  # None: the unit is read when it is parsed


def read_ahead(
    units: list[Unit], client: Any | None = None, depth: int | None = None
) -> Iterator[tuple[Unit, Fetched]]:
    """``(unit, its bytes)`` in order: S3 objects read ``depth`` (default ``S3_READ_AHEAD``)
    ahead; other units as ``(unit, None)``.

    With an injected ``client`` (tests' stubs expect their calls in order) or ``depth`` below
    2, nothing is read ahead. An access error raises when its unit's turn comes, as it would
    have read in order; the reads still in flight are then cancelled or finish unused.
    """
    depth = S3_READ_AHEAD if depth is None else depth
    s3_units = [u for u in units if u.kind == "s3"]
    if client is not None or depth < 2 or len(s3_units) < 2:
        yield from ((u, None) for u in units)
        return
    clients = {
        (u.endpoint_url, u.region): process_s3_client(u.endpoint_url, u.region) for u in s3_units
    }
    pool = ThreadPoolExecutor(max_workers=depth, thread_name_prefix="s3-read-ahead")
    try:
        pending: deque[tuple[Unit, Future | None]] = deque()
        queued = iter(units)
        waiting: Unit | None = None  # the next unit, held back by the byte budget
        budget = S3_READ_AHEAD_BYTES

        def top_up() -> None:
            nonlocal waiting
            while True:
                reads = [u.size or 0 for u, f in pending if f is not None]
                if len(reads) >= depth or (reads and sum(reads) >= budget):
                    return
                unit = waiting if waiting is not None else next(queued, None)
                if unit is None:
                    return
                if unit.kind == "s3" and reads and sum(reads) + (unit.size or 0) > budget:
                    waiting = unit  # over the budget: read once the reads before it are used
                    return
                waiting = None
                future = None
                if unit.kind == "s3":
                    shared = clients[(unit.endpoint_url, unit.region)]
                    future = pool.submit(s3_unit_bytes, unit, shared)
                pending.append((unit, future))

        top_up()
        while pending:
            unit, future = pending.popleft()
            fetched = None if future is None else future.result()
            top_up()
            yield unit, fetched
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
