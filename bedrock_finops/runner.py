"""A run: ingest once, execute every notebook headless, leave a dated immutable record.

``bedrock-finops run --params params/default.yaml`` writes ``outputs/YYYY-MM-DD/`` (a second
run the same day gets ``YYYY-MM-DD_HHMMSS``), holding the ingested tables, each executed
notebook, an HTML copy without code, findings and effects, and ``manifest.json``. One failing
notebook does not stop the others; the run exits non-zero and says where the failed one is.
What can be checked before any work is (``params``, ``run_checks``), so a mistake there makes
no folder; a run that fails later keeps its folder, its manifest saying failed and why.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bedrock_finops import params as params_mod
from bedrock_finops import relative_window, run_checks, scratch_folders, worker_pool
from bedrock_finops.disk_space import FULL_ERRNOS
from bedrock_finops.empty_usage import nothing_to_analyse
from bedrock_finops.notebook_exec import (
    execute_notebook,
    export_html,
    kernel_kwargs,
    writable_ipython_folder,
    write_whole,
)
from bedrock_finops.run_checks import absolute_paths
from bedrock_finops.terminal_text import for_terminal
from bedrock_finops.user_paths import path_argument

PACKAGE_ROOT = Path(__file__).resolve().parent
DEFAULT_NOTEBOOKS = PACKAGE_ROOT.parent / "notebooks"
SUMMARY_PREFIX = "99_"
SECRET_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",  # an Amazon Bedrock API key
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",  # ECS and EKS Pod Identity credentials
)
VERSIONED = (
    "pandas",
    "pyarrow",
    "numpy",
    "matplotlib",
    "boto3",
    "botocore",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "orjson",
    "isal",
)
INGEST_FILES = ("usage.parquet", "prompts.parquet", "quarantine.parquet", "ingest_report.json")


@dataclass
class NotebookResult:
    name: str
    status: str  # ok | failed
    seconds: float
    output: str
    html: str | None = None
    error: str | None = None
    findings: list[str] = field(default_factory=list)


def discover_notebooks(folder: Path, only: list[str] | None = None) -> dict[str, Path]:
    """Notebooks by name (file stem), summary last; ``only`` keeps the named ones."""
    if not folder.is_dir():
        raise FileNotFoundError(f"notebook folder {folder} does not exist; pass --notebooks DIR")
    found = {p.stem: p for p in sorted(folder.glob("*.ipynb"))}
    if only:
        unknown = [n for n in only if n not in found]
        if unknown:
            raise params_mod.ParamsError(
                f"--only names unknown notebooks {unknown}; choose from: {', '.join(found)}"
            )
        found = {k: v for k, v in found.items() if k in only}
    return dict(sorted(found.items(), key=lambda kv: (kv[0].startswith(SUMMARY_PREFIX), kv[0])))


def new_run_folder(
    out_root: Path, day: dt.date | None = None, now: dt.datetime | None = None
) -> Path:
    """``out_root/YYYY-MM-DD``; never an existing folder (a time suffix, then a counter)."""
    now = now or dt.datetime.now()
    day = day or now.date()
    out_root.mkdir(parents=True, exist_ok=True)
    candidates = [day.isoformat(), f"{day.isoformat()}_{now:%H%M%S}"]
    candidates += [f"{day.isoformat()}_{now:%H%M%S}-{i}" for i in range(2, 1000)]
    for name in candidates:
        path = out_root / name
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run folder under {out_root}")


def ingest_for_run(run: dict[str, Any], run_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Fill ``run_dir`` with the ingested tables for ``run.source``; returns the ingest report."""
    from bedrock_finops import ingest, notebook

    source = run["source"]
    options = _ingest_options(run)
    if source == "sample":
        sample_opts = _sample_options(run)
        if reads_cached_sample(run):
            was_cached = (notebook.sample_run_path() / "usage.parquet").exists()
            cached = notebook.default_sample_run()  # generated + ingested once, then reused
            copy_whole([cached / name for name in (*INGEST_FILES, "truth.json")], run_dir)
            report = json.loads((run_dir / "ingest_report.json").read_text(encoding="utf-8"))
            key = "reused_from_cache" if was_cached else "cached_as"
            report = {**report, "source": "sample (the embedded sample)", key: str(cached)}
            return _named_source(run_dir, report)
        from bedrock_finops import sample

        work = run_dir / ".sample"
        opts = dict(sample_opts, start=dt.date.fromisoformat(str(sample_opts["start"])))
        try:
            sample.generate(work, **opts)
            report = ingest.ingest_to_folder(
                work / "logs", run_dir, run["start"], run["end"], progress=progress, **options
            )
            shutil.copy2(work / "truth.json", run_dir / "truth.json")
        finally:  # a run stopped (SIGTERM) or failed keeps no generated logs
            shutil.rmtree(work, ignore_errors=True)
        return _named_source(
            run_dir, {**report.to_dict(), "source": "sample (generated for this run)"}
        )
    report = ingest.ingest_to_folder(
        source,
        run_dir,
        run["start"],
        run["end"],
        progress=progress,
        **options,
        **({"endpoint_url": run["endpoint_url"]} if run.get("endpoint_url") else {}),
        **({"region": run["region"]} if run.get("region") else {}),
    )
    return report.to_dict()


