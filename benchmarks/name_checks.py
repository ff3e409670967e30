"""The checks of force_in, force_out and task_overrides names, at growing numbers of segments.

    python benchmarks/name_checks.py [--segments 1000,3000,10000]

Each size builds a run's segments table of one segment per app and names every segment id
(the worst case: a params file listing them all), then times ``batch_params.validate_params``
(force_out) and ``task_types.check_overrides`` (task_overrides), best of 3, CPU seconds. The
cost must grow with the names, not with names x segments: the ratio per step should stay near
the step's own ratio (3.0 from 1,000 to 3,000). Checked against lists, 10,000 segments took
1.6-3.1 s per check.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from bedrock_finops import task_types
from bedrock_finops.strategies import batch_params


def one_segment_per_app(apps: int) -> pd.DataFrame:
    names = [f"app-{i:05d}" for i in range(apps)]
    segment = [f"{a}:claude-opus-4:{i:08x}" for i, a in enumerate(names)]
    return pd.DataFrame({"app": names, "segment": segment})


def best_of_3(fn, *args) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        fn(*args)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", default="1000,3000,10000")
    sizes = [int(n) for n in parser.parse_args().segments.split(",")]
    print(f"{'segments':>9} {'force_out s':>12} {'ratio':>6} {'task_overrides s':>17} {'ratio':>6}")
    before: tuple[float, float] | None = None
    for n in sizes:
        segments = one_segment_per_app(n)
        ids = segments["segment"].tolist()
        force_out = best_of_3(batch_params.validate_params, {"force_out": ids}, segments)
        overrides = dict.fromkeys(ids, "classification")
        tasks = best_of_3(task_types.check_overrides, overrides, segments)
        ratios = ("", "") if before is None else (
            f"{force_out / before[0]:.1f}x", f"{tasks / before[1]:.1f}x"
        )  # fmt: skip
        print(f"{n:>9,} {force_out:>12.3f} {ratios[0]:>6} {tasks:>17.3f} {ratios[1]:>6}")
        before = (max(force_out, 1e-6), max(tasks, 1e-6))


if __name__ == "__main__":
    main()
