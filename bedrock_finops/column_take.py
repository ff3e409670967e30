"""Rows of one long column by position: without joining its chunks, or from the file.

pyarrow's ``take`` on a chunked array concatenates every chunk before it selects (pyarrow
26), and pandas calls it on every positional selection (``iloc``, a boolean mask). For
``user_text``, ~3 GB in a month of a million requests, that is a 3 GB copy per selection,
even of three rows. :func:`take_positions` takes from each chunk the rows it holds instead:
the cost follows the rows selected, not the column. :class:`ParquetColumn` serves a
column that is not in memory at all, from ``usage.parquet``, a row group at a time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def take_positions(series: pd.Series, positions: np.ndarray | list[int]) -> pd.Series:
    """``series.iloc[positions]`` (same values, order and index labels), chunk by chunk."""
    at = np.asarray(positions, dtype=np.int64)
    if not isinstance(series.dtype, pd.ArrowDtype):
        return series.iloc[at]
    if len(at) and (at.min() < 0 or at.max() >= len(series)):
        raise IndexError(f"positions out of range for a column of {len(series):,} rows")
    chunked = pa.array(series.array)  # the column's own chunks, zero-copy
    if not isinstance(chunked, pa.ChunkedArray):
        chunked = pa.chunked_array([chunked])
    starts = np.cumsum([0] + [len(c) for c in chunked.chunks])
    owner = np.searchsorted(starts, at, side="right") - 1  # the chunk each position is in
    order = np.argsort(owner, kind="stable")
    pieces = []
    for k in np.unique(owner):
        mine = at[order[owner[order] == k]] - starts[k]
        pieces.append(chunked.chunk(int(k)).take(pa.array(mine)))
    if not pieces:
        values = pa.chunked_array([], chunked.type)
    elif np.all(at[1:] >= at[:-1]):  # ascending (a segment's rows): the pieces, no copy more
        values = pa.chunked_array(pieces, chunked.type)
    else:  # back to the order asked for
        values = pa.concat_arrays(pieces).take(pa.array(np.argsort(order, kind="stable")))
    return pd.Series(
        pd.arrays.ArrowExtensionArray(values), index=series.index[at], name=series.name
    )


class ParquetColumn:
    """One column of a Parquet file, read a row group at a time.

    For a column too large to keep in memory beside the rest of the table: a month of user
    turns is ~3 GB. ``take`` reads only the row groups that hold the rows asked for, and keeps
    the last one read, so rows asked for in ascending slices read each row group once.
    """

    def __init__(self, path: str | Path, name: str) -> None:
        self.path = Path(path)
        self.name = name
        self._file = pq.ParquetFile(self.path)
        if name not in self._file.schema_arrow.names:
            raise KeyError(f"{self.path} has no column {name!r}")
        meta = self._file.metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.starts = np.cumsum([0, *sizes])
        self._last: tuple[int, pa.ChunkedArray] | None = None

    def __len__(self) -> int:
        return int(self.starts[-1])

    def _group(self, i: int) -> pa.ChunkedArray:
        if self._last is None or self._last[0] != i:
            table = self._file.read_row_group(i, columns=[self.name])
            self._last = (i, table.column(0))
        return self._last[1]

    def isna(self) -> np.ndarray:
        """Whether each row's value is null, in row order."""
        out = np.empty(len(self), dtype=bool)
        for i in range(len(self.starts) - 1):
            nulls = self._file.read_row_group(i, columns=[self.name]).column(0).is_null()
            out[self.starts[i] : self.starts[i + 1]] = nulls.to_numpy()
        return out

    def take(self, positions: np.ndarray | list[int]) -> pd.Series:
        """The rows at ``positions`` (any order), index = the positions."""
        at = np.asarray(positions, dtype=np.int64)
        if len(at) and (at.min() < 0 or at.max() >= len(self)):
            raise IndexError(f"positions out of range for a column of {len(self):,} rows")
        group = np.searchsorted(self.starts, at, side="right") - 1
        order = np.argsort(group, kind="stable")
        pieces = []
        for g in np.unique(group):
            mine = at[order[group[order] == g]] - self.starts[g]
            pieces.append(self._group(int(g)).take(pa.array(mine)))
        dtype = self._file.schema_arrow.field(self.name).type
        values = pa.chunked_array(pieces, dtype).combine_chunks() if pieces else pa.array([], dtype)
        values = values.take(pa.array(np.argsort(order, kind="stable")))  # the order asked
        return pd.Series(pd.arrays.ArrowExtensionArray(values), index=at, name=self.name)


def rows_of(column: pd.Series | ParquetColumn, positions: np.ndarray | list[int]) -> pd.Series:
    """``positions`` of a column held in memory (``take_positions``) or in a Parquet file."""
    if isinstance(column, ParquetColumn):
        return column.take(positions)
    return take_positions(column, positions)