def copy_whole(files: list[Path], folder: Path) -> None:
    """Copy those of ``files`` that exist into ``folder``, all or none: each is copied beside
    its name and the copies renamed into place once all are made, so a full disk part way
    leaves no cut ``usage.parquet`` ("Parquet magic bytes not found"). The error of a copy
    that fails for want of room or writing names the file it was making, in ``folder``
    (a copy's names the file it read from first)."""
    partials = {src: folder / f".{src.name}.partial" for src in files if src.exists()}
    try:
        for src, partial in partials.items():
            _copy_naming_destination(src, partial, folder / src.name)
        for src, partial in partials.items():
            os.replace(partial, folder / src.name)
    finally:
        for partial in partials.values():
            partial.unlink(missing_ok=True)


def _copy_naming_destination(src: Path, partial: Path, dest: Path) -> None:
    try:
        shutil.copy2(src, partial)
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise OSError(exc.errno, exc.strerror, str(dest)) from exc
        raise


WRITE_ERRNOS = FULL_ERRNOS | {errno.EROFS}  # the folder written is to blame, not the source


def remove_killed_runs_scratch(out_root: Path) -> list[Path]:
    """Remove the scratch copies of expanded logs (``.expanded-<pid>-<id>``, as large as the
    large gzip files' text) that killed runs left in their folders under ``out_root``, once
    their makers are provably gone (see ``scratch_folders``); returns those removed.

    A SIGKILLed run (the out-of-memory killer, ``timeout -s KILL``) cleans nothing up, and
    the ingest removes such copies only from its own output folder, which for a run is a new
    folder each time: they were never removed. Only folders holding a run's manifest are
    looked in."""
    from bedrock_finops.sources import invocation_logs as logs

    try:
        folders = sorted(p for p in out_root.iterdir() if (p / "manifest.json").is_file())
    except OSError:
        return []
    removed: list[Path] = []
    for folder in folders:
        if not folder.is_symlink():  # latest: the folder it names is listed itself
            removed += scratch_folders.remove_stale(folder, logs.SCRATCH_PREFIX)
    return removed


def _sample_options(run: dict[str, Any]) -> dict[str, Any]:
    """The embedded sample's settings for ``run``: its ``run.sample`` over the defaults."""
    from bedrock_finops import notebook

    given = {k: str(v) if k == "start" else v for k, v in (run["sample"] or {}).items()}
    return {**notebook.SAMPLE_DEFAULTS, **given}


