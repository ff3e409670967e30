"""Ingest costs that once grew faster than their input, each measured at growing sizes.

    python benchmarks/ingest_shapes.py [--shape docs,quarantine,memo,maps] [--keep]
        [--docs-records 1000,2000,4000] [--quarantine-lines 100000,200000,400000]
        [--memo-records 100000,400000,800000] [--map-entries 0,10000,20000]
        [--map-files 2000] [--workers 2] [--repeat 5]

Four shapes the sample does not have, one table each:

- docs: a JSON-array log file with one record in 20 cut mid-record (a writer stopped, then
  wrote the next record). CPU seconds of ``sources.document_files`` reading it, and the ratio
  per doubling of the records: ~2 (linear). Before the walk remembered the brackets it found
  never close, each damaged record walked the rest of the file again: ~4 (quadratic).
- quarantine: a folder of records each cut short (so every line is quarantined with a
  200-character ASCII excerpt), ingested in a fresh process per size; the parent's peak RSS
  (``getrusage``) stays near flat, as quarantined lines go to ``quarantine.parquet.partial`` a
  row group at a time. Held in a list to the end, they grew it by ~1 KB a line.
- memo: distinct short user turns and outputs ("Q1", "A1") fed to a worker's feature memo
  (``parse_features.FeatureCache``, as ``parse_body`` feeds it: keyed by ``text_key``) in a
  fresh process; its entries stay under ``MAX_CACHE_ENTRIES`` and the RSS growth flat. Bounded
  by characters alone, it held millions of entries (~300 MB) before it started over.
- maps: ``identity_app_map`` and ``profile_map`` of N entries each (none naming a caller or
  model of the logs, so the table is the same) on small files of 16 records, ingested with
  ``--workers`` in a fresh process per size: total CPU (parent and workers) and the pickled
  size of one task stay flat, as the maps reach each worker once. Pickled into every task,
  maps of 10,000 entries made each task a 2 MB message.

Generated data goes to ``benchmarks/_data/shapes/`` and is removed after each shape unless
``--keep``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data" / "shapes"
SHAPES = ("docs", "quarantine", "memo", "maps")
ROLE = "arn:aws:iam::111122223333:role/team{k}/role-{k}"
PROFILE = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/p{k:08d}"
HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"


def _record(i: int, user: str | None = None) -> dict:
    """A small Converse record (~900 bytes), its request ID and user turn its own."""
    return {
        "schemaType": "ModelInvocationLog",
        "schemaVersion": "1.0",
        "timestamp": f"2026-10-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
        "accountId": "111122223333",
        "identity": {"arn": "arn:aws:sts::111122223333:assumed-role/app-role/s1"},
        "region": "us-east-1",
        "requestId": f"req-{i:09d}",
        "operation": "Converse",
        "modelId": HAIKU,
        "input": {
            "inputContentType": "application/json",
            "inputBodyJson": {
                "messages": [{"role": "user", "content": [{"text": user or f"Question {i}?"}]}],
                "system": [{"text": "You are a helpful assistant."}],
            },
            "inputTokenCount": 20,
        },
        "output": {
            "outputContentType": "application/json",
            "outputBodyJson": {
                "output": {"message": {"role": "assistant", "content": [{"text": "Sure."}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 20, "outputTokens": 7},
            },
            "outputTokenCount": 7,
        },
    }


def _line(i: int, user: str | None = None) -> str:
    return json.dumps(_record(i, user), separators=(",", ":"))


def _fresh(name: str) -> Path:
    folder = DATA / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _write_gz_files(folder: Path, line: Callable[[int], str], n: int, per_file: int) -> None:
    """``line(0)`` to ``line(n - 1)`` as gzipped NDJSON files of ``per_file`` lines each,
    a file at a time: this process stays small, and a process it starts inherits its peak
    RSS (Linux keeps ``ru_maxrss`` across fork and exec)."""
    for k in range(0, n, per_file):
        text = "".join(line(i) + "\n" for i in range(k, min(k + per_file, n)))
        (folder / f"part-{k // per_file:06d}.json.gz").write_bytes(
            gzip.compress(text.encode(), compresslevel=1)
        )


def _in_fresh_process(*args: str) -> dict:
    """This script's ``--child`` mode in a new interpreter: its last line, read as JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s]


# ------------------------------------------------------------------------------------- docs


