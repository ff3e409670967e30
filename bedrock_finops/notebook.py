"""What every notebook needs, so notebooks stay thin: open a run, show assumptions, save.

A notebook's parameters cell names ``run_dir``. The runner passes the dated run folder it
ingested into; left empty (as when an analyst opens a notebook in JupyterLab, or nbval runs
it), the embedded sample is generated and ingested once into a cache folder and used instead.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops import findings as findings_mod
from bedrock_finops.amounts import figure
from bedrock_finops.column_take import ParquetColumn
from bedrock_finops.schema import read_usage
from bedrock_finops.segments import NO_TEMPLATE

SAMPLE_DEFAULTS: dict[str, Any] = {"days": 30, "scale": 1.0, "seed": 7, "start": "2026-10-01"}


class CacheFolderError(RuntimeError):
    """No folder to cache the embedded sample in: no variable names one, and there is no home
    folder to keep it under (a container run as a user id of no account, with HOME unset)."""


def cache_root() -> Path:
    """Where the default sample run is cached: ``BEDROCK_FINOPS_CACHE``, else
    ``$XDG_CACHE_HOME/bedrock-finops``, else ``~/.cache/bedrock-finops``. The home folder is
    looked for only when neither variable is set (it may be none there is)."""
    env = os.environ.get("BEDROCK_FINOPS_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")  # left empty, it counts as unset (XDG's rule)
    if xdg:
        return Path(xdg) / "bedrock-finops"
    try:
        home = Path.home()
    except RuntimeError:  # HOME unset and no entry for this user in the password database
        raise CacheFolderError(
            "no folder to cache the embedded sample in: HOME is not set and this user has no "
            "home folder in the password database; set BEDROCK_FINOPS_CACHE (or "
            "XDG_CACHE_HOME, or HOME) to a folder this user can write to"
        ) from None
    return home / ".cache" / "bedrock-finops"


# sources and bundled data that shape a run (C sources: the compiled twins must agree too)
FINGERPRINTED = (".py", ".c", ".csv", ".json")


def _code_fingerprint() -> str:
    """Changes whenever the package's code or bundled data change (so a stale cache is never
    used): the sample, the ingest, the prices and the billing export all shape the cached run."""
    h = hashlib.sha256(json.dumps(SAMPLE_DEFAULTS, sort_keys=True).encode())
    root = Path(str(resources.files("bedrock_finops")))
    for path in sorted(root.rglob("*")):
        if path.suffix in FINGERPRINTED and "__pycache__" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def sample_run_path() -> Path:
    """Where :func:`default_sample_run` keeps the embedded sample for this version of the code."""
    return cache_root() / f"sample-run-{_code_fingerprint()}"


STALE_CACHE_DAYS = 7  # a cached sample run of other code unused this long is removed


def default_sample_run() -> Path:
    """A run folder for the embedded sample (generated and ingested on first use, then cached).

    Each version of the code caches its own; using one marks it used, and building a new one
    removes the others left unused for ``STALE_CACHE_DAYS`` (another checkout's may be in use).
    A cache folder that cannot be written, or has no room, is a :class:`CacheFolderError`
    saying so and how to cache elsewhere.
    """
    target = sample_run_path()
    if (target / "usage.parquet").exists():
        with contextlib.suppress(OSError):  # a cache on a read-only file system still serves
            os.utime(target)
        return target
    prune_stale_sample_runs(keep=target)
    from bedrock_finops.ingest import NoRoomForTables

    try:
        return _build_sample_run(target)
    except (OSError, NoRoomForTables) as exc:
        error = _cache_write_error(target.parent, exc)
        if error is None:
            raise
        raise error from None


def check_cache_folder() -> None:
    """Raise :class:`CacheFolderError` now when the cached sample is not built and its folder
    cannot be made or written (a read-only home folder, as under systemd's
    ``ProtectHome=read-only``): a run tells it before it makes its own folder."""
    target = sample_run_path()
    if (target / "usage.parquet").exists():
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise (_cache_write_error(target.parent, exc) or exc) from None
    if not os.access(target.parent, os.W_OK | os.X_OK):  # also a read-only file system's
        raise _unwritable_cache(target.parent, "this user cannot write there")


CACHE_ELSEWHERE = "set BEDROCK_FINOPS_CACHE (or XDG_CACHE_HOME) to a folder"


def _cache_write_error(root: Path, exc: BaseException) -> CacheFolderError | None:
    """What a failure to write the cache folder ``root`` says: no room there, or no writing
    there, and to cache elsewhere (not ``--out``: the run folder is not where it failed);
    None for another failure."""
    from bedrock_finops.disk_space import disk_full, no_room
    from bedrock_finops.ingest import NoRoomForTables

    if isinstance(exc, NoRoomForTables):
        return _full_cache(root, exc.no_room)
    if not isinstance(exc, OSError):
        return None
    if disk_full(exc):
        return _full_cache(root, no_room(exc))
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return _unwritable_cache(root, exc.strerror or "it cannot be written")
    return None


def _full_cache(root: Path, why: str) -> CacheFolderError:
    return CacheFolderError(
        f"{why} in {root}, where the embedded sample is generated and cached: free space "
        f"there, or {CACHE_ELSEWHERE} on a disk with room"
    )


def _unwritable_cache(root: Path, why: str) -> CacheFolderError:
    return CacheFolderError(
        f"cannot cache the embedded sample in {root} ({why}); {CACHE_ELSEWHERE} this user can "
        "write to"
    )


def _build_sample_run(target: Path) -> Path:
    """Generate and ingest the embedded sample into ``target`` (see ``default_sample_run``)."""
    from datetime import date

    from bedrock_finops import ingest, sample

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sample-", dir=target.parent))
    try:
        params = dict(SAMPLE_DEFAULTS, start=date.fromisoformat(SAMPLE_DEFAULTS["start"]))
        sample.generate(work / "sample", **params)
        ingest.ingest_to_folder(work / "sample" / "logs", work, progress=False)
        shutil.copy(work / "sample" / "truth.json", work / "truth.json")
        from bedrock_finops import billing_inputs

        billing_inputs.collect({"cur": "sample"}, work, log=lambda *_: None)
        shutil.rmtree(work / "sample")
        try:
            work.rename(target)
        except OSError:  # another process finished first: use theirs
            shutil.rmtree(work, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def prune_stale_sample_runs(keep: Path, days: float = STALE_CACHE_DAYS) -> list[Path]:
    """Remove cached sample runs other than ``keep`` not used for ``days``; returns them."""
    cutoff = time.time() - days * 86400
    removed = []
    for path in sorted(keep.parent.glob("sample-run-*")):
        if path != keep and path.is_dir() and path.stat().st_mtime < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@dataclass
class RunContext:
    """The ingested run a notebook analyses, with its prices."""

    run_dir: Path
    catalog: Any  # bedrock_finops.pricing.PriceCatalog
    show_prompt_text: bool = False
    user_text: bool = True  # False: usage without the user turns (see open_run)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def usage(self) -> pd.DataFrame:
        return read_usage(self.run_dir / "usage.parquet", user_text=self.user_text)

    @cached_property
    def user_text_column(self) -> ParquetColumn:
        """The user turns, read from ``usage.parquet`` a row group at a time when asked for
        (pass it as ``user_text=`` where ``usage`` was opened without them)."""
        return ParquetColumn(self.run_dir / "usage.parquet", "user_text")

    @cached_property
    def priced(self) -> pd.DataFrame:
        """``catalog.price(usage)``: per-row costs aligned to ``usage``."""
        return self.catalog.price(self.usage)

    @cached_property
    def prompts(self) -> pd.DataFrame:
        path = self.run_dir / "prompts.parquet"
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()

    @cached_property
    def quarantine(self) -> pd.DataFrame:
        path = self.run_dir / "quarantine.parquet"
        return pd.read_parquet(path) if path.exists() else pd.DataFrame()

    @cached_property
    def ingest_report(self) -> dict[str, Any]:
        path = self.run_dir / "ingest_report.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @cached_property
    def truth(self) -> dict[str, Any] | None:
        """The sample's planted truths when this run is the embedded sample, else None."""
        path = self.run_dir / "truth.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    @property
    def window(self) -> tuple[str | None, str | None]:
        """The window the table was read for (the ingest's ``--start`` and ``--end``, a run's
        ``run.start`` and ``run.end``), as ``ingest_report.json`` records it: None for an end
        not given."""
        report = self.ingest_report
        return report.get("start"), report.get("end")

    @property
    def period(self) -> dict[str, Any]:
        """The records' period and the days its per-day and monthly figures divide by: the
        window's length where the records cover it (see ``findings.period_of``)."""
        return findings_mod.period_of(self.usage, *self.window)

    @property
    def total_usd(self) -> float:
        """All priced spend in the period (unpriced rows are counted separately, never $0):
        NaN when no request is priced, as the key figures read it ('unpriced')."""
        return findings_mod.priced_total(self.priced["cost_usd"])

    def save(self, result: findings_mod.Findings, effects: pd.DataFrame | None, name: str) -> Path:
        """Write ``<name>.findings.json`` (+ effects) into the run folder; returns the JSON path."""
        path, _ = findings_mod.write(result, effects, self.run_dir, name)
        return path


def open_run(
    run_dir: str | Path = "",
    *,
    price_sheet: str = "current",
    price_overrides: str = "",
    discount_pct: float = 0.0,
    show_prompt_text: bool = False,
    user_text: bool = True,
) -> RunContext:
    """Open an ingested run folder (empty: the cached embedded sample) with a price catalog.

    ``user_text=False``: a notebook that never reads the user turns loads the usage table
    without them, ~3 GB less for a month of a million requests.
    """
    from bedrock_finops.pricing import PriceCatalog

    path = Path(run_dir) if run_dir else default_sample_run()
    if not (path / "usage.parquet").exists():
        raise FileNotFoundError(
            f"{path} holds no usage.parquet. Point run_dir at a run folder written by "
            "`bedrock-finops run` or `bedrock-finops ingest`, or leave it empty for the sample."
        )
    catalog = PriceCatalog.load(
        sheet=price_sheet, overrides=price_overrides or None, discount_pct=discount_pct
    )
    return RunContext(
        run_dir=path, catalog=catalog, show_prompt_text=show_prompt_text, user_text=user_text
    )


def key_figures(figures: dict[str, Any]) -> None:
    """Print key figures as plain rounded text, one per line (nbval compares this output)."""
    width = max((len(k) for k in figures), default=0)
    for label, value in figures.items():
        print(f"{label:<{width}}  {format_value(value)}")


def format_value(value: Any) -> str:
    """Plain text for a key figure: floats (dollars, percentages, shares) to two decimals,
    thousands separated, one under 0.01 that is not zero to two significant digits (a run of
    one request's $0.00023 reads 0.00023, not 0.00), float noise 0.00 (never "-0.00"); NaN
    (an unpriced cost) reads "unpriced", never 0."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float) and value != value:
        return "unpriced"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return figure(value)
    return str(value)


class FullText:
    """A table shown with every cell's whole text: pandas cuts a cell at
    ``display.max_colwidth`` characters, and a cut assumption cannot be checked."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def _repr_html_(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return self.frame._repr_html_()

    def __repr__(self) -> str:
        with pd.option_context("display.max_colwidth", None):
            return repr(self.frame)


def assumptions_table(assumptions: dict[str, Any]) -> FullText:
    """Assumptions as a two-column table to show next to the results they produce, uncut;
    a date (a price sheet's ``as_of``) shows as the day."""
    rows = [(k, _assumption_text(v)) for k, v in assumptions.items()]
    return FullText(pd.DataFrame(rows, columns=["assumption", "value"]).set_index("assumption"))


def _assumption_text(value: Any) -> Any:
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return json.dumps(value, default=str)


def redact(text: str | None, show: bool) -> str | None:
    """Prompt text only when the analyst asked for it (``show_prompt_text``)."""
    if show or text is None:
        return text
    return f"[redacted: {len(text):,} chars]"


NO_SYSTEM_PROMPT = "(no system prompt)"
TEXT_NOT_KEPT = "(text not in prompts.parquet)"


def template_prompts(templates: Iterable[str], texts: dict[str, str], show: bool) -> list[str]:
    """Each prompt template's system prompt as a table shows it (redacted unless ``show``):
    the template of requests without one says so, and a template whose text the run's
    ``prompts.parquet`` lacks says that, where both read as an empty ``NaN`` before."""
    return [_template_prompt(t, texts, show) for t in templates]


def _template_prompt(template: str, texts: dict[str, str], show: bool) -> str:
    if template == NO_TEMPLATE:
        return NO_SYSTEM_PROMPT
    text = texts.get(template)
    return TEXT_NOT_KEPT if text is None else str(redact(text, show))


def read_billing(run_dir: str | Path) -> pd.DataFrame | None:
    """The run's billed Bedrock line items (``billing.parquet``), or None when not configured."""
    path = Path(run_dir) / "billing.parquet"
    return pd.read_parquet(path) if path.exists() else None


def display_float(value: float) -> str:
    """How notebooks show floats in tables: as key figures show them (``amounts.figure``): to
    the cent, a figure under a cent that is not zero to two significant digits (0.0074), float
    noise as 0.00. Prices are shown as text per 1M tokens (``price_display``)."""
    return "NaN" if value != value else figure(value)
