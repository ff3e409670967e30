"""The cached sample run: one per version of the code, old ones removed once unused."""

from __future__ import annotations

import os
import time

from bedrock_finops import notebook


def test_sample_runs_unused_for_a_week_are_removed(tmp_path):
    now = time.time()
    keep = tmp_path / "sample-run-aaaaaaaaaaaa"
    recent = tmp_path / "sample-run-bbbbbbbbbbbb"  # another checkout's, used yesterday
    stale = tmp_path / "sample-run-cccccccccccc"  # unused for 8 days
    other = tmp_path / "not-a-sample-run"
    for folder, age_days in ((keep, 30), (recent, 1), (stale, 8), (other, 30)):
        folder.mkdir()
        (folder / "usage.parquet").write_bytes(b"x")
        os.utime(folder, (now - age_days * 86400, now - age_days * 86400))
    removed = notebook.prune_stale_sample_runs(keep)
    assert removed == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "not-a-sample-run",
        "sample-run-aaaaaaaaaaaa",
        "sample-run-bbbbbbbbbbbb",
    ]


def test_using_the_cached_sample_marks_it_used():
    path = notebook.default_sample_run()
    week_ago = time.time() - 7 * 86400
    os.utime(path, (week_ago, week_ago))
    assert notebook.default_sample_run() == path
    assert path.stat().st_mtime > time.time() - 60
