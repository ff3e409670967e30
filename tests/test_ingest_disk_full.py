"""A full disk (or quota) while the ingest writes its table, its companions or a scratch copy
is one error naming the folder and what needed the room, with nothing of the run left
behind. A small tmpfs is mounted for real where that is allowed (root), else those are
skipped; a quota is simulated."""

from __future__ import annotations

import errno
import gzip
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bedrock_finops import cli, ingest_output
from bedrock_finops.disk_space import megabytes
from bedrock_finops.ingest import IngestError, ingest_to_folder
from bedrock_finops.sources import file_ranges, large_text

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
TABLES = (
    "where the usage table (usage.parquet) and the prompts.parquet, quarantine.parquet and "
    "ingest_report.json beside it are written: free space there, or write the table to "
    "another disk (--out)"
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs, unmounted after the test."""
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True
        )
    except OSError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        done = subprocess.run(["umount", str(disk)], capture_output=True)
        if done.returncode != 0:  # a file on it still open: unmounted once it is closed
            subprocess.run(["umount", "--lazy", str(disk)], check=True)
            pytest.fail(f"{disk} could not be unmounted: {done.stderr.decode().strip()}")


def _month_of_records(count: int) -> str:
    """``count`` copies of the first good record, each its own requestId, as NDJSON text."""
    record = json.loads((GOOD / "part-1.json").read_text().splitlines()[0])
    return "".join(json.dumps({**record, "requestId": f"r{i}"}) + "\n" for i in range(count))


def _open_on(disk: Path) -> list[str]:
    """The files on ``disk`` this process holds open (a removed one keeps its space)."""
    fds = Path("/proc/self/fd")
    found = []
    for fd in fds.iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:  # the one that listed the folder, closed since
            continue
    return [t for t in found if t.startswith(str(disk))]


def _fill(disk: Path) -> None:
    """Fill ``disk`` to its last byte."""
    with open(disk / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_a_full_disk_is_one_error_line_and_leaves_nothing(small_disk, capsys):
    _fill(small_disk)
    code = cli.main(["ingest", "--source", str(GOOD), "--out", str(small_disk / "usage.parquet")])
    err = capsys.readouterr().err
    assert (code, err) == (2, f"error: no space left on the disk in {small_disk}, {TABLES}\n")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_a_full_disk_leaves_the_earlier_run_as_it_was(small_disk):
    out = small_disk / "out"
    ingest_to_folder(GOOD, out, workers=1, progress=False)
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    _fill(small_disk)
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, out, workers=1, progress=False)
    assert str(err.value) == f"no space left on the disk in {out}, {TABLES}"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    assert _open_on(small_disk) == []


def test_a_gzip_files_scratch_copy_that_does_not_fit_is_told_with_its_size(
    small_disk, tmp_path, monkeypatch
):
    """The copy needs the decompressed size: said, not read whole as "unreadable now" with
    the half copy filling the disk until the end."""
    monkeypatch.setattr(file_ranges, "GZIP_EXPAND_PLAIN_BYTES", 1 << 20)
    text = _month_of_records(4_000)
    source = tmp_path / "logs" / "month.jsonl.gz"
    source.parent.mkdir()
    source.write_bytes(gzip.compress(text.encode(), mtime=0))
    assert len(text) > 3_000_000  # more than the 2 MB disk holds
    with pytest.raises(IngestError) as err:
        ingest_to_folder(source.parent, small_disk, workers=1, progress=False)
    assert str(err.value) == (
        f"no space left on the disk in {small_disk}: month.jsonl.gz "
        f"({megabytes(source.stat().st_size)} of gzip) is decompressed to a scratch copy there "
        "to be read in parallel, and the copy needs the file's decompressed size, about "
        f"{megabytes(len(text))} by its gzip trailer. Free that much there, or write the "
        "table to a disk with room (--out); the copy is removed"
    )
    assert list(small_disk.iterdir()) == []


def test_text_copied_as_it_is_decompressed_that_does_not_fit_is_told(
    small_disk, tmp_path, monkeypatch
):
    """A gzip file whose text passes the limit held in memory (1 MB here, for 256 MB) only as
    it is decompressed goes on to a scratch copy next to the table: with no room for it, the
    run ends saying so, and nothing of it is left."""
    monkeypatch.setattr(large_text, "HELD_TEXT_BYTES", 1 << 20)
    text = _month_of_records(2_500)
    source = tmp_path / "logs" / "month.jsonl.gz"
    source.parent.mkdir()
    source.write_bytes(gzip.compress(text.encode(), mtime=0))
    assert len(text) > 3_000_000 and not file_ranges.worth_expanding(source, 200_000)
    with pytest.raises(IngestError) as err:
        ingest_to_folder(source.parent, small_disk, workers=1, progress=False)
    assert str(err.value) == (
        f"no space left on the disk in {small_disk}: month.jsonl.gz decompresses to more than "
        "1 MB of text, which is copied to a scratch file there to be read a line at a time "
        "rather than held in memory, and the copy needs the file's decompressed size, at "
        f"least the {megabytes(len(text))} decompressed so far. Free that much there, or "
        "write the table to a disk with room (--out); the copy is removed"
    )  # (its text decompressed in one piece: all of it so far)
    assert list(small_disk.iterdir()) == [] and _open_on(small_disk) == []


def test_utf16_text_decoded_to_a_scratch_copy_that_does_not_fit_is_told_as_decoded(
    small_disk, tmp_path, monkeypatch
):
    """A plain UTF-16 file is not decompressed: its text is decoded to a UTF-8 copy past the
    limit held in memory (1 MB here, for 256 MB), so the error says that and the size of that
    copy, not a decompressed size the file does not have."""
    monkeypatch.setattr(large_text, "HELD_TEXT_BYTES", 1 << 20)
    text = _month_of_records(2_500)
    source = tmp_path / "logs" / "month.json"
    source.parent.mkdir()
    source.write_bytes(text.encode("utf-16"))
    assert len(text) > 3_000_000  # its UTF-8 copy is more than the 2 MB disk holds
    with pytest.raises(IngestError) as err:
        ingest_to_folder(source.parent, small_disk, workers=1, progress=False)
    assert str(err.value) == (
        f"no space left on the disk in {small_disk}: month.json is UTF-16 text of more than "
        "1 MB once decoded, which is decoded to a UTF-8 copy in a scratch file there to be "
        "read a line at a time rather than held in memory (its line breaks are more than one "
        "byte), and the copy needs the text's size in UTF-8, at least the "
        f"{megabytes(len(text) + 3)} decoded so far. Free that much there, or write the table "
        "to a disk with room (--out); the copy is removed"
    )  # (its text decoded in one piece, after UTF-8's byte-order mark: all of it so far)
    assert list(small_disk.iterdir()) == [] and _open_on(small_disk) == []


def test_json_documents_kept_in_a_scratch_copy_that_does_not_fit_are_told_as_records(
    small_disk, tmp_path, monkeypatch
):
    """A plain JSON array past the limit held in memory (1 MB here, for 256 MB) is read from
    itself, and its records' lines, past that limit, are kept in a scratch file: nothing in it
    is decompressed, so the error says what the copy holds."""
    monkeypatch.setattr(large_text, "HELD_TEXT_BYTES", 1 << 20)
    records = _month_of_records(2_500).splitlines()
    source = tmp_path / "logs" / "month.json"
    source.parent.mkdir()
    source.write_text("[" + ",\n".join(records) + "]\n")
    assert source.stat().st_size > 3_000_000
    with pytest.raises(IngestError) as err:
        ingest_to_folder(source.parent, small_disk, workers=1, progress=False)
    assert str(err.value) == (
        f"no space left on the disk in {small_disk}: month.json is a file of JSON documents "
        "of more than 1 MB, whose records are kept in a scratch file there, a line each, to be "
        "read one at a time rather than held in memory, and the copy needs about the size of "
        "its text, at least the 2 MB of records made so far. Free that much there, or write "
        "the table to a disk with room (--out); the copy is removed"
    )
    assert list(small_disk.iterdir()) == [] and _open_on(small_disk) == []


def test_an_expansion_that_fills_the_disk_leaves_no_half_copy(small_disk, tmp_path):
    text = b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, b"x" * 200) for i in range(20_000))
    source = tmp_path / "big.jsonl.gz"
    source.write_bytes(gzip.compress(text, mtime=0))
    with pytest.raises(file_ranges.NoRoomToExpand) as err:
        file_ranges.expand_gzip(source, small_disk / "scratch")
    assert err.value.error.errno == errno.ENOSPC
    assert (err.value.expected, 0 < err.value.written <= len(text)) == (len(text), True)
    assert list((small_disk / "scratch").iterdir()) == []


def test_a_quota_reached_as_the_table_is_opened_leaves_no_partial_file(tmp_path, monkeypatch):
    """The table's file is made before its first write fails: no empty partial is left."""

    def over_quota(path):
        Path(path).touch()
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(ingest_output, "usage_writer", over_quota)
    out = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, out, workers=1, progress=False)
    assert str(err.value) == f"disk quota exceeded in {out}, {TABLES}"
    assert not out.exists()  # made for the run, and taken back


