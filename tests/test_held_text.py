"""No more of a file's text is held whole in memory than ``large_text.HELD_TEXT_BYTES``,
whatever its gzip trailer says: past it, the text goes on to a scratch copy as it is
decompressed and is read from there a line at a time, with the rows, quarantine entries and
line numbers of reading it whole. A line over ``LONG_LINE_BYTES`` is not held either. The
limits are lowered here to a few KB, so the files stay small."""

from __future__ import annotations

import gzip
import json
import os
import random
import tracemalloc
import zlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_gzip_corrupt import BLOCK, HEADER, LINES, _flipped, _member

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.sources import file_ranges, large_text, log_decoding
from bedrock_finops.sources import invocation_logs as logs
from bedrock_finops.sources.large_text import TextOnDisk
from bedrock_finops.sources.log_decoding import LINE_TOO_LONG, GzipStream

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
RECORDS = [json.loads(line) for f in sorted(GOOD.glob("*.json")) for line in f.open() if line]


def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text over 5,000 bytes goes to a scratch copy; a file is read, its gzip decoded and the
    copy read 1 KB at a time (instead of 256 MB, 4 MiB, 16 MiB, 16 MiB). No file's trailer
    or size makes the listing expand it first: the reading alone holds the text."""
    monkeypatch.setattr(large_text, "HELD_TEXT_BYTES", 5_000)
    monkeypatch.setattr(logs, "FILE_CHUNK_BYTES", 1_024)
    monkeypatch.setattr(log_decoding, "PIECE_BYTES", 1_024)
    monkeypatch.setattr(large_text, "_BLOCK_BYTES", 1_024)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", 1 << 62)


def _bomb(size: int) -> bytes:
    """``size`` bytes of ``x`` and no line break, gzipped: ~1,000 times smaller."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([*(z.compress(b"x" * (1 << 20)) for _ in range(size >> 20)), z.flush()])


