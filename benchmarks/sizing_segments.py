"""Model sizing's plan at growing numbers of segments, with few requests each.

    python benchmarks/sizing_segments.py [--segments 500,1000,2000] [--per-segment 5]
    python benchmarks/sizing_segments.py --profile 2000 --out plan.prof

Each size builds a usage table of apps with two prompt templates each, as a run of many apps
has: a label router on Claude Opus 4 and a support chat on Claude Sonnet 4, both proposed for
a smaller model, ``--per-segment`` requests each (5: 10,000 rows at 2,000 segments), then
times ``model_sizing.plan`` on it (pricing included), best of ``--repeat`` (3), CPU seconds.
The cost must grow with the segments, not with segments x segments: CPU per segment should
stay flat, the ratio per step near the step's own (2.0 from 500 to 1,000). ``--profile N``
writes a cProfile of one plan on N segments instead.
"""

from __future__ import annotations

import argparse
import cProfile
import time
from datetime import UTC, datetime, timedelta

import pandas as pd

from bedrock_finops import schema
from bedrock_finops.pricing import PriceCatalog
from bedrock_finops.strategies import model_sizing

START = datetime(2026, 10, 1, tzinfo=UTC)
ROUTER_TEXT = "Classify the ticket. Reply with exactly one label: billing, bug, other."
CHAT_TEXT = "You are the support assistant. Help customers with questions about billing."
TEMPLATES = {
    # template -> the columns of its requests
    "router": {
        "model": "anthropic.claude-opus-4",
        "model_id_raw": "anthropic.claude-opus-4-20250514-v1:0",
        "input_tokens": 500,
        "output_tokens": 2,
        "output_shape": "label",
    },
    "chat": {
        "model": "anthropic.claude-sonnet-4",
        "model_id_raw": "anthropic.claude-sonnet-4-20250514-v1:0",
        "input_tokens": 100,
        "output_tokens": 150,
        "output_shape": "prose",
    },
}
TEXTS = {"router": ROUTER_TEXT, "chat": CHAT_TEXT}


def many_apps(segments: int, per_segment: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(usage, prompts) of ``segments // 2`` apps of two templates each, ``per_segment``
    requests a segment, one an hour from 2026-10-01."""
    apps = [f"app-{i:05d}" for i in range(segments // 2)]
    rows = []
    for app in apps:
        for name, columns in TEMPLATES.items():
            for i in range(per_segment):
                rows.append(
                    {
                        **columns,
                        "request_id": f"{app}-{name}-{i}",
                        "timestamp": START + timedelta(hours=i),
                        "account_id": "111122223333",
                        "region": "us-east-1",
                        "inference_region": "us-east-1",
                        "operation": "InvokeModel",
                        "streaming": False,
                        "geo": "none",
                        "service_tier": "default",
                        "identity_arn": f"arn:aws:iam::111122223333:role/{app}",
                        "app": app,
                        "cache_read_tokens": 0,
                        "cache_write_tokens": 0,
                        "stop_reason": "end_turn",
                        "temperature": 0.0,
                        "system_hash": f"h-{name}-{app}",
                        "media_sent": "",
                    }
                )
    frame = pd.DataFrame(rows)
    for col in schema.USAGE_COLUMNS:
        if col not in frame:
            frame[col] = None
    usage = schema.from_arrow(schema.to_arrow(frame))
    hashes = [f"h-{name}-{app}" for app in apps for name in TEMPLATES]
    prompts = pd.DataFrame(
        {
            "hash": hashes,
            "kind": "system",
            "tokens": 20,
            "text": [TEXTS[h.split("-")[1]] for h in hashes],
            "requests": per_segment,
        }
    )
    return usage, prompts


def best_of(
    repeat: int, usage: pd.DataFrame, prompts: pd.DataFrame, catalog: PriceCatalog
) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        model_sizing.plan(usage, catalog, prompts=prompts)
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", default="500,1000,2000")
    parser.add_argument("--per-segment", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3, help="runs per size, the best kept")
    parser.add_argument("--profile", type=int, help="profile one plan on this many segments")
    parser.add_argument("--out", default="sizing_segments.prof", help="the profile's file")
    args = parser.parse_args()
    catalog = PriceCatalog.load("current")
    if args.profile:
        usage, prompts = many_apps(args.profile, args.per_segment)
        cProfile.runctx(
            "model_sizing.plan(usage, catalog, prompts=prompts)", globals(), locals(), args.out
        )
        print(f"profile of {args.profile:,} segments written to {args.out}")
        return
    sizes = [int(n) for n in args.segments.split(",")]
    print(f"{'segments':>9} {'rows':>8} {'plan s':>8} {'ms/segment':>11} {'ratio':>6}")
    before: float | None = None
    for n in sizes:
        usage, prompts = many_apps(n, args.per_segment)
        seconds = best_of(args.repeat, usage, prompts, catalog)
        ratio = "" if before is None else f"{seconds / before:.1f}x"
        print(f"{n:>9,} {len(usage):>8,} {seconds:>8.2f} {1000 * seconds / n:>11.2f} {ratio:>6}")
        before = max(seconds, 1e-6)


if __name__ == "__main__":
    main()
