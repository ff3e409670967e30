"""A payer's CUR 2.0 export, mostly other services' lines: read whole vs a batch at a time.

    python benchmarks/cur_read.py [--lines 2000000] [--bedrock-share 0.03] [--batch-rows N]

Generates (once, in a process of its own, a row group at a time) a CUR 2.0 Data Export of
``--lines`` hourly lines of one month in one Parquet file, ``benchmarks/_data/cur-N/``: EC2, S3,
Lambda, CloudWatch and RDS lines, each with a resource ID of its own, and ``--bedrock-share`` of
Bedrock lines (Nova Pro tokens, and Claude sold through Marketplace under an opaque product code,
whose product name is only in the ``product`` map). Then reads it twice, each mode in a fresh
process:

- whole (before): ``pq.read_table`` of the columns ``read_cur`` wants, the maps pulled out and
  the table made one pandas frame, as ``cur._read_table`` did, then cut to its Bedrock lines;
- batches: ``cur.read_cur`` as it is, ``cur.BATCH_ROWS`` lines at a time (``--batch-rows``
  overrides it), each batch cut in Arrow to the lines that could be Bedrock's
  (``cur.could_be_bedrock_line``), then in pandas to its Bedrock lines.

Both go through the rest of ``read_cur`` and must give the same billing frame. Prints seconds,
the RSS after imports and the peak RSS (``getrusage``) of each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROW_GROUP = 250_000  # lines generated and written at a time
HOURS = 31 * 24  # October 2026
PAYER, MEMBERS = "999988887777", [f"1111222233{k:02d}" for k in range(20)]
CLAUDE = "Claude Sonnet 4.5 (Amazon Bedrock Edition)"
# (product code, usage type, operation, pricing unit, product name, rate)
SERVICES = [
    (
        "AmazonEC2",
        "USE1-BoxUsage:m5.large",
        "RunInstances",
        "Hrs",
        "Amazon Elastic Compute Cloud",
        0.096,
    ),
    (
        "AmazonS3",
        "USE1-TimedStorage-ByteHrs",
        "StandardStorage",
        "GB-Mo",
        "Amazon Simple Storage Service",
        0.023,
    ),
    ("AWSLambda", "USE1-Lambda-GB-Second", "Invoke", "Lambda-GB-Second", "AWS Lambda", 0.0000167),
    (
        "AmazonCloudWatch",
        "USE1-CW:Requests",
        "GetMetricData",
        "Requests",
        "AmazonCloudWatch",
        0.00001,
    ),
    (
        "AmazonRDS",
        "USE1-InstanceUsage:db.r6g.large",
        "CreateDBInstance",
        "Hrs",
        "Amazon Relational Database Service",
        0.225,
    ),
]
BEDROCK = [
    (
        "AmazonBedrock",
        "USE1-NovaPro-input-tokens",
        "InvokeModelInference",
        "1K tokens",
        "Amazon Bedrock",
        0.0008,
    ),
    (
        "AmazonBedrock",
        "USE1-NovaPro-output-tokens",
        "InvokeModelInference",
        "1K tokens",
        "Amazon Bedrock",
        0.0032,
    ),
    (
        "c9lkq2v0y3b8m4xz1n7pw5tsd",
        "USE1-MP:USE1_InputTokenCount-Units",
        "Usage",
        "Units",
        CLAUDE,
        3.0,
    ),
]


def _data_file(lines: int) -> Path:
    return HERE / "_data" / f"cur-{lines}" / "payer-cur-00001.snappy.parquet"


def _row_group(first: int, count: int, bedrock_share: float):
    """Lines ``first`` to ``first + count - 1`` as a pyarrow table, about ``bedrock_share`` of
    them Bedrock lines."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(first)
    index = np.arange(first, first + count)
    is_bedrock = rng.random(count) < bedrock_share
    kind = np.where(
        is_bedrock,
        rng.integers(0, len(BEDROCK), count),
        len(BEDROCK) + rng.integers(0, len(SERVICES), count),
    )
    spec = [(BEDROCK + SERVICES)[k] for k in kind]
    amount = np.round(rng.random(count) * 100, 4)
    start = [
        dt.datetime(2026, 10, 1, tzinfo=dt.UTC) + dt.timedelta(hours=int(i % HOURS)) for i in index
    ]
    ts = pa.timestamp("ms", tz="UTC")
    string_map = pa.map_(pa.string(), pa.string())
    product = [
        [("product_name", s[4]), ("servicecode", s[0]), ("region", "us-east-1"),
         ("usagetype", s[1]), ("operation", s[2])]
        for s in spec
    ]  # fmt: skip
    cost = [round(a * s[5], 8) for a, s in zip(amount, spec, strict=True)]
    lines = list(zip(index, spec, strict=True))
    return pa.table(
        {
            "bill_billing_period_start_date": pa.array(
                [dt.datetime(2026, 10, 1, tzinfo=dt.UTC)] * count, ts
            ),
            "bill_payer_account_id": [PAYER] * count,
            "line_item_usage_account_id": [MEMBERS[i % len(MEMBERS)] for i in index],
            "line_item_line_item_type": ["Usage"] * count,
            "line_item_usage_start_date": pa.array(start, ts),
            "line_item_usage_end_date": pa.array([s + dt.timedelta(hours=1) for s in start], ts),
            "line_item_product_code": [s[0] for s in spec],
            "line_item_usage_type": [s[1] for s in spec],
            "line_item_operation": [s[2] for s in spec],
            "line_item_resource_id": [f"arn:aws:{s[0].lower()}:r-{i:012d}" for i, s in lines],
            "line_item_usage_amount": pa.array(amount, pa.float64()),
            "line_item_currency_code": ["USD"] * count,
            "line_item_unblended_rate": [str(s[5]) for s in spec],
            "line_item_unblended_cost": pa.array(cost, pa.float64()),
            "line_item_net_unblended_cost": pa.array(cost, pa.float64()),
            "line_item_line_item_description": [f"${s[5]} per {s[3]} of {s[1]}" for s in spec],
            "pricing_unit": [s[3] for s in spec],
            "product": pa.array(product, string_map),
            "product_region_code": ["us-east-1"] * count,
        }
    )