def reads_cached_sample(run: dict[str, Any]) -> bool:
    """Whether ``run`` copies the cached sample's tables: the cached sample was ingested with
    the defaults, so any other sample, window or ingest setting ingests afresh."""
    from bedrock_finops import notebook

    defaults = _ingest_options({k: spec[1] for k, spec in params_mod.RUN_KEYS.items()})
    return (
        run["source"] == "sample"
        and _sample_options(run) == notebook.SAMPLE_DEFAULTS
        and run["start"] is None
        and run["end"] is None
        and _ingest_options(run) == defaults
    )


def _ingest_options(run: dict[str, Any]) -> dict[str, Any]:
    """How records become rows: the run's settings, on the sample as on your own logs."""
    return {
        "app_key": run["app_key"],
        "identity_app_map": run["identity_app_map"] or None,
        "profile_map": run["profile_map"] or None,
        "fetch_large_bodies": run["fetch_large_bodies"],
        "lookup_profiles": run["lookup_profiles"],
    }


REDACTED_CREDENTIAL = b"[redacted credential]"
SCRUB_BLOCK = 1 << 20  # bytes read at a time: a batch input file can be 1 GB


def scrub_secrets(folder: Path, env: dict[str, str] | None = None) -> int:
    """Replace any AWS credential value found in the run's text files; returns files changed.

    Files are searched a block at a time, as bytes (a batch input file can be 1 GB, and a
    file that is not valid UTF-8 is left byte for byte as it was, but for the credential).
    """
    secrets = _secret_values(env)
    if not secrets:
        return 0
    changed = 0
    for path in sorted(folder.rglob("*")):
        if path.suffix not in SCRUBBED_SUFFIXES or not path.is_file():
            continue
        if _holds_any(path, secrets):
            _replace_all(path, secrets)
            changed += 1
    return changed


def _secret_values(env: dict[str, str] | None = None) -> list[bytes]:
    """The credential values in the environment, the longest first (a secret that holds
    another is replaced whole); values under 8 characters are not taken for secrets."""
    env = dict(os.environ if env is None else env)
    values = {env[k].encode() for k in SECRET_ENV if len(env.get(k) or "") >= 8}
    return sorted(values, key=len, reverse=True)


def scrubbed(text: str | None, env: dict[str, str] | None = None) -> str | None:
    """``text`` with any credential value from the environment redacted, as
    :func:`scrub_secrets` does to the run's files (for what is not in the folder when it runs:
    each write of the manifest, each line the run logs)."""
    if not text:
        return text
    secrets = _secret_values(env)
    if not secrets:
        return text
    # a path name that is not UTF-8 reaches Python as lone surrogates ("\udce9"): they pass
    # through as they came, for the console to print as escapes
    data = text.encode(errors="surrogatepass")
    for secret in secrets:
        data = data.replace(secret, REDACTED_CREDENTIAL)
    return data.decode(errors="surrogatepass")


SCRUBBED_SUFFIXES = (".ipynb", ".html", ".json", ".txt", ".csv", ".md", ".jsonl")


def _holds_any(path: Path, needles: list[bytes]) -> bool:
    keep = max(len(n) for n in needles) - 1  # a needle may straddle two blocks
    tail = b""
    with path.open("rb") as f:
        while block := f.read(SCRUB_BLOCK):
            window = tail + block
            if any(n in window for n in needles):
                return True
            tail = window[-keep:]
    return False


