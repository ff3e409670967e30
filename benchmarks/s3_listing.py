"""Listing a week out of a year of S3 logs: the whole prefix vs the date folders of the window.

    python benchmarks/s3_listing.py [--days 365] [--per-hour 2] [--window-days 7]
                                    [--cloudtrail-per-hour 0]

Starts a moto S3 server on 127.0.0.1, puts ``--per-hour`` small objects into every hour
folder of ``--days`` days in AWS's layout (one account, one region), and
``--cloudtrail-per-hour`` CloudTrail objects of each hour into the day folders of
``AWSLogs/<account>/CloudTrail/`` beside it (a log bucket shared with a trail: one every five
minutes is 12; neither listing reads them, see ``service_folders``), then lists the prefix
for a ``--window-days`` window in the middle of it, twice: flat (what the ingest did before
it walked date folders, and still does without a window) and walking the date folders
(``list_s3`` with the window). It prints LIST requests, keys returned and seconds for each,
and checks that both keep the same log objects. Seconds against a local moto server only
show the ratio; against AWS each request costs a round trip (tens of ms) instead.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, datetime, timedelta

import boto3
from moto.server import ThreadedMotoServer

from bedrock_finops.sources.invocation_logs import _classify, list_s3
from bedrock_finops.sources.time_folders import key_in_window

BUCKET = "bedrock-logs-bench"
LAYOUT = "AWSLogs/111122223333/BedrockModelInvocationLogs/us-east-1"
TRAIL = "AWSLogs/111122223333/CloudTrail/us-east-1"
FIRST_DAY = datetime(2025, 11, 1, tzinfo=UTC)


def _fill(s3, days: int, per_hour: int, trail_per_hour: int) -> tuple[int, int]:
    s3.create_bucket(Bucket=BUCKET)
    n = trail = 0
    for h in range(days * 24):
        hour = FIRST_DAY + timedelta(hours=h)
        folder = f"{LAYOUT}/{hour:%Y/%m/%d/%H}"
        for i in range(per_hour):
            key = f"{folder}/{hour:%Y%m%dT%H}0000Z_{i}.json.gz"
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}\n")  # 0 bytes: skipped as empty
            n += 1
        for i in range(trail_per_hour):
            name = f"111122223333_CloudTrail_us-east-1_{hour:%Y%m%dT%H}{i * 5:02d}Z_x.json.gz"
            key = f"{TRAIL}/{hour:%Y/%m/%d}/{name}"
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"")
            trail += 1
    return n, trail


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-hour", type=int, default=2)
    ap.add_argument("--window-days", type=int, default=7)
    ap.add_argument("--cloudtrail-per-hour", type=int, default=0)
    args = ap.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's one line per request

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        t0 = time.perf_counter()
        objects, trail = _fill(s3, args.days, args.per_hour, args.cloudtrail_per_hour)
        print(
            f"{objects:,} objects in {args.days} days"
            + (f" and {trail:,} CloudTrail objects beside them" if trail else "")
            + f", put in {time.perf_counter() - t0:.0f} s"
        )
        start = FIRST_DAY + timedelta(days=args.days // 2)
        end = start + timedelta(days=args.window_days)
        print(f"window [{start:%Y-%m-%d}, {end:%Y-%m-%d})")

        t0 = time.perf_counter()
        flat = list_s3(f"s3://{BUCKET}/", None, None, client=s3)
        flat_s = time.perf_counter() - t0
        kept = [u.name for u in flat.units if key_in_window(u.name, start, end)]

        t0 = time.perf_counter()
        walked = list_s3(f"s3://{BUCKET}/", start, end, client=s3)
        walk_s = time.perf_counter() - t0
        assert [u.name for u in walked.units] == [k for k in kept if _classify(k) is None]

        print(f"{'listing':<22} {'requests':>9} {'keys':>9} {'seconds':>8}")
        print(f"{'flat, then filtered':<22} {flat.list_requests:>9,} {len(flat.units):>9,} "
              f"{flat_s:>8.2f}")  # fmt: skip
        print(f"{'date folders walked':<22} {walked.list_requests:>9,} {len(walked.units):>9,} "
              f"{walk_s:>8.2f}")  # fmt: skip
        print(
            f"same {len(kept):,} log objects kept; "
            f"{walked.folders_outside_window:,} date folders skipped unlisted; "
            f"requests flat / walked: {flat.list_requests / walked.list_requests:.1f}x; "
            f"files_skipped flat / walked: {len(flat.skipped):,} / {len(walked.skipped):,}"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