def test_a_large_s3_object_that_does_not_fit_is_told_and_removed(tmp_path, monkeypatch):
    from bedrock_finops.sources import invocation_logs as logs
    from bedrock_finops.sources.source_errors import SourceError

    def download(bucket, key, path, *args):
        path.write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(logs, "download_s3_object", download)
    unit = logs.Unit("s3", "s3://b/month.json.gz", "month.json.gz", bucket="b", size=900 << 20)
    listing = logs.Listing(units=[unit])
    scratch = tmp_path / ".expanded-1-0123456789ab"
    with pytest.raises(SourceError) as err:
        logs.localise_large_objects(listing, scratch)
    assert str(err.value) == (
        f"no space left on the disk in {tmp_path}: the S3 object s3://b/month.json.gz (944 MB) "
        "is downloaded to a scratch copy there to be read in parallel, and needs that much room "
        "(a gzip one, its decompressed size as well). Free it there, or write the table to a "
        "disk with room (--out); the copy is removed"
    )
    assert [p for p in scratch.rglob("*") if p.is_file()] == []


def test_nothing_is_left_when_the_output_folder_cannot_hold_the_scratch_folder(
    tmp_path, monkeypatch
):
    from bedrock_finops import scratch_folders

    def no_room(parent, prefix):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(scratch_folders, "make", no_room)
    out = tmp_path / "out"
    with pytest.raises(IngestError) as err:
        ingest_to_folder(GOOD, out, workers=1, progress=False)
    assert str(err.value) == f"no space left on the disk in {out}, {TABLES}"
    assert not out.exists()


