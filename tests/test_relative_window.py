"""run.window: days relative to the run's UTC day, resolved into run.start and run.end."""

from __future__ import annotations

import datetime as dt

import pytest

from bedrock_finops import relative_window
from bedrock_finops.params import ParamsError


@pytest.mark.parametrize(
    ("window", "today", "start", "end"),
    [
        ("previous_month", "2026-03-01", "2026-02-01", "2026-03-01"),
        ("previous_month", "2028-03-01", "2028-02-01", "2028-03-01"),  # 29 days, a leap year
        ("previous_month", "2026-03-31", "2026-02-01", "2026-03-01"),
        ("previous_month", "2027-01-02", "2026-12-01", "2027-01-01"),  # across the year
        ("month_to_date", "2026-03-15", "2026-03-01", "2026-03-15"),
        ("month_to_date", "2026-03-02", "2026-03-01", "2026-03-02"),
        ("last_7_days", "2026-11-28", "2026-11-21", "2026-11-28"),
        ("last_30_days", "2026-03-01", "2026-01-30", "2026-03-01"),
        ("last_1_days", "2026-01-01", "2025-12-31", "2026-01-01"),
        ("last_90_days", "2026-11-28", "2026-08-30", "2026-11-28"),
    ],
)
def test_a_window_resolves_to_whole_utc_days_before_today(window, today, start, end) -> None:
    resolved = relative_window.resolve(window, dt.date.fromisoformat(today))
    assert resolved == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_the_day_is_the_clocks_utc_day() -> None:
    """00:30 in Berlin on 1 March is 28 February in UTC: the previous month is January."""
    berlin = dt.timezone(dt.timedelta(hours=1))
    today = relative_window.utc_day(dt.datetime(2026, 3, 1, 0, 30, tzinfo=berlin))
    assert today == dt.date(2026, 2, 28)
    assert relative_window.resolve("previous_month", today) == (
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    )


def test_month_to_date_on_the_first_holds_no_day() -> None:
    with pytest.raises(ValueError) as err:
        relative_window.resolve("month_to_date", dt.date(2026, 3, 1))
    assert str(err.value) == (
        "month_to_date holds no whole day on 2026-03-01, the 1st of the month (today is left "
        "out); run it from the 2nd, or use previous_month on the 1st"
    )


def test_a_window_before_1970_is_refused() -> None:
    with pytest.raises(ValueError, match="last_30000_days on 2026-03-01 would start before 1970"):
        relative_window.resolve("last_30000_days", dt.date(2026, 3, 1))


def test_the_run_gets_start_and_end_and_keeps_the_window() -> None:
    run = {"source": "./logs", "window": "previous_month", "start": None, "end": None}
    resolved = relative_window.resolved_run(run, dt.date(2026, 3, 1), "p.yaml")
    assert resolved == {
        "source": "./logs",
        "window": "previous_month",
        "start": dt.date(2026, 2, 1),
        "end": dt.date(2026, 3, 1),
    }
    assert run["start"] is None  # the params as read are left as they were
    fixed = {"window": None, "start": dt.date(2026, 1, 5), "end": None}
    assert relative_window.resolved_run(fixed, dt.date(2026, 3, 1), "p.yaml") is fixed
    assert relative_window.described(resolved) == (
        "window: previous_month = 2026-02-01 to 2026-02-28 (28 UTC days; run.start 2026-02-01, "
        "run.end 2026-03-01)"
    )


def test_a_window_without_a_day_is_a_params_error_naming_the_key() -> None:
    run = {"window": "month_to_date", "start": None, "end": None}
    with pytest.raises(ParamsError, match=r"^p.yaml: run.window: month_to_date holds no whole"):
        relative_window.resolved_run(run, dt.date(2026, 3, 1), "p.yaml")
