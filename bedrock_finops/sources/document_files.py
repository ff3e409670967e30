"""Log files that are not NDJSON: JSON arrays, pretty-printed records back to back,
CloudWatch Logs envelopes and UTF-16/UTF-32 text, turned into one line per record.

:func:`as_ndjson` takes a decoded file and, when it holds JSON documents rather than lines,
reads them: in one pass when the file parses, else one record at a time
(``_DocumentWalk``), keeping every record that reads and quarantining each damaged stretch
with where and why (``Decoded.damaged``).
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from bedrock_finops.sources import large_text
from bedrock_finops.sources.large_text import UTF8_BOM, LineSink
from bedrock_finops.sources.log_decoding import Decoded, not_wide_text, wide_encoding

# how a file that is JSON documents rather than NDJSON starts: an array, a pretty-printed
# object, or a CloudWatch Logs envelope (``aws logs filter-log-events`` output; subscription
# payloads as Firehose delivers them)
_DOCUMENT_STARTS = (b"[", b"{\n", b"{\r\n", b'{"messageType"', b'{"events"', b'{"logEvents"')
_EVENT_LISTS = ("logEvents", "events")
_NOT_WHITE = re.compile(rb"[^ \t\n\r\x0b\x0c]")  # white space: what ``bytes.strip`` strips
EXCERPT_BYTES = 1000  # of a damaged stretch, kept as its line (the quarantine shows 200 chars)


def as_ndjson(decoded: Decoded, cut: bool = False) -> Decoded:
    """Bedrock's NDJSON as it is; a file of other JSON shapes as one line per record.

    ``cut``: the text was cut short before it reached here (an expanded gzip file's damaged
    or cut end, which its unit reports): a record the end cuts off is then not an entry of
    its own, as when the gzip is read whole.

    AWS writes one record per line. Files people make by hand or with other tools may
    instead start with a UTF-8 byte-order mark, be UTF-16 or UTF-32 text with a byte-order
    mark (decoded to UTF-8; one ``not UTF-8 (...)`` entry when it does not decode), hold a
    JSON array of records or a pretty-printed record, or hold CloudWatch Logs envelopes
    (``{"events": [...]}`` from ``aws logs filter-log-events``; ``{"messageType": ...,
    "logEvents": [...]}`` back to back, as a subscription delivers them through Firehose),
    whose ``message`` is the record. Such a file becomes one line per record, so quarantine
    ``line`` numbers count records in it; envelopes of ``CONTROL_MESSAGE`` type are health
    checks, not records: they are left out and counted (``control_messages``). A document
    file with damage keeps every record that reads; each damaged stretch is one line of its
    own, quarantined with its reason (``Decoded.damaged``; see :func:`json_document_lines`).
    """
    data = decoded.data
    if data.startswith(UTF8_BOM):
        data = decoded.data = data[len(UTF8_BOM) :]
    elif (wide := wide_encoding(data)) is not None:
        codec, name = wide
        try:
            data = decoded.data = data.decode(codec).encode()
        except UnicodeError:  # odd length, a lone surrogate: not the text its mark says
            reason = not_wide_text(name)
            return Decoded(error=decoded.error or reason, truncated=decoded.truncated)
    if not looks_like_documents(data):
        return decoded
    cut = cut or decoded.truncated or decoded.error is not None
    out = json_document_lines(data, cut)
    out.truncated, out.error = decoded.truncated, decoded.error
    return out


def documents_on_disk(decoded: Decoded, cut: bool, folder: str | None) -> Decoded:
    """:func:`as_ndjson` of a file of JSON documents whose text is on disk
    (``decoded.text``: over ``large_text.HELD_TEXT_BYTES``), without holding it whole.

    It is read a document at a time (an array's element at a time), from the text decoded a
    block at a time, its records' lines kept as they are made, in memory up to
    ``HELD_TEXT_BYTES`` of them and past that in a scratch copy in ``folder``
    (:class:`large_text.LineSink`): the lines a file that parses gives (``_parsed_lines``).
    Held whole, a 300 MB array took a worker to 0.9 GB. A file that does not read so (its
    damage, or a document longer than ``large_text.LONG_LINE_BYTES``: an envelope of a
    whole export) is read whole after all, as a smaller one is, by the walk that keeps
    every record that reads.
    """
    assert decoded.text is not None
    lines = LineSink(folder)
    try:
        control = _streamed_documents(_Window(decoded.text.blocks()), lines.add)
    except _NotStreamed:
        control = None  # (read whole below, once the text read so far is let go)
    except BaseException:
        lines.close()
        raise
    if control is None:
        lines.close()
        return as_ndjson(decoded.held(), cut)
    out = Decoded(events=lines.lines(), control_messages=control)
    out.truncated, out.error = decoded.truncated, decoded.error
    return out


class _NotStreamed(Exception):
    """A file of documents that does not read a document at a time (:func:`_parsed_lines`
    would give None, or a document is too long to hold): it is read whole."""


class _Window:
    """The text of a file of documents from the value being read on, decoded (strict UTF-8)
    from ``blocks`` as reading needs more; ``pos``: where reading is, in ``text``."""

    def __init__(self, blocks: Iterator[bytes]) -> None:
        self._blocks = blocks
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self._ended = False

    def _read_on(self) -> bool:
        """Let go of the text before ``pos`` and decode on, at least as much again as is
        left (a long value is tried a few times, not once a block); False at the text's end.
        Raises :class:`_NotStreamed` for bytes that are not UTF-8, or for a value that runs
        past ``large_text.LONG_LINE_BYTES``."""
        if self._ended:
            return False
        left = self.text[self.pos :]
        if len(left) > large_text.LONG_LINE_BYTES:
            raise _NotStreamed
        pieces, got = [left], 0
        try:
            while got <= len(left):
                block = next(self._blocks, None)
                if block is None:
                    pieces.append(self._decoder.decode(b"", final=True))
                    self._ended = True
                    break
                pieces.append(self._decoder.decode(block))
                got += len(pieces[-1])
        except UnicodeDecodeError:
            raise _NotStreamed from None
        self.text, self.pos = "".join(pieces), 0
        return True

    def next_char(self) -> str:
        """The character at ``pos`` once white space is skipped (``pos`` moved to it); ""
        at the end of the text."""
        while True:
            self.pos = _skip_white(self.text, self.pos)
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._read_on():
                return ""

    def value(self) -> Any:
        """The JSON value at ``pos`` (``pos`` moved past it), as ``_DECODER.raw_decode``
        reads it from the whole text: read on while the text held may end inside it (or a
        number at its end may go on). :class:`_NotStreamed` where it does not read."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except (_NonFinite, RecursionError):  # as with the whole text: no more to read
                raise _NotStreamed from None
            except ValueError:
                if self._read_on():
                    continue
                raise _NotStreamed from None
            if end == len(self.text) and self._read_on():
                continue
            self.pos = end
            return value


def _streamed_documents(window: _Window, add: Callable[[bytes], None]) -> int:
    """``add`` each line of the documents in ``window``, as :func:`_parsed_lines` makes
    them; the control messages among them. :class:`_NotStreamed` where it gives None."""
    control = 0
    while (char := window.next_char()) != "":
        if char == "[":
            _streamed_array(window, add)
            continue
        lines: list[bytes] = []
        added = _add_document(window.value(), lines)
        if added is None:
            raise _NotStreamed
        for line in lines:
            add(line)
        control += added
    return control


def _streamed_array(window: _Window, add: Callable[[bytes], None]) -> None:
    """``add`` the line of each element of the array at ``window.pos``, as
    :func:`_array_lines` does; ``window.pos`` moved past it."""
    window.pos += 1
    if window.next_char() == "]":
        window.pos += 1
        return
    while True:
        line = _line(window.value())
        if line is None:
            raise _NotStreamed
        add(line)
        char = window.next_char()
        window.pos += 1
        if char == "]":
            return
        if char != ",":
            raise _NotStreamed
        window.next_char()


def event_line(message: str) -> bytes:
    """A CloudWatch Logs event's message as a line, its UTF-8 byte-order mark (if any) left
    out as a file's is."""
    return message.removeprefix("\ufeff").encode()


def looks_like_documents(head: bytes) -> bool:
    """Whether a file starting with ``head`` holds JSON documents, not one record per line.

    It does when it starts as a document does (an array, a pretty-printed object, a
    CloudWatch Logs envelope) and does not read as NDJSON: an array whose first element is
    no object (``[]``, ``[1, 2]``) and that closes on its first line, with a record (``{``)
    on the lines after it, is NDJSON's first line (one line, quarantined as no record), not an
    array of none or of two records; followed by more arrays (``jq -c`` output whose first
    page was empty), the file is documents. An array of objects or an envelope on the first
    line stays a document, as in files of one-line documents one a line (arrays ``jq -c``
    writes, payloads a Firehose stream ends with line breaks). Only such an array's first
    line is parsed, once a file; ``head`` may be the whole file or its start (a first line
    longer than ``head`` reads as a document: the file is read whole, and decided again then).
    """
    start = _NOT_WHITE.search(head, len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0)
    if start is None or not head.startswith(_DOCUMENT_STARTS, pos := start.start()):
        return False
    element = _NOT_WHITE.search(head, pos + 1)
    if head[pos : pos + 1] != b"[" or element is None or head[element.start()] == ord("{"):
        return True  # a pretty-printed object, an envelope, an array of records
    end = _line_end(head, pos)
    following = None if end < 0 else _NOT_WHITE.search(head, end + 1)
    if following is None or head[following.start()] != ord("{"):
        return True  # one line (or more than ``head`` holds), or more arrays: documents
    try:
        orjson.loads(head[pos:end])
    except orjson.JSONDecodeError:
        return True  # "[" alone, pretty-printed, or an array across lines
    return False


def _line_end(data: bytes, pos: int) -> int:
    """Where the line at ``pos`` ends: its ``\\n`` or ``\\r``, as ``bytes.splitlines`` cuts
    (-1: it runs to the end). ``find`` rather than a regular expression: a JSON array on one
    line may be hundreds of MB."""
    newline = data.find(b"\n", pos)
    cr = data.find(b"\r", pos, len(data) if newline < 0 else newline)
    return cr if cr >= 0 else newline


class _NonFinite(ValueError):
    """NaN, Infinity or a number too large for a double: Python's json reads them, JSON has
    none (orjson refuses them, so an NDJSON line holding one is invalid JSON)."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _no_constant(token: str) -> Any:
    raise _NonFinite(token)


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _NonFinite(token)
    return value


# Python's json with JSON's own rules on numbers: a record orjson would refuse as NDJSON
# does not pass here either (orjson would write NaN back as null, read as an absent count)
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)
_DECODE_ERRORS = (ValueError, RecursionError)  # JSONDecodeError, _NonFinite; deep nesting
_WHITE = re.compile(r"[ \t\r\n]*")  # JSON's white space, as Python's json skips it


def json_document_lines(data: bytes, cut: bool = False) -> Decoded:
    """The records of a file of JSON documents as lines (``Decoded.events``).

    A file that parses is read in one pass (:func:`_parsed_lines`, the fast path). One that
    does not is walked a record at a time (:class:`_DocumentWalk`): every record that reads is
    kept, and each damaged stretch becomes one line of its own, quarantined with its reason
    (``Decoded.damaged``). ``cut``: ``data`` is what a truncated or corrupt gzip stream kept,
    whose own entry stands for a record cut off at its end.
    """
    parsed = _parsed_lines(data)
    if parsed is not None:
        return parsed
    return _DocumentWalk(_Text(data, "utf-8", "surrogateescape"), cut).run()


def _parsed_lines(data: bytes) -> Decoded | None:
    """The lines of the JSON documents ``data`` holds back to back (white space between);
    None if one does not read (not UTF-8, invalid JSON, a non-finite number, nested too deep
    to read or to write back): the walk then says which and where.

    An array's elements are written as lines one by one as they are read, each value let go
    before the next: the values of a whole array held at once took ~3.4 KB for each 800-byte
    record, several times the lines they become.
    """
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    lines: list[bytes] = []
    control = 0
    pos = _skip_white(text, 0)
    try:
        while pos < len(text):
            read = _array_lines if text[pos] == "[" else _document_lines
            done = read(text, pos, lines)
            if done is None:
                return None
            pos, added = done
            control += added
            pos = _skip_white(text, pos)
    except _DECODE_ERRORS:
        return None
    return Decoded(events=lines, control_messages=control)


def _document_lines(text: str, start: int, lines: list[bytes]) -> tuple[int, int] | None:
    """Append the lines of the document at ``start`` (an envelope's events, or the record):
    the position after it and the control messages it is (1 or 0); None when its record
    cannot be written back. Raises what Python's json raises where the document is not JSON.
    """
    doc, end = _DECODER.raw_decode(text, start)
    added = _add_document(doc, lines)
    return None if added is None else (end, added)


def _array_lines(text: str, start: int, lines: list[bytes]) -> tuple[int, int] | None:
    """Append a line for each element of the array at ``start``, as :func:`_document_lines`
    does for a document (a ``ValueError`` where Python's json would fail on the array)."""
    pos = _skip_white(text, start + 1)
    if text.startswith("]", pos):
        return pos + 1, 0
    while True:
        record, pos = _DECODER.raw_decode(text, pos)
        line = _line(record)
        if line is None:
            return None
        lines.append(line)
        pos = _skip_white(text, pos)
        if text.startswith("]", pos):
            return pos + 1, 0
        if not text.startswith(",", pos):
            raise ValueError(f"expected , or ] at {pos}")
        pos = _skip_white(text, pos + 1)


def _skip_white(text: str, pos: int) -> int:
    """The position of the first character from ``pos`` that is not JSON white space."""
    m = _WHITE.match(text, pos)
    return m.end() if m else pos


class _Text(str):
    """A damaged file's text, whose newlines before a position are counted on from the last
    position asked rather than from the start.

    Each failed ``raw_decode`` raises a ``json.JSONDecodeError``, which counts the newlines
    from the start of the text to the error for its line number: a damaged record, and each
    place tried after it, cost a pass over everything before it (100 MB with 5% of its
    records damaged took 15 s, quadratic in the size). The walk moves forward, so counting
    on from the last position makes the passes add up to one.
    """

    _at = 0  # a position and the newlines before it, to count on from
    _newlines = 0

    def count(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
        if sub != "\n" or start not in (None, 0) or type(end) is not int or end < 0:
            return str.count(self, sub, start, end)
        at, n = self._at, self._newlines
        if end >= at:
            n += str.count(self, "\n", at, end)
        elif at - end < end:  # behind: count back, or afresh when that is the shorter way
            n -= str.count(self, "\n", end, at)
        else:
            n = str.count(self, "\n", 0, end)
        self._at, self._newlines = end, n
        return n


def _add_document(doc: Any, lines: list[bytes]) -> int | None:
    """Append a top-level document's records (an envelope's events, an array's elements, or
    the record). Returns the control messages it is (1 or 0), None when a record cannot be
    written back (nested too deep)."""
    events = _envelope_events(doc)
    if events is not None:
        lines.extend(events)
        return int(doc.get("messageType") == "CONTROL_MESSAGE")
    for record in doc if isinstance(doc, list) else (doc,):
        line = _line(record)
        if line is None:
            return None
        lines.append(line)
    return 0


def _line(record: Any) -> bytes | None:
    """``record`` as one line of JSON; None when it is nested too deep to write, or to read
    again: deeper than orjson reads (1,024 levels), which Python 3.12+'s json module writes
    where 3.11's stops, so the reason is the same on every Python."""
    try:
        return _exact_size(orjson.dumps(record))
    except orjson.JSONEncodeError:  # an integer wider than 64 bits, deep nesting: json decides
        try:
            line = json.dumps(record).encode()
        except RecursionError:
            return None
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if is_depth_error(exc):
            return None
    return line


def _exact_size(line: bytes) -> bytes:
    """A copy of ``line`` in memory of its own size, for a line kept with many others.

    The bytes ``orjson.dumps`` returns keep the block it wrote them in: at least ~4 KB each,
    whatever their length (8 KB for an 800-byte record), so a file's list of them held ~4 KB
    for each element of a JSON array, 1.3 GB for 300,000 ``1``s. The copy holds its length.
    """
    return bytes(memoryview(line))


def is_depth_error(exc: orjson.JSONDecodeError) -> bool:
    """Whether orjson refused a document for its nesting depth (not for bad JSON)."""
    return str(exc).startswith("depth limit exceeded")


def _envelope_events(doc: Any) -> list[bytes] | None:
    """The messages of a CloudWatch Logs envelope, as lines; None if ``doc`` is not one."""
    if not isinstance(doc, dict) or "requestId" in doc:
        return None
    for key in _EVENT_LISTS:
        events = doc.get(key)
        if isinstance(events, list) and all(
            isinstance(e, dict) and isinstance(e.get("message"), str) for e in events
        ):
            if doc.get("messageType") == "CONTROL_MESSAGE":
                return []
            return [event_line(e["message"]) for e in events]
    return None


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKET_OR_QUOTE = re.compile(r'["\[\]{}]')
_SCALAR_END = re.compile(r'[\s,:\[\]{}"]')
_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as surrogateescape reads them
_CLOSER = {"[": "]", "{": "}"}
# where a record may start again after damage: an object opening with a key, at the start of
# a line or after a bracket or comma
_RECORD_START = re.compile(r'(?:^|[\[\]{},])[ \t\r\n]*(\{)[ \t\r\n]*"', re.M)
_EXTRA_BRACES = re.compile(r"\}(?:[ \t\r\n]*\})*")  # closing braces between records


def _scalar_end(text: str, start: int) -> tuple[int | None, bool]:
    """Where a string or a bad token at ``start`` ends, as :meth:`_ValueEnds.__call__` says."""
    if text[start] == '"':
        m = _STRING.match(text, start)
        return (m.end(), False) if m else (None, True)
    m = _SCALAR_END.search(text, start + 1)  # a bad token: up to the next white space or structure
    return (m.start() if m else len(text)), False


def _braces_end(text: str, start: int) -> int:
    """Where the closing braces at ``start`` (white space between them) end."""
    m = _EXTRA_BRACES.match(text, start)
    return m.end() if m else start


_RAN_OUT = (None, True)
_MISMATCH = (None, False)
# a value that closes this far from its bracket is remembered, to be stepped over: a near one
# costs less to walk again than to keep for every bracket in the file
_FAR = 4096


class _ValueEnds:
    """Where the values of one text end by their brackets and strings alone, whatever is wrong
    inside them (a bad token, NaN, deep nesting), for a walk that asks at one damaged record
    after another.

    A damaged record whose brackets never close (cut short, its closing brace lost) is walked
    to the end of the text or to a bracket that does not match. Walked afresh for each damaged
    record, the text after the first was walked again for every one after it (a 3 MB array
    with one record in 20 cut took 18 s, quadratic in its size). What a bracket's value does
    is the same whichever walk meets it, so each walk leaves behind what it found: that every
    bracket still open where it stopped never closes (the text ran out, or a bracket did not
    match), and where each value that closed far from its bracket ends. A later walk that
    meets such a bracket stops there too, or steps over the value: the text is walked about
    once whatever the damage (twice where a cut inside a string swaps what is string and what
    is not from there on).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.known: dict[int, tuple[int | None, bool]] = {}  # by a bracket's position

    def __call__(self, start: int) -> tuple[int | None, bool]:
        """Where the value at ``start`` ends, and whether the text ran out first.

        ``(None, True)``: the text ends inside it; ``(None, False)``: a bracket that does not
        match (the damage is in the structure itself).
        """
        if self.text[start] not in _CLOSER:
            return _scalar_end(self.text, start)
        return self.known.get(start) or self._walk(start)

    def _walk(self, start: int) -> tuple[int | None, bool]:
        """Walk the value at ``start`` bracket by bracket, stepping over values walked before."""
        text = self.text
        opened: list[int] = []  # the brackets open, innermost last
        pos = start
        while (m := _BRACKET_OR_QUOTE.search(text, pos)) is not None:
            at = m.start()
            char = text[at]
            if char == '"':
                s = _STRING.match(text, at)
                if s is None:
                    return self._never_close(opened, _RAN_OUT)
                pos = s.end()
            elif char in _CLOSER:
                known = self.known.get(at)
                if known is None:
                    opened.append(at)
                    pos = at + 1
                elif known[0] is None:  # it never closes, so neither do the values around it
                    return self._never_close([*opened, at], known)
                else:
                    pos = known[0]  # step over a value already walked
            else:
                opener = opened.pop()
                if _CLOSER[text[opener]] != char:
                    return self._never_close([*opened, opener], _MISMATCH)
                if at - opener >= _FAR:
                    self.known[opener] = (at + 1, False)
                if not opened:
                    return at + 1, False
                pos = at + 1
        return self._never_close(opened, _RAN_OUT)

    def _never_close(
        self, opened: list[int], why: tuple[int | None, bool]
    ) -> tuple[int | None, bool]:
        """Remember that the values ``opened`` never close, for ``why``; ``why``."""
        self.known.update(dict.fromkeys(opened, why))
        return why


def _looks_like_a_record(doc: Any) -> bool:
    """Whether ``doc`` is where a record (or an envelope of them) starts, not a part of one."""
    return isinstance(doc, dict) and (
        "requestId" in doc or "schemaType" in doc or _envelope_events(doc) is not None
    )


class _DocumentWalk:
    """A file of JSON documents that does not parse, read a record at a time.

    Arrays are walked element by element (``json.JSONDecoder.raw_decode``), other documents
    one by one. A record that does not read is one damaged stretch: up to where its brackets
    close when the text after them goes on as it should, else up to the next point where a
    record reads again (an object with a ``requestId`` or ``schemaType``, or an envelope);
    the stretch is one line, quarantined with what was wrong and where. A trailing, missing
    or extra comma, closing braces between records and an array the file ends in are one
    such line each, and lose no record.
    """

    def __init__(self, text: str, cut: bool) -> None:
        self.text = text
        self.end = len(text)
        self.cut = cut
        self.not_utf8 = _NOT_UTF8.search(text) is not None
        self.value_end = _ValueEnds(text)
        self.lines: list[bytes] = []
        self.damaged: dict[int, str] = {}
        self.records = 0  # records (array elements, documents) met so far, damaged ones too
        self.control = 0
        self.ran_out = False  # a damaged stretch ran to the end of the text
        self._counted = (0, 1)  # a position and its line number, to count on from

    def run(self) -> Decoded:
        pos = self._white(0)
        while pos < self.end:
            if self.text[pos] == "[":
                pos = self._array(pos)
            elif self.text[pos] == "}":
                pos = self._extra_braces(pos, False, self.records == 0)
            else:
                pos, _ = self._record(pos, False)
            pos = self._white(pos)
        return Decoded(
            events=self.lines, control_messages=self.control, damaged=self.damaged or None
        )

    def _white(self, pos: int) -> int:
        return _skip_white(self.text, pos)

    def _array(self, start: int) -> int:
        """Read the array at ``start``; the position after it."""
        text = self.text
        pos = self._white(start + 1)
        comma = None  # where the comma after the last record is, if one came
        first = self.records  # records before the array
        separator = False  # a comma (or the closing bracket) is what should come next
        while True:
            if pos >= self.end:
                if not (self.cut or self.ran_out):
                    after = f"record {self.records}" if self.records > first else "its ["
                    self._damage(
                        pos,
                        pos,
                        "invalid JSON",
                        f"the file ends inside the array after {after}, line "
                        f"{self._line_of(pos - 1)}",
                        array=True,
                        where=False,
                    )
                return pos
            char = text[pos]
            if char == "]" and self._goes_on(pos + 1, False):
                if comma is not None:
                    self._comma(comma, pos + 1, "trailing")
                return pos + 1
            if char == ",":
                if separator:
                    comma, separator = pos, False
                else:  # ",," or "[,": no record lost
                    self._comma(pos, pos + 1, "extra", self.records == first)
                pos = self._white(pos + 1)
                continue
            if char == "}":  # a brace no record opened: no record lost, a separator may follow
                pos = self._white(self._extra_braces(pos, True, self.records == first))
                continue
            if separator:  # two records with no comma between: say so, read on
                self._comma(pos, self.end, "missing")
            pos, separator = self._record(pos, True)
            comma = None
            pos = self._white(pos)

    def _comma(self, start: int, end: int, what: str, opening: bool = False) -> None:
        """A trailing, extra or missing comma: a line of its own, no record lost."""
        after = "the array's [" if opening else f"record {self.records}"
        self._damage(
            start,
            end,
            "invalid JSON",
            f"{what} comma after {after}, line {self._line_of(start)}",
            array=True,
            where=False,
        )

    def _extra_braces(self, start: int, array: bool, opening: bool) -> int:
        """Closing braces between records (a record's last brace doubled, one left over from
        an edit): a line of their own, no record lost; the position after them."""
        end = _braces_end(self.text, start)
        braces = self.text.count("}", start, end)
        what = "extra }" if braces == 1 else f"{braces} extra }}"
        if not opening:
            place = f"after record {self.records}"
        else:
            place = "after the array's [" if array else "before record 1"
        detail = f"{what} {place}, {self._lines(start, end)}"
        self._damage(start, end, "invalid JSON", detail, array, where=False)
        return end

    def _record(self, start: int, array: bool) -> tuple[int, bool]:
        """Read the record (or document) at ``start``: the position after it, and whether a
        separator should come next (False: it is a record found again after damage)."""
        text = self.text
        try:
            doc, end = _DECODER.raw_decode(text, start)
        except _DECODE_ERRORS as exc:
            return self._recover(start, exc, array)
        if self.not_utf8 and _NOT_UTF8.search(text, start, end):
            self._damage(start, end, "invalid JSON", "bytes that are not UTF-8", array)
            return end, True
        before = len(self.lines)
        control = _add_document([doc] if array else doc, self.lines)
        if control is None:
            del self.lines[before:]
            self._damage(start, end, "nested too deep to read", None, array)
        else:
            self.records += 1
            self.control += control
        return end, True

    def _recover(self, start: int, exc: BaseException, array: bool) -> tuple[int, bool]:
        """One damaged stretch from ``start``: the position after it, as ``_record`` gives."""
        problem, detail = self._what_failed(exc, start)
        end, ran_out = self.value_end(start)
        if end is not None and self._goes_on(end, array):
            self._damage(start, end, problem, detail, array)
            return end, True
        again = self._find_record(start + 1, array)
        if again is None:  # nothing reads after it: the rest is one stretch
            self.ran_out = True  # so no entry for an array the file ends in, too
            if self.cut and ran_out:
                return self.end, True  # the gzip stream's own entry stands for it
            if ran_out and problem == "invalid JSON":
                detail = "cut off by the end of the file"
            self._damage(start, self.end, problem, detail, array)
            return self.end, True
        self._damage(start, again, problem, detail, array)
        return again, False

    def _goes_on(self, end: int, array: bool) -> bool:
        """Whether the text after a value ending at ``end`` goes on as a record's would.

        Between documents: the next document or the end. In an array: a comma and the next
        record (or the closing bracket), the array's end and the end of the text or the next
        document, or the next record with no comma. A value in a record is followed by a
        comma and a key, or by a bracket that closes the record: so where damage hid a
        record's structure, the end of a part of it is not taken for the end of the record.
        """
        text = self.text
        pos = self._white(end)
        if pos < self.end and text[pos] == "}":  # extra braces: what comes after them
            pos = self._white(_braces_end(text, pos))
        if pos >= self.end or text[pos] in "[{":
            return True
        if not array or text[pos] not in ",]":
            return False
        after = self._white(pos + 1)
        return after >= self.end or text[after] in ("[{]" if text[pos] == "," else "[{")

    def _find_record(self, start: int, array: bool) -> int | None:
        """The next place from ``start`` where a record reads and the text goes on after it.

        Only an object that starts a line or follows a bracket or comma, and opens with a key,
        is tried (an object that is a key's value cannot be a record): deep or long runs of
        brackets cost one pass, not one parse per bracket.
        """
        text = self.text
        pos = start
        while (m := _RECORD_START.search(text, pos)) is not None:
            pos = m.start(1)
            try:
                doc, end = _DECODER.raw_decode(text, pos)
            except _DECODE_ERRORS:
                pos += 1
                continue
            if _looks_like_a_record(doc) and self._goes_on(end, array):
                return pos
            pos += 1
        return None

    def _damage(
        self,
        start: int,
        end: int,
        problem: str,
        detail: str | None,
        array: bool,
        where: bool = True,
    ) -> None:
        """One damaged stretch ``start``..``end`` as a line of its own, with its reason."""
        shape = "a JSON-array file" if array else "a file of JSON documents"
        while end > start + 1 and self.text[end - 1] in " \t\r\n,":
            end -= 1  # up to the next record found: not the comma and white space before it
        if where:
            self.records += 1  # a damaged record (not a comma, not the array's end)
            place = f"record {self.records}, {self._lines(start, end)}"
            detail = f"{place}: {detail}" if detail else place
        self.damaged[len(self.lines)] = f"{problem} in {shape} ({detail})"
        stretch = self.text[start : min(end, start + EXCERPT_BYTES)]
        self.lines.append(stretch.encode("utf-8", "surrogateescape"))

    def _what_failed(self, exc: BaseException, start: int) -> tuple[str, str | None]:
        """A damaged record's problem, and what is wrong where (None: nothing to add)."""
        if isinstance(exc, RecursionError):
            return "nested too deep to read", None
        if isinstance(exc, json.JSONDecodeError):
            what = exc.msg.removesuffix(" at")  # "Invalid control character at"
            return "invalid JSON", f"{what} at line {exc.lineno} column {exc.colno}"
        if not isinstance(exc, _NonFinite):
            return "invalid JSON", str(exc)
        token = exc.token
        # where: the first time the token stands as a value (not inside a string)
        value = re.compile(r"[:,\[]\s*(" + re.escape(token) + r")(?![\w.])")
        m = value.search(self.text, start)
        at = ""
        if m is not None:
            pos = m.start(1)
            column = pos - self.text.rfind("\n", 0, pos)
            at = f" at line {self._line_of(pos)} column {column}"
        if token in ("NaN", "Infinity", "-Infinity"):
            what = f"non-finite number {token}{at}"
        else:
            what = f"number {token}{at} reads as infinite"
        return "invalid JSON", f"{what} (NaN and Infinity are not valid JSON)"

    def _lines(self, start: int, end: int) -> str:
        """The file's lines ``start``..``end`` spans: ``line 3`` or ``lines 3-9``."""
        first, last = self._line_of(start), self._line_of(max(start, end - 1))
        return f"line {first}" if first == last else f"lines {first}-{last}"

    def _line_of(self, pos: int) -> int:
        """The file's line number at ``pos`` (counted on from the last one asked)."""
        at, line = self._counted
        if pos < at:
            line -= self.text.count("\n", pos, at)
        else:
            line += self.text.count("\n", at, pos)
        self._counted = (pos, line)
        return line
