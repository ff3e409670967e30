"""Adjacent windows split a day's lines exactly: no line, good or bad, is counted in both.

With a window the ingest also reads the files of the hour after it, for records delivered
late. Lines of those files that cannot be dated (invalid JSON, a cut gzip stream) belong to
the window holding the file's hour folder, so the run before leaves them to it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from bedrock_finops.ingest import ingest_to_folder
from bedrock_finops.sources.time_folders import key_span

COUNTS = ("lines_read", "rows", "quarantined", "duplicates")


@pytest.fixture(scope="module")
def quarantined_files(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("whole")
    ingest_to_folder(sample_dir / "logs", out, workers=2, progress=False)
    return pd.read_parquet(out / "quarantine.parquet")


@pytest.mark.parametrize("reason", ["invalid JSON", "truncated gzip"])
def test_adjacent_windows_count_an_undated_line_once(
    sample_dir: Path, quarantined_files: pd.DataFrame, tmp_path: Path, reason: str
):
    entry = quarantined_files[quarantined_files["reason"] == reason].iloc[0]
    hour, _ = key_span(entry["source"])
    day = hour.replace(hour=0)
    assert hour > day  # the cut falls inside the day: the file is the first window's slack
    windows = {"before": (day, hour), "after": (hour, day + timedelta(days=1))}
    windows["day"] = (day, day + timedelta(days=1))
    reports = {
        name: ingest_to_folder(
            sample_dir / "logs", tmp_path / name, start, end, workers=2, progress=False
        )
        for name, (start, end) in windows.items()
    }
    before, after, whole = reports["before"], reports["after"], reports["day"]
    assert before.quarantine_by_reason.get(reason, 0) == 0  # left to the window of its hour
    assert after.quarantine_by_reason[reason] == whole.quarantine_by_reason[reason] >= 1
    for count in COUNTS:
        assert getattr(before, count) + getattr(after, count) == getattr(whole, count), count
    for report in reports.values():
        assert report.lines_read == report.rows + report.quarantined + report.duplicates
    # the undated line was read by the first window too (its slack hour), and counted outside
    assert before.outside_window > 0
