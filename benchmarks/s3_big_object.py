"""One big S3 object (a month's export in one .jsonl): downloaded and cut into ranges vs read whole.

    python benchmarks/s3_big_object.py [--records 50000] [--workers 2]

Joins the ingest benchmark's generated logs (``benchmarks/_data/records-N/logs``; made by
``ingest.py --records N`` if missing) into one plain ``.jsonl``, uploads it as one object to a
moto S3 server on 127.0.0.1 (its own process), and ingests ``s3://`` twice, each run in a
fresh process: as the ingest does it (an object over 64 MB is streamed to the run's scratch
folder and read in ranges on every worker) and read whole by one worker, as before. Prints
seconds and the peak RSS of the ingest's parent and of its largest worker, and checks both
runs give the same rows.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUCKET = "bedrock-export-bench"
KEY = "exports/month.jsonl"


def _one_file(logs: Path, into: Path) -> int:
    with into.open("wb") as out:
        for path in sorted(logs.rglob("*.json.gz")):
            if "/data/" not in path.as_posix():
                # the sample's planted truncated gzip: its readable part
                with gzip.open(path, "rb") as f, contextlib.suppress(EOFError, OSError):
                    shutil.copyfileobj(f, out)
    return into.stat().st_size


def _run(endpoint: str, workers: int, whole: bool) -> tuple[float, int, float, float]:
    """(seconds, rows, parent peak MB, largest worker peak MB), in this fresh process."""
    from bedrock_finops.ingest import ingest_to_folder
    from bedrock_finops.sources import invocation_logs

    if whole:  # as before: the object stays one S3 unit, read whole by one worker
        invocation_logs.localise_large_objects = lambda *a, **k: None
    with tempfile.TemporaryDirectory(dir=HERE / "_data") as out:
        t0 = time.perf_counter()
        report = ingest_to_folder(
            f"s3://{BUCKET}/exports/", out, workers=workers, progress=False, endpoint_url=endpoint
        )
        seconds = time.perf_counter() - t0
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, report.rows, own, kids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from s3_ingest import _start_server, fake_credentials  # moto on 127.0.0.1, own process

    fake_credentials()
    logs = HERE / "_data" / f"records-{args.records}" / "logs"
    if not logs.exists():
        subprocess.run(
            [sys.executable, str(HERE / "ingest.py"), "--records", str(args.records)], check=True
        )
    proc, endpoint = _start_server()
    try:
        import boto3

        with tempfile.TemporaryDirectory(dir=HERE / "_data") as tmp:
            size = _one_file(logs, Path(tmp) / "month.jsonl")
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            s3.create_bucket(Bucket=BUCKET)
            s3.upload_file(str(Path(tmp) / "month.jsonl"), BUCKET, KEY)
        print(f"one object of {size / 1e6:,.0f} MB at s3://{BUCKET}/{KEY}")
        print(f"{'mode':<22} {'seconds':>8} {'rows':>8} {'parent':>9} {'worker':>9}")
        rows_seen = set()
        for label, whole in (("downloaded, ranges", False), ("read whole (before)", True)):
            with ProcessPoolExecutor(max_workers=1) as pool:
                seconds, rows, own, kids = pool.submit(_run, endpoint, args.workers, whole).result()
            rows_seen.add(rows)
            print(f"{label:<22} {seconds:>8.1f} {rows:>8,} {own:>6,.0f} MB {kids:>6,.0f} MB")
        assert len(rows_seen) == 1, rows_seen
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