def _replace_all(path: Path, needles: list[bytes]) -> None:
    """Rewrite ``path`` (through a link, keeping its mode) with every needle redacted."""
    target = path.resolve()
    keep = max(len(n) for n in needles) - 1
    tmp = target.with_name(target.name + ".scrubbing")
    try:
        with target.open("rb") as src, tmp.open("wb") as dst:
            carry = b""
            while block := src.read(SCRUB_BLOCK):
                data = carry + block
                for needle in needles:
                    data = data.replace(needle, REDACTED_CREDENTIAL)
                cut = max(0, len(data) - keep)  # the end may hold the start of a needle
                dst.write(data[:cut])
                carry = data[cut:]
            dst.write(carry)
        shutil.copymode(target, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "bedrock-finops": _version("bedrock-finops")}
    out.update({name: _version(name) for name in VERSIONED})
    return out


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit(path: Path = PACKAGE_ROOT) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run(
    params_path: str | Path | None = None,
    *,
    only: list[str] | None = None,
    day: dt.date | None = None,
    jobs: int | None = None,
    out_root: str | Path = "outputs",
    html: bool = True,
    notebooks_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
    clock: relative_window.Clock = relative_window.utc_now,
    log_error: Callable[[str], None] | None = None,
) -> tuple[int, Path]:
    """Run everything; returns (exit code, run folder). ``clock`` is the run's (an aware
    datetime): a ``run.window`` is resolved against its UTC day, once, here.

    ``log`` takes the progress and the results (stdout), ``log_error`` the errors, a failed
    run's lines and a ``latest`` left as it was (by default stderr, where a schedule that
    mails only errors looks)."""
    log, log_error = _scrubbing(log), _scrubbing(log_error or print_error)
    started = time.perf_counter()
    started_at = clock()
    folder = Path(notebooks_dir or DEFAULT_NOTEBOOKS)
    nb_paths = discover_notebooks(folder, only)
    if not nb_paths:
        raise FileNotFoundError(f"no notebooks found in {folder}")
    # refuses bad params before any work; the file is read against every notebook in the
    # folder (with --only, the sections of those not run are still known, and checked)
    params = params_mod.load(params_path, discover_notebooks(folder))
    today = relative_window.utc_day(started_at)
    where = str(params.path) if params.path else "(defaults)"
    params.run = relative_window.resolved_run(params.run, today, where)  # the days from now on
    from bedrock_finops import billing_inputs

    billing_inputs.check_sources(params.run)  # two billing sources of one spend: refused too
    # the files it names (those of the notebooks that run), credentials, prices
    prices = run_checks.check_inputs(params, list(nb_paths))
    if reads_cached_sample(params.run):  # no folder to cache it in is told before any is made
        from bedrock_finops import notebook

        notebook.check_cache_folder()
    run_dir = new_run_folder(Path(out_root), day)
    log(f"run folder: {run_dir}")
    for stale in remove_killed_runs_scratch(Path(out_root)):
        log(f"removed {stale}: the scratch copy of logs a killed run left")
    if params.run.get("window"):
        log(relative_window.described(params.run))
    manifest: dict[str, Any] = {
        "tool": "bedrock-finops",
        "created_at": started_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "run_dir": str(run_dir),
        "params_file": str(params_path) if params_path else None,
        # the file as written, with the files it names as the notebooks get them (absolute)
        "params": _jsonable(
            {k: absolute_paths(v) if isinstance(v, dict) else v for k, v in params.raw.items()}
        ),
        "source": params.run["source"],
        "window": relative_window.manifest_record(params.run, today),  # the days analysed
        "price_sheet": prices.common,  # common's: each notebook's is in notebook_params
        # what each notebook runs with, so batch-export, run from anywhere, uses the same
        "notebook_params": _notebook_params(params, list(nb_paths), run_dir, prices),
        "versions": versions(),
        "git_commit": git_commit(),
        "timings": {},
        "notebooks": {},
        "status": "running",
    }
    stage = "manifest"  # a manifest that cannot be written is the run's failure too
    try:
        _write_manifest(run_dir, manifest)
        stage = "ingest"
        t0 = time.perf_counter()
        log(f"ingesting {params.run['source']} ...")
        report = ingest_for_run(params.run, run_dir, progress=sys.stderr.isatty())
        manifest["ingest"] = report
        manifest["timings"]["ingest_s"] = round(time.perf_counter() - t0, 2)
        _log_ingest(report, manifest["timings"]["ingest_s"], log)
        if not report.get("rows"):
            manifest["status"] = "failed"
            manifest["error"] = nothing_to_analyse(report, params.run.get("window"))
            scrub_secrets(run_dir)  # the ingest's report names the source
            stage = "manifest"
            _write_manifest(run_dir, manifest)
            log_error(f"error: {manifest['error']}")
            return 2, run_dir
        stage = "billing"
        t0 = time.perf_counter()
        manifest["billing"] = _billing_for_run(params.run, run_dir, log)
        manifest["timings"]["billing_s"] = round(time.perf_counter() - t0, 2)
        stage = "notebooks"
        record = functools.partial(_record_result, manifest, run_dir)
        workers = jobs or os.cpu_count() or 1
        results = _execute_all(nb_paths, params, run_dir, workers, log, on_result=record)
        for res in results.values():
            if html and res.status == "ok":  # a failed notebook's copy would pass for a result
                _export_html_copy(res)
        scrub_secrets(run_dir)
        stage = "manifest"
        failed = _record_results(manifest, results, started)
        _write_manifest(run_dir, manifest)
    except BaseException as exc:  # the folder says what happened, then the caller reports it
        _record_failure(run_dir, manifest, stage, exc, log_error)
        raise
    if not failed:
        _point_latest(Path(out_root), run_dir, log_error)
    for r in failed:
        log_error(_failure_lines(r))
    (log_error if failed else log)(
        f"{len(results) - len(failed)} of {len(results)} notebooks ok in "
        f"{manifest['timings']['total_s']} s; manifest: {run_dir / 'manifest.json'}"
    )
    return (1 if failed else 0), run_dir