def _export(n: int, seed: int = 3) -> bytes:
    """``n`` lines of records with their own request IDs, a few not JSON, a few blank."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 37 == 5:
            out.append("{not json")
        elif i % 53 == 7:
            out.append("")
        else:
            out.append(json.dumps({**rng.choice(RECORDS), "requestId": f"r{i}"}))
    return ("\n".join(out) + "\n").encode()


def _ingest(folder: Path, out: Path):
    report = ingest_to_folder(folder, out, workers=1, progress=False)
    usage = pd.read_parquet(out / "usage.parquet")
    quarantine = pq.read_table(out / "quarantine.parquet").to_pylist()
    return report, usage, quarantine


def _folder(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, data in files.items():
        (folder / file).write_bytes(data)
    return folder


def test_the_gzip_decoder_gives_a_bomb_in_bounded_pieces():
    """33 KB that decompress to 32 MiB come out 16 MiB at a time, not in one piece."""
    data = _bomb(32 << 20)
    assert len(data) < 40_000
    pieces = [len(piece) for piece in GzipStream().feed(data)]
    assert sum(pieces) == 32 << 20
    assert max(pieces) == 16 << 20  # log_decoding.PIECE_BYTES


@pytest.mark.parametrize("nested", [False, True], ids=["gzip", "gzip in gzip"])
def test_a_gzip_bomb_is_never_held_whole(tmp_path, monkeypatch, nested):
    """4 MiB of ``x`` from 4 KB of gzip (or 200 bytes of gzip in gzip), no line break: read
    with a few KB in memory, its one line given as its first 100 bytes. They cannot start a
    record, so the line is ``invalid JSON``, as it is read whole."""
    small_limits(monkeypatch)
    monkeypatch.setattr(large_text, "LONG_LINE_BYTES", 5_000)
    monkeypatch.setattr(large_text, "LONG_LINE_HEAD", 100)
    data = _bomb(4 << 20)
    if nested:
        data = gzip.compress(data, mtime=0)
    path = tmp_path / "logs" / "bomb.json.gz"
    path.parent.mkdir()
    path.write_bytes(data)
    unit = logs.Unit("file", "bomb.json.gz", str(path), scratch=str(tmp_path))
    tracemalloc.start()
    try:
        decoded = logs.unit_lines(unit)
        lines = [bytes(line) for line in decoded.views()]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded.text is not None and decoded.data == b""
    assert lines == [b"x" * 100] and decoded.damaged == {}
    assert peak < 400_000  # (a gzip decoder's state is ~90 KB); held whole: 4 MiB and more
    report, usage, quarantine = _ingest(path.parent, tmp_path / "out")
    assert (report.lines_read, report.rows, report.quarantined) == (1, 0, 1)
    assert [(q["source"], q["line"], q["reason"], q["excerpt"]) for q in quarantine] == [
        ("bomb.json.gz", 1, "invalid JSON", "x" * 100)
    ]


def _hourly(text: bytes) -> bytes:
    """``text`` as ``cat`` of two gzip files: all but its last line, then that line."""
    most, last = text[:-1].rsplit(b"\n", 1)
    return gzip.compress(most + b"\n", mtime=0) + gzip.compress(last + b"\n", mtime=0)


def _cut(data: bytes) -> bytes:
    """``data`` cut short, as a download that broke off leaves it."""
    return data[: len(data) * 2 // 3]


TEXT = _export(60)
FIRST, SECOND = _member(LINES[:20]), _member(LINES[20:])
SHAPES = {
    "one member": gzip.compress(TEXT, mtime=0),
    "a small last member": _hourly(TEXT),  # its trailer says 1.3 KB of the file's 60
    "gzip in gzip": gzip.compress(gzip.compress(TEXT, mtime=0), mtime=0),
    "cut": _cut(gzip.compress(TEXT, mtime=0)),
    "cut gzip in gzip": _cut(gzip.compress(gzip.compress(TEXT, mtime=0), mtime=0)),
    "a damaged member": FIRST + _flipped(SECOND, HEADER + 10 * BLOCK + 1),
    "a failed check": FIRST + _flipped(SECOND, len(SECOND) - 8),  # its CRC-32
    "trailing bytes": _member(LINES) + b"\0\0tail",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_text_past_the_limit_is_read_from_a_scratch_copy_as_it_is_held(
    tmp_path, monkeypatch, shape
):
    """Files of every shape whose text passes the limit only as it is decompressed (no
    trailer says so): read from a scratch copy, they give what they give held whole, their
    damage the same entries, and the copy is gone after."""
    data = SHAPES[shape]
    whole = _ingest(_folder(tmp_path, "whole", {"h.json.gz": data}), tmp_path / "out-whole")
    small_limits(monkeypatch)
    folder = _folder(tmp_path, "copied", {"h.json.gz": data})
    assert not file_ranges.worth_expanding(folder / "h.json.gz", len(data))  # not by listing
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    unit = logs.Unit("file", "h.json.gz", str(folder / "h.json.gz"), scratch=str(scratch))
    assert logs.unit_lines(unit).text is not None
    copied = _ingest(folder, tmp_path / "out")
    for name in ("files_read", "lines_read", "rows", "quarantined", "duplicates"):
        assert getattr(copied[0], name) == getattr(whole[0], name)
    assert copied[0].lines_read == copied[0].rows + copied[0].quarantined + copied[0].duplicates
    pd.testing.assert_frame_equal(copied[1], whole[1])
    assert copied[2] == whole[2]
    assert whole[0].rows > 0 and list(scratch.iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "ingest_report.json",
        "prompts.parquet",
        "quarantine.parquet",
        "usage.parquet",
    ]  # fmt: skip


def test_a_line_too_long_to_read_is_one_entry_and_the_lines_after_it_are_read(
    tmp_path, monkeypatch
):
    """Over 5,000 bytes (for 256 MB): a record padded that long may be one, so it is
    ``line too long to read``; 9,000 bytes of ``x`` cannot, so they are ``invalid JSON``,
    as read whole. The records after each are read, with their own line numbers."""
    small_limits(monkeypatch)
    monkeypatch.setattr(large_text, "LONG_LINE_BYTES", 5_000)
    records = [json.dumps({**RECORDS[0], "requestId": f"r{i}"}).encode() for i in range(12)]
    padded = json.dumps({**RECORDS[0], "requestId": "long", "pad": "p" * 9_000}).encode()
    lines = [*records[:4], padded, *records[4:8], b"x" * 9_000, *records[8:]]
    text = b"\n".join(lines) + b"\n"
    folder = _folder(tmp_path, "logs", {"h.json.gz": gzip.compress(text, mtime=0)})
    report, usage, quarantine = _ingest(folder, tmp_path / "out")
    assert (report.lines_read, report.rows, report.quarantined) == (14, 12, 2)
    assert list(usage.request_id) == [f"r{i}" for i in range(12)]
    assert [(q["line"], q["reason"], q["excerpt"][:12]) for q in quarantine] == [
        (5, LINE_TOO_LONG, padded[:12].decode()),
        (10, "invalid JSON", "x" * 12),
    ]


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_large_range_of_a_plain_file_is_read_a_line_at_a_time(tmp_path, monkeypatch, line_end):
    """Ranges over the limit (each of ~20 KB, for a range with a line of ~200 MB in it) are
    read from the file a block at a time: the table of reading the file whole, a byte-order
    mark at its start left out as there."""
    text = b"\xef\xbb\xbf" + _export(600).replace(b"\n", line_end)
    whole = _ingest(_folder(tmp_path, "whole", {"month.jsonl": text}), tmp_path / "out-whole")
    small_limits(monkeypatch)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    folder = _folder(tmp_path, "ranged", {"month.jsonl": text})
    units = logs.list_local(folder, None, None).units
    assert len(units) > 10 and all(logs.unit_lines(u).text is not None for u in units)
    ranged = _ingest(folder, tmp_path / "out")
    assert (ranged[0].lines_read, ranged[0].rows) == (whole[0].lines_read, whole[0].rows)
    pd.testing.assert_frame_equal(ranged[1], whole[1])
    assert ranged[2] == whole[2] and [q["line"] for q in whole[2]][:2] == [6, 43]


@pytest.mark.parametrize("seed", range(60))
def test_lines_read_from_disk_are_the_lines_of_the_whole_text(tmp_path, monkeypatch, seed):
    """A block at a time (of 1 to 9 bytes here), the lines ``bytes.splitlines`` gives the
    whole text: ``\\n``, ``\\r\\n`` and a ``\\r`` alone are each a line break, wherever the
    blocks cut them; a line over the limit is its head, and ``on_long_line`` says where."""
    rng = random.Random(seed)
    limit = rng.randint(3, 30)
    monkeypatch.setattr(large_text, "_BLOCK_BYTES", rng.randint(1, 9))
    monkeypatch.setattr(large_text, "LONG_LINE_BYTES", limit)
    monkeypatch.setattr(large_text, "LONG_LINE_HEAD", 2)
    parts = [rng.choice([b"ab", b"c", b"\n", b"\r\n", b"\r", b"xyz" * rng.randint(0, 5)])]
    parts += [rng.choice([b"ab", b"c", b"\n", b"\r\n", b"\r", b"q" * 12]) for _ in range(60)]
    text = b"".join(parts)
    path = tmp_path / "t"
    path.write_bytes(b"\xef\xbb\xbf" + text)
    long_lines: list[tuple[int, bytes]] = []
    text_on_disk = TextOnDisk(str(path), bom=True)
    read = [bytes(line) for line in text_on_disk.views(lambda i, h: long_lines.append((i, h)))]
    whole = text.splitlines()
    assert read == [line if len(line) <= limit else line[:2] for line in whole]
    assert long_lines == [(i, line[:2]) for i, line in enumerate(whole) if len(line) > limit]


def _records_json(n: int, **dumps) -> list[str]:
    return [
        json.dumps({**RECORDS[i % len(RECORDS)], "requestId": f"r{i}"}, **dumps) for i in range(n)
    ]


def _envelope(records: list[str], kind: str = "DATA_MESSAGE") -> str:
    events = [{"id": str(i), "timestamp": 0, "message": r} for i, r in enumerate(records)]
    return json.dumps({"messageType": kind, "logGroup": "g", "logEvents": events})


ARRAY = "[\n" + ",\n".join(_records_json(30, indent=2)) + "\n]\n"
DOCUMENTS = {
    "a pretty-printed array": ARRAY,
    "an array on one line": "[" + ",".join(_records_json(30)) + "]",
    "arrays one a line (jq -c)": "[]\n"
    + "\n".join("[" + ",".join(_records_json(30)[i : i + 10]) + "]" for i in (0, 10, 20)),
    "pretty-printed records back to back": "\n".join(_records_json(30, indent=4)),
    "Firehose envelopes": _envelope(_records_json(30)[:15])
    + _envelope([], "CONTROL_MESSAGE")
    + _envelope(_records_json(30)[15:]),
    "an aws logs filter-log-events output": json.dumps(
        {"events": [{"message": r} for r in _records_json(30)], "searchedLogStreams": []}
    ),
    # damaged: read whole after all, by the walk that keeps every record that reads
    "a trailing comma": ARRAY.replace("\n]\n", ",\n]\n"),
    "a bad token": ARRAY.replace('"requestId": "r7"', '"requestId": "r7", "x": tru', 1),
    "NaN": ARRAY.replace('"requestId": "r9"', '"requestId": "r9", "x": NaN', 1),
    "a cut record": ARRAY[: len(ARRAY) * 2 // 3],
    "bytes that are not UTF-8": ARRAY.replace("r12", "r\udce912", 1),
    "a second byte-order mark": "\ufeff" + ARRAY,
    # not documents, but not cut into ranges either: an old Mac line end
    "records with a \\r line end": "\r".join(_records_json(30)),
}
WIDE = {
    "UTF-16": ("utf-16", "".join(line + "\n" for line in _records_json(30))),
    "UTF-16-BE": ("utf-16-be", "".join(line + "\r\n" for line in _records_json(30))),
    "UTF-32": ("utf-32", "".join(line + "\n" for line in _records_json(30))),
    "UTF-16 with a character of two units": (
        "utf-16",
        "\n".join(_records_json(30)).replace('"r3"', '"r3\U0001f600"'),
    ),
    "a UTF-16 array": ("utf-16", ARRAY),
}


def _encoded(text: str, codec: str = "utf-8") -> bytes:
    data = text.encode(codec, "surrogateescape" if codec == "utf-8" else "strict")
    return (b"\xfe\xff" if codec == "utf-16-be" else b"") + data


def _read_as_held_and_on_disk(tmp_path, monkeypatch, data: bytes):
    """A plain file and a gzip file of ``data``, ingested with the limits as they are (held
    whole) and lowered to a few KB (read from disk): both, as ``_ingest`` gives them."""
    files = {"plain.json": data, "packed.json.gz": gzip.compress(data, mtime=0)}
    whole = _ingest(_folder(tmp_path, "whole", files), tmp_path / "out-whole")
    small_limits(monkeypatch)
    on_disk = _ingest(_folder(tmp_path, "on-disk", files), tmp_path / "out")
    return whole, on_disk


def _same(whole, on_disk) -> None:
    for name in ("files_read", "lines_read", "rows", "quarantined", "duplicates"):
        assert getattr(on_disk[0], name) == getattr(whole[0], name), name
    report = on_disk[0]
    assert report.lines_read == report.rows + report.quarantined + report.duplicates
    assert report.control_messages == whole[0].control_messages
    pd.testing.assert_frame_equal(on_disk[1], whole[1])
    assert on_disk[2] == whole[2]


@pytest.mark.parametrize("shape", DOCUMENTS)
def test_json_documents_past_the_limit_are_read_as_held(tmp_path, monkeypatch, shape):
    """A file of JSON documents whose text passes the limit (5,000 bytes here, for 256 MB),
    plain or gzip, gives the rows and entries of reading it whole: read a document (an
    array's element) at a time when it parses, and whole, by the walk, when it does not."""
    data = _encoded(DOCUMENTS[shape])
    assert len(data) > 20_000
    whole, on_disk = _read_as_held_and_on_disk(tmp_path, monkeypatch, data)
    _same(whole, on_disk)
    assert whole[0].rows > 0 and whole[0].lines_read >= 30


@pytest.mark.parametrize("shape", WIDE)
def test_wide_text_past_the_limit_is_read_as_held(tmp_path, monkeypatch, shape):
    """UTF-16 or UTF-32 text past the limit (5,000 bytes here), plain or gzip, is decoded to
    a UTF-8 copy a block at a time, and gives the rows and entries of decoding it whole."""
    codec, text = WIDE[shape]
    whole, on_disk = _read_as_held_and_on_disk(tmp_path, monkeypatch, _encoded(text, codec))
    _same(whole, on_disk)
    assert (whole[0].rows, whole[0].quarantined) == (30, 0)


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
@pytest.mark.parametrize("damage", ["cut", "not the text its mark says"])
def test_damaged_wide_text_past_the_limit_gives_the_entries_it_gives_held(
    tmp_path, monkeypatch, codec, damage
):
    """A gzip stream of UTF-16 or UTF-32 text cut off keeps its whole lines (the cut one is
    the truncated-gzip entry); a file whose bytes are not the text its mark says is its one
    entry. As decoded whole."""
    data = _encoded("".join(line + "\n" for line in _records_json(30)), codec)
    if damage == "cut":
        packed = _cut(gzip.compress(data, mtime=0))
        files = {"cut.json.gz": packed}
    else:
        files = {"odd.json": data + b"\x00", "odd.json.gz": gzip.compress(data + b"\x00")}
    whole = _ingest(_folder(tmp_path, "whole", files), tmp_path / "out-whole")
    small_limits(monkeypatch)
    on_disk = _ingest(_folder(tmp_path, "on-disk", files), tmp_path / "out")
    _same(whole, on_disk)
    reasons = whole[0].quarantine_by_reason
    if damage == "cut":
        assert 5 < whole[0].rows < 30 and reasons == {"truncated gzip": 1}
    else:
        name = codec.upper()
        reason = f"not UTF-8 ({name} text that does not decode as {name}): re-save it as UTF-8"
        assert (whole[0].rows, reasons) == (0, {reason: 2})


def _open_files() -> list[str]:
    """What this process's open files are (a removed one's name ends in ``(deleted)``)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:  # the one that listed the folder, closed since
            continue
    return found


def _request_ids_in_order(lines) -> int:
    """How many ``lines`` there are, each the record ``r0``, ``r1``, ... in turn."""
    n = 0
    for n, line in enumerate(lines, 1):
        assert json.loads(bytes(line))["requestId"] == f"r{n - 1}"
    return n


def test_a_large_json_array_is_never_held_whole(tmp_path, monkeypatch):
    """2.4 MB of an array of records (2,000 of them) past a limit of 5,000 bytes: read from
    the file a block at a time, and its lines kept on disk past 5,000 bytes of them. The
    lines are the array's records, read back from there."""
    small_limits(monkeypatch)
    text = "[\n" + ",\n".join(_records_json(2_000, indent=1)) + "\n]\n"
    path = tmp_path / "array.json"
    path.write_text(text)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    unit = logs.Unit("file", "array.json", str(path), scratch=str(scratch))
    tracemalloc.start()
    try:
        decoded = logs.unit_lines(unit)
        copies = [link for link in _open_files() if link.startswith(str(scratch))]
        ids = _request_ids_in_order(decoded.views())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000, peak  # held whole: the text, its str and its lines, over 6 MB
    assert ids == 2_000 and len(text) > 2_000_000
    assert len(decoded.events) == 2_000  # (a large_text.LinesOnDisk)
    assert len(copies) == 1 and list(scratch.iterdir()) == []  # the lines' copy has no name


def test_a_large_utf16_file_is_never_held_whole(tmp_path, monkeypatch):
    """4 MB of UTF-16 records past a limit of 5,000 bytes: decoded to a UTF-8 copy a block at
    a time, and read from it a line at a time."""
    small_limits(monkeypatch)
    data = "".join(line + "\n" for line in _records_json(2_000)).encode("utf-16")
    path = tmp_path / "wide.json"
    path.write_bytes(data)
    unit = logs.Unit("file", "wide.json", str(path), scratch=str(tmp_path))
    tracemalloc.start()
    try:
        decoded = logs.unit_lines(unit)
        ids = _request_ids_in_order(decoded.views())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded.text is not None and ids == 2_000
    assert len(data) > 3_900_000 and peak < 100_000, peak  # decoded whole: over 10 MB


@pytest.mark.parametrize("seed", range(20))
def test_lines_kept_on_disk_are_read_back_as_they_were_given(tmp_path, monkeypatch, seed):
    """Any bytes a line (empty, with line breaks, longer than a block), past the limit in a
    scratch file each after its length, and read back whole, in order, as often as asked."""
    rng = random.Random(seed)
    monkeypatch.setattr(large_text, "HELD_TEXT_BYTES", rng.randint(0, 40))
    monkeypatch.setattr(large_text, "_BLOCK_BYTES", rng.randint(1, 20))
    lines = [rng.randbytes(rng.choice([0, 1, 3, 8, 40])) for _ in range(rng.randint(0, 60))]
    lines.append(b"a\nb\r\n" * 9)
    sink = large_text.LineSink(str(tmp_path))
    for line in lines:
        sink.add(line)
    kept = sink.lines()
    assert isinstance(kept, large_text.LinesOnDisk) and len(kept) == len(lines)
    assert list(kept) == lines and list(kept) == lines
