"""Invocation logs -> the canonical usage table (``usage.parquet``), in one parallel pass.

Workers (one process per core, ``ingest_worker``) decompress and parse whole files and hand
back Arrow record batches; the parent (this module) keeps the first delivery of each
``requestId`` (files in key order), resolves model IDs once each, and streams the batches
into one Parquet file. Every line read ends up as a row, in the quarantine with a reason, or
counted as a duplicate delivery: ``lines_read == rows + quarantined + duplicates``.

Lines whose timestamp falls outside ``[start, end)`` are not read into the table; they are
counted in ``outside_window`` (a file delivered in the window's last hour may hold a few).
Blank lines are not records and are not counted.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bedrock_finops import line_scan, models, parse_scalars, row_batch
from bedrock_finops.ingest_worker import ChunkResult, Options, process_chunk, spill_dir, unspill
from bedrock_finops.parse import MODEL_COLUMNS
from bedrock_finops.progress import Progress
from bedrock_finops.schema import USAGE_SCHEMA, from_arrow
from bedrock_finops.sources import invocation_logs as logs
from bedrock_finops.sources.invocation_logs import SourceError, Unit

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("excerpt", pa.string()),
    ]
)
PROMPTS_SCHEMA = pa.schema(
    [
        ("hash", pa.string()),
        ("kind", pa.string()),
        ("tokens", pa.int64()),
        ("text", pa.string()),
        ("requests", pa.int64()),
        ("first_seen", pa.timestamp("ms", tz="UTC")),
    ]
)
ROW_GROUP_ROWS = 128 * 1024
CHUNK_FILES = 32  # files per worker task at most
# tasks queued per worker: enough that workers keep busy while the parent writes a row group
# (~0.6 s of CPU; with 2 in flight the workers ran dry, measured 4% slower on 1M records)
TASKS_IN_FLIGHT_PER_WORKER = 6
# Columns whose values are (nearly) all distinct: a Parquet dictionary and min/max statistics
# only cost time there (~20% of the write, measured), while the file comes out no larger.
DISTINCT_VALUE_COLUMNS = frozenset(
    (
        "request_id",
        "request_hash",
        "user_text",
        "request_metadata",
        "prefix_hashes.list.element.hash",
    )
)


def compiled_parts() -> str:
    """Which optional C extensions this install has (the rest runs their Python twins)."""
    parts = {
        "line scan": line_scan.COMPILED,
        "row batch": row_batch.COMPILED,
        "timestamps": parse_scalars.COMPILED,
    }
    if not any(parts.values()):
        return "none (no C compiler at install: same results, slower)"
    return ", ".join(f"{name} {'yes' if built else 'no'}" for name, built in parts.items())


class IngestError(RuntimeError):
    """The ingest cannot run; the message says what is wrong and how to fix it."""


@dataclass
class IngestReport:
    """Data-quality report of one ingest run (written as ``ingest_report.json``)."""

    source: str
    files_read: int = 0
    files_skipped: list[dict[str, str]] = field(default_factory=list)
    lines_read: int = 0
    rows: int = 0
    quarantined: int = 0
    duplicates: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    unknown_models: dict[str, int] = field(default_factory=dict)
    large_bodies_not_fetched: int = 0
    outside_window: int = 0
    start: datetime | None = None
    end: datetime | None = None
    elapsed_s: float = 0.0
    rows_per_s: float = 0.0
    compiled: str = compiled_parts()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["start"] = self.start.isoformat() if self.start else None
        d["end"] = self.end.isoformat() if self.end else None
        return d

    def summary(self) -> str:
        lines = [
            f"source            {self.source}",
            f"window            [{self.start or '-'}, {self.end or '-'})",
            f"files read        {self.files_read:,}  (skipped {len(self.files_skipped)})",
            f"lines read        {self.lines_read:,}",
            f"  rows            {self.rows:,}",
            f"  quarantined     {self.quarantined:,}",
            f"  duplicates      {self.duplicates:,}",
            f"outside window    {self.outside_window:,}",
            f"large bodies      {self.large_bodies_not_fetched:,} not fetched",
            f"elapsed           {self.elapsed_s:.1f}s ({self.rows_per_s:,.0f} rows/s)",
            f"compiled parts    {self.compiled}",
        ]
        for reason, n in sorted(self.quarantine_by_reason.items(), key=lambda kv: -kv[1]):
            lines.append(f"  quarantine: {reason}: {n:,}")
        for raw, n in sorted(self.unknown_models.items(), key=lambda kv: -kv[1]):
            lines.append(f"  unknown model (unpriced): {raw}: {n:,} rows")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- parent side


def _as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


@dataclass
class _Plan:
    label: str
    units: Iterable[Unit]
    total: int | None
    skipped: list[dict[str, str]]
    local_root: str | None = None
    client: Any | None = None  # an injected client forces in-process reading


def _plan(source: Any, start, end, endpoint_url, region, s3_client, logs_client) -> _Plan:
    src = str(source)
    try:
        if src.startswith("s3://"):
            listing = logs.list_s3(
                src, start, end, endpoint_url=endpoint_url, region=region, client=s3_client
            )
            return _Plan(src, listing.units, len(listing.units), listing.skipped, client=s3_client)
        if src.startswith("cloudwatch-logs://"):
            units = logs.iter_cloudwatch(
                src, start, end, endpoint_url=endpoint_url, region=region, client=logs_client
            )
            return _Plan(src, units, None, [])
        root = Path(src).expanduser()
        listing = logs.list_local(root, start, end)
        return _Plan(
            str(root),
            listing.units,
            len(listing.units),
            listing.skipped,
            local_root=str(root if root.is_dir() else root.parent),
        )
    except SourceError as exc:
        raise IngestError(str(exc)) from None


def parquet_columns(schema: pa.Schema) -> list[str]:
    """The leaf column paths Parquet writes for ``schema`` (``a.list.element.b`` for nesting)."""

    def leaves(name: str, dtype: pa.DataType) -> Iterator[str]:
        if pa.types.is_struct(dtype):
            for child in dtype:
                yield from leaves(f"{name}.{child.name}", child.type)
        elif pa.types.is_list(dtype):
            yield from leaves(f"{name}.list.element", dtype.value_type)
        else:
            yield name

    return [path for f in schema for path in leaves(f.name, f.type)]


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
        return 4  # CloudWatch pages already hold up to CW_PAGE_EVENTS events each
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
    spill = spill_dir(opts.token)
    opts = replace(opts, spill_dir=spill)
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: deque[Future] = deque()
            for part in chunks:
                pending.append(pool.submit(process_chunk, part, opts))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    finally:
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)


class _Collector:
    """Parent-side state: dedupe, model resolution, Parquet streaming, prompt stats."""

    def __init__(self, out_dir: Path, profile_map, bedrock_client, report: IngestReport):
        repeated = [c for c in parquet_columns(USAGE_SCHEMA) if c not in DISTINCT_VALUE_COLUMNS]
        # zstd level 1: ~2.6x smaller than the default snappy on the sample's user turns (each
        # dated run folder keeps its own copy) at about the same CPU time to write
        self.writer = pq.ParquetWriter(
            out_dir / "usage.parquet",
            USAGE_SCHEMA,
            compression="zstd",
            compression_level=1,
            use_dictionary=repeated,
            write_statistics=repeated,
        )
        self.seen: set[str] = set()
        self.refs: dict[str, models.ModelRef] = {}
        self.profile_map = profile_map
        self.bedrock_client = bedrock_client
        self.report = report
        self.unknown: Counter[str] = Counter()
        self.quarantine: list[tuple[str, int, str, str]] = []
        self.prompt_text: dict[str, tuple[str, int, str]] = {}
        self.prompt_requests: Counter[str] = Counter()
        self.prompt_first: dict[str, Any] = {}
        self.pending: list[pa.Table] = []
        self.pending_rows = 0

    def add(self, res: ChunkResult) -> None:
        r = self.report
        r.files_read += res.files
        r.lines_read += res.lines_read
        r.outside_window += res.outside_window
        r.quarantined += len(res.quarantine)
        self.quarantine.extend(res.quarantine)
        for h, v in res.prompts.items():
            self.prompt_text.setdefault(h, v)
        batches = res.batches if res.batch_path is None else unspill(res.batch_path)
        for whole in batches:
            for batch in self._dedupe(whole):
                r.rows += batch.num_rows
                self.pending.append(batch)
                self.pending_rows += batch.num_rows
        if self.pending_rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        """Write buffered rows as one row group (hourly files are small; row groups are not)."""
        if not self.pending:
            return
        table = self._with_models(pa.Table.from_batches(self.pending))
        self.report.large_bodies_not_fetched += pc.sum(table["body_in_s3"]).as_py() or 0
        self._prompt_stats(table)
        self.writer.write_table(table, ROW_GROUP_ROWS)
        self.pending, self.pending_rows = [], 0

    def _dedupe(self, batch: pa.RecordBatch) -> list[pa.RecordBatch]:
        """The batch without requestIds seen before (first delivery wins), as slices.

        Most batches hold no duplicate: that is decided with set operations at C speed, and a
        batch with duplicates is cut into zero-copy slices around them rather than filtered.
        """
        ids = batch.column(0).to_pylist()
        seen = self.seen
        fresh = set(ids)
        repeats = fresh & seen
        seen.update(fresh)
        if not repeats and len(fresh) == len(ids):
            return [batch]
        drop = []  # positions of repeated deliveries: seen before, or earlier in this batch
        first: set[str] = set()
        for i, rid in enumerate(ids):
            if rid in repeats or rid in first:
                drop.append(i)
            elif len(fresh) != len(ids):
                first.add(rid)
        self.report.duplicates += len(drop)
        parts = []
        start = 0
        for i in drop:
            if i > start:
                parts.append(batch.slice(start, i - start))
            start = i + 1
        if len(ids) > start:
            parts.append(batch.slice(start))
        return parts

    def _with_models(self, table: pa.Table) -> pa.Table:
        raws = table["model_id_raw"]
        uniq = pc.unique(raws).to_pylist()
        new = [u for u in uniq if u not in self.refs]
        if new:
            self.refs.update(models.resolve_many(new, self.profile_map, self.bedrock_client))
        idx = pc.index_in(raws, value_set=pa.array(uniq, pa.string()))
        for name in MODEL_COLUMNS:
            attr = "key" if name == "model" else name
            values = pa.array([getattr(self.refs[u], attr) for u in uniq], pa.string())
            table = table.set_column(table.schema.get_field_index(name), name, pc.take(values, idx))
        counts = pc.value_counts(raws)
        for raw, n in zip(
            counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True
        ):
            if not self.refs[raw].known:
                self.unknown[raw] += n
        return table

    def _prompt_stats(self, table: pa.Table) -> None:
        for col in ("system_hash", "tools_hash"):
            agg = table.select([col, "timestamp"]).filter(pc.is_valid(table[col]))
            if agg.num_rows == 0:
                continue
            agg = agg.group_by(col).aggregate([("timestamp", "min"), ("timestamp", "count")])
            for h, first, n in zip(
                agg[col].to_pylist(),
                agg["timestamp_min"].to_pylist(),
                agg["timestamp_count"].to_pylist(),
                strict=True,
            ):
                self.prompt_requests[h] += n
                prev = self.prompt_first.get(h)
                if prev is None or first < prev:
                    self.prompt_first[h] = first

    def close(self, out_dir: Path) -> None:
        self._flush()
        self.writer.close()
        r = self.report
        r.unknown_models = dict(self.unknown.most_common())
        r.quarantine_by_reason = dict(Counter(q[2] for q in self.quarantine).most_common())
        cols = list(zip(*self.quarantine, strict=True)) if self.quarantine else [[], [], [], []]
        pq.write_table(
            pa.table(
                dict(zip(QUARANTINE_SCHEMA.names, cols, strict=True)), schema=QUARANTINE_SCHEMA
            ),
            out_dir / "quarantine.parquet",
        )
        hashes = [h for h in self.prompt_text if h in self.prompt_requests]
        prompts = pa.table(
            {
                "hash": hashes,
                "kind": [self.prompt_text[h][0] for h in hashes],
                "tokens": [self.prompt_text[h][1] for h in hashes],
                "text": [self.prompt_text[h][2] for h in hashes],
                "requests": [self.prompt_requests[h] for h in hashes],
                "first_seen": [self.prompt_first[h] for h in hashes],
            },
            schema=PROMPTS_SCHEMA,
        )
        pq.write_table(
            prompts.sort_by([("kind", "ascending"), ("requests", "descending")]),
            out_dir / "prompts.parquet",
        )


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
) -> IngestReport:
    """Ingest invocation logs from ``source`` into ``out_dir``.

    Writes ``usage.parquet`` (USAGE_SCHEMA), ``prompts.parquet`` (distinct system prompts and
    tool specs), ``quarantine.parquet`` and ``ingest_report.json``. ``source`` is a local
    folder, ``s3://bucket/prefix`` or ``cloudwatch-logs://LOG_GROUP``; ``start``/``end``
    bound the record timestamps, ``[start, end)`` in UTC. ``endpoint_url`` (or the standard
    ``AWS_ENDPOINT_URL``) points the boto3 clients elsewhere, e.g. at a test server.
    """
    t0 = time.perf_counter()
    start_dt, end_dt = _as_utc(start), _as_utc(end)
    if start_dt and end_dt and start_dt >= end_dt:
        raise IngestError(
            f"start {start_dt} is not before end {end_dt}; the window is [start, end)"
        )
    endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plan = _plan(source, start_dt, end_dt, endpoint_url, region, s3_client, logs_client)
    report = IngestReport(source=plan.label, start=start_dt, end=end_dt, files_skipped=plan.skipped)
    opts = Options(
        token=uuid.uuid4().hex,
        app_key=app_key,
        identity_app_map=identity_app_map,
        profile_map=profile_map,
        fetch_large_bodies=fetch_large_bodies,
        start_ms=int(start_dt.timestamp() * 1000) if start_dt else None,
        end_ms=int(end_dt.timestamp() * 1000) if end_dt else None,
        local_root=plan.local_root,
        endpoint_url=endpoint_url,
        region=region,
    )
    n_workers = workers or os.cpu_count() or 1
    if plan.total is not None:
        n_workers = min(n_workers, max(plan.total, 1))
    collector = _Collector(out, profile_map, bedrock_client, report)
    try:
        with Progress(plan.total, progress) as bar:
            chunk = _chunk_size(plan.total, n_workers)
            for res in _results(plan.units, opts, n_workers, plan.client, chunk):
                collector.add(res)
                bar.update(res.files, res.lines_read)
    except SourceError as exc:
        collector.writer.close()
        raise IngestError(str(exc)) from None
    collector.close(out)
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    report.rows_per_s = round(report.rows / report.elapsed_s, 1) if report.elapsed_s else 0.0
    (out / "ingest_report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def read_invocation_logs(
    source: Any, start: Any = None, end: Any = None, **kwargs: Any
) -> pd.DataFrame:
    """Ingest into a temporary folder and return the usage table (report in ``attrs``)."""
    with tempfile.TemporaryDirectory(prefix="bedrock-finops-") as tmp:
        report = ingest_to_folder(source, tmp, start, end, **kwargs)
        df = from_arrow(pq.read_table(Path(tmp) / "usage.parquet"))
    df.attrs["ingest"] = report.to_dict()
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
        "--source", required=True, help="folder, s3://bucket/prefix, or cloudwatch-logs://LOG_GROUP"
    )
    p.add_argument("--out", required=True, type=Path, help="usage table to write (.parquet)")
    p.add_argument("--start", help="first day/time to include (UTC, e.g. 2025-06-01)")
    p.add_argument("--end", help="end of the window, exclusive (UTC)")
    p.add_argument("--app-key", default="app", help="requestMetadata key naming the app")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--endpoint-url", default=None, help="AWS endpoint override (tests, VPC)")
    p.add_argument(
        "--fetch-large-bodies",
        action="store_true",
        help="read bodies over 100 KB from their data/ objects",
    )
    p.set_defaults(func=_cli)


def _cli(args: Any) -> int:
    out: Path = args.out
    folder = out.parent
    try:
        report = ingest_to_folder(
            args.source,
            folder,
            args.start,
            args.end,
            app_key=args.app_key,
            workers=args.workers,
            endpoint_url=args.endpoint_url,
            fetch_large_bodies=args.fetch_large_bodies,
        )
    except IngestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if out.name != "usage.parquet":
        (folder / "usage.parquet").replace(out)
    print(report.summary())
    return 0