def child_generate(lines: str, bedrock_share: str) -> dict:
    """Write the export a row group at a time (this process stays small)."""
    import pyarrow.parquet as pq

    path = _data_file(int(lines))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    writer = None
    for first in range(0, int(lines), ROW_GROUP):
        table = _row_group(first, min(ROW_GROUP, int(lines) - first), float(bedrock_share))
        writer = writer or pq.ParquetWriter(partial, table.schema, compression="snappy")
        writer.write_table(table)
    writer.close()
    partial.rename(path)
    return {"bytes": path.stat().st_size}


def _whole_file_batches(path: Path, wanted, rows=None):
    """The file as one batch of all its lines, read as ``cur._read_table`` read it before."""
    import pyarrow.parquet as pq

    from bedrock_finops.sources import cur

    wanted = set(wanted)
    names = pq.read_schema(path).names
    table = pq.read_table(path, columns=[c for c in names if c in wanted])
    frame = cur._discount_from_map(cur._product_name_from_map(table)).to_pandas()
    yield len(frame), frame


def child_read(mode: str, lines: str, batch_rows: str) -> dict:
    """``read_cur`` of the export, its file read whole (before) or a batch at a time."""
    from bedrock_finops.sources import cur

    if mode == "whole":
        cur.read_candidate_batches = _whole_file_batches
    elif int(batch_rows):
        cur.BATCH_ROWS = int(batch_rows)
    start_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    frame = cur.read_cur(_data_file(int(lines)), note=None)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "start_mb": start_mb,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows_read": frame.attrs["rows_read"],
        "rows_bedrock": frame.attrs["rows_bedrock"],
        "cost_usd": round(float(frame["cost_usd"].sum()), 6),
        "tokens": float(frame.loc[frame["unit"] == "tokens", "quantity"].sum()),
    }


CHILDREN = {"generate": child_generate, "read": child_read}


def _in_fresh_process(*args: str) -> dict:
    """This script's ``--child`` mode in a new interpreter: its last line, read as JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--bedrock-share", type=float, default=0.03)
    ap.add_argument("--batch-rows", type=int, default=0, help="0: cur.BATCH_ROWS")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        name, *rest = args.child
        print(json.dumps(CHILDREN[name](*rest)))
        return 0

    path = _data_file(args.lines)
    if not path.exists():
        t0 = time.perf_counter()
        _in_fresh_process("generate", str(args.lines), str(args.bedrock_share))
        print(f"generated in {time.perf_counter() - t0:.0f} s")
    print(f"{path.relative_to(HERE)}: {args.lines:,} lines, {path.stat().st_size / 1e6:,.0f} MB")
    print(
        f"{'mode':<16} {'seconds':>8} {'start MB':>9} {'peak MB':>8} {'lines':>10} "
        f"{'Bedrock':>8} {'cost $':>12}"
    )
    results = {}
    for mode, label in (("whole", "whole (before)"), ("batches", "batches")):
        got = _in_fresh_process("read", mode, str(args.lines), str(args.batch_rows))
        results[mode] = got
        print(
            f"{label:<16} {got['seconds']:>8.1f} {got['start_mb']:>9.0f} {got['peak_mb']:>8.0f} "
            f"{got['rows_read']:>10,} {got['rows_bedrock']:>8,} {got['cost_usd']:>12,.2f}",
            flush=True,
        )
    same = ("rows_read", "rows_bedrock", "cost_usd", "tokens")
    assert all(results["whole"][k] == results["batches"][k] for k in same), results
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
