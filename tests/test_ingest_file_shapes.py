"""Log files in other shapes than AWS's NDJSON: a byte-order mark, other names (.jsonl,
.ndjson, .gz alone, gzip told by content), a JSON array or pretty-printed records,
CloudWatch Logs export task lines and envelopes (CLI output, subscription payloads through
Firehose). Each gives the
rows the same records give as NDJSON."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from record_rows import fixture_record

from bedrock_finops.ingest import IngestError, ingest_to_folder, read_invocation_logs
from bedrock_finops.sources.document_files import as_ndjson
from bedrock_finops.sources.invocation_logs import ARCHIVE, EMPTY, NOT_A_LOG
from bedrock_finops.sources.log_decoding import Decoded

RECORDS = [fixture_record("r1"), fixture_record("r2"), fixture_record("r3")]
NDJSON = "".join(json.dumps(r) + "\n" for r in RECORDS)


def _events(records: list[dict]) -> list[dict]:
    return [
        {"timestamp": 1748862060000 + i, "message": json.dumps(r)} for i, r in enumerate(records)
    ]


def _ingest(folder: Path, tmp_path: Path):
    return ingest_to_folder(folder, tmp_path / "out", workers=1, progress=False)


def _rows(folder: Path) -> pd.DataFrame:
    df = read_invocation_logs(folder, workers=1, progress=False)
    return df.drop(columns="source_file").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("ndjson")
    (folder / "plain.json").write_text(NDJSON)
    return _rows(folder)


SHAPES = {
    "byte-order mark": ("a.json", b"\xef\xbb\xbf" + NDJSON.encode()),
    "jsonl name": ("a.jsonl", NDJSON.encode()),
    "ndjson.gz name": ("a.ndjson.gz", gzip.compress(NDJSON.encode(), mtime=0)),
    "gzip under a .json name": ("a.json", gzip.compress(NDJSON.encode(), mtime=0)),
    "plain text under a .gz name": ("a.json.gz", NDJSON.encode()),
    "a .gz name alone": ("000000.gz", gzip.compress(NDJSON.encode(), mtime=0)),
    "array, pretty-printed": ("a.json", json.dumps(RECORDS, indent=2).encode()),
    "array on one line, gzipped": ("a.json.gz", gzip.compress(json.dumps(RECORDS).encode())),
    "pretty-printed records back to back": (
        "a.json",
        "\n".join(json.dumps(r, indent=4) for r in RECORDS).encode(),
    ),
    "CloudWatch Logs export task lines": (
        "000000.gz",
        gzip.compress(
            "".join(
                f"2025-06-02T11:01:0{i}.000Z {json.dumps(r)}\n" for i, r in enumerate(RECORDS)
            ).encode()
        ),
    ),
    "aws logs filter-log-events output": (
        "events.json",
        json.dumps({"events": _events(RECORDS), "searchedLogStreams": []}, indent=4).encode(),
    ),
    "subscription payloads through Firehose": (
        "firehose.json.gz",
        gzip.compress(
            (
                json.dumps({"messageType": "CONTROL_MESSAGE", "logEvents": _events([{"x": 1}])})
                + json.dumps({"messageType": "DATA_MESSAGE", "logEvents": _events(RECORDS[:2])})
                + json.dumps({"messageType": "DATA_MESSAGE", "logEvents": _events(RECORDS[2:])})
            ).encode()
        ),
    ),
}
# the same Firehose object as a stream with no compression set writes it (the subscription's
# payloads are gzipped already): its name has no extension
FIREHOSE_NAME = "bedrock-logs-1-2025-06-02-11-05-00-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
SHAPES["subscription payloads through Firehose, no extension"] = (
    FIREHOSE_NAME,
    SHAPES["subscription payloads through Firehose"][1],
)


@pytest.mark.parametrize("shape", SHAPES)
def test_other_shapes_give_the_ndjson_rows(shape, tmp_path, reference):
    name, data = SHAPES[shape]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / name).write_bytes(data)
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantined) == (3, 3, 0)
    # the Firehose file's health check is no record and no line, but it is counted
    assert report.control_messages == shape.startswith("subscription payloads through Firehose")
    pd.testing.assert_frame_equal(_rows(tmp_path / "logs"), reference)


def test_a_bad_record_in_an_array_is_quarantined_at_its_position(tmp_path):
    records = [RECORDS[0], {k: v for k, v in RECORDS[1].items() if k != "requestId"}, RECORDS[2]]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps(records, indent=2))
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantined) == (3, 2, 1)
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(r["source"], r["line"], r["reason"]) for r in q] == [
        ("a.json", 2, "missing requestId")
    ]


def test_an_event_message_that_is_not_json_is_quarantined(tmp_path):
    events = _events(RECORDS[:1]) + [{"timestamp": 1, "message": "START RequestId: abc"}]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "events.json").write_text(json.dumps({"events": events}, indent=2))
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantine_by_reason) == (
        2,
        1,
        {"invalid JSON": 1},
    )


NOTICE = "Permissions are correctly set for Amazon Bedrock logs."
# Bedrock's set-up event, in each CloudWatch Logs form read from a file, before the records
NOTICE_FORMS = {
    "aws logs filter-log-events output": (
        "events.json",
        json.dumps(
            {"events": [{"timestamp": 1748862000000, "message": NOTICE}] + _events(RECORDS)}
        ).encode(),
    ),
    "CloudWatch Logs export task lines": (
        "000000.gz",
        gzip.compress(
            (
                f"2025-06-02T11:00:00.000Z {NOTICE}\n"
                + "".join(
                    f"2025-06-02T11:01:0{i}.000Z {json.dumps(r)}\n" for i, r in enumerate(RECORDS)
                )
            ).encode()
        ),
    ),
    "subscription payloads through Firehose": (
        "firehose.json.gz",
        gzip.compress(
            json.dumps(
                {
                    "messageType": "DATA_MESSAGE",
                    "logEvents": [
                        {"id": "0", "timestamp": 1748862000000, "message": f" {NOTICE}\n"},
                        *_events(RECORDS),
                    ],
                }
            ).encode()
        ),
    ),
    "NDJSON of event messages": ("a.json", f"{NOTICE}\n{NDJSON}".encode()),
}


@pytest.mark.parametrize("form", NOTICE_FORMS)
def test_the_cloudwatch_set_up_notice_is_left_out_and_counted(form, tmp_path, reference):
    """Bedrock writes one plain-text event to a log group when logging to it is set up: no
    record, as the S3 delivery's permission-check object is none. It is no line read (not
    quarantined as invalid JSON) and is counted apart, in the report and the summary."""
    name, data = NOTICE_FORMS[form]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / name).write_bytes(data)
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantined) == (3, 3, 0)
    assert report.setup_notices == 1
    assert (
        'set-up notices    1 (Bedrock\'s "Permissions are correctly set" CloudWatch Logs '
        "event, no record)"
    ) in report.summary().splitlines()
    pd.testing.assert_frame_equal(_rows(tmp_path / "logs"), reference)


WINDOWS = [("2025-06-02T00:00Z", "2025-06-02T12:00Z"), ("2025-06-02T12:00Z", "2025-06-03")]


def _counts_by_window(folder: Path, out: Path, field: str) -> list[int]:
    """``field`` of the report of each of two adjacent windows over ``folder``."""
    return [
        getattr(
            ingest_to_folder(folder, out / str(i), start, end, workers=1, progress=False), field
        )
        for i, (start, end) in enumerate(WINDOWS)
    ]


def _dated(tmp_path: Path, name: str, data: bytes) -> Path:
    """``data`` as ``name`` in the date folder of 2025-06-02 11:00."""
    hour = tmp_path / "dated" / "us-east-1" / "2025" / "06" / "02" / "11"
    hour.mkdir(parents=True)
    (hour / name).write_bytes(data)
    return tmp_path / "dated"


def test_a_windowed_run_counts_a_health_check_only_where_it_can_date_it(tmp_path):
    """A Firehose file's CONTROL_MESSAGE is counted as a set-up notice is: by the window that
    holds its date folder's hour, never by every window reading an undated file."""
    name, data = SHAPES["subscription payloads through Firehose"]
    (tmp_path / "undated").mkdir()
    (tmp_path / "undated" / name).write_bytes(data)
    field = "control_messages"
    assert _counts_by_window(_dated(tmp_path, name, data), tmp_path / "o1", field) == [1, 0]
    assert _counts_by_window(tmp_path / "undated", tmp_path / "o2", field) == [0, 0]


