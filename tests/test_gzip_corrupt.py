"""A corrupt gzip file keeps the members that pass their check and quarantines the rest as one
entry.

The files are gzip written by hand with stored (uncompressed) deflate blocks, so every offset
below is exact whatever zlib or ISA-L build made or reads them: 50 records of exactly 1,000
bytes each (line break included), one 1,000-byte block per record. Record ``i``'s block
header is at ``HEADER + i * BLOCK`` and its bytes follow the 5-byte block header.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.sources.file_ranges import expand_gzip
from bedrock_finops.sources.log_decoding import gunzip_lines

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
BASE = json.loads((GOOD / "part-2.json").read_text().splitlines()[0])
RECORDS = 50
LINE = 1000  # bytes of each record's line, its line break included
HEADER = 10  # gzip member header
BLOCK = 5 + LINE  # a stored block: BFINAL/BTYPE byte, LEN, NLEN, the record
CHECKSUM_REASON = (
    "corrupt gzip (Error -6 Incorrect checksum found: a member decodes but fails the gzip "
    "check, so none of its lines is used)"
)
DAMAGED_REASON = (
    "corrupt gzip (Error -1 Invalid deflate block found: none of the damaged member's lines "
    "is used)"
)


def _line(i: int) -> bytes:
    rec = {**BASE, "requestId": f"r{i:02d}", "input": {**BASE["input"], "inputTokenCount": 100 + i}}
    text = json.dumps(rec)
    pad = LINE - 1 - len(text) - len(', "pad": ""')
    return json.dumps({**rec, "pad": "x" * pad}).encode() + b"\n"


LINES = [_line(i) for i in range(RECORDS)]
PLAIN = b"".join(LINES)


def _member(lines: list[bytes]) -> bytes:
    """One gzip member of stored blocks, one line each."""
    out = [b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"]
    for i, line in enumerate(lines):
        final = i == len(lines) - 1
        out.append(bytes([final]) + struct.pack("<HH", len(line), len(line) ^ 0xFFFF) + line)
    data = b"".join(lines)
    out.append(struct.pack("<II", zlib.crc32(data), len(data)))
    return b"".join(out)


GZ = _member(LINES)


def _flipped(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    damaged = bytearray(data)
    damaged[offset] ^= mask
    return bytes(damaged)


def test_the_hand_made_gzip_is_what_gzip_reads():
    assert len(PLAIN) == RECORDS * LINE and len(GZ) == HEADER + RECORDS * BLOCK + 8
    assert gzip.decompress(GZ) == PLAIN
    decoded = gunzip_lines([GZ])
    assert (decoded.lines, decoded.error, decoded.truncated) == (PLAIN.splitlines(), None, False)


# record 30's block header: a flipped bit in its LEN makes the data undecodable there
BAD_BLOCK_LEN = HEADER + 30 * BLOCK + 1


def test_invalid_data_mid_member_keeps_nothing_of_the_member():
    """Decoding stops at record 30, but the decoder may have run past damage before that
    without noticing: no line of the member is known to be right."""
    decoded = gunzip_lines([_flipped(GZ, BAD_BLOCK_LEN)])
    assert (decoded.lines, decoded.error, decoded.truncated) == ([], DAMAGED_REASON, False)


@pytest.mark.parametrize("chunk", [1, 777, 4096, 1 << 22])
def test_what_is_kept_does_not_depend_on_how_the_bytes_arrive(chunk):
    second = _member(LINES[20:])
    data = _member(LINES[:20]) + _flipped(second, HEADER + 10 * BLOCK + 1)  # in its 11th block
    decoded = gunzip_lines(data[i : i + chunk] for i in range(0, len(data), chunk))
    assert decoded.lines == PLAIN.splitlines()[:20]
    assert decoded.error == DAMAGED_REASON


def test_a_flipped_digit_fails_the_checksum_and_nothing_of_the_member_is_used():
    """The flip turns record 30's inputTokenCount 130 into 131: still valid JSON, a wrong
    number. Only the CRC at the member's end shows it, so no line of the member is kept."""
    at = HEADER + 30 * BLOCK + 5 + LINES[30].index(b'"inputTokenCount": 130') + 21
    damaged = _flipped(GZ, at)
    unchecked = zlib.decompressobj(31).decompress(damaged[:-8])  # the trailer left unread
    assert unchecked.splitlines()[30].count(b'"inputTokenCount": 131') == 1
    decoded = gunzip_lines([damaged])
    assert (decoded.lines, decoded.error) == ([], CHECKSUM_REASON)


