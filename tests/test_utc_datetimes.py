"""``schema.utc_datetimes``: the usage table's Arrow timestamp column as pandas datetimes,
converted by Arrow at once, where pandas' own ``astype`` goes value by value."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from bedrock_finops.schema import utc_datetimes


def _column(unit: str, tz: str | None) -> pd.Series:
    seconds = pa.timestamp("s", tz=None if tz is None else "UTC")  # instants, then shown in tz
    stamps = pa.array([0, 1_700_000_000, None, 1_800_000_000], seconds).cast(
        pa.timestamp(unit, tz=tz)
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(stamps), index=[7, 3, 9, 1], name="timestamp")


@pytest.mark.parametrize("unit, tz", [("ms", "UTC"), ("us", "Europe/Berlin"), ("s", None)])
def test_the_same_instants_nulls_index_and_name_as_pandas_gives(unit, tz):
    column = _column(unit, tz)
    if tz is None:  # a naive column is read as UTC
        expected = pd.to_datetime(column.astype("datetime64[ms]"), utc=True)
    else:
        expected = column.astype("datetime64[ms, UTC]")
    got = utc_datetimes(column)
    assert str(got.dtype) == "datetime64[ms, UTC]"
    assert got.index.tolist() == [7, 3, 9, 1] and got.name == "timestamp"
    assert got.isna().tolist() == [False, False, True, False]
    assert got.tolist()[:2] == [
        pd.Timestamp("1970-01-01", tz="UTC"),
        pd.Timestamp("2023-11-14 22:13:20", tz="UTC"),
    ]
    assert got.equals(expected.astype("datetime64[ms, UTC]"))


def test_a_column_already_in_pandas_datetimes_passes_through_unchanged():
    column = utc_datetimes(_column("ms", "UTC"))
    assert utc_datetimes(column).equals(column)
