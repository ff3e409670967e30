"""``bedrock-finops batch-export``: the run's eligible traffic as ready batch jobs.

It plans with the run's own settings (its ``manifest.json``; flags override), writes the jobs
with ``batch_inference.export_jobs``, checks every input before a file is written, lists each
job (a held one with why), and uploads and submits only with ``--apply``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.batch_jobs import (
    BatchQuotas,
    ExportedJob,
    check_role_arn,
    check_s3_prefix,
    check_timeout_hours,
    job_quotas,
    submit_jobs,
    upload_job,
)
from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT
from bedrock_finops.findings import days_text
from bedrock_finops.pricing import check_discount_pct


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch-export",
        help="write ready batch inference jobs for the eligible segments (submit with --apply)",
        description=(
            "Score a run's segments for batch inference, write JSONL inputs and "
            "create_model_invocation_job requests for the eligible ones, and optionally upload "
            "and submit them (dry run unless --apply; jobs that already exist are skipped). "
            "An option not given takes the run's own setting (its manifest.json), else the "
            "02_batch_inference notebook's default (timeout 24 h, 100 to 50,000 records a job)."
        ),
    )
    p.add_argument(
        "--run",
        "--run-dir",
        dest="run_dir",
        default="",
        help="run folder with usage.parquet (empty: sample)",
    )
    p.add_argument("--out", required=True, help="local folder for the job files")
    p.add_argument("--role-arn", required=True, help="service role Bedrock assumes for the job")
    p.add_argument("--s3-prefix", required=True, help="s3://bucket/prefix the jobs read and write")
    # unset, each of these is the run's own setting (its manifest), so the export is the one
    # its 02_batch_inference notebook showed; else the notebook's default
    p.add_argument("--price-sheet", help="current, seed or a CSV path")
    p.add_argument("--price-overrides", help="CSV of your negotiated prices")
    p.add_argument("--discount-pct", type=float, help="flat negotiated discount, percent")
    p.add_argument("--force-in", nargs="*", help="apps or segment ids to include")
    p.add_argument("--force-out", nargs="*", help="apps or segment ids to exclude")
    p.add_argument("--timeout-hours", type=int, help="job timeout, 24-168")
    p.add_argument("--min-records", type=int, help="minimum records per job")
    p.add_argument("--max-records", type=int, help="records per job")
    p.add_argument("--max-file-records", type=int, help="records per input file")
    p.add_argument("--apply", action="store_true", help="upload the inputs and create the jobs")
    p.set_defaults(func=_cmd_export)


def placeholder_records(files: Sequence[Path]) -> dict[Path, int]:
    """Each of a job's input files that still holds records with a placeholder user turn, and
    how many: submitted, the model would answer the placeholder. Read a line at a time (an
    input file can be 1 GB; a record is one line)."""
    needle = PLACEHOLDER_USER_TEXT.encode()
    found: dict[Path, int] = {}
    for path in files:
        with path.open("rb") as fh:
            count = sum(needle in line for line in fh)
        if count:
            found[path] = count
    return found


def _records(n: int, verb: tuple[str, str] | None = None) -> str:
    """``"1 record holds"`` / ``"5 records hold"``: ``verb`` is (singular, plural)."""
    text = f"{n:,} record{'' if n == 1 else 's'}"
    return text if verb is None else f"{text} {verb[n != 1]}"


@dataclass
class PendingJob:
    """An exported job and, when it is held back from submission, why (``held``)."""

    name: str
    directory: Path
    request: dict[str, Any]
    region: str | None
    records: int
    min_records: int
    below_min_records: bool
    files: list[Path] = field(default_factory=list)  # the input files the export wrote
    placeholders: dict[Path, int] = field(default_factory=dict)  # input file: records

    @property
    def held(self) -> str:
        """The table's action for a held job ("held: ..."), empty for a job to submit."""
        reasons = []
        if self.below_min_records:
            reasons.append(
                f"{_records(self.records)}, under the minimum of {self.min_records:,} a job"
            )
        if self.placeholders:
            n = sum(self.placeholders.values())
            reasons.append(f"{_records(n, ('holds', 'hold'))} a placeholder user turn")
        return f"held: {'; '.join(reasons)}" if reasons else ""


