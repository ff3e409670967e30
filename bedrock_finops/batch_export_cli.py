"""``bedrock-finops batch-export``: the run's eligible traffic as ready batch jobs.

It plans with the run's own settings (its ``manifest.json``; flags override), writes the jobs
with ``batch_inference.export_jobs``, checks every input before a file is written, lists each
job (a held one with why), and uploads and submits only with ``--apply``
(``batch_export_submit``).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bedrock_finops.amounts import usd
from bedrock_finops.batch_export_submit import (
    InputsSeen,
    PendingJob,
    counted,
    held_lines,
    look_at_inputs,
    look_up,
    pending_jobs,
    refused_rows,
    s3_preview_lines,
    submission_table,
    unfinished_lines,
    upload_and_create,
)
from bedrock_finops.batch_jobs import (
    BatchQuotas,
    check_role_arn,
    check_s3_prefix,
    check_timeout_hours,
    job_quotas,
)
from bedrock_finops.batch_overlap import (
    KEPT_BACK,
    Overlaps,
    exported_job_requests,
    guard_plan,
    job_request_ids,
)
from bedrock_finops.batch_submit import plan_submissions
from bedrock_finops.findings import days_text
from bedrock_finops.run_settings import (
    RunSettings,
    RunSettingsError,
    check_prices,
    notebook_settings,
)
from bedrock_finops.terminal_text import print_line, print_lines
from bedrock_finops.user_paths import path_argument


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
        type=path_argument,
        help="run folder with usage.parquet (empty: sample)",
    )
    p.add_argument(
        "--out", required=True, type=path_argument, help="local folder for the job files"
    )
    p.add_argument("--role-arn", required=True, help="service role Bedrock assumes for the job")
    p.add_argument("--s3-prefix", required=True, help="s3://bucket/prefix the jobs read and write")
    # unset, each of these is the run's own setting (its manifest), so the export is the one
    # its 02_batch_inference notebook showed; else the notebook's default
    p.add_argument("--price-sheet", type=path_argument, help="current, seed or a CSV path")
    p.add_argument("--price-overrides", type=path_argument, help="CSV of your negotiated prices")
    p.add_argument("--discount-pct", type=float, help="flat negotiated discount, percent")
    p.add_argument(
        "--force-in",
        nargs="*",
        help="apps or segment ids to include whatever their score (one a blocker keeps out is "
        "named with its blockers, and the command exits 1)",
    )
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
            "one Stopping once it has stopped), and creates a job holding requests such a job "
            "of its group processed; those records are billed again. Without it they are "
            "reported and the command exits 1"
        ),
    )
    p.set_defaults(func=_cmd_export)


def _setting_named(flags: dict[str, Any], name: str) -> str:
    """How a line names the force_in or force_out list: the flag when given, else the run's
    setting."""
    return "--" + name.replace("_", "-") if flags.get(name) is not None else f"the run's {name}"


def _no_jobs_lines(bp: Any, flags: dict[str, Any]) -> list[str]:
    """Why an export wrote no job, then a line for each segment force_in names that cannot go
    in a job."""
    if bp.eligible.empty:
        first = (
            "no job written: no segment of this run is eligible for batch inference: "
            f"{_none_eligible(bp, flags)}; the run's 02_batch_inference notebook shows each "
            "one's score and blockers"
        )
    elif bp.moved.empty:
        first = (
            f"no job written: {_segments_stay(len(bp.eligible))} on demand: "
            f"{_kept_reasons(bp.eligible)} (see the run's 02_batch_inference notebook)"
        )
    else:
        first = "no job written: the moved segments' requests fall in no batch job"
    return [first, *_forced_in_blocked_lines(bp, flags)]


def _none_eligible(bp: Any, flags: dict[str, Any]) -> str:
    """Why no segment is eligible: the segments force_in names cannot go in a job, the others
    that reach the score are blocked (counted by their commonest blockers) or named by
    force_out, or none reaches it."""
    segs, threshold = bp.segments, bp.params["threshold"]
    force_in = _setting_named(flags, "force_in")
    forced = int((segs["forced"] == "in").sum())
    others = segs[segs["forced"] != "in"]
    reaching = others[others["score"] >= threshold]
    blocked = reaching[reaching["blockers"] != ""]
    forced_out = reaching[(reaching["blockers"] == "") & (reaching["forced"] == "out")]
    parts = []
    if forced:
        which = "the segment" if forced == 1 else f"the {forced:,} segments"
        parts.append(f"{which} {force_in} names cannot go in a job (below)")
    if not blocked.empty:
        n = len(blocked)
        parts.append(
            f"{n:,} {'other ' if forced else ''}{'scores' if n == 1 else 'score'} "
            f"{threshold:g} or more but {'is' if n == 1 else 'are'} blocked "
            f"({_commonest_blockers(bp, blocked)})"
        )
    if not forced_out.empty:
        n = len(forced_out)
        parts.append(
            f"{n:,} reaching {threshold:g} without a blocker {'is' if n == 1 else 'are'} named "
            f"by {_setting_named(flags, 'force_out')}"
        )
    if blocked.empty and forced_out.empty and not others.empty:
        parts.append(f"{'no other' if forced else 'none'} scores {threshold:g} or more")
    if not forced:
        parts.append("none is named by --force-in")
    return "; ".join(parts)


def _commonest_blockers(bp: Any, blocked: pd.DataFrame) -> str:
    """How many of ``blocked`` segments each blocker keeps out, commonest first, in short."""
    from bedrock_finops.strategies.batch_inference import segment_blockers

    counts: Counter[str] = Counter()
    for mine in segment_blockers(blocked, bp.params["min_records_per_job"]):
        counts.update(b.short for b in mine)
    return ", ".join(f"{n:,} with {short}" for short, n in counts.most_common())


def _forced_in_blocked(bp: Any) -> pd.DataFrame:
    """The segments force_in names that cannot go in a job (not eligible)."""
    segs = bp.segments
    return segs[(segs["forced"] == "in") & ~segs["eligible"]]


def _forced_in_blocked_lines(bp: Any, flags: dict[str, Any]) -> list[str]:
    """One line per segment force_in names that is not eligible, with its blockers."""
    force_in = _setting_named(flags, "force_in")
    return [
        f"  {seg.segment} (score {seg.score:.2f}), named by {force_in}, cannot go in a batch "
        f"job: {seg.blockers}"
        for seg in _forced_in_blocked(bp).itertuples()
    ]


def _say_forced_in_left_out(bp: Any, flags: dict[str, Any]) -> bool:
    """Say on stderr which segments force_in names got no job; True when there are any.

    A segment asked for by name that gets no job is a failure its caller must see (a
    scheduled export checks the exit code), even when the other segments' jobs are written."""
    stuck = _forced_in_blocked(bp)
    if stuck.empty:
        return False
    which = "segment" if len(stuck) == 1 else "segments"
    print_line(
        f"{len(stuck):,} {which} named by {_setting_named(flags, 'force_in')} cannot go in a "
        f"batch job ({', '.join(stuck['segment'])}): see above for why",
        file=sys.stderr,
    )
    return True


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
            f"{counted(int(mine.sum()), 'request')} in {which} "
            f"({usd(rows.loc[mine, 'current_usd'].sum())} on demand, "
            f"{usd(rows.loc[mine, 'batch_usd'].sum())} in batch)"
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
        f"{usd(rows['current_usd'].sum())} on demand over the logged {days} days; in batch "
        f"{usd(rows['batch_usd'].sum())} (saving {usd(rows['savings_usd'].sum())}), {prices}"
    )
    return f"{cost}; not counted: {'; '.join(not_counted)}" if not_counted else cost