def _record_result(manifest: dict[str, Any], run_dir: Path, res: NotebookResult) -> None:
    """A notebook's result, with the files it wrote, in the manifest as soon as it finishes:
    a run stopped after it (SIGTERM) still says it ran."""
    res.findings = sorted(
        p.name for p in run_dir.glob(f"{res.name}.*") if p.suffix in (".json", ".parquet", ".csv")
    )
    manifest["notebooks"][res.name] = res.__dict__  # (its HTML copy is added to it later)
    manifest["timings"].setdefault("notebooks_s", {})[res.name] = round(res.seconds, 2)
    _write_manifest(run_dir, manifest)


def _record_results(
    manifest: dict[str, Any], results: dict[str, NotebookResult], started: float
) -> list[NotebookResult]:
    """The notebooks' results, in order, timings and the run's status in ``manifest``;
    returns the notebooks that failed."""
    manifest["notebooks"] = {n: r.__dict__ for n, r in results.items()}
    manifest["timings"]["notebooks_s"] = {n: round(r.seconds, 2) for n, r in results.items()}
    manifest["timings"]["total_s"] = round(time.perf_counter() - started, 2)
    failed = [r for r in results.values() if r.status != "ok"]
    manifest["status"] = "failed" if failed else "ok"
    return failed


# a message of several lines the run writes (a failed notebook's): its lines, each one line
RunLines = tuple[str, ...]


def _scrubbing(write: Callable[[str], None]) -> Callable[[str | RunLines], None]:
    """``write`` given each message the run logs with any credential value redacted: a line
    may quote one (a source or a folder named after it, a notebook's error), and a scheduled
    run's log is mailed or kept.

    The values a line quotes (a source, a params file, a folder, a notebook's name or error, an
    S3 key, a log group, a quarantine reason) are the user's or the logs', so its control
    characters are escaped for the terminal, line breaks too: a folder named ``a\\nok: ...``
    printed a line of its own, and an ESC sequence moved the cursor. A message of several lines
    is given as its lines (:data:`RunLines`), each escaped, and written as one message."""

    def write_scrubbed(message: str | RunLines) -> None:
        lines = (message,) if isinstance(message, str) else message
        write("\n".join(for_terminal(scrubbed(line)) for line in lines))

    return write_scrubbed


def print_error(message: str) -> None:
    """A line for stderr: an error, or a failed run's."""
    print(message, file=sys.stderr)


HTML_FAILED = "HTML export failed"


def _export_html_copy(res: NotebookResult) -> None:
    """The notebook's HTML copy, without code: the part of a run made to be shared. One that
    cannot be written fails the notebook (the run exits 1 and ``latest`` stays), though the
    executed notebook, its findings and effects are all there."""
    try:
        res.html = str(export_html(Path(res.output)))
    except Exception as exc:  # e.g. a full disk: said for this notebook, the others go on
        problem = f"{HTML_FAILED}: {type(exc).__name__}: {exc}"[:500]
        res.error = f"{res.error} ({problem})" if res.error else problem
        res.status = "failed"