def pending_jobs(jobs: pd.DataFrame, min_records: int) -> list[PendingJob]:
    """The exported jobs (``export_jobs``'s table), each with its request and what holds it
    back: under the minimum records a job (Bedrock would reject it), or a placeholder user
    turn in its input files (the model would answer the placeholder)."""
    out = []
    for job in jobs.itertuples(index=False):
        directory = Path(job.directory)
        spec = json.loads((directory / "job.json").read_text())
        files = [directory / "input" / name for name in spec["inputFiles"]]
        out.append(
            PendingJob(
                name=job.job_name,
                directory=directory,
                request=json.loads((directory / "request.json").read_text()),
                region=job.region,
                records=int(job.records),
                min_records=min_records,
                below_min_records=bool(job.below_min_records),
                files=files,
                placeholders=placeholder_records(files),
            )
        )
    return out


def submission_table(pending: Sequence[PendingJob], submitted: pd.DataFrame) -> pd.DataFrame:
    """One row per exported job: jobName, region, records, action, jobArn. ``submitted`` is
    ``submit_jobs``'s table for the jobs not held, in the same order; a held job's action
    says why it is held."""
    done = iter(submitted.to_dict("records"))
    rows = []
    for job in pending:
        if job.held:
            action, arn = job.held, ""
        else:
            row = next(done)
            if row["jobName"] != job.name:
                raise ValueError(f"submitted {row['jobName']!r} where {job.name!r} was expected")
            action, arn = row["action"], row["jobArn"] or ""
        rows.append(
            {
                "jobName": job.name,
                "region": job.region,
                "records": job.records,
                "action": action,
                "jobArn": arn,
            }
        )
    return pd.DataFrame(rows, columns=["jobName", "region", "records", "action", "jobArn"])


def held_lines(job: PendingJob) -> list[str]:
    """Why a held job is not submitted, and how to get it submitted."""
    lines = []
    if job.below_min_records:
        lines.append(
            f"{job.name}: not submitted: {_records(job.records)}, under the minimum of "
            f"{job.min_records:,} a job (Bedrock rejects a smaller job). Export a longer period, "
            "or pass --min-records if your account's quota is lower"
        )
    if job.placeholders:
        n = sum(job.placeholders.values())
        lines.append(
            f"{job.name}: not submitted: {_records(n, ('holds', 'hold'))} the placeholder "
            f"{PLACEHOLDER_USER_TEXT!r} where the user turn was not logged, in:"
        )
        for path, count in job.placeholders.items():
            lines.append(f"  {path} ({_records(count)})")
        lines.append(
            "  re-ingest the logs with fetch_large_bodies and export again; or write the turns "
            "into those files in place of the placeholder, upload them and submit the job's "
            "request.json yourself (batch-export writes its files anew on each run)"
        )
    return lines


def _no_jobs_sentence(bp: Any) -> str:
    """Why an export wrote no job."""
    if bp.eligible.empty:
        return (
            "no job written: no segment of this run is eligible for batch inference (none "
            f"scores {bp.params['threshold']:g} or more without a blocker, and none is named "
            "by --force-in); the run's 02_batch_inference notebook shows each one's score"
        )
    if bp.moved.empty:
        return (
            f"no job written: {_segments_stay(len(bp.eligible))} on demand: "
            f"{_kept_reasons(bp.eligible)} (see the run's 02_batch_inference notebook)"
        )
    return "no job written: the moved segments' requests fall in no batch job"


def _segments_stay(n: int) -> str:
    return "the eligible segment stays" if n == 1 else f"the {n:,} eligible segments stay"


def _kept_reasons(eligible: pd.DataFrame) -> str:
    """Why eligible segments stay on demand, with how many stay for each reason."""
    from bedrock_finops.strategies.batch_params import BATCH_NO_CHEAPER, KEEP_CACHING

    reasons = {
        KEEP_CACHING: "prompt caching saves more than batch would",
        BATCH_NO_CHEAPER: "batch is no cheaper at these prices",
    }
    counts = eligible["decision"].value_counts()
    return ", ".join(f"{why} for {counts[d]:,}" for d, why in reasons.items() if d in counts)


def _cost_line(bp: Any, catalog: Any) -> str:
    """What the exported requests cost on demand and would cost in batch, with the prices:
    the sheet, the overrides file when one replaces some of its rows, and the discount."""
    rows = bp.rows
    as_of = bp.catalog_info.get("price_sheet_as_of") or "undated"  # the rows that priced it
    overrides = f" and the overrides in {catalog.overrides}" if catalog.overrides else ""
    return (
        f"the {len(rows):,} requests moved cost ${rows['current_usd'].sum():,.2f} on demand "
        f"over the logged {days_text(bp.period.get('days') or 0)} days; in batch "
        f"${rows['batch_usd'].sum():,.2f} (saving ${rows['savings_usd'].sum():,.2f}), priced "
        f"with the sheet {catalog.sheet_name!r}{overrides} (as of {as_of}, discount "
        f"{catalog.discount_pct:g}%)"
    )


