"""A large log file -> line-aligned byte ranges, read as separate units.

AWS delivers many small files, but a folder may hold one big export (a month of records in
one ``.jsonl``). Read whole, it would take one worker and memory in proportion to its size;
cut at line breaks every ``RANGE_BYTES``, it decodes on every core in bounded memory. Each
range knows the number of its first line, so quarantine entries keep the file's own line
numbers. A large gzip file is one stream that cannot be cut: it is first expanded, streamed,
to a plain file in a scratch folder (``expand_gzip``), which is then cut the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from isal import isal_zlib

from bedrock_finops.disk_space import disk_full
from bedrock_finops.sources.document_files import looks_like_documents
from bedrock_finops.sources.large_text import HELD_TEXT_BYTES, last_line_end
from bedrock_finops.sources.log_decoding import (
    GZIP_MAGIC,
    MAGIC_BYTES,
    CorruptGzip,
    GzipStream,
    corrupt_reason,
    other_compression,
    wide_encoding,
)

RANGE_BYTES = 64 << 20  # bytes of a range; files up to this size are read whole
_SCAN_BYTES = 16 << 20  # block size of the scan for line breaks
GZIP_EXPAND_BYTES = 128 << 20  # a gzip file larger than this is expanded before it is read
# ... as is one whose trailer says it decompresses to more than this (held whole in memory,
# it would take ~2x that in a worker; one that passes it unannounced goes on to a scratch
# copy in the worker, as it is decompressed, and is read there without the ranges)
GZIP_EXPAND_PLAIN_BYTES = HELD_TEXT_BYTES
# JSON logs compress about 8x or more: what a file whose trailer tells nothing is judged by
LOG_COMPRESSION = 8


def line_ranges(path: Path, range_bytes: int | None = None) -> list[tuple[int, int, int]] | None:
    """``[(start, stop, first line number), ...]`` covering ``path``, each range starting at a
    line start; None when the file is read whole: small, gzip (one stream), compressed by
    another tool (one quarantine entry, by its first bytes: a later range's bytes would be
    read as text), a JSON document rather than lines, UTF-16 or UTF-32 text (decoded whole),
    or holding a ``\\r`` that is not part of a ``\\r\\n`` (a line break of its own to
    ``bytes.splitlines``: Windows line ends are cut at their ``\\n`` like any other)."""
    range_bytes = range_bytes or RANGE_BYTES
    size = path.stat().st_size
    if size <= range_bytes:
        return None
    ranges: list[tuple[int, int, int]] = []
    start, first_line = 0, 1
    offset, lines_before = 0, 0  # of the block being scanned: where it starts, "\n"s before it
    with open(path, "rb") as fh:
        head = fh.read(4096)
        if (
            head.startswith(GZIP_MAGIC)
            or other_compression(head)
            or looks_like_documents(head)
            or wide_encoding(head)
        ):
            return None
        fh.seek(0)
        after_cr = False  # the block before ended in "\r": this one must start with "\n"
        while block := fh.read(_SCAN_BYTES):
            if (after_cr and not block.startswith(b"\n")) or lone_cr(block):
                return None
            after_cr = block.endswith(b"\r")
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


def worth_expanding(path: Path, size: int) -> bool:
    """Whether ``path`` is a gzip file to expand and cut rather than read whole in memory.

    Either it is over ``GZIP_EXPAND_BYTES``, or its trailer says it decompresses to more than
    ``GZIP_EXPAND_PLAIN_BYTES``, whatever its size (a 1 MB file may say 1 GiB; reading the
    magic and trailer with ``os.pread`` costs ~10 us a file). The trailer's ISIZE is the last
    member's size modulo 4 GiB: exact for a file gzipped in one go (``gzip month.jsonl``),
    less than the whole for a file of several members or over 4 GiB, so it never makes a
    whole file look bigger than it is.
    A cut file ends in no trailer at all; if its last bytes read as a large size, expanding it
    costs a pass but changes nothing read (``expand_gzip`` keeps its complete lines).

    The trailer may be a last member's only (a file of several members), NUL padding's
    (which ``GzipStream`` skips) or a cut file's, so the file is also judged by its size, at
    ``LOG_COMPRESSION`` times, whichever says more (``cat`` of a month's hourly files into
    one made a 120 MB file that was read whole, 1.2 GB of text held in one process). A file
    that compresses less than that costs an extra pass, not memory. Whatever a file's trailer
    says, its text never is held whole past that size (``log_decoding.gunzip_lines``).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if os.pread(fd, len(GZIP_MAGIC), 0) != GZIP_MAGIC:
            return False
        if size > GZIP_EXPAND_BYTES:
            return True
        plain = int.from_bytes(os.pread(fd, 4, max(size - 4, 0)), "little")
    finally:
        os.close(fd)
    # the trailer may be a last member's only (several members): the size judges too
    return max(plain, size * LOG_COMPRESSION) > GZIP_EXPAND_PLAIN_BYTES


