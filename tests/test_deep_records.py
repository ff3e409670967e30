"""Records nested deeper than orjson writes (254 levels) are rows, not malformed records.

A tool's ``input_schema`` may nest hundreds of levels, and AWS logs it as sent; orjson reads
up to 1,024 levels but writes at most 254, so the canonical JSON behind the hashes is written
another way past that. The expected values below are built as strings, by hand, not by the
code under test.
"""

from __future__ import annotations

import json
import math

import orjson
import pandas as pd
import xxhash
from record_rows import log_record, row_of

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.parse_request import canonical

MODEL_KEY = "anthropic.claude-3-haiku-20240307-v1:0"  # log_record's model, as the hash names it
ANSWER = {"content": [{"type": "text", "text": "Valid."}], "stop_reason": "end_turn"}


def _schema(levels: int) -> str:
    """A JSON schema of ``levels`` nested arrays of arrays, as canonical JSON text."""
    text = '{"type":"string"}'
    for _ in range(levels):
        text = '{"items":' + text + ',"type":"array"}'
    return text


def _deep_tool_body(levels: int) -> tuple[str, str]:
    """(the request body, its tool list) as canonical JSON text."""
    tools = '[{"input_schema":' + _schema(levels) + ',"name":"deep"}]'
    body = (
        '{"anthropic_version":"bedrock-2023-05-31","max_tokens":100,'
        '"messages":[{"content":[{"text":"Validate this.","type":"text"}],"role":"user"}],'
        '"tools":' + tools + "}"
    )
    return body, tools


def _line(rec: dict, body_text: str) -> str:
    """The log line of ``rec`` with ``body_text`` as its request body (too deep for orjson)."""
    return (
        orjson.dumps({**rec, "input": {**rec["input"], "inputBodyJson": "BODY"}})
        .decode()
        .replace('"BODY"', body_text)
    )


def test_canonical_writes_what_orjson_cannot() -> None:
    assert canonical([[1]]) == b"[[1]]"
    deep: object = 1
    for _ in range(300):
        deep = [deep]
    assert canonical(deep) == b"[" * 300 + b"1" + b"]" * 300
    # past orjson's depth: the stdlib's canonical form, escapes and numbers included
    value: object = {
        "z": [1.5, -0.0, 10**20, None, True],
        "a": 'q"\\\n\u00e9\u2028\x00',
        "\u00e9": {},
    }
    for _ in range(300):
        value = {"b": [value], "a": 0}  # 600 levels
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical(value) == expected.encode()


def test_a_tool_schema_500_levels_deep_is_a_row() -> None:
    body_text, tools_text = _deep_tool_body(500)  # 500 levels of schema, 505 in the body
    rec = log_record(orjson.loads(body_text), ANSWER, "InvokeModel")
    row = row_of(rec)  # both paths, the same row
    assert row["tools_hash"] == xxhash.xxh3_128_hexdigest(tools_text.encode())
    request = MODEL_KEY.encode() + b"\x00" + body_text.encode()
    assert row["request_hash"] == xxhash.xxh3_128_hexdigest(request)
    assert row["user_text"] == "Validate this."
    assert (row["input_tokens"], row["output_tokens"], row["output_shape"]) == (10, 3, "label")


def test_a_record_as_deep_as_orjson_reads_is_a_row() -> None:
    """1,000 levels of schema (1,007 in the record, orjson reads 1,024): past what the stdlib
    encoder takes too, as it recurses."""
    body_text, tools_text = _deep_tool_body(1000)
    row = row_of(log_record(orjson.loads(body_text), ANSWER, "InvokeModel"))
    assert row["tools_hash"] == xxhash.xxh3_128_hexdigest(tools_text.encode())
    request = MODEL_KEY.encode() + b"\x00" + body_text.encode()
    assert row["request_hash"] == xxhash.xxh3_128_hexdigest(request)


def test_deep_records_in_a_log_file(tmp_path) -> None:
    """Through the ingest: the deep tool schema is a row, and so is a prompt that pastes a
    JSON document 300 levels deep, pretty-printed (its indentation counted like any other)."""
    body_text, _ = _deep_tool_body(500)
    deep_rec = log_record(None, ANSWER, "InvokeModel")
    doc: object = {"leaf": 1}
    for _ in range(299):
        doc = {"next": doc}
    pasted = {"messages": [{"role": "user", "content": "Check:\n" + json.dumps(doc, indent=1)}]}
    pasted_rec = log_record(pasted, ANSWER, "InvokeModel")
    pasted_rec["requestId"] = "r2"
    (tmp_path / "logs").mkdir()
    lines = [_line(deep_rec, body_text), json.dumps(pasted_rec)]
    (tmp_path / "logs" / "a.json").write_text("\n".join(lines) + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.quarantined) == (2, 2, 0)
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet").set_index("request_id")
    pretty = json.dumps(doc, indent=1)
    compact = json.dumps(doc, separators=(",", ":"))
    assert usage.loc["r2", "pretty_json_tokens"] == (
        math.ceil(len(pretty) / 4) - math.ceil(len(compact) / 4)
    )
