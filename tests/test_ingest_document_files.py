"""Files of JSON documents (a JSON array, pretty-printed records back to back) with damage.

A file that does not parse keeps every record that reads: the damaged part is one quarantine
entry per damaged record (or per unreadable stretch), whose reason says what was wrong and
where, and ``lines_read = rows + quarantined + duplicates`` holds: a document file's lines
are its records plus its damaged stretches. NaN and Infinity are not JSON there either, deep
nesting is one entry, not the end of the run, and UTF-16 or UTF-32 text is read as UTF-8.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from record_rows import FIXTURE_RECORD, fixture_record

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.sources import document_files
from bedrock_finops.sources.document_files import (
    as_ndjson,
    json_document_lines,
    looks_like_documents,
)
from bedrock_finops.sources.file_ranges import line_ranges
from bedrock_finops.sources.log_decoding import Decoded

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"


def _with_input_tokens(request_id: str, value) -> dict:
    rec = fixture_record(request_id)
    rec["input"]["inputTokenCount"] = value
    return rec


RECORDS = [fixture_record("r1"), fixture_record("r2"), fixture_record("r3")]
TOKENS = (FIXTURE_RECORD["input"]["inputTokenCount"], FIXTURE_RECORD["output"]["outputTokenCount"])
PRETTY = json.dumps(RECORDS, indent=2)
COMPACT = json.dumps(RECORDS)
BACK_TO_BACK = "\n".join(json.dumps(r, indent=4) for r in RECORDS)
NDJSON = "".join(json.dumps(r) + "\n" for r in RECORDS)


def _ingest(tmp_path: Path, files: dict[str, bytes | str], workers: int = 1, **kw):
    logs = tmp_path / "logs"
    for name, data in files.items():
        path = logs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    out = tmp_path / "out"
    report = ingest_to_folder(logs, out, workers=workers, progress=False, **kw)
    assert report.lines_read == report.rows + report.quarantined + report.duplicates
    usage = pq.read_table(out / "usage.parquet").to_pandas()
    quarantine = [
        (q["source"], q["line"], q["reason"])
        for q in pq.read_table(out / "quarantine.parquet").to_pylist()
    ]
    rows = list(zip(usage.request_id, usage.input_tokens, usage.output_tokens, strict=True))
    return report, rows, quarantine


def _rows(*ids: str) -> list[tuple]:
    return [(i, *TOKENS) for i in ids]


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _column(text: str, pos: int) -> int:
    return pos - text.rfind("\n", 0, pos)


def _start_of(text: str, request_id: str) -> int:
    """Where the record with ``request_id`` starts: the brace before its first key."""
    key = text.rindex('"schemaType"', 0, text.index(f'"requestId": "{request_id}'))
    return text.rindex("{", 0, key)


def _lines_of_r2(text: str) -> str:
    """The lines record r2 spans, up to where r3 starts."""
    start = _start_of(text, "r2")
    end = len(text[: _start_of(text, "r3")].rstrip().rstrip(",").rstrip()) - 1
    first, last = _line(text, start), _line(text, end)
    return f"line {first}" if first == last else f"lines {first}-{last}"


# ------------------------------------------------------------------ one syntax error


@pytest.mark.parametrize(("shape", "text"), [("compact", COMPACT), ("pretty", PRETTY)])
def test_a_trailing_comma_keeps_every_record_and_is_one_entry(tmp_path, shape, text):
    damaged = text[: text.rindex("]")].rstrip() + ",\n]"
    comma = damaged.rindex(",")
    report, rows, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert rows == _rows("r1", "r2", "r3")
    assert quarantine == [
        (
            "a.json",
            4,
            "invalid JSON in a JSON-array file (trailing comma after record 3, "
            f"line {_line(damaged, comma)})",
        )
    ]
    assert (report.lines_read, report.rows, report.quarantined) == (4, 3, 1)


@pytest.mark.parametrize(
    ("shape", "text"),
    [("compact", COMPACT), ("pretty", PRETTY), ("back to back", BACK_TO_BACK)],
)
def test_a_bad_token_in_a_record_costs_that_record_only(tmp_path, shape, text):
    damaged = text.replace('"requestId": "r2"', '"requestId": "r2", "x": tru', 1)
    bad = damaged.index("tru,")
    report, rows, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert rows == _rows("r1", "r3")
    kind = "a file of JSON documents" if shape == "back to back" else "a JSON-array file"
    where = _lines_of_r2(damaged)
    assert quarantine == [
        (
            "a.json",
            2,
            f"invalid JSON in {kind} (record 2, {where}: Expecting value at line "
            f"{_line(damaged, bad)} column {_column(damaged, bad)})",
        )
    ]
    assert (report.lines_read, report.rows, report.quarantined) == (3, 2, 1)


def test_a_pretty_file_with_a_bad_token_is_not_an_entry_per_physical_line(tmp_path):
    """It used to be read as NDJSON once it did not parse: one ``invalid JSON`` entry per
    physical line (over 100 here) and no row."""
    damaged = PRETTY.replace('"requestId": "r2"', '"requestId": "r2", "x": tru', 1)
    assert len(damaged.splitlines()) > 100
    report, _, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert (report.lines_read, report.rows, len(quarantine)) == (3, 2, 1)


@pytest.mark.parametrize(("shape", "text"), [("compact", COMPACT), ("pretty", PRETTY)])
def test_an_array_cut_after_two_records_keeps_them(tmp_path, shape, text):
    start = _start_of(text, "r3")
    cut = text[: text.index('"requestId": "r3"') + 10]
    report, rows, quarantine = _ingest(tmp_path, {"a.json": cut})
    assert rows == _rows("r1", "r2")
    first, last = _line(cut, start), _line(cut, len(cut) - 1)
    lines = f"line {first}" if first == last else f"lines {first}-{last}"
    assert quarantine == [
        (
            "a.json",
            3,
            f"invalid JSON in a JSON-array file (record 3, {lines}: cut off by the end of the "
            "file)",
        )
    ]
    assert (report.lines_read, report.rows, report.quarantined) == (3, 2, 1)


def test_an_array_cut_between_records_keeps_them_all(tmp_path):
    cut = COMPACT[: COMPACT.rindex("]")]
    report, rows, quarantine = _ingest(tmp_path, {"a.json": cut})
    assert rows == _rows("r1", "r2", "r3")
    assert quarantine == [
        (
            "a.json",
            4,
            "invalid JSON in a JSON-array file (the file ends inside the array after record 3, "
            "line 1)",
        )
    ]


def test_a_stray_quote_in_a_record_costs_that_record_only(tmp_path):
    """The quote turns the rest of the file inside out for a bracket count: the walk finds
    the next record by reading it, not by counting brackets."""
    damaged = PRETTY.replace('"requestId": "r2"', '"requestId": "r2', 1)
    report, rows, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert rows == _rows("r1", "r3")
    at = damaged.index('"r2,') + 4  # the line break the string runs into
    assert quarantine == [
        (
            "a.json",
            2,
            f"invalid JSON in a JSON-array file (record 2, {_lines_of_r2(damaged)}: Invalid "
            f"control character at line {_line(damaged, at)} column {_column(damaged, at)})",
        )
    ]
    assert (report.lines_read, report.rows, report.quarantined) == (3, 2, 1)


@pytest.mark.parametrize(
    ("damaged", "what"),
    [
        (COMPACT.replace("}}, {", "}} {", 1), "missing comma after record 1, line 1"),
        (COMPACT.replace("}}, {", "}},, {", 1), "extra comma after record 1, line 1"),
        ("[," + COMPACT[1:], "extra comma after the array's [, line 1"),
    ],
)
def test_a_missing_or_extra_comma_loses_no_record(tmp_path, damaged, what):
    report, rows, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert rows == _rows("r1", "r2", "r3")
    line = 1 if damaged.startswith("[,") else 2
    assert quarantine == [("a.json", line, f"invalid JSON in a JSON-array file ({what})")]
    assert (report.lines_read, report.rows, report.quarantined) == (4, 3, 1)


@pytest.mark.parametrize(
    ("damaged", "line", "what"),
    [
        (COMPACT.replace("}}, {", "}}}, {", 1), 2, "extra } after record 1, line 1"),
        (COMPACT.replace("}}, {", "}}, }{", 1), 2, "extra } after record 1, line 1"),
        (COMPACT.replace("}}, {", "}}}}}, {", 1), 2, "3 extra } after record 1, line 1"),
        (COMPACT[: COMPACT.rindex("]")] + "}]", 4, "extra } after record 3, line 1"),
        ("[}" + COMPACT[1:], 1, "extra } after the array's [, line 1"),
        (
            PRETTY.replace("\n  },\n  {", "\n  }\n  }\n  },\n  {", 1),  # record 1 ends on line 35
            2,
            "2 extra } after record 1, lines 36-37",
        ),
        (BACK_TO_BACK.replace("\n}\n{", "\n}\n}\n{", 1), 2, "extra } after record 1, line 35"),
        (BACK_TO_BACK + "\n}\n", 4, "extra } after record 3, line 103"),
        ("[]\n}\n" + BACK_TO_BACK, 1, "extra } before record 1, line 2"),
    ],
)
def test_an_extra_closing_brace_loses_no_record(tmp_path, damaged, line, what):
    """Braces no record opened are one line, as an extra comma is: not a missing comma and a
    record of their own, which named every record after them one place too far on."""
    report, rows, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert rows == _rows("r1", "r2", "r3")
    kind = "a file of JSON documents" if damaged.startswith(("{", "[]")) else "a JSON-array file"
    assert quarantine == [("a.json", line, f"invalid JSON in {kind} ({what})")]
    assert (report.lines_read, report.rows, report.quarantined) == (4, 3, 1)


def test_a_record_after_damage_is_found_again_with_an_extra_brace_after_it(tmp_path):
    """Record 2 is cut short inside its input; record 3, a brace too many after it, was passed
    over as where records read again (a brace is not what follows a record) and lost with
    record 2."""
    records = [json.dumps(fixture_record(f"r{i}")) for i in (1, 2, 3, 4)]
    records[1] = records[1][: records[1].index('"inputTokenCount"')]
    records[2] += "}"
    text = "[" + ",\n".join(records) + "]"
    bad = text.index(", ,\n") + 2  # the comma after the cut one
    report, rows, quarantine = _ingest(tmp_path, {"a.json": text})
    assert rows == _rows("r1", "r3", "r4")
    assert quarantine == [
        (
            "a.json",
            2,
            "invalid JSON in a JSON-array file (record 2, line 2: Expecting property name "
            f"enclosed in double quotes at line 2 column {_column(text, bad)})",
        ),
        ("a.json", 4, "invalid JSON in a JSON-array file (extra } after record 3, line 3)"),
    ]
    assert (report.lines_read, report.rows, report.quarantined) == (5, 3, 2)


def test_bytes_that_are_not_utf8_cost_their_record_only(tmp_path):
    damaged = PRETTY.encode().replace(b'"requestId": "r2"', b'"requestId": "r\xff2"', 1)
    report, rows, quarantine = _ingest(tmp_path, {"a.json": damaged})
    assert rows == _rows("r1", "r3")
    where = _lines_of_r2(PRETTY)
    assert quarantine == [
        (
            "a.json",
            2,
            f"invalid JSON in a JSON-array file (record 2, {where}: bytes that are not UTF-8)",
        )
    ]


def test_a_cut_gzip_stream_of_an_array_keeps_its_complete_records(tmp_path):
    """Its own ``truncated gzip`` entry stands for the cut record, as for NDJSON."""
    full = gzip.compress(PRETTY.encode(), mtime=0)
    # the shortest cut that decodes to record 3's id: the stream ends inside record 3
    keep = next(
        n for n in range(len(full)) if b'"r3"' in zlib.decompressobj(31).decompress(full[:n])
    )
    report, rows, quarantine = _ingest(tmp_path, {"a.json.gz": full[:keep]})
    assert rows == _rows("r1", "r2")
    assert quarantine == [("a.json.gz", 3, "truncated gzip")]
    assert (report.lines_read, report.rows, report.quarantined) == (3, 2, 1)


def test_a_clean_file_is_counted_as_before(tmp_path):
    others = "\n".join(json.dumps(fixture_record(f"b{i}"), indent=4) for i in (1, 2, 3))
    report, rows, quarantine = _ingest(tmp_path, {"a.json": PRETTY, "b.json": others})
    assert rows == _rows("r1", "r2", "r3", "b1", "b2", "b3")
    assert (report.lines_read, report.quarantined) == (6, 0)


# ------------------------------------------------------------------ NaN and Infinity


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (float("nan"), "non-finite number NaN"),
        (float("inf"), "non-finite number Infinity"),
        (float("-inf"), "non-finite number -Infinity"),
    ],
)
@pytest.mark.parametrize("shape", ["pretty", "compact", "back to back"])
def test_a_non_finite_token_count_is_quarantined_not_zero(tmp_path, value, what, shape):
    records = [RECORDS[0], _with_input_tokens("r2", value), RECORDS[2]]
    text = {
        "pretty": json.dumps(records, indent=2),
        "compact": json.dumps(records),
        "back to back": "\n".join(json.dumps(r, indent=4) for r in records),
    }[shape]
    token = what.rpartition(" ")[2]
    at = text.index(f'"inputTokenCount": {token}') + len('"inputTokenCount": ')
    report, rows, quarantine = _ingest(tmp_path, {"a.json": text})
    assert rows == _rows("r1", "r3")  # never a row with 0 input tokens
    kind = "a file of JSON documents" if shape == "back to back" else "a JSON-array file"
    where = _lines_of_r2(text)
    assert quarantine == [
        (
            "a.json",
            2,
            f"invalid JSON in {kind} (record 2, {where}: {what} at line {_line(text, at)} "
            f"column {_column(text, at)} (NaN and Infinity are not valid JSON))",
        )
    ]


def test_a_number_beyond_a_double_is_quarantined_as_in_ndjson(tmp_path):
    text = json.dumps([RECORDS[0], _with_input_tokens("r2", 12345), RECORDS[2]])
    text = text.replace('"inputTokenCount": 12345', '"inputTokenCount": 1e400', 1)
    at = text.index("1e400")
    ndjson = "".join(json.dumps(_with_input_tokens(f"n{i}", 12345)) + "\n" for i in (1, 2))
    ndjson = ndjson.replace('"inputTokenCount": 12345', '"inputTokenCount": 1e400')
    report, rows, quarantine = _ingest(tmp_path, {"a.json": text, "b.jsonl": ndjson})
    assert rows == _rows("r1", "r3")
    assert quarantine == [
        (
            "a.json",
            2,
            f"invalid JSON in a JSON-array file (record 2, line 1: number 1e400 at line 1 column "
            f"{_column(text, at)} reads as infinite (NaN and Infinity are not valid JSON))",
        ),
        ("b.jsonl", 1, "invalid JSON"),
        ("b.jsonl", 2, "invalid JSON"),
    ]


def test_the_same_values_as_ndjson_are_invalid_json_too(tmp_path):
    """The behaviour the document files now match: no row, no 0."""
    ndjson = NDJSON.replace('"inputTokenCount": 15', '"inputTokenCount": NaN', 1)
    report, rows, quarantine = _ingest(tmp_path, {"a.jsonl": ndjson})
    assert rows == _rows("r2", "r3")
    assert quarantine == [("a.jsonl", 1, "invalid JSON")]


def test_nan_inside_a_string_is_text(tmp_path):
    text = PRETTY.replace('"requestId": "r2"', '"requestId": "r2", "note": "NaN, Infinity"', 1)
    report, rows, quarantine = _ingest(tmp_path, {"a.json": text})
    assert (rows, quarantine) == (_rows("r1", "r2", "r3"), [])


# ------------------------------------------------------------------ deep nesting

DEEP = "[" * 2000 + "]" * 2000


@pytest.mark.parametrize("workers", [1, 2])
def test_deep_nesting_is_one_entry_and_the_run_goes_on(tmp_path, workers):
    files = {
        "a-deep-element.json": "[" + json.dumps(RECORDS[0]) + ", " + DEEP + "]",
        "b-deep-record.json": json.dumps([RECORDS[1], fixture_record("r4")]).replace(
            '"requestId": "r4"', f'"requestId": "r4", "extra": {DEEP}', 1
        ),
        "c-open-brackets.json": "[" * 100_000,
        "d-good.jsonl": json.dumps(RECORDS[2]) + "\n",
    }
    report, rows, quarantine = _ingest(tmp_path, files, workers=workers)
    assert rows == _rows("r1", "r2", "r3")
    assert quarantine == [
        (
            "a-deep-element.json",
            2,
            "nested too deep to read in a JSON-array file (record 2, line 1)",
        ),
        (
            "b-deep-record.json",
            2,
            "nested too deep to read in a JSON-array file (record 2, line 1)",
        ),
        (
            "c-open-brackets.json",
            1,
            "nested too deep to read in a JSON-array file (record 1, line 1)",
        ),
    ]
    assert (report.files_read, report.lines_read, report.rows) == (4, 6, 3)


@pytest.mark.parametrize("workers", [1, 2])
def test_deep_records_in_ndjson_read_alike_on_every_python(tmp_path, workers):
    """orjson reads 1,024 levels: a record 1,010 deep is a row (its logged 40 input and 14
    output tokens), on Python 3.11 as on 3.13 (``str()`` of the nested block stopped 3.11's
    recursion; the block is written as JSON now). A record deeper than orjson reads is one
    entry, ``nested too deep to read``, not ``invalid JSON``: it is valid JSON."""
    converse = json.loads((GOOD / "part-1.json").read_text().splitlines()[0])  # has messages

    def nested(request_id: str, depth: int) -> str:
        deep = "[" * depth + "]" * depth
        return json.dumps({**converse, "requestId": request_id}).replace(
            '"messages": [', '"messages": [{"role": "user", "content": ' + deep + "}, ", 1
        )

    text = nested("d1", 1010) + "\n" + nested("d2", 2000) + "\n" + NDJSON
    report, rows, quarantine = _ingest(tmp_path, {"a.jsonl": text}, workers)
    assert rows == [("d1", 40, 14), *_rows("r1", "r2", "r3")]
    assert quarantine == [("a.jsonl", 2, "nested too deep to read")]


def test_deep_nesting_in_pretty_records_back_to_back(tmp_path):
    text = BACK_TO_BACK.replace('"requestId": "r2"', f'"requestId": "r2", "x": {DEEP}', 1)
    report, rows, quarantine = _ingest(tmp_path, {"a.json": text})
    assert rows == _rows("r1", "r3")
    where = _lines_of_r2(text)
    assert quarantine == [
        ("a.json", 2, f"nested too deep to read in a file of JSON documents (record 2, {where})")
    ]


# ------------------------------------------------------------------ documents or NDJSON

ONE_LINE = [json.dumps(r) for r in RECORDS]  # each record on a line of its own


@pytest.mark.parametrize(
    ("first", "end"),
    [("[]", "\n"), ("[1,2,3]", "\n"), ("  [1, 2, 3] ", "\r\n"), ("[]", "\r"), ('["a", {}]', "\n")],
)
def test_a_first_line_that_is_a_complete_array_before_records_is_one_line(tmp_path, first, end):
    """Such a file is NDJSON, not a JSON-document file: its first line is one line, no
    record, and the records after it are rows. Read as documents, ``[]`` was no line at all
    (2 lines read of 3) and ``[1,2,3]`` three records (5 lines read, 3 quarantined)."""
    text = end.join([first, ONE_LINE[0], ONE_LINE[1]]) + end
    report, rows, quarantine = _ingest(tmp_path, {"a.json": text})
    assert rows == _rows("r1", "r2")
    assert quarantine == [("a.json", 1, "record is not a JSON object")]
    assert (report.lines_read, report.rows, report.quarantined) == (3, 2, 1)


@pytest.mark.parametrize(
    ("text", "documents"),
    [
        ("[]", True),  # an array of no records, alone
        ("[]\n\n \n", True),  # blank lines after it are no more lines
        ("[]\n" + ONE_LINE[0], False),
        ("\ufeff\n[1]\r\n" + ONE_LINE[0], False),  # byte-order mark, blank line, CRLF
        (COMPACT + "\n", True),  # an array of records on one line
        (COMPACT + "\n" + COMPACT + "\n", True),  # arrays of records one a line (jq -c)
        (COMPACT + "\n" + ONE_LINE[0], True),
        ("[]\n" + COMPACT + "\n", True),  # jq -c arrays, the first page empty
        ("[]\n" + PRETTY, True),  # pretty-printed arrays, the first empty
        (PRETTY, True),
        (BACK_TO_BACK, True),
        ("[\n]\n" + ONE_LINE[0], True),  # "[" alone is no complete value
        ("[\n  1\n]\n" + ONE_LINE[0], True),
        ('[{"a": 1}, 2]\n' + ONE_LINE[0], True),  # opens as an array of records does
        ('{"events": []}\n' + ONE_LINE[0], True),  # an envelope, even of no events
        (NDJSON, False),
    ],
)
def test_a_file_is_documents_only_when_it_does_not_read_as_ndjson(text, documents):
    data = text.encode()
    assert looks_like_documents(data) is documents
    assert (as_ndjson(Decoded(data)).events is not None) is documents


def test_one_line_documents_one_a_line_are_still_documents(tmp_path):
    """A first line that is itself a document of records (an envelope, an array of objects)
    is no NDJSON line: subscription payloads a Firehose stream ends with line breaks, and
    arrays ``jq -c`` wrote, one a line, give their records (as they did before ``[]`` lines
    were told from arrays)."""
    events = [
        {"timestamp": 1748862060000 + i, "message": json.dumps(r)} for i, r in enumerate(RECORDS)
    ]
    envelopes = "".join(
        json.dumps({"messageType": "DATA_MESSAGE", "logEvents": part}) + "\n"
        for part in (events[:2], events[2:])
    )
    arrays = json.dumps(RECORDS[:1]) + "\n" + json.dumps(RECORDS[1:]) + "\n"
    report, rows, quarantine = _ingest(tmp_path, {"a.json": envelopes, "b.json": arrays})
    assert (rows, quarantine) == (_rows("r1", "r2", "r3"), [])
    assert (report.lines_read, report.duplicates) == (6, 3)


# ------------------------------------------------------------------ UTF-16 and UTF-32


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-32-be"])
@pytest.mark.parametrize(("name", "text"), [("a.jsonl", NDJSON), ("a.json", PRETTY)])
def test_utf16_and_utf32_with_a_byte_order_mark_read_as_utf8(tmp_path, codec, name, text):
    bom = {"utf-16-be": b"\xfe\xff", "utf-32-be": b"\x00\x00\xfe\xff"}.get(codec, b"")
    data = bom + text.replace("\n", "\r\n").encode(codec)
    report, rows, quarantine = _ingest(tmp_path, {name: data})
    assert (rows, quarantine) == (_rows("r1", "r2", "r3"), [])
    assert report.lines_read == 3


def test_utf16_that_does_not_decode_is_one_entry(tmp_path):
    data = NDJSON.encode("utf-16")[:-1]  # an odd number of bytes
    report, rows, quarantine = _ingest(tmp_path, {"a.json": data})
    assert rows == []
    assert quarantine == [
        ("a.json", 1, "not UTF-8 (UTF-16 text that does not decode as UTF-16): re-save it as UTF-8")
    ]
    assert (report.lines_read, report.quarantined) == (1, 1)


def test_utf16_lines_are_decoded_before_they_are_parsed(tmp_path):
    """Read as bytes, every UTF-16 line was invalid JSON. A large file is not cut into
    ranges at its bytes (a line break is two or four bytes there): it is read whole."""
    data = NDJSON.encode("utf-16")
    decoded = as_ndjson(Decoded(data))
    assert decoded.lines == NDJSON.encode().splitlines()
    (tmp_path / "big.jsonl").write_bytes(data * 50)
    assert line_ranges(tmp_path / "big.jsonl", range_bytes=1000) is None


# ------------------------------------------------------------------ windows


def test_a_damaged_stretch_is_undated_and_belongs_to_its_files_hour(tmp_path):
    """A late-delivery hour read by the window before it leaves its damaged stretch to the
    window of its own hour, as for an invalid NDJSON line; the two add up to the day."""
    hour = "AWSLogs/1/BedrockModelInvocationLogs/us-east-1/2025/06/02/12/a.json"
    records = [
        fixture_record("late", timestamp="2025-06-02T11:59:00Z"),
        fixture_record("bad", timestamp="2025-06-02T12:10:00Z"),
        fixture_record("own", timestamp="2025-06-02T12:20:00Z"),
    ]
    text = json.dumps(records, indent=2).replace('"requestId": "bad"', '"requestId": tru', 1)
    counts = {}
    for name, start, end in [
        ("before", "2025-06-02T11:00Z", "2025-06-02T12:00Z"),
        ("after", "2025-06-02T12:00Z", "2025-06-02T13:00Z"),
        ("day", "2025-06-02", "2025-06-03"),
    ]:
        report, rows, quarantine = _ingest(tmp_path / name, {hour: text}, start=start, end=end)
        counts[name] = (report.lines_read, report.rows, report.quarantined)
        counts[name + " rows"] = [r[0] for r in rows]
        counts[name + " outside"] = report.outside_window
    assert counts["before"] == (1, 1, 0) and counts["before rows"] == ["late"]
    assert counts["before outside"] == 2  # "own", and the damaged stretch
    assert counts["after"] == (2, 1, 1) and counts["after rows"] == ["own"]
    assert counts["day"] == (3, 2, 1)


@pytest.mark.parametrize(
    ("codec", "bom", "text"),
    [
        ("utf-16-le", b"\xff\xfe", "plain"),
        ("utf-16-be", b"\xfe\xff", "plain"),  # its newline is the bytes 00 0A
        ("utf-16-le", b"\xff\xfe", "上上上"),  # U+4E0A holds the byte 0A
        ("utf-32-le", b"\xff\xfe\x00\x00", "上上上"),
    ],
)
@pytest.mark.parametrize("expanded", [False, True])  # read in memory, or expanded to disk
def test_a_cut_gzip_of_wide_text_keeps_its_whole_records(
    tmp_path, monkeypatch, codec, bom, text, expanded
):
    """The cut is found in the decoded text: the whole records are rows and the cut one is
    the one truncated-gzip entry (not a wrong 'not UTF-8', no 'invalid JSON'). A large gzip
    is expanded to disk and cut at its last line break there, except wide text."""
    import gzip
    import zlib

    from bedrock_finops.sources import file_ranges

    if expanded:
        monkeypatch.setattr(file_ranges, "GZIP_EXPAND_BYTES", 100)

    records = []
    for i in range(1, 7):
        rec = fixture_record(f"r{i}")
        rec["input"]["inputBodyJson"]["prompt"] = (text + " ") * 40
        records.append(json.dumps(rec, ensure_ascii=False) + "\n")
    packed = gzip.compress(bom + "".join(records).encode(codec))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json.gz").write_bytes(packed[:-25])
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    # what the cut stream still holds, decoded on its own: its whole lines are the records
    held = zlib.decompressobj(wbits=31).decompress(packed[:-25])
    whole = held[: len(held) - len(held) % len(bom)].decode(codec, "ignore").count("\n")
    assert 3 <= whole <= 5
    assert (report.rows, report.quarantine_by_reason) == (whole, {"truncated gzip": 1})
    assert report.lines_read == whole + 1


def test_damage_names_records_by_their_place_among_records(tmp_path):
    """'record N' counts records only: comma entries before it do not move it."""
    r1, r2, r3 = (json.dumps(fixture_record(f"r{i}"), indent=1) for i in (1, 2, 3))
    nan = json.dumps(fixture_record("r2")).replace(
        '"inputTokenCount": 15', '"inputTokenCount": NaN'
    )
    assert "NaN" in nan
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "pretty.json").write_text(f"[\n{r1},,\n{r2},\n]\n")
    (tmp_path / "logs" / "compact.json").write_text(
        f"[{json.dumps(fixture_record('c1'))},,{nan},{json.dumps(fixture_record('c3'))}]"
    )
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    reasons = sorted(report.quarantine_by_reason)
    assert report.rows == 4 and len(reasons) == 4
    assert [r.split(", line")[0] for r in reasons if "comma" in r] == [
        "invalid JSON in a JSON-array file (extra comma after record 1",
        "invalid JSON in a JSON-array file (extra comma after record 1",
        "invalid JSON in a JSON-array file (trailing comma after record 2",
    ]
    assert [r.split(", line")[0] for r in reasons if "NaN" in r] == [
        "invalid JSON in a JSON-array file (record 2"
    ]


def test_a_wide_text_cut_inside_a_character_keeps_the_lines_before_it():
    from bedrock_finops.sources.log_decoding import _complete_lines

    text = '{"a": 1}\n{"b": "\U0001f600 x"}'  # the emoji is a surrogate pair in UTF-16
    for codec, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        data = bom + text.encode(codec)
        cut_at = len(bom) + text.index("\U0001f600") * 2 + 2  # after the high surrogate
        for cut in (cut_at, cut_at + 1, cut_at + 3):  # in the pair, odd, in the low half
            kept = _complete_lines(data[:cut])
            assert kept.decode("utf-16") == '{"a": 1}', (codec, cut)
    assert _complete_lines(b"\xff\xfe" + "no break".encode("utf-16-le")) == b""


def test_a_damaged_files_newlines_are_counted_on_not_afresh():
    """Each failed parse in a damaged file asks for its line number, which ``str.count``
    finds from the start of the text (quadratic in the file's size); the walk's text counts on
    from the last position asked, forward or back, and gives the same numbers."""
    import json

    from bedrock_finops.sources.document_files import _Text

    raw = "".join(f"{i}\n" * (i % 3) + "x" for i in range(200))
    text = _Text(raw.encode(), "utf-8")
    ends = [400, 10, 399, 0, 650, 651, 5000, 123]
    assert [text.count("\n", 0, e) for e in ends] == [raw.count("\n", 0, e) for e in ends]
    assert text.count("x") == raw.count("x") and text.count("\n", 5, 50) == raw.count("\n", 5, 50)
    with pytest.raises(json.JSONDecodeError) as err:
        json.JSONDecoder().raw_decode(_Text(b"[1,\n2,\n x]", "utf-8"), 0)
    assert (err.value.lineno, err.value.colno) == (3, 2)


# Files with every 20th record damaged (the 11th, the 31st, ...), of the shapes a walk meets:
# a record cut short and the next one written after it, a record that lost its closing brace,
# an array that lost its closing bracket, damage in the last record, and strings holding
# brackets and quotes (a cut inside one swaps what is string and what is not).
BRACKETS_IN_TEXT = '[INST] {"a": [1, "}"]} say \\"]\\" then {[ [/INST]'


def _damaged(text: str, damage: str) -> str:
    if damage == "cut":
        return text[: int(len(text) * 0.6)]
    if damage == "cut in a string":
        return text[: text.index("say") + 2]
    if damage == "cut between fields":
        return text[: text.index('"output"')]
    return text[: text.rstrip().rfind("}")]  # its closing brace lost


def _damaged_file(records: int, shape: str, damage: str, last: str | None = None) -> bytes:
    """``records`` records, every 20th damaged by ``damage``; ``last``: the last one too."""
    texts = []
    for i in range(1, records + 1):
        rec = fixture_record(f"r{i}")
        rec["input"]["inputBodyJson"]["prompt"] = BRACKETS_IN_TEXT
        text = json.dumps(rec, indent=1 if shape == "pretty" else None)
        if i % 20 == 11:
            text = _damaged(text, damage)
        elif i == records and last is not None:
            text = _damaged(text, last)
        texts.append(text)
    if shape == "pretty":
        return ("\n".join(texts) + "\n").encode()
    end = "\n" if shape == "array without its ]" else "]\n"
    return ("[" + ",\n".join(texts) + end).encode()


def _walked_alone(text: str, start: int) -> tuple[int | None, bool]:
    """Where the value at ``start`` ends, walked from its bracket with nothing remembered:
    what the walk's remembered ends must agree with."""
    first = text[start]
    if first == '"':
        m = document_files._STRING.match(text, start)
        return (m.end(), False) if m else (None, True)
    if first not in "[{":
        m = document_files._SCALAR_END.search(text, start + 1)
        return (m.start() if m else len(text)), False
    closers: list[str] = []
    pos = start
    while (m := document_files._BRACKET_OR_QUOTE.search(text, pos)) is not None:
        at = m.start()
        char = text[at]
        if char == '"':
            s = document_files._STRING.match(text, at)
            if s is None:
                return None, True
            pos = s.end()
            continue
        if char in "[{":
            closers.append("]" if char == "[" else "}")
        elif closers.pop() != char:
            return None, False
        elif not closers:
            return at + 1, False
        pos = at + 1
    return None, True


DAMAGED_FILES = {  # the file, its records read, the records its damaged entries name
    "array, cut mid-record": (_damaged_file(40, "array", "cut"), 38, [11, 31]),
    "pretty, cut mid-record": (_damaged_file(40, "pretty", "cut"), 38, [11, 31]),
    "pretty, cut between fields": (_damaged_file(40, "pretty", "cut between fields"), 38, [11, 31]),
    "array, closing brace lost": (_damaged_file(40, "array", "brace"), 38, [11, 31]),
    "pretty, closing brace lost": (_damaged_file(40, "pretty", "brace"), 38, [11, 31]),
    "array, its ] lost": (_damaged_file(40, "array without its ]", "cut"), 38, [11, 31, 40]),
    "array, the last record cut": (
        _damaged_file(40, "array", "brace", last="cut"),
        37,
        [11, 31, 40],
    ),
    "pretty, the last record's brace lost": (
        _damaged_file(40, "pretty", "cut", last="brace"),
        37,
        [11, 31, 40],
    ),
    "array, cut in a string of brackets": (
        _damaged_file(40, "array", "cut in a string"),
        38,
        [11, 31],
    ),
    "pretty, cut in a string of brackets": (
        _damaged_file(40, "pretty", "cut in a string"),
        38,
        [11, 31],
    ),
}


@pytest.mark.parametrize("name", DAMAGED_FILES)
def test_remembered_walks_find_what_a_walk_per_record_finds(name, monkeypatch):
    """Each damaged record's end is found with what earlier walks found remembered: the same
    records are read and the same stretches quarantined as when each is walked alone."""
    data, read, damaged = DAMAGED_FILES[name]
    out = json_document_lines(data)
    assert len(out.events) - len(out.damaged) == read
    places = [int(re.search(r"record (\d+)", r).group(1)) for r in out.damaged.values()]
    assert places == damaged
    monkeypatch.setattr(
        document_files._ValueEnds, "__call__", lambda self, start: _walked_alone(self.text, start)
    )
    alone = json_document_lines(data)
    assert (out.events, out.damaged) == (alone.events, alone.damaged)


@pytest.mark.parametrize("far", [None, 1])  # values closing far remembered, or all
@pytest.mark.parametrize("name", DAMAGED_FILES)
def test_every_value_ends_where_a_walk_of_its_own_ends(name, far, monkeypatch):
    """Asked in any order, at every bracket and quote (not only where records start), with
    values that close far and near remembered alike."""
    text = document_files._Text(DAMAGED_FILES[name][0], "utf-8", "surrogateescape")
    starts = [i for i, char in enumerate(text) if char in '[{"']
    expected = [_walked_alone(text, start) for start in starts]
    if far is not None:
        monkeypatch.setattr(document_files, "_FAR", far)
    for order in (starts, starts[::-1], starts[1::2] + starts[::2]):
        ends = document_files._ValueEnds(text)
        ends_at = {start: ends(start) for start in order}
        assert [ends_at[start] for start in starts] == expected, order[:2]


class _CharsLookedAt:
    """A regular expression that counts the characters its searches and matches look at."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.chars = 0

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self._counted(self.pattern.search(text, pos), text, pos)

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self._counted(self.pattern.match(text, pos), text, pos)

    def _counted(self, m: re.Match[str] | None, text: str, pos: int) -> re.Match[str] | None:
        self.chars += (m.end() if m else len(text)) - pos
        return m


@pytest.mark.parametrize(
    ("shape", "damage"),
    [("array", "cut"), ("pretty", "cut"), ("array", "brace"), ("pretty", "cut in a string")],
)
def test_walking_a_damaged_file_costs_one_pass_over_it(shape, damage, monkeypatch):
    """Twice the records and damaged records: twice the characters walked, not four times (a
    record whose brackets never close was walked to the end of the file for each one)."""
    walked = []
    for records in (200, 400):
        data = _damaged_file(records, shape, damage)
        brackets = _CharsLookedAt(document_files._BRACKET_OR_QUOTE)
        strings = _CharsLookedAt(document_files._STRING)
        monkeypatch.setattr(document_files, "_BRACKET_OR_QUOTE", brackets)
        monkeypatch.setattr(document_files, "_STRING", strings)
        out = json_document_lines(data)
        assert len(out.damaged) == records // 20
        walked.append(brackets.chars + strings.chars)
        monkeypatch.undo()
    assert walked[1] <= 2.5 * walked[0], walked


def test_records_nested_in_a_damaged_record_are_not_read_as_records(tmp_path: Path):
    """A request body may hold whole invocation records (a tool input of an agent that reads
    these logs). In a damaged record of a JSON array (its output count NaN), they stay part of
    that one quarantined record: read as records they would be rows, tokens never billed."""
    inner = [fixture_record(f"inner-{k}") for k in range(2)]
    records = []
    for i in range(3):
        record = fixture_record(f"req-{i}")
        record["input"]["inputBodyJson"]["lookup"] = {"records": inner}
        if i == 1:
            record["output"]["outputTokenCount"] = "@NAN@"
        records.append(json.dumps(record).replace('"@NAN@"', "NaN"))
    report, rows, quarantine = _ingest(tmp_path, {"array.json": "[" + ",\n".join(records) + "]\n"})
    assert (report.lines_read, [r[0] for r in rows]) == (3, ["req-0", "req-2"])
    assert [(line, reason.split(":")[0]) for _, line, reason in quarantine] == [
        (2, "invalid JSON in a JSON-array file (record 2, line 2")
    ]


# ------------------------------------------------------------------ memory

# reads a JSON array of N copies of one value in a process of its own: its lines' count and
# first line, and how far reading them raised the process's peak memory (bytes) past the
# bytes of the file, made as the only large allocation before it. The peak is VmHWM, this
# process's own: ru_maxrss starts at the RSS of the process that forked it (pytest's)
_PEAK_GROWTH = """
import json, sys
from bedrock_finops.sources.document_files import json_document_lines
def peak():
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024
value, n = sys.argv[1].encode(), int(sys.argv[2])
parts = [value] * n
parts[0], parts[-1] = b"[" + value, value + b"]"
data = b",".join(parts)
del parts
before = peak()
lines = json_document_lines(data).events
print(json.dumps([len(lines), lines[0].decode(), peak() - before, len(data)]))
"""
linux_only = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the peak memory in /proc/self/status"
)


def _peak_growth(value: str, n: int) -> tuple[int, str, int, int]:
    """(lines, the first line, peak memory grown in bytes, the file's bytes)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(document_files.__file__).parents[2]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_GROWTH, value, str(n)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines, first, grown, size = json.loads(out.stdout)
    return lines, first, grown, size


@linux_only
def test_an_array_of_small_values_takes_memory_by_their_size():
    """Each element's line is kept in memory of its own size. orjson.dumps's bytes keep the
    ~4 KB block they were written in: 100,000 ``1``s (a 0.2 MB file) took 384 MB, and 3
    million (6 MB) were enough for the out-of-memory killer to end the worker."""
    lines, first, grown, size = _peak_growth("1", 100_000)
    assert (lines, first, size) == (100_000, "1", 200_001)
    assert grown < 40 * 2**20, f"{grown / 2**20:.0f} MB"


@linux_only
def test_an_array_of_records_is_not_held_as_values_all_at_once():
    """An array's elements are written as lines one at a time: its text and its lines are
    what it costs (about twice the file). Its values, all read before any was written, were
    2.1 KB more for each of these 642-byte records (5.3 times the file; 10.7 times when the
    lines kept orjson's blocks too)."""
    record = json.dumps(fixture_record("r1"), separators=(",", ":"))
    lines, first, grown, size = _peak_growth(record, 20_000)
    assert (lines, json.loads(first), size) == (20_000, fixture_record("r1"), 20_000 * 643 + 1)
    assert grown < 3 * size, f"{grown / size:.1f} times the file"