def _damaged_array(n: int) -> bytes:
    """A JSON array of ``n`` records, every 20th (from the 11th) cut at 60% of its text."""
    docs = []
    for i in range(n):
        text = _line(i)
        docs.append(text[: int(len(text) * 0.6)] if i % 20 == 10 else text)
    return ("[" + ",\n".join(docs) + "]\n").encode()


def shape_docs(sizes: list[int], args: argparse.Namespace) -> None:
    from bedrock_finops.sources.document_files import json_document_lines

    folder = _fresh("docs")
    print(
        f"CPU s: best of {args.repeat} reads\n"
        f"{'records':>8} {'MB':>6} {'read':>6} {'damaged':>8} {'CPU s':>7} {'x prev':>7}"
    )
    previous = None
    for n in sizes:
        path = folder / f"array-{n}.json"
        path.write_bytes(_damaged_array(n))
        data = path.read_bytes()
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.process_time()
            out = json_document_lines(data)
            best = min(best, time.process_time() - t0)
        cpu = best
        damaged = len(out.damaged or {})
        ratio = f"{cpu / previous:>6.2f}x" if previous else f"{'':>7}"
        print(
            f"{n:>8,} {len(data) / 1e6:>6.2f} {len(out.events) - damaged:>6,} {damaged:>8,} "
            f"{cpu:>7.2f} {ratio}",
            flush=True,
        )
        previous = cpu
    _remove(folder, args)


# ------------------------------------------------------------------------------- quarantine


def child_quarantine(src: str, out: str, workers: str) -> dict:
    """One ingest of ``src`` in this process: the parent's peak RSS and what it counted."""
    from bedrock_finops.ingest import ingest_to_folder

    start_mb = _peak_mb()
    report = ingest_to_folder(src, out, workers=int(workers), progress=False, lookup_profiles=False)
    peak_mb = _peak_mb()
    return {"start_mb": start_mb, "peak_mb": peak_mb, "quarantined": report.quarantined}


def shape_quarantine(sizes: list[int], args: argparse.Namespace) -> None:
    print(f"{'lines':>8} {'quarantined':>12} {'start MB':>9} {'peak MB':>8} {'grown MB':>9}")
    for n in sizes:
        folder = _fresh(f"quarantine-{n}")
        (folder / "logs").mkdir()
        # each line a record missing its last 3 characters: quarantined, its first 200
        # (ASCII) characters kept as the excerpt
        _write_gz_files(folder / "logs", lambda i: _line(i)[:-3], n, per_file=5000)
        got = _in_fresh_process(
            "quarantine", str(folder / "logs"), str(folder / "out"), str(args.workers)
        )
        print(
            f"{n:>8,} {got['quarantined']:>12,} {got['start_mb']:>9.0f} {got['peak_mb']:>8.0f} "
            f"{got['peak_mb'] - got['start_mb']:>9.0f}",
            flush=True,
        )
        _remove(folder, args)


# ------------------------------------------------------------------------------------- memo


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_memo(checkpoints: str) -> dict:
    """Distinct short turns and outputs through one feature memo, as a worker's parse feeds
    it: at each checkpoint, its entries, the most it held so far, the RSS grown and the most it
    had grown (sampled every 1,000 records)."""
    from bedrock_finops.parse_body import PromptCache, text_key
    from bedrock_finops.parse_response import output_shape

    features = PromptCache().features
    marks = _sizes(checkpoints)
    base = _rss_mb()
    rows = []
    most = 0
    most_grown = 0.0  # RSS growth sampled every 1,000 records
    for i in range(1, max(marks) + 1):
        turn, output = f"Q{i}", f"A{i}"
        features.block(turn, text_key(turn))
        features.shape(output, output_shape, text_key(output))
        entries = len(features.blocks) + len(features.shapes)
        most = max(most, entries)
        if i % 1000 == 0:
            most_grown = max(most_grown, _rss_mb() - base)
        if i in marks:
            rows.append([i, entries, most, features.max_entries, _rss_mb() - base, most_grown])
    return {"rows": rows}


def shape_memo(sizes: list[int], _args: argparse.Namespace) -> None:
    got = _in_fresh_process("memo", ",".join(map(str, sizes)))
    print(
        f"{'records':>8} {'entries':>8} {'most held':>10} {'bound':>8} {'RSS +MB':>8} "
        f"{'most +MB':>9}"
    )
    for records, entries, most, bound, grown, peak in got["rows"]:
        print(f"{records:>8,} {entries:>8,} {most:>10,} {bound:>8,} {grown:>8.1f} {peak:>9.1f}")