@pytest.mark.parametrize("form", NOTICE_FORMS)
def test_a_windowed_run_counts_a_notice_only_where_it_can_date_it(form, tmp_path):
    """A file outside date folders is read by every window (its records are kept by their own
    timestamps), but the notice's event time is not read there: windowed runs leave it
    uncounted, so adjacent windows never each count it (three windows counted it three times)."""
    name, data = NOTICE_FORMS[form]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / name).write_bytes(data)
    assert _counts_by_window(tmp_path / "logs", tmp_path / "o1", "setup_notices") == [0, 0]
    assert _ingest(tmp_path / "logs", tmp_path).setup_notices == 1  # no window: counted
    # in a date folder, the window that holds the folder's hour counts it
    dated = _dated(tmp_path, name, data)
    assert _counts_by_window(dated, tmp_path / "o2", "setup_notices") == [1, 0]


@pytest.mark.parametrize(
    "message",
    [
        NOTICE.lower(),
        NOTICE.rstrip("."),
        f"{NOTICE} (again)",
        f"INFO {NOTICE}",
        f"2025-06-02T11:00:00.000Z{NOTICE}",  # an export line has white space after the time
        f"{NOTICE} {NOTICE}",
    ],
)
def test_only_the_notice_itself_is_left_out(message, tmp_path):
    """Anything else that is no JSON stays a quarantined line: only the exact text is
    Bedrock's notice."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(f"{message}\n{json.dumps(RECORDS[0])}\n")
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.setup_notices) == (2, 1, 0)
    assert report.quarantine_by_reason == {"invalid JSON": 1}


def test_a_broken_array_keeps_the_records_that_read():
    """Not read as NDJSON line by line: the record the file ends in is one damaged line
    (tests/test_ingest_document_files.py has the other kinds of damage)."""
    data = b'[\n  {"requestId": "a"},\n  {"requestId": '
    decoded = as_ndjson(Decoded(data))
    assert decoded.lines == [b'{"requestId":"a"}', b'{"requestId":']
    assert decoded.damaged == {
        1: "invalid JSON in a JSON-array file (record 2, line 3: cut off by the end of the file)"
    }


def test_ndjson_is_left_as_it_is():
    data = NDJSON.encode()
    decoded = as_ndjson(Decoded(data))
    assert decoded.events is None and decoded.data is data


def _zipped(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.json", text)
    return buffer.getvalue()


# what follows a format's header where Python has no compressor for it: bytes holding line
# breaks, as compressed data does (only the header is read)
_BODY = bytes(range(256)) * 4
# a file compressed with something other than gzip, under a log file's name: (file, bytes,
# the reason of its one entry)
OTHER_COMPRESSIONS = {
    "bzip2": (
        "a.json.gz",
        bz2.compress(NDJSON.encode()),
        "compressed with bzip2, not gzip: decompress it (bunzip2) or re-compress it with gzip",
    ),
    "xz": (
        "b.json.gz",
        lzma.compress(NDJSON.encode()),
        "compressed with xz, not gzip: decompress it (unxz) or re-compress it with gzip",
    ),
    "zstd": (
        "c.json.gz",
        b"\x28\xb5\x2f\xfd" + _BODY,
        "compressed with zstd, not gzip: decompress it (unzstd) or re-compress it with gzip",
    ),
    "lz4": (
        "d.json",
        b"\x04\x22\x4d\x18" + _BODY,
        "compressed with lz4, not gzip: decompress it (unlz4) or re-compress it with gzip",
    ),
    "Snappy": (
        "e.json.gz",
        b"\xff\x06\x00\x00sNaPpY" + _BODY,
        "compressed with Snappy (framed), not gzip: decompress it (python -m snappy -d) or "
        "re-compress it with gzip",
    ),
    "compress": (
        "f.json.gz",
        b"\x1f\x9d\x90" + _BODY,
        "compressed with compress (.Z), not gzip: decompress it (uncompress, or gzip -d) or "
        "re-compress it with gzip",
    ),
    "zip": (
        "g.json.gz",
        _zipped(NDJSON),
        "a zip archive, not gzip: unpack it (unzip) and read the files it gives",
    ),
    "7z": (
        "h.json",
        b"7z\xbc\xaf\x27\x1c\x00\x04" + _BODY,
        "a 7z archive, not gzip: unpack it (7z x) and read the files it gives",
    ),
}


def _quarantine(out: Path) -> list[tuple]:
    q = pq.read_table(out / "quarantine.parquet").to_pylist()
    return [(r["source"], r["line"], r["reason"], r["excerpt"]) for r in q]


def test_a_file_compressed_with_another_tool_is_one_entry_naming_it(tmp_path):
    """Read as text, its bytes were an ``invalid JSON`` entry per line break in them; the
    file is one line read and one entry whose reason names the format and the fix, as an
    unreadable file is. The plain file beside them is read as ever."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "plain.json").write_text(NDJSON)
    for name, data, _ in OTHER_COMPRESSIONS.values():
        (tmp_path / "logs" / name).write_bytes(data)
    report = _ingest(tmp_path / "logs", tmp_path)
    n = len(OTHER_COMPRESSIONS)
    assert (report.files_read, report.lines_read, report.rows, report.quarantined) == (
        n + 1,
        n + 3,
        3,
        n,
    )
    assert sorted(_quarantine(tmp_path / "out")) == sorted(
        (name, 1, reason, "") for name, _, reason in OTHER_COMPRESSIONS.values()
    )
    assert report.quarantine_by_reason == {r: 1 for _, _, r in OTHER_COMPRESSIONS.values()}


