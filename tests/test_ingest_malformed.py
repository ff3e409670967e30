"""Records of unexpected shapes never stop a run: each becomes a row or a quarantine entry.

The hand-written fixture records are mutated at random places (seeded) with values AWS never
writes there: numbers where objects belong, huge integers, NaN, lone surrogates, empty
containers. Whatever the parsers make of them, the run completes and accounts for every line.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bedrock_finops.ingest import ingest_to_folder

GOOD = Path(__file__).parent / "fixtures" / "logs" / "good"
RECORDS = [json.loads(line) for f in sorted(GOOD.glob("*.json")) for line in f.open() if line]
ODD_VALUES: list[Any] = [
    None, True, 0, -1, 2**63, 2**64 - 1, 1e20, 1.5e300, 0.5, float("nan"), "", "x", "\ud800",
    [], {}, [1, "a"], {"a": {}}, [{"text": 5}], [{"type": "text"}], {"text": None},
]  # fmt: skip


def _paths(node: Any, prefix: tuple = ()):
    yield prefix
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _mutated(rec: dict, rng: random.Random) -> dict:
    rec = json.loads(json.dumps(rec))
    places = list(_paths(rec))[1:]
    for _ in range(rng.randint(1, 3)):
        *parents, leaf = rng.choice(places)
        node = rec
        try:
            for key in parents:
                node = node[key]
            node[leaf] = json.loads(json.dumps(rng.choice(ODD_VALUES)))
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation replaced a parent
    return rec


def test_mutated_records_are_rows_or_quarantined(tmp_path):
    rng = random.Random(20261126)
    lines = []
    for n in range(600):
        rec = _mutated(rng.choice(RECORDS), rng)
        if isinstance(rec, dict) and rec.get("requestId") is not None:
            rec["requestId"] = f"m{n}"
        lines.append(json.dumps(rec))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "odd.json").write_text("\n".join(lines) + "\n", errors="surrogatepass")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert report.lines_read == 600 == report.rows + report.quarantined + report.duplicates
    assert report.rows > 100 and report.quarantined > 100  # both outcomes are exercised
    assert pq.read_metadata(tmp_path / "out" / "usage.parquet").num_rows == report.rows


def _stream_record(**output_body_changes) -> dict:
    rec = next(r for r in RECORDS if r["operation"] == "ConverseStream")
    rec = json.loads(json.dumps(rec))
    rec["output"]["outputBodyJson"][0].update(output_body_changes)
    return rec


def test_a_number_where_an_object_belongs_is_a_malformed_record(tmp_path):
    rec = _stream_record(contentBlockDelta=1.5)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps(rec) + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert report.quarantine_by_reason == {
        "malformed record (AttributeError in parse_response._chunk_text_and_stop)": 1
    }
    q = pq.read_table(tmp_path / "out" / "quarantine.parquet").to_pylist()
    assert q[0]["line"] == 1 and q[0]["excerpt"].startswith("{")


def test_a_stop_reason_that_is_not_text_is_null(tmp_path):
    rec = next(r for r in RECORDS if r["operation"] == "InvokeModel")
    rec = json.loads(json.dumps(rec))
    rec["input"].pop("inputBodyJson")  # the output body is read on its own
    rec["output"]["outputBodyJson"] = {"generation": "ok", "stop_reason": True}
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps(rec) + "\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert report.rows == 1
    usage = pq.read_table(tmp_path / "out" / "usage.parquet").to_pylist()
    assert usage[0]["stop_reason"] is None


def test_a_lone_surrogate_escape_is_read_as_a_broken_character(tmp_path):
    """JSON may escape one half of a surrogate pair alone (a client cut an emoji in two):
    orjson refuses the whole line, so the record, and its billed tokens, were quarantined.
    The half reads as U+FFFD, as a UTF-8 decoder reads a broken character; a whole pair and
    an escaped backslash before "ud800" stay as written."""
    rec = json.loads(json.dumps(next(r for r in RECORDS if r["operation"] == "Converse")))
    rec["input"]["inputBodyJson"]["messages"] = [
        {"role": "user", "content": [{"text": "cut \ud83d here, whole \U0001f600, not \\ud800"}]}
    ]
    line = json.dumps(rec)  # ensure_ascii: every non-ASCII character as an escape
    assert "\\ud83d here" in line and "\\\\ud800" in line
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "cut.json").write_text(line + "\n")
    exported = json.loads(line)
    exported["requestId"] = "exported"  # the same line as a CloudWatch Logs export writes it
    line = json.dumps(exported)
    (tmp_path / "logs" / "export.json").write_text(f"{exported['timestamp']} {line}\n")
    report = ingest_to_folder(tmp_path / "logs", tmp_path / "out", workers=1, progress=False)
    assert (report.lines_read, report.rows, report.quarantined) == (2, 2, 0)
    table = pq.read_table(tmp_path / "out" / "usage.parquet", columns=["user_text"])
    assert table["user_text"].to_pylist() == ["cut \ufffd here, whole \U0001f600, not \\ud800"] * 2
