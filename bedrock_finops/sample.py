"""The embedded sample: a month of synthetic Bedrock invocation logs with planted truths.

``generate(out)`` writes what S3 delivery of model invocation logs looks like for one
fictional company (account 123456789012, mostly us-east-1) and ``out/truth.json``, the list of
every planted opportunity and fault that a correct analysis must find. The toolkit runs on it
with no AWS account, and its tests compare their findings with the truth.

Layout (keys relative to ``out/logs``, i.e. the bucket with an empty key prefix):
``AWSLogs/<acct>/BedrockModelInvocationLogs/<region>/YYYY/MM/DD/HH/<YYYYMMDDTHHMMSSmmmZ>_<hex>.json.gz``
(gzipped newline-delimited JSON, records of a ten-minute window per file), large request bodies
at ``.../HH/data/<requestId>_input.json.gz`` referenced by ``input.inputBodyS3Path``, and the
empty ``amazon-bedrock-logs-permission-check`` object Bedrock writes when logging is
configured. It sits at ``AWSLogs/<acct>/BedrockModelInvocationLogs/``, the only place Bedrock's
documented bucket policy lets it write.

Token counts agree with the text: every text part of a request (each system block, each
message text, a Llama ``prompt``, a Titan ``inputText``) is counted with
``tokens.estimate_tokens`` (ceil(chars / 4)) and the parts are summed; the output count is the
estimate of the whole reply text. ``inputTokenCount`` is the uncached part only: for calls that
read or write the prompt cache the cached prefix (the system blocks before the ``cachePoint``)
moves to ``cacheReadInputTokenCount`` / ``cacheWriteInputTokenCount``.

Counting rules in ``truth.json`` ("requests" everywhere): unique ``requestId`` values a correct
ingest keeps. A malformed line is not a request (it is the half-written copy of a record that
exists nowhere else); a duplicate delivery is counted once; records of the truncated file count
only if their line survives the cut whole (``faults.truncated_files[].kept_request_ids``), and
the partial line at the cut is neither a record nor one of ``lines_total``. So:
``lines_total == requests_total + duplicates.count + len(faults.malformed_lines)``.

Determinism: one ``random.Random(seed)`` drives everything in a fixed order, gzip members carry
mtime 0, and nothing reads the clock or depends on hash order. Memory stays flat with
``scale``: the month is generated and written one hour at a time; the truth keeps counters and
the (small) plant lists only.

Where the parts live: ``sample_workload`` (the company, its apps and the plants),
``sample_records`` (record envelope and bodies), ``sample_converse_apps`` and
``sample_invoke_apps`` (one builder per app), ``sample_traffic`` (one hour of calls),
``sample_files`` (the S3 layout and the planted file faults), ``sample_truth`` (truth.json).
This module keeps the entry points: ``generate`` and the ``sample`` command.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date
from pathlib import Path
from typing import Any

from bedrock_finops.sample_files import Writer
from bedrock_finops.sample_files import _surviving_lines as _surviving_lines
from bedrock_finops.sample_records import _iso as _iso
from bedrock_finops.sample_traffic import _plan_hour
from bedrock_finops.sample_truth import Truth
from bedrock_finops.sample_workload import BUCKET as BUCKET
from bedrock_finops.sample_workload import OPUS_4 as OPUS_4
from bedrock_finops.sample_workload import OPUS_4_ARN as OPUS_4_ARN
from bedrock_finops.sample_workload import PERMISSION_CHECK_KEY, Ctx, Plan
from bedrock_finops.user_paths import path_argument


def generate(
    out: Path, *, days: int = 30, scale: float = 1.0, seed: int = 7, start: date = date(2026, 10, 1)
) -> dict:
    """Write the sample under ``out`` (``logs/`` and ``truth.json``); return the truth."""
    check_size(days, scale)
    out = Path(out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / PERMISSION_CHECK_KEY).parent.mkdir(parents=True, exist_ok=True)
    (logs / PERMISSION_CHECK_KEY).write_bytes(b"")
    plan = Plan(days, start)
    ctx = Ctx(random.Random(seed))
    truth = Truth(seed, start, days, scale)
    writer = Writer(logs, truth, plan, ctx)
    for day in range(days):
        for hour in range(24):
            writer.hour(day, hour, _plan_hour(ctx, plan, day, hour, scale))
    result = truth.to_dict(plan)
    (out / "truth.json").write_text(
        json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return result


def check_size(days: int, scale: float) -> None:
    """Raise ValueError (naming the fix) for a sample size that cannot be generated."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")


def _run(args: argparse.Namespace) -> int:
    try:
        check_size(args.days, args.scale)
        try:
            start = date.fromisoformat(args.start)
        except ValueError:
            raise ValueError(f"--start {args.start!r} is not a date; give YYYY-MM-DD") from None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    truth = generate(Path(args.out), days=args.days, scale=args.scale, seed=args.seed, start=start)
    cut = len(truth["faults"]["truncated_files"])
    print(
        f"sample: {truth['requests_total']:,} requests, {truth['lines_total']:,} whole lines "
        f"(and {cut} cut off in a truncated file, which the ingest reads as one quarantined "
        f"line) in {truth['files']:,} files, {truth['bytes']:,} bytes -> {args.out} "
        f"(~${truth['approx_on_demand_usd_priced']:,.0f} on-demand)"
    )
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sample", help="write the embedded sample workload (synthetic invocation logs)"
    )
    p.add_argument(
        "--out", required=True, type=path_argument, help="output folder (logs/ and truth.json)"
    )
    p.add_argument("--days", type=int, default=30, help="days of traffic (default 30)")
    p.add_argument("--scale", type=float, default=1.0, help="request volume multiplier")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--start", default="2026-10-01", help="first day, YYYY-MM-DD")
    p.set_defaults(func=_run)
