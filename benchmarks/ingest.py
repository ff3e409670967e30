"""Ingest speed and memory next to the floor and the naive pandas way, in one run.

    python benchmarks/ingest.py --records 1000000

Generates the embedded sample scaled to about ``--records`` records into
``benchmarks/_data/`` (once), then runs, each in a fresh process so peak RSS is its own:

- floor: decompress every file (isal) and JSON-parse every line (orjson) on all cores, nothing
  else: the speed the ingest can at best reach;
- ingest: ``bedrock_finops.ingest.ingest_to_folder`` (same files, same cores);
- naive: ``pd.read_json(lines=True)`` + ``pd.json_normalize`` per file, on a subset of files
  when the whole set would take too long (the subset is stated in the output).

Peak RSS is the largest single process's (parent or one worker), from ``getrusage``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORDS_AT_SCALE_1 = 45_000  # the default sample: ~45k records a month at scale 1


def _files(logs: Path) -> list[Path]:
    return sorted(p for p in logs.rglob("*.json.gz") if "/data/" not in p.as_posix())


def _floor_one(path: str) -> int:
    import orjson
    from isal import igzip

    try:
        data = igzip.decompress(Path(path).read_bytes())
    except (EOFError, OSError):
        return 0
    n = 0
    for line in data.splitlines():
        try:
            orjson.loads(line)
            n += 1
        except orjson.JSONDecodeError:
            pass
    return n


def run_floor(logs: Path, workers: int) -> dict:
    files = [str(p) for p in _files(logs)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        n = sum(pool.map(_floor_one, files, chunksize=16))
    return {"records": n, "seconds": time.perf_counter() - t0}


def run_ingest(logs: Path, workers: int) -> dict:
    import tempfile

    from bedrock_finops.ingest import ingest_to_folder

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = ingest_to_folder(logs, tmp, workers=workers, progress=False)
        return {"records": report.rows, "seconds": time.perf_counter() - t0}


def run_naive(logs: Path, fraction: float) -> dict:
    import pandas as pd

    files = _files(logs)
    step = max(1, round(1 / fraction))
    subset = files[::step]
    t0 = time.perf_counter()
    n = 0
    for path in subset:
        try:
            df = pd.read_json(path, lines=True, compression="gzip")
        except (ValueError, EOFError, OSError):
            continue  # the naive way has no answer for a bad line or a cut file
        flat = pd.json_normalize(df.to_dict("records"))
        n += len(flat)
    return {
        "records": n,
        "seconds": time.perf_counter() - t0,
        "subset": f"every {step}th file ({len(subset)} of {len(files)})",
    }


def _child(mode: str, logs: Path, workers: int, fraction: float) -> dict:
    """Run one mode in a fresh interpreter; return its result plus peak RSS."""
    code = (
        "import json, resource, sys; sys.path.insert(0, {!r}); import ingest as b; "
        "from pathlib import Path; "
        "r = b.run_{}(Path({!r}), {}); "
        "me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "r['peak_rss_mb'] = max(me, kids) / 1024; print(json.dumps(r))"
    ).format(str(HERE), mode, str(logs), repr(fraction) if mode == "naive" else workers)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=HERE / "_data")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument(
        "--naive-fraction",
        type=float,
        default=0.05,
        help="share of files the naive way reads (it is slow)",
    )
    args = ap.parse_args(argv)
    scale = args.records / RECORDS_AT_SCALE_1
    scale = round(scale) if scale >= 2 else scale  # 1M records: scale 22
    data = args.data / f"records-{args.records}"
    if not (data / "truth.json").exists():
        from bedrock_finops import sample

        print(
            f"generating ~{args.records:,} records (scale {scale:.2f}) into {data} ...",
            file=sys.stderr,
        )
        sample.generate(data, scale=scale)
    logs = data / "logs"
    size = sum(p.stat().st_size for p in _files(logs))
    print(
        f"data: {len(_files(logs)):,} files, {size / 1e6:,.0f} MB gzipped, workers {args.workers}"
    )
    rows = []
    for mode in ("floor", "ingest", "naive"):
        r = _child(mode, logs, args.workers, args.naive_fraction)
        r["rate"] = r["records"] / r["seconds"] if r["seconds"] else 0.0
        rows.append((mode, r))
    floor_rate = rows[0][1]["rate"]
    naive_rate = rows[2][1]["rate"]
    full = rows[0][1]["records"]
    print(
        f"{'mode':<8} {'records':>10} {'seconds':>9} {'rows/s':>10} {'floor/x':>8} "
        f"{'x/naive':>8} {'peak RSS':>10}"
    )
    for mode, r in rows:
        secs = r["seconds"] if mode != "naive" else full / naive_rate  # extrapolated
        print(
            f"{mode:<8} {r['records']:>10,} {secs:>9.1f} {r['rate']:>10,.0f} "
            f"{floor_rate / r['rate']:>7.2f}x {r['rate'] / naive_rate:>7.1f}x "
            f"{r['peak_rss_mb']:>8,.0f}MB"
            + (f"  ({r['subset']}; seconds for all {full:,})" if "subset" in r else "")
        )
    ing = rows[1][1]
    print(
        f"ingest takes {floor_rate / ing['rate']:.2f}x the floor's time per record "
        "(target <= 1.5x), "
        f"is {ing['rate'] / naive_rate:.1f}x faster than naive (target >= 5x), "
        f"peak RSS {ing['peak_rss_mb']:,.0f} MB (target < 4,096 MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