def _cadence_lines(bp: Any) -> list[str]:
    """The jobs written hold the logged period's requests; each segment's own cadence says how
    often to submit its traffic from now on."""
    from bedrock_finops.strategies.batch_findings import job_cadence

    window = bp.params["job_window_days"]
    lines = [
        "these jobs hold the logged period's requests (to test the move on real traffic); "
        "from now on, submit each segment's requests as a job:"
    ]
    for seg in bp.moved.itertuples():
        lines.append(f"  {seg.app} ({seg.segment}): {job_cadence(seg.days_per_job, window)}")
    return lines


# the notebook's parameters the export follows, and the flag that overrides each
_RUN_SETTINGS = {
    "price_sheet": "price_sheet",
    "price_overrides": "price_overrides",
    "discount_pct": "discount_pct",
    "threshold": None,
    "window_hours": None,
    "business_hours": None,
    "business_time_zone": None,
    "job_window_days": None,
    "min_records_per_job": "min_records",
    "max_records_per_job": "max_records",
    "max_records_per_file": "max_file_records",
    "force_in": "force_in",
    "force_out": "force_out",
    "timeout_hours": "timeout_hours",
}
# the notebook's defaults: the settings of a run with no manifest (the sample's folder, an
# ingest --out folder); a run's manifest records what its notebook ran with
_NOTEBOOK_DEFAULTS = {
    "price_sheet": "current",
    "price_overrides": "",
    "discount_pct": 0.0,
    "threshold": 0.6,
    "window_hours": 4,
    "business_hours": [8, 18],
    "business_time_zone": "UTC",
    "job_window_days": 1,
    "min_records_per_job": 100,
    "max_records_per_job": 50_000,
    "max_records_per_file": 50_000,
    "force_in": [],
    "force_out": [],
    "timeout_hours": 24,
}


BATCH_NOTEBOOK = "02_batch_inference"


def export_settings(run_dir: Path, flags: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The settings a CLI export uses, and where they came from: the run's own (what its
    ``02_batch_inference`` notebook ran with, in its ``manifest.json``), else the notebook's
    defaults; a flag given on the command line wins over both."""
    settings = dict(_NOTEBOOK_DEFAULTS)
    origin = "the notebook's defaults (no manifest.json in the run)"
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        settings.update(_runs_settings(json.loads(manifest.read_text())))
        origin = f"the run's own ({manifest})"
    for name, flag in _RUN_SETTINGS.items():
        if flag is not None and flags.get(flag) is not None:
            settings[name] = flags[flag]
    return settings, origin


def _runs_settings(manifest: dict[str, Any]) -> dict[str, Any]:
    """The settings the run's batch notebook ran with (``notebook_params``); from a manifest
    without them (written before they were recorded, or by a run that did not run the
    notebook), the values its params file set in ``common`` and the notebook's section."""
    ran = ((manifest.get("notebook_params") or {}).get(BATCH_NOTEBOOK) or {}).get("parameters")
    if ran is not None:
        return {k: v for k, v in ran.items() if k in _NOTEBOOK_DEFAULTS}
    params = manifest.get("params") or {}
    out: dict[str, Any] = {}
    for section in ("common", BATCH_NOTEBOOK):
        own = dict(params.get(section) or {})
        if "business_hours_utc" in own:  # a run made before business_time_zone existed
            own["business_hours"] = own.pop("business_hours_utc")
            own["business_time_zone"] = "UTC"
        out.update({k: v for k, v in own.items() if k in _NOTEBOOK_DEFAULTS})
    return out


class BatchExportError(ValueError):
    """A ``batch-export`` input that cannot work: the message names the flag (or the run's
    setting) and the fix. Raised before any job file is written."""


def _named(name: str, value: Any, flags: dict[str, Any], from_run: bool = True) -> str:
    """How an error names a setting: the flag as given, else the run's own setting (or the
    notebook's default, for a run without a manifest)."""
    flag = "--" + str(_RUN_SETTINGS[name]).replace("_", "-")
    if flags.get(str(_RUN_SETTINGS[name])) is not None:
        return f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}"
    if not from_run:
        return f"the default {name} {value!r} ({flag} sets it)"
    return f"the run's {name} {value!r} (its manifest.json; {flag} overrides it)"


