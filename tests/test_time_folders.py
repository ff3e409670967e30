"""Spans of AWS's dated folders and the window rules an S3 listing prunes by."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bedrock_finops.sources.time_folders import (
    all_inside,
    ceil_ms,
    folder_span,
    key_in_window,
    key_span,
    may_hold,
)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


LAYOUT = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1"


@pytest.mark.parametrize(
    ("folder", "span"),
    [
        (f"{LAYOUT}/", None),
        (f"{LAYOUT}/2026/", ("2026-01-01", "2027-01-01")),
        (f"{LAYOUT}/2026/02/", ("2026-02-01", "2026-03-01")),
        (f"{LAYOUT}/2024/02/", ("2024-02-01", "2024-03-01")),  # a leap year's February
        (f"{LAYOUT}/2026/10/31/", ("2026-10-31", "2026-11-01")),
        (f"{LAYOUT}/2026/12/31/23/", ("2026-12-31T23:00", "2027-01-01T00:00")),
        (f"{LAYOUT}/2026/12/31/23/data/", ("2026-12-31T23:00", "2027-01-01T00:00")),
        (f"{LAYOUT}/2026/13/", ("2026-01-01", "2027-01-01")),  # no month 13: the year's span
        (f"{LAYOUT}/2026/02/30/", ("2026-02-01", "2026-03-01")),  # no 30 February
        (f"{LAYOUT}/2026/10/02/24/", ("2026-10-02", "2026-10-03")),  # no hour 24
        (f"{LAYOUT}/2026/10/2/05/", ("2026-10-01", "2026-11-01")),  # days have two digits
        ("1999/10/02/05/", None),  # not a 20YY year
        ("20２6/10/", None),  # digits, but not ASCII ones
        ("2026", ("2026-01-01", "2027-01-01")),  # no trailing slash
        ("2026//10/", ("2026-01-01", "2027-01-01")),  # an empty folder name is not a month
        # a year in the prefix above AWS's layout is no date: the date follows the region
        (f"bedrock/2025/{LAYOUT}/", None),
        ("bedrock/2025/AWSLogs/111122223333/BedrockModelInvocationLogs/", None),
        (f"bedrock/2025/{LAYOUT}/2026/11/", ("2026-11-01", "2026-12-01")),
        (f"bedrock/2025/{LAYOUT}/2026/11/25/06/", ("2026-11-25T06:00", "2026-11-25T07:00")),
        ("bedrock/2025/AWSLogs/", ("2025-01-01", "2026-01-01")),  # no layout (yet): a year
    ],
)
def test_folder_span(folder: str, span: tuple[str, str] | None):
    expected = None if span is None else (_t(span[0]), _t(span[1]))
    assert folder_span(folder) == expected


def test_key_span_is_its_folders_not_its_name():
    assert key_span(f"{LAYOUT}/2026/10/02/05/x.json.gz") == (
        _t("2026-10-02T05:00"),
        _t("2026-10-02T06:00"),
    )
    assert key_span("2026.json") is None  # a file named like a year is not a folder
    assert key_span("misc/2026/stray.json") == (_t("2026-01-01"), _t("2027-01-01"))


def test_a_year_above_the_layout_is_not_the_keys_date():
    assert key_span(f"bedrock/2025/{LAYOUT}/2026/11/25/06/x.json.gz") == (
        _t("2026-11-25T06:00"),
        _t("2026-11-25T07:00"),
    )
    # the permission-check object sits beside the regions: no date folder, never outside
    check = "bedrock/2025/AWSLogs/111122223333/BedrockModelInvocationLogs/permission-check"
    assert key_span(check) is None
    # without the layout, the first year folder still dates the key
    assert key_span("exports/2025/01/x.json") == (_t("2025-01-01"), _t("2025-02-01"))
    start, end = _t("2026-11-25T06:00"), _t("2026-11-25T07:00")
    assert key_in_window(f"bedrock/2025/{LAYOUT}/2026/11/25/06/x.json.gz", start, end)
    assert not key_in_window(f"bedrock/2026/{LAYOUT}/2025/11/25/06/x.json.gz", start, end)


def test_a_folder_and_the_keys_under_it_agree():
    for folder in ("2026//10/", "/2026/10/", "a//2026/10/02/05/", "2026/10//02/"):
        assert key_span(folder + "x.json") == folder_span(folder), folder


def test_hour_keys_keep_the_delivery_slack():
    start, end = _t("2026-10-02T06:00"), _t("2026-10-02T12:00")
    kept = [
        h for h in range(24) if key_in_window(f"{LAYOUT}/2026/10/02/{h:02d}/f.json", start, end)
    ]
    # 06..11 hold the window; 12 may hold records of 11:xx delivered late
    assert kept == list(range(6, 13))
    assert key_in_window(f"{LAYOUT}/f.json", start, end)  # no date folders: never outside


def test_day_level_files_are_bounded_by_their_day():
    start, end = _t("2026-10-02T06:00"), _t("2026-10-02T12:00")
    assert key_in_window(f"{LAYOUT}/2026/10/02/stray.json", start, end)
    assert not key_in_window(f"{LAYOUT}/2026/10/03/stray.json", start, end)
    assert not key_in_window(f"{LAYOUT}/2026/09/stray.json", start, end)


def _hours(span):
    lo, hi = span
    while lo < hi:
        yield lo, lo + timedelta(hours=1)
        lo += timedelta(hours=1)


def test_folder_rules_agree_with_the_hours_inside():
    """may_hold: some hour of the folder may hold the window; all_inside: every hour does.

    Checked against the hours themselves for every day and hour folder of three days, under
    windows with every start and end on a half-hour grid around them (and open ends).
    """
    days = [f"{LAYOUT}/2026/10/{d:02d}/" for d in (1, 2, 3)]
    hours = [f"{day}{h:02d}/" for day in days for h in range(24)]
    grid = [_t("2026-10-01T00:00") + timedelta(minutes=30 * i) for i in range(-3, 150, 5)]
    windows = [(s, e) for s, e in itertools.combinations(grid, 2)]
    windows += [(None, e) for e in grid] + [(s, None) for s in grid] + [(None, None)]
    for folder in [*days, f"{LAYOUT}/2026/10/", *hours]:
        span = folder_span(folder)
        for start, end in windows:
            per_hour = [may_hold(h, start, end) for h in _hours(span)]
            assert may_hold(span, start, end) == any(per_hour), (folder, start, end)
            assert all_inside(span, start, end) == all(per_hour), (folder, start, end)


@pytest.mark.parametrize(
    ("when", "ms"),
    [
        (datetime(2025, 6, 2, 6, tzinfo=UTC), 1748844000000),
        (datetime(2025, 6, 2, 6, 0, 0, 1, tzinfo=UTC), 1748844000001),
        (datetime(2025, 6, 2, 6, 0, 0, 999, tzinfo=UTC), 1748844000001),
        (datetime(2025, 6, 2, 6, 0, 0, 1000, tzinfo=UTC), 1748844000001),
        (datetime(2025, 6, 2, 6, 0, 0, 1001), 1748844000002),  # naive: UTC
        (datetime(2025, 6, 2, 8, tzinfo=timezone(timedelta(hours=2))), 1748844000000),
        (datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 253370764800000),
    ],
)
def test_a_bound_in_milliseconds_is_rounded_up_exactly(when, ms):
    """Both bounds round up (records are kept when start <= ts < end)."""
    assert ceil_ms(when) == ms
