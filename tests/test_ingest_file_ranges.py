"""A large plain log file is read as line-aligned ranges in parallel, with the rows, the
quarantine entries and the line numbers of reading it whole."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.sources import file_ranges
from bedrock_finops.sources import invocation_logs as logs
from bedrock_finops.sources.file_ranges import line_ranges

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
RECORDS = [json.loads(line) for f in sorted(GOOD.glob("*.json")) for line in f.open() if line]


@pytest.mark.parametrize("seed", range(40))
def test_ranges_cover_the_file_at_line_starts(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    lines = [b"x" * rng.randint(0, 60) for _ in range(rng.randint(1, 120))]
    data = b"\n".join(lines) + rng.choice([b"", b"\n"])
    path = tmp_path / "a.jsonl"
    path.write_bytes(data)
    monkeypatch.setattr(file_ranges, "_SCAN_BYTES", rng.randint(1, 400))  # cuts across blocks
    range_bytes = rng.randint(1, 300)
    ranges = line_ranges(path, range_bytes)
    if len(data) <= range_bytes:
        assert ranges is None
        return
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    pairs = zip(ranges, ranges[1:], strict=False)
    assert all(stop == next_start for (_, stop, _), (next_start, _, _) in pairs)
    for start, stop, first_line in ranges:
        assert start < stop and (start == 0 or data[start - 1 : start] == b"\n")
        assert first_line == data[:start].count(b"\n") + 1


def _export(rng: random.Random, n: int) -> str:
    out = []
    for i in range(n):
        if i % 37 == 5:
            out.append("{not json")
        elif i % 53 == 7:
            out.append("")
        else:
            rec = json.loads(json.dumps(rng.choice(RECORDS)))
            rec["requestId"] = f"r{i}" if i % 41 else "r1"  # a few duplicate deliveries
            out.append(json.dumps(rec))
    return "\n".join(out) + "\n"


def _ingest(folder: Path, out: Path, workers: int):
    report = ingest_to_folder(folder, out, workers=workers, progress=False)
    usage = pd.read_parquet(out / "usage.parquet")
    quarantine = pq.read_table(out / "quarantine.parquet").to_pylist()
    return report, usage, quarantine


def test_a_big_export_read_in_ranges_equals_reading_it_whole(tmp_path, monkeypatch):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "month.jsonl").write_text(_export(random.Random(3), 600))
    whole = _ingest(tmp_path / "logs", tmp_path / "whole", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)  # ~a dozen ranges
    assert len(line_ranges(tmp_path / "logs" / "month.jsonl")) > 10
    ranged = _ingest(tmp_path / "logs", tmp_path / "ranged", workers=2)
    for name in ("files_read", "lines_read", "rows", "quarantined", "duplicates"):
        assert getattr(ranged[0], name) == getattr(whole[0], name)
    pd.testing.assert_frame_equal(ranged[1], whole[1])
    assert ranged[2] == whole[2] and [q["line"] for q in whole[2]][:2] == [6, 43]


# compressed bytes after a format's header: line breaks, and no "\r" (a lone one alone would
# keep the file whole)
COMPRESSED = bytes(b for b in range(256) if b != 13) * 200
BZIP2 = b"BZh91AY&SY" + COMPRESSED
XZ = b"\xfd7zXZ\x00" + COMPRESSED


@pytest.mark.parametrize(
    "name, data",
    [
        ("a.json.gz", gzip.compress(b'{"a": 1}\n' * 5000)),  # one gzip stream
        ("a.json", json.dumps([{"a": 1}] * 5000, indent=2).encode()),  # a JSON document
        ("a.json", b'{"a": 1}\r' * 5000),  # \r line breaks alone: bytes.splitlines decides
        ("a.json.gz", BZIP2),  # another compression: one entry, told by its first bytes
        ("a.json", XZ),
    ],
)
def test_files_that_must_be_read_whole_are_not_cut(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    assert line_ranges(tmp_path / name, 1000) is None


def test_a_big_export_after_an_array_line_is_read_in_ranges(tmp_path, monkeypatch):
    """A first line ``[]`` before records makes no JSON-array file: the export is NDJSON,
    cut into ranges as any other, its first line one entry (``record is not a JSON
    object``) and the rest as the export alone gives them."""
    export = _export(random.Random(3), 600)
    (tmp_path / "alone").mkdir()
    (tmp_path / "alone" / "month.jsonl").write_text(export)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "month.jsonl").write_text("[]\n" + export)
    alone = _ingest(tmp_path / "alone", tmp_path / "out-alone", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    assert len(line_ranges(tmp_path / "logs" / "month.jsonl") or []) > 10
    ranged = _ingest(tmp_path / "logs", tmp_path / "out", workers=2)
    assert ranged[0].lines_read == alone[0].lines_read + 1
    assert (ranged[0].rows, ranged[0].duplicates) == (alone[0].rows, alone[0].duplicates)
    pd.testing.assert_frame_equal(ranged[1], alone[1])
    assert [(q["line"], q["reason"]) for q in ranged[2]] == [(1, "record is not a JSON object")] + [
        (q["line"] + 1, q["reason"]) for q in alone[2]
    ]


@pytest.fixture
def small_limits(monkeypatch):
    """Ranges of ~20 KB, and gzip files over 4 KB expanded first (instead of 64 MB, 128 MB)."""
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 4_000)


def _gz_folder(tmp_path: Path, name: str, data: bytes) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "month.jsonl.gz").write_bytes(data)
    return folder


@pytest.mark.parametrize("cut", [False, True])
def test_a_big_gzip_export_is_expanded_and_read_in_ranges(tmp_path, monkeypatch, cut):
    data = gzip.compress(_export(random.Random(5), 600).encode(), mtime=0)
    if cut:
        data = data[: len(data) * 2 // 3]  # a truncated stream: its complete lines, one entry
    whole = _ingest(_gz_folder(tmp_path, "whole", data), tmp_path / "out-whole", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 4_000)
    folder = _gz_folder(tmp_path, "ranged", data)
    units = logs.list_local(folder, None, None, expand_dir=tmp_path / "expanded").units
    assert len(units) > 5 and [u.end_error for u in units][-2:] == [
        None,
        "truncated gzip" if cut else None,
    ]
    ranged = _ingest(folder, tmp_path / "out-ranged", workers=2)
    for name in ("files_read", "lines_read", "rows", "quarantined", "duplicates"):
        assert getattr(ranged[0], name) == getattr(whole[0], name)
    pd.testing.assert_frame_equal(ranged[1], whole[1])
    assert ranged[2] == whole[2]
    assert ("truncated gzip" in ranged[0].quarantine_by_reason) == cut
    assert sorted(p.name for p in (tmp_path / "out-ranged").iterdir()) == [
        "ingest_report.json",
        "prompts.parquet",
        "quarantine.parquet",
        "usage.parquet",
    ]  # fmt: skip  (the expanded copy is gone)


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("cut", [False, True])
def test_gzip_holding_gzip_is_read_alike_small_or_big(tmp_path, monkeypatch, big, cut):
    """A Firehose stream that gzips what a CloudWatch Logs subscription already gzipped: read
    through both layers, whether read whole or big enough to be expanded first (it is then
    read whole: its expanded bytes are no text to cut). Its 600 lines give the same table as
    the plain file does; an outer cut keeps the complete lines before it and is one entry."""
    text = _export(random.Random(8), 600).encode()
    plain = _ingest(_gz_folder(tmp_path, "plain", gzip.compress(text, mtime=0)),
                    tmp_path / "out-plain", workers=1)  # fmt: skip
    data = gzip.compress(gzip.compress(text, mtime=0), mtime=0)
    if cut:
        data = data[: len(data) * 2 // 3]
    if big:
        monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
        monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 4_000)
        assert len(data) > 4_000
    report, usage, quarantine = _ingest(
        _gz_folder(tmp_path, "nested", data), tmp_path / "out", workers=2
    )
    assert report.lines_read == report.rows + report.quarantined + report.duplicates
    if not cut:
        pd.testing.assert_frame_equal(usage, plain[1])
        assert quarantine == plain[2] and report.lines_read == plain[0].lines_read
    else:
        assert 0 < report.rows < plain[0].rows
        assert quarantine[-1]["reason"] == "truncated gzip"
        assert set(usage.request_id) < set(plain[1].request_id)


@pytest.mark.parametrize("big", [False, True])
def test_gzip_holding_another_compression_is_one_entry_naming_both(tmp_path, monkeypatch, big):
    xz = b"\xfd7zXZ\x00" + random.Random(9).randbytes(20_000)  # incompressible, as xz output
    data = gzip.compress(xz, mtime=0)
    if big:
        monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
        monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 4_000)
        assert len(data) > 4_000
    report, _, quarantine = _ingest(_gz_folder(tmp_path, "logs", data), tmp_path / "out", 2)
    assert (report.lines_read, report.rows, report.quarantined) == (1, 0, 1)
    assert [(q["source"], q["line"], q["reason"]) for q in quarantine] == [
        ("month.jsonl.gz", 1, "gzip holding xz-compressed data: decompress both (gunzip, then "
         "unxz) or re-compress the text with gzip alone")
    ]  # fmt: skip


def test_a_big_file_that_is_not_gzip_inside_is_read_as_before(tmp_path, small_limits):
    folder = _gz_folder(tmp_path, "logs", b"\x1f\x8b\x08\x00" + b"garbage" * 1000)
    report = _ingest(folder, tmp_path / "out", workers=1)[0]
    assert report.lines_read == 1 and next(iter(report.quarantine_by_reason)).startswith(
        "corrupt gzip"
    )


def test_a_big_file_compressed_with_another_tool_is_one_entry(tmp_path, small_limits):
    """Over the range size, it is not cut: a later range's compressed bytes, read as text,
    were an ``invalid JSON`` entry per line break in them. Read whole, its first bytes make
    it one line and one entry, however big it is."""
    assert len(XZ) > 2 * file_ranges.RANGE_BYTES
    report, usage, quarantine = _ingest(_gz_folder(tmp_path, "logs", XZ), tmp_path / "out", 2)
    assert (report.files_read, report.lines_read, report.rows, report.quarantined) == (1, 1, 0, 1)
    reason = "compressed with xz, not gzip: decompress it (unxz) or re-compress it with gzip"
    assert [(q["source"], q["line"], q["reason"]) for q in quarantine] == [
        ("month.jsonl.gz", 1, reason)
    ]


MAGIC_LINES = {  # a line, and its entry's reason (as anywhere else in a file)
    "bzip2": (b"BZh91AY&SY not a record", "invalid JSON"),
    "gzip": (b"\x1f\x8b\x08\x00 not a record", "invalid JSON (bytes that are not UTF-8)"),
    "zip": (b"PK\x03\x04 not a record", "invalid JSON"),
}


@pytest.mark.parametrize("expanded", [False, True], ids=["plain", "gzip expanded"])
@pytest.mark.parametrize("magic", MAGIC_LINES)
def test_a_line_after_a_cut_that_starts_like_a_compressed_file_is_one_line(
    tmp_path, monkeypatch, magic, expanded
):
    """A later range starts with a line like any other: one that starts with another
    compression's magic bytes is that line's own entry (``invalid JSON``, as anywhere in a
    file), and every record after it in the range is read (judged by those bytes, the whole
    range was one entry, its records lost and not counted as lines read)."""
    records = [json.dumps({**RECORDS[i % len(RECORDS)], "requestId": f"r{i}"}) for i in range(40)]
    lines = [line.encode() + b"\n" for line in records]
    at = next(i for i in range(len(lines)) if len(b"".join(lines[: i + 1])) > 20_000) + 1
    bad, reason = MAGIC_LINES[magic]
    text = b"".join([*lines[:at], bad + b"\n", *lines[at:]])
    data = gzip.compress(text, mtime=0) if expanded else text
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", len(data) - 1)  # (gzip: expanded)
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / ("month.jsonl.gz" if expanded else "month.jsonl")).write_bytes(data)
    units = logs.list_local(folder, None, None, expand_dir=tmp_path / "scratch").units
    assert len(units) == 2 and units[1].start == len(b"".join(lines[:at]))
    assert Path(units[1].location).read_bytes()[units[1].start :].startswith(bad)
    report, usage, quarantine = _ingest(folder, tmp_path / "out", workers=2)
    assert (report.lines_read, report.rows, report.quarantined) == (41, 40, 1)
    assert list(usage.request_id) == [f"r{i}" for i in range(40)]
    assert [(q["line"], q["reason"]) for q in quarantine] == [(at + 1, reason)]


def test_expanding_a_big_gzip_file_is_announced(tmp_path, small_limits):
    data = gzip.compress(_export(random.Random(6), 200).encode(), mtime=0)
    notes: list[str] = []
    logs.list_local(_gz_folder(tmp_path, "logs", data), None, None, tmp_path / "x", notes.append)
    mb = f"{len(data) / 1e6:,.0f}"
    assert notes == [f"decompressing month.jsonl.gz ({mb} MB gzipped) to read it in parallel ..."]


def test_a_small_gzip_that_decompresses_big_is_expanded_too(tmp_path, monkeypatch):
    """Its trailer gives the decompressed size: past the limit, it is cut like a big file."""
    plain = _export(random.Random(7), 600).encode()
    data = gzip.compress(plain, mtime=0)
    whole = _ingest(_gz_folder(tmp_path, "whole", data), tmp_path / "out-whole", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", len(plain) - 1)
    folder = _gz_folder(tmp_path, "ranged", data)
    assert len(data) < file_ranges.GZIP_EXPAND_BYTES  # not big by its own size
    units = logs.list_local(folder, None, None, expand_dir=tmp_path / "expanded").units
    assert len(units) > 5
    ranged = _ingest(folder, tmp_path / "out-ranged", workers=2)
    pd.testing.assert_frame_equal(ranged[1], whole[1])
    assert ranged[2] == whole[2]
    # one byte more and the same file is read whole
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", len(plain))
    assert len(logs.list_local(folder, None, None, expand_dir=tmp_path / "e2").units) == 1


def test_a_few_kb_whose_trailer_says_much_text_are_expanded(tmp_path, monkeypatch):
    """However small the file: 4 KB whose trailer says 4 MiB of text (past 1 MiB here, for
    256 MB) are expanded to the scratch folder before they are read, not read whole; the one
    line of ``x`` they hold is one entry, as read whole."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = z.compress(b"x" * (4 << 20)) + z.flush()
    folder = _gz_folder(tmp_path, "logs", data)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", 1 << 20)
    assert len(data) < 5_000 and file_ranges.worth_expanding(folder / "month.jsonl.gz", len(data))
    units = logs.list_local(folder, None, None, expand_dir=tmp_path / "x").units
    assert [Path(u.location).parent for u in units] == [tmp_path / "x"]
    report, _, quarantine = _ingest(folder, tmp_path / "out", workers=1)
    assert (report.lines_read, report.rows, report.quarantined) == (1, 0, 1)
    assert [(q["line"], q["reason"]) for q in quarantine] == [(1, "invalid JSON")]


