"""A large plain log file -> line-aligned byte ranges, read as separate units.

AWS delivers many small files, but a folder may hold one big export (a month of records in
one ``.jsonl``). Read whole, it would take one worker and memory in proportion to its size;
cut at line breaks every ``RANGE_BYTES``, it decodes on every core in bounded memory. Each
range knows the number of its first line, so quarantine entries keep the file's own line
numbers.
"""

from __future__ import annotations

from pathlib import Path

from bedrock_finops.sources.log_decoding import GZIP_MAGIC, looks_like_documents

RANGE_BYTES = 64 << 20  # bytes of a range; files up to this size are read whole
_SCAN_BYTES = 16 << 20  # block size of the scan for line breaks


def line_ranges(path: Path, range_bytes: int | None = None) -> list[tuple[int, int, int]] | None:
    """``[(start, stop, first line number), ...]`` covering ``path``, each range starting at a
    line start; None when the file is read whole: small, gzip (one stream), a JSON document
    rather than lines, or holding a ``\\r`` (whose line breaks ``bytes.splitlines`` counts)."""
    range_bytes = range_bytes or RANGE_BYTES
    size = path.stat().st_size
    if size <= range_bytes:
        return None
    ranges: list[tuple[int, int, int]] = []
    start, first_line = 0, 1
    offset, lines_before = 0, 0  # of the block being scanned: where it starts, "\n"s before it
    with open(path, "rb") as fh:
        head = fh.read(4096)
        if head.startswith(GZIP_MAGIC) or looks_like_documents(head):
            return None
        fh.seek(0)
        while block := fh.read(_SCAN_BYTES):
            if b"\r" in block:
                return None
            while (target := start + range_bytes) < offset + len(block):
                newline = block.find(b"\n", max(target - offset, 0))
                if newline < 0 or offset + newline + 1 >= size:
                    break  # the cut falls in a later block, or there is nothing after it
                ranges.append((start, offset + newline + 1, first_line))
                first_line = lines_before + block.count(b"\n", 0, newline + 1) + 1
                start = offset + newline + 1
            lines_before += block.count(b"\n")
            offset += len(block)
    ranges.append((start, size, first_line))
    return ranges
