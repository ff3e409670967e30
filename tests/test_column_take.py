"""``take_positions`` selects what ``iloc`` selects, chunk by chunk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bedrock_finops.column_take import ParquetColumn, rows_of, take_positions, text_parts


def chunked_series(sizes: list[int]) -> pd.Series:
    chunks, n = [], 0
    for size in sizes:
        values = [None if (n + i) % 7 == 3 else f"text {n + i}" for i in range(size)]
        chunks.append(pa.array(values, pa.large_string()))
        n += size
    array = pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, pa.large_string()))
    return pd.Series(array, index=pd.RangeIndex(n) * 10 + 5, name="user_text")


@pytest.mark.parametrize("seed", range(20))
def test_same_as_iloc_on_random_positions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    series = chunked_series(rng.integers(0, 40, size=int(rng.integers(1, 6))).tolist())
    if len(series) == 0:
        series = chunked_series([3])
    at = rng.integers(0, len(series), size=int(rng.integers(0, 60)))  # repeats, any order
    for positions in (at, np.sort(at)):  # any order; ascending keeps the pieces as chunks
        got = take_positions(series, positions)
        pd.testing.assert_series_equal(got, series.iloc[positions])


def test_values_by_hand() -> None:
    series = chunked_series([3, 0, 4])  # "text 0" .. "text 6", row 3 null; labels 5, 15, ...
    got = take_positions(series, [6, 0, 3, 6])
    assert got.index.tolist() == [65, 5, 35, 65]
    assert got.isna().tolist() == [False, False, True, False]
    assert got.dropna().tolist() == ["text 6", "text 0", "text 6"]
    assert got.dtype == pd.ArrowDtype(pa.large_string())


def test_empty_selection_and_errors() -> None:
    series = chunked_series([2, 2])
    assert len(take_positions(series, [])) == 0
    with pytest.raises(IndexError, match="out of range for a column of 4 rows"):
        take_positions(series, [4])
    with pytest.raises(IndexError):
        take_positions(series, [-1])


def test_a_numpy_backed_series_is_plain_iloc() -> None:
    series = pd.Series(["a", "b", "c"], index=[9, 8, 7])
    pd.testing.assert_series_equal(take_positions(series, [2, 0]), series.iloc[[2, 0]])


def test_a_parquet_column_is_read_a_row_group_at_a_time(tmp_path) -> None:
    series = chunked_series([5, 0, 9])
    table = pa.table({"user_text": pa.array(series.array).combine_chunks()})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=4)  # 4 row groups
    column = ParquetColumn(tmp_path / "t.parquet", "user_text")
    assert len(column) == 14 and column.starts.tolist() == [0, 4, 8, 12, 14]
    assert column.isna().tolist() == series.isna().tolist()
    at = [13, 0, 3, 3, 9, 4]
    got = column.take(at)
    assert got.index.tolist() == at
    assert got.isna().tolist() == series.iloc[at].isna().tolist()
    assert got.dropna().tolist() == series.iloc[at].dropna().tolist()
    pd.testing.assert_series_equal(
        rows_of(column, at).reset_index(drop=True), rows_of(series, at).reset_index(drop=True)
    )
    with pytest.raises(IndexError, match="out of range for a column of 14 rows"):
        column.take([14])
    with pytest.raises(KeyError, match="no column 'nope'"):
        ParquetColumn(tmp_path / "t.parquet", "nope")


def test_a_mask_is_refused_and_an_empty_file_has_no_rows(tmp_path) -> None:
    series = chunked_series([3])
    with pytest.raises(TypeError, match="not a boolean mask"):
        take_positions(series, np.array([True, False, True]))
    pq.write_table(pa.table({"user_text": pa.array([], pa.large_string())}), tmp_path / "e.pq")
    column = ParquetColumn(tmp_path / "e.pq", "user_text")
    assert len(column) == 0 and column.isna().tolist() == [] and len(column.take([])) == 0


def test_text_parts_cover_the_column_in_order(tmp_path) -> None:
    series = chunked_series([5, 0, 9])
    pq.write_table(pa.table({"t": pa.array(series.array)}), tmp_path / "t.pq", row_group_size=6)
    plain = pd.Series(["a", None, "c"])  # numpy-backed: one part
    for column, bounds in (
        (series, [(0, 5), (5, 5), (5, 14)]),
        (ParquetColumn(tmp_path / "t.pq", "t"), [(0, 6), (6, 12), (12, 14)]),
        (plain, [(0, 3)]),
    ):
        parts = list(text_parts(column))
        assert [(lo, hi) for lo, hi, _ in parts] == bounds
        values = [v for _, _, part in parts for v in part.to_pylist()]
        expected = series if column is not plain else plain
        assert values == [None if pd.isna(v) else v for v in expected.tolist()]