S3_FOLDER = "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/11/"


def _ingest_s3(aws_client, tmp_path: Path, bucket: str, objects: dict[str, bytes]):
    """Put ``objects`` (name -> bytes) in one hour folder of a moto bucket and ingest it."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=bucket)
    for name, data in objects.items():
        s3.put_object(Bucket=bucket, Key=S3_FOLDER + name, Body=data)
    return ingest_to_folder(
        f"s3://{bucket}/", tmp_path / "out", workers=1, progress=False,
        endpoint_url=s3.meta.endpoint_url,
    )  # fmt: skip


@pytest.mark.aws
def test_an_s3_object_compressed_with_another_tool_is_one_entry(aws_client, tmp_path):
    objects = {OTHER_COMPRESSIONS[f][0]: OTHER_COMPRESSIONS[f][1] for f in ("bzip2", "xz")}
    report = _ingest_s3(
        aws_client, tmp_path, "bedrock-logs-bz2", {**objects, "plain.json": NDJSON.encode()}
    )
    assert (report.files_read, report.lines_read, report.rows, report.quarantined) == (3, 5, 3, 2)
    assert _quarantine(tmp_path / "out") == [
        (S3_FOLDER + "a.json.gz", 1, OTHER_COMPRESSIONS["bzip2"][2], ""),
        (S3_FOLDER + "b.json.gz", 1, OTHER_COMPRESSIONS["xz"][2], ""),
    ]


def test_files_that_are_not_logs_are_listed_as_skipped(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(NDJSON)
    (tmp_path / "logs" / "README.txt").write_text("notes")
    (tmp_path / "logs" / "old.tar.gz").write_bytes(gzip.compress(b"an archive"))
    # Firehose's name with something other than a UUID at its end is no Firehose object
    (tmp_path / "logs" / "stream-1-2025-06-02-11-05-00-notes").write_text("notes")
    report = _ingest(tmp_path / "logs", tmp_path)
    assert report.rows == 3
    assert report.files_skipped == [
        {"file": "README.txt", "reason": NOT_A_LOG},
        {"file": "old.tar.gz", "reason": ARCHIVE},
        {"file": "stream-1-2025-06-02-11-05-00-notes", "reason": NOT_A_LOG},
    ]


@pytest.mark.parametrize("source", ["logs", "logs/old.tar.gz"])
def test_a_source_of_only_tar_archives_says_to_unpack_them(tmp_path, source):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "old.tar.gz").write_bytes(gzip.compress(b"an archive"))
    where = "in" if source.endswith(".gz") else "under"
    with pytest.raises(
        IngestError,
        match=rf"no invocation log files {where} .*only tar archives "
        r"\(old.tar.gz\): unpack them \(tar -xf\)",
    ):
        _ingest(tmp_path / source, tmp_path)


def test_empty_files_are_listed_as_skipped_not_read(tmp_path):
    """A 0-byte file holds no record and is no line; it is named in the report rather than
    counted as read with no trace."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(NDJSON)
    for name in ("empty.json", "empty.jsonl", "empty.json.gz"):
        (tmp_path / "logs" / name).write_bytes(b"")
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.files_read, report.lines_read, report.rows, report.quarantined) == (1, 3, 3, 0)
    assert report.files_skipped == [
        {"file": "empty.json", "reason": "empty file"},
        {"file": "empty.json.gz", "reason": "empty file"},
        {"file": "empty.jsonl", "reason": "empty file"},
    ]


