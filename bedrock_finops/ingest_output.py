"""The parent's side of the ingest: the usage rows into Parquet, plus quarantine and prompts.

Workers hand over Arrow batches in file order. :class:`Collector` keeps the first delivery of
each ``requestId`` and counts the rest, fills the model columns (each raw model ID resolved
once), tallies each distinct system prompt and tool spec, and streams the rows into
``usage.parquet`` one row group at a time, so memory stays flat in the number of files. The
quarantine (source, line, reason, excerpt) is streamed into ``quarantine.parquet`` the same
way (see ``quarantine_file``); at the end it writes ``prompts.parquet`` (each distinct prompt
component once, with its requests and first use).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bedrock_finops import models
from bedrock_finops.ingest_worker import ChunkResult, OutsideSides, unspill
from bedrock_finops.interrupts import stops_held
from bedrock_finops.parse import MODEL_COLUMNS
from bedrock_finops.prompt_texts import PromptTexts
from bedrock_finops.quarantine_file import QuarantineFile
from bedrock_finops.schema import USAGE_SCHEMA
from bedrock_finops.sources.invocation_logs import OUTPUT_FILES
from bedrock_finops.sources.s3_objects import is_archived_entry
from bedrock_finops.window_coverage import DayRecords, records_span

if TYPE_CHECKING:
    from bedrock_finops.app_checks import AppChecks
    from bedrock_finops.ingest import IngestReport

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
# ... or fewer, when they hold more than this: rows of long prompts (an agent's 100 KB tool
# results) would otherwise keep gigabytes in the parent until the row count is reached
ROW_GROUP_BYTES = 256 * 1024 * 1024
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


def usage_writer(path: Path | str) -> pq.ParquetWriter:
    """The Parquet writer ``usage.parquet`` is streamed through (also timed by the benchmark).

    zstd level 1: ~2.6x smaller than the default snappy on the sample's user turns (each dated
    run folder keeps its own copy) at about the same CPU time to write; most of the write is
    encoding, not compression (uncompressed takes as long).
    """
    repeated = [c for c in parquet_columns(USAGE_SCHEMA) if c not in DISTINCT_VALUE_COLUMNS]
    return pq.ParquetWriter(
        path,
        USAGE_SCHEMA,
        compression="zstd",
        compression_level=1,
        use_dictionary=repeated,
        write_statistics=repeated,
    )


DAY_MS = 86_400_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rows_per_day(stamps: pa.ChunkedArray) -> dict[date, DayRecords]:
    """Rows per UTC calendar day of a column of timestamps, with each day's first and last:
    a few array operations over the column, not a Python step per row (the parent's cost per
    row is what the ingest's speed is held to)."""
    ms = pc.drop_null(stamps).cast(pa.int64()).to_numpy()
    if ms.size == 0:
        return {}
    days, at = np.unique(ms // DAY_MS, return_inverse=True)
    rows = np.bincount(at)
    first = np.full(days.size, np.iinfo(np.int64).max)
    np.minimum.at(first, at, ms)
    last = np.full(days.size, np.iinfo(np.int64).min)
    np.maximum.at(last, at, ms)
    return {
        (EPOCH + timedelta(days=int(day))).date(): DayRecords(
            int(n), EPOCH + timedelta(milliseconds=int(lo)), EPOCH + timedelta(milliseconds=int(hi))
        )
        for day, n, lo, hi in zip(days, rows, first, last, strict=True)
    }


# what a re-delivered record repeats exactly (request_id first, source_file last)
COMPARED_COLUMNS = [
    "request_id", "timestamp", "operation", "model_id_raw", "input_tokens",
    "cache_read_tokens", "cache_write_tokens", "output_tokens", "request_hash", "source_file",
]  # fmt: skip


FOLDER_IN_THE_WAY = "a folder where the ingest writes a file: remove it or write to another folder"


def folders_in_the_way(out_dir: Path, table: str) -> list[Path]:
    """The files an ingest writes into ``out_dir`` (the table, its companions and the report)
    whose name is a folder there: no file can replace it."""
    return [out_dir / name for name in (table, *OUTPUT_FILES) if (out_dir / name).is_dir()]


CONFLICTS_LISTED = 1000  # conflicting duplicates listed in the report (all are counted)
UNMATCHED_LISTED = 1000  # identity_app_map keys that matched no caller, listed (all counted)


class Collector:
    """Parent-side state: dedupe, model resolution, Parquet streaming, prompt stats."""

    def __init__(
        self,
        out_dir: Path,
        profile_map,
        bedrock_client,
        report: IngestReport,
        apps: AppChecks | None = None,
    ):
        # streamed under another name and renamed by commit(): the table is never partial
        self.partial = out_dir / f"{report.table}.partial"
        try:
            self.writer = usage_writer(self.partial)
        except BaseException:  # a full disk, say: no empty partial file is left
            self.partial.unlink(missing_ok=True)
            raise
        self.seen: set[str] = set()
        self.refs: dict[str, models.ModelRef] = {}
        self.profile_map = profile_map
        self.bedrock_client = bedrock_client
        self.report = report
        self.apps = apps
        self.unknown: Counter[str] = Counter()
        self.unlisted_geo: Counter[str] = Counter()
        self.quarantine = QuarantineFile(self._partial_of("quarantine.parquet"))
        self.prompt_texts = PromptTexts(out_dir / f"{report.table}.prompts.partial")
        self.prompt_requests: Counter[str] = Counter()
        self.prompt_first: dict[str, Any] = {}
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.pending_bytes = 0
        self.bodies_unread: set[str] = set()
        self.dropped: list[pa.RecordBatch] = []  # repeated deliveries, to compare at close()
        self.nulled: Counter[tuple[str, str]] = Counter()  # (column, why): kept rows' values
        # the rows kept per UTC calendar day, with each day's first and last (window_coverage)
        self.days: dict[date, DayRecords] = {}
        self.sides = OutsideSides()  # the chunks' records outside the window, by side

    def add(self, res: ChunkResult) -> None:
        r = self.report
        r.files_read += res.files
        r.lines_read += res.lines_read
        r.outside_window += res.outside_window
        r.delivered_too_late += res.too_late
        self._count_sides(res.sides)
        r.control_messages += res.control_messages
        r.setup_notices += res.setup_notices
        r.quarantined += len(res.quarantine)
        for f, why in res.bodies_unread:  # once each, though a re-delivery names it again
            if f not in self.bodies_unread:
                self.bodies_unread.add(f)
                r.large_bodies_unread.append({"file": f, "reason": why})
        self.quarantine.add(res.quarantine)
        for h, v in res.prompts.items():
            self.prompt_texts.add(h, v)
        batches = res.batches if res.batch_path is None else unspill(res.batch_path)
        gone: set[int] = set()  # positions of the chunk's rows dropped as duplicates
        offset = 0
        for whole in batches:
            parts, dropped = self._dedupe(whole)
            gone.update(offset + i for i in dropped)
            offset += whole.num_rows
            for batch in parts:
                r.rows += batch.num_rows
                self.pending.append(batch)
                self.pending_rows += batch.num_rows
                self.pending_bytes += batch.nbytes
        self.nulled.update((c, why) for at, c, why in res.values_nulled if at not in gone)
        if self.pending_rows >= ROW_GROUP_ROWS or self.pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _flush(self) -> None:
        """Write buffered rows as one row group (hourly files are small; row groups are not)."""
        if not self.pending:
            return
        table = self._with_models(pa.Table.from_batches(self.pending))
        self.report.large_bodies_not_fetched += pc.sum(table["body_in_s3"]).as_py() or 0
        self._prompt_stats(table)
        self._note_days(table["timestamp"])
        if self.apps is not None:
            self.apps.add(table)
        self.writer.write_table(table, ROW_GROUP_ROWS)
        self.pending, self.pending_rows, self.pending_bytes = [], 0, 0

    def _note_days(self, stamps: pa.ChunkedArray) -> None:
        """Add a row group's rows to the tally per day (the span and its gaps come from it)."""
        for day, tally in rows_per_day(stamps).items():
            known = self.days.get(day)
            self.days[day] = tally if known is None else known.merged(tally)

    def _dedupe(self, batch: pa.RecordBatch) -> tuple[list[pa.RecordBatch], list[int]]:
        """The batch without requestIds seen before (first delivery wins), as slices, and the
        positions of the rows left out.

        Most batches hold no duplicate: that is decided with set operations at C speed, and a
        batch with duplicates is cut into zero-copy slices around them rather than filtered.
        """
        ids = batch.column(0).to_pylist()
        seen = self.seen
        fresh = set(ids)
        repeats = fresh & seen
        seen.update(fresh)
        if not repeats and len(fresh) == len(ids):
            return [batch], []
        drop = []  # positions of repeated deliveries: seen before, or earlier in this batch
        first: set[str] = set()
        for i, rid in enumerate(ids):
            if rid in repeats or rid in first:
                drop.append(i)
            elif len(fresh) != len(ids):
                first.add(rid)
        self.report.duplicates += len(drop)
        self.dropped.append(batch.select(COMPARED_COLUMNS).take(pa.array(drop, pa.int64())))
        parts = []
        start = 0
        for i in drop:
            if i > start:
                parts.append(batch.slice(start, i - start))
            start = i + 1
        if len(ids) > start:
            parts.append(batch.slice(start))
        return parts, drop

    def _with_models(self, table: pa.Table) -> pa.Table:
        # the model that ran: a prompt router's choice, else the ID the call named
        raws = pc.coalesce(table["routed_model_id"], table["model_id_raw"])
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
            ref = self.refs[raw]
            if not ref.known:
                self.unknown[raw] += n
            if not models.is_listed_geo(ref.geo):
                self.unlisted_geo[ref.geo] += n
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

    def _count_sides(self, chunk: OutsideSides) -> None:
        """The chunk's records outside the window into the report's sides and span."""
        self.sides.merge(chunk)
        r, sides = self.report, self.sides
        r.before_window, r.after_window = sides.before, sides.after
        if sides.earliest_ms is not None and sides.latest_ms is not None:
            r.earliest_outside = datetime.fromtimestamp(sides.earliest_ms / 1000, UTC)
            r.latest_outside = datetime.fromtimestamp(sides.latest_ms / 1000, UTC)

    def close(self) -> None:
        """The last row group, the checks at the end and the companion files, all under their
        partial names: :meth:`commit` puts them in place."""
        self._flush()
        self.writer.close()
        r = self.report
        r.conflicting_duplicate_count, r.conflicting_duplicates = self._conflicting_duplicates()
        r.unknown_models = dict(self.unknown.most_common())
        r.unknown_model_reasons = {
            raw: note for raw in r.unknown_models if (note := self.refs[raw].not_per_token)
        }
        r.profile_map_unknown_targets = {
            raw: target
            for raw in r.unknown_models
            if (target := models.mapped_target(raw, self.profile_map)) is not None
        }
        r.unlisted_geo_prefixes = dict(self.unlisted_geo.most_common())
        r.quarantine_by_reason = dict(self.quarantine.by_reason.most_common())
        r.archived_objects = sum(
            n for reason, n in r.quarantine_by_reason.items() if is_archived_entry(reason)
        )
        r.first_record, r.last_record = records_span(self.days)
        for (column, why), n in sorted(self.nulled.items()):
            r.values_nulled.setdefault(column, {})[why] = n
        if self.apps is not None:
            unmatched = self.apps.unmatched()
            r.identity_app_map_unmatched_count = len(unmatched)
            r.identity_app_map_unmatched = unmatched[:UNMATCHED_LISTED]
            r.app_key_near_misses = dict(self.apps.near_misses.most_common())
        self.quarantine.close()
        self._write_prompts(self._partial_of("prompts.parquet"))

    def commit(self, out_dir: Path, report_json: str) -> None:
        """Write the report, then put the four files in place of an earlier run's.

        All once all are written: a failure before (a full disk) leaves an earlier run's
        files as they were, not a quarantine or report of this run beside the table of that
        one. A folder in the place of one (made since the run began) is told before any is
        renamed: renaming the others first would leave two runs' files side by side."""
        self._partial_of("ingest_report.json").write_text(report_json, encoding="utf-8")
        if blocked := folders_in_the_way(out_dir, self.report.table):
            raise IsADirectoryError(errno.EISDIR, FOLDER_IN_THE_WAY, str(blocked[0]))
        with stops_held():  # a Ctrl-C or SIGTERM between two renames would mix two runs
            for name in ("quarantine.parquet", "prompts.parquet", "ingest_report.json"):
                os.replace(self._partial_of(name), out_dir / name)
            os.replace(self.partial, out_dir / self.report.table)

    def _partial_of(self, name: str) -> Path:
        return self.partial.with_name(f"{name}.partial")

    def _conflicting_duplicates(self) -> tuple[int, list[dict[str, Any]]]:
        """(how many, the first ``CONFLICTS_LISTED``) dropped deliveries whose content differs
        from the copy kept under their requestId.

        AWS re-delivers a record unchanged, so a copy that differs (other tokens, model,
        time or request) is not a re-delivery: two records share an ID (merged exports,
        edited files). The copy dropped stays counted as a duplicate, as before; this lists
        it so it can be found. Compared at the end, against the written table, so a run with
        no repeated ID pays nothing; in Arrow, a row group at a time, so a month delivered
        twice is compared without a Python object per record.
        """
        if not self.dropped:
            return 0, []
        compared = COMPARED_COLUMNS[1:-1]
        dropped = pa.Table.from_batches(self.dropped)
        dropped = dropped.append_column("order", pa.array(range(dropped.num_rows), pa.int64()))
        ids = pc.unique(dropped["request_id"])
        kept_parts = []
        for batch in pq.ParquetFile(self.partial).iter_batches(
            columns=COMPARED_COLUMNS[:-1], batch_size=ROW_GROUP_ROWS
        ):
            mask = pc.is_in(batch.column("request_id"), value_set=ids)
            if pc.any(mask).as_py():
                kept_parts.append(batch.filter(mask))
        schema = dropped.select(COMPARED_COLUMNS[:-1]).schema
        kept = pa.Table.from_batches(kept_parts, schema=schema)
        kept = kept.rename_columns(["request_id", *(f"{c}_kept" for c in compared)])
        joined = dropped.join(kept, "request_id", join_type="inner")
        for c in compared:
            joined = joined.append_column(f"{c}_differs", _differs(joined[c], joined[f"{c}_kept"]))
        any_differs = functools.reduce(pc.or_, (joined[f"{c}_differs"] for c in compared))
        conflicts = joined.filter(any_differs).sort_by("order")
        listed = conflicts.slice(0, CONFLICTS_LISTED)
        if listed.num_rows == 0:
            return conflicts.num_rows, []
        kept_from = self._kept_files(listed["request_id"])
        out = [
            {
                "request_id": row["request_id"],
                "kept_from": kept_from[row["request_id"]],
                "dropped_from": row["source_file"],
                "differs_in": [c for c in compared if row[f"{c}_differs"]],
            }
            for row in listed.select(
                ["request_id", "source_file", *(f"{c}_differs" for c in compared)]
            ).to_pylist()
        ]
        return conflicts.num_rows, out

    def _kept_files(self, ids: pa.ChunkedArray) -> dict[str, str]:
        """The file each of ``ids`` was kept from, in the written table."""
        found: dict[str, str] = {}
        for batch in pq.ParquetFile(self.partial).iter_batches(
            columns=["request_id", "source_file"], batch_size=ROW_GROUP_ROWS
        ):
            hit = batch.filter(pc.is_in(batch.column("request_id"), value_set=ids))
            found.update(zip(*(hit[c].to_pylist() for c in hit.column_names), strict=True))
        return found

    def _write_prompts(self, path: Path) -> None:
        """``prompts.parquet``: each distinct prompt component used by a row, once.

        Sorted by kind and requests when the texts fit in memory; when they did not (see
        ``prompt_texts``), in the order first seen, one batch at a time.
        """
        tables = (self._prompt_table(b) for b in self.prompt_texts.batches())
        if not self.prompt_texts.spilled:
            table = next(tables)
            pq.write_table(table.sort_by([("kind", "ascending"), ("requests", "descending")]), path)
        else:
            with pq.ParquetWriter(path, PROMPTS_SCHEMA) as writer:
                for table in tables:
                    writer.write_table(table)
        self.prompt_texts.discard()

    def _prompt_table(self, batch: pa.RecordBatch) -> pa.Table:
        """A batch of prompt texts with their requests and first use; unused ones left out."""
        hashes = batch.column(0).to_pylist()
        used = [h in self.prompt_requests for h in hashes]
        texts = pa.Table.from_batches([batch]).filter(pa.array(used, pa.bool_()))
        kept = [h for h, u in zip(hashes, used, strict=True) if u]
        return pa.table(
            {
                **{name: texts[name] for name in ("hash", "kind", "tokens", "text")},
                "requests": [self.prompt_requests[h] for h in kept],
                "first_seen": [self.prompt_first[h] for h in kept],
            },
            schema=PROMPTS_SCHEMA,
        )

    def abort(self) -> None:
        """After a failed or interrupted run: close the writer and remove the partial files."""
        with contextlib.suppress(OSError):
            self.writer.close()
        with contextlib.suppress(OSError):  # left open when the close failed (a full disk):
            if self.writer.file_handle is not None:  # the removed file would keep its space
                self.writer.file_handle.close()
        self.quarantine.discard()
        for path in (self.partial, *map(self._partial_of, OUTPUT_FILES)):
            path.unlink(missing_ok=True)
        self.prompt_texts.discard()


def _differs(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.ChunkedArray:
    """Row by row, whether ``a`` and ``b`` hold different values (one null and one not is a
    difference; two nulls are not)."""
    return pc.fill_null(pc.not_equal(a, b), pc.xor(pc.is_null(a), pc.is_null(b)))