# the jobs this command does not submit, by their action: how the cost line names them
_NOT_SUBMITTED = {
    "exists": ("job submitted before", "jobs submitted before"),
    "unfinished": ("unfinished job (below)", "unfinished jobs (below)"),
}
# the jobs not created for requests unfinished jobs processed (batch_overlap.settle_unfinished)
_KEPT_BACK = (
    "job kept back for requests of unfinished jobs (below)",
    "jobs kept back for requests of unfinished jobs (below)",
)


def not_submitted(
    pending: Sequence[PendingJob], plan: Sequence[dict[str, Any]]
) -> list[tuple[str, set[str]]]:
    """(which jobs, their request IDs) for the jobs held, submitted before, unfinished, and
    kept back for requests of unfinished jobs (``plan``: ``plan_submissions``'s rows for the
    jobs not held, in order, as ``batch_overlap.settle_unfinished`` settled them)."""
    ready = [job for job in pending if not job.held]
    groups: dict[tuple[str, str], list[PendingJob]] = {
        ("held job", "held jobs"): [job for job in pending if job.held]
    }
    for action, names in _NOT_SUBMITTED.items():
        groups[names] = [
            job for job, step in zip(ready, plan, strict=True) if step["action"] == action
        ]
    groups[_KEPT_BACK] = [job for job, step in zip(ready, plan, strict=True) if step.get(KEPT_BACK)]
    out = []
    for (one, many), jobs in groups.items():
        if jobs:
            ids = set().union(*(_request_ids(job) for job in jobs))
            out.append((f"{len(jobs):,} {one if len(jobs) == 1 else many}", ids))
    return out