def test_a_multi_member_gzip_is_judged_by_its_size(tmp_path, monkeypatch):
    """The trailer gives only the last member's size: one that says less than the file is
    not the whole (``cat`` of hourly files), so the file's size at the usual compression
    judges it; a file gzipped in one go is still judged by its trailer."""
    big, small = b'{"a": 1}\n' * 5000, b'{"a": 2}\n'
    path = tmp_path / "two.json.gz"
    path.write_bytes(gzip.compress(big, mtime=0) + gzip.compress(small, mtime=0))
    size = path.stat().st_size
    assert len(small) < size  # the trailer says less than the file holds
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", size * file_ranges.LOG_COMPRESSION)
    assert not file_ranges.worth_expanding(path, size)
    monkeypatch.setattr(
        file_ranges, "GZIP_EXPAND_PLAIN_BYTES", size * file_ranges.LOG_COMPRESSION - 1
    )
    assert file_ranges.worth_expanding(path, size)
    one = tmp_path / "one.json.gz"
    one.write_bytes(gzip.compress(big, mtime=0))  # its trailer: all of it, 45,000 bytes
    assert file_ranges.worth_expanding(one, one.stat().st_size)  # over the limit: expanded
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", len(big))
    assert not file_ranges.worth_expanding(one, one.stat().st_size)
    # a last member larger than the file: the trailer alone would undercount the first
    last_big = tmp_path / "last-big.json.gz"
    last_big.write_bytes(gzip.compress(big, mtime=0) + gzip.compress(big[:1000], mtime=0))
    size = last_big.stat().st_size
    assert size < 1000 < size * file_ranges.LOG_COMPRESSION  # more than the file, not all
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", 1000)
    assert file_ranges.worth_expanding(last_big, size)  # 8x its size says more


