"""``bedrock-finops batch-export``: the run's eligible traffic as ready batch jobs.

It plans with the run's own settings (its ``manifest.json``; flags override), writes the jobs
with ``batch_inference.export_jobs``, checks every input before a file is written, lists each
job (a held one with why), and uploads and submits only with ``--apply``.
"""

from __future__ import annotations

import contextlib
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
)
from bedrock_finops.batch_records import PLACEHOLDER_USER_TEXT
from bedrock_finops.batch_submit import (
    MAYBE_CREATED,
    NOT_ENDED_STATUSES,
    InputLocation,
    bedrock_clients,
    billed_again,
    create_jobs,
    foreign_objects_error,
    input_location,
    look_up_jobs,
    plan_submissions,
    request_for_attempt,
    upload_job,
)
from bedrock_finops.findings import days_text
from bedrock_finops.pricing import check_discount_pct


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch-export",
        help="write ready batch inference jobs for the eligible segments (submit with --apply)",
        description=(
            "Score a run's segments for batch inference, write JSONL inputs and "
            "create_model_invocation_job requests for the eligible ones, and optionally upload "
            "and submit them (dry run unless --apply; jobs that already exist are skipped, and "
            "one that ended without processing its records is reported, and submitted anew "
            "only with --resubmit). "
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
    p.add_argument(
        "--resubmit",
        action="store_true",
        help=(
            "submit anew, as <job>-r2 (then -r3, ...), each job whose last submission ended "
            "without processing its records (Failed, Stopped, Expired, PartiallyCompleted; "
            "one Stopping once it has stopped); records it processed are billed again. Without "
            "it they are reported and the command exits 1"
        ),
    )
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


TABLE_COLUMNS = ["jobName", "region", "records", "status", "action", "jobArn"]


def submission_table(
    pending: Sequence[PendingJob], submitted: Sequence[dict[str, Any]]
) -> pd.DataFrame:
    """One row per exported job: jobName (as submitted: a resubmission's own), region,
    records, status (Bedrock's; "-" where there is no job, "unchecked" where it was not
    asked), action, jobArn. ``submitted`` holds the rows (``batch_submit.SUBMISSION_COLUMNS``)
    of the jobs not held, in the same order, or of those settled so far (the rest then read
    ``not-created``); a held job's action says why it is held."""
    done = iter(submitted)
    rows = []
    for job in pending:
        row = {"jobName": job.name, "region": job.region, "records": job.records}
        if job.held:
            row.update(status="-", action=job.held, jobArn="")
            rows.append(row)
            continue
        settled = next(done, None)
        if settled is None:
            row.update(status="-", action="not-created", jobArn="")
        elif settled["job"] != job.name:
            raise ValueError(f"submitted {settled['job']!r} where {job.name!r} was expected")
        else:
            row.update(
                jobName=settled["jobName"],
                status=settled["status"],
                action=settled["action"],
                jobArn=settled["jobArn"] or "",
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


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


def _cost_line(bp: Any, catalog: Any, left_out: Sequence[tuple[str, set[str]]] = ()) -> str:
    """What the requests to submit cost on demand and would cost in batch, with the prices:
    the sheet, the overrides file when one replaces some of its rows, and the discount.
    ``left_out``: (which jobs, their request IDs) of the jobs not submitted now (held, submitted
    before, unfinished): their requests are not counted, and are told apart."""
    rows = bp.rows
    not_counted = []
    for which, ids in left_out:
        mine = rows["request_id"].isin(ids)
        not_counted.append(
            f"{_count(int(mine.sum()), 'request')} in {which} "
            f"(${rows.loc[mine, 'current_usd'].sum():,.2f} on demand, "
            f"${rows.loc[mine, 'batch_usd'].sum():,.2f} in batch)"
        )
        rows = rows[~mine]
    as_of = bp.catalog_info.get("price_sheet_as_of") or "undated"  # the rows that priced it
    overrides = f" and the overrides in {catalog.overrides}" if catalog.overrides else ""
    prices = (
        f"priced with the sheet {catalog.sheet_name!r}{overrides} (as of {as_of}, discount "
        f"{catalog.discount_pct:g}%)"
    )
    if not_counted and rows.empty:
        return f"nothing to submit: {'; '.join(not_counted)}, {prices}"
    days = days_text(bp.period.get("days") or 0)
    cost = (
        f"the {len(rows):,} requests {'to submit' if not_counted else 'moved'} cost "
        f"${rows['current_usd'].sum():,.2f} on demand over the logged {days} days; in batch "
        f"${rows['batch_usd'].sum():,.2f} (saving ${rows['savings_usd'].sum():,.2f}), {prices}"
    )
    return f"{cost}; not counted: {'; '.join(not_counted)}" if not_counted else cost


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# the jobs this command does not submit, by their action: how the cost line names them
_NOT_SUBMITTED = {
    "exists": ("job submitted before", "jobs submitted before"),
    "unfinished": ("unfinished job (below)", "unfinished jobs (below)"),
}


def not_submitted(
    pending: Sequence[PendingJob], plan: Sequence[dict[str, Any]]
) -> list[tuple[str, set[str]]]:
    """(which jobs, their request IDs) for the jobs held, submitted before, and unfinished
    (``plan``: ``plan_submissions``'s rows for the jobs not held, in order)."""
    ready = [job for job in pending if not job.held]
    groups: dict[tuple[str, str], list[PendingJob]] = {
        ("held job", "held jobs"): [job for job in pending if job.held]
    }
    for action, names in _NOT_SUBMITTED.items():
        groups[names] = [
            job for job, step in zip(ready, plan, strict=True) if step["action"] == action
        ]
    out = []
    for (one, many), jobs in groups.items():
        if jobs:
            ids = set().union(*(_request_ids(job) for job in jobs))
            out.append((f"{len(jobs):,} {one if len(jobs) == 1 else many}", ids))
    return out


def _request_ids(job: PendingJob) -> set[str]:
    """The request IDs of a job's records (its ``records.csv``)."""
    table = pd.read_csv(job.directory / "records.csv", usecols=["request_id"], dtype=str)
    return set(table["request_id"])


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
    pending = pending_jobs(jobs, quotas.min_records_per_job)
    ready = [job for job in pending if not job.held]
    lookup = look_up(ready, apply=args.apply)
    plan = plan_submissions(
        [job.request for job in ready],
        [job.region for job in ready],
        lookup.attempts,
        resubmit=args.resubmit,
    )
    inputs = InputsSeen({}, {})
    if not args.apply and lookup.credentials:  # read-only: what --apply would find in S3
        inputs = look_at_inputs(ready, plan)
    cost = _cost_line(bp, ctx.catalog, not_submitted(pending, plan))
    if inputs.blocked:
        cost += (
            f"; but --apply would submit none of them while {_count(len(inputs.blocked), 'job')} "
            "stay refused for other objects in the S3 input location (below)"
        )
    print(cost)
    for line in _cadence_lines(bp):
        print(line)
    if args.apply:
        settled = upload_and_create(pending, plan, lookup.clients)
    else:
        settled = refused_rows(plan, inputs.blocked, apply=False)
    print(submission_table(pending, settled).to_string(index=False))
    held = [job for job in pending if job.held]
    for job in held:
        for line in held_lines(job):
            print(line)
    unfinished = []
    for i, (job, step, row) in enumerate(zip(ready, plan, settled, strict=True)):
        if step["action"] == "would-resubmit":
            print(f"{row['jobName']}: {row['detail']}")
        elif row["action"] == "unfinished":
            unfinished.append(row)
            for line in unfinished_lines(job, row, lookup.attempts[i] if lookup.attempts else []):
                print(line)
    if not args.apply:
        for line in s3_preview_lines(plan, inputs):
            print(line)
        if lookup.unchecked:
            print(lookup.unchecked)
        notes = [f"{len(held)} of {len(pending)} jobs held back (above)"] if held else []
        if unfinished:
            notes.append(f"{_count(len(unfinished), 'job')} unfinished (above)")
        if inputs.blocked:
            whose = "its" if len(inputs.blocked) == 1 else "their"
            notes.append(
                f"{_count(len(inputs.blocked), 'job')} refused for other objects in {whose} S3 "
                "input location (above): --apply would create none"
            )
        note = "".join(f"; {n}" for n in notes)
        print(f"dry run: nothing uploaded or submitted (add --apply){note}")
        return 0
    if held:
        names = ", ".join(job.name for job in held)
        print(
            f"{len(held)} of {len(pending)} jobs not submitted ({names}): see above for why "
            "and how to submit them",
            file=sys.stderr,
        )
    if unfinished:
        names = ", ".join(f"{row['jobName']}: {row['status']}" for row in unfinished)
        stopping = all(row["status"] == "Stopping" for row in unfinished)
        what = "when to run again" if stopping else "how to resubmit them"
        print(
            f"{len(unfinished)} of {len(pending)} jobs did not process their records ({names}): "
            f"see above for why and {what}",
            file=sys.stderr,
        )
    return 1 if held or unfinished else 0


@dataclass
class JobLookup:
    """The ready jobs' submissions so far, as Bedrock lists them, and its clients."""

    clients: dict[str | None, Any]
    attempts: list[list[dict[str, Any]]] | None  # None: not looked up (a dry run that could not)
    unchecked: str = ""  # the line saying why not
    credentials: bool = True  # False: a dry run without AWS credentials, which asks nothing


def look_up(ready: Sequence[PendingJob], *, apply: bool) -> JobLookup:
    """Ask Bedrock (read only: ``ListModelInvocationJobs``) which of the ready jobs exist and
    how they stand. ``--apply`` must know, and stops on an error (one naming the permission
    when access is denied); a dry run looks when it can, and says why not when it cannot (no
    credentials; no permission, which --apply needs; no network)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from bedrock_finops.batch_submit import BatchSubmitError
    from bedrock_finops.sources.source_errors import SourceError

    requests, regions = [job.request for job in ready], [job.region for job in ready]
    if not ready:
        return JobLookup({}, [])
    if apply:
        clients = bedrock_clients(regions)
        return JobLookup(clients, look_up_jobs(requests, regions, clients))
    try:
        if boto3.session.Session().get_credentials() is None:
            not_asked = (
                "status unchecked: Bedrock was not asked which of these jobs exist (no AWS "
                "credentials); --apply asks first, and creates only those that do not"
            )
            return JobLookup({}, None, not_asked, credentials=False)
        clients = bedrock_clients(regions)
        return JobLookup(clients, look_up_jobs(requests, regions, clients))
    except (BotoCoreError, ClientError, BatchSubmitError, SourceError) as exc:
        return JobLookup({}, None, _lookup_failed_line(exc))


def _lookup_failed_line(exc: Exception) -> str:
    """What a dry run says when Bedrock was asked which jobs exist and did not say: refused
    (--apply needs the permission, and fails without it), or the error."""
    from botocore.exceptions import ClientError

    from bedrock_finops.batch_submit import ACCESS_DENIED_CODES

    cause = exc.__cause__ if isinstance(exc.__cause__, ClientError) else exc
    said = _error_said(cause)
    if getattr(cause, "response", {}).get("Error", {}).get("Code") in ACCESS_DENIED_CODES:
        return (
            f"status unchecked: Bedrock refused to say which of these jobs exist ({said}): "
            "--apply needs bedrock:ListModelInvocationJobs, and fails without it"
        )
    return (
        f"status unchecked: asking Bedrock which of these jobs exist failed ({said}); --apply "
        "asks first, and stops if that fails"
    )


def _error_said(exc: BaseException) -> str:
    """An AWS error in a few words: its code and message."""
    error = getattr(exc, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(exc).__name__}: {exc}"


def upload_and_create(
    pending: Sequence[PendingJob], plan: Sequence[dict[str, Any]], clients: dict[str | None, Any]
) -> list[dict[str, Any]]:
    """Upload the inputs of each job ``plan`` creates, just before creating it (``upload_job``:
    its S3 input location then holds exactly its files). First every such location is looked
    at: when one holds an object that is not its job's, no job is created (the table says which
    are refused, the error names each). When an error or Ctrl-C stops this part way, print
    what was done (the jobs created, the S3 objects written) and what was not, then let the
    error go on."""
    import boto3

    ready = [job for job in pending if not job.held]
    s3: list[Any] = []  # made for the first look at an input location
    if any(step["request"] is not None for step in plan):
        s3.append(boto3.client("s3"))
        blocked = look_at_inputs(ready, plan, s3[0], strict=True).blocked
        if blocked:
            rows = refused_rows(plan, blocked, apply=True)
            print(submission_table(pending, rows).to_string(index=False), flush=True)
            raise foreign_objects_error(
                [(plan[i]["request"]["jobName"], where) for i, where in blocked.items()]
            )
    writes: list[tuple[str, str, str]] = []  # (job name as submitted, uploaded|deleted, URI)
    log: list[dict[str, Any]] = []

    def upload(i: int, request: dict[str, Any]) -> None:
        job, name = ready[i], request["jobName"]
        exported = ExportedJob(
            name, job.directory, job.files, job.records, 0, False, request, job.region
        )
        upload_job(s3[0], exported, lambda what, uri: wrote(name, what, uri))

    def wrote(name: str, what: str, uri: str) -> None:
        writes.append((name, what, uri))
        if what == "deleted":  # said as it happens: the table comes once every job is done
            print(f"{name}: deleted {uri}, an input file an earlier upload left (another split)")

    try:
        return create_jobs(plan, clients, before_create=upload, log=log)
    except BaseException:
        with contextlib.suppress(OSError):  # a closed stdout: the error still goes on
            for line in stopped_lines(pending, plan, log, writes):
                print(line, flush=True)
        raise


def stopped_lines(
    pending: Sequence[PendingJob],
    plan: Sequence[dict[str, Any]],
    log: Sequence[dict[str, Any]],
    writes: Sequence[tuple[str, str, str]],
) -> list[str]:
    """What ``--apply`` did before it stopped (``log``: the rows settled, a create that got
    no answer as ``MAYBE_CREATED``; ``writes``: the S3 objects written) and what it did not."""
    settled = list(log)
    maybe = [row for row in log if row["action"] == MAYBE_CREATED]
    if len(log) < len(plan) and not maybe:
        step = {k: v for k, v in plan[len(log)].items() if k != "request"}
        settled.append({**step, "action": "stopped-here", "status": "-", "jobArn": None})
    created = [row for row in log if row["action"] in ("created", "resubmitted")]
    to_create = [step for step in plan if step["request"] is not None]
    stopped_at = bool(settled) and settled[-1]["action"] in ("stopped-here", MAYBE_CREATED)
    where = f" at {settled[-1]['jobName']}" if stopped_at else ""
    unsure = f", {len(maybe):,} may have been created" if maybe else ""
    lines = [
        submission_table(pending, settled).to_string(index=False),
        f"stopped{where}: created {len(created):,} of the {len(to_create):,} jobs to create "
        f"(ARNs above){unsure}, {len(to_create) - len(created) - len(maybe):,} not created",
    ]
    lines += [maybe_created_line(row) for row in maybe]
    made = {row["jobName"] for row in created}
    unknown = {row["jobName"] for row in maybe}
    for name, what, uri in writes:
        job = "job created" if name in made else "job not created"
        lines.append(f"  {what} {uri} ({'job may have been created' if name in unknown else job})")
    lines.append(
        "once the cause (below) is fixed, run the same command again: a job created is found "
        "and not created twice; a job's S3 inputs are checked and uploaded again before it is"
    )
    return lines


def maybe_created_line(row: dict[str, Any]) -> str:
    """What to know of a job whose create was sent and got no answer: Bedrock may have made
    it, how to see whether it did, and that a run again does not make it twice."""
    name = row["jobName"]
    region = f" --region {row['region']}" if row.get("region") else ""
    return (
        f"{name}: may have been created: its create was sent and Bedrock did not answer; see "
        f"whether it was with `aws bedrock list-model-invocation-jobs --name-contains "
        f"{name}{region}`. A run again finds it; one not yet listed, Bedrock does not make twice "
        "(it ignores a create with the clientRequestToken it made the job for)"
    )


_UNFINISHED = {
    "Failed": ("failed", "fix the cause, then run again with --resubmit"),
    "Stopped": (
        "was stopped before it processed all of its records",
        "to run them after all, run again with --resubmit",
    ),
    "Expired": (
        "expired: it was scheduled but did not start within its timeout",
        "run again with --resubmit (and a longer --timeout-hours, at most 168, if the queue "
        "was long)",
    ),
    "PartiallyCompleted": (
        "ended with only part of its records processed",
        "to run the rest, run again with --resubmit",
    ),
}


def unfinished_lines(
    job: PendingJob, row: dict[str, Any], done: Sequence[dict[str, Any]]
) -> list[str]:
    """Why a job that did not process its records is not done (its last submission's status,
    ARN and message), and how to submit it anew (``--resubmit``: its next attempt's name, where
    its inputs go, and the records it bills a second time); for a job being stopped, to wait
    until it has stopped."""
    last = done[-1] if done else {}
    status = row["status"]
    detail = f": {row['detail']}" if row["detail"] else ""
    who = "the job" if row["jobName"] == job.name else f"its resubmission {row['jobName']}"
    if status in NOT_ENDED_STATUSES:
        why = "is being stopped: it will not process its remaining records"
        fix = (
            "wait until its status is Stopped, then run again: --resubmit does not submit a job "
            "anew while it is being stopped (it is billed for the records it has processed, and "
            "a new job would bill them again)"
        )
        return [f"{job.name}: not done: {who} ({row['jobArn']}) {why}{detail}", f"  {fix}"]
    nxt = request_for_attempt(job.request, len(done) + 1)
    reads = nxt["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
    why, then = _UNFINISHED.get(status, (f"is {status}", "run again with --resubmit"))
    fix = (
        f"{then}: it submits all {_count(job.records, 'record')} anew as {nxt['jobName']}, "
        f"reading {reads}"
    )
    again = billed_again(last)
    if again:
        output = last.get("outputDataConfig", {}).get("s3OutputDataConfig", {}).get("s3Uri", "")
        fix += (
            f", and {again}; to pay only for the rest, submit the records without a result in "
            f"{output or 'its output'} yourself"
        )
    return [f"{job.name}: not done: {who} ({row['jobArn']}) {why}{detail}", f"  {fix}"]


@dataclass
class InputsSeen:
    """The S3 input location of each job a plan creates, as looked at (by the plan row's
    index), and each one that could not be, with why."""

    locations: dict[int, InputLocation]
    unread: dict[int, str]

    @property
    def blocked(self) -> dict[int, InputLocation]:
        """The locations holding an object that is not their job's: --apply creates no job."""
        return {i: where for i, where in self.locations.items() if where.foreign}


def look_at_inputs(
    ready: Sequence[PendingJob],
    plan: Sequence[dict[str, Any]],
    s3: Any = None,
    *,
    strict: bool = False,
) -> InputsSeen:
    """Look (read only: ``ListObjectsV2``) at the S3 input location of each job ``plan``
    creates: the input files an earlier upload left there, and any other object. ``strict``
    (--apply): a location that cannot be listed raises; else it is said in ``unread``."""
    import boto3
    from botocore.exceptions import BotoCoreError

    from bedrock_finops.batch_submit import BatchSubmitError
    from bedrock_finops.sources.source_errors import SourceError

    seen = InputsSeen({}, {})
    for i, (job, step) in enumerate(zip(ready, plan, strict=True)):
        request = step["request"]
        if request is None:
            continue
        uri = request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        try:
            s3 = s3 or boto3.client("s3")
            seen.locations[i] = input_location(s3, uri, [path.name for path in job.files])
        except (BotoCoreError, BatchSubmitError, SourceError) as exc:
            if strict:
                raise
            seen.unread[i] = str(exc)
    return seen


def refused_rows(
    plan: Sequence[dict[str, Any]], blocked: dict[int, InputLocation], *, apply: bool
) -> list[dict[str, Any]]:
    """The rows of ``plan`` (without its requests) as --apply leaves them when the S3 input
    locations ``blocked`` (by row) hold objects not their jobs': it creates no job, so each
    blocked one reads refused, with why, and each other one to create is not created. A dry
    run (``apply`` False) says what --apply would do."""
    rows = []
    for i, step in enumerate(plan):
        row = {k: v for k, v in step.items() if k != "request"}
        if blocked and step["request"] is not None:
            verb = "create" if step["action"] == "would-create" else "resubmit"
            if i in blocked:
                said = _count(len(blocked[i].foreign), "other object")
                refused = "refused" if apply else "would-refuse"
                row["action"] = f"{refused}: its S3 input location holds {said}"
            else:
                row["action"] = f"not-{verb}d" if apply else f"would-not-{verb}"
        rows.append(row)
    return rows


def s3_preview_lines(plan: Sequence[dict[str, Any]], inputs: InputsSeen) -> list[str]:
    """What ``--apply`` would find in the S3 input location of each job it would create
    (``look_at_inputs``): input files an earlier upload left, which it would delete, or other
    objects, for which it would create no job."""
    from bedrock_finops.batch_submit import FOREIGN_FIX

    lines = []
    for i, step in enumerate(plan):
        if i not in inputs.locations and i not in inputs.unread:
            continue  # nothing to create, or not looked at all
        request = step["request"]
        name, uri = request["jobName"], request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"]
        if i in inputs.unread:
            lines.append(
                f"{name}: {uri} not looked at ({inputs.unread[i]}); --apply looks there before "
                "it creates any job, and stops if it cannot"
            )
            continue
        where = inputs.locations[i]
        if where.foreign:
            lines.append(
                f"{name}: --apply would refuse it, and create no job: {where.foreign_text(name)}. "
                f"{FOREIGN_FIX}"
            )
        if where.stale:
            files = ", ".join(key.rpartition("/")[2] for key in where.stale)
            lines.append(
                f"{name}: --apply would delete {_count(len(where.stale), 'input file')} an "
                f"earlier upload left in {uri} (the same records split another way): {files}"
            )
    return lines