def gzip_local_bytes() -> int:
    """The size over which a gzip S3 object is downloaded before it is read: over it, it may
    hold more than ``GZIP_EXPAND_PLAIN_BYTES`` of text (``LOG_COMPRESSION``), and once local,
    ``worth_expanding`` decides on its trailer and size as for any local file."""
    return min(GZIP_EXPAND_BYTES, GZIP_EXPAND_PLAIN_BYTES // LOG_COMPRESSION)


def expand_gzip(path: Path, into: Path) -> tuple[Path, str | None] | None:
    """Decompress ``path`` (multi-member gzip, streamed) to a plain file under ``into``.

    Returns the plain file and the quarantine reason its end stands for, as
    ``log_decoding.gunzip_lines`` gives it: ``truncated gzip`` for a cut stream, ``corrupt
    gzip (...)`` for a damaged member (the members before it are kept, as read whole), else
    None; either way only complete lines are kept, cut before the last line break as
    ``log_decoding._complete_lines`` cuts them (so the entry's line number is the same). None
    when there are bytes after the last
    member that are not gzip, or the text is UTF-16/UTF-32 (its line breaks are more than a
    ``0A`` byte, and such a file is never cut into ranges), or it is no text but gzip or
    another compression again: it is then read as one file (``gunzip_lines``, which copies
    its text to scratch once it passes ``HELD_TEXT_BYTES``), its error quarantined as usual.
    """
    into.mkdir(parents=True, exist_ok=True)
    plain = into / f"{len(list(into.iterdir()))}.jsonl"
    stream = GzipStream()
    last_newline = -1  # offset in ``plain`` of the last b"\n" written
    written = 0
    head = b""
    try:
        with open(path, "rb") as src, open(plain, "wb") as dst:
            while chunk := src.read(_SCAN_BYTES):
                for out in stream.feed(chunk):
                    if len(head) < MAGIC_BYTES:
                        head += out[: MAGIC_BYTES - len(head)]
                        if len(head) == MAGIC_BYTES and _read_whole(head):
                            raise isal_zlib.error("not text to cut: read it whole")
                    if (i := out.rfind(b"\n")) >= 0:
                        last_newline = written + i
                    written += len(out)  # (first: a full disk's error says it was needed)
                    dst.write(out)
            if stream.trailing_garbage:
                raise isal_zlib.error("bytes after the last member are not gzip")
            end_error = "truncated gzip" if stream.truncated else None
            if end_error:
                dst.truncate(max(last_newline, 0))
    except CorruptGzip as exc:  # the members before the damaged one, to their last line
        with open(plain, "r+b") as dst:
            dst.truncate(max(last_line_end(dst, exc.checked) - 1, 0))
        return plain, corrupt_reason(exc)
    except isal_zlib.error:
        plain.unlink(missing_ok=True)
        return None
    except BaseException as exc:  # a full disk, a read error, an interrupt: no half copy left
        plain.unlink(missing_ok=True)
        if disk_full(exc):
            raise NoRoomToExpand(exc, written, trailer_size(path)) from None
        raise
    return plain, end_error


class NoRoomToExpand(Exception):
    """No room for a gzip file's decompressed copy: it needs at least ``written`` bytes (what
    it had written, or was writing, when the disk filled), and its gzip trailer gives
    ``expected`` (see ``trailer_size``). The partial copy is removed."""

    def __init__(self, error: OSError, written: int, expected: int | None) -> None:
        super().__init__(str(error))
        self.error, self.written, self.expected = error, written, expected


def trailer_size(path: Path) -> int | None:
    """The size a gzip file's trailer (ISIZE) gives: the last member's, modulo 4 GiB."""
    try:
        with open(path, "rb") as fh:
            fh.seek(-4, 2)
            return int.from_bytes(fh.read(4), "little")
    except OSError:
        return None


def _read_whole(head: bytes) -> bool:
    """Whether a gzip file whose text starts with ``head`` is read as one file, not expanded
    and cut: UTF-16 or UTF-32 text, or compressed again (``gunzip_lines`` reads or names what
    it holds, streamed)."""
    return bool(
        wide_encoding(head)
        or head.startswith(GZIP_MAGIC)
        or other_compression(head, inside_gzip=True)
    )


def lone_cr(data: bytes) -> bool:
    """Whether ``data`` holds a ``\\r`` outside a ``\\r\\n`` (one at its very end may be the
    first half of a pair cut by a block boundary: the caller checks the next block)."""
    if b"\r" not in data:
        return False
    return data.count(b"\r") - data.count(b"\r\n") - data.endswith(b"\r") > 0