def _failure_lines(res: NotebookResult) -> RunLines:
    """What the console says of a failed notebook: why, and where to look."""
    if res.error and res.error.startswith(HTML_FAILED):  # it ran: its copy is what is missing
        return (
            f"FAILED {res.name}: {res.error}",
            f"  the notebook itself ran: {res.output} (--no-html runs without the HTML copies)",
        )
    return (f"FAILED {res.name}: {res.error}", f"  error notebook: {res.output}")


def _named_source(run_dir: Path, report: dict[str, Any]) -> dict[str, Any]:
    """``report``, also written as the run's ``ingest_report.json``: a sample's names the
    sample, not the scratch folder it was generated in (gone once the run is done)."""
    (run_dir / "ingest_report.json").write_text(
        json.dumps(report, indent=2) + "\n", encoding="utf-8"
    )
    return report


def _log_ingest(report: dict[str, Any], seconds: float, log) -> None:
    counts = (
        f"{report.get('rows', 0):,} rows ({report.get('quarantined', 0):,} quarantined, "
        f"{report.get('duplicates', 0):,} duplicate deliveries)"
    )
    if report.get("reused_from_cache"):
        log(
            f"copied the embedded sample's tables ingested earlier, {counts}, in {seconds} s "
            f"(cache: {report['reused_from_cache']}; ingest took "
            f"{report.get('elapsed_s', 0):.1f} s)"
        )
    else:
        if report.get("cached_as"):
            log(f"generated and ingested the embedded sample; cached at {report['cached_as']}")
        log(f"ingested {counts} in {seconds} s")
    _log_coverage(report, log)


def _log_coverage(report: dict[str, Any], log) -> None:
    """The records' span (the days the notebooks' per-day figures divide by), and what the
    ingest says of the table not covering the window: its gaps and archived S3 objects."""
    from bedrock_finops.ingest import archived_line, record_span

    if report.get("first_record") and report.get("last_record"):
        first, last = (
            dt.datetime.fromisoformat(report[k]) for k in ("first_record", "last_record")
        )
        log(f"records span {record_span(first, last, report.get('record_days') or 0)}")
    for warning in report.get("window_warnings") or []:
        log(f"warning: {warning}")
    if report.get("archived_objects"):
        log(f"warning: {archived_line(report['archived_objects'])}")


def _record_failure(
    run_dir: Path, manifest: dict[str, Any], stage: str, exc: BaseException, log
) -> None:
    """A run that stops after its folder is made keeps the folder, as its record: the manifest
    says failed, at which stage and why; ``latest`` still points at the last good run."""
    manifest["status"] = "failed"
    manifest["error"] = f"{stage}: {exc}" if str(exc) else f"{stage}: {type(exc).__name__}"
    path = run_dir / "manifest.json"
    try:
        _write_manifest(run_dir, manifest)
        said = f"run failed during {stage}; recorded in {path}"
    except OSError as write_error:  # a full disk: the error the run ends with says where
        said = f"run failed during {stage}; {_not_recorded(path, write_error)}"
    with contextlib.suppress(OSError):  # what cannot be rewritten keeps what it held
        scrub_secrets(run_dir)  # whatever the stage wrote before it stopped
    # a closed terminal (SIGHUP) takes no more lines: the stop, not that, ends the run
    with contextlib.suppress(OSError):
        log(said)


def _not_recorded(path: Path, error: OSError) -> str:
    """That the run's failure could not be written to its manifest, and what that holds: the
    last one written whole (each is written beside it and renamed into place)."""
    why = error.strerror or type(error).__name__
    try:
        status = json.loads(path.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError, AttributeError):
        return f"it could not be recorded ({why}): the run folder holds no manifest.json"
    return (
        f"it could not be recorded ({why}): {path} holds the manifest last written, "
        f'which says "status": {json.dumps(status)}'
    )


