"""The text of each distinct system prompt and tool spec, kept once, in bounded memory.

The ingest's parent keeps every distinct prompt component's text for ``prompts.parquet``.
Most workloads have a few dozen. One that personalises its system prompt per request (a date,
a name, retrieved context) has one per request, and a month of those does not fit in memory.
Past ``budget_chars`` of text held, the texts go to a scratch Arrow file next to the output,
one batch at a time, and ``batches`` gives them back the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

BUDGET_CHARS = 1 << 26  # ~64M characters of prompt text held before it goes to disk
SCHEMA = pa.schema(
    [("hash", pa.string()), ("kind", pa.string()), ("tokens", pa.int64()), ("text", pa.string())]
)


class PromptTexts:
    """``hash -> (kind, tokens, text)``, the first text given for each hash."""

    def __init__(self, scratch: Path, budget_chars: int | None = None) -> None:
        self.scratch = scratch
        self.budget_chars = BUDGET_CHARS if budget_chars is None else budget_chars
        self.held: dict[str, tuple[str, int, str]] = {}
        self.held_chars = 0
        self.known: set[str] = set()  # every hash kept, held or written out
        self.spilled = False  # whether some texts went to the scratch file
        self._sink: pa.NativeFile | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None

    def add(self, digest: str, value: tuple[str, int, str]) -> None:
        if digest in self.known:
            return
        self.known.add(digest)
        self.held[digest] = value
        self.held_chars += len(value[2])
        if self.held_chars > self.budget_chars:
            self._spill()

    def _spill(self) -> None:
        if self._writer is None:
            self._sink = pa.OSFile(str(self.scratch), "wb")
            self._writer = pa.ipc.new_file(self._sink, SCHEMA)
            self.spilled = True
        self._writer.write_batch(self._held_batch())
        self.held, self.held_chars = {}, 0

    def _held_batch(self) -> pa.RecordBatch:
        kinds, tokens, texts = zip(*self.held.values(), strict=True) if self.held else ([],) * 3
        return pa.record_batch([list(self.held), kinds, tokens, texts], schema=SCHEMA)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Every text kept, in the order first given: the written-out batches, then the rest."""
        if self.spilled:
            self._close_writer()
            with pa.OSFile(str(self.scratch)) as source:  # read, not mapped: one batch held
                reader = pa.ipc.open_file(source)
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i)
        yield self._held_batch()

    def _close_writer(self) -> None:
        if self._writer is not None:
            writer, sink, self._writer, self._sink = self._writer, self._sink, None, None
            try:
                writer.close()
            finally:  # closed even when the writer's last write fails (a full disk)
                sink.close()

    def discard(self) -> None:
        """Remove the scratch file (after the table is written, or a failed run)."""
        with contextlib.suppress(OSError, pa.ArrowException):
            self._close_writer()
        self.scratch.unlink(missing_ok=True)
