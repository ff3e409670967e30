"""The usage table's long text holds a month: ``user_text`` and the strings of
``prefix_hashes`` are ``large_string``.

A ``string`` column's chunks cannot be joined past 2 GB, and pandas joins them whenever rows
are selected (``iloc``, ``loc`` with a mask). A million records' user turns pass that (3.2 GB
in the benchmark's mix), so ``user_text`` has 64-bit offsets, and a file written before the
change is read as if written after it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.schema import USAGE_SCHEMA, canonical_text_types, read_usage

FIXTURES = Path(__file__).parent / "fixtures" / "logs" / "good"


NARROW_PREFIXES = pa.list_(
    pa.struct([("kind", pa.string()), ("hash", pa.string()), ("tokens", pa.int64())])
)  # how files written before the change store prefix_hashes


def test_long_text_columns_have_64_bit_offsets() -> None:
    assert USAGE_SCHEMA.field("user_text").type == pa.large_string()
    prefix = USAGE_SCHEMA.field("prefix_hashes").type.value_type
    assert [prefix.field(n).type for n in ("kind", "hash")] == [pa.large_string()] * 2
    assert USAGE_SCHEMA.field("request_id").type == pa.string()  # short values stay as they were


def test_a_file_written_with_string_user_text_reads_as_large_string(tmp_path) -> None:
    ingest_to_folder(FIXTURES, tmp_path / "new", workers=1, progress=False)
    table = pq.read_table(tmp_path / "new" / "usage.parquet")
    assert table.schema.field("user_text").type == pa.large_string()  # what the ingest writes
    old = table
    for name, narrow in (("user_text", pa.string()), ("prefix_hashes", NARROW_PREFIXES)):
        at = old.schema.get_field_index(name)
        old = old.set_column(at, name, old.column(name).cast(narrow))
    pq.write_table(old, tmp_path / "old.parquet")
    assert pq.read_schema(tmp_path / "old.parquet").field("prefix_hashes").type == NARROW_PREFIXES
    usage = read_usage(tmp_path / "old.parquet")
    assert usage["user_text"].dtype == pd.ArrowDtype(pa.large_string())
    assert usage["prefix_hashes"].dtype == pd.ArrowDtype(USAGE_SCHEMA.field("prefix_hashes").type)
    assert usage["user_text"].notna().sum() > 5
    assert usage.equals(read_usage(tmp_path / "new" / "usage.parquet"))  # values and dtypes


def test_only_canonical_string_columns_are_widened() -> None:
    table = pa.table(
        {
            "user_text": pa.array(["a", None], pa.string()),
            "request_id": pa.array(["r1", "r2"], pa.string()),
            "my_note": pa.array(["x", "y"], pa.string()),  # a user's own column: left alone
        }
    )
    out = canonical_text_types(table)
    assert [f.type for f in out.schema] == [pa.large_string(), pa.string(), pa.string()]
    assert out.column("user_text").to_pylist() == ["a", None]