@pytest.mark.parametrize("trailer_byte", [-8, -5, -4, -1])  # the CRC-32's and ISIZE's bytes
def test_a_wrong_trailer_fails_the_checksum(trailer_byte):
    decoded = gunzip_lines([_flipped(GZ, len(GZ) + trailer_byte, 0xFF)])
    assert (decoded.lines, decoded.error) == ([], CHECKSUM_REASON)


def test_members_that_passed_their_check_are_kept_whole():
    """Firehose writes several members: a bad checksum in the second costs only its lines."""
    second = _member(LINES[20:])
    damaged = _member(LINES[:20]) + second[:-8] + _flipped(second[-8:], 0, 0xFF)
    decoded = gunzip_lines([damaged])
    assert decoded.lines == PLAIN.splitlines()[:20]
    assert decoded.error == CHECKSUM_REASON


def _garbage_reason(n: str) -> str:
    are = (
        "byte after the last whole member is"
        if n == "1"
        else "bytes after the last whole member are"
    )
    return (
        "corrupt gzip (trailing bytes: every line of the whole members was read; only the "
        f"{n} {are} not gzip and unread)"
    )


@pytest.mark.parametrize("chunk", [1, 3, 777, 1 << 22])
@pytest.mark.parametrize("padding", [1, 9, 512, 70_000])
def test_nul_padding_after_the_last_member_is_ignored(padding, chunk):
    """Block devices, tape and some copy tools pad a file with NUL bytes; gzip(1) ignores
    them after the last member, and so does the ingest: every line, no entry."""
    data = GZ + b"\0" * padding
    decoded = gunzip_lines(data[i : i + chunk] for i in range(0, len(data), chunk))
    assert (decoded.lines, decoded.error, decoded.truncated) == (PLAIN.splitlines(), None, False)


@pytest.mark.parametrize("chunk", [1, 1 << 22])
def test_a_member_after_nul_padding_is_still_read(chunk):
    data = _member(LINES[:20]) + b"\0" * 100 + _member(LINES[20:])
    decoded = gunzip_lines(data[i : i + chunk] for i in range(0, len(data), chunk))
    assert (decoded.lines, decoded.error, decoded.truncated) == (PLAIN.splitlines(), None, False)


@pytest.mark.parametrize("chunk", [1, 2, 777, 1 << 22])
@pytest.mark.parametrize(
    ("tail", "shown"),
    [
        (b"not a gzip member", "17"),
        (b"junk", "4"),
        (b"\0\0\0junk", "7"),
        (b"\x1f", "1"),
        (b"\x1fX", "2"),
        (b"\n" * 3000, "3,000"),
    ],
)
def test_bytes_after_the_last_member_keep_every_line_and_say_how_many(tail, shown, chunk):
    """Fewer than a gzip header's 10 bytes of them used to read as a truncated stream."""
    data = GZ + tail
    decoded = gunzip_lines(data[i : i + chunk] for i in range(0, len(data), chunk))
    assert (decoded.lines, decoded.truncated) == (PLAIN.splitlines(), False)
    assert decoded.error == _garbage_reason(shown)


def test_a_large_file_is_expanded_past_its_padding_and_read_whole_with_other_bytes(tmp_path):
    """Before a large gzip file is cut (``expand_gzip``): padding changes nothing; other
    trailing bytes make it read whole, so the worker's read reports them."""
    (tmp_path / "padded.gz").write_bytes(GZ + b"\0" * 1000)
    (tmp_path / "garbage.gz").write_bytes(GZ + b"junk")
    expanded = expand_gzip(tmp_path / "padded.gz", tmp_path / "x")
    assert expanded is not None and expanded[1] is None
    assert expanded[0].read_bytes() == PLAIN
    assert expand_gzip(tmp_path / "garbage.gz", tmp_path / "x") is None