def _execute_all(
    nb_paths: dict[str, Path],
    params: params_mod.RunParams,
    run_dir: Path,
    jobs: int,
    log,
    on_result: Callable[[NotebookResult], None] = lambda res: None,
) -> dict[str, NotebookResult]:
    """Every notebook run, the summary after the others; ``on_result`` is given each result
    as it comes in."""
    writable_ipython_folder()  # before the workers start: they and their kernels inherit it
    regular = {n: p for n, p in nb_paths.items() if not n.startswith(SUMMARY_PREFIX)}
    summary = {n: p for n, p in nb_paths.items() if n.startswith(SUMMARY_PREFIX)}
    results: dict[str, NotebookResult] = {}
    total = len(nb_paths)
    for batch in (regular, summary):
        if not batch:
            continue
        # the ingest's kind of pool: a stop (Ctrl-C, SIGTERM to this process alone, SIGHUP)
        # reaches each notebook's worker, which ends its kernel at once, instead of waiting for
        # the cell that runs; a SIGKILLed run takes the workers along, and they their kernels
        workers = max(1, min(jobs, len(batch)))
        pool = worker_pool.start(workers)
        try:
            futures = {}
            for i, (name, path) in enumerate(batch.items()):
                nb_params = injected_params(params, name, run_dir)
                dest = run_dir / f"{name}.ipynb"
                # a notebook past the pool's size waits for a worker (a stop may end it unrun)
                state = "started" if i < workers else "queued"
                log(f"[{len(results) + len(futures) + 1}/{total}] {name} {state}")
                args = (str(path), str(dest), _jsonable(nb_params), str(run_dir))
                futures[pool.submit(worker_pool.run_task, execute_notebook, *args)] = (name, dest)
            for fut in as_completed(futures):
                name, dest = futures[fut]
                status, seconds, error = fut.result()
                results[name] = NotebookResult(name, status, seconds, str(dest), error=error)
                on_result(results[name])
                log(f"    {name}: {status} in {seconds:.1f} s")
        except BaseException:
            worker_pool.stop(pool)
            raise
        pool.shutdown(wait=True)
    return dict(sorted(results.items()))


def injected_params(params: params_mod.RunParams, name: str, run_dir: Path) -> dict[str, Any]:
    """What papermill gives a notebook: the values ``common`` and its section set, the files
    they name absolute (the notebook runs inside the run folder: named relative to here), and
    the run folder."""
    values = absolute_paths(params.for_notebook(name))
    if "run_dir" in params.declared[name]:
        values["run_dir"] = str(run_dir.resolve())
    return values


def _notebook_params(
    params: params_mod.RunParams,
    names: list[str],
    run_dir: Path,
    prices: run_checks.PriceSheets,
) -> dict[str, dict[str, Any]]:
    """Per notebook, the values it runs with (its parameters cell's defaults, with what
    papermill injects over them) and the prices it uses (none for one that prices nothing)."""
    return {
        name: {
            "parameters": {
                **params_mod.notebook_defaults(params.declared[name]),
                **injected_params(params, name, run_dir),
            },
            "price_sheet": prices.notebooks.get(name),
        }
        for name in names
    }


def _billing_for_run(run: dict[str, Any], run_dir: Path, log) -> dict[str, Any]:
    """Billed cost and metrics for reconciliation, when configured; written beside usage."""
    from bedrock_finops import billing_inputs

    return billing_inputs.collect(run, run_dir, log)


def _point_latest(out_root: Path, run_dir: Path, log: Callable[[str], None]) -> None:
    """Point ``out_root/latest`` at ``run_dir``: a link made beside it under a name of its own
    is renamed over it, so ``latest`` names one run or the other at every moment. A real
    folder named ``latest`` (outputs copied with ``cp -rL`` or restored from an artifact) is
    the user's: it is left as it is, and said."""
    link = out_root / "latest"
    if _a_real_folder(link):
        log(_latest_left(link, run_dir))
        return
    tmp = out_root / f".latest-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        tmp.symlink_to(run_dir.name)
        os.replace(tmp, link)
    except IsADirectoryError:  # made a folder since it was looked at
        log(_latest_left(link, run_dir))
    finally:
        tmp.unlink(missing_ok=True)  # gone once renamed