def test_a_folder_of_empty_files_is_an_empty_table_not_an_error(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json.gz").write_bytes(b"")
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.files_read, report.lines_read, report.rows) == (0, 0, 0)
    assert report.files_skipped == [{"file": "a.json.gz", "reason": EMPTY}]
    assert pq.read_table(tmp_path / "out" / "usage.parquet").num_rows == 0


@pytest.mark.aws
def test_an_empty_s3_object_is_listed_as_skipped(aws_client, tmp_path):
    report = _ingest_s3(
        aws_client, tmp_path, "bedrock-logs-empty", {"a.json.gz": b"", "b.json": NDJSON.encode()}
    )
    assert (report.files_read, report.lines_read, report.rows) == (1, 3, 3)
    assert report.files_skipped == [{"file": S3_FOLDER + "a.json.gz", "reason": EMPTY}]


def test_a_timestamp_before_a_broken_record_is_still_invalid_json(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text('2025-06-02T11:01:00.000Z {"requestId": \n')
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantine_by_reason) == (
        1,
        0,
        {"invalid JSON": 1},
    )


def test_a_record_too_deep_after_a_timestamp_is_nested_too_deep_as_on_its_own(tmp_path):
    """A record nested deeper than orjson reads gets the same reason on an export task's line
    as on its own: the line's error stops at the timestamp, and said "invalid JSON"."""
    deep = '{"a":' * 2000 + "1" + "}" * 2000
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(
        f"{deep}\n2025-06-02T11:04:00.000Z {deep}\n"
        f"2025-06-02T11:05:00.000Z {json.dumps(RECORDS[0])}\n"
        f'2025-06-02T11:06:00.000Z {{"requestId": [[[\n'
    )
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantine_by_reason) == (
        4,
        1,
        {"nested too deep to read": 2, "invalid JSON": 1},
    )
    quarantine = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(q["line"], q["reason"]) for q in quarantine] == [
        (1, "nested too deep to read"),
        (2, "nested too deep to read"),
        (4, "invalid JSON"),
    ]


def test_a_record_orjson_cannot_write_back_is_quarantined_alone(tmp_path):
    wide = dict(RECORDS[1], input=dict(RECORDS[1]["input"], inputTokenCount=2**70))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps([RECORDS[0], wide], indent=2))
    report = _ingest(tmp_path / "logs", tmp_path)
    assert (report.lines_read, report.rows, report.quarantined) == (2, 1, 1)
