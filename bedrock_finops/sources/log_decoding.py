"""A log file's bytes -> its records, one line each.

AWS writes gzipped NDJSON; :func:`gunzip_lines` decompresses (telling gzip by its magic
bytes, and other compressions, one quarantine entry a file, by theirs) and keeps what a
truncated stream held and what of a corrupt one can be trusted (``GzipStream``), text past
``large_text.HELD_TEXT_BYTES`` in a scratch copy rather than in memory;
``document_files.as_ndjson`` turns files in other JSON shapes (arrays, pretty-printed
records, CloudWatch Logs envelopes) into one line per record.
:func:`record_after_timestamp` reads a line that a CloudWatch Logs export task prefixed with
the event's timestamp.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import orjson
from isal import isal_zlib

from bedrock_finops.sources.large_text import (
    UTF8_BOM,
    LinesOnDisk,
    TextOnDisk,
    TextSink,
    line_views,
)

GZIP_MAGIC = b"\x1f\x8b"
# the most a gzip stream's decoder gives at once: a few bytes of a crafted stream decode to
# a thousand times as many, and a member's whole output in one piece would be held at once
PIECE_BYTES = 16 << 20
# Other compressions a log file may come in (a tool's choice, a Firehose stream's), told by
# their magic bytes as gzip is: (how the file starts, the format, the tool that decompresses
# it). Read as text, their bytes would be an ``invalid JSON`` entry per line break in them; the
# file is one entry instead (``other_compression``). No magic is over ``MAGIC_BYTES`` long.
_COMPRESSIONS = (
    # bzip2: "BZh", the block size, then a block's magic (or an empty stream's end)
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2", "bunzip2"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz", "unxz"),
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd", "unzstd"),
    (re.compile(rb"\x04\x22\x4d\x18|\x02\x21\x4c\x18"), "lz4", "unlz4"),  # frame, legacy
    (re.compile(rb"\xff\x06\x00\x00sNaPpY"), "Snappy (framed)", "python -m snappy -d"),
    (re.compile(rb"\x1f\x9d"), "compress (.Z)", "uncompress, or gzip -d"),
)
_ARCHIVES = (  # archives of files: unpacked, as a tar archive is, not decompressed
    (re.compile(rb"PK(?:\x03\x04|\x05\x06|\x07\x08)"), "zip", "unzip"),
    (re.compile(rb"7z\xbc\xaf\x27\x1c"), "7z", "7z x"),
)
MAGIC_BYTES = 10
# an ISO-8601 timestamp and white space before an event: how a CloudWatch Logs export task
# writes each event to S3 (before a record: ``_TIMESTAMP_PREFIX``)
_EXPORT_STAMP = rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?[ \t]+"
_TIMESTAMP_PREFIX = re.compile(_EXPORT_STAMP + rb"(?=\{)")
_STAMP_PREFIX = re.compile(_EXPORT_STAMP)
# The one plain-text event Bedrock writes to a CloudWatch Logs group when invocation logging
# to it is set up: no record, as the S3 delivery's permission-check object is none
SETUP_NOTICE = b"Permissions are correctly set for Amazon Bedrock logs."
# the quarantine reason of a line over ``large_text.LONG_LINE_BYTES`` that may be a record
LINE_TOO_LONG = "line too long to read (over 256 MB)"


@dataclass
class Decoded:
    """One unit's NDJSON: the decompressed bytes, or for log events the messages themselves."""

    data: bytes = b""
    truncated: bool = False  # gzip stream cut short: one quarantine entry for the cut
    error: str | None = None  # unreadable / corrupt after its lines: one quarantine entry
    trailing_bytes: int = 0  # the ``error`` is only bytes after the whole members: all read
    # one line per CloudWatch Logs event, as delivered (or per record of a file of JSON
    # documents; of a large one, on disk: ``large_text.LinesOnDisk``)
    events: list[bytes] | LinesOnDisk | None = None
    control_messages: int = 0  # CloudWatch Logs CONTROL_MESSAGE envelopes left out (no records)
    # a document file's damaged stretches: their index in ``events`` -> quarantine reason (the
    # line is the stretch's start, for the excerpt); for ``text``, a line too long to read,
    # added as ``views`` comes to it
    damaged: dict[int, str] | None = None
    # text too large to hold whole (``large_text``), in place of ``data``: read from disk a
    # block at a time by ``views``
    text: TextOnDisk | None = None

    def __post_init__(self) -> None:
        if self.text is not None and self.damaged is None:
            self.damaged = {}

    @property
    def lines(self) -> list[bytes]:
        """The lines, as ``bytes.splitlines`` cuts them (each event is one line)."""
        if self.events is not None:
            return self.events if isinstance(self.events, list) else list(self.events)
        if self.text is not None:
            return [bytes(line) for line in self.views()]
        return self.data.splitlines()

    def views(self) -> Iterable[bytes | memoryview]:
        """``lines`` again, as zero-copy slices of ``data`` where that gives the same lines
        (``large_text.line_views``). Of ``text``, a line too long to read is given as its
        start, and is in ``damaged`` when it may be a record (``_judge_long_line``)."""
        if self.events is not None:
            return self.events
        if self.text is not None:
            return self.text.views(self._judge_long_line)
        return line_views(self.data)

    def _judge_long_line(self, index: int, head: bytes) -> None:
        """A line too long to read, of which ``head`` is given: one that cannot be a record
        whatever follows is left to be read as the bytes it starts with (``invalid JSON``, as
        all of it would read); one that may be is :data:`LINE_TOO_LONG`."""
        if self.damaged is not None and may_read_as_record(head):
            self.damaged[index] = LINE_TOO_LONG

    def held(self) -> Decoded:
        """This, with ``text`` read whole into ``data`` (for shapes that are read whole)."""
        if self.text is None:
            return self
        return replace(self, data=self.text.read(), text=None, damaged=None)


