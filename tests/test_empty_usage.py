"""The error a run with an empty usage table stops with (empty_usage.nothing_to_analyse)."""

from __future__ import annotations

from bedrock_finops.empty_usage import nothing_to_analyse


def test_quarantined_lines_and_records_outside_the_window_name_both_fixes() -> None:
    """A windowed run whose lines in the window were all quarantined, and whose other records
    are all before it: the quarantine's reasons, then the run.start that takes those in."""
    report = {
        "source": "logs",
        "start": "2026-11-01T00:00:00+00:00",
        "end": "2026-11-08T00:00:00+00:00",
        "lines_read": 2,
        "quarantined": 2,
        "quarantine_by_reason": {"invalid JSON": 2},
        "outside_window": 40,
        "before_window": 40,
        "after_window": 0,
        "earliest_outside": "2026-09-01T10:00:00+00:00",
        "latest_outside": "2026-09-03T23:59:00+00:00",
    }
    assert nothing_to_analyse(report) == (
        "the ingest found no invocations to analyse: 2 lines read, 2 quarantined (2 invalid "
        "JSON); outside the window [2026-11-01T00:00:00+00:00, 2026-11-08T00:00:00+00:00): all "
        "40 records are before it (2026-09-01 to 2026-09-03). Check that run.source holds "
        "Bedrock invocation logs: quarantine.parquet in the run folder shows each quarantined "
        "line and why; set run.start to 2026-09-01 or earlier"
    )


def test_a_report_without_the_sides_says_how_many_are_outside() -> None:
    """An ingest report written before the sides were counted: the count alone, and both
    ends of the window to widen."""
    report = {
        "source": "logs",
        "start": "2030-01-01T00:00:00+00:00",
        "end": "2030-01-02T00:00:00+00:00",
        "lines_read": 0,
        "outside_window": 13,
    }
    assert nothing_to_analyse(report) == (
        "the ingest found no invocations to analyse: logs holds none in the window "
        "[2030-01-01T00:00:00+00:00, 2030-01-02T00:00:00+00:00): 13 records outside it; widen "
        "run.start and run.end to a period with traffic"
    )
