"""Ingest cost per record as conversations grow: 2 to 400 turns, next to the floor.

    python benchmarks/long_prompts.py [--turns 2,10,40,100,400] [--records 200]

Agents and chat apps send the whole history with every request, so a record can carry
hundreds of messages. For each turn count, writes ``--records`` Converse records (a system
prompt, then alternating user and assistant turns of ~500 characters, every turn new: no memo
hit) as one gzipped NDJSON file, then times on one core, best of 3:

- floor: decompress the file and ``orjson.loads`` each line;
- ingest: a worker's whole pass (``ingest_worker.process_chunk``): decompress, parse, rows,
  hashes, features, Arrow batch.

It prints CPU time per record and per turn. The ingest's cost per turn should stay flat as
turns grow; before the line-sharing check across a prompt's blocks became one pass, it grew
with the number of turns (every pair of turns was compared).
"""

from __future__ import annotations

import argparse
import gzip
import random
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from isal import igzip

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
         "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "omega"]  # fmt: skip


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _record(rng: random.Random, n: int, turns: int) -> dict:
    messages = [
        {
            "role": "user" if t % 2 == 0 else "assistant",
            "content": [{"text": f"{_text(rng, 80)} ({n}.{t})"}],
        }
        for t in range(turns)
    ]
    reply = _text(rng, 120)
    return {
        "schemaType": "ModelInvocationLog",
        "timestamp": "2026-10-01T00:00:50.803Z",
        "accountId": "111122223333",
        "identity": {"arn": "arn:aws:sts::111122223333:assumed-role/agent-role/s"},
        "region": "us-east-1",
        "requestId": f"req-{n}",
        "operation": "Converse",
        "modelId": "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "input": {
            "inputBodyJson": {
                "system": [{"text": _text(rng, 300)}],
                "messages": messages,
                "inferenceConfig": {"maxTokens": 1024, "temperature": 0.2},
            },
            "inputTokenCount": 150 * turns,
        },
        "output": {
            "outputBodyJson": {
                "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
                "stopReason": "end_turn",
                "metrics": {"latencyMs": 900},
            },
            "outputTokenCount": 200,
        },
    }


def _best_cpu(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", default="2,10,40,100,400")
    ap.add_argument("--records", type=int, default=200)
    args = ap.parse_args(argv)

    from bedrock_finops.ingest import compiled_parts
    from bedrock_finops.ingest_worker import Options, process_chunk
    from bedrock_finops.sources import invocation_logs as logs

    print(f"compiled parts: {compiled_parts()}")
    print(
        f"{'turns':>6} {'KB/line':>8} {'floor us':>9} {'ingest us':>10} {'x floor':>8} "
        f"{'us/turn':>8}"
    )
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        for turns in [int(t) for t in args.turns.split(",")]:
            folder = Path(tmp) / f"turns-{turns}"
            folder.mkdir()
            path = folder / "part.json.gz"
            lines = [orjson.dumps(_record(rng, n, turns)) for n in range(args.records)]
            path.write_bytes(gzip.compress(b"\n".join(lines), compresslevel=6))
            units = logs.list_local(folder, None, None).units

            def floor(path: Path = path) -> None:
                for line in igzip.decompress(path.read_bytes()).splitlines():
                    orjson.loads(line)

            def ingest(units: list = units) -> None:
                rows = process_chunk(units, Options(token=uuid.uuid4().hex))
                assert sum(b.num_rows for b in rows.batches) == args.records

            n = args.records
            floor_us = _best_cpu(floor) / n * 1e6
            ingest_us = _best_cpu(ingest) / n * 1e6
            print(
                f"{turns:>6} {len(lines[0]) / 1000:>8.1f} {floor_us:>9.1f} {ingest_us:>10.1f} "
                f"{ingest_us / floor_us:>7.1f}x {ingest_us / turns:>8.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
