"""``quarantine.parquet``: the quarantined lines, written as the workers hand them over.

A folder of another application's JSON logs is all quarantine: millions of entries of a
200-character excerpt each. Held as Python tuples until the end of the run and turned into one
table there, they took the ingest's main process about 1 KB each at its peak (3 KB with
excerpts of 4-byte characters). Written a row group at a time as they come, in the order they
come, at most a row group's worth is held, however many there are; their count per reason,
which the report gives, is kept as they are added.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("excerpt", pa.string()),
    ]
)
ROW_GROUP_ENTRIES = 64 * 1024
# ... or fewer, once they hold this much: excerpts of 4-byte characters are 800 bytes each
ROW_GROUP_BYTES = 16 * 1024 * 1024

Entry = tuple[str, int, str, str]  # source, line, reason, excerpt


def entries_table(entries: list[Entry]) -> pa.Table:
    """``entries`` as Arrow columns: a few bytes over their text each, not a Python tuple. A
    table, not a record batch: a column past 2 GiB (tens of millions of entries from one
    task) comes back from Arrow in chunks, which a record batch cannot hold."""
    return pa.table(list(zip(*entries, strict=True)), schema=QUARANTINE_SCHEMA)


class QuarantineFile:
    """The quarantine entries of a run, streamed into ``path`` in the order added, with their
    count per reason."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.by_reason: Counter[str] = Counter()
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.pending_bytes = 0
        self._writer: pq.ParquetWriter | None = None  # opened with the first row group

    def add(self, entries: list[Entry]) -> None:
        if not entries:
            return
        self.by_reason.update(entry[2] for entry in entries)
        table = entries_table(entries)
        self.pending.append(table)
        self.pending_rows += table.num_rows
        self.pending_bytes += table.nbytes
        if self.pending_rows >= ROW_GROUP_ENTRIES or self.pending_bytes >= ROW_GROUP_BYTES:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, QUARANTINE_SCHEMA)
        table = pa.concat_tables(self.pending) if self.pending else QUARANTINE_SCHEMA.empty_table()
        self._writer.write_table(table, ROW_GROUP_ENTRIES)
        self.pending, self.pending_rows, self.pending_bytes = [], 0, 0

    def close(self) -> None:
        """Write the last entries and close the file (one with no rows when none were added)."""
        if self.pending or self._writer is None:
            self._write_pending()
        self._writer.close()

    def discard(self) -> None:
        """Close the file and remove it (a failed or stopped run): a removed file still open
        would keep its space."""
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError, pa.ArrowException):
                writer.close()
            with contextlib.suppress(OSError):  # left open when the close failed (a full disk)
                if writer.file_handle is not None:
                    writer.file_handle.close()
        self.pending, self.pending_rows, self.pending_bytes = [], 0, 0
        self.path.unlink(missing_ok=True)