# ------------------------------------------------------------------------------------- maps


def _maps(n: int) -> dict[str, dict[str, str] | None]:
    """An identity map and a profile map of ``n`` entries each, none matching the logs."""
    roles = {ROLE.format(k=k): f"app-{k}" for k in range(n)}
    profiles = {PROFILE.format(k=k): HAIKU for k in range(n)}
    return {"identity_app_map": roles or None, "profile_map": profiles or None}


def _measure_task_sizes() -> list[int]:
    """The pickled size of every task handed to a worker pool from now on (the function and
    its arguments, what the pool sends a worker)."""
    import pickle

    from bedrock_finops import worker_pool

    sizes: list[int] = []
    submit = worker_pool._Pool.submit

    def measured(self, fn, /, *args, **kwargs):
        sizes.append(len(pickle.dumps((fn, args, kwargs))))
        return submit(self, fn, *args, **kwargs)

    worker_pool._Pool.submit = measured
    return sizes


def child_maps(src: str, out: str, entries: str, workers: str) -> dict:
    """One ingest of ``src`` with maps of ``entries`` each: CPU of this process and of its
    workers, the largest task pickled, and the rows."""
    from bedrock_finops.ingest import ingest_to_folder

    maps = _maps(int(entries))
    sizes = _measure_task_sizes()
    t0, cpu0 = time.perf_counter(), time.process_time()
    report = ingest_to_folder(
        src, out, workers=int(workers), progress=False, lookup_profiles=False, **maps
    )
    wall, parent = time.perf_counter() - t0, time.process_time() - cpu0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "wall": wall,
        "parent": parent,
        "workers": kids.ru_utime + kids.ru_stime,
        "tasks": len(sizes),
        "task_bytes": max(sizes, default=0),
        "rows": report.rows,
    }


def shape_maps(sizes: list[int], args: argparse.Namespace) -> None:
    folder = _fresh("maps")
    logs = folder / "logs"
    logs.mkdir()
    document = "Summarise document {} for the weekly report."
    _write_gz_files(logs, lambda i: _line(i, document.format(i)), 16 * args.map_files, 16)
    print(
        f"{args.map_files:,} files of 16 records, {args.workers} workers\n"
        f"{'entries':>8} {'rows':>7} {'tasks':>6} {'task KB':>8} {'wall s':>7} "
        f"{'parent s':>9} {'workers s':>10} {'CPU s':>6}"
    )
    for n in sizes:
        shutil.rmtree(folder / "out", ignore_errors=True)
        got = _in_fresh_process("maps", str(logs), str(folder / "out"), str(n), str(args.workers))
        print(
            f"{n:>8,} {got['rows']:>7,} {got['tasks']:>6,} {got['task_bytes'] / 1024:>8.1f} "
            f"{got['wall']:>7.2f} {got['parent']:>9.2f} {got['workers']:>10.2f} "
            f"{got['parent'] + got['workers']:>6.2f}",
            flush=True,
        )
    _remove(folder, args)


# -------------------------------------------------------------------------------------- main


def _remove(folder: Path, args: argparse.Namespace) -> None:
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


CHILDREN: dict[str, Callable[..., dict]] = {
    "quarantine": child_quarantine,
    "memo": child_memo,
    "maps": child_maps,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default=",".join(SHAPES), help="any of " + ",".join(SHAPES))
    ap.add_argument("--docs-records", default="1000,2000,4000")
    ap.add_argument("--quarantine-lines", default="100000,200000,400000")
    ap.add_argument("--memo-records", default="100000,400000,800000")
    ap.add_argument("--map-entries", default="0,10000,20000")
    ap.add_argument("--map-files", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5, help="docs: best of this many reads")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        name, *rest = args.child
        print(json.dumps(CHILDREN[name](*rest)))
        return 0

    runs = {
        "docs": (shape_docs, args.docs_records),
        "quarantine": (shape_quarantine, args.quarantine_lines),
        "memo": (shape_memo, args.memo_records),
        "maps": (shape_maps, args.map_entries),
    }
    for name in args.shape.split(","):
        if name not in runs:
            ap.error(f"unknown shape {name!r}: pick from {','.join(SHAPES)}")
    for name in args.shape.split(","):
        run, sizes = runs[name]
        print(f"\n== {name}")
        t0 = time.perf_counter()
        run(_sizes(sizes), args)
        print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
