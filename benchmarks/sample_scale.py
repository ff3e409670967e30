"""Generate a 1M-record embedded sample and report wall time, records/s and peak RSS.

    .venv/bin/python benchmarks/sample_scale.py [--out benchmarks/_data/sample-1m] [--scale 22]

At scale 1.0 a 30-day sample has ~46K requests, so the default scale of 22 gives ~1M. Peak
RSS comes from ``resource.getrusage`` of this process: it should stay near the scale-1 figure
because the generator writes one hour at a time.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

from bedrock_finops import sample


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024  # bytes on macOS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/_data/sample-1m")
    parser.add_argument("--scale", type=float, default=22.0)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    truth = sample.generate(out, days=args.days, scale=args.scale)
    wall = time.perf_counter() - t0
    records = truth["records_written"]
    print(
        f"scale {args.scale} x {args.days} days: {records:,} records "
        f"({truth['requests_total']:,} kept requests, {truth['lines_total']:,} lines) in "
        f"{truth['files']:,} files, {truth['bytes'] / 1e9:.2f} GB gzipped"
    )
    print(
        f"wall {wall:.1f} s, {records / wall:,.0f} records/s, "
        f"peak RSS {_peak_rss_mb():.0f} MB, "
        f"~${truth['approx_on_demand_usd_priced']:,.0f} on-demand (priced apps)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