def _request_ids(job: PendingJob) -> set[str]:
    """The request IDs of a job's records (its ``records.csv``)."""
    return set(job_request_ids(job.directory))


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
    # where and how the jobs are written: required flags, never the run's (its notebook's
    # parameters of these names are not in _NOTEBOOK_DEFAULTS, so are not taken from it)
    "export_dir": "out",
    "role_arn": "role_arn",
    "s3_prefix": "s3_prefix",
}
# the settings the plan checks alone before the run is read (batch_params.check_settings;
# min_records_per_job with the other record limits, by job_quotas)
_PLAN_SETTINGS = (
    "threshold",
    "window_hours",
    "business_hours",
    "business_time_zone",
    "job_window_days",
    "force_in",
    "force_out",
)
_FORCED = ("force_in", "force_out")
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
    defaults; a flag given on the command line wins over both (``run_settings``)."""
    s = _export_run_settings(run_dir, flags)
    return s.values, s.origin


def _export_run_settings(run_dir: Path, flags: dict[str, Any]) -> RunSettings:
    """:func:`export_settings`, with how an error names each (where it came from)."""
    return notebook_settings(
        run_dir,
        BATCH_NOTEBOOK,
        _NOTEBOOK_DEFAULTS,
        _RUN_SETTINGS,
        flags,
        doing="export",
        older=_hours_in_utc,
    )


def _hours_in_utc(section: dict[str, Any]) -> dict[str, Any]:
    """A params file section of a run made before business_time_zone existed, as now."""
    if "business_hours_utc" in section:
        section["business_hours"] = section.pop("business_hours_utc")
        section["business_time_zone"] = "UTC"
    return section


class BatchExportError(ValueError):
    """A ``batch-export`` input that cannot work: the message names the flag (or the run's
    setting) and the fix. Raised before any job file is written."""


def check_export_inputs(settings: RunSettings) -> BatchQuotas:
    """Check what ``batch-export`` was given before it reads the run or writes a job file
    (the job request checks the same, but only once the inputs are written), and the plan's
    settings that need no traffic; returns the per-job quotas. An error names each setting
    where it came from (:meth:`RunSettings.named`): a flag, on the command line, or the run's
    (its manifest, the params file's key) or the default, with the flag that replaces it.
    Raises :class:`BatchExportError` or :class:`RunSettingsError`."""
    values, named = settings.values, settings.named
    out = Path(values["export_dir"])
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise BatchExportError(
            f"{named('export_dir')}: {existing} is a file; give a folder for the jobs"
        )
    try:
        check_role_arn(values["role_arn"], named("role_arn"))
        check_s3_prefix(values["s3_prefix"], named("s3_prefix", False), named("s3_prefix"))
        check_timeout_hours(values["timeout_hours"], named("timeout_hours"))
        quotas = job_quotas(values, named)
    except ValueError as exc:
        raise BatchExportError(str(exc)) from None
    from bedrock_finops.strategies.batch_params import check_settings

    settings.check_alone(_PLAN_SETTINGS, check_settings)
    return quotas


def check_forced_names(settings: RunSettings, usage: pd.DataFrame) -> None:
    """Each app or segment id ``force_in`` and ``force_out`` name is one of the run's, and no
    segment is named by both, as the plan checks (``batch_params.validate_params``); an error
    begins with where each list came from. Raises :class:`RunSettingsError`."""
    from bedrock_finops.quality_gate import segment_names
    from bedrock_finops.strategies.batch_params import validate_params

    values = settings.values
    if not (values["force_in"] or values["force_out"]):
        return
    segments = segment_names(usage)

    def check(params: dict[str, Any]) -> None:
        validate_params(params, segments)

    settings.check_alone(_FORCED, check)
    try:
        check({name: values[name] for name in _FORCED})
    except ValueError as exc:
        origins = " and ".join(settings.origin_of(name) for name in _FORCED)
        raise RunSettingsError(f"{origins}: {exc}") from None


def _s3_client(plan: Sequence[dict[str, Any]], lookup: Any, apply: bool) -> Any:
    """The S3 client for the jobs to create (None when there is none, or a dry run has no
    credentials): one, for their input locations, the request lists and the uploads."""
    import boto3

    if not any(step["request"] is not None for step in plan):
        return None
    return boto3.client("s3") if apply or lookup.credentials else None


def _refused_clause(inputs: InputsSeen, overlaps: Overlaps) -> str:
    """What the cost line adds when a dry run finds jobs --apply would refuse: it would submit
    none."""
    why = []
    if inputs.blocked:
        why.append(
            f"{counted(len(inputs.blocked), 'job')} stay refused for other objects in the S3 "
            "input location"
        )
    if overlaps.held:
        why.append(
            f"{counted(len(overlaps.held), 'job')} stay refused for requests jobs submitted "
            "before hold"
        )
    if not why:
        return ""
    return f"; but --apply would submit none of them while {' and '.join(why)} (below)"


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
    settings = _export_run_settings(run_dir, vars(args))
    s, origin = settings.values, settings.origin
    quotas = check_export_inputs(settings)
    # the discount, and a price file moved since the run, named where each came from (the
    # run's params file's key, the command line)
    check_prices(s, settings.named)
    if args.apply:
        _check_aws_credentials()
    run_dir = Path(args.run_dir) if args.run_dir else default_sample_run()
    print_line(f"settings: {origin}, flags over them")
    try:
        # the user turns are read from usage.parquet where needed, not held (~3 GB a month)
        ctx = open_run(
            run_dir,
            price_sheet=s["price_sheet"],
            price_overrides=s["price_overrides"],
            discount_pct=s["discount_pct"],
            user_text=False,
        )
        check_forced_names(settings, ctx.usage)
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
        for line in _no_jobs_lines(bp, vars(args)):
            print_line(line)
        return 1 if _say_forced_in_left_out(bp, vars(args)) else 0
    print_lines(
        jobs[["job_name", "region", "records", "files", "bytes", "below_min_records"]].to_string()
    )
    for line in _forced_in_blocked_lines(bp, vars(args)):
        print_line(line)
    pending = pending_jobs(jobs, quotas.min_records_per_job)
    ready = [job for job in pending if not job.held]
    lookup = look_up(ready, apply=args.apply)
    plan = plan_submissions(
        [job.request for job in ready],
        [job.region for job in ready],
        lookup.attempts,
        resubmit=args.resubmit,
    )
    s3 = _s3_client(plan, lookup, args.apply)
    inputs = InputsSeen({}, {})
    if not args.apply and s3 is not None:  # read-only: what --apply would find in S3
        inputs = look_at_inputs(ready, plan, s3)
    overlaps = Overlaps()
    if s3 is not None and lookup.attempts is not None:  # which requests jobs already hold
        plan, overlaps = guard_plan(
            [exported_job_requests(job) for job in ready],
            plan,
            lookup.clients,
            s3,
            resubmit=args.resubmit,
            apply=args.apply,
            out_dir=Path(args.out),
            split=(quotas.max_records_per_job, quotas.min_records_per_job),
        )
        inputs = inputs.of_jobs_to_create(plan)  # not those kept back for unfinished jobs
    cost = _cost_line(bp, ctx.catalog, not_submitted(pending, plan))
    cost += _refused_clause(inputs, overlaps)
    print_line(cost)
    for line in _cadence_lines(bp):
        print_line(line)
    if args.apply:
        # what each job's request list says of the split, for a later export to split so
        split = {
            "maxRecordsPerJob": quotas.max_records_per_job,
            "minRecordsPerJob": quotas.min_records_per_job,
        }
        settled = upload_and_create(
            pending, plan, lookup.clients, s3_client=s3, overlaps=overlaps, split=split
        )
    else:
        settled = refused_rows(plan, inputs.blocked, apply=False, overlaps=overlaps)
    print_lines(submission_table(pending, settled).to_string(index=False))
    held = [job for job in pending if job.held]
    for job in held:
        for line in held_lines(job):
            print_line(line)
    unfinished = []
    for i, (job, step, row) in enumerate(zip(ready, plan, settled, strict=True)):
        if step["request"] is not None and step["detail"]:  # a resubmission, or billing again
            print_line(f"{row['jobName']}: {row['detail']}")
        elif row["action"] == "unfinished":
            unfinished.append(row)
            for line in unfinished_lines(job, row, lookup.attempts[i] if lookup.attempts else []):
                print_line(line)
    kept = [step["job"] for step in plan if step.get(KEPT_BACK)]
    for line in overlaps.kept_back_lines(plan, apply=args.apply):
        print_line(line)
    for line in overlaps.unseen_lines(apply=args.apply):
        print_line(line)
    if not args.apply:
        for line in s3_preview_lines(plan, inputs):
            print_line(line)
        for line in overlaps.refused_lines(plan, apply=False) + overlaps.unread_lines(plan):
            print_line(line)
        if lookup.unchecked:
            print_line(lookup.unchecked)
        notes = [f"{len(held)} of {len(pending)} jobs held back (above)"] if held else []
        if unfinished:
            notes.append(f"{counted(len(unfinished), 'job')} unfinished (above)")
        if inputs.blocked:
            whose = "its" if len(inputs.blocked) == 1 else "their"
            notes.append(
                f"{counted(len(inputs.blocked), 'job')} refused for other objects in {whose} S3 "
                "input location (above): --apply would create none"
            )
        if overlaps.held:
            notes.append(
                f"{counted(len(overlaps.held), 'job')} refused for requests jobs submitted "
                "before hold (above): --apply would create none"
            )
        if kept:
            notes.append(
                f"{counted(len(kept), 'job')} kept back for requests of unfinished jobs "
                f"(above): --apply would not create {'it' if len(kept) == 1 else 'them'}"
            )
        note = "".join(f"; {n}" for n in notes)
        print_line(f"dry run: nothing uploaded or submitted (add --apply){note}")
        return 1 if _say_forced_in_left_out(bp, vars(args)) else 0
    if held:
        names = ", ".join(job.name for job in held)
        print_line(
            f"{len(held)} of {len(pending)} jobs not submitted ({names}): see above for why "
            "and how to submit them",
            file=sys.stderr,
        )
    if unfinished:
        names = ", ".join(f"{row['jobName']}: {row['status']}" for row in unfinished)
        stopping = all(row["status"] == "Stopping" for row in unfinished)
        what = "when to run again" if stopping else "how to resubmit them"
        print_line(
            f"{len(unfinished)} of {len(pending)} jobs did not process their records ({names}): "
            f"see above for why and {what}",
            file=sys.stderr,
        )
    if kept:
        print_line(
            f"{len(kept)} of {len(pending)} jobs not created ({', '.join(kept)}): their requests "
            "were in jobs that ended unfinished, having processed some: see above for why and "
            "how to create them",
            file=sys.stderr,
        )
    left_out = _say_forced_in_left_out(bp, vars(args))
    return 1 if held or unfinished or kept or left_out else 0
