"""Text too large to hold whole in memory, and how its lines are read.

A worker holds a file's text whole (decompressed, then cut into lines) up to
``HELD_TEXT_BYTES``. A gzip file whose trailer or size says it holds more is expanded to a
scratch copy before it is read (``file_ranges``); one that holds more without saying so (a
small last member after large ones, gzip inside gzip, a few KB crafted to decompress a
thousandfold) goes on to a scratch copy as it is decompressed, once it passes that size
(:class:`TextSink`). Such a copy, like a range of a file that large, is read a block at a
time (:class:`TextOnDisk`), and a line longer than ``LONG_LINE_BYTES`` is never held: its
start is handed on, for its quarantine entry, and the rest is skipped. The lines a file of
JSON documents that large is made into are kept the same way (:class:`LineSink`).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

HELD_TEXT_BYTES = 256 << 20  # the most of a file's text held whole in memory
LONG_LINE_BYTES = 256 << 20  # a longer line is not read (no log record comes near it)
LONG_LINE_HEAD = 1 << 20  # what is given of such a line: its excerpt, and what judges it
_BLOCK_BYTES = 16 << 20  # of text read from disk at a time
UTF8_BOM = b"\xef\xbb\xbf"  # a byte-order mark at the start of UTF-8 text: no text
_LINE_BREAK = re.compile(rb"\r\n?|\n")  # where ``bytes.splitlines`` cuts bytes


def line_views(data: bytes) -> Iterable[bytes | memoryview]:
    """The lines ``data.splitlines()`` gives, as zero-copy slices where that gives the same.

    ``splitlines`` copies every line into a new bytes object: ~4 us of a ~10 KB record,
    a third of what decompressing it costs. ``orjson.loads`` reads a memoryview as well.
    Where a ``\\r`` occurs outside a ``\\r\\n``, ``splitlines`` also cuts there, so it keeps
    that case; Windows line ends are cut at ``\\r\\n`` (``_crlf_views``).
    """
    if b"\r" in data:
        return data.splitlines() if _has_lone_cr(data) else _crlf_views(data)
    return _newline_views(data)


def _has_lone_cr(data: bytes) -> bool:
    return data.count(b"\r") != data.count(b"\r\n")


def _newline_views(data: bytes) -> Iterator[memoryview]:
    """The ``\\n``-separated lines of ``data`` (no ``\\r`` in it) as memoryview slices."""
    view = memoryview(data)
    find = data.find
    pos = 0
    end = find(b"\n")
    while end >= 0:
        yield view[pos:end]
        pos = end + 1
        end = find(b"\n", pos)
    if pos < len(data):
        yield view[pos:]


def _crlf_views(data: bytes) -> Iterator[memoryview]:
    """``_newline_views`` of data whose every ``\\r`` is a ``\\r\\n``'s, without the ``\\r``:
    the lines ``splitlines`` gives (a line may end in ``\\n`` alone: both are line ends)."""
    for line in _newline_views(data):
        yield line[:-1] if line[-1:] == b"\r" else line


# what a scratch copy holds (``ScratchCopyError.holds``), as its error says why it is made:
# a gzip file's decompressed text, or the records of a file of JSON documents, a line each;
# text decoded from UTF-16 or UTF-32 to UTF-8 is held as that encoding's name
DECOMPRESSED = "decompressed"
RECORDS = "records"


class ScratchCopyError(Exception):
    """Writing a scratch copy of text failed (``error``: a full disk, most likely) in
    ``folder`` (None: the system's temporary folder); the copy needs at least ``needed``
    bytes, what it was given so far; ``holds``: what it holds (``DECOMPRESSED``, ``RECORDS``,
    or ``UTF-16``/``UTF-32`` for text decoded from it). The partial copy is gone: it had no
    name."""

    def __init__(
        self, error: OSError, folder: str | None, needed: int, holds: str = DECOMPRESSED
    ) -> None:
        super().__init__(str(error))
        self.error, self.folder, self.needed, self.holds = error, folder, needed, holds


def _scratch_file(folder: str | None, needed: int, holds: str) -> BinaryIO:
    """A new scratch file in ``folder``, with no name: removed once it is closed, however the
    process ends. :class:`ScratchCopyError` when it cannot be made."""
    try:
        return tempfile.TemporaryFile(dir=folder)
    except OSError as exc:
        raise ScratchCopyError(exc, folder, needed, holds) from None


class TextTooLarge(Exception):
    """Text past the most a :class:`TextSink` was asked to take (``most`` bytes)."""

    def __init__(self, most: int) -> None:
        super().__init__(f"over {most:,} bytes")
        self.most = most


class TextSink:
    """Decompressed text as it comes: held in memory up to ``HELD_TEXT_BYTES``, then all of
    it on in a scratch file in ``folder`` (None: the system's temporary folder). The file
    has no name, so nothing of it is left behind, however the process ends. ``most``: text
    past that many bytes is not taken (:class:`TextTooLarge`; what was taken is let go).
    ``holds``: what the text is, as a :class:`ScratchCopyError` says (``DECOMPRESSED``, or
    the encoding UTF-8 text was decoded from)."""

    def __init__(
        self, folder: str | None, most: int | None = None, holds: str = DECOMPRESSED
    ) -> None:
        self.folder = folder
        self.most = most
        self.holds = holds
        self.size = 0
        self._pieces: list[bytes] = []
        self._file: BinaryIO | None = None

    @property
    def on_disk(self) -> bool:
        return self._file is not None

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.most is not None and self.size > self.most:
            self.close()
            raise TextTooLarge(self.most)
        if self._file is not None:
            self._write(self._file, piece)
            return
        self._pieces.append(piece)
        if self.size > HELD_TEXT_BYTES:
            self._file = self._scratch_file()
            pieces, self._pieces = self._pieces, []
            for held in pieces:
                self._write(self._file, held)

    def _scratch_file(self) -> BinaryIO:
        return _scratch_file(self.folder, self.size, self.holds)

    def _write(self, file: BinaryIO, piece: bytes) -> None:
        try:
            file.write(piece)
        except OSError as exc:
            self.close()
            raise ScratchCopyError(exc, self.folder, self.size, self.holds) from None

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes of the text (fewer if it is shorter)."""
        if self._file is not None:
            return TextOnDisk(self._file).head(n)
        head = b""
        for piece in self._pieces:
            head += piece[: n - len(head)]
            if len(head) >= n:
                break
        return head

    def chunks(self, stop: int) -> Iterator[bytes]:
        """The text's first ``stop`` bytes, in the pieces it came in (or blocks from disk)."""
        if self._file is not None:
            yield from TextOnDisk(self._file, 0, stop).blocks()
            return
        for piece in self._pieces:
            if stop <= 0:
                return
            yield piece if len(piece) <= stop else piece[:stop]
            stop -= len(piece)

    def held(self, stop: int | None = None) -> bytes:
        """The text (its first ``stop`` bytes) in memory: read back from disk if it is there."""
        if stop is not None and stop < self.size:
            return b"".join(self.chunks(stop))
        if self._file is not None:
            return TextOnDisk(self._file).read()
        return b"".join(self._pieces)

    def cut_to_complete_lines(self, stop: int) -> None:
        """Keep the text before the last ``\\n`` in its first ``stop`` bytes, as
        ``log_decoding._complete_lines`` cuts held text: a line cut off is no record."""
        if self._file is None:
            raise ValueError("text held in memory is cut where it is read")
        self._file.flush()
        self._file.truncate(max(last_line_end(self._file, stop) - 1, 0))

    def text(self) -> TextOnDisk:
        """The scratch copy, handed on to be read a line at a time (a UTF-8 byte-order mark
        at its start is no text, as at a file's); the sink holds nothing after."""
        if self._file is None:
            raise ValueError("the text is held in memory")
        file, self._file = self._file, None
        return TextOnDisk(file, bom=True, owned=True)

    def close(self) -> None:
        """Let go of the text (its scratch file, if any, is removed as it closes)."""
        self._pieces = []
        if self._file is not None:
            with contextlib.suppress(OSError):  # (its buffer's last write may fail again)
                self._file.close()
            self._file = None


class TextOnDisk:
    """Text read from a file a block at a time: a range ``start``..``stop`` (None: its end)
    of a log file (a path) or of a scratch copy (an open file; ``owned``: closed, and so
    removed, once this is let go). ``bom``: a UTF-8 byte-order mark at ``start`` is no text
    (as at a file's start)."""

    def __init__(
        self,
        file: BinaryIO | str,
        start: int = 0,
        stop: int | None = None,
        bom: bool = False,
        owned: bool = False,
    ) -> None:
        self._file = file
        self.start, self.stop, self.bom = start, stop, bom
        if owned and not isinstance(file, str):
            weakref.finalize(self, file.close)

    @contextlib.contextmanager
    def _descriptor(self) -> Iterator[int]:
        if not isinstance(self._file, str):
            self._file.flush()
            yield self._file.fileno()
            return
        fd = os.open(self._file, os.O_RDONLY)
        try:
            yield fd
        finally:
            os.close(fd)

    def blocks(self, size: int | None = None) -> Iterator[bytes]:
        """The text's bytes, ``size`` (None: ``_BLOCK_BYTES``) at a time (``pread``: reading
        never moves the file's position, so blocks may be asked for again)."""
        size = _BLOCK_BYTES if size is None else size
        with self._descriptor() as fd:
            pos = self.start
            stop = os.fstat(fd).st_size if self.stop is None else self.stop
            if self.bom and os.pread(fd, len(UTF8_BOM), pos) == UTF8_BOM:
                pos += len(UTF8_BOM)
            while pos < stop:
                block = os.pread(fd, min(size, stop - pos), pos)
                if not block:
                    return  # shorter than it was: what there was is read
                pos += len(block)
                yield block

    def head(self, n: int = 4096) -> bytes:
        return next(self.blocks(n), b"")

    def read(self) -> bytes:
        """The whole text in memory (for the shapes read whole: documents)."""
        return b"".join(self.blocks())

    def views(self, on_long_line: Callable[[int, bytes], None]) -> Iterator[bytes | memoryview]:
        """The lines, as ``bytes.splitlines`` cuts the whole text, never holding more than a
        block and a line of at most ``LONG_LINE_BYTES``.

        A longer line is given as its first ``LONG_LINE_HEAD`` bytes (whole characters), after
        ``on_long_line(its index among the lines given, those bytes)``; the rest is skipped.
        """
        given = 0
        begun: list[bytes] = []  # a line begun in blocks before, with no line break yet
        begun_bytes = 0
        skipping = False  # the rest of a long line whose head was given: up to its break
        # a line held whole is at most a block long, unless it was begun in blocks before
        for block in _settled(self.blocks(min(_BLOCK_BYTES, LONG_LINE_BYTES))):
            if skipping:
                found = _LINE_BREAK.search(block)
                if found is None:
                    continue
                skipping, block = False, block[found.end() :]
            cut = max(block.rfind(b"\n"), block.rfind(b"\r")) + 1  # after its last line break
            if cut == 0:
                begun.append(block)
                begun_bytes += len(block)
                if begun_bytes > LONG_LINE_BYTES:
                    on_long_line(given, head := _line_head(begun))
                    yield head
                    given += 1
                    begun, begun_bytes, skipping = [], 0, True
                continue
            if begun:
                first = _LINE_BREAK.search(block)
                assert first is not None  # there is a break: ``cut``'s
                if begun_bytes + first.start() > LONG_LINE_BYTES:
                    on_long_line(given, head := _line_head([*begun, block[: first.start()]]))
                    yield head
                    given += 1
                    begun, begun_bytes = [], 0
                    block, cut = block[first.end() :], cut - first.end()
            text = b"".join([*begun, block[:cut]]) if begun else block[:cut]
            begun = [block[cut:]] if cut < len(block) else []
            begun_bytes = len(block) - cut
            for line in line_views(text):
                yield line
                given += 1
        if begun:
            yield from line_views(b"".join(begun))


class LineSink:
    """Lines as they are made (a file of JSON documents' records, each as its line), held in
    a list up to ``HELD_TEXT_BYTES`` of them, then all on in a scratch file in ``folder``
    (None: the system's temporary folder), each after its length: a line is any bytes (an
    event's message may hold line breaks, or be empty). The file has no name, as a
    :class:`TextSink`'s; writing it fails as :class:`ScratchCopyError`."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self.size = 0
        self.count = 0
        self._held: list[bytes] = []
        self._file: BinaryIO | None = None

    def add(self, line: bytes) -> None:
        self.size += len(line)
        self.count += 1
        if self._file is not None:
            self._write(line)
            return
        self._held.append(line)
        if self.size > HELD_TEXT_BYTES:
            self._file = _scratch_file(self.folder, self.size, RECORDS)
            held, self._held = self._held, []
            for kept in held:
                self._write(kept)

    def _write(self, line: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(len(line).to_bytes(_LENGTH_BYTES, "little"))
            self._file.write(line)
        except OSError as exc:
            self.close()
            raise ScratchCopyError(exc, self.folder, self.size, RECORDS) from None

    def lines(self) -> list[bytes] | LinesOnDisk:
        """The lines: the list held, or the scratch file's (the sink holds nothing after)."""
        if self._file is None:
            held, self._held = self._held, []
            return held
        file, self._file = self._file, None
        return LinesOnDisk(file, self.count)

    def close(self) -> None:
        """Let go of the lines (the scratch file, if any, is removed as it closes)."""
        self._held = []
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None


_LENGTH_BYTES = 8  # before each line a :class:`LineSink` writes to disk: its length


class LinesOnDisk:
    """The lines a :class:`LineSink` wrote to its scratch file, read back a block at a time
    each time they are iterated (the file is closed, and so removed, once this is let go)."""

    def __init__(self, file: BinaryIO, count: int) -> None:
        self._file = file
        self._count = count
        weakref.finalize(self, file.close)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[bytes]:
        self._file.flush()
        fd = self._file.fileno()
        block, at, pos = b"", 0, 0  # bytes read, where in them the next line is, the file's

        def read_on(need: int) -> None:
            nonlocal block, at, pos
            more = os.pread(fd, max(_BLOCK_BYTES, need), pos)
            block, at, pos = block[at:] + more, 0, pos + len(more)

        for _ in range(self._count):
            if len(block) - at < _LENGTH_BYTES:
                read_on(_LENGTH_BYTES)
            size = int.from_bytes(block[at : at + _LENGTH_BYTES], "little")
            at += _LENGTH_BYTES
            if len(block) - at < size:  # the line runs past what was read: read on to its end
                read_on(size - (len(block) - at))
            yield block[at : at + size]
            at += size


def _settled(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """``blocks`` with a ``\\r`` at a block's end moved to the next one, so that a ``\\r\\n``
    is never cut in two: a ``\\r`` is then a line break of its own only if the byte after it
    (or the text's end) says so."""
    held = b""
    for block in blocks:
        if held:
            block, held = held + block, b""
        if block.endswith(b"\r"):
            block, held = block[:-1], b"\r"
        if block:
            yield block
    if held:
        yield held


def _line_head(pieces: list[bytes]) -> bytes:
    """The first ``LONG_LINE_HEAD`` bytes of a line begun in ``pieces``, to a character's end:
    cut inside one, its bytes would read as text that is not UTF-8."""
    head = b""
    for piece in pieces:
        head += piece[: LONG_LINE_HEAD - len(head)]
        if len(head) >= LONG_LINE_HEAD:
            break
    try:
        head.decode()
    except UnicodeDecodeError as exc:
        if exc.end == len(head) and exc.reason == "unexpected end of data":
            return head[: exc.start]
    return head


def last_line_end(fh: BinaryIO, size: int) -> int:
    """The offset just past the last ``\\n`` in the first ``size`` bytes of ``fh`` (0: none)."""
    end = size
    while end > 0:
        start = max(0, end - _BLOCK_BYTES)
        fh.seek(start)
        block = fh.read(end - start)
        if (i := block.rfind(b"\n")) >= 0:
            return start + i + 1
        end = start
    return 0
