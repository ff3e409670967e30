"""The sample's S3 layout on disk: one hour's delivery files, large bodies and planted faults.

Groups an hour's records into gzipped ten-minute files per region, adds the duplicate
deliveries, the malformed line and the truncated file, and tells the truth what survives.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from isal import igzip

from bedrock_finops.sample_invoke_apps import _entity_extractor
from bedrock_finops.sample_records import _hour_prefix
from bedrock_finops.sample_truth import Truth
from bedrock_finops.sample_workload import (
    APP_BY_NAME,
    DUP_DELIVERY_P,
    FILE_WINDOW_S,
    GZIP_LEVEL,
    Ctx,
    Plan,
    Planned,
)


@dataclass
class LogFile:
    key: str
    lines: list[bytes]
    planned: list[Planned | None]  # None marks a malformed or duplicate line


def _file_name(rng: random.Random, ts: float) -> str:
    dt = datetime.fromtimestamp(ts, UTC)
    return f"{dt:%Y%m%dT%H%M%S}{dt.microsecond // 1000:03d}Z_{rng.getrandbits(64):016x}.json.gz"


def _group_files(rng: random.Random, planned: list[Planned]) -> list[LogFile]:
    groups: dict[tuple[str, int], list[Planned]] = {}
    for p in planned:
        region = p.record["region"]
        groups.setdefault((region, int(p.ts // FILE_WINDOW_S)), []).append(p)
    files = []
    for (region, _), items in sorted(groups.items()):
        key = f"{_hour_prefix(region, items[0].ts)}/{_file_name(rng, items[0].ts)}"
        files.append(LogFile(key, [p.line for p in items], list(items)))
    return files


def _surviving_lines(data: bytes) -> tuple[int, int]:
    """Complete lines a streaming gzip reader recovers from a cut file, and tail bytes."""
    text = zlib.decompressobj(wbits=31).decompress(data)
    complete = text.count(b"\n")
    return complete, len(text) - (text.rfind(b"\n") + 1)


class Writer:
    """Writes one hour's files and feeds the truth with what survives."""

    def __init__(self, root: Path, truth: Truth, plan: Plan, ctx: Ctx) -> None:
        self.root, self.truth, self.plan, self.ctx = root, truth, plan, ctx

    def _put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.truth.bytes += len(data)

    def hour(self, day: int, hour: int, planned: list[Planned]) -> None:
        rng = self.ctx.rng
        files = _group_files(rng, planned)
        if not files:
            return
        truncated = (day, hour) == self.plan.truncated_slot
        if not truncated:
            self._add_duplicates(rng, files)
        if self.plan.malformed_at(day, hour):
            self._add_malformed(day, hour, files[0])
        lost: set[str] = set()
        for i, f in enumerate(files):
            data = igzip.compress(b"".join(f.lines), compresslevel=GZIP_LEVEL, mtime=0)
            readable = len(f.lines)
            if truncated and i == 0:
                data, lost, readable = self._truncate(f, data)
            self._put(f.key, data)
            self.truth.files += 1
            self.truth.lines_total += readable
        for p in planned:
            self.truth.records_written += 1
            if p.request_id in lost:
                continue
            self.truth.add(p, self.plan, day, hour)
            if p.resend_of and p.resend_of not in lost:
                self.truth.dedup_pairs.append([p.resend_of, p.request_id])
            if p.large_body is not None:
                key = p.record["input"]["inputBodyS3Path"].split("/", 3)[3]
                self._put(key, igzip.compress(p.large_body, compresslevel=GZIP_LEVEL, mtime=0))
                self.truth.data_files += 1

    def _add_duplicates(self, rng: random.Random, files: list[LogFile]) -> None:
        extra: list[LogFile] = []
        for i, f in enumerate(files):
            for p in list(f.planned):
                if p is None or rng.random() >= DUP_DELIVERY_P:
                    continue
                same_region = [
                    g
                    for g in files
                    if g is not f and g.key.rsplit("/", 1)[0] == f.key.rsplit("/", 1)[0]
                ]
                if same_region:
                    target = same_region[(i + 1) % len(same_region)]
                else:
                    key = f"{f.key.rsplit('/', 1)[0]}/{_file_name(rng, p.ts + 120)}"
                    target = LogFile(key, [], [])
                    extra.append(target)
                target.lines.append(p.line)
                target.planned.append(None)
                self.truth.duplicates.append(p.request_id)
        files.extend(extra)

    def _add_malformed(self, day: int, hour: int, f: LogFile) -> None:
        """A half-written copy of a record that exists nowhere else (not a request)."""
        app = APP_BY_NAME["entity-extractor"]
        ghost = _entity_extractor(self.ctx, app, f.planned[0].ts if f.planned[0] else 0.0)[0]
        line = orjson.dumps(ghost.record)
        at = min(1, len(f.lines))
        f.lines.insert(at, line[: len(line) // 2] + b"\n")
        f.planned.insert(at, None)
        self.truth.malformed.append({"file": f.key, "line": at + 1})

    def _truncate(self, f: LogFile, data: bytes) -> tuple[bytes, set[str], int]:
        cut = data[: int(len(data) * 0.6)]
        complete, tail = _surviving_lines(cut)
        kept = [p.request_id for p in f.planned[:complete] if p is not None]
        lost = {p.request_id for p in f.planned[complete:] if p is not None}
        self.truth.truncated.append(
            {
                "file": f.key,
                "bytes_written": len(cut),
                "bytes_full": len(data),
                "complete_lines": complete,
                "partial_tail_bytes": tail,
                "kept_request_ids": kept,
                "lost_request_ids": sorted(lost),
            }
        )
        return cut, lost, complete