def test_a_damaged_member_after_the_last_whole_one_is_still_corrupt_gzip():
    """Bytes that start like a gzip member are one: its damage keeps the documented reason."""
    damaged = _member(LINES[:20]) + _flipped(_member(LINES[20:]), HEADER + 10 * BLOCK + 1)
    decoded = gunzip_lines([damaged + b"\0" * 16])
    assert (decoded.lines, decoded.error) == (PLAIN.splitlines()[:20], DAMAGED_REASON)


def test_a_truncated_stream_is_still_reported_as_truncated():
    decoded = gunzip_lines([GZ[: HEADER + 30 * BLOCK + 500]])
    assert (len(decoded.lines), decoded.error, decoded.truncated) == (30, None, True)


def _ingest(tmp_path: Path, files: dict[str, bytes]):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, data in files.items():
        (logs / name).write_bytes(data)
    report = ingest_to_folder(logs, tmp_path / "out", workers=1, progress=False)
    usage = pq.read_table(tmp_path / "out" / "usage.parquet").to_pandas()
    quarantine = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    return report, usage, quarantine


def test_ingest_counts_a_corrupt_file_as_its_rows_and_one_entry(tmp_path):
    """Two members, the second damaged: the first member's 20 rows, one entry for the rest."""
    corrupt = _member(LINES[:20]) + _flipped(_member(LINES[20:]), HEADER + 10 * BLOCK + 1)
    good = gzip.compress(b"".join(_line(100 + i) for i in range(5)), mtime=0)
    report, usage, quarantine = _ingest(
        tmp_path, {"a-corrupt.json.gz": corrupt, "b-good.json.gz": good}
    )
    assert (report.rows, report.quarantined, report.duplicates, report.lines_read) == (25, 1, 0, 26)
    assert report.lines_read == report.rows + report.quarantined + report.duplicates
    assert report.quarantine_by_reason == {DAMAGED_REASON: 1}
    assert [(q["source"], q["line"], q["reason"]) for q in quarantine] == [
        ("a-corrupt.json.gz", 21, DAMAGED_REASON)
    ]
    assert list(usage.request_id) == [f"r{i:02d}" for i in range(20)] + [
        f"r{i}" for i in range(100, 105)
    ]
    assert list(usage.input_tokens[:20]) == [100 + i for i in range(20)]


def test_ingest_of_a_checksum_failure_keeps_no_row_of_it(tmp_path):
    report, usage, quarantine = _ingest(tmp_path, {"crc.json.gz": _flipped(GZ, len(GZ) - 8)})
    assert (report.rows, report.quarantined, report.lines_read) == (0, 1, 1)
    assert [(q["source"], q["line"], q["reason"]) for q in quarantine] == [
        ("crc.json.gz", 1, CHECKSUM_REASON)
    ]
    assert len(usage) == 0


def test_ingest_of_padded_and_trailing_garbage_files(tmp_path):
    """Padding: all rows, no entry. Other trailing bytes: all rows and one entry that says
    only those bytes were not read."""
    report, usage, quarantine = _ingest(
        tmp_path,
        {
            "a-padded.json.gz": _member(LINES[:10]) + b"\0" * 4096,
            "b-garbage.json.gz": _member(LINES[10:20]) + b"\0\0tail",
        },
    )
    assert (report.rows, report.quarantined, report.duplicates, report.lines_read) == (20, 1, 0, 21)
    assert [(q["source"], q["line"], q["reason"]) for q in quarantine] == [
        ("b-garbage.json.gz", 11, _garbage_reason("6"))
    ]
    assert list(usage.request_id) == [f"r{i:02d}" for i in range(20)]


@pytest.mark.aws
def test_a_corrupt_s3_object_keeps_the_same_lines(aws_client, tmp_path):
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="bedrock-logs-corrupt")
    key = "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/a.json.gz"
    corrupt = _member(LINES[:20]) + _flipped(_member(LINES[20:]), HEADER + 10 * BLOCK + 1)
    s3.put_object(Bucket="bedrock-logs-corrupt", Key=key, Body=corrupt)
    report = ingest_to_folder(
        "s3://bedrock-logs-corrupt/",
        tmp_path,
        workers=1,
        progress=False,
        endpoint_url=s3.meta.endpoint_url,
    )
    assert (report.rows, report.quarantined, report.lines_read) == (20, 1, 21)
    assert report.quarantine_by_reason == {DAMAGED_REASON: 1}
