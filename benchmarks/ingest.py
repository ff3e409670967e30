"""Ingest speed and memory next to the floor and the naive pandas way, in one run.

    python benchmarks/ingest.py --records 1000000

Generates the embedded sample scaled to about ``--records`` records into
``benchmarks/_data/`` (once), reads every file once so the OS has them cached (else the first
mode would pay for the disk), then runs, each in a fresh process so peak RSS is its own:

- floor: decompress every file (isal) and JSON-parse every line (orjson) on all cores, nothing
  else: the speed the ingest can at best reach;
- ingest: ``bedrock_finops.ingest.ingest_to_folder`` (same files, same cores), its output
  kept in ``records-N/ingest-out/`` for the next mode;
- write: the ingest's own usage rows written to Parquet again with its writer (one core,
  262,144 rows): with the floor, the "bound" no ingest of this table can beat;
- source: when the parse modules are compiled (``bedrock_finops/compiled.py``), the ingest
  again with ``BEDROCK_FINOPS_PURE_PYTHON=1``, in the same rounds: what compiling them gains;
- naive: ``pd.read_json(lines=True)`` + ``pd.json_normalize`` per file, on a subset of files
  when the whole set would take too long (the subset is stated in the output).
- gunzip: the floor without ``orjson.loads`` (read and decompress only, all cores), to split
  the floor's cost between the two.

Peak RSS is the largest single process's (parent or one worker), from ``getrusage``.
``--breakdown FILES`` adds one worker's CPU time per record, stage by stage.

A run on 2 cores, 2026-11-28 (latest), ``python benchmarks/ingest.py --records 1000000
--repeat 3``, with the three C extensions built and the parse modules compiled (Cython):

    data: 7,859 files, 1,161 MB gzipped, workers 2
    compiled parts: line scan yes, row batch yes, timestamps yes, parse modules yes
    median of 3 runs per mode; rows/s of every run:
      floor    74,607, 74,229, 89,323
      ingest   23,456, 22,403, 26,411
      source   20,075, 20,832, 22,272
      naive    4,325, 5,143, 4,703
    ingest ratios within each round (floor/x, x/naive): 3.18x 5.4x, 3.31x 4.4x, 3.38x 5.6x
    source ratios within each round (floor/x, x/naive): 3.72x 4.6x, 3.56x 4.1x, 4.01x 4.7x
    mode        records   seconds     rows/s  floor/x  x/naive   peak RSS
    floor     1,006,364      13.5     74,607    1.00x    15.9x      121MB
    ingest    1,004,377      42.8     23,456    3.18x     5.0x      714MB
    source    1,004,377      48.2     20,832    3.58x     4.4x      715MB
    naive        49,507     214.0      4,703   15.87x     1.0x      175MB  (every 20th file ...)
    ingest CPU per record: workers 71.1 us, parent 12.3 us
    source CPU per record: workers 82.7 us, parent 11.5 us
    bound: floor CPU 26.8 us per record + writing the usage table 5.4 us = 32.2 us, 1.20x
      the floor

(ingest/naive is 4.99x before rounding). The same round, compiled, without the source mode:
3.43x and 6.1x (rounds 5.3x-6.5x, the naive way slow); from source at the round's start:
3.82x and 4.9x; in the round before, 4.31x and 4.0x. From ``--breakdown 300`` in an earlier
round, one worker per record, before compiling:
read + gunzip + line views 9.4 us, orjson.loads 11.2 us, request hash 3.7 us, chain hashes
1.2 us, prompt text 3.7 us, text features 8.7 us, output text 2.2 us, output shape 1.6 us,
whole row (all but loads) 43.5 us, Arrow batch 3.0 us. (The breakdown keys the feature memo
by digest, as workers do.)

The machine's speed moves between runs and days (the floor has measured 77,000-150,000
rows/s on it), and both ratios move with the floor's and the naive way's own rates. The
"bound" line is the least any ingest that writes this table can cost: the floor plus the
Parquet write of the ingest's own rows (timed with the writer the ingest uses), ~1.25x the
floor, so 1.5x leaves ~4 us per record for reading every field, the hashes, the features and
the Arrow columns. Within 1.5x is out of reach for any ingest that parses records into Python
objects; it would take the whole record read in compiled code (a C JSON parser walked in C,
with the hashes, features and every body format there too).
Met: peak RSS under 4 GB.
On the line: 5x the naive way (compiled: 4.99x and 6.1x in two runs, 5 of 6 rounds at 5.3x or
more; from source 4.4x in the same rounds, 3.9x-5.0x over the seven medians before).
Not met: 1.5x of the floor (3.18x compiled, 3.58x from source in the same rounds).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
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
    # each line parsed from a zero-copy slice, as the ingest does (splitlines' copies cost
    # ~4 us a record): the floor stays the cheapest way to decompress and parse
    view = memoryview(data)
    n = pos = 0
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        try:
            orjson.loads(view[pos:end])
            n += 1
        except orjson.JSONDecodeError:
            pass
        pos = end + 1
    return n


def _gunzip_one(path: str) -> int:
    from isal import igzip

    try:
        return igzip.decompress(Path(path).read_bytes()).count(b"\n")
    except (EOFError, OSError):
        return 0


def run_gunzip(logs: Path, workers: int) -> dict:
    """The floor without the JSON parsing: only reading and decompressing, on all cores."""
    return _on_all_cores(_gunzip_one, logs, workers)


def _warm_page_cache(files: list[Path]) -> None:
    """Read every file once, untimed, so no mode pays for the disk (the first one would)."""
    for path in files:
        with open(path, "rb") as fh:
            while fh.read(1 << 22):
                pass


def run_floor(logs: Path, workers: int) -> dict:
    return _on_all_cores(_floor_one, logs, workers)


def _on_all_cores(per_file: Callable[[str], int], logs: Path, workers: int) -> dict:
    """``per_file`` over every file in a process pool: records, wall seconds, CPU per record."""
    import resource

    files = [str(p) for p in _files(logs)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        n = sum(pool.map(per_file, files, chunksize=16))
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) + _cpu_seconds(resource.RUSAGE_SELF)
    return {"records": n, "seconds": seconds, "cpu_us": cpu / n * 1e6}


def _cpu_seconds(who: int) -> float:
    import resource

    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _ingest_out(logs: Path) -> Path:
    """Where the ingest mode leaves its output (for the write mode), beside the data."""
    return logs.parent / "ingest-out"


def run_ingest(logs: Path, workers: int) -> dict:
    import resource
    import shutil

    from bedrock_finops.ingest import ingest_to_folder

    out = _ingest_out(logs)
    shutil.rmtree(out, ignore_errors=True)
    parent0 = _cpu_seconds(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    report = ingest_to_folder(logs, out, workers=workers, progress=False)
    seconds = time.perf_counter() - t0
    parent = _cpu_seconds(resource.RUSAGE_SELF) - parent0
    workers_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN)  # the pool, reaped at its end
    return {
        "records": report.rows,
        "seconds": seconds,
        "cpu_us_parent": parent / report.rows * 1e6,
        "cpu_us_workers": workers_cpu / report.rows * 1e6,
    }


def run_write(logs: Path, rows: int) -> dict:
    """CPU time to write the ingest's own usage rows to Parquet again, the ingest's way.

    Every ingest that produces this table pays this on top of the floor, however it parses:
    with the floor it is a lower bound on the ingest's cost. Times the first ``rows`` rows
    (read beforehand, untimed), best of three.
    """
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    from bedrock_finops.ingest_output import ROW_GROUP_ROWS, usage_writer

    source = pq.ParquetFile(_ingest_out(logs) / "usage.parquet")
    batches, have = [], 0
    for batch in source.iter_batches(batch_size=64 * 1024):
        batches.append(batch)
        have += batch.num_rows
        if have >= rows:
            break
    table = pa.Table.from_batches(batches).slice(0, rows)
    best = float("inf")
    with tempfile.TemporaryDirectory(dir=_ingest_out(logs)) as tmp:
        for _ in range(3):
            t0 = time.process_time()
            with usage_writer(Path(tmp) / "usage.parquet") as writer:
                writer.write_table(table, ROW_GROUP_ROWS)
            best = min(best, time.process_time() - t0)
    return {"records": table.num_rows, "seconds": best, "cpu_us": best / table.num_rows * 1e6}


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


def _per_record(label: str, n: int, fn) -> tuple[str, float]:
    """Best of three runs of ``fn`` (CPU time), in microseconds per record."""
    best = min(_cpu(fn) for _ in range(3))
    return label, best / n * 1e6


def _cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def breakdown(logs: Path, files: int) -> list[tuple[str, float]]:
    """Where one worker's time per record goes, stage by stage, on the first ``files`` files.

    Each stage runs alone over data prepared by the stages before it (one core, CPU time),
    so the figures add up to roughly a worker's cost per record.
    """
    import orjson

    from bedrock_finops import parse, parse_body, parse_request, parse_response
    from bedrock_finops.ingest_worker import CONVERT_ROWS
    from bedrock_finops.parse_features import FeatureCache
    from bedrock_finops.row_batch import to_batch
    from bedrock_finops.sources import invocation_logs as src

    units = src.list_local(logs, None, None).units[:files]
    lines = [line for u in units for line in src.unit_lines(u).lines]
    good, recs = [], []
    for line in lines:
        with contextlib.suppress(orjson.JSONDecodeError):
            recs.append(orjson.loads(line))
            good.append(line)
    kw = {"app_key": "app", "identity_app_map": None, "model_key": lambda raw: raw}

    def whole_rows() -> list[tuple]:
        cache = parse_body.PromptCache()  # one per run, like a worker's
        return [r for r in (parse.fast_row(x, "f", cache=cache, **kw) for x in recs) if r]

    rows = whole_rows()
    bodies = [
        (x["input"]["inputBodyJson"], x["output"].get("outputBodyJson"))
        for x in recs
        if isinstance(x, dict) and isinstance(x.get("input"), dict)
        and isinstance(x["input"].get("inputBodyJson"), dict)
    ]  # fmt: skip
    parts = [parse_request.prompt_parts(b, []) for b, _ in bodies]
    outs = [parse_response.output_text_and_stop(o)[0] for _, o in bodies]
    n = len(recs)

    def features():
        cache = FeatureCache()
        key = parse_body.text_key  # memo keys as the workers make them
        for _, system, turns in parts:
            blocks = [cache.block(system, key(system))] if system else []
            blocks += [cache.block(t, key(t)) for _, t in turns]
            cache.prompt_features(system, [t for _, t in turns], blocks)

    def chain_hashes():
        for _, _, turns in parts:
            for role, text in turns:
                parse_body.short_hash(b"0" * 32 + b"\x00" + role.encode() + b"\x00" + text.encode())

    def each(fn, items) -> Callable[[], None]:
        def run() -> None:
            for item in items:  # results dropped at once, as in a worker
                fn(item)

        return run

    return [
        _per_record(
            "read + gunzip + line views", n, each(lambda u: list(src.unit_lines(u).views()), units)
        ),
        _per_record("orjson.loads", n, each(orjson.loads, good)),
        _per_record(
            "request hash (sorted JSON + XXH3)",
            n,
            each(lambda b: parse_body.short_hash(b"m\x00" + parse_request.canonical(b[0])), bodies),
        ),
        _per_record("message chain hashes (XXH3)", n, chain_hashes),
        _per_record(
            "prompt text from bodies",
            n,
            each(lambda b: parse_request.prompt_parts(b[0], []), bodies),
        ),
        _per_record("text features (cold cache)", n, features),
        _per_record(
            "output text + stop",
            n,
            each(lambda b: parse_response.output_text_and_stop(b[1]), bodies),
        ),
        _per_record("output shape", n, each(parse_response.output_shape, outs)),
        _per_record("whole row (all of the above but loads)", n, lambda: len(whole_rows())),
        _per_record(
            "Arrow batch from rows",
            n,
            lambda: [to_batch(rows[i : i + CONVERT_ROWS]) for i in range(0, n, CONVERT_ROWS)],
        ),
    ]


WRITE_ROWS = 2 * 128 * 1024  # of the ingest's output the write mode times (~1 GB in Arrow)


def _mode_arg(mode: str, workers: int, fraction: float) -> str:
    return {"naive": repr(fraction), "write": str(WRITE_ROWS)}.get(mode, str(workers))


# a mode that is another mode run with the parse modules from their Python source
FROM_SOURCE = {"source": "ingest"}


def _child(mode: str, logs: Path, workers: int, fraction: float) -> dict:
    """Run one mode in a fresh interpreter; return its result plus peak RSS."""
    env = dict(os.environ)
    if mode in FROM_SOURCE:
        from bedrock_finops import compiled

        mode = FROM_SOURCE[mode]
        env[compiled.OFF_VARIABLE] = "1"
    code = (
        f"import json, resource, sys; sys.path.insert(0, {str(HERE)!r}); import ingest as b; "
        "from pathlib import Path; "
        f"r = b.run_{mode}(Path({str(logs)!r}), {_mode_arg(mode, workers, fraction)}); "
        "me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        "kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
        "r['peak_rss_mb'] = max(me, kids) / 1024; print(json.dumps(r))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median_run(results: list[dict]) -> dict:
    """The run with the median rate (the lower middle one for an even count)."""
    return sorted(results, key=lambda r: r["rate"])[(len(results) - 1) // 2]


def round_ratios(runs: dict[str, list[dict]], mode: str = "ingest") -> list[tuple[float, float]]:
    """Each round's (floor/x, x/naive) for ``mode``, from the round's runs back to back.

    The machine's speed can move by a factor of two between minutes; within a round the
    modes mostly see the same speed, so these ratios move less than the medians' do."""
    return [
        (f["rate"] / x["rate"], x["rate"] / n["rate"])
        for f, x, n in zip(runs["floor"], runs[mode], runs["naive"], strict=True)
    ]