@pytest.mark.parametrize("gz", [False, True])
def test_a_big_s3_object_is_downloaded_and_read_in_ranges(
    tmp_path, aws_client, small_limits, monkeypatch, gz
):
    """An S3 object over the range size is streamed to the run's scratch folder and cut like
    a local file: the same rows, quarantine entries (by the object's name, with its own line
    numbers) and counts as the same file read whole from a local folder."""
    data = _export(random.Random(9), 600).encode()
    name = "month.jsonl.gz" if gz else "month.jsonl"
    body = gzip.compress(data, mtime=0) if gz else data
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / name).write_bytes(body)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="exports")
    s3.put_object(Bucket="exports", Key=f"bedrock/{name}", Body=body)
    notes: list[str] = []
    listing = logs.list_s3("s3://exports/bedrock/", None, None, client=s3)
    logs.localise_large_objects(listing, tmp_path / "scratch", s3, notes.append)
    assert len(listing.units) > 5 and {u.kind for u in listing.units} == {"file"}
    assert {u.name for u in listing.units} == {name}
    assert notes[0].startswith(f"downloading {name} (")
    with monkeypatch.context() as m:  # the local reference: the file read whole, one unit
        m.setattr(file_ranges, "RANGE_BYTES", 1 << 30)
        m.setattr(file_ranges, "GZIP_EXPAND_BYTES", 1 << 30)
        whole = _ingest(folder, tmp_path / "out-local", workers=1)
    remote = ingest_to_folder(
        "s3://exports/bedrock/",
        tmp_path / "out-s3",
        workers=2,
        progress=False,
        endpoint_url=s3.meta.endpoint_url,
    )
    usage = pd.read_parquet(tmp_path / "out-s3" / "usage.parquet")
    quarantine = pq.read_table(tmp_path / "out-s3" / "quarantine.parquet").to_pylist()
    for field in ("files_read", "lines_read", "rows", "quarantined", "duplicates"):
        assert getattr(remote, field) == getattr(whole[0], field), field
    pd.testing.assert_frame_equal(usage, whole[1])
    assert quarantine == whole[2] and quarantine[0]["source"] == name
    assert [p.name for p in (tmp_path / "out-s3").iterdir() if p.name.startswith(".")] == []