@pytest.mark.aws
def test_an_s3_objects_text_is_copied_beside_the_table_too(
    small_disk, tmp_path, monkeypatch, aws_client
):
    """An S3 object read whole (too small to be downloaded first) whose text passes the limit
    held in memory (1 MB here, for 256 MB) is copied to the scratch folder next to the table,
    as a local file's is, not to the system's temporary folder: with no room there, the run
    ends naming the output folder, and nothing of it is left. (TMPDIR has room here.)"""
    monkeypatch.setattr(large_text, "HELD_TEXT_BYTES", 1 << 20)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    text = _month_of_records(2_500)
    s3 = aws_client("s3")
    s3.create_bucket(Bucket="bedrock-logs-scratch")
    key = "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/month.jsonl.gz"
    s3.put_object(Bucket="bedrock-logs-scratch", Key=key, Body=gzip.compress(text.encode()))
    with pytest.raises(IngestError) as err:
        ingest_to_folder(
            "s3://bedrock-logs-scratch/", small_disk, workers=1, progress=False, s3_client=s3
        )
    assert str(err.value).startswith(
        f"no space left on the disk in {small_disk}: AWSLogs/1/BedrockModelInvocationLogs/"
        "us-east-1/2025/06/02/11/month.jsonl.gz decompresses to more than 1 MB of text, which "
        "is copied to a scratch file there"
    )
    assert list(small_disk.iterdir()) == [] and _open_on(small_disk) == []
    assert list(tmpdir.iterdir()) == []