def check_export_inputs(
    *,
    out: Path,
    role_arn: str,
    s3_prefix: str,
    settings: dict[str, Any],
    flags: dict[str, Any],
    from_run: bool = True,
) -> BatchQuotas:
    """Check what ``batch-export`` was given before it reads the run or writes a job file
    (the job request checks the same, but only once the inputs are written); returns the
    per-job quotas. ``from_run``: the settings not given as flags are the run's own (its
    manifest), not the defaults. Raises :class:`BatchExportError`."""
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise BatchExportError(f"--out {out}: {existing} is a file; give a folder for the jobs")

    def named(key: str) -> str:
        return _named(key, settings[key], flags, from_run)

    try:
        check_role_arn(role_arn, "--role-arn")
        check_s3_prefix(s3_prefix, "--s3-prefix")
        check_timeout_hours(settings["timeout_hours"], named("timeout_hours"))
        check_discount_pct(float(settings["discount_pct"]), named("discount_pct"))
        return job_quotas(settings, named)
    except ValueError as exc:
        raise BatchExportError(str(exc)) from None


def _check_aws_credentials() -> None:
    """``--apply`` uploads and submits: without credentials, say so before writing the jobs."""
    import boto3
    from botocore.exceptions import NoCredentialsError

    if boto3.session.Session().get_credentials() is None:
        raise NoCredentialsError()


def _cmd_export(args: Any) -> int:
    from bedrock_finops.notebook import default_sample_run, open_run, sample_run_path
    from bedrock_finops.strategies import batch_inference as bi

    # the settings and flags are checked before the run is read (or the sample built)
    run_dir = Path(args.run_dir or sample_run_path())
    s, origin = export_settings(run_dir, vars(args))
    quotas = check_export_inputs(
        from_run=(run_dir / "manifest.json").is_file(),
        out=Path(args.out),
        role_arn=args.role_arn,
        s3_prefix=args.s3_prefix,
        settings=s,
        flags=vars(args),
    )
    if args.apply:
        _check_aws_credentials()
    run_dir = Path(args.run_dir) if args.run_dir else default_sample_run()
    print(f"settings: {origin}, flags over them")
    try:
        # the user turns are read from usage.parquet where needed, not held (~3 GB a month)
        ctx = open_run(
            run_dir,
            price_sheet=s["price_sheet"],
            price_overrides=s["price_overrides"],
            discount_pct=s["discount_pct"],
            user_text=False,
        )
        bp = bi.plan(
            ctx.usage,
            ctx.catalog,
            prompts=ctx.prompts,
            priced=ctx.priced,
            threshold=s["threshold"],
            window_hours=s["window_hours"],
            business_hours=s["business_hours"],
            business_time_zone=s["business_time_zone"],
            job_window_days=s["job_window_days"],
            min_records_per_job=quotas.min_records_per_job,
            force_in=s["force_in"],
            force_out=s["force_out"],
            user_text=ctx.user_text_column,
            period=ctx.period,
        )
    except ValueError as exc:  # the run's settings or a flag: the price sheet, force_in, ...
        raise BatchExportError(str(exc)) from exc
    jobs = bi.export_jobs(
        bp,
        ctx.usage,
        ctx.prompts,
        args.out,
        role_arn=args.role_arn,
        s3_prefix=args.s3_prefix,
        quotas=quotas,
        timeout_hours=int(s["timeout_hours"]),
        user_text=ctx.user_text_column,
    )
    if jobs.empty:
        print(_no_jobs_sentence(bp))
        return 0
    print(
        jobs[["job_name", "region", "records", "files", "bytes", "below_min_records"]].to_string()
    )
    print(_cost_line(bp, ctx.catalog))
    for line in _cadence_lines(bp):
        print(line)
    pending = pending_jobs(jobs, quotas.min_records_per_job)
    ready = [job for job in pending if not job.held]
    upload = None
    if args.apply:
        import boto3

        s3 = boto3.client("s3")

        def upload(i: int) -> None:  # only for a job about to be created
            job = ready[i]  # the files this export wrote, as its job.json lists them
            upload_job(
                s3,
                ExportedJob(
                    job.name, job.directory, job.files, 0, 0, False, job.request, job.region
                ),
            )

    result = submit_jobs(
        [job.request for job in ready],
        apply=args.apply,
        regions=[job.region for job in ready],
        before_create=upload,
    )
    print(submission_table(pending, result).to_string(index=False))
    held = [job for job in pending if job.held]
    for job in held:
        for line in held_lines(job):
            print(line)
    if not args.apply:
        note = f"; {len(held)} of {len(pending)} jobs held back (above)" if held else ""
        print(f"dry run: nothing uploaded or submitted (add --apply){note}")
        return 0
    if held:
        names = ", ".join(job.name for job in held)
        print(
            f"{len(held)} of {len(pending)} jobs not submitted ({names}): see above for why "
            "and how to submit them",
            file=sys.stderr,
        )
        return 1
    return 0