def test_a_big_export_with_windows_line_ends_is_read_in_ranges_too(tmp_path, monkeypatch):
    """``\\r\\n`` line ends are cut at their ``\\n`` like any other (a file holding them was
    read whole, in one process, at ~2.5x its size in memory): the same rows, quarantine
    and line numbers as the same export with ``\\n`` ends."""
    text = _export(random.Random(3), 600)
    for name, data in (("lf", text), ("crlf", text.replace("\n", "\r\n"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "month.jsonl").write_bytes(data.encode())
    lf = _ingest(tmp_path / "lf", tmp_path / "out-lf", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    assert len(line_ranges(tmp_path / "crlf" / "month.jsonl")) > 10
    crlf = _ingest(tmp_path / "crlf", tmp_path / "out-crlf", workers=2)
    for name in ("lines_read", "rows", "quarantined", "duplicates"):
        assert getattr(crlf[0], name) == getattr(lf[0], name)
    pd.testing.assert_frame_equal(crlf[1], lf[1])
    assert [q["line"] for q in crlf[2]] == [q["line"] for q in lf[2]]
    # a pair cut by the scan's block boundary is still a pair
    assert not file_ranges.lone_cr(b'{"a": 1}\r')
    assert file_ranges.lone_cr(b'{"a": 1}\r{"b": 2}\r\n')


@pytest.mark.parametrize("name", ["month.jsonl.gz", "month.jsonl"])
def test_an_s3_gzip_object_that_may_hold_much_text_is_downloaded_and_cut(
    tmp_path, aws_client, monkeypatch, name
):
    """A gzip object is judged as a local gzip file is: over an eighth of the text a worker
    may hold whole, it is downloaded, and its trailer and size then decide its expansion
    (a 120 MB object was read whole in memory until it passed 128 MB). Gzip is told by its
    content: a gzip object not named ``.gz`` was read whole below the plain range size."""
    data = _export(random.Random(9), 600).encode()
    half = len(data) // 2
    body = gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="exports")
    s3.put_object(Bucket="exports", Key=f"bedrock/{name}", Body=body)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 2 * len(body))  # over the object's size
    monkeypatch.setattr(
        file_ranges, "GZIP_EXPAND_PLAIN_BYTES", (len(body) - 1) * file_ranges.LOG_COMPRESSION
    )
    assert file_ranges.gzip_local_bytes() == len(body) - 1 < file_ranges.GZIP_EXPAND_BYTES
    listing = logs.list_s3("s3://exports/bedrock/", None, None, client=s3)
    logs.localise_large_objects(listing, tmp_path / "scratch", s3)
    assert len(listing.units) > 5 and {u.kind for u in listing.units} == {"file"}


def test_a_big_gzip_with_a_damaged_member_is_expanded_and_read_as_whole(tmp_path, monkeypatch):
    """A damaged member in a large gzip file (a ``cat`` of hourly files, one of them broken):
    expanded anyway, the members before it kept to their last line and the rest one
    ``corrupt gzip`` entry, as reading the file whole gives (it was read whole, in memory)."""
    text = _export(random.Random(5), 600).encode()
    lines = text.splitlines(keepends=True)
    good = gzip.compress(b"".join(lines[:300]), mtime=0)
    broken = bytearray(gzip.compress(b"".join(lines[300:]), mtime=0))
    broken[len(broken) // 2] ^= 0xFF  # a damaged block in the second member
    data = good + bytes(broken)
    whole = _ingest(_gz_folder(tmp_path, "whole", data), tmp_path / "out-whole", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 4_000)  # now expanded before read
    folder = _gz_folder(tmp_path, "ranged", data)
    units = logs.list_local(folder, None, None, expand_dir=tmp_path / "expanded").units
    assert len(units) > 5 and units[-1].end_error.startswith("corrupt gzip (")
    ranged = _ingest(folder, tmp_path / "out-ranged", workers=2)
    for name in ("lines_read", "rows", "quarantined"):
        assert getattr(ranged[0], name) == getattr(whole[0], name)
    pd.testing.assert_frame_equal(ranged[1], whole[1])
    assert ranged[2] == whole[2] and ranged[2][-1]["reason"].startswith("corrupt gzip (")


def _damaged_second_member(first: bytes, second: bytes) -> bytes:
    broken = bytearray(gzip.compress(second, mtime=0))
    broken[len(broken) // 2] ^= 0xFF
    return gzip.compress(first, mtime=0) + bytes(broken)


@pytest.mark.parametrize("shape", ["array", "blank line"])
def test_an_expanded_gzip_ends_as_the_whole_read_ends(tmp_path, monkeypatch, shape):
    """Where a damaged member cuts an expanded file, its end reads as the whole file's: a
    JSON array cut in a record is one ``corrupt gzip`` entry (not an entry for the record cut
    off as well), and kept text that ends in a blank line puts the entry on the same line."""
    lines = _export(random.Random(5), 600).splitlines()
    if shape == "array":
        records = []
        for ln in lines:
            try:
                records.append(json.loads(ln))
            except ValueError:
                continue  # the export's planted bad lines: an array of good records here
        text = json.dumps(records, indent=2).encode()
        cut = text.index(b'\n    "', len(text) // 2) + 1  # the members meet inside a record
        data = _damaged_second_member(text[:cut], text[cut:])
    else:
        data = _damaged_second_member(
            "\n".join(lines[:300]).encode() + b"\n\n", "\n".join(lines[300:]).encode()
        )
    whole = _ingest(_gz_folder(tmp_path, "whole", data), tmp_path / "out-whole", workers=1)
    monkeypatch.setattr(file_ranges, "RANGE_BYTES", 20_000)
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 4_000)  # now expanded before read
    folder = _gz_folder(tmp_path, "expanded", data)
    units = logs.list_local(folder, None, None, expand_dir=tmp_path / "x").units
    assert units[-1].end_error.startswith("corrupt gzip (")
    expanded = _ingest(folder, tmp_path / "out-expanded", workers=2)
    pd.testing.assert_frame_equal(expanded[1], whole[1])
    assert expanded[2] == whole[2] and [q["reason"][:13] for q in whole[2]][-1] == "corrupt gzip "
