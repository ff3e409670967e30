"""Row tuples -> one Arrow record batch in the usage table's schema.

Workers build rows as tuples (``parse.ROW_COLUMNS`` order) and turn every ~1,000 of them into
a record batch. pyarrow's conversion from Python objects checks and dispatches on every value
(~6 us per row, a tenth of a worker's time); the compiled ``_rowbatch`` extension writes the
column buffers directly and hands them to pyarrow through the Arrow C data interface (the
PyCapsule protocol), about 5x faster. It accepts only the exact types a row holds (str, int,
float, bool, None, the prefix-hash list); for a batch with anything else, and where the
extension was not built (no C compiler at install), pyarrow converts it, so the result is
always pyarrow's own. Tests pin the two equal.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from bedrock_finops.parse import ROW_COLUMNS
from bedrock_finops.schema import USAGE_SCHEMA

try:
    from bedrock_finops import _rowbatch
except ImportError:  # no C compiler at install time
    _rowbatch = None

COMPILED = _rowbatch is not None


def _kind(dtype: pa.DataType) -> str:
    if pa.types.is_string(dtype):
        return "s"
    if pa.types.is_large_string(dtype):
        return "L"
    if pa.types.is_int64(dtype):
        return "i"
    if pa.types.is_float64(dtype):
        return "f"
    if pa.types.is_boolean(dtype):
        return "b"
    if pa.types.is_timestamp(dtype) and dtype.unit == "ms":
        return "t"
    if dtype == USAGE_SCHEMA.field("prefix_hashes").type:
        return "p"
    raise TypeError(f"no compiled conversion for {dtype}")


# per schema column: (kind, position in the row tuple); the model columns stay null (the
# parent resolves each model ID once)
LAYOUT = tuple(
    (_kind(f.type), ROW_COLUMNS.index(f.name)) if f.name in ROW_COLUMNS else ("n", -1)
    for f in USAGE_SCHEMA
)


class _Exported:
    """A batch built by ``_rowbatch``, offered to pyarrow through the PyCapsule protocol."""

    __slots__ = ("capsule",)

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __arrow_c_array__(self, requested_schema: Any = None) -> tuple[Any, Any]:
        return USAGE_SCHEMA.__arrow_c_schema__(), self.capsule


def to_batch(rows: list[tuple]) -> pa.RecordBatch:
    """Row tuples -> one record batch (model columns null), compiled where possible."""
    if _rowbatch is not None:
        try:
            return pa.record_batch(_Exported(_rowbatch.rows_to_batch(rows, LAYOUT)))
        except (TypeError, OverflowError, UnicodeError, ValueError):
            pass  # an odd value, or a module built from older source: pyarrow decides
    return pyarrow_batch(rows)


def pyarrow_batch(rows: list[tuple]) -> pa.RecordBatch:
    """Row tuples -> one record batch, column by column with pyarrow (transposed at C speed)."""
    columns = dict(zip(ROW_COLUMNS, zip(*rows, strict=True), strict=True))
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(len(rows), f.type)
        for f in USAGE_SCHEMA
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=USAGE_SCHEMA)
