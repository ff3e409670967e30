"""Every notebook on a month of ~1M records: wall time and the kernel's peak RSS, one by one.

    .venv/bin/python benchmarks/notebooks_scale.py [--records 1000000]

Uses the same generated logs as ``ingest.py`` (``benchmarks/_data/records-N/logs``; run that
benchmark first to make them) and ingests them once into ``records-N/run/``. Then each
notebook runs headless, as ``bedrock-finops run`` runs it, in its own process, so the peak
RSS printed is that notebook's kernel alone (``RUSAGE_CHILDREN`` of the process that ran
it). A notebook that fails prints its error: at this scale that is the finding.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _run_one(src: str, dest: str, parameters: dict, cwd: str) -> tuple[str, float, str, float]:
    """(status, seconds, error, peak RSS of the kernel in MB), in a fresh process."""
    from bedrock_finops.notebook_exec import execute_notebook

    status, seconds, error = execute_notebook(src, dest, parameters, cwd)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return status, seconds, error or "", peak_kb / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=HERE / "_data")
    ap.add_argument("--params", type=Path, default=ROOT / "params" / "default.yaml")
    args = ap.parse_args(argv)

    from bedrock_finops import ingest
    from bedrock_finops import params as params_mod
    from bedrock_finops.runner import DEFAULT_NOTEBOOKS, _jsonable, discover_notebooks

    data = args.data / f"records-{args.records}"
    if not (data / "logs").exists():
        print(f"no logs in {data}: run `python benchmarks/ingest.py --records {args.records}`")
        return 2
    run_dir = data / "run"
    if not (run_dir / "usage.parquet").exists():
        t0 = time.perf_counter()
        report = ingest.ingest_to_folder(data / "logs", run_dir, progress=False)
        print(f"ingested {report.rows:,} rows in {time.perf_counter() - t0:.1f} s")
    rows = json.loads((run_dir / "ingest_report.json").read_text())["rows"]
    notebooks = discover_notebooks(DEFAULT_NOTEBOOKS)
    params = params_mod.load(args.params, notebooks)
    print(f"{rows:,} usage rows in {run_dir}")
    print(f"{'notebook':<22} {'status':<7} {'seconds':>8} {'peak RSS':>10}")
    failed = 0
    with tempfile.TemporaryDirectory() as out:
        for name, path in notebooks.items():
            declared = params_mod.notebook_parameters(path)
            nb_params = params.for_notebook(name, declared)
            nb_params["run_dir"] = str(run_dir)
            if "export_dir" in declared:
                nb_params["export_dir"] = str(Path(out) / f"{name}-export")
            dest = str(Path(out) / f"{name}.ipynb")
            with ProcessPoolExecutor(max_workers=1) as pool:  # a fresh process per notebook
                status, seconds, error, peak_mb = pool.submit(
                    _run_one, str(path), dest, _jsonable(nb_params), out
                ).result()
            print(f"{name:<22} {status:<7} {seconds:>8.1f} {peak_mb:>8,.0f} MB")
            if error:
                failed += 1
                print(f"    {error.splitlines()[-1][:300]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
