"""The compiled row -> Arrow conversion gives exactly pyarrow's batch, odd values included."""

from __future__ import annotations

import pyarrow as pa
import pytest

from bedrock_finops import row_batch
from bedrock_finops.parse import ROW_COLUMNS
from bedrock_finops.schema import USAGE_SCHEMA

pytestmark = pytest.mark.skipif(not row_batch.COMPILED, reason="extension not built")

COL = {name: i for i, name in enumerate(ROW_COLUMNS)}


def _row(**values) -> tuple:
    """A typical fast-path row, with ``values`` replacing some columns."""
    base = {name: None for name in ROW_COLUMNS}
    base.update(
        request_id="r-1", timestamp=1_748_858_130_123, account_id="123456789012",
        region="us-east-1", operation="Converse", streaming=False, model_id_raw="m",
        service_tier="default", input_tokens=12, cache_read_tokens=0, cache_write_tokens=0,
        cache_ttl="5m", output_tokens=7, latency_ms=812.5, temperature=0.2, max_tokens=300,
        request_hash="ab" * 16, prefix_hashes=[("system", "cd" * 16, 6), ("message", "ef" * 16, 9)],
        user_text="Où est ma commande ? 😀\nline two", output_shape="prose", body_in_s3=False,
        source_file="f.json.gz",
    )  # fmt: skip
    base.update(values)
    return tuple(base[name] for name in ROW_COLUMNS)


ROWS = [
    _row(),
    _row(request_id="r-2", prefix_hashes=None, user_text=None, latency_ms=None),  # nulls
    _row(request_id="r-3", prefix_hashes=[], user_text=""),  # empty list, empty string
    _row(request_id="r-4", streaming=True, body_in_s3=None, input_tokens=2**62),
    _row(request_id="r-5", user_text="x" * 100_000, temperature=-0.0),
]


def test_same_batch_as_pyarrow():
    built = row_batch.to_batch(ROWS)
    built.validate(full=True)
    assert built.schema.equals(USAGE_SCHEMA)
    assert built.equals(row_batch.pyarrow_batch(ROWS))
    assert built.column("prefix_hashes")[0].as_py() == [
        {"kind": "system", "hash": "cd" * 16, "tokens": 6},
        {"kind": "message", "hash": "ef" * 16, "tokens": 9},
    ]
    assert built.column("user_text")[0].as_py() == "Où est ma commande ? 😀\nline two"
    assert built.column("user_text").type == pa.large_string()
    offsets = built.column("user_text").buffers()[1]  # 8 bytes each: 0, 35 (UTF-8), 35, 35
    assert offsets.to_pybytes()[:32] == b"".join(n.to_bytes(8, "little") for n in (0, 35, 35, 35))
    assert built.column("model").null_count == len(ROWS)  # filled in by the parent
    assert built.column("latency_ms").to_pylist()[:2] == [812.5, None]


def test_empty_and_single_rows():
    assert row_batch.to_batch([]).num_rows == 0
    one = row_batch.to_batch([_row()])
    assert one.equals(row_batch.pyarrow_batch([_row()]))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("temperature", 1),  # an int where a float belongs: pyarrow converts it
        ("max_tokens", 2**70),  # too big for int64: pyarrow's error
        ("max_tokens", True),  # a bool where an int belongs: pyarrow's error
        ("user_text", b"bytes"),
        ("prefix_hashes", [("system", "h", None)]),
        ("user_text", "\ud800"),  # a lone surrogate has no UTF-8: pyarrow's error
    ],
)
def test_odd_values_get_pyarrows_treatment(column, value):
    rows = [_row(), _row(**{column: value})]
    try:
        expected = row_batch.pyarrow_batch(rows)
    except (pa.ArrowException, TypeError, OverflowError, UnicodeError) as exc:
        with pytest.raises(type(exc)):
            row_batch.to_batch(rows)
    else:
        assert row_batch.to_batch(rows).equals(expected)


def test_layout_follows_the_schema():
    kinds = dict(zip(USAGE_SCHEMA.names, row_batch.LAYOUT, strict=True))
    assert kinds["user_text"] == ("L", COL["user_text"])  # large_string: 64-bit offsets
    assert kinds["request_id"] == ("s", COL["request_id"])
    assert kinds["timestamp"] == ("t", COL["timestamp"])
    assert kinds["prefix_hashes"] == ("p", COL["prefix_hashes"])
    assert kinds["model"] == ("n", -1)
    assert sum(kind == "n" for kind, _ in row_batch.LAYOUT) == 4


def test_sample_batches_same_as_pyarrow(sample_dir, monkeypatch):
    from bedrock_finops import ingest_worker
    from bedrock_finops.ingest_worker import Options, process_chunk
    from bedrock_finops.sources import invocation_logs as logs

    units = logs.list_local(sample_dir / "logs", None, None).units[::10]
    compiled = process_chunk(units, Options(token="compiled")).batches
    monkeypatch.setattr(ingest_worker, "to_batch", row_batch.pyarrow_batch)
    plain = process_chunk(units, Options(token="pyarrow")).batches
    assert sum(b.num_rows for b in compiled) > 2000
    assert len(compiled) == len(plain)
    for ours, theirs in zip(compiled, plain, strict=True):
        ours.validate(full=True)
        assert ours.equals(theirs)
