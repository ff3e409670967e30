"""Rows of one long column by position: without joining its chunks, or from the file.

pyarrow's ``take`` on a chunked array concatenates every chunk before it selects (pyarrow
26), and pandas calls it on every positional selection (``iloc``, a boolean mask). For
``user_text``, ~3 GB in a month of a million requests, that is a 3 GB copy per selection,
even of three rows. :func:`take_positions` takes from each chunk the rows it holds instead:
the cost follows the rows selected, not the column. :class:`ParquetColumn` serves a
column that is not in memory at all, from ``usage.parquet``, a row group at a time, and
:func:`user_turns` gives a strategy the user turns from either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def take_positions(series: pd.Series, positions: np.ndarray | list[int]) -> pd.Series:
    """``series.iloc[positions]`` (same values, order and index labels), chunk by chunk."""
    at = _positions(positions, len(series))
    if not isinstance(series.dtype, pd.ArrowDtype):
        return series.iloc[at]
    chunked = pa.array(series.array)  # the column's own chunks, zero-copy
    if not isinstance(chunked, pa.ChunkedArray):
        chunked = pa.chunked_array([chunked])
    starts = np.cumsum([0] + [len(c) for c in chunked.chunks])
    values = _gather(at, starts, lambda k: chunked.chunk(k), chunked.type, keep_chunks=True)
    return pd.Series(
        pd.arrays.ArrowExtensionArray(values), index=series.index[at], name=series.name
    )


def _positions(positions: np.ndarray | list[int], n: int) -> np.ndarray:
    """Positions as int64, checked: in range, and not a boolean mask (``iloc`` would read
    one as a mask, this as positions 0 and 1)."""
    at = np.asarray(positions)
    if at.dtype == bool:
        raise TypeError("positions must be integers, not a boolean mask")
    at = at.astype(np.int64, copy=False)
    if len(at) and (at.min() < 0 or at.max() >= n):
        raise IndexError(f"positions out of range for a column of {n:,} rows")
    return at


def _gather(
    at: np.ndarray,
    starts: np.ndarray,
    part: Callable[[int], pa.Array | pa.ChunkedArray],
    dtype: pa.DataType,
    keep_chunks: bool = False,
) -> pa.Array | pa.ChunkedArray:
    """Values at positions ``at`` of a column cut into parts at ``starts`` (``part(k)`` gives
    part k), taking from each part only its own rows."""
    owner = np.searchsorted(starts, at, side="right") - 1  # the part each position is in
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(len(starts)))  # each part's run in order
    pieces = []
    for k in np.unique(owner):
        mine = at[order[bounds[k] : bounds[k + 1]]] - starts[k]
        pieces.append(part(int(k)).take(pa.array(mine)))
    if not pieces:
        return pa.chunked_array([], dtype)
    if keep_chunks and np.all(at[1:] >= at[:-1]):  # ascending: the pieces as they are
        return pa.chunked_array(pieces, dtype)
    joined = pa.chunked_array(pieces, dtype).combine_chunks()
    return joined.take(pa.array(np.argsort(order, kind="stable")))  # back to the order asked


class ParquetColumn:
    """One column of a Parquet file, read a row group at a time.

    For a column too large to keep in memory beside the rest of the table: a month of user
    turns is ~3 GB. ``take`` reads only the row groups that hold the rows asked for, each once
    per call; ``text_parts`` walks them all in order. The file is opened for each read, not
    held open.
    """

    def __init__(self, path: str | Path, name: str) -> None:
        self.path = Path(path)
        self.name = name
        with pq.ParquetFile(self.path) as f:
            if name not in f.schema_arrow.names:
                raise KeyError(f"{self.path} has no column {name!r}")
            self.type = f.schema_arrow.field(name).type
            meta = f.metadata
            sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        self.starts = np.cumsum([0, *sizes])

    def __len__(self) -> int:
        return int(self.starts[-1])

    def read_row_group(self, i: int) -> pa.ChunkedArray:
        """The column's values in row group ``i`` (rows ``starts[i]:starts[i + 1]``)."""
        with pq.ParquetFile(self.path) as f:
            return f.read_row_group(i, columns=[self.name]).column(0)

    def isna(self) -> np.ndarray:
        """Whether each row's value is null, in row order."""
        out = np.empty(len(self), dtype=bool)
        for i in range(len(self.starts) - 1):
            out[self.starts[i] : self.starts[i + 1]] = self.read_row_group(i).is_null().to_numpy()
        return out

    def take(self, positions: np.ndarray | list[int]) -> pd.Series:
        """The rows at ``positions`` (any order), index = the positions."""
        at = _positions(positions, len(self))
        values = _gather(at, self.starts, self.read_row_group, self.type)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        return pd.Series(pd.arrays.ArrowExtensionArray(values), index=at, name=self.name)


def text_parts(
    column: pd.Series | ParquetColumn,
) -> Iterator[tuple[int, int, pa.Array | pa.ChunkedArray]]:
    """``(start, stop, values of rows start:stop)`` covering ``column`` in row order, one
    part at a time: a row group of the file, or a chunk of the column in memory."""
    if isinstance(column, ParquetColumn):
        for i in range(len(column.starts) - 1):
            yield int(column.starts[i]), int(column.starts[i + 1]), column.read_row_group(i)
        return
    if isinstance(column.dtype, pd.ArrowDtype):
        chunks = pa.array(column.array)  # zero-copy
        parts = chunks.chunks if isinstance(chunks, pa.ChunkedArray) else [chunks]
    else:
        parts = [pa.array(column.to_numpy(dtype=object), from_pandas=True)]
    start = 0
    for part in parts:
        yield start, start + len(part), part
        start += len(part)


def rows_of(column: pd.Series | ParquetColumn, positions: np.ndarray | list[int]) -> pd.Series:
    """``positions`` of a column held in memory (``take_positions``) or in a Parquet file."""
    if isinstance(column, ParquetColumn):
        return column.take(positions)
    return take_positions(column, positions)


def user_turns(
    usage: pd.DataFrame, user_text: pd.Series | ParquetColumn | None
) -> pd.Series | ParquetColumn:
    """The user turns: ``usage``'s own column, else ``user_text`` (same rows, same order),
    for a strategy given a usage table read without them (``RunContext.user_text_column``)."""
    if user_text is None:
        if "user_text" not in usage.columns:
            raise ValueError(
                "usage has no user_text column: pass user_text=RunContext.user_text_column "
                "(or read the usage table with its user turns)"
            )
        return usage["user_text"]
    if len(user_text) != len(usage):
        raise ValueError(
            f"user_text has {len(user_text):,} rows and usage {len(usage):,}: they must come "
            "from the same usage.parquet, in file order"
        )
    return user_text