def _print_round_ratios(runs: dict[str, list[dict]]) -> None:
    for mode in ("ingest", *(m for m in FROM_SOURCE if m in runs)):
        print(
            f"{mode} ratios within each round (floor/x, x/naive): "
            + ", ".join(f"{floor:.2f}x {naive:.1f}x" for floor, naive in round_ratios(runs, mode))
        )


def _print_bound(floor: dict, write: dict, gunzip: dict) -> None:
    """The least any ingest of this table can cost: the floor plus writing the table."""
    f, w, g = floor["cpu_us"], write["cpu_us"], gunzip["cpu_us"]
    print(
        f"bound: floor CPU {f:.1f} us per record + writing the usage table {w:.1f} us "
        f"({write['records']:,} of the ingest's rows, best of 3) = {f + w:.1f} us, "
        f"{(f + w) / f:.2f}x the floor; 1.5x leaves {1.5 * f - f - w:.1f} us per record "
        "for reading the fields, hashes, features, Arrow columns and the hand-over"
    )
    print(
        f"of the floor's {f:.1f} us, reading and decompressing alone take {g:.1f} us (same "
        f"files and cores) and orjson.loads {f - g:.1f} us: an ingest that parsed the records "
        f"without orjson would have {1.5 * f - g - w:.1f} us per record, all included, for 1.5x"
    )


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
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each mode N times, interleaved, and report the median run (rates move by "
        "+-5%% between runs)",
    )
    ap.add_argument(
        "--breakdown",
        type=int,
        default=0,
        metavar="FILES",
        help="also show a worker's cost per record by stage, on the first FILES files",
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
    from bedrock_finops import compiled
    from bedrock_finops.ingest import compiled_parts

    print(f"compiled parts: {compiled_parts()}")
    _warm_page_cache(_files(logs))
    runs: dict[str, list[dict]] = {"floor": [], "ingest": [], "naive": []}
    if compiled.status() == "yes":  # the same ingest beside it, its parse modules not compiled
        runs = {"floor": [], "ingest": [], "source": [], "naive": []}
    for _ in range(args.repeat):  # rounds interleave the modes, so drift hits all three alike
        for mode, results in runs.items():
            r = _child(mode, logs, args.workers, args.naive_fraction)
            r["rate"] = r["records"] / r["seconds"] if r["seconds"] else 0.0
            results.append(r)
    rows = [(mode, _median_run(results)) for mode, results in runs.items()]
    if args.repeat > 1:
        print(f"median of {args.repeat} runs per mode; rows/s of every run:")
        for mode, results in runs.items():
            print(f"  {mode:<8} " + ", ".join(f"{r['rate']:,.0f}" for r in results))
        _print_round_ratios(runs)
    floor_rate = rows[0][1]["rate"]
    naive_rate = rows[-1][1]["rate"]
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
    for mode, r in rows:
        if mode in ("ingest", *FROM_SOURCE):
            print(
                f"{mode} CPU per record: workers {r['cpu_us_workers']:.1f} us, "
                f"parent {r['cpu_us_parent']:.1f} us"
            )
    if "source" in runs:
        print("source: the ingest with its parse modules run from their Python source")
    print(
        f"ingest takes {floor_rate / ing['rate']:.2f}x the floor's time per record "
        "(target <= 1.5x), "
        f"is {ing['rate'] / naive_rate:.1f}x faster than naive (target >= 5x), "
        f"peak RSS {ing['peak_rss_mb']:,.0f} MB (target < 4,096 MB)"
    )
    _print_bound(
        rows[0][1],
        _child("write", logs, args.workers, args.naive_fraction),
        _child("gunzip", logs, args.workers, args.naive_fraction),
    )
    if args.breakdown:
        print(f"one worker, per record (first {args.breakdown} files, CPU time, best of 3):")
        for label, us in breakdown(logs, args.breakdown):
            print(f"  {label:<40} {us:>7.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
