"""Ingest from S3 with a network round trip per request: objects read in turn vs read ahead.

    python benchmarks/s3_ingest.py [--latency-ms 0,40] [--workers 2]

Generates the embedded sample (scale 1, once, into ``benchmarks/_data/s3-sample``), starts a
moto S3 server on 127.0.0.1 in its own process, behind a shim that holds each request for
``--latency-ms`` before answering (a stand-in for the round trip to AWS, which a local server
does not have), uploads the sample's logs, then ingests ``s3://`` with every worker reading
its objects one after another (read-ahead depth 1, as before read-ahead) and with the default
read-ahead (``S3_READ_AHEAD`` objects in flight per worker), at each latency. Prints seconds
and rows/s per run and checks both give the same row count.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUCKET = "bedrock-logs-bench"

SERVER = r"""
import logging, sys, time
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = DomainDispatcherApplication(create_backend_app)
delay = [0.0]

def shim(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/_latency/"):  # the benchmark sets the round trip here
        delay[0] = float(path.rsplit("/", 1)[1]) / 1000
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]
    if delay[0]:
        time.sleep(delay[0])
    return app(environ, start_response)

server = make_server("127.0.0.1", 0, shim, threaded=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _start_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}"


def _set_latency(endpoint: str, ms: float) -> None:
    import urllib.request

    urllib.request.urlopen(f"{endpoint}/_latency/{ms}", timeout=10).read()


def _upload(endpoint: str, logs: Path) -> int:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    n = 0
    for path in sorted(logs.rglob("*")):
        if path.is_file():
            key = path.relative_to(logs).as_posix()
            s3.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
            n += 1
    return n


def _ingest(endpoint: str, depth: int, workers: int) -> tuple[float, int]:
    from bedrock_finops.ingest import ingest_to_folder
    from bedrock_finops.sources import read_ahead

    read_ahead.S3_READ_AHEAD = depth  # workers are forked from this process and inherit it
    out = HERE / "_data" / "s3-ingest-out"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    report = ingest_to_folder(
        f"s3://{BUCKET}/", out, workers=workers, progress=False, endpoint_url=endpoint
    )
    return time.perf_counter() - t0, report.rows


def fake_credentials() -> None:
    """Credentials and a region for boto3 against the local server (it checks none)."""
    import os

    for key, value in (
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ[key] = value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-ms", default="0,40", help="comma-separated round trips to try")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    fake_credentials()

    from bedrock_finops import sample
    from bedrock_finops.sources import read_ahead

    data = HERE / "_data" / "s3-sample"
    if not (data / "truth.json").exists():
        sample.generate(data)
    proc, endpoint = _start_server()
    try:
        t0 = time.perf_counter()
        objects = _upload(endpoint, data / "logs")
        print(f"{objects:,} objects uploaded in {time.perf_counter() - t0:.0f} s")
        print(f"{'round trip':>10} {'read-ahead':>10} {'seconds':>8} {'rows':>8} {'rows/s':>8}")
        default_depth = read_ahead.S3_READ_AHEAD
        for ms in (float(x) for x in args.latency_ms.split(",")):
            _set_latency(endpoint, ms)
            rows_seen = set()
            for depth in (1, default_depth):
                seconds, rows = _ingest(endpoint, depth, args.workers)
                rows_seen.add(rows)
                print(
                    f"{ms:>8.0f}ms {depth:>10} {seconds:>8.1f} {rows:>8,} {rows / seconds:>8,.0f}"
                )
            assert len(rows_seen) == 1, rows_seen
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