class CorruptGzip(isal_zlib.error):
    """Gzip data that cannot be decoded, or that decodes but fails its member's check.

    ``checked``: how many bytes the stream decoded before the failing member (every member
    before it passed its check); ``checksum``: whether the member's CRC-32 or length check
    failed (at its end) rather than its data.
    """

    def __init__(self, detail: str, checked: int, checksum: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.checked = checked
        self.checksum = checksum


class GzipStream:
    """A gzip stream of one or more members, decompressed as its bytes arrive.

    A member's output is known right only once its CRC-32 and length check pass at its end.
    On corrupt data, :class:`CorruptGzip` says how much output came from members that passed
    (``checked``); nothing of the failing member can be trusted. A damaged byte mostly still
    decodes, to other text, and often to valid JSON (a token count of 130 read as 131); the
    decoder may run on for kilobytes past it before its data stops making sense, so no point
    before the error is known to be safe.

    After a whole member, NUL bytes are padding (what block devices, tape and some copy tools
    leave): they are skipped, as gzip(1) skips them at the end of a file, and a member after
    them is still read. Any other bytes where a member should start are not gzip: they and
    everything after them are counted in ``trailing_garbage``, not decoded, and raise nothing,
    since every member before them passed its check.
    """

    def __init__(self) -> None:
        self._d = isal_zlib.decompressobj(wbits=31)
        self._started = False  # a member has begun and not yet ended
        self.produced = 0  # bytes decoded so far
        self._member_out = 0  # ``produced`` when the member began: all before it is checked
        self._members = 0  # members that ended (and passed their check)
        self._gap = 0  # NUL bytes since the last member ended
        self._held = b""  # a lone first magic byte at the end of a chunk: the next decides
        self._garbage = 0  # bytes from the last whole member's end on, when not gzip

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The bytes ``chunk`` decompresses to; raises :class:`CorruptGzip` on corrupt data."""
        if self._held:
            chunk, self._held = self._held + chunk, b""
        while chunk:
            if self._members and not self._started:  # where a next member would start
                if self._garbage:
                    self._garbage += len(chunk)
                    return
                rest = chunk.lstrip(b"\0")
                self._gap += len(chunk) - len(rest)
                if rest == GZIP_MAGIC[:1]:
                    self._held = rest
                    return
                if rest and not rest.startswith(GZIP_MAGIC):
                    self._garbage = self._gap + len(rest)
                    return
                chunk = rest
                if not chunk:
                    return
            self._started = True
            yield from self._decoded(chunk)
            if not self._d.eof:
                return
            rest = self._d.unused_data  # a member ended: the rest starts the next one
            self._d = isal_zlib.decompressobj(wbits=31)
            self._started = False
            self._members += 1
            self._gap = 0
            self._member_out = self.produced
            chunk = rest

    def _decoded(self, chunk: bytes) -> Iterator[bytes]:
        """What ``chunk`` decodes to, in pieces of at most ``PIECE_BYTES``."""
        d = self._d
        while True:
            try:
                out = d.decompress(chunk, PIECE_BYTES)
            except isal_zlib.error as exc:
                detail = str(exc)
                checksum = "checksum" in detail.lower()
                raise CorruptGzip(detail, self._member_out, checksum) from None
            chunk = d.unconsumed_tail
            self.produced += len(out)
            if out:
                yield out
            if d.eof or (not chunk and len(out) < PIECE_BYTES):
                return  # (a full piece may leave output to come with no input left)

    @property
    def truncated(self) -> bool:
        """Whether the bytes fed so far end inside a member."""
        return self._started and not self._d.eof

    @property
    def trailing_garbage(self) -> int:
        """Bytes after the last whole member that are neither NUL padding nor a member (0:
        none); NUL bytes before them count too. A lone ``\\x1f`` at the very end is one."""
        if self._garbage:
            return self._garbage
        return self._gap + len(self._held) if self._held else 0


def other_compression(head: bytes, inside_gzip: bool = False) -> str | None:
    """The quarantine reason for a file that starts with ``head`` when that is another
    compression's magic (bzip2, xz, zstd, lz4, Snappy, compress, zip, 7z): the whole file is
    one entry. None for anything else (gzip, text). ``inside_gzip``: ``head`` is what a gzip
    file decompressed to."""
    for magic, name, tool in _COMPRESSIONS:
        if magic.match(head):
            if inside_gzip:
                return (
                    f"gzip holding {name}-compressed data: decompress both (gunzip, then "
                    f"{tool}) or re-compress the text with gzip alone"
                )
            return (
                f"compressed with {name}, not gzip: decompress it ({tool}) or re-compress it "
                "with gzip"
            )
    for magic, name, tool in _ARCHIVES:
        if magic.match(head):
            if inside_gzip:
                return f"gzip holding a {name} archive: gunzip it, then unpack it ({tool})"
            return f"a {name} archive, not gzip: unpack it ({tool}) and read the files it gives"
    return None


def gunzip_lines(
    chunks: Iterable[bytes],
    gz: bool | None = None,
    inner: bool = False,
    scratch: str | None = None,
    most: int | None = None,
) -> Decoded:
    """Decompress (multi-member gzip, streamed); ``Decoded.lines``/``views`` give the lines.

    ``gz=None`` tells gzip by its magic bytes, so a gzipped file without the suffix and a
    ``.gz`` name holding plain text (a download tool already decompressed it) both read
    right. A file another tool compressed (bzip2, xz, zstd, zip, ...: ``other_compression``)
    is one ``error`` naming the format, and no line: its bytes after the first are not read.
    A truncated stream keeps every complete line decoded before the cut; the partial
    line at the cut is reported via ``truncated`` rather than parsed. A corrupt stream keeps
    the lines of the members before the damaged one (``GzipStream``) and reports the rest as
    one ``error``: ``corrupt gzip (...)``. NUL padding after the last member is ignored; other
    bytes after it keep every line and are one ``error`` that says how many bytes were not
    read. Gzip that holds gzip (a Firehose stream that compresses with GZIP what a CloudWatch
    Logs subscription already gzipped) is decompressed once more (``inner``: that second
    time); gzip holding another compression is one ``error`` naming it.

    Whatever the gzip trailer says, text past ``large_text.HELD_TEXT_BYTES`` goes on to a
    scratch copy in the folder ``scratch`` (None: the system's temporary folder), read a
    line at a time (``Decoded.text``); writing it fails as ``large_text.ScratchCopyError``.
    ``most``: gzip that decompresses to more bytes than that (inside gzip too) is not read
    on past them (``large_text.TextTooLarge``).
    """
    chunks = iter(chunks)
    head = b""
    if gz is None:
        for chunk in chunks:
            head += chunk
            if len(head) >= MAGIC_BYTES:
                break
        gz = head.startswith(GZIP_MAGIC)
        if not gz and (other := other_compression(head)) is not None:
            return Decoded(error=other)
        chunks = itertools.chain([head], chunks)
    if not gz:
        return Decoded(b"".join(chunks))
    stream = GzipStream()
    sink = TextSink(scratch, most)
    corrupt = None
    try:
        for chunk in chunks:
            for piece in stream.feed(chunk):
                sink.add(piece)
    except CorruptGzip as exc:
        corrupt = exc
    except BaseException:  # a read error, an interrupt: no scratch copy kept open
        sink.close()
        raise
    try:
        nested = None if inner else _nested(sink, corrupt, scratch, most)
    except BaseException:
        sink.close()
        raise
    if nested is not None:
        sink.close()
        return _with_outer_damage(nested, stream, corrupt)
    if corrupt is not None:
        return _kept(sink, corrupt.checked, error=corrupt_reason(corrupt))
    if stream.truncated:
        return _kept(sink, sink.size, truncated=True)
    if stream.trailing_garbage:
        n = stream.trailing_garbage
        return _kept(sink, None, error=trailing_garbage_reason(n), trailing_bytes=n)
    return _kept(sink, None)


def _kept(sink: TextSink, complete_before: int | None, **found: Any) -> Decoded:
    """The text ``sink`` holds: with ``complete_before``, the complete lines of its first
    that many bytes (``_complete_lines``), else all of it. Text on disk stays there; UTF-16
    or UTF-32 text there (whose line breaks are more than a ``0A`` byte) is decoded to a
    UTF-8 copy first (:func:`utf8_from_wide`)."""
    if sink.on_disk:
        if (wide := wide_encoding(sink.head(4))) is not None:
            stop = sink.size if complete_before is None else complete_before
            try:
                return utf8_from_wide(
                    sink.chunks(stop), wide, sink.folder, complete_before is not None, **found
                )
            finally:
                sink.close()
        if complete_before is not None:
            sink.cut_to_complete_lines(complete_before)
        return Decoded(text=sink.text(), **found)
    data = sink.held(complete_before)
    sink.close()
    return Decoded(data if complete_before is None else _complete_lines(data), **found)


def utf8_from_wide(
    blocks: Iterable[bytes],
    wide: tuple[str, str],
    folder: str | None,
    cut: bool = False,
    **found: Any,
) -> Decoded:
    """UTF-16 or UTF-32 text (``blocks`` of it, its byte-order mark first; ``wide``: as
    :func:`wide_encoding` names it) decoded to UTF-8 a block at a time, held up to
    ``large_text.HELD_TEXT_BYTES`` and past that in a scratch copy in ``folder``, as
    decompressed text is: decoded whole, a 606 MB UTF-16 file took a worker to 1.2 GB.

    The copy starts with UTF-8's byte-order mark, where the text had its own, and is read as
    such text is (the mark is no text). ``cut``: the text's end was cut off (a truncated or
    damaged gzip stream), so only its complete lines are kept, as ``_complete_lines`` keeps
    them (a character cut in two at the end is no error). Text that does not decode as its
    mark says is the file's one entry, as read whole; ``found``: the entries of how its
    bytes were read (``truncated``, ``error``, ``trailing_bytes``).
    """
    codec, name = wide
    decoder = codecs.getincrementaldecoder(codec)()
    sink = TextSink(folder, holds=name)
    try:
        sink.add(UTF8_BOM)
        for block in blocks:
            sink.add(decoder.decode(block).encode())
        if not cut:
            sink.add(decoder.decode(b"", final=True).encode())
    except UnicodeError:  # odd length, a lone surrogate: not the text its mark says
        sink.close()
        error = found.get("error") or not_wide_text(name)
        return Decoded(error=error, truncated=found.get("truncated", False))
    except BaseException:
        sink.close()
        raise
    return _kept(sink, sink.size if cut else None, **found)


def not_wide_text(name: str) -> str:
    """The entry of a file whose byte-order mark says UTF-16 or UTF-32 (``name``) and whose
    bytes are not that text."""
    return f"not UTF-8 ({name} text that does not decode as {name}): re-save it as UTF-8"


def _nested(
    sink: TextSink, corrupt: CorruptGzip | None, scratch: str | None, most: int | None
) -> Decoded | None:
    """What gzip-decompressed text (``sink``'s) holds when it is compressed again: gzip
    (decompressed too, streamed as the outer stream was) or another compression (one error);
    None for text."""
    usable = sink.size if corrupt is None else corrupt.checked
    head = sink.head(min(MAGIC_BYTES, usable))
    if head.startswith(GZIP_MAGIC):
        return gunzip_lines(sink.chunks(usable), gz=True, inner=True, scratch=scratch, most=most)
    other = other_compression(head, inside_gzip=True)
    return None if other is None else Decoded(error=other)


def _with_outer_damage(nested: Decoded, stream: GzipStream, corrupt: CorruptGzip | None) -> Decoded:
    """``nested`` (see :func:`_nested`) with the outer stream's own damage: its lines, and one
    entry for the outer cut, corruption or trailing bytes (their cut leaves the inner stream
    cut too). Another compression inside stays its one entry, the file unread either way."""
    if nested.error is not None and not nested.data and nested.text is None:
        return nested
    lines = {"data": nested.data, "text": nested.text}
    if corrupt is not None:
        return Decoded(**lines, error=corrupt_reason(corrupt))
    if stream.truncated:
        return Decoded(**lines, truncated=True)
    if stream.trailing_garbage:
        n = stream.trailing_garbage
        return Decoded(**lines, error=trailing_garbage_reason(n), trailing_bytes=n)
    return nested


# UTF-16 and UTF-32 text, told by its byte-order mark (PowerShell 5's ``>`` writes UTF-16):
# decoded to UTF-8. UTF-32's little-endian mark starts like UTF-16's, so it goes first.
_WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


def wide_encoding(head: bytes) -> tuple[str, str] | None:
    """``(codec, name)`` when ``head`` starts with a UTF-16 or UTF-32 byte-order mark."""
    for bom, codec, name in _WIDE_BOMS:
        if head.startswith(bom):
            return codec, name
    return None


def _complete_lines(data: bytes) -> bytes:
    """``data`` up to its last line break: a line cut off at the end is not a record.

    UTF-16 and UTF-32 text is cut at its last decoded line break: its newline is not the
    byte ``0A`` alone (UTF-16-BE writes ``00 0A``; ``0A`` occurs inside other characters).
    """
    wide = wide_encoding(data)
    if wide is not None:
        codec = wide[0]
        unit = 4 if codec == "utf-32" else 2
        whole = data[: len(data) - len(data) % unit]
        for kept in (whole, whole[:-unit]):  # the cut may split a surrogate pair
            try:
                text = kept.decode(codec)
            except UnicodeDecodeError:
                continue
            return text.rpartition("\n")[0].encode(codec) if "\n" in text else b""
        return data  # not the text its mark says: the file's own entry will say so
    return data.rpartition(b"\n")[0] if b"\n" in data else b""


def corrupt_reason(exc: CorruptGzip) -> str:
    """The quarantine reason; the entry's line (one past the last line kept) says where."""
    if exc.checksum:
        return (
            f"corrupt gzip ({exc.detail}: a member decodes but fails the gzip check, so none "
            "of its lines is used)"
        )
    return f"corrupt gzip ({exc.detail}: none of the damaged member's lines is used)"


def trailing_garbage_reason(n: int) -> str:
    """The quarantine reason for ``n`` bytes after the last whole member that are not gzip."""
    what = (
        "1 byte after the last whole member is"
        if n == 1
        else f"{n:,} bytes after the last whole member are"
    )
    return (
        f"corrupt gzip (trailing bytes: every line of the whole members was read; only the "
        f"{what} not gzip and unread)"
    )


def record_after_timestamp(line: bytes | memoryview) -> Any | None:
    """The JSON object after a leading timestamp (``2025-06-02T11:01:00.123Z {...}``), as
    CloudWatch Logs export tasks write events; None when the line is not of that form."""
    data = bytes(line)
    prefix = _TIMESTAMP_PREFIX.match(data)
    if prefix is None:
        return None
    try:
        rec = orjson.loads(data[prefix.end() :])
    except orjson.JSONDecodeError:
        return record_with_lone_surrogates(data[prefix.end() :])
    return rec if isinstance(rec, dict) else None


def is_setup_notice(line: bytes | memoryview) -> bool:
    """Whether ``line`` is exactly :data:`SETUP_NOTICE` (white space around it aside), as
    an event's message or as an export task writes it (its timestamp, white space, the
    notice). Asked of lines that did not parse as JSON only: a record never reads as it."""
    data = bytes(line).strip()
    if not data.endswith(SETUP_NOTICE):
        return False
    rest = len(data) - len(SETUP_NOTICE)
    if rest == 0:
        return True
    stamp = _STAMP_PREFIX.match(data)
    return stamp is not None and stamp.end() == rest


# a JSON string escape that is an escaped backslash, a surrogate pair, or one surrogate alone
_SURROGATE_ESCAPE = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def _keep_or_replace(match: re.Match[bytes]) -> bytes:
    escape = match.group()
    return escape if len(escape) != 6 else rb"\ufffd"


def record_with_lone_surrogates(line: bytes | memoryview) -> Any | None:
    """The record of a line whose only fault is a lone UTF-16 surrogate escape (``\\ud83d``
    with no low half: a client cut an emoji in two), read with U+FFFD in its place, as a
    UTF-8 decoder reads a broken character. orjson refuses such a line whole; Python's json
    reads it, but the string could not be written as UTF-8. None when the line is not that.
    """
    data = bytes(line)
    if b"\\ud" not in data and b"\\uD" not in data:
        return None
    try:
        rec = orjson.loads(_SURROGATE_ESCAPE.sub(_keep_or_replace, data))
    except orjson.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


def may_read_as_record(head: bytes) -> bool:
    """Whether a line that starts with ``head`` and goes on past it may still read as a
    record, as a worker reads lines (JSON, after an export task's timestamp, or with lone
    surrogates replaced): it may unless reading ``head`` fails before its end, where the rest
    of the line cannot help. ``head`` ends at a character's end."""
    if not head.strip():
        return True
    if (prefix := _TIMESTAMP_PREFIX.match(head)) is not None:
        head = head[prefix.end() :]
    for text in (head, _SURROGATE_ESCAPE.sub(_keep_or_replace, head)):
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError as exc:  # its position counts characters, not bytes
            if exc.pos >= len(text.decode("utf-8", "replace")):
                return True  # it ran out of text: more may complete it
        else:
            return True  # a whole value: only white space may follow it
    return False
