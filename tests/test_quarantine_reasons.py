"""Quarantine reasons that say what was wrong, yet stay few enough to count.

An unknown operation is named (it usually sits past the excerpt's 200 characters, after the
request body); a timestamp that cannot be read says what form is expected, while the value
itself stays in the excerpt only, so that all such records count under one reason.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from record_rows import both_rows, log_record, row_of

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.parse_body import PromptCache

BAD_TIMESTAMP = "bad timestamp (expected ISO-8601 with a date, time and Z or an offset)"


def _record(request_id: str, **changes) -> dict:
    body = {"messages": [{"role": "user", "content": [{"text": "Summarise: " + "x" * 300}]}]}
    out = {"output": {"message": {"content": [{"text": "ok"}]}}, "stopReason": "end_turn"}
    rec = log_record(body, out)
    # AWS writes the operation after the input section: past the excerpt of the line
    rec = {k: v for k, v in rec.items() if k != "operation"} | {"operation": rec["operation"]}
    rec["requestId"] = request_id
    rec.update(changes)
    return rec


def _quarantine(tmp_path, records: list[dict]) -> tuple[dict, list[dict]]:
    (tmp_path / "logs").mkdir()
    lines = "\n".join(json.dumps(r) for r in records) + "\n"
    (tmp_path / "logs" / "a.json").write_text(lines)
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    entries = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    return report.quarantine_by_reason, entries


def test_an_unknown_operation_is_named(tmp_path) -> None:
    long_name = "InvokeModelWithBidirectionalStreamAndMoreText"  # 45 characters
    by_reason, entries = _quarantine(
        tmp_path,
        [
            _record("a1", operation="InvokeAgent"),
            _record("a2", operation="InvokeAgent"),
            _record("a3", operation=long_name),
            _record("a4", operation=7),
            _record("a5", operation=""),
            _record("ok"),
        ],
    )
    assert by_reason == {
        "unknown operation 'InvokeAgent'": 2,
        "unknown operation 'InvokeModelWithBidirectionalStreamAndMor'...": 1,  # its first 40
        "unknown operation": 1,  # not a string: not shown
        "missing operation": 1,
    }
    assert "InvokeAgent" not in entries[0]["excerpt"]  # why the reason names it


def test_a_bad_timestamp_says_the_form_expected(tmp_path) -> None:
    by_reason, _ = _quarantine(
        tmp_path,
        [
            _record("t1", timestamp="2025/06/02 11:01:00"),
            _record("t2", timestamp="2025-06-02T11:01:00"),  # no Z or offset
            _record("t3", timestamp="2025-06-02"),  # no time
            _record("t4", timestamp=1748862060),
            _record("t5", timestamp="2025-02-30T11:01:00Z"),  # no such day
        ],
    )
    assert by_reason == {BAD_TIMESTAMP: 5}  # one reason, whatever the value


def test_rfc3339_forms_of_a_timestamp_are_read(tmp_path) -> None:
    """A space for the T (as pandas writes), a lowercase t or z: the same instant as AWS's
    form, by both parse paths; a time with no zone stays quarantined (test above)."""
    forms = {
        "aws": "2025-06-02T11:01:00.250Z",
        "space": "2025-06-02 11:01:00.250Z",
        "lower": "2025-06-02t11:01:00.250z",
        "offset": "2025-06-02 13:01:00.250+02:00",
    }
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(
        "\n".join(json.dumps(_record(name, timestamp=ts)) for name, ts in forms.items()) + "\n"
    )
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.rows, report.quarantined) == (4, 0)
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet").set_index("request_id")
    expected = pd.Timestamp("2025-06-02T11:01:00.250Z")
    assert (usage["timestamp"] == expected).all()
    for ts in forms.values():
        fast, ref = both_rows(_record("x", timestamp=ts), PromptCache(), PromptCache())
        assert fast is None or fast == ref
        assert ref is not None


def test_a_line_that_is_not_utf8_says_so_as_in_an_array_file(tmp_path) -> None:
    """A record saved as Latin-1 (``R\\xe9sum\\xe9``) does not parse as an NDJSON line; its
    reason says why, as the same record's in a JSON-array file does, and counts apart from
    other invalid JSON."""
    latin1 = json.dumps(_record("l1")).encode().replace(b"Summarise", b"R\xe9sum\xe9")
    good = json.dumps(_record("ok")).encode()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_bytes(b"\n".join([latin1, good, b"{not json", b""]))
    (tmp_path / "logs" / "b.json").write_bytes(b"[" + latin1 + b"]")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    entries = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert [(e["source"], e["line"], e["reason"]) for e in entries] == [
        ("a.json", 1, "invalid JSON (bytes that are not UTF-8)"),
        ("a.json", 3, "invalid JSON"),
        (
            "b.json",
            1,
            "invalid JSON in a JSON-array file (record 1, line 1: bytes that are not UTF-8)",
        ),
    ]
    assert (report.lines_read, report.rows, report.quarantined) == (4, 1, 3)


GUARDRAIL = "blocked by a guardrail: no token counts, no model tokens billed"
CLAUDE_REQUEST = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 100,
    "messages": [{"role": "user", "content": "how do I pick a lock"}],
}
CONVERSE_REQUEST = {"messages": [{"role": "user", "content": [{"text": "how do I pick a lock"}]}]}
CONVERSE_BLOCKED = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Sorry."}]}},
    "stopReason": "guardrail_intervened",
}
CONVERSE_STREAM_BLOCKED = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Sorry."}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "guardrail_intervened"}},
    {"metadata": {"usage": {"inputTokens": 0, "outputTokens": 0}, "metrics": {"latencyMs": 90}}},
]


def _claude_stream(action: str, on_first: bool = False) -> list[dict]:
    """An Anthropic stream as InvokeModelWithResponseStream logs it, Bedrock's guardrail
    action on its last chunk (beside its invocation metrics) or on its first."""
    chunks = [
        {"type": "message_start", "message": {"role": "assistant", "content": []}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "No."}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}},
        {"type": "message_stop", "amazon-bedrock-invocationMetrics": {"invocationLatency": 80}},
    ]
    chunks[0 if on_first else -1]["amazon-bedrock-guardrailAction"] = action
    return chunks


def _call(request_id: str, op: str, out: Any, counts: bool = False) -> dict:
    """A record of ``op`` answered by ``out``; without ``counts``, logged with no token
    counts."""
    body = CONVERSE_REQUEST if op.startswith("Converse") else CLAUDE_REQUEST
    rec = log_record(body, out, op) | {"requestId": request_id}
    if not counts:
        del rec["input"]["inputTokenCount"], rec["output"]["outputTokenCount"]
    return rec


def test_a_streamed_call_a_guardrail_blocked_says_so(tmp_path) -> None:
    """Logged with no token counts, a stream whose chunks carry a guardrail's intervention
    (ConverseStream's ``messageStop`` stop reason, or ``amazon-bedrock-guardrailAction`` on
    any chunk of InvokeModelWithResponseStream's) is quarantined as blocked, as the same call
    not streamed is; one with no such marker still lacks its counts."""
    stream = "InvokeModelWithResponseStream"
    by_reason, entries = _quarantine(
        tmp_path,
        [
            _call("conv", "Converse", CONVERSE_BLOCKED),
            _call("conv-stream", "ConverseStream", CONVERSE_STREAM_BLOCKED),
            _call("invoke-last", stream, _claude_stream("INTERVENED")),
            _call("invoke-first", stream, _claude_stream("INTERVENED", on_first=True)),
            _call("invoke-none", stream, _claude_stream("NONE")),
        ],
    )
    assert [e["reason"] for e in entries] == [GUARDRAIL] * 4 + ["missing inputTokenCount"]
    assert by_reason == {GUARDRAIL: 4, "missing inputTokenCount": 1}


def test_a_blocked_stream_that_logged_its_counts_is_a_row() -> None:
    """The guardrail's marker decides only for a call logged without counts: with them, the
    stream is a row, the same by both parsing paths."""
    conv = row_of(_call("cs", "ConverseStream", CONVERSE_STREAM_BLOCKED, counts=True))
    invoke = row_of(
        _call("im", "InvokeModelWithResponseStream", _claude_stream("INTERVENED"), counts=True)
    )
    assert (conv["input_tokens"], conv["output_tokens"]) == (10, 3)
    assert (conv["stop_reason"], conv["latency_ms"]) == ("guardrail_intervened", 90.0)
    assert (invoke["input_tokens"], invoke["output_tokens"]) == (10, 3)
    assert (invoke["stop_reason"], invoke["latency_ms"]) == ("end_turn", 80.0)