def _a_real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _latest_left(link: Path, run_dir: Path) -> str:
    return (
        f"warning: {link} is a folder, not a link, and is left as it is: it does not name this "
        f"run ({run_dir.name}); remove or rename it, and the next good run makes it a link"
    )


def _write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """``manifest.json``, whole or not at all: rewritten in place, a full disk left it empty or
    cut short, no JSON (see ``write_whole``). Each write is scrubbed of credentials itself: the
    manifest is rewritten from memory after the run folder was scrubbed, and holds the params,
    the ingest's report and the notebooks' errors, any of which may quote one."""
    text = json.dumps(_jsonable(manifest), indent=2) + "\n"
    write_whole(run_dir / "manifest.json", scrubbed(text))


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def refresh_notebooks(
    folder: Path = DEFAULT_NOTEBOOKS, only: list[str] | None = None, log=print
) -> int:
    """Re-execute the committed notebooks in place on their defaults (the embedded sample),
    so the stored outputs nbval compares against are current. Returns the number refreshed."""
    import nbformat
    from nbclient import NotebookClient

    from bedrock_finops import notebook

    notebook.default_sample_run()  # build the cached sample once, before the kernels need it
    writable_ipython_folder()
    count = 0
    for name, path in discover_notebooks(folder, only).items():
        t0 = time.perf_counter()
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            **kernel_kwargs(),
        ).execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nb.metadata.pop("papermill", None)
        nbformat.write(nb, path)
        count += 1
        log(f"refreshed {name} in {time.perf_counter() - t0:.1f} s")
    return count


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "run",
        help="ingest once and run every notebook into outputs/DATE/",
        description="Ingest the logs params.run names once, then run every notebook on the "
        "usage table into OUT/DATE/ (notebooks, HTML copies, findings, manifest.json), and "
        "point OUT/latest at it.",
    )
    p.add_argument(
        "--params",
        default=None,
        type=path_argument,
        help="params YAML (default: built-in defaults)",
    )
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks")
    p.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="run date for the folder name (default: today, local time)",
    )
    p.add_argument("--jobs", type=int, default=None, help="notebooks in parallel (default: cores)")
    p.add_argument(
        "--out",
        default="outputs",
        type=path_argument,
        help="root folder for dated runs (default: outputs)",
    )
    p.add_argument("--no-html", action="store_true", help="skip the HTML copies")
    p.add_argument(
        "--notebooks",
        default=None,
        type=path_argument,
        help="notebook folder (default: the project's)",
    )
    p.set_defaults(func=_cli_run)

    n = subparsers.add_parser("notebooks", help="maintain the committed notebooks")
    nsub = n.add_subparsers(dest="notebooks_command", metavar="ACTION", required=True)
    r = nsub.add_parser(
        "refresh",
        help="re-execute notebooks in place on their own defaults (the embedded sample), which "
        "nbval checks; a params file does not apply (use run for that)",
    )
    r.add_argument("--only", nargs="+", metavar="NAME")
    r.add_argument("--notebooks", default=None, type=path_argument)
    r.set_defaults(func=_cli_refresh)


def _cli_run(args) -> int:
    """The run's exit code; an error in its params or a file it names ends the command as any
    command's does (``cli``'s ``error:`` line, the names it quotes escaped, exit 2)."""
    code, _ = run(
        args.params,
        only=args.only,
        day=args.date,
        jobs=args.jobs,
        out_root=args.out,
        html=not args.no_html,
        notebooks_dir=args.notebooks,
    )
    return code


def _cli_refresh(args) -> int:
    refresh_notebooks(Path(args.notebooks or DEFAULT_NOTEBOOKS), args.only)
    return 0
